#pragma once

// OpenMeter's consumer portal tokens (`/api/v1/portal/tokens`): a token lets
// its holder read one subject's usage of some meters, and nothing else.
//
// A token is signed, not looked up: `om_portal_<payload>.<signature>`, the
// payload the base64url of a small JSON document (id, subject, allowed meter
// slugs, expiry) and the signature HMAC-SHA256 of `om_portal_<payload>`
// under the deployment's secret (`--portal-secret`), so every instance
// sharing the secret checks a token alone. The store keeps what listing and
// invalidation need (id, subject, slugs, times; never the token): a token
// is accepted when its signature holds, it has not expired, and the store
// has its id, not invalidated.

#include "model/clock.hpp"
#include "model/meter_query.hpp"
#include "model/metering.hpp"
#include "model/namespaces.hpp"
#include "model/v1_api.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace um::model {

/// What every portal token begins with (OpenMeter's prefix).
inline constexpr std::string_view portal_token_prefix = "om_portal_";

/// The shortest `--portal-secret` accepted.
inline constexpr std::size_t min_portal_secret_length = 32;

/// The most meters one token may name.
inline constexpr std::size_t max_portal_meter_slugs = 100;

/// A portal token as stored and listed.
struct portal_token {
  std::string id;      ///< A ULID, given at creation.
  std::string subject; ///< The one subject whose usage the token reads.
  std::vector<std::string> allowed_meter_slugs; ///< Empty: every meter.
  std::optional<millis> expires_at;             ///< None: never expires.
  millis created_at = 0;
  bool invalidated = false;
  /// The namespace of the key that made it, whose data it reads (signed
  /// with the claims; not stored: each namespace's store has its own).
  std::string ns{default_namespace};
};

/// The body of `POST /api/v1/portal/tokens`.
struct portal_token_request {
  std::string subject;
  std::vector<std::string> allowed_meter_slugs;
  std::optional<millis> expires_at;
};

/// Reads `{subject, allowedMeterSlugs?, expiresAt?}`: `subject` a non-empty
/// string (at most 256 characters), `allowedMeterSlugs` an array of up to
/// 100 non-empty strings, `expiresAt` RFC 3339 after `now`. Other fields
/// (OpenMeter's read-only ones) are ignored.
validated<portal_token_request>
parse_portal_token_request(const nlohmann::ordered_json& body, millis now);

/// Which tokens `POST /api/v1/portal/tokens/invalidate` invalidates: the one
/// with `id`, or every one of `subject` (both given: that token, if it is the
/// subject's).
struct portal_invalidation {
  std::optional<std::string> id;
  std::optional<std::string> subject;
};

/// Reads `{id?, subject?}`; at least one must be a non-empty string.
validated<portal_invalidation>
parse_portal_invalidation(const nlohmann::ordered_json& body);

/// The `limit` of `GET /api/v1/portal/tokens`: 1 to 100, default 25.
validated<std::size_t> parse_portal_token_limit(const query_params& query);

/// A new token for `request` at `now`, with a fresh ULID.
portal_token new_portal_token(const portal_token_request& request, millis now);

/// The token text of `token` under `secret`.
std::string sign_portal_token(const portal_token& token, std::string_view secret);

/// Whether a bearer credential is a portal token (by its prefix); such a
/// credential is never an API key.
bool is_portal_token(std::string_view credential);

/// The token `text` carries when its signature under `secret` holds and it
/// has not expired at `now` (`id`, `subject`, `allowed_meter_slugs`,
/// `expires_at`; whether it is still valid is the store's to say); else the
/// reason, for the log only (the client is told 401).
validated<portal_token> verify_portal_token(std::string_view text,
                                            std::string_view secret, millis now);

/// Whether `token` may read meter `slug`.
bool portal_meter_allowed(const portal_token& token, std::string_view slug);

/// A meter query of a portal token's holder: `input` with its `subject`
/// filters replaced by the token's one subject, so that the answer holds that
/// subject's usage only, whatever the query asked for.
meter_query_input for_portal_subject(meter_query_input input, const std::string& subject);

/// A token as OpenMeter answers it: `id`, `subject`, `expiresAt` (when set),
/// `expired`, `createdAt`, `allowedMeterSlugs` (when set), and `token` only
/// when given (at creation).
nlohmann::ordered_json portal_token_json(const portal_token& token, millis now,
                                         const std::string* token_text = nullptr);

/// The meters a portal token may read, as its holder sees them (an extension
/// of OpenMeter's API, for the portal page): `slug`, `name`, `description`
/// (when set), `aggregation` and `groupBy` (the keys, not the event paths),
/// by slug.
nlohmann::ordered_json portal_meters_json(const std::vector<meter>& meters);

/// An array of `portal_token_json` without token texts.
nlohmann::ordered_json portal_tokens_json(const std::vector<portal_token>& tokens,
                                          millis now);

/// The stored form of the allowed slugs (a JSON array), and back.
std::string portal_slugs_text(const std::vector<std::string>& slugs);
std::vector<std::string> read_portal_slugs(const std::string& text);

/// A new ULID (Crockford base32, 26 characters: 48 bits of `now`, 80 random).
std::string new_ulid(millis now);

} // namespace um::model

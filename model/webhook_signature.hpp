#pragma once

// Signing outgoing webhooks per Standard Webhooks (https://www.standardwebhooks.com),
// the scheme OpenMeter's notifications use (through Svix), so that a receiver
// verifies our deliveries with the published `standardwebhooks` libraries:
//
// - a channel's secret is `whsec_` followed by standard base64 (with padding)
//   of random bytes; the decoded bytes are the HMAC key;
// - each request carries `webhook-id` (the message id, the same on every
//   retry, so receivers can drop duplicates), `webhook-timestamp` (Unix
//   seconds of the attempt) and `webhook-signature`: `v1,` followed by the
//   base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}").
//
// Pure functions over model/sha256.hpp; checked against signatures made by the
// npm `standardwebhooks` library (tests/model/webhook_signature_test.cpp).

#include "model/sha256.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace um::model {

/// The prefix of a serialized signing secret.
inline constexpr std::string_view webhook_secret_prefix = "whsec_";

/// Random bytes in a generated secret (OpenMeter's default size).
inline constexpr std::size_t webhook_secret_bytes = 32;

/// Shortest and longest base64 text after the optional prefix that a given
/// secret may have: OpenMeter's bounds (24 to 75 bytes of key).
inline constexpr std::size_t min_webhook_secret_chars = 32;
inline constexpr std::size_t max_webhook_secret_chars = 100;

/// A new signing secret: `whsec_` and the base64 of 32 bytes from
/// `std::random_device` (the operating system's generator).
std::string new_webhook_secret();

/// Why `secret` cannot sign webhooks, as a client-facing message naming the
/// field `signingSecret`; empty when it can. Accepted: an optional `whsec_`
/// followed by 32 to 100 characters of padded standard base64 (OpenMeter's
/// rule; both OpenMeter and the `standardwebhooks` libraries take the secret
/// with or without the prefix).
std::string webhook_secret_problem(std::string_view secret);

/// The HMAC key of `secret` (the bytes its base64 encodes, the optional
/// prefix removed); nothing when the base64 does not decode or is empty.
std::optional<std::string> webhook_secret_key(std::string_view secret);

/// The `webhook-signature` value of one request: `v1,` and the base64 of
/// HMAC-SHA256 of `{msg_id}.{timestamp_seconds}.{body}` under the key of
/// `secret`. `body` must be the exact bytes sent. Empty when `secret` has no
/// key (secrets are checked with `webhook_secret_problem` when stored).
std::string webhook_signature(std::string_view secret, std::string_view msg_id,
                              std::int64_t timestamp_seconds, std::string_view body);

/// The three headers of a signed webhook request.
struct webhook_headers {
  std::string id;        ///< `webhook-id`: the message id, the same on every retry.
  std::string timestamp; ///< `webhook-timestamp`: Unix seconds, as decimal.
  std::string signature; ///< `webhook-signature`: `v1,<base64>`.
};

/// The headers of an attempt at `timestamp_seconds` to deliver `body` as
/// message `msg_id`. Receivers reject timestamps more than 5 minutes from
/// their clock, so every attempt is signed anew with its own time.
webhook_headers sign_webhook(std::string_view secret, std::string_view msg_id,
                             std::int64_t timestamp_seconds, std::string_view body);

/// Whether `signature_header` (one or more space-separated `v<n>,<base64>`
/// entries, as Standard Webhooks allows during key rotation) holds a `v1`
/// signature of the message under `secret`, compared in constant time.
/// Does not check the timestamp's age: that is the receiver's policy.
bool verify_webhook_signature(std::string_view secret, std::string_view msg_id,
                              std::int64_t timestamp_seconds, std::string_view body,
                              std::string_view signature_header);

} // namespace um::model

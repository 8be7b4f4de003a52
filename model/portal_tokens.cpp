#include "model/portal_tokens.hpp"

#include "model/bounded_json.hpp"
#include "model/sha256.hpp"

#include <algorithm>
#include <random>

namespace um::model {

namespace {

using ojson = nlohmann::ordered_json;

constexpr std::size_t max_subject_length = 256;

// The signed claims: short names, since the token travels in every request.
std::string claims_text(const portal_token& t) {
  nlohmann::json doc{{"id", t.id}, {"sub", t.subject}};
  if (!t.allowed_meter_slugs.empty())
    doc["m"] = t.allowed_meter_slugs;
  if (t.expires_at)
    doc["exp"] = *t.expires_at;
  if (t.ns != default_namespace)
    doc["ns"] = t.ns;
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string signature(std::string_view signed_part, std::string_view secret) {
  return base64url(digest_bytes(hmac_sha256(secret, signed_part)));
}

} // namespace

validated<portal_token_request> parse_portal_token_request(const ojson& body,
                                                           millis now) {
  validated<portal_token_request> out;
  if (!body.is_object()) {
    out.error = "The body must be an object with a subject";
    return out;
  }
  auto subject = body.find("subject");
  if (subject == body.end() || !subject->is_string() ||
      subject->get_ref<const std::string&>().empty()) {
    out.error = "subject is required and must be a non-empty string";
    return out;
  }
  out.value.subject = subject->get<std::string>();
  if (out.value.subject.size() > max_subject_length) {
    out.error = "subject must be at most 256 characters";
    return out;
  }
  if (auto slugs = body.find("allowedMeterSlugs");
      slugs != body.end() && !slugs->is_null()) {
    if (!slugs->is_array() || slugs->size() > max_portal_meter_slugs) {
      out.error = "allowedMeterSlugs must be an array of at most 100 meter slugs";
      return out;
    }
    for (const auto& slug : *slugs) {
      if (!slug.is_string() || slug.get_ref<const std::string&>().empty()) {
        out.error = "allowedMeterSlugs must hold non-empty strings";
        return out;
      }
      const auto& s = slug.get_ref<const std::string&>();
      if (std::find(out.value.allowed_meter_slugs.begin(),
                    out.value.allowed_meter_slugs.end(),
                    s) == out.value.allowed_meter_slugs.end())
        out.value.allowed_meter_slugs.push_back(s);
    }
  }
  if (auto expires = body.find("expiresAt");
      expires != body.end() && !expires->is_null()) {
    auto t = expires->is_string()
                 ? try_parse_iso8601(expires->get_ref<const std::string&>())
                 : std::nullopt;
    if (!t) {
      out.error = "expiresAt must be an RFC 3339 date-time";
      return out;
    }
    if (*t <= now) {
      out.error = "expiresAt must be in the future";
      return out;
    }
    out.value.expires_at = t;
  }
  return out;
}

validated<portal_invalidation> parse_portal_invalidation(const ojson& body) {
  validated<portal_invalidation> out;
  if (!body.is_object()) {
    out.error = "The body must be an object with an id or a subject";
    return out;
  }
  for (auto [name, field] :
       {std::pair{"id", &out.value.id}, std::pair{"subject", &out.value.subject}}) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null())
      continue;
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      out.error = std::string{name} + " must be a non-empty string";
      return out;
    }
    *field = it->get<std::string>();
  }
  if (!out.value.id && !out.value.subject)
    out.error = "Give the id of a token or a subject whose tokens to invalidate";
  return out;
}

validated<std::size_t> parse_portal_token_limit(const query_params& query) {
  validated<std::size_t> out;
  out.value = 25;
  auto it = query.find("limit");
  if (it == query.end())
    return out;
  const auto& text = it->second;
  if (text.empty() || text.size() > 3 ||
      !std::all_of(text.begin(), text.end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(text) < 1 || std::stoi(text) > 100) {
    out.error = "limit must be an integer from 1 to 100";
    return out;
  }
  out.value = static_cast<std::size_t>(std::stoi(text));
  return out;
}

std::string new_ulid(millis now) {
  static constexpr char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::string out(26, '0');
  auto time = static_cast<std::uint64_t>(now) & ((std::uint64_t{1} << 48) - 1);
  for (int i = 9; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = crockford[time & 31];
    time >>= 5;
  }
  // 80 random bits: 16 characters of 5 bits.
  auto high = random(), low = random();
  for (int i = 0; i < 16; ++i) {
    auto& bits = i < 8 ? high : low;
    out[static_cast<std::size_t>(10 + i)] = crockford[bits & 31];
    bits >>= 5;
  }
  return out;
}

portal_token new_portal_token(const portal_token_request& request, millis now) {
  portal_token t;
  t.id = new_ulid(now);
  t.subject = request.subject;
  t.allowed_meter_slugs = request.allowed_meter_slugs;
  t.expires_at = request.expires_at;
  t.created_at = now;
  return t;
}

std::string sign_portal_token(const portal_token& token, std::string_view secret) {
  std::string text{portal_token_prefix};
  text += base64url(claims_text(token));
  auto sig = signature(text, secret);
  text += '.';
  text += sig;
  return text;
}

bool is_portal_token(std::string_view credential) {
  return credential.substr(0, portal_token_prefix.size()) == portal_token_prefix;
}

validated<portal_token> verify_portal_token(std::string_view text,
                                            std::string_view secret, millis now) {
  validated<portal_token> out;
  auto dot = text.rfind('.');
  if (!is_portal_token(text) || dot == std::string_view::npos || secret.empty()) {
    out.error = "not a portal token";
    return out;
  }
  if (!equal_in_constant_time(signature(text.substr(0, dot), secret),
                              text.substr(dot + 1))) {
    out.error = "signature does not match";
    return out;
  }
  auto payload = base64url_decode(
      text.substr(portal_token_prefix.size(), dot - portal_token_prefix.size()));
  parsed_json<nlohmann::json> doc;
  if (payload)
    doc = try_parse_json<nlohmann::json>(*payload, stored_json_limits);
  if (!payload || !doc || !doc.value.is_object() || !doc.value.contains("id") ||
      !doc.value["id"].is_string() || !doc.value.contains("sub") ||
      !doc.value["sub"].is_string()) {
    out.error = "malformed claims";
    return out;
  }
  auto& t = out.value;
  t.id = doc.value["id"].get<std::string>();
  t.subject = doc.value["sub"].get<std::string>();
  if (auto ns = doc.value.find("ns"); ns != doc.value.end()) {
    if (!ns->is_string() || !is_namespace_name(ns->get<std::string>())) {
      out.error = "malformed claims";
      return out;
    }
    t.ns = ns->get<std::string>();
  }
  if (auto m = doc.value.find("m"); m != doc.value.end() && m->is_array())
    for (const auto& slug : *m)
      if (slug.is_string())
        t.allowed_meter_slugs.push_back(slug.get<std::string>());
  if (auto exp = doc.value.find("exp");
      exp != doc.value.end() && exp->is_number_integer())
    t.expires_at = exp->get<millis>();
  if (t.expires_at && *t.expires_at <= now)
    out.error = "expired";
  return out;
}

bool portal_meter_allowed(const portal_token& token, std::string_view slug) {
  return token.allowed_meter_slugs.empty() ||
         std::find(token.allowed_meter_slugs.begin(), token.allowed_meter_slugs.end(),
                   slug) != token.allowed_meter_slugs.end();
}

meter_query_input for_portal_subject(meter_query_input input,
                                     const std::string& subject) {
  auto& items = input.items;
  items.erase(std::remove_if(items.begin(), items.end(),
                             [](const meter_query_input::item& i) {
                               return i.name == meter_query_input::field::subject;
                             }),
              items.end());
  items.push_back({meter_query_input::field::subject, {}, subject});
  return input;
}

ojson portal_token_json(const portal_token& t, millis now,
                        const std::string* token_text) {
  ojson out;
  out["id"] = t.id;
  out["subject"] = t.subject;
  if (t.expires_at)
    out["expiresAt"] = format_iso8601(*t.expires_at);
  out["expired"] = t.expires_at.has_value() && *t.expires_at <= now;
  out["createdAt"] = format_iso8601(t.created_at);
  if (!t.allowed_meter_slugs.empty())
    out["allowedMeterSlugs"] = t.allowed_meter_slugs;
  if (token_text)
    out["token"] = *token_text;
  return out;
}

ojson portal_meters_json(const std::vector<meter>& meters) {
  std::vector<const meter*> sorted;
  for (const auto& m : meters)
    sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(),
            [](const meter* a, const meter* b) { return a->slug < b->slug; });
  ojson out = ojson::array();
  for (const auto* m : sorted) {
    ojson one;
    one["slug"] = m->slug;
    one["name"] = m->name.empty() ? m->slug : m->name;
    if (!m->description.empty())
      one["description"] = m->description;
    one["aggregation"] = meter_aggregation_name(m->aggregation);
    ojson keys = ojson::array();
    for (const auto& g : m->group_by)
      keys.push_back(g.key);
    one["groupBy"] = std::move(keys);
    out.push_back(std::move(one));
  }
  return out;
}

ojson portal_tokens_json(const std::vector<portal_token>& tokens, millis now) {
  ojson out = ojson::array();
  for (const auto& t : tokens)
    out.push_back(portal_token_json(t, now));
  return out;
}

std::string portal_slugs_text(const std::vector<std::string>& slugs) {
  return nlohmann::json(slugs).dump(-1, ' ', false,
                                    nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> read_portal_slugs(const std::string& text) {
  std::vector<std::string> out;
  auto parsed = try_parse_json<nlohmann::json>(text, stored_json_limits);
  if (parsed && parsed.value.is_array())
    for (const auto& slug : parsed.value)
      if (slug.is_string())
        out.push_back(slug.get<std::string>());
  return out;
}

} // namespace um::model

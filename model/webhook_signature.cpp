#include "model/webhook_signature.hpp"

#include "model/sha256.hpp"

#include <random>

namespace um::model {

namespace {

std::string_view without_prefix(std::string_view secret) {
  if (secret.substr(0, webhook_secret_prefix.size()) == webhook_secret_prefix)
    secret.remove_prefix(webhook_secret_prefix.size());
  return secret;
}

std::string signed_content(std::string_view msg_id, std::int64_t timestamp_seconds,
                           std::string_view body) {
  std::string out;
  out.reserve(msg_id.size() + body.size() + 24);
  out.append(msg_id);
  out += '.';
  out += std::to_string(timestamp_seconds);
  out += '.';
  out.append(body);
  return out;
}

} // namespace

std::string new_webhook_secret() {
  // random_device is the OS generator (getrandom / /dev/urandom) on Linux:
  // a secret must not come from a seeded PRNG whose state can be guessed.
  std::random_device random;
  std::string key;
  key.reserve(webhook_secret_bytes);
  while (key.size() < webhook_secret_bytes) {
    auto word = random();
    for (int i = 0; i < 4 && key.size() < webhook_secret_bytes; ++i, word >>= 8)
      key += static_cast<char>(word & 0xff);
  }
  return std::string{webhook_secret_prefix} + base64_encode(key);
}

std::string webhook_secret_problem(std::string_view secret) {
  auto text = without_prefix(secret);
  if (text.size() < min_webhook_secret_chars || text.size() > max_webhook_secret_chars)
    return "signingSecret must be whsec_ followed by 32 to 100 characters of base64 "
           "(24 to 75 random bytes); leave it out to have one generated";
  if (!base64_decode(text))
    return "signingSecret must be whsec_ followed by standard base64 with padding "
           "(A-Z, a-z, 0-9, + and /)";
  return {};
}

std::optional<std::string> webhook_secret_key(std::string_view secret) {
  auto key = base64_decode(without_prefix(secret));
  if (!key || key->empty())
    return std::nullopt;
  return key;
}

std::string webhook_signature(std::string_view secret, std::string_view msg_id,
                              std::int64_t timestamp_seconds, std::string_view body) {
  auto key = webhook_secret_key(secret);
  if (!key)
    return {};
  auto mac = hmac_sha256(*key, signed_content(msg_id, timestamp_seconds, body));
  return "v1," + base64_encode(digest_bytes(mac));
}

webhook_headers sign_webhook(std::string_view secret, std::string_view msg_id,
                             std::int64_t timestamp_seconds, std::string_view body) {
  return {std::string{msg_id}, std::to_string(timestamp_seconds),
          webhook_signature(secret, msg_id, timestamp_seconds, body)};
}

bool verify_webhook_signature(std::string_view secret, std::string_view msg_id,
                              std::int64_t timestamp_seconds, std::string_view body,
                              std::string_view signature_header) {
  auto expected = webhook_signature(secret, msg_id, timestamp_seconds, body);
  if (expected.empty())
    return false;
  bool found = false;
  while (!signature_header.empty()) {
    auto space = signature_header.find(' ');
    auto entry = signature_header.substr(0, space);
    signature_header.remove_prefix(
        space == std::string_view::npos ? signature_header.size() : space + 1);
    // Every entry is compared, so the time taken does not tell which matched.
    if (entry.substr(0, 3) == "v1," && equal_in_constant_time(entry, expected))
      found = true;
  }
  return found;
}

} // namespace um::model

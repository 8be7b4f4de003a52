#pragma once

// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for signing portal
// tokens, and unpadded base64url (RFC 4648 §5) for carrying them in headers.
// Small and dependency-free, so the model layer stays pure; checked against
// the FIPS and RFC 4231 test vectors (tests/model/sha256_test.cpp).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace um::model {

/// A SHA-256 digest.
using sha256_digest = std::array<std::uint8_t, 32>;

/// The SHA-256 digest of `data`.
sha256_digest sha256(std::string_view data);

/// HMAC-SHA256 of `message` under `key`.
sha256_digest hmac_sha256(std::string_view key, std::string_view message);

/// Whether two byte strings are equal, in time that depends on their
/// lengths only (a signature compared byte by byte would leak its prefix).
bool equal_in_constant_time(std::string_view a, std::string_view b);

/// `data` as unpadded base64url.
std::string base64url(std::string_view data);

/// The bytes an unpadded base64url text encodes; nothing for any other text.
std::optional<std::string> base64url_decode(std::string_view text);

/// `data` as standard base64 with padding (RFC 4648 §4).
std::string base64_encode(std::string_view data);

/// The bytes a standard, padded base64 text encodes; nothing for any other
/// text (no padding where it is due, characters outside the alphabet, or
/// non-zero unused bits: one text per byte string).
std::optional<std::string> base64_decode(std::string_view text);

/// A digest as bytes.
inline std::string digest_bytes(const sha256_digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

} // namespace um::model

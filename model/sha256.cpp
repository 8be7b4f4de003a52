#include "model/sha256.hpp"

#include <cstring>

namespace um::model {

namespace {

constexpr std::uint32_t k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

constexpr std::uint32_t rotr(std::uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

class hasher {
public:
  void update(std::string_view data) {
    for (unsigned char c : data) {
      block_[used_++] = c;
      if (used_ == 64) {
        compress();
        used_ = 0;
      }
    }
    length_ += data.size();
  }

  sha256_digest finish() {
    std::uint64_t bits = length_ * 8;
    block_[used_++] = 0x80;
    if (used_ > 56) {
      std::memset(block_ + used_, 0, 64 - used_);
      compress();
      used_ = 0;
    }
    std::memset(block_ + used_, 0, 56 - used_);
    for (int i = 0; i < 8; ++i)
      block_[56 + i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    compress();
    sha256_digest out{};
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 4; ++j)
        out[4 * i + j] = static_cast<std::uint8_t>(h_[i] >> (24 - 8 * j));
    return out;
  }

private:
  void compress() {
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = std::uint32_t{block_[4 * i]} << 24 | std::uint32_t{block_[4 * i + 1]} << 16 |
             std::uint32_t{block_[4 * i + 2]} << 8 | std::uint32_t{block_[4 * i + 3]};
    for (int i = 16; i < 64; ++i) {
      auto s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      auto s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    auto a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6],
         h = h_[7];
    for (int i = 0; i < 64; ++i) {
      auto t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                k[i] + w[i];
      auto t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
    h_[4] += e;
    h_[5] += f;
    h_[6] += g;
    h_[7] += h;
  }

  std::uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char block_[64] = {};
  std::size_t used_ = 0;
  std::uint64_t length_ = 0;
};

// RFC 4648's two alphabets differ in their last two digits only.
struct base64_alphabet {
  char digit62;
  char digit63;

  char digit(std::uint32_t v) const {
    constexpr char common[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    v &= 63;
    return v < 62 ? common[v] : v == 62 ? digit62 : digit63;
  }

  int value(char c) const {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    if (c == digit62)
      return 62;
    if (c == digit63)
      return 63;
    return -1;
  }
};

constexpr base64_alphabet url_alphabet{'-', '_'};
constexpr base64_alphabet standard_alphabet{'+', '/'};

std::string encode(std::string_view data, const base64_alphabet& a, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t j) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(data[j]));
  };
  for (; i + 3 <= data.size(); i += 3) {
    auto v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6)
      out += a.digit(v >> s);
  }
  auto rest = data.size() - i;
  if (rest > 0) {
    auto v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += a.digit(v >> 18);
    out += a.digit(v >> 12);
    if (rest == 2)
      out += a.digit(v >> 6);
    if (pad)
      out.append(3 - rest, '=');
  }
  return out;
}

// The bytes of `digits` (no padding), or nothing for a character outside the
// alphabet or a text that is not the one encoding of its bytes.
std::optional<std::string> decode(std::string_view digits, const base64_alphabet& a) {
  if (digits.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(digits.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : digits) {
    int v = a.value(c);
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // The bits left over must be zero: one text per byte string.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

} // namespace

sha256_digest sha256(std::string_view data) {
  hasher h;
  h.update(data);
  return h.finish();
}

sha256_digest hmac_sha256(std::string_view key, std::string_view message) {
  std::string block(64, '\0');
  if (key.size() > 64) {
    auto d = sha256(key);
    std::memcpy(block.data(), d.data(), d.size());
  } else {
    std::memcpy(block.data(), key.data(), key.size());
  }
  std::string inner = block, outer = block;
  for (auto& c : inner)
    c = static_cast<char>(c ^ 0x36);
  for (auto& c : outer)
    c = static_cast<char>(c ^ 0x5c);
  hasher in;
  in.update(inner);
  in.update(message);
  auto inner_digest = in.finish();
  hasher out;
  out.update(outer);
  out.update(digest_bytes(inner_digest));
  return out.finish();
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string base64url(std::string_view data) {
  return encode(data, url_alphabet, false);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  return decode(text, url_alphabet);
}

std::string base64_encode(std::string_view data) {
  return encode(data, standard_alphabet, true);
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=')
    ++padding;
  // A third '=', or one in the middle, is no digit: refused by decode.
  return decode(text.substr(0, text.size() - padding), standard_alphabet);
}

} // namespace um::model

#pragma once

// What the fuzz targets share. A broken invariant aborts, so libFuzzer keeps
// the input that broke it as a crash, like any sanitizer report.

#include "model/clock.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace um::fuzz {

/// Fixed, so that a crashing input reproduces: 2024-01-15T10:30:00.123Z.
inline constexpr model::millis now = 1'705'314'600'123;

/// Aborts with `invariant` on stderr when `holds` is false.
inline void require(bool holds, const char* invariant) {
  if (holds)
    return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", invariant);
  std::abort();
}

/// The fuzzer's bytes as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits `input` at its first newline: the line (a header value, a path) and
/// the rest (a body). Without a newline, the line is empty and the rest is all.
inline std::pair<std::string_view, std::string_view>
split_first_line(std::string_view input) {
  auto newline = input.find('\n');
  if (newline == std::string_view::npos)
    return {{}, input};
  return {input.substr(0, newline), input.substr(newline + 1)};
}

} // namespace um::fuzz

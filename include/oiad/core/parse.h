// Strict reading of numbers given as text (flags, environment variables, request options):
// the whole text must be the number, so "8x", " 8", "" and "1e999" are refused, not read as
// a prefix or clamped.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace oiad {

/// `text` as a decimal integer (an optional '-', then digits; nothing before or after), or
/// nullopt when it is not one or does not fit in 64 bits.
std::optional<int64_t> parse_integer(std::string_view text);

/// `text` as a finite decimal number ("0.05", "-1", "5e-3"; an optional '-', nothing before
/// or after; no "inf", "nan" or hexadecimal), or nullopt.
std::optional<double> parse_real(std::string_view text);

}  // namespace oiad

// Reading numbers from JSON that came from a file (a model's metadata): every field is
// range-checked before it sizes an allocation or a loop, since a file with a valid checksum
// can still carry any value.
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oiad/core/error.h"

namespace oiad {

/// A JSON value as an integer in [lo, hi]; Error "<what>: <name> <value> ..." otherwise: a
/// non-number, a fraction, or a value outside the range (JSON numbers may be any size; a
/// float outside int64 must never be cast, which is undefined behaviour).
inline int64_t json_integer(const nlohmann::json& v, int64_t lo, int64_t hi, const std::string& what,
                            const std::string& name) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    OIAD_CHECK(hi >= 0 && u <= uint64_t(hi) && (lo <= 0 || u >= uint64_t(lo)), what, ": ", name, " ", v.dump(),
               " outside [", lo, ", ", hi, "]");
    return int64_t(u);
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    OIAD_CHECK(i >= lo && i <= hi, what, ": ", name, " ", v.dump(), " outside [", lo, ", ", hi, "]");
    return i;
  }
  OIAD_CHECK(v.is_number_float(), what, ": ", name, " ", v.dump(), " is not an integer");
  const double d = v.get<double>();
  OIAD_CHECK(std::isfinite(d) && std::nearbyint(d) == d, what, ": ", name, " ", v.dump(), " is not an integer");
  // 2^63 is exactly representable; anything at or beyond it cannot be an int64.
  OIAD_CHECK(d >= double(lo) && d <= double(hi) && d > -9223372036854775808.0 && d < 9223372036854775808.0, what, ": ",
             name, " ", v.dump(), " outside [", lo, ", ", hi, "]");
  return int64_t(d);
}

/// j[key] as an integer in [lo, hi] (json_integer).
inline int64_t bounded_int(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi, const std::string& what) {
  return json_integer(j.at(key), lo, hi, what, key);
}

/// j[key] as a list of integers, each in [lo, hi].
inline std::vector<int64_t> bounded_int_list(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi,
                                             const std::string& what) {
  const nlohmann::json& v = j.at(key);
  OIAD_CHECK(v.is_array(), what, ": ", key, " is not a list");
  std::vector<int64_t> out;
  out.reserve(v.size());
  for (const auto& x : v) out.push_back(json_integer(x, lo, hi, what, std::string(key) + " entry"));
  return out;
}

/// j[key] as an unsigned 64-bit integer (a seed).
inline uint64_t json_uint64(const nlohmann::json& j, const char* key, const std::string& what) {
  const nlohmann::json& v = j.at(key);
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  return uint64_t(json_integer(v, 0, INT64_MAX, what, key));
}

/// j[key] as a finite number in [lo, hi]; Error naming `what` and the key otherwise.
inline double bounded_double(const nlohmann::json& j, const char* key, double lo, double hi, const std::string& what) {
  const nlohmann::json& v = j.at(key);
  OIAD_CHECK(v.is_number(), what, ": ", key, " ", v.dump(), " is not a number");
  const double d = v.get<double>();
  OIAD_CHECK(std::isfinite(d) && d >= lo && d <= hi, what, ": ", key, " ", d, " outside [", lo, ", ", hi, "]");
  return d;
}

}  // namespace oiad

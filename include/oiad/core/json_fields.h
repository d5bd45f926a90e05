// Reading numbers from JSON that came from a file (a model's metadata): every field is
// range-checked before it sizes an allocation or a loop, since a file with a valid checksum
// can still carry any value.
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "oiad/core/error.h"

namespace oiad {

/// j[key] as an integer in [lo, hi]; Error "<what>: <key> <value> outside [lo, hi]" otherwise
/// (including a non-integer or a value beyond int64).
inline int64_t bounded_int(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi, const std::string& what) {
  const nlohmann::json& v = j.at(key);
  OIAD_CHECK(v.is_number_integer() || (v.is_number_float() && std::nearbyint(v.get<double>()) == v.get<double>()),
             what, ": ", key, " ", v.dump(), " is not an integer");
  const double d = v.get<double>();
  OIAD_CHECK(d >= double(lo) && d <= double(hi), what, ": ", key, " ", v.dump(), " outside [", lo, ", ", hi, "]");
  return v.is_number_unsigned() ? int64_t(v.get<uint64_t>()) : v.get<int64_t>();
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

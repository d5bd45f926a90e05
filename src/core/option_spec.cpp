#include "oiad/core/option_spec.h"

#include <cmath>
#include <algorithm>
#include <cstdio>

#include "oiad/core/error.h"

namespace oiad {

namespace {
// 30, 0.001, 1e6 (%g, with the exponent written without '+' and leading zeros).
std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  std::string s = buf;
  const auto e = s.find('e');
  if (e == std::string::npos) return s;
  std::string mant = s.substr(0, e), exp = s.substr(e + 1);
  const bool neg = exp[0] == '-';
  exp = exp.substr(exp[0] == '+' || exp[0] == '-' ? 1 : 0);
  exp = exp.substr(std::min(exp.find_first_not_of('0'), exp.size() - 1));
  return mant + "e" + (neg ? "-" : "") + exp;
}
}  // namespace

std::string NumberSpec::default_text(double v) { return number_text(v); }

std::string NumberSpec::range_text() const {
  if (min_open) return "(" + number_text(min) + ", " + number_text(max) + "]";
  return "[" + number_text(min) + ", " + number_text(max) + "]";
}

bool NumberSpec::accepts(double v) const {
  if (!std::isfinite(v) || v > max || v < min || (min_open && v == min)) return false;
  return !integer || v == std::floor(v);
}

std::string NumberSpec::shown(const std::string& prefix) const {
  if (prefix.empty() && python_name) return python_name;
  std::string n = name;
  if (prefix.empty())
    for (char& c : n)
      if (c == '-') c = '_';
  return prefix + n;
}

void NumberSpec::check(double v, const std::string& what, const std::string& prefix) const {
  OIAD_CHECK_USAGE(accepts(v), what, ": ", shown(prefix), " ", v, " outside ", range_text());
}

}  // namespace oiad

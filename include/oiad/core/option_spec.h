// Options declared once: the name, help text and allowed range of a numeric option of a
// component (training, calibration, ...) stand beside the component's options struct, whose
// field initialisers are the defaults. The CLI declares its flags from them (tools/oiad,
// cli_common.h) and the Python module checks its arguments with them, so that no default,
// range or help text is typed twice and both refuse a value with the same message.
#pragma once

#include <cstdint>
#include <string>

namespace oiad {

/// A numeric option: the CLI's --NAME (the Python keyword is NAME with '_' for '-'), its help
/// text without the default or range (added where it is shown), and its closed range [min,
/// max] (min excluded when `min_open`).
struct NumberSpec {
  const char* name;
  const char* help;
  double min, max;
  bool min_open = false;
  bool integer = true;
  /// The Python keyword when it is not `name` with '_' for '-'.
  const char* python_name = nullptr;

  /// "[1, 1e6]", "(0, 1]": the range as help texts and errors show it.
  std::string range_text() const;
  /// A value as help texts show it ("30", "0.001", "1e6").
  static std::string default_text(double v);
  /// Whether `v` is finite and inside the range (whole, for an integer option).
  bool accepts(double v) const;
  /// Throws UsageError "WHAT: PREFIX+NAME V outside RANGE" unless accepts(v); `prefix` is "--"
  /// for the CLI, "" for Python (which also writes the name with '_').
  void check(double v, const std::string& what, const std::string& prefix) const;
  /// The option's name as `prefix` shows it: "--batch-size" (prefix "--") or the Python
  /// keyword "batch_size" (prefix "").
  std::string shown(const std::string& prefix) const;
};

}  // namespace oiad

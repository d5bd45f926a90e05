// Closed sets of names: the allowed values of an option (a metric, a rule, a protocol, ...),
// listed once in the library, from which parsing, error messages and help texts are made, so
// that no allowed value is typed a second time.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace oiad {

/// "a, b or c" (a single name alone; `last` joins the last two).
std::string choice_list(const std::vector<std::string>& names, const std::string& last = " or ");

/// The position of `text` in `names`, or a UsageError "unknown WHAT 'TEXT' (expected a, b or
/// c)" (the text shown printable, as error.h's printable).
size_t parse_choice(const std::vector<std::string>& names, const std::string& text, const std::string& what);

/// An enum whose values are the positions of `names`: E(parse_choice(...)).
template <class E>
E parse_enum(const std::vector<std::string>& names, const std::string& text, const std::string& what) {
  return E(parse_choice(names, text, what));
}

}  // namespace oiad

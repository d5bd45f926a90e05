#include "oiad/core/choice.h"

#include "oiad/core/error.h"

namespace oiad {

std::string choice_list(const std::vector<std::string>& names, const std::string& last) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : i + 1 == names.size() ? last : ", ") + names[i];
  return out;
}

size_t parse_choice(const std::vector<std::string>& names, const std::string& text, const std::string& what) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return i;
  throw UsageError("unknown " + what + " '" + printable(text) + "' (expected " + choice_list(names) + ")");
}

}  // namespace oiad

#include "oiad/data/dataset.h"

#include <algorithm>
#include <cctype>

#include "oiad/core/choice.h"
#include "oiad/core/error.h"

namespace oiad::data {

const ImageSet& Dataset::split(const std::string& name) const {
  static const std::vector<std::string> kSplits = {"train", "test"};
  return parse_choice(kSplits, name, "split") == 0 ? train : test;
}

std::string Dataset::image_id(const std::string& split_name, int64_t index) const {
  const ImageSet& s = split(split_name);
  if (!s.ids.empty()) return s.ids.at(static_cast<size_t>(index));
  return split_name + "/" + std::to_string(index);
}

std::vector<int64_t> Dataset::per_class(const std::string& split_name) const {
  std::vector<int64_t> n(class_names.size(), 0);
  for (int32_t l : split(split_name).labels) n.at(static_cast<size_t>(l))++;
  return n;
}

namespace {
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

int resolve_class(const Dataset& ds, const std::string& spec) {
  const int n = static_cast<int>(ds.class_names.size());
  // Names first: a class may be called "1" in a folder data set.
  for (int i = 0; i < n; ++i)
    if (lower(ds.class_names[i]) == lower(spec)) return i;
  if (!spec.empty() && std::all_of(spec.begin(), spec.end(), ::isdigit) && spec.size() < 9) {
    const int k = std::stoi(spec);
    if (k >= 0 && k < n) return k;
  }
  std::string known;
  for (int i = 0; i < n; ++i) known += (i ? ", " : "") + std::to_string(i) + "=" + ds.class_names[i];
  throw Error("data set " + ds.name + ": no class '" + spec + "' (classes: " + known + ")");
}

}  // namespace oiad::data

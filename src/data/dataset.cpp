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

Dataset Dataset::empty_of_side(int side) const {
  Dataset out;
  out.name = name;
  out.source = source;
  out.channels = channels;
  out.height = out.width = side;
  out.class_names = class_names;
  return out;
}

ImageView Dataset::image(const std::string& split_name, int64_t index) const {
  const ImageSet& s = split(split_name);
  OIAD_CHECK(index >= 0 && index < s.count, name, ": image ", index, " out of range for ", split_name, " (", s.count,
             " images)");
  const size_t i = size_t(index);
  ImageView v;
  v.channels = channels;
  v.height = mixed_sizes() ? s.heights.at(i) : height;
  v.width = mixed_sizes() ? s.widths.at(i) : width;
  const size_t plane = size_t(v.height) * size_t(v.width);
  const size_t offset = mixed_sizes() ? size_t(s.offsets.at(i)) : i * plane * size_t(channels);
  v.pixels = s.pixels.data() + offset;
  if (!s.masks.empty() && s.has_mask.at(i)) v.mask = s.masks.data() + offset / size_t(channels);
  return v;
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

#include "oiad/data/split.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "oiad/core/choice.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/core/json_fields.h"
#include "oiad/core/random.h"
#include "oiad/data/defects.h"

namespace oiad::data {

const std::vector<std::string>& protocol_names() {
  static const std::vector<std::string> kNames = {"paper", "standard", "defects", "inspection"};
  return kNames;
}

Protocol parse_protocol(const std::string& s) { return parse_enum<Protocol>(protocol_names(), s, "protocol"); }

std::string protocol_name(Protocol p) { return protocol_names()[size_t(p)]; }

SplitPart SplitPart::subset(const std::vector<size_t>& positions) const {
  SplitPart p;
  p.source = source;
  for (size_t i : positions) {
    p.index.push_back(index.at(i));
    p.anomalous.push_back(anomalous.at(i));
    if (has_defects()) {
      p.defect.push_back(defect.at(i));
      p.defect_seed.push_back(defect_seed.at(i));
      p.donor.push_back(donor.at(i));
    }
  }
  return p;
}

namespace {
std::vector<int64_t> indices_where(const ImageSet& s, bool normal, int cls) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < s.count; ++i)
    if ((s.labels[size_t(i)] == cls) == normal) out.push_back(i);
  return out;
}
SplitPart make_part(const std::string& source, std::vector<int64_t> idx, uint8_t anomalous) {
  SplitPart p;
  p.source = source;
  p.anomalous.assign(idx.size(), anomalous);
  p.index = std::move(idx);
  return p;
}
void cap(std::vector<int64_t>& v, int64_t limit) {
  if (limit > 0 && int64_t(v.size()) > limit) v.resize(size_t(limit));
}
}  // namespace

OneClassSplit make_split(const Dataset& ds, int normal_class, Protocol protocol, uint64_t seed, int64_t limit,
                         const std::vector<std::string>& families_in) {
  OIAD_CHECK(normal_class >= 0 && normal_class < int(ds.class_names.size()), "split: class ", normal_class,
             " out of range");
  OIAD_CHECK_USAGE(families_in.empty() || protocol == Protocol::kDefects, "split: defect families are given but the protocol is ",
                   protocol_name(protocol), " (they apply to the defects protocol only)");
  OneClassSplit sp;
  sp.dataset = ds.name;
  sp.protocol = protocol_name(protocol);
  sp.seed = seed;
  sp.normal_class = normal_class;
  sp.normal_class_name = ds.class_names[size_t(normal_class)];
  sp.limit = limit;
  Rng rng(seed);
  std::vector<int64_t> normal = indices_where(ds.train, true, normal_class);
  OIAD_CHECK(normal.size() >= 10, "split: class ", sp.normal_class_name, " of ", ds.name, " has only ",
             normal.size(), " training images (need at least 10)");
  shuffle_in_place(normal, rng);
  const size_t n = normal.size();
  if (protocol == Protocol::kInspection) {
    // 30% of the normal class's images kept for the test part, 10% of the rest for VAL;
    // the test part then takes every image of the other classes, in the order stored.
    const size_t n_test = size_t(std::llround(0.3 * double(n)));
    const size_t n_val = size_t(std::llround(0.1 * double(n - n_test)));
    std::vector<int64_t> te(normal.begin(), normal.begin() + ptrdiff_t(n_test));
    std::vector<int64_t> va(normal.begin() + ptrdiff_t(n_test), normal.begin() + ptrdiff_t(n_test + n_val));
    std::vector<int64_t> tr(normal.begin() + ptrdiff_t(n_test + n_val), normal.end());
    std::vector<int64_t> others = indices_where(ds.train, false, normal_class);
    OIAD_CHECK(!others.empty(), "split: ", ds.name, " has no images outside class ", sp.normal_class_name,
               " (the inspection protocol tests on them)");
    std::sort(te.begin(), te.end());
    if (limit > 0) {  // a seeded subset of each, as for the other protocols
      shuffle_in_place(others, rng);
      cap(others, std::max<int64_t>(1, limit / 2));
      std::sort(others.begin(), others.end());
      cap(te, std::max<int64_t>(1, limit / 2));
    }
    cap(tr, limit);
    cap(va, limit);
    sp.train = make_part("train", tr, 0);
    sp.val = make_part("train", va, 0);
    sp.test = make_part("train", te, 0);
    sp.test.index.insert(sp.test.index.end(), others.begin(), others.end());
    sp.test.anomalous.insert(sp.test.anomalous.end(), others.size(), 1);
  } else if (protocol == Protocol::kPaper) {
    const size_t n_train = size_t(std::llround(0.7 * double(n)));
    const size_t n_val = size_t(std::llround(0.1 * double(n)));
    std::vector<int64_t> tr(normal.begin(), normal.begin() + ptrdiff_t(n_train));
    std::vector<int64_t> va(normal.begin() + ptrdiff_t(n_train), normal.begin() + ptrdiff_t(n_train + n_val));
    std::vector<int64_t> cle(normal.begin() + ptrdiff_t(n_train + n_val), normal.end());
    std::vector<int64_t> others = indices_where(ds.train, false, normal_class);
    OIAD_CHECK(!others.empty(), "split: ", ds.name, " has no images outside class ", sp.normal_class_name,
               " to draw anomalies (ANO) from");
    shuffle_in_place(others, rng);
    cap(tr, limit);
    cap(va, limit);
    cap(cle, limit > 0 ? std::max<int64_t>(1, limit / 2) : 0);
    OIAD_CHECK(others.size() >= cle.size(), "split: only ", others.size(), " anomalous images for ", cle.size(),
               " CLE images");
    std::vector<int64_t> ano(others.begin(), others.begin() + ptrdiff_t(cle.size()));
    sp.train = make_part("train", tr, 0);
    sp.val = make_part("train", va, 0);
    sp.test = make_part("train", cle, 0);
    sp.test.index.insert(sp.test.index.end(), ano.begin(), ano.end());
    sp.test.anomalous.insert(sp.test.anomalous.end(), ano.size(), 1);
  } else {
    OIAD_CHECK(ds.test.count > 0, "split: ", ds.name, " has no test split (the ", protocol_name(protocol),
               " protocol needs one)");
    const size_t n_val = size_t(std::llround(0.1 * double(n)));
    std::vector<int64_t> va(normal.begin(), normal.begin() + ptrdiff_t(n_val));
    std::vector<int64_t> tr(normal.begin() + ptrdiff_t(n_val), normal.end());
    cap(tr, limit);
    cap(va, limit);
    sp.train = make_part("train", tr, 0);
    sp.val = make_part("train", va, 0);
    if (protocol == Protocol::kStandard) {  // the defects protocol makes its test part below
      std::vector<int64_t> te(size_t(ds.test.count));
      for (int64_t i = 0; i < ds.test.count; ++i) te[size_t(i)] = i;
      if (limit > 0 && ds.test.count > limit) {
        shuffle_in_place(te, rng);
        te.resize(size_t(limit));
        std::sort(te.begin(), te.end());
      }
      sp.test = make_part("test", te, 0);
      for (size_t i = 0; i < te.size(); ++i) sp.test.anomalous[i] = ds.test.labels[size_t(te[i])] != normal_class;
    }
  }
  if (protocol == Protocol::kDefects) {
    // The normal class's test images, in a seeded order: the first half clean, the second
    // half with a defect, the families taking turns.
    std::vector<int64_t> te = indices_where(ds.test, true, normal_class);
    OIAD_CHECK(te.size() >= 2, "split: class ", sp.normal_class_name, " of ", ds.name, " has ", te.size(),
               " test images (the defects protocol needs at least 2)");
    OIAD_CHECK(ds.height >= 8 && ds.width >= 8, "split: ", ds.name, " images of ", ds.width, "x", ds.height,
               " are too small for synthetic defects (at least 8 x 8)");
    shuffle_in_place(te, rng);
    cap(te, limit);
    std::vector<DefectFamily> families;
    for (const std::string& f : families_in.empty() ? defect_family_names() : families_in)
      families.push_back(parse_defect_family(f));
    sp.test = make_part("test", te, 0);
    const size_t clean = te.size() / 2;
    for (size_t i = 0; i < te.size(); ++i) {
      const bool defective = i >= clean;
      const DefectFamily f = families[(i - clean) % families.size()];
      sp.test.anomalous[i] = defective;
      sp.test.defect.push_back(defective ? int8_t(f) : int8_t(-1));
      sp.test.defect_seed.push_back(defective ? rng.next_u64() : 0);
      int64_t donor = -1;
      if (defective && f == DefectFamily::kPaste) {
        OIAD_CHECK(ds.test.count >= 2, "split: a paste defect needs a second test image");
        do donor = int64_t(rng.uniform_index(uint64_t(ds.test.count)));
        while (donor == te[i]);
      }
      sp.test.donor.push_back(donor);
    }
  }
  return sp;
}

namespace {
// Copies the part's images and applies their defects; `masks` (when not null) gets the
// defects' masks, (n, H, W).
std::vector<uint8_t> gather(const Dataset& ds, const SplitPart& part, std::vector<uint8_t>* masks) {
  OIAD_CHECK(!ds.mixed_sizes(), ds.name, ": images of mixed sizes are brought to one size (data::resized) before ",
             "they are gathered");
  const ImageSet& s = ds.split(part.source);
  const size_t sz = size_t(ds.image_size()), plane = size_t(ds.height) * ds.width;
  auto check_index = [&](int64_t k, const char* what) {
    OIAD_CHECK(k >= 0 && k < s.count, "split: ", what, " ", k, " out of range for ", part.source, " (", s.count,
               " images)");
  };
  const bool defects = part.has_defects();
  OIAD_CHECK(!defects || (part.defect.size() == part.size() && part.defect_seed.size() == part.size() &&
                          part.donor.size() == part.size()),
             "split: defect lists differ in length from the index list");
  std::vector<uint8_t> out(part.size() * sz);
  if (masks) masks->assign(part.size() * plane, 0);
  for (size_t i = 0; i < part.size(); ++i) {
    const int64_t k = part.index[i];
    check_index(k, "index");
    std::memcpy(&out[i * sz], &s.pixels[size_t(k) * sz], sz);
    if (masks && !s.masks.empty()) std::memcpy(&(*masks)[i * plane], &s.masks[size_t(k) * plane], plane);
    if (!defects || part.defect[i] < 0) continue;
    OIAD_CHECK(part.defect[i] < int8_t(defect_family_names().size()), "split: defect family ", int(part.defect[i]),
               " unknown");
    const DefectFamily f = DefectFamily(part.defect[i]);
    const uint8_t* donor = nullptr;
    if (f == DefectFamily::kPaste) {
      check_index(part.donor[i], "donor");
      donor = &s.pixels[size_t(part.donor[i]) * sz];
    }
    const std::vector<uint8_t> m =
        apply_defect(&out[i * sz], ds.channels, ds.height, ds.width, f, part.defect_seed[i], donor);
    if (masks) std::copy(m.begin(), m.end(), masks->begin() + std::ptrdiff_t(i * plane));
  }
  return out;
}
}  // namespace

OneClassSplit make_normal_split(const Dataset& ds, int normal_class, double val_fraction, uint64_t seed) {
  OIAD_CHECK(normal_class >= 0 && normal_class < int(ds.class_names.size()), "split: class ", normal_class,
             " out of range");
  OIAD_CHECK_USAGE(val_fraction > 0 && val_fraction < 1, "split: VAL fraction ", val_fraction, " outside (0, 1)");
  OneClassSplit sp;
  sp.dataset = ds.name;
  sp.protocol = "normal";
  sp.seed = seed;
  sp.normal_class = normal_class;
  sp.normal_class_name = ds.class_names[size_t(normal_class)];
  std::vector<int64_t> normal = indices_where(ds.train, true, normal_class);
  const size_t n = normal.size();
  const size_t n_val = size_t(std::llround(val_fraction * double(n)));
  OIAD_CHECK(n >= 10 && n_val >= 1 && n_val < n, "split: ", n, " normal images with a VAL fraction of ", val_fraction,
             " leave ", n_val, " for VAL and ", n - std::min(n, n_val), " for training (need at least 10 images, and 1 in each)");
  Rng rng(seed);
  shuffle_in_place(normal, rng);
  sp.val = make_part("train", std::vector<int64_t>(normal.begin(), normal.begin() + ptrdiff_t(n_val)), 0);
  sp.train = make_part("train", std::vector<int64_t>(normal.begin() + ptrdiff_t(n_val), normal.end()), 0);
  sp.test = make_part("test", {}, 0);
  return sp;
}

std::vector<uint8_t> gather_pixels(const Dataset& ds, const SplitPart& part) { return gather(ds, part, nullptr); }

std::vector<uint8_t> known_masks(const Dataset& ds, const SplitPart& part) {
  const ImageSet& s = ds.split(part.source);
  std::vector<uint8_t> known(part.size(), part.has_defects() ? 1 : 0);
  if (!s.masks.empty())
    for (size_t i = 0; i < part.size(); ++i) known[i] = s.has_mask.at(size_t(part.index[i]));
  return known;
}

bool has_masks(const Dataset& ds, const SplitPart& part) {
  const std::vector<uint8_t> k = known_masks(ds, part);
  return std::find(k.begin(), k.end(), uint8_t(1)) != k.end();
}

std::vector<uint8_t> defect_masks(const Dataset& ds, const SplitPart& part) {
  std::vector<uint8_t> masks;
  gather(ds, part, &masks);
  return masks;
}

nlohmann::json data_fingerprint(const Dataset& ds, const OneClassSplit& split) {
  std::string bytes;
  for (const SplitPart* p : {&split.train, &split.val, &split.test}) {
    std::vector<uint8_t> px;
    if (ds.mixed_sizes()) {  // each image at its own size (ds.image checks the index)
      for (int64_t k : p->index) {
        const ImageView v = ds.image(p->source, k);
        px.insert(px.end(), v.pixels, v.pixels + size_t(v.channels) * v.height * v.width);
      }
    } else {
      px = gather_pixels(ds, *p);  // checks every index
    }
    bytes += p->source + '\n';
    for (size_t i = 0; i < p->size(); ++i)
      bytes += std::to_string(p->index[i]) + ' ' + std::to_string(int(p->anomalous[i])) + ' ' +
               ds.image_id(p->source, p->index[i]) + '\n';
    bytes.append(reinterpret_cast<const char*>(px.data()), px.size());
  }
  return {{"train_images", ds.train.count}, {"test_images", ds.test.count},
          {"sha256", sha256_hex(bytes.data(), bytes.size())}};
}

void check_data_fingerprint(const Dataset& ds, const OneClassSplit& split, const nlohmann::json& stored,
                            const std::string& data_name) {
  const char* changed = " since the model was trained (retrain it, or point --data at the data it was trained on)";
  if (stored.is_object()) {
    for (const char* part : {"train", "test"}) {
      const std::string key = std::string(part) + "_images";
      const int64_t count = ds.split(part).count;
      OIAD_CHECK(!stored.contains(key) || json_integer(stored[key], 0, INT64_MAX, "data fingerprint", key) == count,
                 data_name, ": has ", count, " ", part, " images, the model's split was made when it had ", stored[key].dump(),
                 ": the data set changed", changed);
    }
  }
  nlohmann::json now;
  try {
    now = data_fingerprint(ds, split);
  } catch (const Error& e) {
    throw Error(oiad::detail::concat(data_name, ": ", e.what(), changed));
  }
  if (stored.is_object() && stored.contains("sha256"))
    OIAD_CHECK(stored["sha256"] == now["sha256"], data_name,
               ": the images or labels the model's split uses are not those it was trained with: the data set changed",
               changed);
}

nlohmann::json part_json(const SplitPart& p) {
  nlohmann::json j = {{"source", p.source}, {"count", p.size()}, {"index", p.index}, {"anomalous", p.anomalous}};
  if (p.has_defects()) {
    nlohmann::json names = nlohmann::json::array();
    for (int8_t d : p.defect) names.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(defect_family_name(DefectFamily(d))));
    j["defect"] = names;
    j["defect_seed"] = p.defect_seed;
    j["donor"] = p.donor;
  }
  return j;
}

namespace {
SplitPart part_from(const nlohmann::json& j) {
  SplitPart p;
  p.source = j.at("source").get<std::string>();
  // Indices are bounds-checked against the data set where they are used (gather_pixels).
  p.index = bounded_int_list(j, "index", 0, INT64_MAX, "split");
  for (int64_t a : bounded_int_list(j, "anomalous", 0, 1, "split")) p.anomalous.push_back(uint8_t(a));
  OIAD_CHECK(p.index.size() == p.anomalous.size(), "index and anomalous lists differ in length");
  if (j.contains("defect")) {
    OIAD_CHECK(j["defect"].is_array(), "split: defect is not a list");
    const auto& names = defect_family_names();
    for (const auto& d : j["defect"]) {
      if (d.is_null()) {
        p.defect.push_back(-1);
        continue;
      }
      const auto it = std::find(names.begin(), names.end(), d.get<std::string>());
      OIAD_CHECK(it != names.end(), "split: unknown defect family ", d.dump());
      p.defect.push_back(int8_t(it - names.begin()));
    }
    for (int64_t d : bounded_int_list(j, "donor", -1, INT64_MAX, "split")) p.donor.push_back(d);
    const nlohmann::json& seeds = j.at("defect_seed");
    OIAD_CHECK(seeds.is_array(), "split: defect_seed is not a list");
    for (const auto& x : seeds) p.defect_seed.push_back(json_uint64(nlohmann::json{{"seed", x}}, "seed", "split defect"));
    OIAD_CHECK(p.defect.size() == p.size() && p.donor.size() == p.size() && p.defect_seed.size() == p.size(),
               "split: defect lists differ in length from the index list");
  }
  return p;
}
}  // namespace

std::string OneClassSplit::to_json() const {
  nlohmann::json j = {{"dataset", dataset},     {"protocol", protocol},
                      {"seed", seed},           {"normal_class", normal_class},
                      {"normal_class_name", normal_class_name}, {"limit", limit},
                      {"train", part_json(train)}, {"val", part_json(val)},
                      {"test", part_json(test)}};
  return j.dump(1) + "\n";
}

OneClassSplit OneClassSplit::from_json(const std::string& text, const std::string& name) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    OneClassSplit s;
    s.dataset = j.at("dataset").get<std::string>();
    s.protocol = j.at("protocol").get<std::string>();
    s.seed = json_uint64(j, "seed", "split");
    s.normal_class = int(bounded_int(j, "normal_class", 0, 1 << 20, "split"));
    s.normal_class_name = j.at("normal_class_name").get<std::string>();
    s.limit = j.contains("limit") ? bounded_int(j, "limit", 0, INT64_MAX, "split") : 0;
    s.train = part_from(j.at("train"));
    s.val = part_from(j.at("val"));
    s.test = part_from(j.at("test"));
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw Error(name + ": not a split file: " + e.what());
  } catch (...) {
    rethrow_with_context(name);
  }
}

}  // namespace oiad::data

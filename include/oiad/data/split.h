// One-class split protocols. A split is a list of references into the data set's own
// train/test splits, so that any result can be audited and reproduced from the saved JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oiad/data/dataset.h"

namespace oiad::data {

enum class Protocol {
  /// Sec. IV.B: the normal class's training images split 70% train, 10% VAL, 20% CLE;
  /// ANO = as many images drawn at random from the other classes' training images.
  /// Test = CLE (label 0) followed by ANO (label 1).
  kPaper,
  /// Ruff et al. 2018: train = the normal class's training images less 10% held out as VAL;
  /// test = the whole test split, normal class labelled 0 and all others 1.
  kStandard,
  /// Local defects: train and VAL as for kStandard; test = the normal class's test images,
  /// half left clean (label 0) and half given one seeded synthetic defect (label 1, data/
  /// defects.h), the families taking turns. Paste donors are other images of the test split.
  kDefects,
  /// Inspection photographs without a published split (Magnetic-tile): the normal class's
  /// training images seeded into 30% test, and of the rest 10% VAL and 90% train; test = those
  /// normal images (label 0) followed by every image of the other classes (label 1, masks
  /// kept), all from the train split.
  kInspection,
};

Protocol parse_protocol(const std::string& s);  ///< one of protocol_names()
/// "paper", "standard", "defects", "inspection": the allowed values of every --protocol option.
const std::vector<std::string>& protocol_names();
std::string protocol_name(Protocol p);

/// Images taken from one split ("train" or "test") of the source data set.
struct SplitPart {
  std::string source;              ///< "train" or "test"
  std::vector<int64_t> index;      ///< indices into that split
  std::vector<uint8_t> anomalous;  ///< 0 = normal class, 1 = another class (or a defect)
  /// Defects protocol only (empty otherwise): per image, the DefectFamily applied (-1: none),
  /// the seed its defect is drawn from, and for paste the donor's index into the same split
  /// (-1: none); the images can be rebuilt from these at any time.
  std::vector<int8_t> defect;
  std::vector<uint64_t> defect_seed;
  std::vector<int64_t> donor;
  size_t size() const { return index.size(); }
  bool has_defects() const { return !defect.empty(); }
  /// The images at `positions` (into this part), defect information included.
  SplitPart subset(const std::vector<size_t>& positions) const;
};

/// A part as the JSON of split files: {"source", "count", "index", "anomalous"} and, with
/// defects, "defect" (family names, null for none), "defect_seed" and "donor".
nlohmann::json part_json(const SplitPart& p);

struct OneClassSplit {
  std::string dataset;
  std::string protocol;
  uint64_t seed = 0;
  int normal_class = 0;
  std::string normal_class_name;
  int64_t limit = 0;  ///< 0 = no cap
  SplitPart train, val, test;

  std::string to_json() const;  ///< pretty-printed JSON with every index
  static OneClassSplit from_json(const std::string& text, const std::string& name);
};

/// Makes a one-class split. `limit` > 0 caps the images drawn for each part (train, VAL,
/// test; for `paper` CLE and ANO are capped to limit/2 each, so the test part stays balanced).
/// Throws Error when the normal class has too few images or the test split is missing.
/// `families` (defects protocol; empty: all of defect_family_names()) take turns over the
/// defective images.
OneClassSplit make_split(const Dataset& ds, int normal_class, Protocol protocol, uint64_t seed,
                         int64_t limit = 0, const std::vector<std::string>& families = {});

/// Every training image of `normal_class` as normal data, for training without a test part
/// (the Python module's oiad.train): a seeded `val_fraction` of them as VAL, the rest train;
/// protocol "normal", test part empty. Throws Error for fewer than 10 images or an empty part.
OneClassSplit make_normal_split(const Dataset& ds, int normal_class, double val_fraction, uint64_t seed);

/// Copies a part's images: (n, C, H, W) uint8, with the part's defects applied.
std::vector<uint8_t> gather_pixels(const Dataset& ds, const SplitPart& part);
/// The masks of a part: (n, H, W) uint8, 1 on the pixels a synthetic defect changed or the
/// data set's ground-truth mask marks (all 0 for a clean image, and for every image of a
/// part of a data set without masks and defects).
std::vector<uint8_t> defect_masks(const Dataset& ds, const SplitPart& part);
/// Per image of a part: 1 when its mask is known (a synthetic defect's part, or a data set
/// image whose mask is known), 0 otherwise.
std::vector<uint8_t> known_masks(const Dataset& ds, const SplitPart& part);
/// True when some image of the part has a known mask.
bool has_masks(const Dataset& ds, const SplitPart& part);

/// What a model trained on `split` of `ds` records of its data, to notice later that the data
/// set changed: {"train_images", "test_images" (the data set's counts), "sha256" (of every
/// part's source, indices, labels, image ids and pixels)}. Throws Error when an index is out
/// of range.
nlohmann::json data_fingerprint(const Dataset& ds, const OneClassSplit& split);

/// Throws Error (naming `data_name`) unless `ds` still gives `split` the fingerprint `stored`:
/// a data set whose images were added, removed, reordered or changed since training would
/// score other images under the stored indices. `stored` null (a model written before
/// fingerprints) checks only that every index is in range.
void check_data_fingerprint(const Dataset& ds, const OneClassSplit& split, const nlohmann::json& stored,
                            const std::string& data_name);

}  // namespace oiad::data

// In-memory image data sets.
//
// Layout: an ImageSet holds `count` images of (C, H, W) uint8 pixels, row-major;
// pixel (c, y, x) of image i is pixels[((i * C + c) * H + y) * W + x].
// Labels are class indices into Dataset::class_names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace oiad::data {

/// One split (train or test) of a data set.
struct ImageSet {
  int64_t count = 0;
  std::vector<uint8_t> pixels;   ///< (count, C, H, W) uint8
  std::vector<int32_t> labels;   ///< class index per image
  std::vector<std::string> ids;  ///< per-image id (file path for folders); empty for IDX/CIFAR
};

/// A labelled image data set with a train and a test split (test may be empty).
struct Dataset {
  std::string name;    ///< "mnist", "fashion-mnist", "cifar10" or the path given
  std::string source;  ///< the file or folder it was read from
  int channels = 0;
  int height = 0;
  int width = 0;
  std::vector<std::string> class_names;
  ImageSet train;
  ImageSet test;

  int64_t image_size() const { return int64_t(channels) * height * width; }
  /// "train" or "test"; throws Error for another name.
  const ImageSet& split(const std::string& name) const;
  /// The id of image `index` of `split`: its file path when known, else "<split>/<index>".
  std::string image_id(const std::string& split, int64_t index) const;
  /// Images per class in a split.
  std::vector<int64_t> per_class(const std::string& split) const;
};

/// Resolves a class given as an index ("7") or a name ("trouser", case-insensitive).
/// Throws Error listing the known classes when it matches none.
int resolve_class(const Dataset& ds, const std::string& spec);

}  // namespace oiad::data

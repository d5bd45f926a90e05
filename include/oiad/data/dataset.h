// In-memory image data sets.
//
// Layout: an ImageSet holds `count` images of (C, H, W) uint8 pixels, row-major;
// pixel (c, y, x) of image i is pixels[((i * C + c) * H + y) * W + x].
// Labels are class indices into Dataset::class_names.
//
// Images of mixed sizes (an image folder of photographs): Dataset::height and width are 0,
// and each image has its own height and width and the offset of its (C, h, w) pixels.
// Ground-truth masks (the MVTec AD layout, masks beside the images): one byte per pixel of
// each image (1 = defect), laid out like the pixels without the channels.
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
  /// Mixed sizes only (empty otherwise): per image its height, width and the offset of its
  /// pixels in `pixels`.
  std::vector<int32_t> heights, widths;
  std::vector<int64_t> offsets;
  /// Ground-truth masks, empty when the data set has none: per image height x width bytes,
  /// 1 = defect, at offsets[i] / C (mixed sizes) or i x H x W.
  std::vector<uint8_t> masks;
  /// With masks: per image 1 when its mask is known (all 0 for a defect-free image), 0 for an
  /// image whose mask file is missing (its bytes in `masks` are 0 and mean nothing).
  std::vector<uint8_t> has_mask;
};

/// One image of a data set as stored: its size and pointers into the set's buffers.
struct ImageView {
  int channels = 0, height = 0, width = 0;
  const uint8_t* pixels = nullptr;  ///< (C, H, W)
  const uint8_t* mask = nullptr;    ///< (H, W), 1 = defect; null when the image has no known mask
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

  /// Bytes of one image (C x H x W); 0 for a set of mixed sizes.
  int64_t image_size() const { return int64_t(channels) * height * width; }
  /// True when the images differ in size (height and width are then 0).
  bool mixed_sizes() const { return height == 0; }
  /// True when the images carry ground-truth masks.
  bool has_masks() const { return !train.masks.empty() || !test.masks.empty(); }
  /// A data set with this one's name, source, channels and classes, of images side x side,
  /// holding none yet.
  Dataset empty_of_side(int side) const;
  /// Image `index` of `split` at its own size.
  ImageView image(const std::string& split, int64_t index) const;
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

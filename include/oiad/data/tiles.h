// Tiles: square windows of an image at its own resolution, for the `--tile SIDE` route
// (training on seeded tiles of the normal images, scoring an image tile by tile, maps
// stitched back at the image's full size).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "oiad/data/dataset.h"
#include "oiad/data/split.h"

namespace oiad::data {

/// The tiles that cover an image of height x width: windows of side x side at every
/// (ys[i], xs[j]). Along an axis the origins are 0, stride, 2·stride, ... and the last one is
/// moved to dim - side so that the tiles end at the border (one origin, 0, when dim <= side).
struct TileLayout {
  int height = 0, width = 0, side = 0, stride = 0;
  std::vector<int> ys, xs;
  size_t count() const { return ys.size() * xs.size(); }
  /// Origin (y, x) of tile k, row-major over (ys, xs).
  int y(size_t k) const { return ys[k / xs.size()]; }
  int x(size_t k) const { return xs[k % xs.size()]; }
};
/// Throws UsageError unless 0 < stride <= side.
TileLayout tile_layout(int height, int width, int side, int stride);

/// The (C, side, side) window of an image at (y, x); pixels beyond the image (an image
/// smaller than a tile) mirror the image across its border (OpenCV BORDER_REFLECT_101).
std::vector<uint8_t> crop_tile(const ImageView& image, int y, int x, int side);

/// `count` tiles of side x side drawn from the images of `part` (seeded: image uniformly,
/// then origin uniformly over the image's valid origins), as a data set of one size whose
/// train split holds them (label: the image's, id "<image id>@<y>,<x>"; masks cropped too
/// when the data set has them). Throws Error for an empty part.
Dataset random_tiles(const Dataset& ds, const SplitPart& part, int side, int64_t count, uint64_t seed);

/// Per-pixel maps of the tiles of `layout` stitched into the image's height x width map:
/// each pixel the mean of the tiles covering it (the reflected margin of a tile larger than
/// the image is dropped). Tiles are added one at a time, so that only the image's map and
/// its coverage counts are held, never every tile's map.
class MapStitcher {
 public:
  explicit MapStitcher(const TileLayout& layout);
  /// Adds tile k's side x side map.
  void add(size_t k, const float* map);
  /// The stitched map (every pixel is covered by some tile).
  std::vector<float> result() const;

 private:
  TileLayout layout_;
  std::vector<float> sum_, count_;
};
/// All tiles at once: tile k's map at maps[k·side²].
std::vector<float> stitch_tiles(const TileLayout& layout, const float* maps);

}  // namespace oiad::data

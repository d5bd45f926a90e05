#include "oiad/data/tiles.h"

#include <opencv2/core.hpp>

#include "oiad/core/error.h"
#include "oiad/core/random.h"

namespace oiad::data {

namespace {
std::vector<int> origins(int dim, int side, int stride) {
  std::vector<int> o = {0};
  if (dim <= side) return o;
  while (o.back() + side < dim) o.push_back(std::min(o.back() + stride, dim - side));
  return o;
}
}  // namespace

TileLayout tile_layout(int height, int width, int side, int stride) {
  OIAD_CHECK_USAGE(side > 0 && stride > 0 && stride <= side, "tiles: stride ", stride, " must be in [1, ", side,
                   "] (the tile side)");
  OIAD_CHECK(height > 0 && width > 0, "tiles: empty image ", width, "x", height);
  TileLayout t;
  t.height = height, t.width = width, t.side = side, t.stride = stride;
  t.ys = origins(height, side, stride);
  t.xs = origins(width, side, stride);
  return t;
}

std::vector<uint8_t> crop_tile(const ImageView& image, int y, int x, int side) {
  const int h = image.height, w = image.width;
  std::vector<uint8_t> out(size_t(image.channels) * side * side);
  const bool inside = y >= 0 && x >= 0 && y + side <= h && x + side <= w;
  for (int c = 0; c < image.channels; ++c) {
    const uint8_t* plane = image.pixels + size_t(c) * h * w;
    uint8_t* dst = out.data() + size_t(c) * side * side;
    if (inside) {
      for (int r = 0; r < side; ++r) std::copy_n(plane + size_t(y + r) * w + x, side, dst + size_t(r) * side);
      continue;
    }
    for (int r = 0; r < side; ++r)
      for (int k = 0; k < side; ++k) {
        const int yy = cv::borderInterpolate(y + r, h, cv::BORDER_REFLECT_101);
        const int xx = cv::borderInterpolate(x + k, w, cv::BORDER_REFLECT_101);
        dst[size_t(r) * side + k] = plane[size_t(yy) * w + xx];
      }
  }
  return out;
}

Dataset random_tiles(const Dataset& ds, const SplitPart& part, int side, int64_t count, uint64_t seed) {
  OIAD_CHECK(part.size() > 0, "tiles: no images to draw tiles from");
  OIAD_CHECK(count > 0, "tiles: ", count, " tiles asked for");
  Dataset out = ds.empty_of_side(side);
  ImageSet& s = out.train;
  Rng rng(seed);
  for (int64_t t = 0; t < count; ++t) {
    const size_t i = size_t(rng.uniform_index(part.size()));
    const ImageView v = ds.image(part.source, part.index[i]);
    const int y = v.height > side ? int(rng.uniform_index(uint64_t(v.height - side + 1))) : 0;
    const int x = v.width > side ? int(rng.uniform_index(uint64_t(v.width - side + 1))) : 0;
    const auto px = crop_tile(v, y, x, side);
    s.pixels.insert(s.pixels.end(), px.begin(), px.end());
    s.labels.push_back(ds.split(part.source).labels.at(size_t(part.index[i])));
    s.ids.push_back(ds.image_id(part.source, part.index[i]) + "@" + std::to_string(y) + "," + std::to_string(x));
    if (ds.has_masks()) {
      s.has_mask.push_back(v.mask ? 1 : 0);
      if (v.mask) {
        const ImageView m{1, v.height, v.width, v.mask, nullptr};
        const auto mk = crop_tile(m, y, x, side);
        s.masks.insert(s.masks.end(), mk.begin(), mk.end());
      } else {
        s.masks.insert(s.masks.end(), size_t(side) * side, 0);
      }
    }
    ++s.count;
  }
  return out;
}

MapStitcher::MapStitcher(const TileLayout& layout)
    : layout_(layout), sum_(size_t(layout.height) * layout.width, 0.0f), count_(sum_.size(), 0.0f) {}

void MapStitcher::add(size_t k, const float* m) {
  const TileLayout& t = layout_;
  OIAD_CHECK(k < t.count(), "tiles: tile ", k, " of ", t.count());
  const int y0 = t.y(k), x0 = t.x(k);
  for (int r = 0; r < t.side && y0 + r < t.height; ++r)
    for (int c = 0; c < t.side && x0 + c < t.width; ++c) {
      const size_t p = size_t(y0 + r) * t.width + size_t(x0 + c);
      sum_[p] += m[size_t(r) * t.side + c];
      count_[p] += 1.0f;
    }
}

std::vector<float> MapStitcher::result() const {
  std::vector<float> out(sum_.size());
  for (size_t p = 0; p < out.size(); ++p) out[p] = sum_[p] / count_[p];
  return out;
}

std::vector<float> stitch_tiles(const TileLayout& t, const float* maps) {
  MapStitcher s(t);
  const size_t plane = size_t(t.side) * t.side;
  for (size_t k = 0; k < t.count(); ++k) s.add(k, maps + k * plane);
  return s.result();
}

}  // namespace oiad::data

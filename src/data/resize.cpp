#include "oiad/data/resize.h"

#include <opencv2/imgproc.hpp>

#include "oiad/core/error.h"

namespace oiad::data {

namespace {
cv::Mat resize_plane(const uint8_t* plane, int height, int width, int out_h, int out_w) {
  const cv::Mat in(height, width, CV_8UC1, const_cast<uint8_t*>(plane));
  cv::Mat out;
  const bool shrink = out_h <= height && out_w <= width;
  cv::resize(in, out, cv::Size(out_w, out_h), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}
}  // namespace

std::vector<uint8_t> resize_image(const uint8_t* chw, int channels, int height, int width, int out_h, int out_w) {
  OIAD_CHECK(height > 0 && width > 0 && out_h > 0 && out_w > 0, "resize: ", width, "x", height, " to ", out_w, "x",
             out_h);
  const size_t in_plane = size_t(height) * width, out_plane = size_t(out_h) * out_w;
  std::vector<uint8_t> out(out_plane * size_t(channels));
  for (int c = 0; c < channels; ++c) {
    const cv::Mat r = resize_plane(chw + size_t(c) * in_plane, height, width, out_h, out_w);
    for (int y = 0; y < out_h; ++y) std::copy_n(r.ptr<uint8_t>(y), out_w, out.begin() + long(size_t(c) * out_plane + size_t(y) * out_w));
  }
  return out;
}

std::vector<uint8_t> resize_mask(const uint8_t* mask, int height, int width, int out_h, int out_w) {
  std::vector<uint8_t> scaled(size_t(height) * width);
  for (size_t i = 0; i < scaled.size(); ++i) scaled[i] = mask[i] ? 255 : 0;
  std::vector<uint8_t> out = resize_image(scaled.data(), 1, height, width, out_h, out_w);
  for (uint8_t& v : out) v = v >= 128 ? 1 : 0;
  return out;
}

bool needs_resize(const Dataset& ds, int side) { return ds.mixed_sizes() || ds.height > side || ds.width > side; }

Dataset resized(const Dataset& ds, int side) {
  OIAD_CHECK(side > 0, "resize: side ", side);
  Dataset out = ds.empty_of_side(side);
  for (const char* name : {"train", "test"}) {
    const ImageSet& s = ds.split(name);
    ImageSet& o = std::string(name) == "train" ? out.train : out.test;
    o.count = s.count;
    o.labels = s.labels;
    o.ids = s.ids;
    o.has_mask = s.has_mask;
    o.pixels.reserve(size_t(s.count) * size_t(ds.channels) * size_t(side) * size_t(side));
    for (int64_t i = 0; i < s.count; ++i) {
      const ImageView v = ds.image(name, i);
      const auto px = resize_image(v.pixels, v.channels, v.height, v.width, side, side);
      o.pixels.insert(o.pixels.end(), px.begin(), px.end());
      if (s.masks.empty()) continue;
      const auto m = v.mask ? resize_mask(v.mask, v.height, v.width, side, side)
                            : std::vector<uint8_t>(size_t(side) * side, 0);
      o.masks.insert(o.masks.end(), m.begin(), m.end());
    }
  }
  return out;
}

}  // namespace oiad::data

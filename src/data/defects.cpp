#include "oiad/data/defects.h"

#include <algorithm>
#include <cmath>

#include "oiad/core/choice.h"
#include "oiad/core/error.h"
#include "oiad/core/random.h"

namespace oiad::data {

const std::vector<std::string>& defect_family_names() {
  static const std::vector<std::string> kNames = {"scratch", "erase", "stain", "paste"};
  return kNames;
}

DefectFamily parse_defect_family(const std::string& name) {
  return parse_enum<DefectFamily>(defect_family_names(), name, "defect family");
}

std::string defect_family_name(DefectFamily f) { return defect_family_names()[size_t(f)]; }

namespace {

struct Image {
  uint8_t* chw;
  int c, h, w;
  uint8_t& at(int k, int y, int x) { return chw[(size_t(k) * h + y) * w + x]; }
};

// Per-channel median of the border pixels: the background of a centred object.
std::vector<uint8_t> border_median(Image& im) {
  std::vector<uint8_t> out(size_t(im.c));
  for (int k = 0; k < im.c; ++k) {
    std::vector<uint8_t> v;
    for (int x = 0; x < im.w; ++x) v.push_back(im.at(k, 0, x)), v.push_back(im.at(k, im.h - 1, x));
    for (int y = 1; y + 1 < im.h; ++y) v.push_back(im.at(k, y, 0)), v.push_back(im.at(k, y, im.w - 1));
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
    out[size_t(k)] = v[v.size() / 2];
  }
  return out;
}

void scratch(Image& im, Rng& rng, std::vector<uint8_t>& mask) {
  const int s = std::min(im.h, im.w);
  double x0, y0, x1, y1, len;
  do {  // endpoints inside the image, 0.3 s to 0.6 s apart
    x0 = rng.uniform(0, im.w - 1);
    y0 = rng.uniform(0, im.h - 1);
    const double angle = rng.uniform(0, 2 * M_PI);
    len = rng.uniform(0.3 * s, 0.6 * s);
    x1 = x0 + len * std::cos(angle);
    y1 = y0 + len * std::sin(angle);
  } while (x1 < 0 || y1 < 0 || x1 > im.w - 1 || y1 > im.h - 1);
  const uint8_t value = rng.uniform01() < 0.5 ? 255 : 0;
  const int thick = s >= 64 ? 2 : 1;
  const int steps = int(std::ceil(len)) * 2 + 1;
  for (int i = 0; i <= steps; ++i) {
    const double t = double(i) / steps;
    const int cx = int(std::lround(x0 + t * (x1 - x0))), cy = int(std::lround(y0 + t * (y1 - y0)));
    for (int dy = 0; dy < thick; ++dy)
      for (int dx = 0; dx < thick; ++dx) {
        const int y = std::min(cy + dy, im.h - 1), x = std::min(cx + dx, im.w - 1);
        for (int k = 0; k < im.c; ++k) im.at(k, y, x) = value;
        mask[size_t(y) * im.w + x] = 1;
      }
  }
}

void erase(Image& im, Rng& rng, std::vector<uint8_t>& mask) {
  const int s = std::min(im.h, im.w);
  const int side = std::max(2, int(std::lround(rng.uniform(0.15, 0.25) * s)));
  const std::vector<uint8_t> bg = border_median(im);
  // Centre on the object: a pixel that differs from the background by more than 32 levels
  // in some channel, drawn uniformly among them (anywhere when the image is all background).
  std::vector<int> content;
  for (int y = 0; y < im.h; ++y)
    for (int x = 0; x < im.w; ++x)
      for (int k = 0; k < im.c; ++k)
        if (std::abs(int(im.at(k, y, x)) - int(bg[size_t(k)])) > 32) {
          content.push_back(y * im.w + x);
          break;
        }
  const int centre = content.empty() ? int(rng.uniform_index(uint64_t(im.h) * im.w))
                                     : content[size_t(rng.uniform_index(content.size()))];
  const int y0 = std::clamp(centre / im.w - side / 2, 0, im.h - side);
  const int x0 = std::clamp(centre % im.w - side / 2, 0, im.w - side);
  for (int y = y0; y < y0 + side; ++y)
    for (int x = x0; x < x0 + side; ++x) {
      for (int k = 0; k < im.c; ++k) im.at(k, y, x) = bg[size_t(k)];
      mask[size_t(y) * im.w + x] = 1;
    }
}

void stain(Image& im, Rng& rng, std::vector<uint8_t>& mask) {
  const int s = std::min(im.h, im.w);
  const double sd = rng.uniform(0.06, 0.10) * s;
  const double cy = rng.uniform(0.2 * im.h, 0.8 * im.h), cx = rng.uniform(0.2 * im.w, 0.8 * im.w);
  for (int y = 0; y < im.h; ++y)
    for (int x = 0; x < im.w; ++x) {
      const double d2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
      const double weight = 0.8 * std::exp(-d2 / (2 * sd * sd));
      if (weight <= 0.1) continue;
      for (int k = 0; k < im.c; ++k) {
        const double v = im.at(k, y, x);
        const double target = v < 128 ? 255.0 : 0.0;  // the farther end: at least 128 levels away
        im.at(k, y, x) = uint8_t(std::lround(v + weight * (target - v)));
      }
      mask[size_t(y) * im.w + x] = 1;
    }
}

void paste(Image& im, Rng& rng, const uint8_t* donor, std::vector<uint8_t>& mask) {
  OIAD_CHECK(donor != nullptr, "defect paste: no donor image");
  const int s = std::min(im.h, im.w);
  const int side = std::max(2, int(std::lround(rng.uniform(0.2, 0.3) * s)));
  const int sy = int(rng.uniform_index(uint64_t(im.h - side + 1))), sx = int(rng.uniform_index(uint64_t(im.w - side + 1)));
  const int ty = int(rng.uniform_index(uint64_t(im.h - side + 1))), tx = int(rng.uniform_index(uint64_t(im.w - side + 1)));
  for (int k = 0; k < im.c; ++k)
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        im.at(k, ty + y, tx + x) = donor[(size_t(k) * im.h + sy + y) * im.w + sx + x];
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) mask[size_t(ty + y) * im.w + tx + x] = 1;
}

}  // namespace

std::vector<uint8_t> apply_defect(uint8_t* chw, int channels, int height, int width, DefectFamily family,
                                  uint64_t seed, const uint8_t* donor) {
  OIAD_CHECK(height >= 8 && width >= 8 && channels >= 1, "defect: image of ", width, "x", height,
             " is too small (at least 8 x 8)");
  Image im{chw, channels, height, width};
  Rng rng(seed);
  std::vector<uint8_t> mask(size_t(height) * width, 0);
  switch (family) {
    case DefectFamily::kScratch:
      scratch(im, rng, mask);
      break;
    case DefectFamily::kErase:
      erase(im, rng, mask);
      break;
    case DefectFamily::kStain:
      stain(im, rng, mask);
      break;
    case DefectFamily::kPaste:
      paste(im, rng, donor, mask);
      break;
  }
  return mask;
}

}  // namespace oiad::data

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "oiad/core/error.h"
#include "oiad/core/random.h"
#include "oiad/eval/regions.h"

namespace oiad::eval {
namespace {

// The regions of one mask by a flood fill over the 8 neighbours (independent of OpenCV).
std::vector<int> flood_regions(const std::vector<uint8_t>& mask, int h, int w, int* count) {
  std::vector<int> label(mask.size(), -1);
  *count = 0;
  for (int s = 0; s < h * w; ++s) {
    if (!mask[s] || label[s] >= 0) continue;
    std::vector<int> stack = {s};
    label[s] = *count;
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int y = p / w + dy, x = p % w + dx;
          if (y < 0 || y >= h || x < 0 || x >= w) continue;
          const int q = y * w + x;
          if (mask[q] && label[q] < 0) label[q] = *count, stack.push_back(q);
        }
    }
    ++*count;
  }
  return label;
}

// AUPRO the slow way: at each distinct score, binarise every map, count each region's
// covered pixels and the false positives, then integrate (FPR, PRO) up to max_fpr.
double brute_force_aupro(const PixelMaps& m, double max_fpr) {
  std::vector<std::vector<int>> labels;
  std::vector<int> counts;
  size_t off = 0;
  for (size_t i = 0; i < m.images(); ++i) {
    const int h = m.heights[i], w = m.widths[i];
    std::vector<uint8_t> mask(m.masks.begin() + long(off), m.masks.begin() + long(off + size_t(h) * w));
    int n = 0;
    labels.push_back(flood_regions(mask, h, w, &n));
    counts.push_back(n);
    off += size_t(h) * w;
  }
  std::set<double, std::greater<double>> thresholds(m.scores.begin(), m.scores.end());
  std::vector<std::pair<double, double>> curve = {{0, 0}};
  for (double t : thresholds) {
    double fp = 0, normal = 0, pro_sum = 0, regions = 0;
    off = 0;
    for (size_t i = 0; i < m.images(); ++i) {
      const size_t n = size_t(m.heights[i]) * m.widths[i];
      std::vector<double> hit(size_t(counts[i]), 0), size(size_t(counts[i]), 0);
      for (size_t p = 0; p < n; ++p) {
        const bool on = m.scores[off + p] >= t;
        const int r = labels[i][p];
        if (r < 0) {
          normal += 1;
          fp += on;
        } else {
          size[size_t(r)] += 1;
          hit[size_t(r)] += on;
        }
      }
      for (int r = 0; r < counts[i]; ++r) pro_sum += hit[size_t(r)] / size[size_t(r)], regions += 1;
      off += n;
    }
    curve.push_back({fp / normal, pro_sum / regions});
  }
  double area = 0;
  for (size_t k = 1; k < curve.size(); ++k) {
    auto [x0, y0] = curve[k - 1];
    auto [x1, y1] = curve[k];
    if (x1 >= max_fpr) {
      const double y = x1 > x0 ? y0 + (y1 - y0) * (max_fpr - x0) / (x1 - x0) : y1;
      return (area + (max_fpr - x0) * (y0 + y) / 2) / max_fpr;
    }
    area += (x1 - x0) * (y0 + y1) / 2;
  }
  return area / max_fpr;
}

// Closed forms: a map that is 1 exactly on the defects reaches PRO 1 at FPR 0 (AUPRO 1); a
// constant map jumps from (0, 0) to (1, 1), whose line gives PRO 0.3 at FPR 0.3, so the area
// is 0.3 x 0.3 / 2 and the normalised value 0.15.
TEST(Aupro, ClosedForms) {
  std::vector<uint8_t> mask(6 * 5, 0);
  mask[7] = mask[8] = mask[12] = 1;  // one region
  mask[29] = 1;                      // another, one pixel
  std::vector<double> perfect(mask.begin(), mask.end()), flat(mask.size(), 0.5);
  PixelMaps a, b;
  a.add(perfect.data(), mask.data(), 6, 5);
  b.add(flat.data(), mask.data(), 6, 5);
  EXPECT_NEAR(aupro(a), 1.0, 1e-12);
  EXPECT_NEAR(aupro(b), 0.15, 1e-12);
  EXPECT_NEAR(aupro(b, 1.0), 0.5, 1e-12);
  EXPECT_NEAR(pixel_auroc(a), 1.0, 1e-12);
}

// Regions count equally whatever their size: a map that finds only a one-pixel region
// (1 of 2 regions) has PRO 0.5 from FPR 0 on, where pixel AUROC sees 1 of 10 defect pixels.
TEST(Aupro, EveryRegionCountsOnce) {
  std::vector<uint8_t> mask(10 * 10, 0);
  for (int y = 2; y < 5; ++y)
    for (int x = 2; x < 5; ++x) mask[size_t(y) * 10 + x] = 1;  // 9 pixels
  mask[88] = 1;                                              // 1 pixel, apart
  std::vector<double> map(mask.size(), 0.0);
  map[88] = 1.0;
  PixelMaps m;
  m.add(map.data(), mask.data(), 10, 10);
  // Curve: (0, 0) -> (0, 0.5) -> (1, 1); PRO at FPR 0.3 = 0.5 + 0.5 x 0.3 = 0.65.
  EXPECT_NEAR(aupro(m), (0.3 * (0.5 + 0.65) / 2) / 0.3, 1e-12);
  EXPECT_NEAR(aupro(m), brute_force_aupro(m, 0.3), 1e-12);
}

// Random maps with ties over images of different sizes, masks of several blobs each (some
// touching only at a corner, which 8-connectivity joins), against the brute force.
TEST(Aupro, MatchesBruteForceOnRandomMaps) {
  Rng rng(11);
  for (int trial = 0; trial < 6; ++trial) {
    PixelMaps m;
    for (int img = 0; img < 3; ++img) {
      const int h = 5 + int(rng.uniform_index(8)), w = 4 + int(rng.uniform_index(9));
      std::vector<uint8_t> mask(size_t(h) * w, 0);
      std::vector<double> map(mask.size());
      if (img != 1)  // image 1 is defect-free
        for (int b = 0; b < 3; ++b) {
          const int y0 = int(rng.uniform_index(uint64_t(h))), x0 = int(rng.uniform_index(uint64_t(w)));
          for (int y = y0; y < std::min(h, y0 + 2); ++y)
            for (int x = x0; x < std::min(w, x0 + 1 + b); ++x) mask[size_t(y) * w + x] = 1;
        }
      for (size_t p = 0; p < map.size(); ++p) map[p] = double(rng.uniform_index(7)) + (mask[p] ? 1.5 : 0.0);
      m.add(map.data(), mask.data(), h, w);
    }
    for (double f : {0.3, 0.05, 1.0}) EXPECT_NEAR(aupro(m, f), brute_force_aupro(m, f), 1e-9) << trial << " " << f;
  }
}

TEST(Aupro, RefusesMasksWithoutRegionsOrNormalPixels) {
  std::vector<uint8_t> none(4, 0), all(4, 1);
  std::vector<double> map = {0.1, 0.2, 0.3, 0.4};
  PixelMaps a, b;
  a.add(map.data(), none.data(), 2, 2);
  b.add(map.data(), all.data(), 2, 2);
  EXPECT_THROW(aupro(a), Error);
  EXPECT_THROW(aupro(b), Error);
  EXPECT_THROW(aupro(a, 0.0), Error);
}

}  // namespace
}  // namespace oiad::eval

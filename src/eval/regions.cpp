#include "oiad/eval/regions.h"

#include <algorithm>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "oiad/core/error.h"
#include "oiad/eval/roc.h"

namespace oiad::eval {

void PixelMaps::add(const double* map, const uint8_t* mask, int height, int width) {
  OIAD_CHECK(height > 0 && width > 0, "pixel maps: empty image ", width, "x", height);
  const size_t n = size_t(height) * width;
  scores.insert(scores.end(), map, map + n);
  for (size_t i = 0; i < n; ++i) masks.push_back(mask[i] ? 1 : 0);
  heights.push_back(height);
  widths.push_back(width);
}

double pixel_auroc(const PixelMaps& m) {
  OIAD_CHECK(m.scores.size() == m.masks.size(), "pixel AUROC: ", m.scores.size(), " scores, ", m.masks.size(),
             " mask pixels");
  return roc_auc(m.scores, m.masks);
}

double aupro(const PixelMaps& m, double max_fpr) {
  OIAD_CHECK(max_fpr > 0 && max_fpr <= 1, "AUPRO: false-positive limit ", max_fpr, " outside (0, 1]");
  OIAD_CHECK(m.scores.size() == m.masks.size(), "AUPRO: ", m.scores.size(), " scores, ", m.masks.size(),
             " mask pixels");
  // Region of every defect pixel (global numbering), and each region's size.
  std::vector<int32_t> region(m.masks.size(), -1);
  std::vector<double> region_size;
  size_t offset = 0;
  for (size_t i = 0; i < m.images(); ++i) {
    const int h = m.heights[i], w = m.widths[i];
    cv::Mat mask(h, w, CV_8UC1, const_cast<uint8_t*>(m.masks.data() + offset));
    cv::Mat labels;
    const int n = cv::connectedComponents(mask, labels, 8, CV_32S);
    const int32_t first = int32_t(region_size.size());
    region_size.resize(region_size.size() + size_t(n - 1), 0.0);
    for (int y = 0; y < h; ++y) {
      const int32_t* row = labels.ptr<int32_t>(y);
      for (int x = 0; x < w; ++x)
        if (row[x] > 0) {
          region[offset + size_t(y) * w + x] = first + row[x] - 1;
          region_size[size_t(first + row[x] - 1)] += 1;
        }
    }
    offset += size_t(h) * w;
  }
  OIAD_CHECK(offset == m.scores.size(), "AUPRO: image sizes cover ", offset, " of ", m.scores.size(), " pixels");
  const double regions = double(region_size.size());
  const double normal = double(std::count(region.begin(), region.end(), -1));
  OIAD_CHECK(regions > 0, "AUPRO: the masks have no defect region");
  OIAD_CHECK(normal > 0, "AUPRO: the masks leave no normal pixel");
  // Sweep thresholds from the highest score down: a normal pixel adds 1/normal to the FPR, a
  // defect pixel 1/(regions x its region's size) to the PRO.
  std::vector<size_t> order(m.scores.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return m.scores[a] > m.scores[b]; });
  double area = 0, fpr = 0, pro = 0, false_positives = 0;
  for (size_t i = 0; i < order.size();) {
    double next_pro = pro;
    size_t j = i;
    for (; j < order.size() && m.scores[order[j]] == m.scores[order[i]]; ++j) {
      const int32_t r = region[order[j]];
      if (r < 0)
        false_positives += 1;
      else
        next_pro += 1.0 / (regions * region_size[size_t(r)]);
    }
    const double next_fpr = false_positives / normal;
    if (next_fpr >= max_fpr) {  // the last segment, cut at max_fpr
      const double t = next_fpr > fpr ? (max_fpr - fpr) / (next_fpr - fpr) : 1.0;
      const double pro_at = pro + t * (next_pro - pro);
      area += (max_fpr - fpr) * (pro + pro_at) / 2;
      return area / max_fpr;
    }
    area += (next_fpr - fpr) * (pro + next_pro) / 2;
    fpr = next_fpr, pro = next_pro;
    i = j;
  }
  return area / max_fpr;  // not reached: the FPR ends at 1
}

}  // namespace oiad::eval

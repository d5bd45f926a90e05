// Pixel-level measures of anomaly maps against ground-truth masks, as MVTec AD's evaluation
// defines them (Bergmann et al., IJCV 2021): pixel AUROC pools every pixel of every image;
// AUPRO weighs each connected defect region equally, whatever its size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace oiad::eval {

/// The maps and masks of a set of images, each of its own size, concatenated image after
/// image: image i covers heights[i] x widths[i] entries (row-major) of `scores` (higher =
/// more anomalous) and `masks` (nonzero = defect).
struct PixelMaps {
  std::vector<double> scores;
  std::vector<uint8_t> masks;
  std::vector<int> heights, widths;
  /// Appends one image's map and mask (h x w each).
  void add(const double* map, const uint8_t* mask, int height, int width);
  size_t images() const { return heights.size(); }
};

/// Pixel AUROC: roc_auc over every pixel, defect pixels positive. Throws Error when the masks
/// have no defect pixel or no normal pixel.
double pixel_auroc(const PixelMaps& m);

/// Area under the per-region-overlap curve up to `max_fpr`, divided by `max_fpr` (so 1 is
/// perfect and a random map gives about max_fpr / 2). Regions are the 8-connected components
/// of each image's mask; at a threshold t, a region's overlap is the share of its pixels with
/// score >= t, PRO is the mean overlap over all regions of all images, and the false-positive
/// rate is the share of non-defect pixels (of all images) with score >= t. The curve has one
/// point per distinct score, from (0, 0); the area is the trapezoidal rule, the last segment
/// cut at `max_fpr` by linear interpolation. Throws Error without regions or normal pixels.
double aupro(const PixelMaps& m, double max_fpr = 0.3);

}  // namespace oiad::eval

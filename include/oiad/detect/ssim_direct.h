// SSIM as plain loops over float pixels (no LibTorch): the same numbers as detect::ssim()
// (Wang et al. 2004, scikit-image's Gaussian variant; see detector.h), for the scoring hot
// path, where the paper preset compares 2,000 morphs per image. Accumulates in double.
#pragma once

#include <cstdint>

namespace oiad::detect {

/// out[i] = SSIM(x[i], y[i]) for n pairs of (c, h, w) float images in [0, 1] (h, w >= 11),
/// row-major; y may repeat x's image for several pairs through `x_of[i]` (index of the x
/// image for pair i), or x_of = nullptr for x[i]. Parallel over pairs (OpenMP). With `maps`,
/// also writes each pair's dissimilarity map: 1 - SSIM of every window, averaged over the
/// channels, (h - 10) x (w - 10) floats per pair (window (i, j) centred on pixel (i+5, j+5)).
constexpr int kSsimWindow = 11;
void ssim_direct(const float* x, const int64_t* x_of, const float* y, int64_t n, int c, int h, int w, double* out,
                 float* maps = nullptr);

}  // namespace oiad::detect

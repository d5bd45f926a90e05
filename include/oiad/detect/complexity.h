// Image complexity in a structure-consistency metric's own terms, for the relative rule
// (calibration.h): how far an image is from a smoothed copy of itself, the part of its
// distance to any smooth decode that the image alone explains.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "oiad/detect/calibration.h"
#include "oiad/detect/consistency.h"

namespace oiad::detect {

/// Images (N, C, H, W) convolved with a normalised Gaussian of sd `sigma` pixels (> 0),
/// truncated at radius ceil(3σ), separably, edges replicated; float64.
torch::Tensor gaussian_blur(const torch::Tensor& images, double sigma);

/// c_σ(x) of each image (N, C, S, S) in [0, 1]: 1 - SSIM(x, blur_σ(x)) for the ssim and local
/// metrics, the mean squared difference for mse and loss. (N,) float64. Computed in blocks of
/// about 2^18 pixels (the blur's and SSIM's convolutions unfold their input, a copy per kernel
/// tap), so memory does not grow with N; each image's value is independent of its block.
torch::Tensor complexity(const torch::Tensor& images, Metric metric, double sigma);

/// The σ the relative rule chooses among, in pixels of the network input:
/// 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8.
const std::vector<double>& complexity_sigmas();

/// Fits the relative rule of every metric the calibration has (calibration.h): the VAL
/// images' one-sided scores, from their consistencies `val` (one row per image of
/// `val_images`, the calibration's codes), against c_σ of `val_images` for each σ of
/// complexity_sigmas(); keeps the line with the largest R² and the VAL images' relative scores.
void fit_relative(Calibration& c, const ConsistencyTable& val, const torch::Tensor& val_images);

}  // namespace oiad::detect

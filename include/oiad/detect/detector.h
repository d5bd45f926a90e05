// The OIAD detector (Sec. III.A, III.D): PR-morphs from perturbing one latent code at a time
// within its normal range, and the structure consistency of an image under each code.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oiad/detect/calibration.h"
#include "oiad/detect/detector_options.h"
#include "oiad/detect/fast_decoder.h"
#include "oiad/model/networks.h"

namespace oiad::detect {

class Detector {
 public:
  Detector(model::DetectorVae net, DetectorOptions options);

  /// Sets each code's normal range from VAL images (N, C, S, S) and selects the codes.
  void fit_normal_range(const torch::Tensor& val_images);
  void set_normal_range(NormalRange r, std::vector<int> codes);
  const NormalRange& normal_range() const { return range_; }
  const std::vector<int>& codes() const { return codes_; }
  /// After calibrate() with duplicate_tolerance > 0: the codes each kept code stands for
  /// (parallel to codes(); empty otherwise).
  const std::vector<std::vector<int>>& merged_codes() const { return merged_; }
  const DetectorOptions& options() const { return opt_; }

  /// The N perturbed values of code `code` for an image whose code value is `z` (Sec.
  /// III.D.1 iterative stochastic search). All lie inside the normal range.
  std::vector<float> morph_values(int code, float z) const;

  /// Encoder means (N, d) of images (N, C, S, S).
  torch::Tensor encode(const torch::Tensor& images) const;

  /// SC for every selected code and every metric, decoding the morphs of all the images
  /// in batched calls (`decode_batch` morphs at a time).
  ConsistencyTable structure_consistency(const torch::Tensor& images) const;

  /// The morphs of one image along one code: (N, C, S, S) in [0, 1] (for pictures).
  torch::Tensor pr_morphs(const torch::Tensor& image, int code) const;

  /// Fits the normal range on VAL, then records every metric's VAL distributions; with
  /// `val_values`, also returns each VAL image's consistencies.
  Calibration calibrate(const torch::Tensor& val_images, double alpha, ConsistencyTable* val_values = nullptr);

 private:
  mutable model::DetectorVae net_;  // forward() is non-const in LibTorch
  DetectorOptions opt_;
  std::shared_ptr<const FastDecoder> fast_;  // null when options.fast_decoder is off
  NormalRange range_;
  std::vector<int> codes_;
  std::vector<std::vector<int>> merged_;
};

/// SSIM (Wang et al. 2004) of each pair (x[i], y[i]), (N, C, H, W) in [0, 1]: Gaussian window
/// 11x11 with σ = 1.5, K1 = 0.01, K2 = 0.03, data range 1, population (co)variances, mean over
/// the windows wholly inside the image, then over channels. Returns (N,) float64 — the same
/// numbers as scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
/// use_sample_covariance=False, data_range=1).
torch::Tensor ssim(const torch::Tensor& x, const torch::Tensor& y);

/// Mean squared error per pair, (N,).
torch::Tensor mse(const torch::Tensor& x, const torch::Tensor& y);

}  // namespace oiad::detect

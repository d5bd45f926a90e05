// The OIAD detector (Sec. III.A, III.D): PR-morphs from perturbing one latent code at a time
// within its normal range, and the structure consistency of an image under each code.
#pragma once

#include <torch/torch.h>

#include <functional>
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
  /// Sets the normal range and the selected codes (and clears the local standard, which
  /// belongs to the codes).
  void set_normal_range(NormalRange r, std::vector<int> codes);
  /// The local metric's VAL standard, one entry per selected code (calibrate() fits it).
  void set_local_standard(LocalStandard s);
  const LocalStandard& local_standard() const { return local_; }
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
  /// in batched calls (about `decode_batch` morphs at a time, whole codes per call). The
  /// local metric is 0 without a local standard. With `local_maps`, also returns every
  /// (image, code)'s local map: n · codes · side² floats, entry (i · codes + c) first, side =
  /// S - 10 (detect::local_map_side).
  ConsistencyTable structure_consistency(const torch::Tensor& images, std::vector<float>* local_maps = nullptr) const;

  /// Change maps of the local metric, (N, S, S) on the network input: per window, the mean
  /// over the selected codes of the standardised local map, smoothed by the local standard's
  /// box (box_mean, its `smooth`: the map shows what the score reads), placed at the window's
  /// centre (the 5-pixel border repeats the nearest window). Needs a local standard.
  torch::Tensor change_maps(const torch::Tensor& images) const;
  /// The same from local maps structure_consistency() has already returned for n images.
  torch::Tensor change_maps(const std::vector<float>& local_maps, int64_t n) const;

  /// The morphs of one image along one code: (N, C, S, S) in [0, 1] (for pictures).
  torch::Tensor pr_morphs(const torch::Tensor& image, int code) const;

  /// The structure consistency of calibration images with the local metric's maps
  /// (structure_consistency's `local_maps`), once the normal range is set.
  using ConsistencyPass =
      std::function<ConsistencyTable(const Detector& det, const torch::Tensor& images, std::vector<float>* maps)>;
  /// The default pass: structure_consistency over blocks of `kCalibrationBlock` images, the
  /// blocks score_images uses, so that a VAL image scored later gets its calibration values
  /// to the last digit, and a pass sharded over processes in those blocks
  /// (detect::sharded_consistency_pass) gives one process's values.
  ConsistencyTable consistency_in_blocks(const torch::Tensor& images, std::vector<float>* maps) const;

  /// Fits the normal range on VAL, then records every metric's VAL distributions; with
  /// `val_values`, also returns each VAL image's consistencies. `pass` computes the VAL
  /// consistencies (default: consistency_in_blocks).
  Calibration calibrate(const torch::Tensor& val_images, double alpha, ConsistencyTable* val_values = nullptr,
                        const ConsistencyPass& pass = {});

 private:
  mutable model::DetectorVae net_;  // forward() is non-const in LibTorch
  DetectorOptions opt_;
  std::shared_ptr<const FastDecoder> fast_;  // null when options.fast_decoder is off
  NormalRange range_;
  std::vector<int> codes_;
  std::vector<std::vector<int>> merged_;
  LocalStandard local_;
};

/// Images per block of scoring and calibration (score_images' default block).
constexpr int64_t kCalibrationBlock = 64;

/// The local metric (consistency.h, Metric::kLocal): side of the map of an S x S input (its
/// SSIM windows, S - 10), and the constant added to each window's VAL sd. Chosen on a
/// development split of training images (bench/local_score_dev.cpp, docs/results.md); the
/// metric's form (smoothing, top share) is LocalStandard's (detector_options.h).
int local_map_side(int input_size);
constexpr double kLocalSdFloor = 1e-3;
/// One window's standardised value, (value - mean) / (sd + kLocalSdFloor).
inline double local_z(float value, float mean, float sd) { return (double(value) - mean) / (double(sd) + kLocalSdFloor); }
/// Replaces each value of a side x side map by the mean over the `smooth` x `smooth` box
/// around it (odd smooth; at the border, over the box's values inside the map; 1: unchanged).
void box_mean(double* map, int side, int smooth);
/// The local metric of one side x side map: z = (map - mean) / (sd + kLocalSdFloor); z
/// smoothed by box_mean(smooth); the mean of the largest max(1, round(top_fraction · side²))
/// smoothed values.
double local_value(const float* map, const float* mean, const float* sd, int side, int smooth, double top_fraction);
/// local_value under a standard's form, for its code `code`.
double local_value(const float* map, const LocalStandard& standard, size_t code);
/// The standard of maps (n · codes · cells floats, laid out as structure_consistency
/// returns them): per code, the mean and population sd of every window over the n images.
LocalStandard fit_local_standard(const std::vector<float>& maps, size_t n, size_t codes, int side);

/// SSIM (Wang et al. 2004) of each pair (x[i], y[i]), (N, C, H, W) in [0, 1]: Gaussian window
/// 11x11 with σ = 1.5, K1 = 0.01, K2 = 0.03, data range 1, population (co)variances, mean over
/// the windows wholly inside the image, then over channels. Returns (N,) float64 — the same
/// numbers as scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
/// use_sample_covariance=False, data_range=1).
torch::Tensor ssim(const torch::Tensor& x, const torch::Tensor& y);

/// The SSIM of every window of each pair (the map whose mean is ssim()), averaged over the
/// channels: (N, H - 10, W - 10) float64.
torch::Tensor ssim_map(const torch::Tensor& x, const torch::Tensor& y);

/// Mean squared error per pair, (N,).
torch::Tensor mse(const torch::Tensor& x, const torch::Tensor& y);

}  // namespace oiad::detect

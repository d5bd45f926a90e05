// The OIAD detector (Sec. III.A, III.D): PR-morphs from perturbing one latent code at a time
// within its normal range, and the structure consistency of an image under each code.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oiad/detect/calibration.h"
#include "oiad/detect/fast_decoder.h"
#include "oiad/model/networks.h"

namespace oiad::detect {

struct DetectorOptions {
  /// N: PR-morphs per code (paper: 100, Sec. IV.B).
  int morphs = 100;
  /// B: perturbations drawn per search round (0: B = max(1, N / 10)). B well below N makes
  /// the radius grow over several rounds, so the kept morphs spread over the code's normal
  /// range. (With B = N and Δr = 0.05 every draw of the first round was kept: the morphs
  /// were within 5% of the range of the code's value, decoded to images indistinguishable
  /// from the reconstruction, and every code's SC equalled the reconstruction error to 1e-7.)
  int draws_per_round = 0;
  /// Δr as a fraction of the code's normal range width: round t draws Δz ~ U[-tΔr, tΔr].
  double radius_step = 0.1;
  /// Rounds before the documented fallback: the missing morphs are drawn uniformly in the
  /// normal range itself (the code's value was more than max_rounds·Δr outside it).
  int max_rounds = 40;
  /// Normal range of a code: the [q, 1-q] fractiles of the encoder means on VAL.
  double range_quantile = 0.01;
  /// Number of codes to use (0: all), chosen by `code_selection`.
  int top_k = 0;
  /// "all", "precision" (largest learned β_j first) or "spread" (widest VAL range first):
  /// code_selection_names().
  std::string code_selection = "all";
  /// > 0: after calibration, drop codes whose VAL consistencies duplicate a kept code's
  /// within this fraction of its VAL spread, every metric (detect::distinct_codes); 0: keep
  /// all. Collapsed codes are such duplicates (on a 30-epoch MNIST-7 model, 17 of 20 codes
  /// stayed within 0.02 sd of the median code's SC on every VAL image, while the 3 active
  /// ones came 1.7-6.7 sd away).
  double duplicate_tolerance = 0;
  /// Seed of the morph search; every image uses the same stream per code, so an image's
  /// score does not depend on which other images are scored with it.
  uint64_t seed = 0;
  /// Morphs decoded per call: bounds peak memory; a runtime setting, not stored with the
  /// calibration (it does not change results). Measured on MNIST-size models: 256 or 128
  /// morphs per call make activation buffers larger than glibc's largest mmap threshold
  /// (32 MB), and the page faults of mapping them anew cost 40% of the time; 64 and 32 run
  /// at the same speed without them (docs/performance.md).
  int decode_batch = 64;
  /// Decode with FastDecoder (transposed convolutions as per-phase matrix products) instead
  /// of LibTorch's modules; equal to 1e-5 (tested). A runtime setting, not stored.
  bool fast_decoder = true;
  /// Name of the preset these options came from ("paper", "default", "custom").
  std::string preset = "custom";

  nlohmann::json to_json() const;
  static DetectorOptions from_json(const nlohmann::json& j);
};

/// "paper": N = 100 morphs per code, every code. "default": N = 20, and codes whose VAL
/// consistencies duplicate another's (within 0.05 sd) are scored once; chosen by
/// measurement against `paper` (docs/results.md). Throws UsageError for another name.
DetectorOptions preset_options(const std::string& name);
/// A preset's default decision: "paper" is the paper's two-sided rule at α = 0.4 (Sec. IV.B);
/// "default" is the one-sided rule at a VAL false-positive rate of 0.05.
DecisionRule preset_decision(const std::string& name);

/// "all", "precision", "spread": the allowed values of DetectorOptions::code_selection.
const std::vector<std::string>& code_selection_names();
/// "default", "paper": the allowed values of every --preset option.
const std::vector<std::string>& preset_names();

/// The normal value range of each code (from VAL).
struct NormalRange {
  std::vector<double> low, high;
  nlohmann::json to_json() const;
  static NormalRange from_json(const nlohmann::json& j);
};

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

// A DRAEM-type peer (Zavrtanik et al., "DRAEM - A discriminatively trained reconstruction
// embedding for surface anomaly detection", ICCV 2021), re-implemented after the paper and
// reduced to fit 2 cores: a same-run peer of OIAD in `oiad experiment` (--methods recseg).
//
// Training sees only normal images. Each is, with probability 1/2, given a simulated anomaly:
// a Perlin-noise mask M (noise of 2^a x 2^b cells, a, b uniform in 0..5, rotated by an angle
// in [-90°, 90°], thresholded at 0.5) filled from an anomaly-source image A (resized to the
// network, then 3 distinct augmentations of 10 applied in random order):
//     I_a = (1 - M) ⊙ I + M ⊙ ((1 - β) A + β I),   β uniform in [0, 0.8).
// The reconstructive network R (an encoder-decoder without skip connections) learns to give
// back I from I_a (loss: mean squared error + (1 - SSIM)); the discriminative network D (a
// U-Net) segments M from the pair (R(I_a), I_a) (focal loss, γ = 2, on its softmax). R and D
// are trained together by Adam, the learning rate divided by 5 after 80% and again after
// 90% of the steps. An image's map is D's anomaly probability at each pixel; its score is
// the map's highest value after a mean filter of `filter` pixels (21 at DRAEM's 256 pixels).
//
// Reductions against DRAEM (measured costs in docs/results.md): base widths 16 and 8
// instead of 128 and 64; the network input of the run (32-128 pixels instead of 256); a
// number of steps instead of 700 epochs; depth (poolings) shrinks with the input so that the
// smallest feature map keeps 4x4 pixels or more; the anomaly sources are a texture set
// Debian packages (DTD, the paper's, cannot be fetched here) or a procedural one.
//
// Shapes: images are (N, C, S, S) float32 in [0, 1] (model::images_to_input).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oiad/core/random.h"
#include "oiad/model/segmenter.h"
#include "oiad/peers/peer_options.h"

namespace oiad::peers {

// The networks and their scoring are model::Segmenter's (model/segmenter.h); RecSeg trains one.
using model::ConvBlock;
using model::DiscriminativeNet;
using model::ReconstructiveNet;
using model::UpBlock;
using model::discriminative_depth;
using model::level_width;
using model::reconstructive_depth;

/// 2-D Perlin noise of side x side pixels on a grid of res_y x res_x cells (each dividing
/// side): random unit gradients at the (res + 1)² grid points, the quintic fade 6t⁵ − 15t⁴ +
/// 10t³, scaled by √2 (DRAEM's rand_perlin_2d). Row-major, values in about [-1, 1].
std::vector<float> perlin_noise(int side, int res_y, int res_x, Rng& rng);

/// A simulated-anomaly mask: Perlin noise of 2^a x 2^b cells (a, b uniform in 0..5, capped so
/// that a cell has at least one pixel), rotated about the centre by an angle uniform in
/// [-90°, 90°] (bilinear, zero outside), thresholded at 0.5. (side, side) float32 of 0 and 1.
torch::Tensor perlin_mask(int side, Rng& rng);

/// The augmentations an anomaly source goes through (DRAEM's, on [0, 1] images):
/// 0 gamma contrast (γ in [0.5, 2], per channel), 1 brightness (×[0.8, 1.2], +[-30, 30]/255),
/// 2 sharpness (blend with a 3x3 smoothed copy by a factor in [0, 2]), 3 hue and saturation
/// (colour images; grey ones: contrast ×[0.5, 1.5] about the mean), 4 solarize (with
/// probability 1/2, values above a threshold in [32, 128]/255 inverted), 5 posterize (1-8
/// bits), 6 invert, 7 autocontrast (per channel to [0, 1]), 8 equalize (per channel,
/// histogram of 256 levels), 9 rotation by [-45°, 45°] (bilinear, zero outside).
constexpr int kAugmentations = 10;
/// Applies augmentation `which` to one image (C, S, S) in [0, 1]; returns the same shape.
torch::Tensor augment(const torch::Tensor& image, int which, Rng& rng);

/// One training sample: the image, possibly with a simulated anomaly, and its mask.
struct SimulatedSample {
  torch::Tensor image;  ///< (C, S, S) the input I_a
  torch::Tensor mask;   ///< (1, S, S) M (all zero without an anomaly)
};
/// With probability options.anomaly_probability, `image` (C, S, S) with an anomaly made from
/// `source` (C, S, S) as the header says; otherwise the image itself and an empty mask.
SimulatedSample simulate_anomaly(const torch::Tensor& image, const torch::Tensor& source,
                                 const RecSegOptions& options, Rng& rng);

/// Focal loss (Lin et al. 2017) of the softmax probabilities p (N, 2, S, S) against a 0/1
/// mask (N, 1, S, S): the mean over pixels of −(1 − p_t)^γ log p_t, p_t the probability of the
/// pixel's true class (clamped to [1e-6, 1]).
torch::Tensor focal_loss(const torch::Tensor& probabilities, const torch::Tensor& mask, double gamma = 2.0);

/// Anomaly-source images: a set of (C, S, S) float32 images in [0, 1].
struct AnomalySources {
  torch::Tensor images;  ///< (K, C, S, S)
  std::string name;      ///< where they came from ("procedural" or the path)
};
/// `count` procedural sources (no files needed): each the sum of two Perlin noises of random
/// scales per channel, scaled to [0, 1], with random stripes or blobs of one level.
AnomalySources procedural_sources(int channels, int side, int count, uint64_t seed);

/// Anomaly sources from 8-bit pixels of whole (channels, side, side) images, row-major
/// (data::read_image_collection's layout); `name` says where they came from.
AnomalySources sources_from_pixels(const std::vector<uint8_t>& pixels, int channels, int side, const std::string& name);

/// The settings as a model file stores them (its "recseg" object; model_io.h reads the
/// widths and filter back).
nlohmann::json recseg_options_to_json(const RecSegOptions& o);

struct RecSegHistory {
  std::vector<double> loss, l2, ssim, focal;  ///< mean per block of steps (one per log line)
  double seconds = 0;
};

class RecSeg {
 public:
  RecSeg(int channels, int input_size, RecSegOptions options);

  /// Trains R and D on normal images x (N, C, S, S) with anomalies from `sources`.
  /// `progress(step, steps, loss)` every 50 steps and at the end.
  RecSegHistory fit(const torch::Tensor& x, const AnomalySources& sources,
                    const std::function<void(int, int, double)>& progress = {});
  /// The anomaly maps (N, S, S) float32: D's probability of the anomalous class.
  torch::Tensor maps(const torch::Tensor& x) const { return net_->maps(x); }
  /// Image scores (N,) float64: the highest value of the mean-filtered map. With `maps_out`,
  /// also the maps.
  torch::Tensor score(const torch::Tensor& x, torch::Tensor* maps_out = nullptr) const {
    return net_->score(x, maps_out);
  }
  /// The mean filter's side (odd): options.filter, or the odd number nearest 21 · S / 256
  /// (at least 3).
  int filter_side() const { return net_->filter_side(); }
  const RecSegOptions& options() const { return opt_; }
  int input_size() const { return net_->shape().input_size; }
  int channels() const { return net_->shape().channels; }
  /// Seconds the last fit took (stored with the model: a loaded model's own fit).
  double trained_seconds() const { return net_->trained_seconds(); }
  /// The trained networks (what a recseg model file holds, model::save_segmenter).
  const std::shared_ptr<model::Segmenter>& segmenter() const { return net_; }

  /// Writes / reads both networks (a LibTorch archive; save writes atomically). A file made
  /// for other channels, input, widths or filter is refused naming it.
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  RecSegOptions opt_;
  std::shared_ptr<model::Segmenter> net_;
};

}  // namespace oiad::peers

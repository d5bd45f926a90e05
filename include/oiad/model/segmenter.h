// The networks of a DRAEM-type reconstruct-and-segment model (Zavrtanik et al., ICCV 2021)
// and how they score: a reconstructive network R (an encoder-decoder without skip
// connections) and a discriminative U-Net D that segments anomalies from the pair
// (R(x), x). An image's map is D's probability of the anomalous class at each pixel; its
// score is the map's highest value after a mean filter. peers/recseg.h trains them on
// simulated anomalies; a model file of kind recseg holds them (model_io.h).
//
// Shapes: images are (N, C, S, S) float32 in [0, 1] (model::images_to_input).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace oiad::model {

/// Two 3x3 convolutions, each followed by batch norm and ReLU.
struct ConvBlockImpl : torch::nn::Module {
  ConvBlockImpl(int64_t in, int64_t out);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::Sequential body{nullptr};
};
TORCH_MODULE(ConvBlock);

/// Bilinear 2x upsampling (corners aligned), a 3x3 convolution, batch norm and ReLU.
struct UpBlockImpl : torch::nn::Module {
  UpBlockImpl(int64_t in, int64_t out);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::Sequential body{nullptr};
};
TORCH_MODULE(UpBlock);

/// R: ConvBlocks of widths w, 2w, 4w, 8w, 8w, ... (depth + 1 blocks) with 2x2 max pooling
/// between them, then per level an UpBlock and a ConvBlock back to w, and a 3x3 convolution to
/// C channels (no activation).
struct ReconstructiveNetImpl : torch::nn::Module {
  ReconstructiveNetImpl(int channels, int width, int depth);
  torch::Tensor forward(torch::Tensor x);
  std::vector<ConvBlock> down, up_conv;
  std::vector<UpBlock> up;
  torch::nn::Conv2d out{nullptr};
};
TORCH_MODULE(ReconstructiveNet);

/// D: a U-Net over 2C input channels: ConvBlocks of widths w, 2w, 4w, 8w, 8w, ... (depth + 1),
/// max pooling between them; per level an UpBlock, concatenation with the encoder's block of
/// that level, a ConvBlock; a 3x3 convolution to 2 channels (logits of normal, anomalous).
struct DiscriminativeNetImpl : torch::nn::Module {
  DiscriminativeNetImpl(int channels, int width, int depth);
  torch::Tensor forward(torch::Tensor x);
  std::vector<ConvBlock> down, up_conv;
  std::vector<UpBlock> up;
  torch::nn::Conv2d out{nullptr};
};
TORCH_MODULE(DiscriminativeNet);

/// Widths of the level-k blocks: width · min(2^k, 8).
int64_t level_width(int width, int level);
/// The poolings of R and D for an S-pixel input: min(4, log2(S / 4)) and min(5, log2(S / 4))
/// (DRAEM at 256: 4 and 5).
int reconstructive_depth(int side);
int discriminative_depth(int side);

/// The size of a segmenter's networks and its score's filter.
struct SegmenterShape {
  int channels = 1;    ///< 1 or 3
  int input_size = 32; ///< a power of two, 16 or more
  int rec_width = 16;  ///< R's base width (DRAEM: 128)
  int seg_width = 8;   ///< D's base width (DRAEM: 64)
  int filter = 0;      ///< the score's mean filter side (odd); 0: the odd number nearest 21 · S / 256
};

class Segmenter {
 public:
  /// New networks of `shape`, initialised as DRAEM does (convolution weights N(0, 0.02),
  /// batch-norm scales N(1, 0.02), shifts 0) from LibTorch's current seed.
  explicit Segmenter(const SegmenterShape& shape);

  /// The anomaly maps (N, S, S) float32: D's probability of the anomalous class.
  torch::Tensor maps(const torch::Tensor& x) const;
  /// Image scores (N,) float64: the highest value of the mean-filtered map (zeros outside,
  /// divided by the whole window). With `maps_out`, also the maps.
  torch::Tensor score(const torch::Tensor& x, torch::Tensor* maps_out = nullptr) const;
  /// The mean filter's side: shape().filter, or the odd number nearest 21 · S / 256 (at least 3).
  int filter_side() const;
  const SegmenterShape& shape() const { return shape_; }
  /// Throws Error when x is not (N, C, S, S) of this shape; `what` names it.
  void check_images(const torch::Tensor& x, const char* what) const;

  /// The networks, for training (peers::RecSeg::fit). Scoring puts them in eval mode once
  /// (after training); a loaded segmenter is in eval mode and may be scored from several
  /// threads at once.
  ReconstructiveNet& reconstructive() { return rec_; }
  DiscriminativeNet& discriminative() { return seg_; }
  /// Seconds its training took (stored with the networks).
  double trained_seconds() const { return trained_seconds_; }
  void set_trained_seconds(double s) { trained_seconds_ = s; }

  /// Both networks as a LibTorch archive, and back; bytes made for another shape are refused
  /// naming `name` ("not a recseg model of these settings").
  std::string to_bytes() const;
  void from_bytes(const std::string& bytes, const std::string& name);

 private:
  SegmenterShape shape_;
  mutable ReconstructiveNet rec_{nullptr};
  mutable DiscriminativeNet seg_{nullptr};
  double trained_seconds_ = 0;
};

}  // namespace oiad::model

// Transformation prediction (GEOM: Golan & El-Yaniv, "Deep Anomaly Detection Using Geometric
// Transformations", NeurIPS 2018): a same-run peer of OIAD in `oiad experiment`
// (--methods transforms).
//
// A classifier is trained on the normal class only to tell which of T geometric
// transformations was applied to an image. On a normal image it recognises them; on an image
// of something else it is less sure. GEOM's transformations are the 72 compositions
//   horizontal flip (no, yes) × translation (tx, ty ∈ {0, −S/4, +S/4}) × rotation by k·90°,
// applied in that order, the translation filling from the image mirrored about its edge
// (scipy.ndimage.shift, mode "reflect"). Every one of them moves pixels without changing
// them, so each is stored as a pixel map: output pixel i of channel c is input pixel
// map[t][i] of channel c. Training draws (image, transformation) pairs; a batch is one gather.
//
// Scores, higher = more anomalous:
//   dirichlet  GEOM's normality score, negated: for each transformation t, a Dirichlet
//              distribution with parameters α_t is fitted (maximum likelihood, Minka's fixed
//              point) to the classifier's softmax outputs on the transformed training
//              images; score(x) = −Σ_t Σ_k (α_tk − 1) log p_k(T_t x).
//   logprob    the simplified score (Golan & El-Yaniv; Hendrycks et al. 2019):
//              −Σ_t log p_t(T_t x), the summed log-probability of the right transformation.
//
// The classifier is a wide residual network WRN-d-k (Zagoruyko & Komodakis 2016; GEOM used
// WRN-16-8): a 3x3 convolution to 16 channels, three groups of (d − 4) / 6 pre-activation
// basic blocks of widths 16k, 32k, 64k (the second and third start with stride 2), then
// batch norm, ReLU, global average pooling and a dense layer to T outputs. Images are scaled
// to [−1, 1] as GEOM's are.
//
// Shapes: images are (N, C, S, S) float32 in [0, 1] (model::images_to_input); S ≥ 8 and
// divisible by 4.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "oiad/peers/peer_options.h"

namespace oiad::peers {

/// Pixel maps of `ts` for S x S images: (T, S·S) int64, out[i] = in[map[t][i]] per channel.
torch::Tensor transform_pixel_maps(const std::vector<GeometricTransform>& ts, int size);

/// x (N, C, S, S) under transformation t of `maps` (one gather; no interpolation).
torch::Tensor apply_transform(const torch::Tensor& maps, int64_t t, const torch::Tensor& x);

struct WideResNetImpl : torch::nn::Module {
  /// depth = 6n + 4 (n blocks per group, n ≥ 1), widen ≥ 1.
  WideResNetImpl(int channels, int classes, int depth, int widen);
  torch::Tensor forward(torch::Tensor x);  ///< (N, C, S, S) -> (N, classes) logits
  /// The input of the dense layer: (N, C, S, S) -> (N, 64·widen), after the last batch norm,
  /// ReLU and global average pooling.
  torch::Tensor features(torch::Tensor x);
  struct Block {
    torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
    torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};  ///< shortcut: only when shapes differ
  };
  std::vector<Block> blocks;
  torch::nn::Conv2d stem{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(WideResNet);

struct TransformPredictionHistory {
  std::vector<double> loss;      ///< mean cross-entropy per epoch
  std::vector<double> accuracy;  ///< share of training pairs classified right per epoch
  double train_seconds = 0, dirichlet_seconds = 0;
};

class TransformPrediction {
 public:
  TransformPrediction(int channels, int input_size, TransformPredictionOptions options);

  /// Trains the classifier on normal images x (N, C, S, S), then (dirichlet score) fits one
  /// Dirichlet per transformation to its outputs on x. `progress(epoch, epochs, loss)`
  /// after each epoch.
  TransformPredictionHistory fit(const torch::Tensor& x, const std::function<void(int, int, double)>& progress = {});
  /// The anomaly score of each image, (N,) float64.
  torch::Tensor score(const torch::Tensor& x) const;
  /// The classifier's features (WideResNetImpl::features) of transformation t of each image
  /// (t = 0: the identity): (N, 64·widen) float32.
  torch::Tensor features(const torch::Tensor& x, int64_t t = 0) const;
  /// log p(k | T_t x) of every image and transformation: (N, T, T) float32.
  torch::Tensor log_probabilities(const torch::Tensor& x) const;

  int transforms() const { return int(transforms_.size()); }
  const TransformPredictionOptions& options() const { return opt_; }
  /// (T, T) float64 Dirichlet parameters, row t for transformation t (dirichlet score).
  const torch::Tensor& alpha() const { return alpha_; }

  /// Writes / reads the classifier, the Dirichlet parameters and the shape (a LibTorch archive).
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  void check_images(const torch::Tensor& x, const char* what) const;
  int channels_, input_size_;
  TransformPredictionOptions opt_;
  std::vector<GeometricTransform> transforms_;
  torch::Tensor maps_;  ///< (T, S·S) int64
  mutable WideResNet net_{nullptr};
  torch::Tensor alpha_;
  bool fitted_ = false;
};

/// Maximum-likelihood Dirichlet parameters of the rows of p (N, K) (each row positive and
/// summing to 1), given as log p: Minka's fixed point α_k ← ψ⁻¹(ψ(Σα) + mean log p_k),
/// started from the moment estimate GEOM uses. (K,) float64.
torch::Tensor dirichlet_mle(const torch::Tensor& log_p, int max_iter = 1000, double tol = 1e-9);

}  // namespace oiad::peers

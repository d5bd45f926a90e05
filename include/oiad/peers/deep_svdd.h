// Deep SVDD (Ruff et al., "Deep One-Class Classification", ICML 2018), one-class objective:
// a same-run peer of OIAD in `oiad experiment` (--methods deepsvdd).
//
// A LeNet-type network φ without bias terms (5x5 convolutions, batch norm without affine
// parameters, leaky ReLU, 2x2 max pooling, a dense layer to the representation) is first
// trained as the encoder of an autoencoder; the centre c is the mean of φ over the training
// images from that initial network (entries closer to 0 than ε set to ±ε); then φ is trained
// to minimise the mean of ‖φ(x) − c‖² with weight decay. Score: ‖φ(x) − c‖², higher = more
// anomalous.
//
// Networks, as the authors' code has them for 28x28 grey and 32x32 colour images, on the
// network input of oiad (S = 32: MNIST-size images zero-padded by 2):
//   1 channel:  conv 8, conv 4, dense 32 (the grey network), with 4·8·8 inputs to the dense
//               layer at S = 32 instead of 4·7·7 at 28;
//   3 channels: conv 32, conv 64, conv 128, dense 128 (the colour network).
// Preprocessing as theirs: global contrast normalisation of each image (subtract its mean,
// divide by its mean absolute deviation), then min-max scaling with the minimum and maximum
// over the normal class's training images (theirs are the same statistics, precomputed per
// class); both are stored with the model.
//
// Shapes: images are (N, C, S, S) float32 in [0, 1] (model::images_to_input); S = 32.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "oiad/peers/peer_options.h"

namespace oiad::peers {


/// The LeNet-type feature map φ (no bias terms anywhere).
struct LeNetEncoderImpl : torch::nn::Module {
  LeNetEncoderImpl(int channels, int input_size);
  torch::Tensor forward(torch::Tensor x);  ///< (N, C, S, S) -> (N, rep_dim)
  int rep_dim = 0;
  std::vector<torch::nn::Conv2d> conv;
  std::vector<torch::nn::BatchNorm2d> bn;
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(LeNetEncoder);

/// The pre-training autoencoder: the encoder above, then (colour network) a batch norm of
/// the representation, reshaped to (rep_dim / 16, 4, 4) and decoded by 5x5 transposed
/// convolutions with 2x nearest upsampling between them, sigmoid output.
struct LeNetAutoencoderImpl : torch::nn::Module {
  LeNetAutoencoderImpl(int channels, int input_size);
  torch::Tensor forward(torch::Tensor x);  ///< (N, C, S, S) -> (N, C, S, S) in (0, 1)
  LeNetEncoder encoder{nullptr};
  torch::nn::BatchNorm1d rep_bn{nullptr};  ///< colour network only
  std::vector<torch::nn::ConvTranspose2d> deconv;
  std::vector<torch::nn::BatchNorm2d> bn;
};
TORCH_MODULE(LeNetAutoencoder);

/// Training history: mean loss per epoch of each phase.
struct DeepSvddHistory {
  std::vector<double> ae_loss, svdd_loss;
  double ae_seconds = 0, svdd_seconds = 0;
};

class DeepSvdd {
 public:
  DeepSvdd(int channels, int input_size, DeepSvddOptions options);

  /// Fits the scaling, pre-trains the autoencoder, sets the centre and trains φ on normal
  /// images x (N, C, S, S). `progress(phase, epoch, epochs, loss)` after each epoch.
  DeepSvddHistory fit(const torch::Tensor& x,
                      const std::function<void(const std::string&, int, int, double)>& progress = {});
  /// ‖φ(x) − c‖² of each image, (N,) float64.
  torch::Tensor score(const torch::Tensor& x) const;
  /// φ(x) of each image (preprocessed as in training), (N, rep_dim) float32.
  torch::Tensor representation(const torch::Tensor& x) const;

  /// GCN-l1, then min-max scaling with the stored training minimum and maximum.
  torch::Tensor preprocess(const torch::Tensor& x) const;
  const torch::Tensor& center() const { return center_; }
  const DeepSvddOptions& options() const { return opt_; }

  /// Writes / reads the network, centre and scaling (a LibTorch archive).
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  /// Error unless x is (N, channels, input_size, input_size).
  void check_images(const torch::Tensor& x, const char* what) const;
  int channels_, input_size_;
  DeepSvddOptions opt_;
  mutable LeNetEncoder phi_{nullptr};
  torch::Tensor center_;    ///< (rep_dim,) float32
  double scale_min_ = 0, scale_max_ = 1;
};

/// Global contrast normalisation with the l1 scale: per image, x − mean(x) divided by the
/// mean of |x − mean(x)| (an image with no contrast stays 0). (N, C, S, S) -> same.
torch::Tensor global_contrast_l1(const torch::Tensor& x);

}  // namespace oiad::peers

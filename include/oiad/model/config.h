// Configuration of the Detector-VAE (eq. 9, Table I) and of the two deep baselines of
// Table II that share its convolutional stack. Plain data, no LibTorch: the CLI and the
// model file read and write it as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oiad/core/option_spec.h"

namespace oiad::model {

enum class ModelKind {
  kDetectorVae,  ///< β-VAE + TC discriminator + learned prior precisions (eq. 9)
  kVae,          ///< plain VAE baseline: γ = 0, fixed N(0, I) prior, KL weight 1
  kDcae,         ///< deterministic convolutional autoencoder baseline (DCGAN-like)
  kRecSeg,       ///< the DRAEM-type peer: reconstructive + discriminative network (peers/recseg.h)
};
std::string kind_name(ModelKind k);
ModelKind parse_kind(const std::string& s);  ///< one of kind_names()
/// "detector", "vae", "dcae", "recseg": the allowed values of `oiad train --kind`.
const std::vector<std::string>& kind_names();

enum class Reconstruction {
  kL2,         ///< Σ_pixels (x - x̂)², the paper's l2 loss (Sec. III.C), linear decoder output
  kBernoulli,  ///< Σ_pixels BCE(logits, x): the Bernoulli decoder of FactorVAE
};
std::string reconstruction_name(Reconstruction r);
Reconstruction parse_reconstruction(const std::string& s);  ///< one of reconstruction_names()
/// "l2", "bernoulli".
const std::vector<std::string>& reconstruction_names();
/// Bounds on a config's sizes, checked before a network is built from a file: far beyond
/// Table I (latent 20-40 codes, dense 128-1000 units, 6 discriminator layers), far below sizes
/// that would exhaust memory.
constexpr int kMaxLatentDim = 1024;
constexpr int kMaxDenseWidth = 16384;
constexpr int kMaxDiscLayers = 64;

/// The network input sides the model supports: 32 (28x28 zero-padded), 64 (Table I) and the
/// doublings up to 512 (one more stride-2 stage each, model/networks.h).
const std::vector<int>& input_sizes();
/// The input side of every command and function that takes one, unless told otherwise.
constexpr int kDefaultInputSize = 32;

/// The declarations of the config's flags (core/option_spec.h); unset, each takes the
/// kind's default (ModelConfig::defaults).
namespace spec {
inline constexpr NumberSpec kLatentDim{"latent-dim", "latent codes", 1, kMaxLatentDim};
inline constexpr NumberSpec kGamma{"gamma", "TC weight γ", 0, 1e6, false, false};
inline constexpr NumberSpec kEta{"eta", "precision regulariser weight η", 0, 1e6, false, false};
inline constexpr NumberSpec kKlWeight{"kl-weight", "KL weight, the paper's λ_kd", 0, 1e6, false, false};
}  // namespace spec

struct ModelConfig {
  ModelKind kind = ModelKind::kDetectorVae;
  /// Image channels (1 for MNIST-like, 3 for CIFAR-like).
  int channels = 1;
  /// Side of the square network input: 32 (28x28 images padded), 64 (Table I, resized) or
  /// 128, 256, 512 (one more stride-2 stage per doubling).
  int input_size = kDefaultInputSize;
  /// Latent codes: paper default 20 for MNIST / Fashion-MNIST, 40 for CIFAR-10 (Sec. IV.B).
  int latent_dim = 20;
  /// Width of the decoder's first dense layer: 128 (MNIST-size) or 512 (CIFAR-size), Table I.
  int decoder_dense = 128;
  /// Width of the encoder's dense layer (Table I: 128).
  int encoder_dense = 128;
  /// Weight of the TC term, γ (paper default 40). 0 disables the discriminator.
  double gamma = 40.0;
  /// Weight of the precision regulariser Σ_j (1/β_j - 1)², η (paper default 0.1).
  double eta = 0.1;
  /// Weight of L_KL. Our reading of the paper's undefined "λ_kd = 0.1": the weight of the
  /// KL-divergence term, the only term of eq. 9 that the paper gives no weight of its own.
  double kl_weight = 0.1;
  /// Learn per-code prior precisions β_j (eq. 8); false = fixed N(0, I) prior.
  bool learn_precision = true;
  Reconstruction reconstruction = Reconstruction::kL2;
  /// TC discriminator: hidden layers and their width (Table I: 6 x 1000, leaky ReLU).
  int disc_layers = 6;
  int disc_units = 1000;

  /// Paper defaults for a kind and an image shape (20 or 40 codes, 128 or 512 units).
  static ModelConfig defaults(ModelKind kind, int channels, int input_size);
  /// Every field; for recseg only kind, channels and input_size (its networks' settings are
  /// the model file's "recseg" object, peers::RecSegOptions).
  nlohmann::json to_json() const;
  static ModelConfig from_json(const nlohmann::json& j);
  /// The config stored in a model file's metadata (its "config" object); Error when absent.
  static ModelConfig from_metadata(const nlohmann::json& meta);
  /// Throws Error when a field is out of range.
  void validate() const;
};

}  // namespace oiad::model

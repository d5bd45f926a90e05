// The networks of Table I and the losses of eq. 9.
//
// Shapes: images x are (N, C, S, S) float32 in [0, 1], S = input_size (32, 64, ..., 512);
// codes z, mu, logvar are (N, d), d = latent_dim. The decoder returns its raw output
// (N, C, S, S): for the l2 (Gaussian) decoder that is the reconstruction itself, for the
// Bernoulli decoder the logits of the pixel probabilities (see output_to_image).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <utility>

#include "oiad/model/config.h"

namespace oiad::model {

/// The image a decoder output stands for, in [0, 1]: l2 (Gaussian decoder, linear output)
/// clamps the output; Bernoulli applies the sigmoid. (A sigmoid under the l2 loss saturates:
/// measured on MNIST, every run collapsed to an all-black output within 200 steps.)
torch::Tensor output_to_image(const torch::Tensor& out, Reconstruction kind);

/// The side of the map between the convolutions and the dense layers: S/16 for S = 32 and
/// 64 (Table I), 4 above.
int base_side(int input_size);
/// Stride-2 stages beyond Table I's four: one per doubling of the side above 64 (0 for 32
/// and 64, so that their networks and model files are exactly Table I's).
int extra_stages(int input_size);

/// Four 4x4 stride-2 convolutions (32, 32, 64, 64 channels, ReLU), then extra_stages() more
/// of 64 channels, dense 128 ReLU, then the heads for mu and log-variance (Table I). A
/// deterministic encoder (DCAE) uses mu only.
struct ConvEncoderImpl : torch::nn::Module {
  explicit ConvEncoderImpl(const ModelConfig& c);
  /// Returns {mu, logvar}, each (N, d).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear dense{nullptr}, mu_head{nullptr}, logvar_head{nullptr};
};
TORCH_MODULE(ConvEncoder);

/// Dense 128/512 ReLU, dense base_side²·64 ReLU, extra_stages() 4x4 stride-2 transposed
/// convolutions of 64 channels, then Table I's four (64, 32, 32, C channels; ReLU between
/// them, logits out).
struct ConvDecoderImpl : torch::nn::Module {
  explicit ConvDecoderImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& z);  ///< (N, d) -> logits (N, C, S, S)
  torch::nn::Sequential dense{nullptr};
  torch::nn::Sequential deconv{nullptr};
  int base_ = 2;
};
TORCH_MODULE(ConvDecoder);

/// FactorVAE's discriminator: `disc_layers` linear layers of `disc_units` with leaky ReLU,
/// then 2 logits: [0] = "a sample of q(z)", [1] = "a sample of the product of marginals".
struct TcDiscriminatorImpl : torch::nn::Module {
  explicit TcDiscriminatorImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& z);  ///< (N, d) -> (N, 2)
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(TcDiscriminator);

/// The whole model: encoder, decoder, learned log-precisions log β_j (eq. 8; β = exp, so it
/// stays positive) and, when γ > 0, the TC discriminator.
struct DetectorVaeImpl : torch::nn::Module {
  explicit DetectorVaeImpl(const ModelConfig& c);
  ModelConfig config;
  ConvEncoder encoder{nullptr};
  ConvDecoder decoder{nullptr};
  TcDiscriminator discriminator{nullptr};  ///< null when γ = 0
  torch::Tensor log_precision;              ///< (d,) log β_j; fixed at 0 when not learned

  bool stochastic() const { return config.kind != ModelKind::kDcae; }
  bool has_discriminator() const { return !discriminator.is_empty(); }
  /// β_j = exp(log β_j), (d,).
  torch::Tensor precision() const { return log_precision.exp(); }
  /// Parameters updated by the VAE optimiser (encoder, decoder, precisions).
  std::vector<torch::Tensor> vae_parameters();
  /// Decodes codes to images in [0, 1].
  torch::Tensor decode(const torch::Tensor& z) { return output_to_image(decoder->forward(z), config.reconstruction); }
};
TORCH_MODULE(DetectorVae);

// ---- Losses (eq. 9). Each returns the mean over the batch of a per-image quantity. ----


/// Per-image reconstruction error (N,): l2 = Σ (x - out)², or Σ BCE(sigmoid(out), x).
torch::Tensor reconstruction_error(const torch::Tensor& logits, const torch::Tensor& x, Reconstruction kind);

/// Per-image KL(N(mu, exp(logvar)) || N(0, 1/β)) summed over codes (N,), closed form:
/// ½ Σ_j [β_j (σ_j² + μ_j²) - 1 - log σ_j² - log β_j].
torch::Tensor kl_to_scaled_prior(const torch::Tensor& mu, const torch::Tensor& logvar,
                                 const torch::Tensor& log_precision);

/// Per-code KL (N, d), same formula without the sum.
torch::Tensor kl_per_code(const torch::Tensor& mu, const torch::Tensor& logvar, const torch::Tensor& log_precision);

/// permute_dims (FactorVAE): each column of z permuted independently across the batch,
/// drawing a sample of the product of the marginals.
torch::Tensor permute_dims(const torch::Tensor& z);

/// Each code standardised over the batch: (z - mean) / std. Total correlation does not
/// change under per-code affine maps, so the discriminator sees standardised codes: fed raw
/// codes, the encoder evaded it by shrinking every code (measured: normal ranges of width
/// 0.001-0.007 after 20 epochs on MNIST 1 with γ = 40, against 0.3-7 with γ = 0).
torch::Tensor standardize_codes(const torch::Tensor& z);

/// TC estimate E[log D(z) / (1 - D(z))] = mean(logit_0 - logit_1) (eq. 7), on standardised codes.
torch::Tensor tc_estimate(TcDiscriminator& d, const torch::Tensor& z);

/// Discriminator loss: ½ [CE(D(z), 0) + CE(D(permute_dims(z2)), 1)] (Sec. III.C). The codes
/// are standardised over all their rows; with `rows` = [begin, end) only those rows enter
/// the cross-entropies (one rank's share of a batch in data-parallel training; the mean of
/// the ranks' losses is then the whole batch's).
torch::Tensor discriminator_loss(TcDiscriminator& d, const torch::Tensor& z, const torch::Tensor& z_permuted,
                                 std::pair<int64_t, int64_t> rows = {0, -1});

/// η Σ_j (1/β_j - 1)².
torch::Tensor precision_regulariser(const torch::Tensor& log_precision);

/// The terms of the VAE objective for one batch, each a scalar.
struct LossTerms {
  torch::Tensor recon, kl, tc, prec_reg;
  torch::Tensor total;      ///< recon + kl_weight·kl + γ·tc + η·prec_reg
  torch::Tensor objective;  ///< what to differentiate: `total`, or a rank's share of it (BatchShard)
  torch::Tensor z;          ///< sampled codes of the whole batch (N, d), for the discriminator step
  torch::Tensor mu;         ///< encoder means (N, d) of the rows computed here
};

/// One rank's rows of a batch in data-parallel training. recon and kl are means over the
/// rank's rows, so the ranks' mean gradient is the whole batch's. The TC estimate
/// standardises the codes with the whole batch's mean and sd, so each rank gathers the
/// batch's codes (`whole_batch`: every rank's rows in rank order, this rank's keeping their
/// graph) for those statistics, runs the discriminator on its own rows only, and adds the
/// gradient that reaches its rows through the statistics from every rank's rows (their
/// derivatives with respect to mean and sd, summed over the ranks by `sum_over_ranks`, as
/// synchronised batch normalisation does). Weighted by the world size in `objective`, the
/// ranks' mean gradient is then the whole batch's, and the discriminator's cost per rank
/// does not grow with the number of ranks.
struct BatchShard {
  torch::Tensor noise;  ///< the reparameterisation noise of this rank's rows
  std::function<torch::Tensor(const torch::Tensor&)> whole_batch;
  std::function<torch::Tensor(const torch::Tensor&)> sum_over_ranks;
  int world_size = 1;
};

/// Computes the terms; `warmup` in [0, 1] scales the KL and TC weights (warm-up). The
/// discriminator's parameters get no gradient from `objective` (they are frozen meanwhile).
/// Without `shard` the batch is whole and `objective` is `total`.
LossTerms vae_losses(DetectorVae& m, const torch::Tensor& x, double warmup = 1.0, const BatchShard* shard = nullptr);

}  // namespace oiad::model

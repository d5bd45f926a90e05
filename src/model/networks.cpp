#include "oiad/model/networks.h"

#include <algorithm>

#include "oiad/core/error.h"

namespace oiad::model {

namespace nn = torch::nn;

int base_side(int input_size) { return std::min(input_size / 16, 4); }

int extra_stages(int input_size) {
  int n = 0;
  for (int s = input_size; s > 64; s /= 2) ++n;
  return n;
}

ConvEncoderImpl::ConvEncoderImpl(const ModelConfig& c) {
  features = register_module(
      "features", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c.channels, 32, 4).stride(2).padding(1)), nn::ReLU(),
                                 nn::Conv2d(nn::Conv2dOptions(32, 32, 4).stride(2).padding(1)), nn::ReLU(),
                                 nn::Conv2d(nn::Conv2dOptions(32, 64, 4).stride(2).padding(1)), nn::ReLU(),
                                 nn::Conv2d(nn::Conv2dOptions(64, 64, 4).stride(2).padding(1)), nn::ReLU()));
  // Sides above 64: one more 64-channel stride-2 stage per doubling, so that the dense layer
  // sees the 4x4 map of Table I's 64-pixel network.
  for (int i = 0; i < extra_stages(c.input_size); ++i) {
    features->push_back(nn::Conv2d(nn::Conv2dOptions(64, 64, 4).stride(2).padding(1)));
    features->push_back(nn::ReLU());
  }
  const int side = base_side(c.input_size);
  dense = register_module("dense", nn::Linear(64 * side * side, c.encoder_dense));
  mu_head = register_module("mu", nn::Linear(c.encoder_dense, c.latent_dim));
  logvar_head = register_module("logvar", nn::Linear(c.encoder_dense, c.latent_dim));
}

std::pair<torch::Tensor, torch::Tensor> ConvEncoderImpl::forward(const torch::Tensor& x) {
  auto h = torch::relu(dense->forward(features->forward(x).flatten(1)));
  return {mu_head->forward(h), logvar_head->forward(h)};
}

ConvDecoderImpl::ConvDecoderImpl(const ModelConfig& c) : base_(base_side(c.input_size)) {
  dense = register_module("dense", nn::Sequential(nn::Linear(c.latent_dim, c.decoder_dense), nn::ReLU(),
                                                  nn::Linear(c.decoder_dense, 64 * base_ * base_), nn::ReLU()));
  auto up = [](int in, int out) { return nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 4).stride(2).padding(1)); };
  // Table I's four stages, built in one expression as they always were (the order in which
  // their weights are drawn from the seed is that of this call's arguments).
  nn::Sequential table_one(up(64, 64), nn::ReLU(), up(64, 32), nn::ReLU(), up(32, 32), nn::ReLU(), up(32, c.channels));
  if (extra_stages(c.input_size) == 0) {
    deconv = register_module("deconv", table_one);
  } else {  // sides above 64: the encoder's extra stages, mirrored, before Table I's
    deconv = register_module("deconv", nn::Sequential());
    for (int i = 0; i < extra_stages(c.input_size); ++i) {
      deconv->push_back(up(64, 64));
      deconv->push_back(nn::ReLU());
    }
    for (const auto& m : *table_one) deconv->push_back(m);  // the same modules, renumbered
  }
}

torch::Tensor ConvDecoderImpl::forward(const torch::Tensor& z) {
  return deconv->forward(dense->forward(z).view({z.size(0), 64, base_, base_}));
}

TcDiscriminatorImpl::TcDiscriminatorImpl(const ModelConfig& c) {
  net = register_module("net", nn::Sequential());
  int in = c.latent_dim;
  for (int i = 0; i < c.disc_layers; ++i) {
    net->push_back(nn::Linear(in, c.disc_units));
    net->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    in = c.disc_units;
  }
  net->push_back(nn::Linear(in, 2));
}

torch::Tensor TcDiscriminatorImpl::forward(const torch::Tensor& z) { return net->forward(z); }

DetectorVaeImpl::DetectorVaeImpl(const ModelConfig& c) : config(c) {
  c.validate();
  encoder = register_module("encoder", ConvEncoder(c));
  decoder = register_module("decoder", ConvDecoder(c));
  log_precision = register_parameter("log_precision", torch::zeros({c.latent_dim}), c.learn_precision);
  if (c.kind == ModelKind::kDetectorVae && c.gamma > 0)
    discriminator = register_module("discriminator", TcDiscriminator(c));
}

std::vector<torch::Tensor> DetectorVaeImpl::vae_parameters() {
  std::vector<torch::Tensor> p = encoder->parameters();
  for (auto& t : decoder->parameters()) p.push_back(t);
  if (config.learn_precision) p.push_back(log_precision);
  return p;
}

torch::Tensor reconstruction_error(const torch::Tensor& logits, const torch::Tensor& x, Reconstruction kind) {
  if (kind == Reconstruction::kBernoulli)
    return torch::binary_cross_entropy_with_logits(logits, x, {}, {}, at::Reduction::None).flatten(1).sum(1);
  return (logits - x).pow(2).flatten(1).sum(1);
}

torch::Tensor output_to_image(const torch::Tensor& out, Reconstruction kind) {
  return kind == Reconstruction::kBernoulli ? torch::sigmoid(out) : out.clamp(0.0, 1.0);
}

torch::Tensor kl_per_code(const torch::Tensor& mu, const torch::Tensor& logvar, const torch::Tensor& log_precision) {
  const auto beta = log_precision.exp();
  return 0.5 * (beta * (logvar.exp() + mu.pow(2)) - 1.0 - logvar - log_precision);
}

torch::Tensor kl_to_scaled_prior(const torch::Tensor& mu, const torch::Tensor& logvar,
                                 const torch::Tensor& log_precision) {
  return kl_per_code(mu, logvar, log_precision).sum(1);
}

torch::Tensor permute_dims(const torch::Tensor& z) {
  TORCH_CHECK(z.dim() == 2, "permute_dims: expected (N, d) codes");
  const int64_t n = z.size(0), d = z.size(1);
  // One random permutation of the batch per code: argsort of uniform noise, column-wise.
  auto perm = torch::rand({n, d}, z.options()).argsort(/*dim=*/0, /*descending=*/false);
  return z.gather(0, perm);
}

torch::Tensor standardize_codes(const torch::Tensor& z) {
  return (z - z.mean(0, true)) / (z.std(0, /*unbiased=*/false, true) + 1e-6);
}

torch::Tensor tc_estimate(TcDiscriminator& d, const torch::Tensor& z) {
  auto logits = d->forward(standardize_codes(z));
  return (logits.select(1, 0) - logits.select(1, 1)).mean();
}

torch::Tensor discriminator_loss(TcDiscriminator& d, const torch::Tensor& z, const torch::Tensor& z_permuted,
                                 std::pair<int64_t, int64_t> rows) {
  auto s = standardize_codes(z), sp = standardize_codes(z_permuted);
  if (rows.second >= 0) {
    TORCH_CHECK(z.size(0) == z_permuted.size(0) && rows.first >= 0 && rows.first < rows.second &&
                    rows.second <= z.size(0),
                "discriminator_loss: rows outside the batch");
    s = s.slice(0, rows.first, rows.second);
    sp = sp.slice(0, rows.first, rows.second);
  }
  const int64_t n = s.size(0), m = sp.size(0);
  auto zeros = torch::zeros({n}, torch::kLong), ones = torch::ones({m}, torch::kLong);
  return 0.5 * (torch::nn::functional::cross_entropy(d->forward(s), zeros) +
                torch::nn::functional::cross_entropy(d->forward(sp), ones));
}

torch::Tensor precision_regulariser(const torch::Tensor& log_precision) {
  return (torch::exp(-log_precision) - 1.0).pow(2).sum();
}

LossTerms vae_losses(DetectorVae& m, const torch::Tensor& x, double warmup, const BatchShard* shard) {
  const ModelConfig& c = m->config;
  LossTerms t;
  auto [mu, logvar] = m->encoder->forward(x);
  torch::Tensor z = mu;
  if (m->stochastic()) z = mu + (shard ? shard->noise : torch::randn_like(mu)) * torch::exp(0.5 * logvar);
  t.z = shard ? shard->whole_batch(z) : z;
  torch::Tensor tc_grad;
  t.mu = mu;
  t.recon = reconstruction_error(m->decoder->forward(z), x, c.reconstruction).mean();
  t.kl = m->stochastic() ? kl_to_scaled_prior(mu, logvar, m->log_precision).mean() : torch::zeros({});
  t.prec_reg = c.learn_precision ? precision_regulariser(m->log_precision) : torch::zeros({});
  if (m->has_discriminator()) {
    // Freeze the discriminator so the VAE loss leaves no gradient on it (Sec. III.C).
    for (auto& p : m->discriminator->parameters()) p.set_requires_grad(false);
    if (!shard) {
      t.tc = tc_estimate(m->discriminator, z);
    } else {
      // This rank's share of the TC estimate, with the whole batch's statistics as leaves.
      const double rows = double(t.z.size(0));
      auto mean = t.z.mean(0), sd = t.z.std(0, /*unbiased=*/false) + 1e-6;
      auto mean_leaf = mean.detach().requires_grad_(), sd_leaf = sd.detach().requires_grad_();
      auto logits = m->discriminator->forward((z - mean_leaf) / sd_leaf);
      auto part = (logits.select(1, 0) - logits.select(1, 1)).sum() / rows;
      auto g = torch::autograd::grad({part}, {mean_leaf, sd_leaf}, {}, /*retain_graph=*/true);
      auto summed = shard->sum_over_ranks(torch::cat({g[0], g[1], part.detach().view({1})}));
      const int64_t d = z.size(1);
      t.tc = summed[2 * d];
      // Its gradient: this rank's rows directly, plus every rank's rows through the statistics.
      tc_grad = part + (summed.slice(0, 0, d) * mean).sum() + (summed.slice(0, d, 2 * d) * sd).sum();
    }
    for (auto& p : m->discriminator->parameters()) p.set_requires_grad(true);
  } else {
    t.tc = torch::zeros({});
  }
  t.total = t.recon + (c.kl_weight * warmup) * t.kl + (c.gamma * warmup) * t.tc + c.eta * t.prec_reg;
  t.objective = shard ? t.recon + (c.kl_weight * warmup) * t.kl +
                            (c.gamma * warmup * shard->world_size) * (tc_grad.defined() ? tc_grad : t.tc) +
                            c.eta * t.prec_reg
                      : t.total;
  return t;
}

}  // namespace oiad::model

#include "oiad/train/trainer.h"

#include <chrono>
#include <cstdio>
#include <sstream>

#include "oiad/core/error.h"
#include "oiad/core/progress.h"
#include "oiad/core/random.h"
#include "oiad/dist/group.h"
#include "oiad/model/model_io.h"

namespace oiad::train {

nlohmann::json EpochRecord::to_json() const {
  return {{"epoch", epoch},       {"iterations", iterations}, {"recon", recon},     {"kl", kl},
          {"tc", tc},             {"prec_reg", prec_reg},     {"disc_loss", disc_loss}, {"total", total},
          {"active_codes", active_codes}, {"seconds", seconds}, {"images_per_s", images_per_s},
          {"allreduce_seconds", allreduce_seconds}, {"allreduce_bytes", allreduce_bytes}};
}

EpochRecord EpochRecord::from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch");
  r.iterations = j.at("iterations");
  r.recon = j.at("recon");
  r.kl = j.at("kl");
  r.tc = j.at("tc");
  r.prec_reg = j.at("prec_reg");
  r.disc_loss = j.at("disc_loss");
  r.total = j.at("total");
  r.active_codes = j.at("active_codes");
  r.seconds = j.at("seconds");
  r.images_per_s = j.at("images_per_s");
  r.allreduce_seconds = j.value("allreduce_seconds", 0.0);  // both absent in files written before 2026-11-30
  r.allreduce_bytes = j.value("allreduce_bytes", int64_t(0));
  return r;
}

namespace {

using Clock = std::chrono::steady_clock;

// The gradients of an optimiser's parameters (zeros where a parameter got none, so that every
// rank all-reduces the same list).
std::vector<torch::Tensor> grads_of(torch::optim::Optimizer& opt) {
  std::vector<torch::Tensor> g;
  for (auto& group : opt.param_groups())
    for (auto& p : group.params()) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      g.push_back(p.grad());
    }
  return g;
}

}  // namespace

// One function of about 160 lines on purpose: the order of its random draws, optimiser steps
// and collectives is what makes a resumed run give an uninterrupted one's weights and a
// data-parallel run follow one process (both tested); in pieces, that order and the state
// it needs (optimisers, shard, generator) would be spread over their interfaces.
void train_model(model::DetectorVae& net, const torch::Tensor& images, const TrainOptions& o, TrainState& state,
                 const EpochCallback& on_epoch) {
  OIAD_CHECK(images.dim() == 4 && images.size(1) == net->config.channels &&
                 images.size(2) == net->config.input_size && images.size(3) == net->config.input_size,
             "train: images of shape ", images.sizes(), " do not fit the model (", net->config.channels, "x",
             net->config.input_size, "x", net->config.input_size, ")");
  const int64_t n = images.size(0);
  OIAD_CHECK(n >= 2, "train: need at least 2 training images, got ", n);
  OIAD_CHECK(o.batch_size >= 2, "train: batch size must be at least 2");
  const int64_t bs = std::min<int64_t>(o.batch_size, n);
  const int64_t iters = n / bs;  // drop the last partial batch: permute_dims needs full batches
  dist::Group* group = o.group && o.group->size() > 1 ? o.group : nullptr;
  const int world = group ? group->size() : 1, rank = group ? group->rank() : 0;
  OIAD_CHECK_USAGE(bs % world == 0, "train: the batch of ", bs, " images does not split evenly over ", world,
                   " ranks (choose --batch-size as a multiple of the world size)");
  const int64_t per = bs / world, first = int64_t(rank) * per;  // this rank's rows of every batch
  if (group) {
    // Every rank starts from rank 0's weights (the same seed gives the same ones; this makes
    // sure), and every rank resumes from the same epoch.
    group->broadcast(net->parameters(), 0);
    for (const auto& e : group->all_gather({double(state.epochs_done)}))
      OIAD_CHECK(int(e[0]) == state.epochs_done, "train: rank ", rank, " resumes after epoch ", state.epochs_done,
                 ", another rank after epoch ", int(e[0]), " (every rank needs the same checkpoint)");
  }
  model::BatchShard shard;
  shard.world_size = world;
  if (group) {
    shard.whole_batch = [&](const torch::Tensor& mine) {
      // The whole batch's codes: the other ranks' as constants, this rank's rows with their graph.
      auto all = group->all_gather_rows(mine.detach());
      return torch::cat({all.slice(0, 0, first), mine, all.slice(0, first + per)}, 0);
    };
    shard.sum_over_ranks = [&](const torch::Tensor& v) {
      auto s = v.detach().clone();
      group->all_reduce_sum({s});
      return s;
    };
  }

  torch::optim::Adam opt_vae(net->vae_parameters(), torch::optim::AdamOptions(o.lr));
  std::unique_ptr<torch::optim::Adam> opt_disc;
  if (net->has_discriminator())
    opt_disc = std::make_unique<torch::optim::Adam>(
        net->discriminator->parameters(),
        torch::optim::AdamOptions(o.disc_lr).betas({o.disc_beta1, o.disc_beta2}));
  if (!state.optim_vae.empty()) model::archive_from_blob(opt_vae, state.optim_vae);
  if (opt_disc && !state.optim_disc.empty()) model::archive_from_blob(*opt_disc, state.optim_disc);

  ProgressPrinter progress("train", o.log_seconds, {}, o.verbose);
  const int64_t total_iters = iters * (o.epochs - state.epochs_done);
  int64_t done_iters = 0;
  net->train();
  for (int epoch = state.epochs_done + 1; epoch <= o.epochs; ++epoch) {
    // Reseed per epoch so a resumed run repeats exactly what an uninterrupted one does.
    const uint64_t epoch_seed = o.seed * 0x9E3779B97F4A7C15ULL + uint64_t(epoch);
    torch::manual_seed(epoch_seed);
    Rng rng(epoch_seed);
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    shuffle_in_place(order, rng);
    auto order_t = torch::from_blob(order.data(), {n}, torch::kLong).clone();
    const double warmup =
        o.kl_warmup_epochs > 0 ? std::min(1.0, double(epoch - 1) / double(o.kl_warmup_epochs)) : 1.0;

    EpochRecord rec;
    rec.epoch = epoch;
    const auto t0 = Clock::now();
    const int64_t d = net->config.latent_dim;
    const dist::Group::Traffic traffic0 = group ? group->traffic() : dist::Group::Traffic{};
    for (int64_t it = 0; it < iters; ++it) {
      const int64_t b0 = it * bs + (group ? first : 0), b1 = group ? b0 + per : b0 + bs;
      auto x = images.index_select(0, order_t.slice(0, b0, b1));
      model::LossTerms t;
      if (group) {
        if (net->stochastic()) shard.noise = torch::randn({bs, d}).slice(0, first, first + per);
        t = model::vae_losses(net, x, warmup, &shard);
      } else {
        t = model::vae_losses(net, x, warmup);
      }
      opt_vae.zero_grad();
      t.objective.backward();
      if (group) group->all_reduce_mean(grads_of(opt_vae));
      opt_vae.step();
      double disc = 0;
      if (opt_disc) {
        // A second, independent batch supplies the samples of the product of marginals.
        auto idx2 = torch::randint(n, {bs}, torch::kLong);
        torch::Tensor z2;
        {
          torch::NoGradGuard ng;
          auto rows2 = group ? idx2.slice(0, first, first + per) : idx2;
          auto [mu2, logvar2] = net->encoder->forward(images.index_select(0, rows2));
          auto eps = group ? torch::randn({bs, d}).slice(0, first, first + per) : torch::randn_like(mu2);
          z2 = mu2 + eps * torch::exp(0.5 * logvar2);
          if (group) z2 = group->all_gather_rows(z2);
        }
        auto dl = group ? model::discriminator_loss(net->discriminator, t.z.detach(), model::permute_dims(z2),
                                                    {first, first + per})
                        : model::discriminator_loss(net->discriminator, t.z.detach(), model::permute_dims(z2));
        opt_disc->zero_grad();
        dl.backward();
        if (group) group->all_reduce_mean(grads_of(*opt_disc));
        opt_disc->step();
        disc = dl.item<double>();
      }
      rec.iterations++;
      rec.recon += t.recon.item<double>();
      rec.kl += t.kl.item<double>();
      rec.tc += t.tc.item<double>();
      rec.prec_reg += t.prec_reg.item<double>();
      rec.disc_loss += disc;
      rec.total += t.total.item<double>();
      ++done_iters;
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      const double r = double(rec.iterations);
      char line[200];
      std::snprintf(line, sizeof(line), "epoch %d/%d it %lld/%lld  recon %.3f kl %.3f tc %.3f reg %.3f disc %.3f  %.0f img/s",
                    epoch, o.epochs, (long long)(it + 1), (long long)iters, rec.recon / r, rec.kl / r, rec.tc / r,
                    rec.prec_reg / r, rec.disc_loss / r, double((it + 1) * bs) / std::max(secs, 1e-9));
      progress.update(done_iters, total_iters, line);
    }
    if (group) {
      // The epoch's terms over the whole batches: recon, kl and the discriminator loss were
      // this rank's rows' (tc and prec_reg are the same on every rank).
      auto terms = torch::tensor({rec.recon, rec.kl, rec.disc_loss}, torch::kDouble);
      group->all_reduce_mean({terms});
      rec.recon = terms[0].item<double>();
      rec.kl = terms[1].item<double>();
      rec.disc_loss = terms[2].item<double>();
      const double w = net->config.kl_weight * warmup, g = net->config.gamma * warmup;
      rec.total = rec.recon + w * rec.kl + g * rec.tc + net->config.eta * rec.prec_reg;
    }
    const double k = double(std::max<int64_t>(1, rec.iterations));
    rec.recon /= k;
    rec.kl /= k;
    rec.tc /= k;
    rec.prec_reg /= k;
    rec.disc_loss /= k;
    rec.total /= k;
    rec.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    rec.images_per_s = double(rec.iterations * bs) / std::max(rec.seconds, 1e-9);
    if (group) {
      rec.allreduce_seconds = group->traffic().seconds - traffic0.seconds;
      rec.allreduce_bytes = group->traffic().bytes - traffic0.bytes;
    }
    {
      // Active codes from the end-of-epoch encoder (means accumulated during the epoch would
      // also count the drift of the weights).
      torch::NoGradGuard ng;
      auto mu = net->encoder->forward(images.slice(0, 0, std::min<int64_t>(n, 1024))).first;
      rec.active_codes = int((mu.var(0, /*unbiased=*/false) > 0.01).sum().item<int64_t>());
    }
    OIAD_CHECK(std::isfinite(rec.total), "train: loss became ", rec.total, " in epoch ", epoch,
               " (try a smaller learning rate)");
    state.history.push_back(rec);
    state.epochs_done = epoch;
    state.optim_vae = model::archive_to_blob(opt_vae);
    if (opt_disc) state.optim_disc = model::archive_to_blob(*opt_disc);
    if (on_epoch) on_epoch(state);
  }
  net->eval();
}

}  // namespace oiad::train

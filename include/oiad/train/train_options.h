// Options, per-epoch records and the resumable state of training (train/trainer.h): plain
// data, no LibTorch, so that option structs holding them (experiment::ExperimentOptions)
// compile without it.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oiad/core/option_spec.h"

namespace oiad::dist {
class Group;
}

namespace oiad::train {

struct TrainOptions {
  /// Passes over the training images.
  int epochs = 30;
  int batch_size = 64;
  /// Adam for encoder, decoder and precisions (betas 0.9, 0.999). FactorVAE uses 1e-4 over
  /// 300k iterations; our runs are a few thousand iterations, and on MNIST class 7 1e-3
  /// reached in 350 steps a reconstruction error that 1e-4 had not (22 vs 35).
  double lr = 1e-3;
  /// Adam for the TC discriminator (FactorVAE: 1e-4, betas 0.5, 0.9).
  double disc_lr = 1e-4;
  double disc_beta1 = 0.5;
  double disc_beta2 = 0.9;
  /// Epochs over which the KL and TC weights rise linearly from 0 to their values (0: off).
  /// Without it, γ = 40 collapsed the posterior on MNIST (KL < 2 nats after 6 epochs) before
  /// the decoder had learnt to use the codes.
  int kl_warmup_epochs = 5;
  /// Same seed + same data + same threads = same weights.
  uint64_t seed = 0;
  /// Seconds between plain progress lines when stderr is not a terminal.
  double log_seconds = 10.0;
  /// Print progress on stderr.
  bool verbose = true;
  /// Data-parallel training over this process group (nullptr: one process). Every rank
  /// holds all the images and the same seed; `batch_size` is the whole batch, split evenly
  /// over the ranks (it must be a multiple of the world size). Each step, every rank takes its
  /// rows of the batch of one process, draws the whole batch's random numbers and keeps its
  /// rows' (so the run follows one process's random stream), gathers the codes for the TC
  /// term and the discriminator's standardisation and permutation, and averages the VAE's
  /// and the discriminator's gradients over the ranks (one all-reduce each) before each
  /// optimiser step: the weights follow one process's training with the same batch, to
  /// floating-point rounding.
  dist::Group* group = nullptr;
};

/// Averages of each loss term over one epoch.
struct EpochRecord {
  int epoch = 0;
  int64_t iterations = 0;
  double recon = 0, kl = 0, tc = 0, prec_reg = 0, disc_loss = 0, total = 0;
  /// Codes whose encoder mean, at the end of the epoch, varies over (up to 1,024) training
  /// images with variance > 0.01: the codes still alive. Posterior collapse shows as few
  /// active codes and KL near 0.
  int active_codes = 0;
  double seconds = 0, images_per_s = 0;
  /// Data-parallel training: seconds this rank spent in all-reduces (waiting included) and the
  /// bytes it reduced, over the epoch (0 in one process).
  double allreduce_seconds = 0;
  int64_t allreduce_bytes = 0;
  nlohmann::json to_json() const;
  static EpochRecord from_json(const nlohmann::json& j);
};

/// What a checkpoint must carry to resume.
struct TrainState {
  int epochs_done = 0;
  std::vector<EpochRecord> history;
  std::string optim_vae;   ///< serialised optimiser state (empty before the first epoch)
  std::string optim_disc;
};

/// The declarations of TrainOptions' flags (core/option_spec.h); the defaults are the
/// struct's initialisers.
namespace spec {
inline constexpr NumberSpec kEpochs{"epochs", "passes over the training images", 1, 1e6};
inline constexpr NumberSpec kBatchSize{"batch-size",
                                       "images per step (distributed: the whole group's, split over the ranks)", 2,
                                       65536};
inline constexpr NumberSpec kLr{"lr", "Adam learning rate (encoder, decoder, precisions)", 0, 1, true, false};
inline constexpr NumberSpec kDiscLr{"disc-lr", "Adam learning rate of the TC discriminator", 0, 1, true, false};
inline constexpr NumberSpec kKlWarmup{"kl-warmup", "epochs over which the KL and TC weights rise from 0 (0: off)", 0,
                                      1e6, false, true, "kl_warmup_epochs"};
}  // namespace spec

/// UsageError "WHAT: PREFIX+NAME V outside RANGE" for the first option of `o` out of its
/// spec's range (prefix "--" for the CLI, "" for Python).
void check_options(const TrainOptions& o, const std::string& what, const std::string& prefix);

/// Called after every epoch with the state so far (to write a checkpoint).
using EpochCallback = std::function<void(const TrainState&)>;

}  // namespace oiad::train

// oiad train: trains a Detector-VAE (or a VAE / DCAE baseline) on the normal class.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_common.h"
#include "commands.h"
#include "oiad/core/error.h"
#include "oiad/core/runtime.h"
#include "oiad/data/split.h"
#include "oiad/dist/group.h"
#include "oiad/detect/pipeline.h"
#include "oiad/model/config.h"
#include "oiad/model/model_io.h"
#include "oiad/model/preprocess.h"
#include "oiad/workflow/train_job.h"

namespace oiad::cli {

namespace {

struct TrainCliOptions {
  std::string data, normal_class, protocol = "paper", kind = "detector", out, recon;
  std::vector<std::string> defects;
  std::string kind_alias;  // the deprecated spelling `--model KIND`
  bool kind_given = false;
  int64_t limit = 0;
  uint64_t seed = 0;
  int input_size = 32;
  std::optional<int> latent_dim;
  std::optional<double> gamma, eta, kl_weight;  // not given: the kind's defaults
  bool resume = false;
  bool calibrate = true;
  std::string preset = "default";
  DecisionFlags decision;  // stored with the calibration (the preset's unless given)
  train::TrainOptions train;
};

void run_train(TrainCliOptions o) {
  OIAD_CHECK_USAGE(!o.out.empty(), "train: --out FILE is required");
  check_out_is_not_an_input("train", o.out, {o.data});
  check_can_write("train", o.out);
  // Every numeric flag finite and in range before any work (NaN passes CLI11's range checks).
  if (o.latent_dim)
    OIAD_CHECK_USAGE(*o.latent_dim >= 1 && *o.latent_dim <= 1024, "train: --latent-dim ", *o.latent_dim,
                     " outside [1, 1024]");
  for (const auto& [flag, v] : {std::pair<const char*, std::optional<double>>{"--gamma", o.gamma},
                                {"--eta", o.eta}, {"--kl-weight", o.kl_weight}})
    if (v) OIAD_CHECK_USAGE(std::isfinite(*v) && *v >= 0 && *v <= 1e6, "train: ", flag, " ", *v, " outside [0, 1e6]");
  for (const auto& [flag, v] : {std::pair<const char*, double>{"--lr", o.train.lr}, {"--disc-lr", o.train.disc_lr}})
    OIAD_CHECK_USAGE(std::isfinite(v) && v > 0 && v <= 1, "train: ", flag, " ", v, " outside (0, 1]");
  if (!o.kind_alias.empty()) {
    OIAD_CHECK_USAGE(!o.kind_given || o.kind == o.kind_alias, "train: --model ", o.kind_alias, " and --kind ", o.kind,
                     " disagree (--model is the old name of --kind)");
    std::cerr << "oiad: train --model KIND is deprecated and will be removed; use --kind " << o.kind_alias << "\n";
    o.kind = o.kind_alias;
  }
  OIAD_CHECK_USAGE(o.train.batch_size % launch().world_size == 0, "train: --batch-size ", o.train.batch_size,
                   " does not split evenly over ", launch().world_size, " ranks (the batch is the whole group's)");
  SplitData sd = load_split_data(o.data, o.normal_class, o.protocol, o.seed, o.limit, o.defects);
  workflow::TrainJob job;
  job.split = sd.split;
  model::ModelConfig& cfg = job.config;
  cfg = model::ModelConfig::defaults(model::parse_kind(o.kind), sd.dataset.channels, o.input_size);
  if (o.latent_dim) cfg.latent_dim = *o.latent_dim;
  if (cfg.kind == model::ModelKind::kDetectorVae) cfg.gamma = o.gamma ? *o.gamma : detect::preset_gamma(o.preset);
  else if (o.gamma) cfg.gamma = *o.gamma;
  if (o.eta) cfg.eta = *o.eta;
  if (o.kl_weight) cfg.kl_weight = *o.kl_weight;
  if (!o.recon.empty()) cfg.reconstruction = model::parse_reconstruction(o.recon);
  cfg.validate();
  job.train = o.train;
  job.out = o.out;
  job.resume = o.resume;
  job.calibrate = o.calibrate;
  job.preset = o.preset;
  job.decision = apply_decision_flags(detect::preset_decision_for(o.preset, cfg.kind), o.decision, "train",
                                      /*both_levels=*/true);
  job.seed = o.seed;
  std::unique_ptr<dist::Group> group;
  if (launch().distributed()) {
    // Data-parallel training (train::TrainOptions::group); rank 0 prints and writes.
    group = std::make_unique<dist::Group>(launch());
    job.train.group = group.get();
    if (group->rank() != 0) job.train.verbose = false;
  }
  const workflow::TrainJobResult r = workflow::run_train_job(sd.dataset, job);
  if (group && group->rank() != 0) return;
  const auto& last = r.state.history.back();
  print_json_line(nlohmann::json{{"model", o.out},
                                 {"kind", model::kind_name(cfg.kind)},
                                 {"epochs", r.state.epochs_done},
                                 {"train_seconds", r.train_seconds},
                                 {"images_per_s", last.images_per_s},
                                 {"final", last.to_json()},
                                 {"calibration", r.calibration}}
                      .dump());
}

}  // namespace

void add_train_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<TrainCliOptions>();
  CLI::App* c = app.add_subcommand("train", "train a Detector-VAE (or a VAE / DCAE baseline) on the normal class");
  c->add_option("--data", o->data, "mnist, fashion-mnist, cifar10, or a path")->required();
  c->add_option("--normal-class", o->normal_class, "normal class: index or name")->required();
  c->add_option("--protocol", o->protocol, "paper, standard or defects")
      ->check(CLI::IsMember(data::protocol_names()))
      ->capture_default_str();
  add_defects_option(c, o->defects);
  auto* kind = c->add_option("--kind", o->kind, "what to train: detector (the Detector-VAE), vae or dcae (baselines)")
                   ->check(CLI::IsMember(model::kind_names()))
                   ->capture_default_str();
  // Every other command's --model is a model file; here it used to be the kind.
  c->add_option("--model", o->kind_alias, "deprecated: the old name of --kind")
      ->check(CLI::IsMember(model::kind_names()))
      ->group("");
  c->add_option("--epochs", o->train.epochs, "passes over the training images")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  c->add_option("--batch-size", o->train.batch_size,
                "images per step (distributed: the whole group's, split over the ranks)")
      ->check(CLI::Range(2, 1 << 16))
      ->capture_default_str();
  c->add_option("--lr", o->train.lr, "Adam learning rate (encoder, decoder, precisions)")->capture_default_str();
  c->add_option("--disc-lr", o->train.disc_lr, "Adam learning rate of the TC discriminator")->capture_default_str();
  c->add_option("--kl-warmup", o->train.kl_warmup_epochs, "epochs over which the KL and TC weights rise from 0 (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  c->add_option("--limit", o->limit, "cap the images of each part of the split (0: no cap)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--seed", o->seed, "seed for the split, the weights and the batches")->capture_default_str();
  c->add_option("--input-size", o->input_size, "network input side: 32 (28x28 padded) or 64 (Table I, resized)")
      ->check(CLI::IsMember(model::input_sizes()))
      ->capture_default_str();
  c->add_option("--latent-dim", o->latent_dim, "latent codes (default 20; 40 for colour images)");
  c->add_option("--gamma", o->gamma, "TC weight γ (detector: the preset's, 5 default, 40 paper)");
  c->add_option("--eta", o->eta, "precision regulariser weight η (default 0.1)");
  c->add_option("--kl-weight", o->kl_weight, "KL weight, the paper's λ_kd (default 0.1 for detector, 1 for vae)");
  c->add_option("--recon", o->recon, "reconstruction loss: l2 (paper) or bernoulli")
      ->check(CLI::IsMember(model::reconstruction_names()));
  c->add_flag("--resume", o->resume, "continue from FILE.ckpt written by an interrupted run");
  c->add_option("--preset", o->preset,
                "detector preset: default (γ = 5; N = 5 quasi-placed; one-sided rule at F = 0.05) or paper "
                "(γ = 40; N = 100; the paper's rule at α = 0.4)")
      ->check(CLI::IsMember(detect::preset_names()))
      ->capture_default_str();
  add_decision_flags(c, o->decision, "the default decision stored with the calibration (default: the preset's)");
  c->add_flag("!--no-calibrate", o->calibrate, "skip calibration on VAL after training");
  c->add_option("--out", o->out, "model file to write")->required();
  c->callback([&run, o, kind] {
    run = [o, kind] {
      TrainCliOptions opts = *o;
      opts.kind_given = kind->count() > 0;
      run_train(opts);
      return 0;
    };
  });
}

}  // namespace oiad::cli

// oiad train: trains a Detector-VAE (or a VAE / DCAE baseline, or the recseg peer) on the
// normal class.
#include <unistd.h>

#include <algorithm>
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
#include "oiad/data/readers.h"
#include "oiad/data/registry.h"
#include "oiad/data/split.h"
#include "oiad/dist/group.h"
#include "oiad/detect/pipeline.h"
#include "oiad/model/config.h"
#include "oiad/model/model_io.h"
#include "oiad/model/preprocess.h"
#include "oiad/peers/recseg.h"
#include "oiad/workflow/train_job.h"

namespace oiad::cli {

namespace {

struct TrainCliOptions {
  std::string data, normal_class, protocol = data::protocol_name(data::Protocol::kPaper), out, recon;
  std::string kind = model::kind_name(model::ModelKind::kDetectorVae);
  std::vector<std::string> defects;
  std::string kind_alias;  // the deprecated spelling `--model KIND`
  bool kind_given = false;
  int64_t limit = 0;
  uint64_t seed = 0;
  int input_size = model::kDefaultInputSize;
  bool input_size_given = false;
  TileFlags tile;
  std::string metric;  // the tiles' metric (tiled detectors)
  std::optional<int> latent_dim;
  std::optional<double> gamma, eta, kl_weight;  // not given: the kind's defaults
  bool resume = false;
  bool calibrate = true;
  std::string preset = detect::preset_name(detect::Preset::kDefault);
  DecisionFlags decision;  // stored with the calibration (the preset's unless given)
  train::TrainOptions train;
  // --kind recseg: its settings and anomaly sources (cli_common.h, add_recseg_options)
  peers::RecSegOptions recseg;
  std::vector<int> recseg_widths;
  std::string anomaly_source = "openarena";
  int64_t anomaly_sources = 2000;
  std::vector<std::string> given;  // the flags given on the command line
};

// At most `limit` anomaly-source images (seeded choice) at side x side and `channels`:
// procedural ones, or read from the texture set / folder / archive `source`.
peers::AnomalySources read_anomaly_sources(const std::string& source, int side, int channels, int64_t limit,
                                           uint64_t seed) {
  if (source == "procedural")
    return peers::procedural_sources(channels, side, int(std::min<int64_t>(limit, 100000)), seed);
  return peers::sources_from_pixels(
      data::read_image_collection(data::texture_set_path(source), side, channels, limit, seed), channels, side, source);
}

bool given(const TrainCliOptions& o, const std::string& flag) {
  return std::find(o.given.begin(), o.given.end(), flag) != o.given.end();
}

// Flags of one family of kinds given for another are refused, not ignored.
void check_kind_flags(const TrainCliOptions& o, model::ModelKind kind) {
  static const std::vector<std::string> kNetwork = {"--latent-dim", "--gamma", "--eta",        "--kl-weight",
                                                    "--recon",      "--epochs", "--batch-size", "--lr",
                                                    "--disc-lr",    "--kl-warmup",  "--resume"};
  static const std::vector<std::string> kRecSeg = {"--recseg-widths", "--recseg-steps", "--recseg-filter",
                                                   "--anomaly-source", "--recseg-sources"};
  const bool recseg = kind == model::ModelKind::kRecSeg;
  for (const std::string& f : recseg ? kNetwork : kRecSeg)
    OIAD_CHECK_USAGE(!given(o, f), "train: ", f, " does not apply to --kind ", model::kind_name(kind),
                     recseg ? " (recseg trains --recseg-steps steps; its flags are --recseg-*, --anomaly-source)"
                            : " (it is a flag of --kind recseg)");
}

void run_train(TrainCliOptions o) {
  OIAD_CHECK_USAGE(!o.out.empty(), "train: --out FILE is required");
  check_out_is_not_an_input("train", o.out, {o.data});
  check_can_write("train", o.out);
  // Every numeric flag finite and in range before any work (NaN passes CLI11's range checks).
  check_number(model::spec::kLatentDim, o.latent_dim, "train");
  check_number(model::spec::kGamma, o.gamma, "train");
  check_number(model::spec::kEta, o.eta, "train");
  check_number(model::spec::kKlWeight, o.kl_weight, "train");
  train::check_options(o.train, "train", "--");
  const detect::Preset preset = detect::parse_preset(o.preset);
  if (!o.kind_alias.empty()) {
    OIAD_CHECK_USAGE(!o.kind_given || o.kind == o.kind_alias, "train: --model ", o.kind_alias, " and --kind ", o.kind,
                     " disagree (--model is the old name of --kind)");
    std::cerr << "oiad: train --model KIND is deprecated and will be removed; use --kind " << o.kind_alias << "\n";
    o.kind = o.kind_alias;
  }
  OIAD_CHECK_USAGE(o.train.batch_size % launch().world_size == 0, "train: --batch-size ", o.train.batch_size,
                   " does not split evenly over ", launch().world_size, " ranks (the batch is the whole group's)");
  o.tile.resolve(o.input_size, o.input_size_given, "train");
  OIAD_CHECK_USAGE(o.metric.empty() || o.tile.side > 0, "train: --metric chooses the tiles' score (with --tile)");
  const model::ModelKind kind = model::parse_kind(o.kind);
  check_kind_flags(o, kind);
  if (kind == model::ModelKind::kRecSeg) {
    apply_recseg_widths(o.recseg, o.recseg_widths);
    peers::check_recseg_options(o.recseg, o.anomaly_source, o.anomaly_sources, "train");
    check_anomaly_source(o.anomaly_source, "train");
    OIAD_CHECK_USAGE(!launch().distributed(), "train: a recseg model trains on one process");
  }
  SplitData sd = load_split_data(o.data, o.normal_class, o.protocol, o.seed, o.limit, o.defects);
  workflow::TrainJob job;
  job.split = sd.split;
  model::ModelConfig& cfg = job.config;
  cfg = model::ModelConfig::defaults(kind, sd.dataset.channels, o.input_size);
  if (o.latent_dim) cfg.latent_dim = *o.latent_dim;
  if (cfg.kind == model::ModelKind::kDetectorVae) cfg.gamma = o.gamma ? *o.gamma : detect::preset_gamma(preset);
  else if (o.gamma) cfg.gamma = *o.gamma;
  if (o.eta) cfg.eta = *o.eta;
  if (o.kl_weight) cfg.kl_weight = *o.kl_weight;
  if (!o.recon.empty()) cfg.reconstruction = model::parse_reconstruction(o.recon);
  cfg.validate();
  job.train = o.train;
  job.out = o.out;
  job.resume = o.resume;
  job.calibrate = o.calibrate;
  job.preset = preset;
  job.decision = apply_decision_flags(detect::preset_decision_for(preset, cfg.kind), o.decision, "train",
                                      /*both_levels=*/true);
  job.seed = o.seed;
  job.tiled = o.tile.side > 0;
  job.tile_stride = o.tile.stride;
  job.tiles = o.tile.tiles;
  if (!o.metric.empty()) job.tile_metric = detect::parse_metric(o.metric);
  OIAD_CHECK_USAGE(!job.tiled || !launch().distributed(), "train: --tile runs on one process");
  OIAD_CHECK_USAGE(!job.tiled || job.calibrate, "train: a tiled model is calibrated when it is trained (--tile with ",
                   "--no-calibrate)");
  std::unique_ptr<dist::Group> group;
  if (launch().distributed()) {
    // Data-parallel training (train::TrainOptions::group); rank 0 prints and writes.
    group = std::make_unique<dist::Group>(launch());
    job.train.group = group.get();
    if (group->rank() != 0) job.train.verbose = false;
  }
  if (kind == model::ModelKind::kRecSeg) {
    job.recseg = o.recseg;
    job.anomaly_sources = read_anomaly_sources(o.anomaly_source, cfg.input_size, cfg.channels, o.anomaly_sources, o.seed);
    const workflow::TrainJobResult r = workflow::run_train_job(sd.dataset, job);
    print_json_line(nlohmann::json{{"model", o.out},
                                   {"kind", model::kind_name(cfg.kind)},
                                   {"steps", o.recseg.steps},
                                   {"train_seconds", r.train_seconds},
                                   {"final_loss", r.recseg.loss.empty() ? nlohmann::json(nullptr)
                                                                        : nlohmann::json(r.recseg.loss.back())},
                                   {"anomaly_sources", {{"name", job.anomaly_sources.name},
                                                        {"images", job.anomaly_sources.images.size(0)}}},
                                   {"calibration", r.calibration}}
                        .dump());
    return;
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
  CLI::App* c = app.add_subcommand(
      "train", "train a Detector-VAE (or a VAE / DCAE baseline, or the DRAEM-type recseg peer) on the normal class");
  allow_distributed(c);
  add_data_option(c, o->data, "the data set")->required();
  add_split_options(c, o->normal_class, o->protocol, o->defects);
  auto* kind = add_choice(c, "--kind", o->kind, model::kind_names(),
                          "what to train: detector (the Detector-VAE), a baseline (vae, dcae), or recseg (the "
                          "DRAEM-type peer, scored by its segmentation map; --recseg-* and --anomaly-source set it)");
  // Every other command's --model is a model file; here it used to be the kind.
  c->add_option("--model", o->kind_alias, "deprecated: the old name of --kind")
      ->check(CLI::IsMember(model::kind_names()))
      ->group("");
  add_train_options(c, o->train);
  add_split_limit(c, o->limit);
  add_seed_option(c, o->seed, "the split, the weights and the batches");
  auto* input_size = add_input_size_option(c, o->input_size);
  add_tile_options(c, o->tile);
  add_choice(c, "--metric", o->metric, detect::metric_names(),
             "with --tile: the metric the tiles of a detector are scored by (default " +
                 detect::metric_name(detect::kDefaultMetric) + ")");
  // The defaults shown are the library's (ModelConfig::defaults, the presets').
  const auto n = [](double v) { return NumberSpec::default_text(v); };
  const model::ModelConfig grey = model::ModelConfig::defaults(model::ModelKind::kDetectorVae, 1, o->input_size);
  const model::ModelConfig colour = model::ModelConfig::defaults(model::ModelKind::kDetectorVae, 3, o->input_size);
  const model::ModelConfig vae = model::ModelConfig::defaults(model::ModelKind::kVae, 1, o->input_size);
  add_number(c, model::spec::kLatentDim, o->latent_dim,
             "default " + n(grey.latent_dim) + "; " + n(colour.latent_dim) + " for colour images");
  add_number(c, model::spec::kGamma, o->gamma, preset_gamma_help());
  add_number(c, model::spec::kEta, o->eta, "default " + n(grey.eta));
  add_number(c, model::spec::kKlWeight, o->kl_weight,
             "default " + n(grey.kl_weight) + " for detector, " + n(vae.kl_weight) + " for vae");
  add_choice(c, "--recon", o->recon, model::reconstruction_names(),
             "reconstruction loss (default: " + model::reconstruction_name(model::ModelConfig{}.reconstruction) +
                 ", the paper's)");
  c->add_flag("--resume", o->resume, "continue from FILE.ckpt written by an interrupted run");
  add_recseg_options(c, o->recseg, o->recseg_widths, o->anomaly_source, o->anomaly_sources);
  add_preset_option(c, o->preset, "detector preset: " + presets_help());
  add_decision_flags(c, o->decision, "the default decision stored with the calibration (default: the preset's)");
  c->add_flag("!--no-calibrate", o->calibrate, "skip calibration on VAL after training");
  c->add_option("--out", o->out, "model file to write")->required();
  c->callback([&run, o, kind, input_size, c] {
    run = [o, kind, input_size, c] {
      TrainCliOptions opts = *o;
      opts.kind_given = kind->count() > 0;
      opts.input_size_given = input_size->count() > 0;
      for (const CLI::Option* op : c->get_options())
        if (op->count() > 0) opts.given.push_back(op->get_name());
      run_train(opts);
      return 0;
    };
  });
}

}  // namespace oiad::cli

// oiad train: trains a Detector-VAE (or a VAE / DCAE baseline) on the normal class.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "oiad/core/error.h"
#include "oiad/core/runtime.h"
#include "oiad/detect/pipeline.h"
#include "oiad/model/model_io.h"
#include "oiad/model/preprocess.h"
#include "oiad/train/trainer.h"

namespace oiad::cli {

namespace {

struct TrainCliOptions {
  std::string data, normal_class, protocol = "paper", kind = "detector", out, recon;
  int64_t limit = 0;
  uint64_t seed = 0;
  int input_size = 32;
  int latent_dim = 0;
  double gamma = -1, eta = -1, kl_weight = -1;
  bool resume = false;
  bool calibrate = true;
  std::string preset = "default";
  double alpha = 0.4;
  train::TrainOptions train;
};

void run_train(const TrainCliOptions& o) {
  OIAD_CHECK_USAGE(!o.out.empty(), "train: --out FILE is required");
  SplitData sd = load_split_data(o.data, o.normal_class, o.protocol, o.seed, o.limit);
  const data::Dataset& ds = sd.dataset;
  model::ModelConfig cfg = model::ModelConfig::defaults(model::parse_kind(o.kind), ds.channels, o.input_size);
  if (o.latent_dim > 0) cfg.latent_dim = o.latent_dim;
  if (o.gamma >= 0) cfg.gamma = o.gamma;
  if (o.eta >= 0) cfg.eta = o.eta;
  if (o.kl_weight >= 0) cfg.kl_weight = o.kl_weight;
  if (!o.recon.empty()) cfg.reconstruction = model::parse_reconstruction(o.recon);
  cfg.validate();

  const std::vector<uint8_t> px = data::gather_pixels(ds, sd.split.train);
  const torch::Tensor images = model::images_to_input(px.data(), int64_t(sd.split.train.size()), ds.channels,
                                                      ds.height, ds.width, cfg.input_size);
  const std::string ckpt = o.out + ".ckpt";
  model::DetectorVae net(cfg);
  model::ModelFile file;
  train::TrainState state;
  if (o.resume) {
    OIAD_CHECK(std::filesystem::exists(ckpt), "train: --resume: no checkpoint ", ckpt);
    model::LoadedModel lm = model::load_model(ckpt);
    OIAD_CHECK(lm.file.meta.value("split", nlohmann::json()) == nlohmann::json::parse(sd.split.to_json()),
               ckpt, ": checkpoint was trained on another split (data, class, protocol, seed or limit differ)");
    OIAD_CHECK(lm.net->config.to_json() == cfg.to_json(), ckpt, ": checkpoint has another model config");
    net = lm.net;
    net->train();
    file = lm.file;
    state.epochs_done = file.meta.at("training").at("epochs_done");
    for (const auto& r : file.meta.at("training").at("history")) state.history.push_back(train::EpochRecord::from_json(r));
    state.optim_vae = file.blobs["optim_vae"];
    state.optim_disc = file.blobs["optim_disc"];
    std::cerr << "train: resuming " << ckpt << " after epoch " << state.epochs_done << "\n";
  } else {
    torch::manual_seed(o.seed);  // weight initialisation
    net = model::DetectorVae(cfg);
  }
  file.meta["dataset"] = ds.name;
  file.meta["data_source"] = ds.source;
  file.meta["normal_class"] = sd.split.normal_class;
  file.meta["normal_class_name"] = sd.split.normal_class_name;
  file.meta["class_names"] = ds.class_names;
  file.meta["protocol"] = sd.split.protocol;
  file.meta["seed"] = o.seed;
  file.meta["preprocessing"] = {{"scale", "x / 255"},
                                {"image_channels", ds.channels},
                                {"image_height", ds.height},
                                {"image_width", ds.width},
                                {"input_size", cfg.input_size},
                                {"resize", model::resize_method(ds.height, ds.width, cfg.input_size)}};
  file.meta["split"] = nlohmann::json::parse(sd.split.to_json());
  const auto& t = o.train;
  auto training_json = [&](const train::TrainState& s) {
    nlohmann::json h = nlohmann::json::array();
    for (const auto& r : s.history) h.push_back(r.to_json());
    return nlohmann::json{{"epochs", t.epochs},         {"epochs_done", s.epochs_done}, {"batch_size", t.batch_size},
                          {"lr", t.lr},                 {"disc_lr", t.disc_lr},         {"disc_betas", {t.disc_beta1, t.disc_beta2}},
                          {"kl_warmup_epochs", t.kl_warmup_epochs}, {"seed", t.seed},   {"threads", num_threads()},
                          {"n_train", images.size(0)},  {"history", h}};
  };
  if (t.verbose)
    std::cerr << "train: " << model::kind_name(cfg.kind) << " on " << ds.name << " class " << sd.split.normal_class_name
              << ": " << images.size(0) << " images " << cfg.channels << "x" << cfg.input_size << "x"
              << cfg.input_size << ", " << cfg.latent_dim << " codes, " << t.epochs << " epochs, " << num_threads()
              << " threads\n";
  train::train_model(net, images, t, state, [&](const train::TrainState& s) {
    model::ModelFile ck = file;
    ck.meta["training"] = training_json(s);
    ck.blobs["optim_vae"] = s.optim_vae;
    ck.blobs["optim_disc"] = s.optim_disc;
    model::save_model(ckpt, net, ck);
  });
  file.meta["training"] = training_json(state);
  file.blobs.erase("optim_vae");
  file.blobs.erase("optim_disc");
  nlohmann::json calibration;
  if (o.calibrate) {
    // Calibrate on the split's VAL part (Sec. III.D.1) and keep it in the same file.
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<uint8_t> vpx = data::gather_pixels(ds, sd.split.val);
    auto val = model::images_to_input(vpx.data(), int64_t(sd.split.val.size()), ds.channels, ds.height, ds.width,
                                      cfg.input_size);
    model::LoadedModel lm{net, file};
    detect::DetectorOptions dopt = detect::preset_options(o.preset);
    dopt.seed = o.seed;
    if (t.verbose) std::cerr << "train: calibrating on " << val.size(0) << " VAL images (preset " << o.preset << ")\n";
    detect::calibrate_into(lm, dopt, val, o.alpha);
    file = lm.file;
    calibration = {{"preset", o.preset}, {"alpha", o.alpha}, {"n_val", val.size(0)},
                   {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
  }
  model::save_model(o.out, net, file);
  std::filesystem::remove(ckpt);
  const auto& last = state.history.back();
  double secs = 0;
  for (const auto& r : state.history) secs += r.seconds;
  print_json_line(nlohmann::json{{"model", o.out},
                                 {"kind", model::kind_name(cfg.kind)},
                                 {"epochs", state.epochs_done},
                                 {"train_seconds", secs},
                                 {"images_per_s", last.images_per_s},
                                 {"final", last.to_json()},
                                 {"calibration", calibration}}
                      .dump());
}

}  // namespace

void add_train_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<TrainCliOptions>();
  const train::TrainOptions defaults;
  CLI::App* c = app.add_subcommand("train", "train a Detector-VAE (or a VAE / DCAE baseline) on the normal class");
  c->add_option("--data", o->data, "mnist, fashion-mnist, cifar10, or a path")->required();
  c->add_option("--normal-class", o->normal_class, "normal class: index or name")->required();
  c->add_option("--protocol", o->protocol, "paper or standard")
      ->check(CLI::IsMember({"paper", "standard"}))
      ->capture_default_str();
  c->add_option("--model", o->kind, "detector, vae or dcae")
      ->check(CLI::IsMember({"detector", "vae", "dcae"}))
      ->capture_default_str();
  c->add_option("--epochs", o->train.epochs, "passes over the training images")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--batch-size", o->train.batch_size, "images per step")
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
      ->check(CLI::IsMember({32, 64}))
      ->capture_default_str();
  c->add_option("--latent-dim", o->latent_dim, "latent codes (default 20; 40 for colour images)");
  c->add_option("--gamma", o->gamma, "TC weight γ (default 40 for detector)");
  c->add_option("--eta", o->eta, "precision regulariser weight η (default 0.1)");
  c->add_option("--kl-weight", o->kl_weight, "KL weight, the paper's λ_kd (default 0.1 for detector, 1 for vae)");
  c->add_option("--recon", o->recon, "reconstruction loss: l2 (paper) or bernoulli")
      ->check(CLI::IsMember({"l2", "bernoulli"}));
  c->add_flag("--resume", o->resume, "continue from FILE.ckpt written by an interrupted run");
  c->add_option("--preset", o->preset, "detector preset used to calibrate: default or paper")
      ->check(CLI::IsMember({"paper", "default"}))
      ->capture_default_str();
  c->add_option("--alpha", o->alpha, "default α stored with the calibration")->capture_default_str();
  c->add_flag("!--no-calibrate", o->calibrate, "skip calibration on VAL after training");
  c->add_option("--out", o->out, "model file to write")->required();
  o->train.seed = 0;
  c->callback([&run, o] {
    run = [o] {
      TrainCliOptions opts = *o;
      opts.train.seed = opts.seed;
      run_train(opts);
    };
  });
  (void)defaults;
}

}  // namespace oiad::cli

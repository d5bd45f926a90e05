#include "oiad/workflow/train_job.h"

#include <chrono>
#include <filesystem>
#include <iostream>

#include "oiad/core/error.h"
#include "oiad/core/progress.h"
#include "oiad/core/runtime.h"
#include "oiad/data/resize.h"
#include "oiad/data/tiles.h"
#include "oiad/detect/pipeline.h"
#include "oiad/detect/tiling.h"
#include "oiad/dist/group.h"
#include "oiad/model/preprocess.h"

namespace oiad::workflow {

namespace {

// The network and the state to train from: the checkpoint's (resume), else new weights from
// the job's seed.
model::DetectorVae start_network(const TrainJob& job, const std::string& ckpt, model::ModelFile& file,
                                 TrainState& state, bool verbose) {
  if (!job.resume) {
    torch::manual_seed(job.seed);  // weight initialisation
    return model::DetectorVae(job.config);
  }
  OIAD_CHECK(std::filesystem::exists(ckpt), "train: --resume: no checkpoint ", ckpt);
  model::LoadedModel lm = model::load_model(ckpt);
  OIAD_CHECK(lm.file.meta.value("split", nlohmann::json()) == nlohmann::json::parse(job.split.to_json()), ckpt,
             ": checkpoint was trained on another split (data, class, protocol, seed or limit differ)");
  OIAD_CHECK(lm.net->config.to_json() == job.config.to_json(), ckpt, ": checkpoint has another model config");
  lm.net->train();
  file = lm.file;
  state.epochs_done = file.meta.at("training").at("epochs_done");
  for (const auto& e : file.meta.at("training").at("history")) state.history.push_back(train::EpochRecord::from_json(e));
  state.optim_vae = file.blobs["optim_vae"];
  state.optim_disc = file.blobs["optim_disc"];
  if (verbose) std::cerr << "train: resuming " << ckpt << " after epoch " << state.epochs_done << "\n";
  return lm.net;
}

// What the model file records of the data: the data set, class, protocol, seed, the
// preprocessing, the split and its fingerprint.
void record_data(model::ModelFile& file, const data::Dataset& ds, const TrainJob& job) {
  const data::OneClassSplit& split = job.split;
  file.meta["dataset"] = ds.name;
  file.meta["data_source"] = ds.source;
  file.meta["normal_class"] = split.normal_class;
  file.meta["normal_class_name"] = split.normal_class_name;
  file.meta["class_names"] = ds.class_names;
  file.meta["protocol"] = split.protocol;
  file.meta["seed"] = job.seed;
  if (job.tiled)
    file.meta["preprocessing"] = {{"scale", "x / 255"},
                                  {"image_channels", ds.channels},
                                  {"input_size", job.config.input_size},
                                  {"resize", "tiles"},
                                  {"tile_side", job.config.input_size},
                                  {"tile_stride", job.tile_stride}};
  else
    file.meta["preprocessing"] = {{"scale", "x / 255"},
                                  {"image_channels", ds.channels},
                                  {"image_height", ds.height},
                                  {"image_width", ds.width},
                                  {"input_size", job.config.input_size},
                                  {"resize", model::resize_method(ds.height, ds.width, job.config.input_size)}};
  file.meta["split"] = nlohmann::json::parse(split.to_json());
  file.meta["data_fingerprint"] = data::data_fingerprint(ds, split);
}

// Calibrates the trained network on the split's VAL part (Sec. III.D.1) into `file`; returns
// what TrainJobResult::calibration reports.
nlohmann::json calibrate_on_val(const data::Dataset& ds, const TrainJob& job, model::LoadedModel& lm,
                                dist::Group* group, bool verbose) {
  const auto t0 = std::chrono::steady_clock::now();
  torch::Tensor val;
  if (job.tiled) {  // VAL tiles for the tiles' calibration; the whole VAL images after it
    const data::Dataset tiles =
        data::random_tiles(ds, job.split.val, job.config.input_size, 16 * int64_t(job.split.val.size()), job.seed + 1);
    val = model::images_to_input(tiles.train.pixels.data(), tiles.train.count, tiles.channels, tiles.height,
                                 tiles.width, job.config.input_size);
  } else {
    const std::vector<uint8_t> vpx = data::gather_pixels(ds, job.split.val);
    val = model::images_to_input(vpx.data(), int64_t(job.split.val.size()), ds.channels, ds.height, ds.width,
                                 job.config.input_size);
  }
  detect::DetectorOptions dopt = detect::preset_options(job.preset);
  dopt.seed = job.seed;
  if (verbose)
    std::cerr << "train: calibrating on " << val.size(0) << " VAL images (preset " << detect::preset_name(job.preset)
              << ")\n";
  // Data-parallel: the VAL images are shared out over the ranks as well.
  detect::calibrate_into(lm, dopt, val, job.decision, nullptr,
                         group ? detect::sharded_consistency_pass(*group) : detect::Detector::ConsistencyPass{});
  if (job.tiled) {
    std::vector<data::ImageView> views;
    for (int64_t k : job.split.val.index) views.push_back(ds.image(job.split.val.source, k));
    if (verbose) std::cerr << "train: calibrating the image score on " << views.size() << " whole VAL images\n";
    detect::calibrate_tiling_into(lm, views, job.config.input_size, job.tile_stride, job.tile_metric);
  }
  return {{"preset", detect::preset_name(job.preset)},
          {"rule", detect::rule_name(job.decision.rule)},
          {"alpha", job.decision.alpha},
          {"fpr", job.decision.fpr},
          {"n_val", val.size(0)},
          {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
}

// A recseg model: trained on `images` with the job's anomaly sources, calibrated on VAL and
// written to job.out.
TrainJobResult train_segmenter(const data::Dataset& ds, const TrainJob& job, const torch::Tensor& images,
                               bool verbose) {
  OIAD_CHECK_USAGE(!job.resume, "train: --resume: a recseg model writes no checkpoints");
  OIAD_CHECK_USAGE(!job.train.group || job.train.group->size() <= 1, "train: a recseg model trains on one process");
  OIAD_CHECK_USAGE(job.anomaly_sources.images.defined() && job.anomaly_sources.images.size(0) >= 1,
                   "train: a recseg model needs anomaly-source images");
  const model::ModelConfig& cfg = job.config;
  peers::RecSegOptions o = job.recseg;
  o.seed = job.seed;
  auto seg = std::make_shared<peers::RecSeg>(cfg.channels, cfg.input_size, o);
  if (verbose)
    std::cerr << "train: recseg on " << ds.name << " class " << job.split.normal_class_name << ": " << images.size(0)
              << " images " << cfg.channels << "x" << cfg.input_size << "x" << cfg.input_size << ", "
              << job.anomaly_sources.images.size(0) << " anomaly sources (" << job.anomaly_sources.name << "), "
              << o.steps << " steps of " << o.batch_size << ", " << num_threads() << " threads\n";
  ProgressPrinter progress("train", 10.0, {}, verbose);
  TrainJobResult r;
  r.recseg = seg->fit(images, job.anomaly_sources, [&](int step, int steps, double loss) {
    progress.update(step, steps, "step " + std::to_string(step) + "/" + std::to_string(steps) + ", loss " +
                                     std::to_string(loss));
    if (job.on_step) job.on_step(step, steps, loss);
  });
  r.train_seconds = r.recseg.seconds;
  model::LoadedModel lm;
  lm.segmenter = seg->segmenter();
  record_data(lm.file, ds, job);
  lm.file.meta["config"] = cfg.to_json();
  lm.file.meta["recseg"] = peers::recseg_options_to_json(o);
  lm.file.meta["training"] = {{"steps", o.steps},
                              {"batch_size", o.batch_size},
                              {"lr", o.lr},
                              {"seed", o.seed},
                              {"threads", num_threads()},
                              {"n_train", images.size(0)},
                              {"anomaly_sources", {{"name", job.anomaly_sources.name},
                                                   {"images", job.anomaly_sources.images.size(0)}}},
                              {"seconds", r.recseg.seconds},
                              {"history", {{"loss", r.recseg.loss}, {"l2", r.recseg.l2}, {"ssim", r.recseg.ssim},
                                           {"focal", r.recseg.focal}}}};
  if (job.calibrate) r.calibration = calibrate_on_val(ds, job, lm, nullptr, verbose);
  model::save_segmenter(job.out, *seg->segmenter(), lm.file);
  r.model = model::load_model(job.out);
  return r;
}

}  // namespace

TrainJobResult run_train_job(const data::Dataset& native, const TrainJob& job) {
  const data::OneClassSplit& split = job.split;
  const model::ModelConfig& cfg = job.config;
  cfg.validate();
  // Images of mixed sizes or larger than the network are resized to it once (data/resize.h);
  // the model then records the network size as its image size.
  // With tiles, the images stay at their own sizes and training draws tiles from them.
  data::Dataset converted;
  const bool convert = !job.tiled && data::needs_resize(native, cfg.input_size);
  if (convert) converted = data::resized(native, cfg.input_size);
  const data::Dataset& ds = convert ? converted : native;
  TrainOptions t = job.train;
  t.seed = job.seed;
  OIAD_CHECK_USAGE(cfg.kind != model::ModelKind::kRecSeg || !t.group || t.group->size() <= 1,
                   "train: a recseg model trains on one process");

  torch::Tensor images;
  if (job.tiled) {
    OIAD_CHECK_USAGE(job.tile_stride > 0 && job.tile_stride <= cfg.input_size, "train: tile stride ", job.tile_stride,
                     " outside [1, ", cfg.input_size, "] (the tile side)");
    const int64_t n = job.tiles > 0 ? job.tiles : std::max<int64_t>(2000, 16 * int64_t(split.train.size()));
    const data::Dataset tiles = data::random_tiles(ds, split.train, cfg.input_size, n, job.seed);
    images = model::images_to_input(tiles.train.pixels.data(), tiles.train.count, tiles.channels, tiles.height,
                                    tiles.width, cfg.input_size);
  } else {
    const std::vector<uint8_t> px = data::gather_pixels(ds, split.train);
    images =
        model::images_to_input(px.data(), int64_t(split.train.size()), ds.channels, ds.height, ds.width, cfg.input_size);
  }
  if (cfg.kind == model::ModelKind::kRecSeg) return train_segmenter(ds, job, images, t.verbose);
  const std::string ckpt = job.out + ".ckpt";
  // Data-parallel: every rank trains and calibrates (the VAL images shared out); rank 0 alone
  // writes checkpoints and the model file, and the others wait for it at the end.
  dist::Group* group = t.group && t.group->size() > 1 ? t.group : nullptr;
  const bool writer = !group || group->rank() == 0;
  TrainJobResult r;
  model::DetectorVae net(nullptr);
  model::ModelFile file;
  TrainState& state = r.state;
  net = start_network(job, ckpt, file, state, t.verbose);
  record_data(file, ds, job);
  auto training_json = [&](const TrainState& s) {
    nlohmann::json h = nlohmann::json::array();
    for (const auto& e : s.history) h.push_back(e.to_json());
    return nlohmann::json{{"epochs", t.epochs},
                          {"epochs_done", s.epochs_done},
                          {"batch_size", t.batch_size},
                          {"lr", t.lr},
                          {"disc_lr", t.disc_lr},
                          {"disc_betas", {t.disc_beta1, t.disc_beta2}},
                          {"kl_warmup_epochs", t.kl_warmup_epochs},
                          {"seed", t.seed},
                          {"threads", num_threads()},
                          {"world_size", group ? group->size() : 1},
                          {"n_train", images.size(0)},
                          {"history", h}};
  };
  if (t.verbose)
    std::cerr << "train: " << model::kind_name(cfg.kind) << " on " << ds.name << " class " << split.normal_class_name
              << ": " << images.size(0) << " images " << cfg.channels << "x" << cfg.input_size << "x"
              << cfg.input_size << ", " << cfg.latent_dim << " codes, " << t.epochs << " epochs, " << num_threads()
              << " threads\n";
  train::train_model(net, images, t, state, [&](const TrainState& s) {
    if (!writer) {
      if (job.on_epoch) job.on_epoch(s);
      return;
    }
    model::ModelFile ck = file;
    ck.meta["training"] = training_json(s);
    ck.blobs["optim_vae"] = s.optim_vae;
    ck.blobs["optim_disc"] = s.optim_disc;
    model::save_model(ckpt, net, ck);
    if (job.on_epoch) job.on_epoch(s);
  });
  file.meta["training"] = training_json(state);
  file.blobs.erase("optim_vae");
  file.blobs.erase("optim_disc");
  for (const auto& e : state.history) r.train_seconds += e.seconds;
  if (job.calibrate) {
    model::LoadedModel lm;
    lm.net = net;
    lm.file = file;
    r.calibration = calibrate_on_val(ds, job, lm, group, t.verbose);
    file = lm.file;
  }
  if (!writer) {
    group->barrier();  // rank 0 has written job.out
    r.model.net = net;
    r.model.file = file;
    return r;
  }
  model::save_model(job.out, net, file);
  std::filesystem::remove(ckpt);
  if (group) group->barrier();
  r.model = model::load_model(job.out);  // the file as written: config and weights included
  return r;
}

}  // namespace oiad::workflow

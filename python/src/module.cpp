// The Python module's native part, oiad._oiad: load, train, calibrate and score through the
// library on numpy arrays, with the GIL released while computing. The package python/oiad/
// wraps it (array layouts, argument checks, files, the PyOD-style estimator); errors keep the
// CLI's one-line messages: oiad::UsageError becomes ValueError, oiad::Error oiad.Error.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "oiad/core/error.h"
#include "oiad/core/progress.h"
#include "oiad/core/runtime.h"
#include "oiad/data/readers.h"
#include "oiad/data/registry.h"
#include "oiad/data/split.h"
#include "oiad/detect/detector_options.h"
#include "oiad/detect/pipeline.h"
#include "oiad/detect/tiling.h"
#include "oiad/eval/roc.h"
#include "oiad/model/config.h"
#include "oiad/model/preprocess.h"
#include "oiad/report/picture.h"
#include "oiad/version.h"
#include "oiad/workflow/train_job.h"

namespace py = pybind11;

namespace oiad::python {
namespace {

using U8Array = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

// Sets the threads for one call and restores the previous count afterwards (threads <= 0:
// leave them as they are).
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : previous_(num_threads()), changed_(threads > 0) {
    if (changed_) set_num_threads(threads);
  }
  ~ThreadScope() {
    if (changed_) set_num_threads(previous_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_;
  bool changed_;
};

// (N, C, H, W) uint8 of a C-contiguous 4-D array; the package brings other layouts to it.
struct Images {
  const uint8_t* data = nullptr;
  int64_t n = 0;
  int channels = 0, height = 0, width = 0;
};
Images images_of(const U8Array& a, const char* what) {
  OIAD_CHECK_USAGE(a.ndim() == 4, what, ": expected a 4-dimensional (N, C, H, W) uint8 array, got ", a.ndim(),
                   " dimensions");
  Images im;
  im.data = a.data();
  im.n = a.shape(0);
  im.channels = int(a.shape(1));
  im.height = int(a.shape(2));
  im.width = int(a.shape(3));
  OIAD_CHECK_USAGE(im.n >= 1, what, ": no images");
  OIAD_CHECK_USAGE(im.channels == 1 || im.channels == 3, what, ": ", im.channels, " channels (expected 1 or 3)");
  OIAD_CHECK_USAGE(im.height >= 1 && im.width >= 1, what, ": empty images");
  return im;
}

// Raises KeyboardInterrupt (and any other pending signal's exception) in the middle of a long
// computation: called with the GIL released.
void check_signals() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

// A model file in memory: network, metadata and (when calibrated) the detector.
class Model {
 public:
  explicit Model(detect::CalibratedDetector d, std::string name) : d_(std::move(d)), name_(std::move(name)) {}

  /// The model file at `path`, called `name` in messages and info (a pickled model is read
  /// from a temporary file under its original name).
  static Model load(const std::string& path, const std::string& name) {
    py::gil_scoped_release nogil;
    return Model(detect::load_detector(path, /*require_calibration=*/false), name);
  }
  const std::string& name() const { return name_; }

  std::string info_json() const { return detect::model_info(d_.model, name_).dump(); }
  bool calibrated() const { return d_.calibrated; }
  std::vector<int> codes() const { return d_.calibrated ? d_.calibration.codes : std::vector<int>{}; }
  /// (channels, height, width) of the images the model was trained on, and its input side.
  py::tuple image_shape() const {
    const auto& p = d_.model.file.meta.at("preprocessing");
    return py::make_tuple(p.at("image_channels").get<int>(), p.at("image_height").get<int>(),
                          p.at("image_width").get<int>());
  }

  void save(const std::string& path) const {
    py::gil_scoped_release nogil;
    d_.model.file.save(path);
  }

  /// The decision `score` applies with these overrides: {"rule", "alpha", "fpr", "threshold",
  /// "metric"} (threshold: the score above which an image is anomalous under the rule).
  py::dict decision(std::optional<std::string> metric, std::optional<std::string> rule, std::optional<double> alpha,
                    std::optional<double> fpr) const {
    require_calibration("decision");
    py::dict out;
    add_decision(out, detect::plan_scoring(d_, request(metric, rule, alpha, fpr), "decision"));
    return out;
  }

  py::dict score(const U8Array& images, std::optional<std::string> metric, std::optional<std::string> rule,
                 std::optional<double> alpha, std::optional<double> fpr, bool resize, int threads, bool progress,
                 bool maps) const {
    const Images im = images_of(images, "images");
    if (detect::is_tiled(d_.model)) {
      std::vector<data::ImageView> views;
      const size_t one = size_t(im.channels) * im.height * im.width;
      for (int64_t i = 0; i < im.n; ++i) views.push_back({im.channels, im.height, im.width, im.data + size_t(i) * one, nullptr});
      return score_tiled(views, metric, rule, alpha, fpr, threads, progress);
    }
    const std::vector<std::pair<int, int>> sizes(size_t(im.n), {im.height, im.width});
    return score_input(request(metric, rule, alpha, fpr, maps), threads, progress, maps ? &sizes : nullptr, [&] {
      return model::model_input(d_.model, im.data, im.n, im.channels, im.height, im.width, resize, "images");
    });
  }

  py::dict score_files(const std::vector<std::string>& paths, std::optional<std::string> metric,
                       std::optional<std::string> rule, std::optional<double> alpha, std::optional<double> fpr,
                       bool resize, int threads, bool progress, bool maps) const {
    OIAD_CHECK_USAGE(!paths.empty(), "images: no image files");
    if (detect::is_tiled(d_.model)) {  // each file at its own size
      std::vector<data::DecodedImage> files;
      {
        py::gil_scoped_release nogil;
        for (const auto& p : paths) files.push_back(data::read_image_file(p));
      }
      std::vector<data::ImageView> views;
      for (const auto& f : files) views.push_back({f.channels, f.height, f.width, f.chw.data(), nullptr});
      return score_tiled(views, metric, rule, alpha, fpr, threads, progress);
    }
    std::vector<std::pair<int, int>> sizes;
    return score_input(request(metric, rule, alpha, fpr, maps), threads, progress, maps ? &sizes : nullptr, [&] {
      std::vector<torch::Tensor> xs;
      for (const auto& p : paths) {
        const data::DecodedImage img = data::read_image_file(p);
        xs.push_back(model::model_input(d_.model, img.chw.data(), 1, img.channels, img.height, img.width, resize, p));
        sizes.emplace_back(img.height, img.width);
      }
      return torch::cat(xs);
    });
  }

  void calibrate(const U8Array& images, const std::string& preset, std::optional<std::string> rule,
                 std::optional<double> alpha, std::optional<double> fpr, std::optional<int> morphs, uint64_t seed,
                 bool resize, int threads) {
    const Images im = images_of(images, "val_images");
    OIAD_CHECK_USAGE(!detect::is_tiled(d_.model), "calibrate: ", name_, " is a tiled model, calibrated on VAL tiles and ",
                     "whole VAL images when `oiad train --tile` trained it; train it again to calibrate it again");
    detect::DetectorOptions opt = detect::preset_options(detect::parse_preset(preset));
    const model::ModelKind kind = d_.model.config().kind;
    const detect::DecisionRule decision = detect::apply_overrides(detect::preset_decision_for(opt.preset, kind),
                                                                  {rule, alpha, fpr}, "calibrate", "", true);
    OIAD_CHECK_USAGE(!morphs || detect::scorer_of(kind) == detect::Scorer::kStructureConsistency, "calibrate: a ",
                     model::kind_name(kind), " model is scored by ",
                     detect::single_score_text(detect::scorer_of(kind)), ": morphs apply to detector models");
    if (morphs) {
      OIAD_CHECK_USAGE(*morphs >= 1 && *morphs <= 10000, "calibrate: morphs ", *morphs, " outside [1, 10000]");
      if (*morphs != opt.morphs) opt.morphs = *morphs, opt.preset = detect::Preset::kCustom;
    }
    opt.seed = seed;
    py::gil_scoped_release nogil;
    ThreadScope ts(threads);
    model::LoadedModel m = d_.model;
    const torch::Tensor x =
        model::model_input(m, im.data, im.n, im.channels, im.height, im.width, resize, "val_images");
    // The VAL images' consistency in the library's blocks, with Ctrl-C checked between them.
    const detect::Detector::ConsistencyPass pass = [](const detect::Detector& det, const torch::Tensor& val,
                                                      std::vector<float>* maps) {
      detect::ConsistencyTable all;
      std::vector<float> part;
      if (maps) maps->clear();
      for (int64_t a = 0; a < val.size(0); a += detect::kCalibrationBlock) {
        check_signals();
        detect::ConsistencyTable sc = det.consistency_in_blocks(
            val.slice(0, a, std::min(val.size(0), a + detect::kCalibrationBlock)), maps ? &part : nullptr);
        if (a == 0) all = std::move(sc);
        else all.append(sc);
        if (maps) maps->insert(maps->end(), part.begin(), part.end());
      }
      return all;
    };
    detect::calibrate_into(m, opt, x, decision, nullptr, pass);
    d_ = detect::calibrated_from(m, name_);
  }

 private:
  // A tiled model (trained with --tile): each image at its own size, its score the highest
  // tile score, decided by the one-sided rule on whole VAL images (detect/tiling.h); the
  // stitched maps come back too, one (H, W) array per image.
  py::dict score_tiled(const std::vector<data::ImageView>& views, const std::optional<std::string>& metric,
                       const std::optional<std::string>& rule, std::optional<double> alpha, std::optional<double> fpr,
                       int threads, bool progress) const {
    require_calibration("score");
    const detect::TileCalibration t = detect::tile_calibration(d_.model, name_);
    OIAD_CHECK_USAGE(!metric || *metric == t.score_name, "score: the tiled model scores its tiles by ", t.score_name,
                     " (chosen at training); metric=", *metric, " does not apply");
    OIAD_CHECK_USAGE((!rule || *rule == detect::rule_name(detect::Rule::kOneSided)) && !alpha,
                     "score: a tiled model decides by the one-sided rule on whole images (fpr)");
    if (fpr) OIAD_CHECK_USAGE(*fpr > 0 && *fpr < 1, "score: fpr ", *fpr, " outside (0, 1)");
    const double f = fpr.value_or(t.fpr);
    std::vector<detect::TiledScore> scored;
    {
      py::gil_scoped_release nogil;
      ThreadScope ts(threads);
      ProgressPrinter printer("score", 10.0, {}, progress);
      for (size_t i = 0; i < views.size(); ++i) {
        check_signals();
        OIAD_CHECK_USAGE(views[i].channels == d_.model.config().channels, "images: ", views[i].channels,
                         " channel(s), the model expects ", d_.model.config().channels);
        scored.push_back(detect::score_tiled(d_, t, views[i], f, true));
        printer.count(int64_t(i + 1), int64_t(views.size()));
      }
    }
    const auto n = py::ssize_t(scored.size());
    py::array_t<double> score(n), p_value(n);
    py::array_t<bool> anomalous(n);
    py::array_t<int> tiles(n), worst(std::vector<py::ssize_t>{n, 2});
    py::list maps;
    for (py::ssize_t i = 0; i < n; ++i) {
      const auto& r = scored[size_t(i)];
      score.mutable_at(i) = r.image.score;
      p_value.mutable_at(i) = r.image.p_value;
      anomalous.mutable_at(i) = r.image.anomalous;
      tiles.mutable_at(i) = int(r.layout.count());
      worst.mutable_at(i, 0) = r.layout.y(r.worst_tile);
      worst.mutable_at(i, 1) = r.layout.x(r.worst_tile);
      py::array_t<float> m(std::vector<py::ssize_t>{py::ssize_t(r.layout.height), py::ssize_t(r.layout.width)});
      std::copy(r.map.begin(), r.map.end(), m.mutable_data());
      maps.append(m);
    }
    py::dict out;
    out["score"] = score;
    out["anomalous"] = anomalous;
    out["p_value"] = p_value;
    py::array_t<int> none(n);
    std::fill(none.mutable_data(), none.mutable_data() + n, -1);
    out["most_extreme_code"] = none;
    out["consistency"] = py::array_t<double>(std::vector<py::ssize_t>{n, 0});
    out["codes"] = std::vector<int>{};
    out["tiles"] = tiles;
    out["worst_tile"] = worst;
    out["maps"] = maps;
    out["metric"] = t.score_name;
    out["rule"] = detect::rule_name(detect::Rule::kOneSided);
    out["alpha"] = d_.scorer == detect::Scorer::kStructureConsistency ? d_.calibration.alpha : 0.0;
    out["fpr"] = f;
    out["threshold"] = t.threshold(f);
    return out;
  }

  void require_calibration(const char* what) const {
    OIAD_CHECK(d_.calibrated, what, ": ", name_, " has no calibration: call Model.calibrate(val_images) first");
  }
  static detect::ScoreOptions request(const std::optional<std::string>& metric, std::optional<std::string> rule,
                                      std::optional<double> alpha, std::optional<double> fpr, bool maps = false) {
    detect::ScoreOptions o;
    if (metric) o.metric = detect::parse_metric(*metric);
    o.decision = {std::move(rule), alpha, fpr};
    o.change_maps = maps;
    return o;
  }
  // The decision's fields: what the scores are, rule, alpha, fpr, and the threshold of the
  // score under the rule.
  static void add_decision(py::dict& out, const detect::ScoringPlan& p) {
    out["metric"] = p.score_name;
    out["rule"] = detect::rule_name(p.decision.rule);
    out["alpha"] = p.decision.alpha;
    out["fpr"] = p.decision.fpr;
    out["threshold"] = p.threshold;
  }

  // Scores the network input make_input() returns; with `sizes` (each image's height and
  // width, filled by make_input for files), also the change maps, each brought back to its
  // image's size as `oiad inspect --map` draws it.
  py::dict score_input(const detect::ScoreOptions& request, int threads, bool progress,
                       const std::vector<std::pair<int, int>>* sizes,
                       const std::function<torch::Tensor()>& make_input) const {
    require_calibration("score");
    const detect::ScoringPlan plan = detect::plan_scoring(d_, request, "score", "");
    std::vector<detect::ImageScore> scores;
    std::vector<torch::Tensor> maps;
    {
      py::gil_scoped_release nogil;
      ThreadScope ts(threads);
      const torch::Tensor x = make_input();
      ProgressPrinter printer("score", 10.0, {}, progress);
      const auto count = printer.counter();
      // Scored in blocks so that Ctrl-C stops between them; a score does not depend on the
      // block it is scored in.
      const int64_t n = x.size(0), block = 256;
      const auto [stored_h, stored_w] = model::stored_image_size(d_.model);
      for (int64_t a = 0; a < n; a += block) {
        check_signals();
        detect::ScoreResult r = detect::score(d_, x.slice(0, a, std::min(n, a + block)), request);
        scores.insert(scores.end(), std::make_move_iterator(r.images.begin()), std::make_move_iterator(r.images.end()));
        if (sizes) {
          const torch::Tensor m = model::input_map_to_image(r.change_maps, stored_h, stored_w);
          for (int64_t i = 0; i < m.size(0); ++i) {
            const auto [h, w] = (*sizes)[size_t(a + i)];
            torch::Tensor one = m.slice(0, i, i + 1);
            if (h != stored_h || w != stored_w) one = model::resize_maps(one, h, w);
            maps.push_back(one[0].to(torch::kFloat).contiguous());
          }
        }
        count(int64_t(scores.size()), n);
      }
    }
    const auto n = py::ssize_t(scores.size());
    const bool codes = plan.scorer == detect::Scorer::kStructureConsistency;
    const auto k = py::ssize_t(codes ? d_.calibration.codes.size() : 0);
    py::array_t<double> score(n), p_value(n);
    py::array_t<bool> anomalous(n);
    py::array_t<int> extreme(n);
    py::array_t<double> consistency({n, k});
    auto sc = score.mutable_unchecked<1>();
    auto pv = p_value.mutable_unchecked<1>();
    auto an = anomalous.mutable_unchecked<1>();
    auto ex = extreme.mutable_unchecked<1>();
    auto co = consistency.mutable_unchecked<2>();
    for (py::ssize_t i = 0; i < n; ++i) {
      const auto& s = scores[size_t(i)];
      sc(i) = s.score;
      pv(i) = s.p_value;
      an(i) = s.anomalous;
      ex(i) = s.most_extreme_code;
      if (!codes) continue;
      const auto& c = s.of(plan.metric);
      for (py::ssize_t j = 0; j < k; ++j) co(i, j) = c[size_t(j)];
    }
    py::dict out;
    out["score"] = score;
    out["anomalous"] = anomalous;
    out["p_value"] = p_value;
    out["most_extreme_code"] = extreme;
    out["consistency"] = consistency;
    out["codes"] = codes ? d_.calibration.codes : std::vector<int>{};
    if (sizes) {
      py::list arrays;
      for (const torch::Tensor& m : maps) {
        py::array_t<float> a(std::vector<py::ssize_t>{py::ssize_t(m.size(0)), py::ssize_t(m.size(1))});
        std::copy(m.data_ptr<float>(), m.data_ptr<float>() + m.numel(), a.mutable_data());
        arrays.append(a);
      }
      out["maps"] = arrays;
    }
    add_decision(out, plan);
    return out;
  }

  detect::CalibratedDetector d_;
  std::string name_;
};

// oiad.train's arguments. Their defaults are the library's (python/oiad reads them from here).
struct TrainArgs {
  /// model_name: what Model.info calls the model (default: out).
  std::string out, model_name, name = "arrays";
  std::string kind = model::kind_name(model::ModelKind::kDetectorVae);
  std::string preset = detect::preset_name(detect::Preset::kDefault);
  int epochs = train::TrainOptions{}.epochs, batch_size = train::TrainOptions{}.batch_size;
  int kl_warmup_epochs = train::TrainOptions{}.kl_warmup_epochs, input_size = model::kDefaultInputSize, threads = 0;
  std::optional<int> latent_dim;
  std::optional<double> gamma, lr;
  std::optional<std::string> rule;
  std::optional<double> alpha, fpr;
  double val_fraction = 0.1;
  uint64_t seed = 0;
  bool verbose = true;
};

Model train(const U8Array& images, const TrainArgs& a, const py::object& progress) {
  const Images im = images_of(images, "images");
  if (a.latent_dim) model::spec::kLatentDim.check(*a.latent_dim, "train", "");
  if (a.gamma) model::spec::kGamma.check(*a.gamma, "train", "");
  const detect::Preset preset = detect::parse_preset(a.preset);
  data::Dataset ds;
  ds.name = a.name;
  ds.source = "python";
  ds.channels = im.channels;
  ds.height = im.height;
  ds.width = im.width;
  ds.class_names = {"normal"};
  ds.train.count = im.n;
  ds.train.pixels.assign(im.data, im.data + size_t(im.n) * im.channels * im.height * im.width);
  ds.train.labels.assign(size_t(im.n), 0);

  workflow::TrainJob job;
  job.split = data::make_normal_split(ds, 0, a.val_fraction, a.seed);
  model::ModelConfig& cfg = job.config;
  cfg = model::ModelConfig::defaults(model::parse_kind(a.kind), ds.channels, a.input_size);
  OIAD_CHECK_USAGE(cfg.kind != model::ModelKind::kRecSeg, "train: kind recseg trains with anomaly-source images: ",
                   "use `oiad train --kind recseg` (oiad.Model reads and scores the file it writes)");
  if (a.latent_dim) cfg.latent_dim = *a.latent_dim;
  if (cfg.kind == model::ModelKind::kDetectorVae)
    cfg.gamma = a.gamma ? *a.gamma : detect::preset_gamma(preset);
  else if (a.gamma)
    cfg.gamma = *a.gamma;
  cfg.validate();
  job.train.epochs = a.epochs;
  job.train.batch_size = a.batch_size;
  job.train.kl_warmup_epochs = a.kl_warmup_epochs;
  if (a.lr) job.train.lr = *a.lr;
  job.train.verbose = a.verbose;
  train::check_options(job.train, "train", "");
  job.out = a.out;
  job.calibrate = true;
  job.preset = preset;
  job.decision = detect::apply_overrides(detect::preset_decision_for(preset, cfg.kind), {a.rule, a.alpha, a.fpr},
                                         "train", "", true);
  job.seed = a.seed;
  job.on_epoch = [&](const train::TrainState& s) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (!progress.is_none()) {
      py::dict e = py::module_::import("json").attr("loads")(s.history.back().to_json().dump());
      e["epochs"] = a.epochs;
      progress(e);
    }
  };
  py::gil_scoped_release nogil;
  ThreadScope ts(a.threads);
  workflow::TrainJobResult r = workflow::run_train_job(ds, job);
  const std::string name = a.model_name.empty() ? a.out : a.model_name;
  return Model(detect::calibrated_from(r.model, name), name);
}

py::dict load_dataset(const std::string& spec) {
  data::Dataset ds;
  {
    py::gil_scoped_release nogil;
    ds = data::load_dataset(spec);
  }
  auto images = [&](const data::ImageSet& s) {
    py::array_t<uint8_t> a({py::ssize_t(s.count), py::ssize_t(ds.channels), py::ssize_t(ds.height), py::ssize_t(ds.width)});
    std::copy(s.pixels.begin(), s.pixels.end(), a.mutable_data());
    return a;
  };
  auto labels = [](const data::ImageSet& s) {
    py::array_t<int32_t> a(py::ssize_t(s.labels.size()));
    std::copy(s.labels.begin(), s.labels.end(), a.mutable_data());
    return a;
  };
  py::dict out;
  out["name"] = ds.name;
  out["source"] = ds.source;
  out["class_names"] = ds.class_names;
  out["train_images"] = images(ds.train);
  out["train_labels"] = labels(ds.train);
  out["test_images"] = images(ds.test);
  out["test_labels"] = labels(ds.test);
  out["train_ids"] = ds.train.ids;
  out["test_ids"] = ds.test.ids;
  return out;
}

py::array_t<uint8_t> read_image(const std::string& path) {
  data::DecodedImage img;
  {
    py::gil_scoped_release nogil;
    img = data::read_image_file(path);
  }
  py::array_t<uint8_t> a({py::ssize_t(img.channels), py::ssize_t(img.height), py::ssize_t(img.width)});
  std::copy(img.chw.begin(), img.chw.end(), a.mutable_data());
  return a;
}

using F32Array = py::array_t<float, py::array::c_style | py::array::forcecast>;

// One (C, H, W) image and its (H, W) map, checked (the package brings them to these layouts).
struct MapOnImage {
  const uint8_t* chw;
  const float* map;
  int channels, height, width;
};
MapOnImage map_on_image(const U8Array& image, const F32Array& map) {
  OIAD_CHECK_USAGE(image.ndim() == 3, "image: expected a (C, H, W) uint8 array, got ", image.ndim(), " dimensions");
  OIAD_CHECK_USAGE(map.ndim() == 2 && map.shape(0) == image.shape(1) && map.shape(1) == image.shape(2),
                   "change_map: expected (", image.shape(1), ", ", image.shape(2), ") for the image");
  return {image.data(), map.data(), int(image.shape(0)), int(image.shape(1)), int(image.shape(2))};
}

py::array_t<uint8_t> overlay(const U8Array& image, const F32Array& map, int scale) {
  const MapOnImage m = map_on_image(image, map);
  std::vector<uint8_t> rgb = report::change_map_rgb(m.chw, m.channels, m.height, m.width, m.map, scale);
  py::array_t<uint8_t> a({py::ssize_t(m.height) * scale, py::ssize_t(m.width) * scale, py::ssize_t(3)});
  std::copy(rgb.begin(), rgb.end(), a.mutable_data());
  return a;
}

void write_overlay(const std::string& path, const U8Array& image, const F32Array& map, int scale) {
  const MapOnImage m = map_on_image(image, map);
  py::gil_scoped_release nogil;
  report::write_change_map(path, m.chw, m.channels, m.height, m.width, m.map, scale);
}

double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  OIAD_CHECK_USAGE(scores.size() == labels.size(), "roc_auc: ", scores.size(), " scores for ", labels.size(), " labels");
  std::vector<uint8_t> y;
  for (int l : labels) {
    OIAD_CHECK_USAGE(l == 0 || l == 1, "roc_auc: label ", l, " (expected 0 = normal, 1 = anomalous)");
    y.push_back(uint8_t(l));
  }
  for (double s : scores) OIAD_CHECK_USAGE(!std::isnan(s), "roc_auc: a score is NaN");
  return eval::roc_auc(scores, y);
}

}  // namespace
}  // namespace oiad::python

PYBIND11_MODULE(_oiad, m) {
  using namespace oiad::python;
  m.doc() = "oiad's native part; use the package oiad (python/oiad/__init__.py)";
  m.attr("__version__") = OIAD_VERSION;
  static py::exception<oiad::Error> error(m, "Error");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const oiad::UsageError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const oiad::Error& e) {
      error(e.what());
    } catch (const c10::Error& e) {
      error(e.what_without_backtrace());
    }
  });

  py::class_<Model>(m, "Model")
      .def_static("load", &Model::load, py::arg("path"), py::arg("name"))
      .def_property_readonly("name", &Model::name)
      .def("info_json", &Model::info_json)
      .def_property_readonly("calibrated", &Model::calibrated)
      .def_property_readonly("codes", &Model::codes)
      .def_property_readonly("image_shape", &Model::image_shape)
      .def("save", &Model::save, py::arg("path"))
      .def("decision", &Model::decision, py::arg("metric"), py::arg("rule"), py::arg("alpha"), py::arg("fpr"))
      .def("score", &Model::score, py::arg("images"), py::arg("metric"), py::arg("rule"), py::arg("alpha"),
           py::arg("fpr"), py::arg("resize"), py::arg("threads"), py::arg("progress"), py::arg("maps"))
      .def("score_files", &Model::score_files, py::arg("paths"), py::arg("metric"), py::arg("rule"), py::arg("alpha"),
           py::arg("fpr"), py::arg("resize"), py::arg("threads"), py::arg("progress"), py::arg("maps"))
      .def("calibrate", &Model::calibrate, py::arg("images"), py::arg("preset"), py::arg("rule"), py::arg("alpha"),
           py::arg("fpr"), py::arg("morphs"), py::arg("seed"), py::arg("resize"), py::arg("threads"));

  py::class_<TrainArgs>(m, "TrainArgs")
      .def(py::init<>())
      .def_readwrite("out", &TrainArgs::out)
      .def_readwrite("model_name", &TrainArgs::model_name)
      .def_readwrite("kind", &TrainArgs::kind)
      .def_readwrite("preset", &TrainArgs::preset)
      .def_readwrite("name", &TrainArgs::name)
      .def_readwrite("epochs", &TrainArgs::epochs)
      .def_readwrite("batch_size", &TrainArgs::batch_size)
      .def_readwrite("kl_warmup_epochs", &TrainArgs::kl_warmup_epochs)
      .def_readwrite("input_size", &TrainArgs::input_size)
      .def_readwrite("threads", &TrainArgs::threads)
      .def_readwrite("latent_dim", &TrainArgs::latent_dim)
      .def_readwrite("gamma", &TrainArgs::gamma)
      .def_readwrite("lr", &TrainArgs::lr)
      .def_readwrite("rule", &TrainArgs::rule)
      .def_readwrite("alpha", &TrainArgs::alpha)
      .def_readwrite("fpr", &TrainArgs::fpr)
      .def_readwrite("val_fraction", &TrainArgs::val_fraction)
      .def_readwrite("seed", &TrainArgs::seed)
      .def_readwrite("verbose", &TrainArgs::verbose);
  m.def("train", &train, py::arg("images"), py::arg("args"), py::arg("progress"));
  m.def("load_dataset", &load_dataset, py::arg("spec"));
  m.def("roc_auc", &roc_auc, py::arg("scores"), py::arg("labels"));
  m.def("read_image", &read_image, py::arg("path"));
  m.def("overlay", &overlay, py::arg("image"), py::arg("map"), py::arg("scale"));
  m.def("write_overlay", &write_overlay, py::arg("path"), py::arg("image"), py::arg("map"), py::arg("scale"));
  m.def("set_threads", &oiad::set_num_threads, py::arg("n"));
  m.def("threads", &oiad::num_threads);
  m.def("blas_core", &oiad::blas_core_name);
  m.def("preferred_blas_core", &oiad::preferred_blas_core);
  m.def("metric_names", &oiad::detect::metric_names);
  m.def("rule_names", &oiad::detect::rule_names);
  m.def("preset_names", &oiad::detect::preset_names);
  m.attr("default_metric") = oiad::detect::metric_name(oiad::detect::kDefaultMetric);
  // A preset's default decision: {"rule", "alpha", "fpr"} (the estimator's defaults).
  m.def("preset_decision", [](const std::string& preset) {
    const oiad::detect::DecisionRule d = oiad::detect::preset_decision(oiad::detect::parse_preset(preset));
    py::dict out;
    out["rule"] = oiad::detect::rule_name(d.rule);
    out["alpha"] = d.alpha;
    out["fpr"] = d.fpr;
    return out;
  }, py::arg("preset"));
}

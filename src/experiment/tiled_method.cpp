// The methods that fit a model in `oiad experiment --tile SIDE`: the Detector-VAE (OIAD),
// the VAE and the DCAE, each trained on seeded tiles of the train part's images at their own
// resolution and calibrated as `oiad train --tile` calibrates (workflow::run_train_job), then
// every VAL and reported test image scored tile by tile at its own size. An image's score is
// the highest of its tiles' scores (detect/tiling.h); its map is the tiles' maps stitched at
// full size and measured there against its mask. The one-sided rule's threshold at F is the
// (1 - F)-fractile of the VAL images' scores, so F is the share of normal images flagged.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "method.h"
#include "oiad/core/error.h"
#include "oiad/core/progress.h"
#include "oiad/data/tiles.h"
#include "oiad/detect/pipeline.h"
#include "oiad/detect/tiling.h"
#include "oiad/eval/regions.h"
#include "oiad/eval/roc.h"
#include "oiad/model/model_io.h"
#include "oiad/model/preprocess.h"

namespace oiad::experiment::detail {

namespace {

namespace fs = std::filesystem;

// Per image, what its tiles give: for each reported metric the highest paper-rule score, the
// highest one-sided score and, per α of the grid, whether any tile is flagged; or the highest
// reconstruction error. `map` is the stitched (H, W) map when asked for.
struct ImageTiles {
  std::vector<double> paper, one_sided;    // [metric]
  std::vector<std::vector<uint8_t>> flags;  // [metric][α]
  double error = 0;
  std::vector<float> map;
};

class TiledMethod : public Method {
 public:
  TiledMethod(model::ModelKind kind, std::string name) : kind_(kind), name_(std::move(name)) {}

  std::string model_file() const override { return name_ + ".oiad"; }

  void load(const Context& c, const std::string& path) override {
    c_ = &c;
    model_ = model::load_model(path);
    d_ = detect::calibrated_from(model_, path);
    for (const auto& e : model_.file.meta.at("training").at("history")) train_seconds_ += e.at("seconds").get<double>();
  }

  void fit(const Context& c, const std::string& path) override {
    c_ = &c;
    const ExperimentOptions& o = c.o;
    workflow::TrainJob job;
    job.split = c.split;
    job.config = model::ModelConfig::defaults(kind_, c.native.channels, o.input_size);
    if (kind_ == model::ModelKind::kDetectorVae) job.config.gamma = detector_gamma(o);
    job.train = o.train;
    job.out = path;
    job.resume = fs::exists(path + ".ckpt");
    job.calibrate = true;
    job.preset = o.preset;
    job.decision = detect::preset_decision_for(o.preset, kind_);
    job.decision.alpha = o.alpha;
    job.decision.fpr = o.one_sided_fpr;
    job.seed = o.seed;
    job.tiled = true;
    job.tile_stride = o.tile_stride;
    job.tiles = o.tiles;
    if (kind_ == model::ModelKind::kDetectorVae) job.tile_metric = map_metric(o);
    c.log(name_ + ": training on tiles of " + std::to_string(o.input_size) + " at the images' own resolution");
    const workflow::TrainJobResult r = workflow::run_train_job(c.native, job);
    train_seconds_ = r.train_seconds;
    calibrate_seconds_ = r.calibration.value("seconds", 0.0);
    model_ = r.model;
    d_ = detect::calibrated_from(model_, path);
  }

  std::vector<double> score(const torch::Tensor&, torch::Tensor*) override {
    const Context& c = *c_;
    const ExperimentOptions& o = c.o;
    const bool detector = d_.scorer == detect::Scorer::kStructureConsistency;
    ProgressPrinter progress(name_ + ": scoring by tiles", 30.0, [&](const std::string& line) { c.log(line); },
                             bool(o.log));
    const size_t total = c.split.val.size() + c.test.size();
    size_t done = 0;
    // VAL images: the one-sided thresholds of whole images.
    std::vector<ImageTiles> val, test;
    for (int64_t k : c.split.val.index) {
      val.push_back(score_image(c.native.image(c.split.val.source, k), false));
      progress.count(int64_t(++done), int64_t(total));
    }
    PixelTally pm;
    size_t missing_masks = 0;
    for (size_t i = 0; i < c.test.size(); ++i) {
      const data::ImageView v = c.native.image(c.test.source, c.test.index[i]);
      test.push_back(score_image(v, true));
      if (v.mask) {
        std::vector<double> m(test.back().map.begin(), test.back().map.end());
        pm.add(m.data(), v.mask, v.height, v.width, test_kind(c, i));
      } else {
        missing_masks += c.test.anomalous[i];
      }
      std::vector<float>().swap(test.back().map);
      progress.count(int64_t(++done), int64_t(total));
    }
    details_ = nlohmann::json::object();
    const nlohmann::json pixel = pm.result();
    const nlohmann::json tiling = {{"side", o.input_size},
                                   {"stride", o.tile_stride},
                                   {"aggregate", "max"},
                                   {"val_images", val.size()},
                                   {"anomalous_without_mask", missing_masks}};
    if (!detector) {
      std::vector<double> v, t;
      for (const auto& x : val) v.push_back(x.error);
      for (const auto& x : test) t.push_back(x.error);
      details_ = {{"tiling", tiling}, {"one_sided", one_sided(v, t)}, {"train_seconds", train_seconds_}};
      if (pixel.is_object()) details_.update(pixel), details_["pixel_map"] = "squared reconstruction error, stitched";
      return t;
    }
    const detect::Calibration& cal = d_.calibration;
    const auto alphas = alpha_grid();
    nlohmann::json metrics = nlohmann::json::object();
    std::vector<double> primary_scores;
    const std::string primary = std::find(o.metrics.begin(), o.metrics.end(), "ssim") != o.metrics.end()
                                    ? "ssim" : o.metrics.front();
    for (size_t k = 0; k < o.metrics.size(); ++k) {
      std::vector<double> sc, one, vone;
      for (const auto& x : test) sc.push_back(x.paper[k]), one.push_back(x.one_sided[k]);
      for (const auto& x : val) vone.push_back(x.one_sided[k]);
      nlohmann::json sweep = nlohmann::json::array(), at;
      for (size_t a = 0; a < alphas.size(); ++a) {
        std::vector<uint8_t> flagged;
        for (const auto& x : test) flagged.push_back(x.flags[k][a]);
        const auto p = eval::sweep_point(alphas[a], flagged, c.labels);
        sweep.push_back({{"alpha", alphas[a]}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc}});
        if (std::abs(alphas[a] - o.alpha) < 1e-12) at = {{"alpha", o.alpha}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc}};
      }
      if (at.is_null()) {  // α off the grid: the decisions at α itself
        std::vector<uint8_t> flagged;
        for (const auto& x : test) flagged.push_back(x.flags[k].back());
        const auto p = eval::sweep_point(o.alpha, flagged, c.labels);
        at = {{"alpha", o.alpha}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc}};
      }
      const std::string& name = o.metrics[k];
      metrics[name] = {{"auc", eval::roc_auc(sc, c.labels)},
                       {"auc_one_sided_mean", eval::roc_auc(one, c.labels)},
                       {"at_alpha", at},
                       {"sweep", sweep},
                       {"val_size", nlohmann::json::array({{{"n_val", val.size()}, {"tp", at["tp"]}, {"tn", at["tn"]},
                                                            {"acc", at["acc"]}, {"draws", 1}}})},
                       {"scores", sc},
                       {"scores_one_sided", one},
                       {"one_sided", one_sided(vone, one)}};
      if (detect::parse_metric(name) == detect::Metric::kLocal && pixel.is_object()) metrics[name].update(pixel);
      if (name == primary) primary_scores = sc;
    }
    (void)cal;
    details_ = {{"metrics", metrics},
                {"primary_metric", primary},
                {"preset", detect::preset_name(o.preset)},
                {"detector", d_.detector->options().to_json()},
                {"codes", d_.calibration.codes},
                {"n_val", val.size()},
                {"tiling", tiling},
                {"train_seconds", train_seconds_},
                {"calibrate_seconds", calibrate_seconds_},
                {"pictures", {{"strips", nlohmann::json::array()}, {"grids", nlohmann::json::array()}}}};
    return primary_scores;
  }

  double fit_seconds() const override { return train_seconds_ + calibrate_seconds_; }
  nlohmann::json details() override { return details_; }

 private:
  // The metric whose change maps a detector's tiles give, and whose one-sided score the model
  // file's image-level calibration uses: local when reported, else the first reported.
  static detect::Metric map_metric(const ExperimentOptions& o) {
    return detect::parse_metric(std::find(o.metrics.begin(), o.metrics.end(), "local") != o.metrics.end()
                                    ? "local" : o.metrics.front());
  }

  // {"fpr", "threshold", "tp", "tn", "acc"}: the one-sided rule on whole images at F, its
  // threshold the (1 - F)-fractile of the VAL images' scores.
  nlohmann::json one_sided(std::vector<double> val, const std::vector<double>& test) const {
    const ExperimentOptions& o = c_->o;
    std::sort(val.begin(), val.end());
    const double threshold = detect::quantile_sorted(val, 1.0 - o.one_sided_fpr);
    const auto p = eval::threshold_point(o.one_sided_fpr, test, threshold, c_->labels);
    return {{"fpr", o.one_sided_fpr}, {"threshold", threshold}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc}};
  }

  ImageTiles score_image(const data::ImageView& v, bool want_map) {
    const ExperimentOptions& o = c_->o;
    const int side = o.input_size;
    const data::TileLayout layout = data::tile_layout(v.height, v.width, side, o.tile_stride);
    const torch::Tensor x = detect::tile_input(v, layout, 0, layout.count(), side);
    ImageTiles r;
    torch::Tensor maps;
    if (d_.single_score()) {
      const auto e = detect::single_scores(d_.model, x, detect::kCalibrationBlock, want_map ? &maps : nullptr);
      r.error = *std::max_element(e.begin(), e.end());
    } else {
      const detect::Calibration& cal = d_.calibration;
      const auto scored = detect::score_images(d_, x, map_metric(o), o.alpha, detect::kCalibrationBlock, {},
                                               detect::Rule::kPaper, want_map ? &maps : nullptr);
      const auto alphas = alpha_grid();
      for (const std::string& name : o.metrics) {
        const detect::Metric m = detect::parse_metric(name);
        const detect::OneSidedScorer one = cal.one_sided_scorer(m);
        double p = -INFINITY, s = -INFINITY;
        std::vector<uint8_t> flags(alphas.size() + 1, 0);
        for (const auto& t : scored) {
          p = std::max(p, cal.score(m, t.of(m)));
          s = std::max(s, one(t.of(m)));
          for (size_t a = 0; a < alphas.size(); ++a) flags[a] = flags[a] || cal.anomalous(m, t.of(m), alphas[a]);
          flags.back() = flags.back() || cal.anomalous(m, t.of(m), o.alpha);
        }
        r.paper.push_back(p);
        r.one_sided.push_back(s);
        r.flags.push_back(flags);
      }
    }
    if (want_map) {
      const torch::Tensor m = maps.to(torch::kFloat).contiguous();
      r.map = data::stitch_tiles(layout, m.data_ptr<float>());
    }
    return r;
  }

  model::ModelKind kind_;
  std::string name_;
  const Context* c_ = nullptr;
  model::LoadedModel model_;
  detect::CalibratedDetector d_;
  double train_seconds_ = 0, calibrate_seconds_ = 0;
  nlohmann::json details_ = nlohmann::json::object();
};

}  // namespace

std::unique_ptr<Method> make_tiled_method(const std::string& name) {
  if (name == "oiad") return std::make_unique<TiledMethod>(model::ModelKind::kDetectorVae, name);
  if (name == "vae") return std::make_unique<TiledMethod>(model::ModelKind::kVae, name);
  if (name == "dcae") return std::make_unique<TiledMethod>(model::ModelKind::kDcae, name);
  return nullptr;
}

}  // namespace oiad::experiment::detail

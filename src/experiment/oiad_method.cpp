// OIAD itself in `oiad experiment`: the Detector-VAE trained on the train part (or the one an
// earlier run saved), calibrated on VAL (Sec. III.D.1, keeping each VAL image's consistencies
// for Fig. 4), every metric of the reported test part from one scoring pass, and the paper's
// figures. Its score is the primary metric's (ssim when reported) under the paper's rule; the
// details hold every metric and rule.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "method.h"
#include "oiad/core/progress.h"
#include "oiad/core/random.h"
#include "oiad/detect/complexity.h"
#include "oiad/detect/pipeline.h"
#include "oiad/eval/roc.h"
#include "oiad/model/model_io.h"
#include "oiad/report/document.h"
#include "oiad/report/picture.h"

namespace oiad::experiment::detail {

namespace {

namespace fs = std::filesystem;

std::vector<size_t> picks(const std::vector<size_t>& from, int k, uint64_t seed) {
  std::vector<size_t> v = from;
  Rng rng(seed);
  shuffle_in_place(v, rng);
  v.resize(std::min<size_t>(v.size(), size_t(std::max(0, k))));
  std::sort(v.begin(), v.end());
  return v;
}

// One OIAD metric on the reported test part (results.json's oiad.<metric>): the paper rule's
// AUC, its decisions at α and over the α grid (Fig. 3), the VAL-size study (Fig. 4), the
// one-sided and relative rules' AUCs and decisions at F, the change maps' pixel AUROC.
nlohmann::json oiad_metric(const Context& c, const detect::CalibratedDetector& d, const torch::Tensor& x,
                           const std::vector<detect::ImageScore>& scored, const detect::ConsistencyTable& vc,
                           const std::string& name, const torch::Tensor* change_maps) {
  const ExperimentOptions& o = c.o;
  const detect::Calibration& cal = d.calibration;
  const auto alphas = alpha_grid();
  std::vector<size_t> val_sizes;
  for (size_t n : {10, 20, 50, 100, 200, 500, 1000, 2000})
    if (n < vc.images()) val_sizes.push_back(n);
  val_sizes.push_back(vc.images());
  nlohmann::json metrics = nlohmann::json::object();
  const detect::Metric m = detect::parse_metric(name);
  std::vector<double> sc, one, rel;
  const detect::OneSidedScorer one_sided_score = cal.one_sided_scorer(m);
  const bool has_rel = cal.has_relative(m);
  const torch::Tensor cx = has_rel ? detect::complexity(x, m, cal.relative[size_t(m)].sigma).contiguous() : torch::Tensor();
  for (size_t i = 0; i < scored.size(); ++i) {
    const auto& s = scored[i];
    sc.push_back(cal.score(m, s.of(m)));
    one.push_back(one_sided_score(s.of(m)));
    if (has_rel) rel.push_back(one.back() - cal.relative[size_t(m)].predict(cx.data_ptr<double>()[i]));
  }
  auto sweep_at = [&](const detect::Calibration& k, double a) {
    std::vector<uint8_t> flagged;
    for (const auto& s : scored) flagged.push_back(k.anomalous(m, s.of(m), a));
    return eval::sweep_point(a, flagged, c.labels);
  };
  nlohmann::json sweep = nlohmann::json::array();
  for (double a : alphas) {
    const auto p = sweep_at(cal, a);
    sweep.push_back({{"alpha", a}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc}});
  }
  const auto at = sweep_at(cal, o.alpha);
  // Fig. 4: thresholds from random VAL subsets of growing size (5 seeded draws each).
  nlohmann::json by_size = nlohmann::json::array();
  std::vector<size_t> all(vc.images());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  for (size_t n : val_sizes) {
    const int draws = n == all.size() ? 1 : 5;
    double tp = 0, tn = 0, acc = 0;
    for (int t = 0; t < draws; ++t) {
      const auto sub = picks(all, int(n), o.seed * 1000 + n * 10 + size_t(t));
      const auto k = detect::make_calibration(cal.codes, vc, o.alpha, &sub, cal.weights);
      const auto p = sweep_at(k, o.alpha);
      tp += p.tp / draws, tn += p.tn / draws, acc += p.acc / draws;
    }
    by_size.push_back({{"n_val", n}, {"tp", tp}, {"tn", tn}, {"acc", acc}, {"draws", draws}});
  }
  metrics[name] = {{"auc", eval::roc_auc(sc, c.labels)},
                   {"auc_one_sided_mean", eval::roc_auc(one, c.labels)},
                   {"at_alpha", {{"alpha", o.alpha}, {"tp", at.tp}, {"tn", at.tn}, {"acc", at.acc}}},
                   {"sweep", sweep},
                   {"val_size", by_size},
                   {"scores", sc},
                   {"scores_one_sided", one}};
  if (m == detect::Metric::kLocal && change_maps) {
    // The local metric's change maps against the defect masks.
    const nlohmann::json pm = pixel_metrics(c, *change_maps);
    if (pm.is_object()) metrics[name].update(pm);
  }
  if (cal.has_one_sided(m)) {
    const double threshold = cal.one_sided_threshold(m, o.one_sided_fpr);
    const auto p = eval::threshold_point(o.one_sided_fpr, one, threshold, c.labels);
    metrics[name]["one_sided"] = {
        {"fpr", o.one_sided_fpr}, {"threshold", threshold}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc}};
  }
  if (has_rel) {
    const auto& f = cal.relative[size_t(m)];
    const double threshold = cal.threshold(m, detect::Rule::kRelative, o.one_sided_fpr);
    const auto p = eval::threshold_point(o.one_sided_fpr, rel, threshold, c.labels);
    metrics[name]["auc_relative"] = eval::roc_auc(rel, c.labels);
    metrics[name]["scores_relative"] = rel;
    metrics[name]["relative"] = {{"fpr", o.one_sided_fpr}, {"threshold", threshold}, {"tp", p.tp}, {"tn", p.tn},
                                 {"acc", p.acc}, {"sigma", f.sigma}, {"intercept", f.intercept},
                                 {"slope", f.slope}, {"r2", f.r2}};
  }
  return metrics[name];
}

// Pictures: morph strips of a few normal and anomalous test images (Fig. 2), the most
// anomalous test images, and the most anomalous VAL images (the unlabeled setting of
// Figs. 5-7: the paper looks for unusual images in the normal class's validation set).
nlohmann::json oiad_pictures(const Context& c, const detect::CalibratedDetector& d, const torch::Tensor& x,
                             const std::vector<uint8_t>& test_px, const std::vector<uint8_t>& val_px,
                             const detect::ConsistencyTable& vc, detect::Metric primary,
                             const std::vector<double>& primary_scores) {
  const ExperimentOptions& o = c.o;
  const detect::Calibration& cal = d.calibration;
  const std::vector<double>& scores = primary_scores;
  nlohmann::json pictures = {{"strips", nlohmann::json::array()}, {"grids", nlohmann::json::array()}};
  fs::create_directories(o.out + "/figures");
  std::vector<size_t> normal, anomalous;
  for (size_t i = 0; i < c.labels.size(); ++i) (c.labels[i] ? anomalous : normal).push_back(i);
  const std::string pm = detect::metric_name(primary);
  for (int l = 0; l < 2; ++l) {
    const auto chosen = picks(l ? anomalous : normal, o.strips_per_label, o.seed + 7 + uint64_t(l));
    for (size_t t = 0; t < chosen.size(); ++t) {
      const size_t i = chosen[t];
      const std::string file = std::string("figures/morphs_") + (l ? "anomalous_" : "normal_") + std::to_string(t + 1) + ".png";
      const detect::MorphStrip strip = detect::morph_strip(d, x.slice(0, int64_t(i), int64_t(i) + 1), primary, o.alpha, 3, 8);
      report::write_morph_strip(o.out + "/" + file, strip);
      const nlohmann::json info = strip.to_json();
      char cap[200];
      std::snprintf(cap, sizeof(cap), "%s test image (%s index %lld): score %.3f, %s at α = %.2f; %s SC per code shown", l ? "anomalous" : "normal",
                    c.test.source.c_str(), (long long)c.test.index[i], info["score"].get<double>(),
                    info["anomalous"].get<bool>() ? "flagged" : "passed", o.alpha, pm.c_str());
      nlohmann::json entry = {{"file", file}, {"caption", cap}, {"test_position", i}, {"codes", info["codes"]}};
      // Beside the strip, the image's change map (where it resists its morphs).
      if (d.calibration.has_metric(detect::Metric::kLocal)) {
        const std::string map_file = std::string("figures/map_") + (l ? "anomalous_" : "normal_") + std::to_string(t + 1) + ".png";
        const torch::Tensor cm = d.detector->change_maps(x.slice(0, int64_t(i), int64_t(i) + 1))[0].contiguous();
        report::write_change_map(o.out + "/" + map_file, strip.input.data(), strip.channels, strip.size, cm.data_ptr<float>());
        entry["map"] = map_file;
      }
      pictures["strips"].push_back(entry);
    }
  }
  std::vector<int> lab(c.labels.begin(), c.labels.end());
  report::write_ranked_grid(o.out + "/figures/top_test.png", test_px, c.ds.channels, c.ds.height, c.ds.width,
                            scores, report::rank_descending(scores, size_t(o.top_grid)), lab);
  pictures["grids"].push_back({{"file", "figures/top_test.png"},
                               {"caption", "the " + std::to_string(std::min<size_t>(scores.size(), size_t(o.top_grid))) +
                                               " highest-scoring reported test images (" + pm + "), with their true label"}});
  std::vector<double> val_scores;
  for (size_t i = 0; i < vc.images(); ++i) val_scores.push_back(cal.score(primary, vc.of(i, primary)));
  report::write_ranked_grid(o.out + "/figures/top_val.png", val_px, c.ds.channels, c.ds.height, c.ds.width,
                            val_scores, report::rank_descending(val_scores, size_t(o.top_grid)));
  size_t outside = 0;
  for (size_t i = 0; i < vc.images(); ++i) outside += cal.anomalous(primary, vc.of(i, primary), o.alpha);
  pictures["grids"].push_back(
      {{"file", "figures/top_val.png"},
       {"caption", "unlabeled setting (Figs. 5-7): the most anomalous VAL images of the normal class (" + pm + "); " +
                       std::to_string(outside) + " of " + std::to_string(vc.images()) +
                       " VAL images lie outside the α-intervals"}});
  return pictures;
}

class OiadMethod : public Method {
 public:
  std::string model_file() const override { return "oiad.oiad"; }

  // A model file is written only once calibrated; loading it, the calibration is made again
  // (it keeps each VAL image's consistencies, which the file does not).
  void load(const Context& c, const std::string&) override { calibrate(c); }
  void fit(const Context& c, const std::string&) override { calibrate(c); }

  std::vector<double> score(const torch::Tensor& x, torch::Tensor*) override {
    const Context& c = *c_;
    const ExperimentOptions& o = c.o;
    const detect::Calibration& cal = d_.calibration;
    primary_ = detect::parse_metric(
        std::find(o.metrics.begin(), o.metrics.end(), "ssim") != o.metrics.end() ? "ssim" : o.metrics.front());
    ProgressPrinter progress("oiad: scoring", 30.0, [&](const std::string& line) { c.log(line); }, bool(o.log));
    // On the defects protocol the local metric's change maps come from the same pass.
    want_maps_ = c.has_masks() && cal.has_metric(detect::Metric::kLocal) &&
                 std::find(o.metrics.begin(), o.metrics.end(), "local") != o.metrics.end();
    scored_ = detect::score_images(d_, x, primary_, o.alpha, detect::kCalibrationBlock, progress.counter("test images"),
                                   detect::Rule::kPaper, want_maps_ ? &change_maps_ : nullptr);
    x_ = x;
    std::vector<double> sc;
    for (const auto& s : scored_) sc.push_back(cal.score(primary_, s.of(primary_)));
    return sc;
  }

  double fit_seconds() const override { return tr_.train_seconds + calibrate_seconds_; }

  nlohmann::json details() override {
    const Context& c = *c_;
    const ExperimentOptions& o = c.o;
    nlohmann::json metrics = nlohmann::json::object();
    std::vector<double> primary_scores;
    for (const auto& name : o.metrics) {
      metrics[name] = oiad_metric(c, d_, x_, scored_, vc_, name, want_maps_ ? &change_maps_ : nullptr);
      if (detect::parse_metric(name) == primary_) primary_scores = metrics[name]["scores"].get<std::vector<double>>();
    }
    nlohmann::json pictures = {{"strips", nlohmann::json::array()}, {"grids", nlohmann::json::array()}};
    if (o.figures)
      pictures = oiad_pictures(c, d_, x_, data::gather_pixels(c.ds, c.test), val_px_, vc_, primary_, primary_scores);
    return {{"metrics", metrics},
            {"primary_metric", detect::metric_name(primary_)},
            {"preset", detect::preset_name(o.preset)},
            {"detector", d_.detector->options().to_json()},
            {"codes", d_.calibration.codes},
            {"n_val", vc_.images()},
            {"train_seconds", tr_.train_seconds},
            {"calibrate_seconds", calibrate_seconds_},
            {"final_epoch", tr_.state.history.empty() ? nlohmann::json() : tr_.state.history.back().to_json()},
            {"pictures", pictures}};
  }

 private:
  // Trains (or reuses) the Detector-VAE, calibrates it on VAL and saves it.
  void calibrate(const Context& c) {
    c_ = &c;
    const ExperimentOptions& o = c.o;
    tr_ = train_or_load(c, "oiad", model::ModelKind::kDetectorVae);
    const std::string path = o.out + "/models/" + model_file();
    const double c0 = now_seconds();
    val_px_ = data::gather_pixels(c.ds, c.split.val);
    const torch::Tensor val = to_input(c.ds, val_px_, tr_.model.net->config.input_size);
    detect::DetectorOptions dopt = detect::preset_options(o.preset);
    dopt.seed = o.seed;
    c.log("oiad: calibrating on " + std::to_string(val.size(0)) + " VAL images (preset " +
          detect::preset_name(o.preset) + ")");
    detect::DecisionRule decision = detect::preset_decision(o.preset);
    decision.alpha = o.alpha;
    decision.fpr = o.one_sided_fpr;
    detect::calibrate_into(tr_.model, dopt, val, decision, &vc_);
    model::save_model(path, tr_.model.net, tr_.model.file);
    calibrate_seconds_ = now_seconds() - c0;
    d_ = detect::calibrated_from(tr_.model, path);
  }

  const Context* c_ = nullptr;
  workflow::TrainJobResult tr_;
  detect::CalibratedDetector d_;
  detect::ConsistencyTable vc_;
  std::vector<uint8_t> val_px_;
  double calibrate_seconds_ = 0;
  detect::Metric primary_ = detect::kDefaultMetric;
  bool want_maps_ = false;
  std::vector<detect::ImageScore> scored_;
  torch::Tensor x_, change_maps_;
};

}  // namespace

std::unique_ptr<Method> make_oiad_method() { return std::make_unique<OiadMethod>(); }

}  // namespace oiad::experiment::detail

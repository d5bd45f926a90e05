// The experiment runner's LibTorch half: the split and its holdout, OIAD, VAE and DCAE, the
// pictures, and the assembly of results.json (experiment.h).
#include "oiad/experiment/experiment.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <cmath>

#include "internal.h"
#include "method.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/core/progress.h"
#include "oiad/core/random.h"
#include "oiad/core/runtime.h"
#include "oiad/data/defects.h"
#include "oiad/detect/complexity.h"
#include "oiad/detect/pipeline.h"
#include "oiad/eval/roc.h"
#include "oiad/model/preprocess.h"
#include "oiad/peers/deep_svdd.h"
#include "oiad/peers/transform_prediction.h"
#include "oiad/report/document.h"
#include "oiad/report/picture.h"
#include "oiad/workflow/train_job.h"

namespace oiad::experiment {

using detail::Context;
using detail::MethodRun;
using detail::detector_gamma;
using detail::pixel_auroc;
using detail::to_input;
using detail::train_or_load;
namespace fs = std::filesystem;

namespace {

nlohmann::json read_json_file(const std::string& path) {
  try {
    const auto bytes = read_file_bytes(path);
    return nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    throw Error(oiad::detail::concat(path, ": not valid JSON (", e.what(), "); delete it to redo that step"));
  }
}

// ---- Deep SVDD ----
// The authors' colour schedule (autoencoder 350 epochs, Deep SVDD 150) takes about 2 hours
// per CIFAR-10 class on 2 cores (docs/results.md, "Peers"); the experiment's default for
// colour images is this shortened one, about 14 minutes. Grey images keep the authors' 150 + 150.
const std::vector<int> kColourDeepSvddEpochs = {30, 50};

}  // namespace

peers::DeepSvddOptions deepsvdd_options(const ExperimentOptions& o, int channels) {
  peers::DeepSvddOptions p = peers::DeepSvddOptions::published(channels);
  p.seed = o.seed;
  const std::vector<int> epochs = !o.deepsvdd_epochs.empty() ? o.deepsvdd_epochs
                                  : channels == 3            ? kColourDeepSvddEpochs
                                                             : std::vector<int>{};
  return epochs.empty() ? p : p.with_epochs(epochs[0], epochs[1]);
}

namespace {

// ---- OIAD ----
std::vector<size_t> picks(const std::vector<size_t>& from, int k, uint64_t seed) {
  std::vector<size_t> v = from;
  Rng rng(seed);
  shuffle_in_place(v, rng);
  v.resize(std::min<size_t>(v.size(), size_t(std::max(0, k))));
  std::sort(v.begin(), v.end());
  return v;
}

MethodRun run_oiad(const Context& c) {
  const double t0 = now_seconds();
  const ExperimentOptions& o = c.o;
  workflow::TrainJobResult tr = train_or_load(c, "oiad", model::ModelKind::kDetectorVae);
  const std::string path = o.out + "/models/oiad.oiad";
  const int S = tr.model.net->config.input_size;

  // Calibration on VAL (Sec. III.D.1), keeping each VAL image's consistencies for Fig. 4.
  const double c0 = now_seconds();
  const std::vector<uint8_t> val_px = data::gather_pixels(c.ds, c.split.val);
  const torch::Tensor val = to_input(c.ds, val_px, S);
  detect::DetectorOptions dopt = detect::preset_options(o.preset);
  dopt.seed = o.seed;
  detect::ConsistencyTable vc;
  c.log("oiad: calibrating on " + std::to_string(val.size(0)) + " VAL images (preset " + detect::preset_name(o.preset) +
        ")");
  detect::DecisionRule decision = detect::preset_decision(o.preset);
  decision.alpha = o.alpha;
  decision.fpr = o.one_sided_fpr;
  detect::calibrate_into(tr.model, dopt, val, decision, &vc);
  model::save_model(path, tr.model.net, tr.model.file);
  const double calibrate_seconds = now_seconds() - c0;
  const detect::CalibratedDetector d = detect::calibrated_from(tr.model, path);
  const detect::Calibration& cal = d.calibration;

  // Scores of the reported test images: all metrics come from one pass.
  const double s0 = now_seconds();
  const std::vector<uint8_t> test_px = data::gather_pixels(c.ds, c.test);
  const torch::Tensor x = to_input(c.ds, test_px, S);
  const detect::Metric primary = detect::parse_metric(
      std::find(o.metrics.begin(), o.metrics.end(), "ssim") != o.metrics.end() ? "ssim" : o.metrics.front());
  ProgressPrinter progress("oiad: scoring", 30.0, [&](const std::string& line) { c.log(line); }, bool(o.log));
  // On the defects protocol the local metric's change maps come from the same pass.
  const bool want_maps = c.test.has_defects() && cal.has_metric(detect::Metric::kLocal) &&
                         std::find(o.metrics.begin(), o.metrics.end(), "local") != o.metrics.end();
  torch::Tensor change_maps;
  auto scored = detect::score_images(d, x, primary, o.alpha, detect::kCalibrationBlock, progress.counter("test images"), detect::Rule::kPaper,
                                     want_maps ? &change_maps : nullptr);
  const double score_seconds = now_seconds() - s0;

  MethodRun r;
  r.name = "oiad";
  r.fit_seconds = tr.train_seconds + calibrate_seconds;
  r.score_seconds = score_seconds;
  nlohmann::json metrics = nlohmann::json::object();
  const auto alphas = alpha_grid();
  std::vector<size_t> val_sizes;
  for (size_t n : {10, 20, 50, 100, 200, 500, 1000, 2000})
    if (n < vc.images()) val_sizes.push_back(n);
  val_sizes.push_back(vc.images());
  for (const auto& name : o.metrics) {
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
    if (m == detect::Metric::kLocal && want_maps) {
      // The local metric's change maps against the defect masks.
      metrics[name]["pixel_auroc"] = pixel_auroc(c, change_maps);
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
    if (m == primary) r.auc = metrics[name]["auc"], r.scores = sc;
  }

  // Pictures: morph strips of a few normal and anomalous test images (Fig. 2), the most
  // anomalous test images, and the most anomalous VAL images (the unlabeled setting of
  // Figs. 5-7: the paper looks for unusual images in the normal class's validation set).
  nlohmann::json pictures = {{"strips", nlohmann::json::array()}, {"grids", nlohmann::json::array()}};
  if (o.figures) {
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
                              r.scores, report::rank_descending(r.scores, size_t(o.top_grid)), lab);
    pictures["grids"].push_back({{"file", "figures/top_test.png"},
                                 {"caption", "the " + std::to_string(std::min<size_t>(r.scores.size(), size_t(o.top_grid))) +
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
  }
  r.details = {{"metrics", metrics},
               {"primary_metric", detect::metric_name(primary)},
               {"preset", detect::preset_name(o.preset)},
               {"detector", dopt.to_json()},
               {"codes", cal.codes},
               {"n_val", vc.images()},
               {"train_seconds", tr.train_seconds},
               {"calibrate_seconds", calibrate_seconds},
               {"final_epoch", tr.state.history.empty() ? nlohmann::json() : tr.state.history.back().to_json()},
               {"model", "models/oiad.oiad"},
               {"pictures", pictures},
               {"wall_seconds", now_seconds() - t0}};
  return r;
}

// The settings key that belongs to one method alone, and that method: a folder whose
// experiment.json lacks the key may take it on as long as the method has not run there.
const std::vector<std::pair<std::string, std::string>> kMethodSettings = {{"deepsvdd_epochs", "deepsvdd"},
                                                                          {"transforms", "transforms"}};

// Checks that `settings` are those of the experiment in o.out (when there is one); writes them
// otherwise, or adds the keys of methods that join the folder.
void join_settings(const nlohmann::json& settings, const ExperimentOptions& o, const std::string& path) {
  if (!fs::exists(path)) {
    write_file_atomic(path, settings.dump(2) + "\n");
    return;
  }
  nlohmann::json old = read_json_file(path);
  bool added = false;
  for (const auto& [k, v] : settings.items()) {
    if (!old.contains(k))
      for (const auto& [key, method] : kMethodSettings)
        if (key == k && !fs::exists(o.out + "/methods/" + method + ".json")) old[k] = v, added = true;
    OIAD_CHECK(old.contains(k) && old[k] == v, o.out, ": holds an experiment with ", k, " = ",
               old.contains(k) ? old[k].dump() : "(none)", ", not ", v.dump(), " (use another --out to start anew)");
  }
  if (added) write_file_atomic(path, old.dump(2) + "\n");
}

nlohmann::json settings_of(const data::Dataset& ds, const data::OneClassSplit& split, const ExperimentOptions& o) {
  nlohmann::json s = {{"dataset", ds.name},
          {"normal_class", split.normal_class_name},
          {"protocol", data::protocol_name(o.protocol)},
          {"seed", o.seed},
          {"limit", o.limit},
          {"preset", detect::preset_name(o.preset)},
          {"gamma", detector_gamma(o)},
          {"alpha", o.alpha},
          {"input_size", o.input_size},
          {"epochs", o.train.epochs},
          {"batch_size", o.train.batch_size},
          {"lr", o.train.lr},
          {"disc_lr", o.train.disc_lr},
          {"kl_warmup_epochs", o.train.kl_warmup_epochs},
          {"holdout_fraction", o.holdout_fraction},
          {"holdout_max", o.holdout_max},
          {"pca_dims", o.pca_dims},
          {"gmm_components", {o.gmm_min_components, o.gmm_max_components}},
          {"gmm_bic_max_samples", o.gmm_bic_max_samples},
          {"ocsvm_nu", o.ocsvm_nu},
          {"ocsvm_gamma_factors", o.ocsvm_gamma_factors}};
  if (o.protocol == data::Protocol::kDefects) s["defects"] = o.defects.empty() ? data::defect_family_names() : o.defects;
  // A peer's settings are recorded when it runs; a folder made before may take them on
  // (join_settings).
  if (uses_method(o, "deepsvdd")) {
    const auto p = deepsvdd_options(o, ds.channels);
    s["deepsvdd_epochs"] = {p.ae_epochs, p.epochs};
  }
  if (uses_method(o, "transforms"))
    s["transforms"] = {{"set", peers::transform_set_name(o.transforms.transforms)},
                       {"depth", o.transforms.depth},
                       {"widen", o.transforms.widen},
                       {"passes", o.transforms.passes},
                       {"score", o.transforms.score}};
  return s;
}

}  // namespace

namespace {

// results.json's content: the run's settings, each method's entry (OIAD's one per metric),
// the seconds; and the runs whose scores the ROC figure draws.
nlohmann::json results_of(const data::Dataset& ds, const data::OneClassSplit& split, const data::SplitPart& holdout,
                          const data::SplitPart& test, const ExperimentOptions& o, const std::vector<MethodRun>& done,
                          std::vector<MethodRun>& curves, nlohmann::json& pictures) {
  size_t n_ano = 0, hold_ano = 0;
  for (auto a : test.anomalous) n_ano += a;
  for (auto a : holdout.anomalous) hold_ano += a;
  nlohmann::json res = {{"dataset", ds.name},
                        {"normal_class", split.normal_class_name},
                        {"normal_class_index", split.normal_class},
                        {"protocol", data::protocol_name(o.protocol)},
                        {"seed", o.seed},
                        {"limit", o.limit},
                        {"n_train", split.train.size()},
                        {"n_val", split.val.size()},
                        {"n_test", test.size()},
                        {"n_test_anomalous", n_ano},
                        {"n_holdout", holdout.size()},
                        {"n_holdout_anomalous", hold_ano},
                        {"preset", detect::preset_name(o.preset)},
                        {"gamma", detector_gamma(o)},
                        {"alpha", o.alpha},
                        {"epochs", o.train.epochs},
                        {"input_size", o.input_size},
                        {"metrics", o.metrics},
                        {"machine", {{"threads", num_threads()}, {"blas_core", blas_core_name()}}},
                        {"command", o.command}};
  nlohmann::json methods = nlohmann::json::object(), oiad = nlohmann::json::object();
  double total = 0;
  for (const auto& r : done) {
    total += r.details.value("wall_seconds", r.fit_seconds + r.score_seconds);
    if (r.name == "oiad") {
      pictures = r.details.value("pictures", nlohmann::json::object());
      for (const auto& [metric, m] : r.details.at("metrics").items()) {
        nlohmann::json e = {{"auc", m.at("auc")},
                            {"fit_seconds", r.fit_seconds},
                            {"score_seconds", r.score_seconds},
                            {"auc_one_sided_mean", m.at("auc_one_sided_mean")},
                            {"tp", m.at("at_alpha").at("tp")},
                            {"tn", m.at("at_alpha").at("tn")},
                            {"acc", m.at("at_alpha").at("acc")},
                            {"preset", r.details.at("preset")},
                            {"codes_scored", r.details.at("codes").size()}};
        if (m.contains("pixel_auroc")) e["pixel_auroc"] = m.at("pixel_auroc");
        if (m.contains("auc_relative")) e["auc_relative"] = m.at("auc_relative");
        const double p = paper_auc(ds.name, split.normal_class_name, "oiad");
        if (!std::isnan(p)) e["paper_auc"] = p;
        methods["oiad_" + metric] = e;
        oiad[metric] = {{"auc", m.at("auc")},
                        {"auc_one_sided_mean", m.at("auc_one_sided_mean")},
                        {"at_alpha", m.at("at_alpha")},
                        {"sweep", m.at("sweep")},
                        {"val_size", m.at("val_size")}};
        if (m.contains("one_sided")) oiad[metric]["one_sided"] = m.at("one_sided");
        if (m.contains("relative")) {
          oiad[metric]["auc_relative"] = m.at("auc_relative");
          oiad[metric]["relative"] = m.at("relative");
        }
        MethodRun mr;
        mr.name = "oiad_" + metric;
        mr.auc = m.at("auc");
        mr.fit_seconds = r.fit_seconds, mr.score_seconds = r.score_seconds;
        mr.scores = m.at("scores").get<std::vector<double>>();
        curves.push_back(std::move(mr));
      }
      continue;
    }
    nlohmann::json e = {{"auc", r.auc}, {"fit_seconds", r.fit_seconds}, {"score_seconds", r.score_seconds}};
    for (const auto& [k, v] : r.details.items())
      if (k != "candidates" && k != "wall_seconds") e[k] = v;
    const double p = paper_auc(ds.name, split.normal_class_name, r.name);
    if (!std::isnan(p)) e["paper_auc"] = p;
    methods[r.name] = e;
    curves.push_back(r);
  }
  res["methods"] = methods;
  if (!oiad.empty()) res["oiad"] = oiad;
  res["seconds"] = total;
  return res;
}

}  // namespace

namespace {

// Every method of o.methods, in order: one finished in an earlier run is read back from
// DIR/methods/<name>.json, the others run (and are saved there as each finishes).
std::vector<MethodRun> run_methods(const Context& c, const data::SplitPart& holdout) {
  const ExperimentOptions& o = c.o;
  const data::Dataset& ds = c.ds;
  const data::OneClassSplit& split = c.split;
  const data::SplitPart& test = c.test;
  auto log = [&](const std::string& s) { c.log(s); };
  std::vector<MethodRun> done;
  bool need_features = false;
  for (const auto& m : o.methods)
    if ((m == "kde" || m == "ocsvm" || m == "gmm") && !fs::exists(o.out + "/methods/" + m + ".json")) need_features = true;
  detail::BaselineInputs features;
  if (need_features) {
    const int64_t dim = int64_t(ds.channels) * ds.height * ds.width;
    auto mat = [&](const data::SplitPart& p) { return baselines::from_pixels(data::gather_pixels(ds, p), int64_t(p.size()), dim); };
    features.train = mat(split.train), features.val = mat(split.val), features.holdout = mat(holdout),
    features.test = mat(test);
    features.holdout_labels.assign(holdout.anomalous.begin(), holdout.anomalous.end());
    features.test_labels = c.labels;
    detail::project_features(features, o);
  }
  bool pca_charged = false;
  for (const auto& m : o.methods) {
    const std::string file = o.out + "/methods/" + m + ".json";
    if (fs::exists(file)) {
      done.push_back(detail::method_from_json(read_json_file(file)));
      OIAD_CHECK(done.back().scores.size() == test.size(), file, ": has ", done.back().scores.size(),
                 " scores for ", test.size(), " test images; delete it to redo ", m);
      log(m + ": done in an earlier run (AUC " + report::fixed(done.back().auc, 4) + ")");
      continue;
    }
    log(m + ": starting");
    const double t0 = now_seconds();
    const std::unique_ptr<detail::Method> method = detail::make_method(m, c);
    MethodRun r = m == "oiad" ? run_oiad(c)
                  : method    ? detail::run_method(c, m, *method)
                              : detail::run_baseline(m, features, o);
    if (!r.details.contains("wall_seconds")) r.details["wall_seconds"] = now_seconds() - t0;
    if (r.details.contains("pca_seconds") && !pca_charged) {
      // The shared PCA ran once, before the first baseline: charge its time to that one.
      r.details["wall_seconds"] = r.details["wall_seconds"].get<double>() + features.pca_seconds;
      pca_charged = true;
    }
    write_file_atomic(file, detail::to_json(r).dump() + "\n");
    log(m + ": AUC " + report::fixed(r.auc, 4) + " (fit " + report::fixed(r.fit_seconds, 1) + " s, score " +
        report::fixed(r.score_seconds, 1) + " s)");
    done.push_back(std::move(r));
  }

  return done;
}

}  // namespace

nlohmann::json run_experiment(const data::Dataset& ds, int normal_class, const ExperimentOptions& o) {
  check_options(o);
  const double start = now_seconds();
  auto log = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  const data::OneClassSplit split = data::make_split(ds, normal_class, o.protocol, o.seed, o.limit, o.defects);
  std::vector<size_t> rest;
  const auto hold = draw_holdout(split.test, o.holdout_fraction, o.holdout_max, o.seed, rest);
  const data::SplitPart holdout = split.test.subset(hold), test = split.test.subset(rest);
  size_t n_ano = 0;
  for (auto a : test.anomalous) n_ano += a;
  OIAD_CHECK(n_ano > 0 && n_ano < test.size(), "experiment: the reported test part needs normal and anomalous images (",
             test.size(), " images, ", n_ano, " anomalous)");

  fs::create_directories(o.out + "/methods");
  fs::create_directories(o.out + "/models");
  nlohmann::json split_json = nlohmann::json::parse(split.to_json());
  split_json["holdout"] = data::part_json(holdout);
  split_json["reported_test"] = data::part_json(test);
  split_json["holdout_rule"] = "seeded sample of " + report::fixed(100 * o.holdout_fraction, 0) +
                               "% of each label of the test part (at most " + std::to_string(o.holdout_max) +
                               " images); used only to choose the baselines' PCA size and kernel width";
  const nlohmann::json settings = settings_of(ds, split, o);
  const std::string settings_path = o.out + "/experiment.json", split_path = o.out + "/split.json";
  if (fs::exists(settings_path)) {
    join_settings(settings, o, settings_path);
    OIAD_CHECK(fs::exists(split_path) && read_json_file(split_path) == split_json, split_path,
               ": differs from the split these settings make (data changed?); use another --out");
    log("experiment: resuming in " + o.out);
  } else {
    write_file_atomic(split_path, split_json.dump(1) + "\n");
    join_settings(settings, o, settings_path);
  }

  Context c{ds, split, test, o, std::vector<uint8_t>(test.anomalous.begin(), test.anomalous.end())};
  const std::vector<MethodRun> done = run_methods(c, holdout);
  std::vector<MethodRun> curves;  // one per reported method, for the ROC figure
  nlohmann::json pictures;
  nlohmann::json res = results_of(ds, split, holdout, test, o, done, curves, pictures);
  res["seconds_this_run"] = now_seconds() - start;
  detail::write_report(o.out, res, curves, c.labels, pictures.is_null() ? nlohmann::json::object() : pictures);
  write_file_atomic(o.out + "/results.json", res.dump(2) + "\n");
  return res;
}

}  // namespace oiad::experiment

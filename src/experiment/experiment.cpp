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
#include "oiad/core/build_info.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/core/progress.h"
#include "oiad/core/random.h"
#include "oiad/core/runtime.h"
#include "oiad/data/defects.h"
#include "oiad/data/resize.h"
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


// The settings key that belongs to one method alone, and that method: a folder whose
// experiment.json lacks the key may take it on as long as the method has not run there.
const std::vector<std::pair<std::string, std::string>> kMethodSettings = {
    {"deepsvdd_epochs", "deepsvdd"}, {"transforms", "transforms"}, {"recseg", "recseg"},
    {"detector", "oiad"},           {"local_form", "oiad"},        {"gmm_inits", "gmm"}};

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
  if (o.tile) s["tile"] = {{"side", o.input_size}, {"stride", o.tile_stride}, {"tiles", o.tiles}};
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
  // OIAD's morph search and local score as this build runs them under o.preset (the preset's
  // parameters, not only its name, which has meant different searches over time).
  if (uses_method(o, "oiad")) {
    detect::DetectorOptions d = detect::preset_options(o.preset);
    d.seed = o.seed;
    s["detector"] = d.to_json();
    if (std::find(o.metrics.begin(), o.metrics.end(), "local") != o.metrics.end()) {
      s["local_form"] = {{"smooth", detect::kLocalSmooth},
                         {"top_fraction", detect::kLocalTopFraction},
                         {"codes_equal", detect::Calibration{}.local_codes_equal}};
      // Where maps are measured against masks: the change map's box (the standard's own,
      // since 2026-12-07; unsmoothed before).
      if (o.protocol == data::Protocol::kDefects || o.protocol == data::Protocol::kInspection)
        s["local_form"]["map_smooth"] = detect::kLocalSmooth;
    }
  }
  if (uses_method(o, "gmm")) s["gmm_inits"] = baselines::Gmm::kDefaultInits;
  if (uses_method(o, "recseg"))
    s["recseg"] = {{"rec_width", o.recseg.rec_width},   {"seg_width", o.recseg.seg_width},
                   {"steps", o.recseg.steps},           {"batch_size", o.recseg.batch_size},
                   {"lr", o.recseg.lr},                 {"anomaly_probability", o.recseg.anomaly_probability},
                   {"filter", o.recseg.filter},         {"source", o.recseg_source},
                   {"sources", o.recseg_sources}};
  return s;
}

}  // namespace

namespace {

// Where and when a method or a cell ran: the build's commit, the time (UTC), the CPU, the
// threads and BLAS kernels (so a recorded cell's seconds and AUCs can be traced).
nlohmann::json provenance() {
  return {{"commit", build_commit()},
          {"date", utc_now()},
          {"cpu", cpu_model()},
          {"threads", num_threads()},
          {"blas_core", blas_core_name()}};
}

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
                        {"machine", {{"threads", num_threads()}, {"blas_core", blas_core_name()}, {"cpu", cpu_model()}}},
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
        if (r.details.contains("run")) e["run"] = r.details.at("run");
        for (const char* k : {"pixel_auroc", "aupro", "pixel_images", "per_kind"})
          if (m.contains(k)) e[k] = m.at(k);
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
    MethodRun r = method ? detail::run_method(c, m, *method) : detail::run_baseline(m, features, o);
    if (!r.details.contains("wall_seconds")) r.details["wall_seconds"] = now_seconds() - t0;
    r.details["run"] = provenance();
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

nlohmann::json run_experiment(const data::Dataset& native, int normal_class, const ExperimentOptions& o) {
  check_options(o);
  const double start = now_seconds();
  auto log = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  // Images of mixed sizes, or larger than the network, are brought to its side once, here:
  // every method (the feature baselines included) sees the network-size images; pixel
  // measures go back to each image's own size and mask.
  data::Dataset converted;
  if (data::needs_resize(native, o.input_size)) {
    log("experiment: images " + (native.mixed_sizes() ? std::string("of mixed sizes")
                                                      : std::to_string(native.width) + "x" + std::to_string(native.height)) +
        " resized to " + std::to_string(o.input_size) + "x" + std::to_string(o.input_size));
    converted = data::resized(native, o.input_size);
  }
  const data::Dataset& ds = data::needs_resize(native, o.input_size) ? converted : native;
  const data::OneClassSplit split = data::make_split(ds, normal_class, o.protocol, o.seed, o.limit, o.defects);
  std::vector<size_t> rest;
  const auto hold = draw_holdout(split.test, o.holdout_fraction, o.holdout_max, o.seed, rest);
  const data::SplitPart holdout = split.test.subset(hold), test = split.test.subset(rest);
  size_t n_ano = 0;
  for (auto a : test.anomalous) n_ano += a;
  OIAD_CHECK(n_ano > 0 && n_ano < test.size(), "experiment: the reported test part needs normal and anomalous images (",
             test.size(), " images, ", n_ano, " anomalous)");

  if (o.configuration_only) return settings_of(ds, split, o);
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

  Context c{ds, native, split, test, o, std::vector<uint8_t>(test.anomalous.begin(), test.anomalous.end())};
  if (const size_t missing = anomalous_without_mask(native, test))
    log("experiment: " + std::to_string(missing) + " anomalous test images have no mask: they count in the image " +
        "metrics only");
  const std::vector<MethodRun> done = run_methods(c, holdout);
  std::vector<MethodRun> curves;  // one per reported method, for the ROC figure
  nlohmann::json pictures;
  nlohmann::json res = results_of(ds, split, holdout, test, o, done, curves, pictures);
  res["seconds_this_run"] = now_seconds() - start;
  // The whole configuration (experiment.json, with the keys of methods that joined later) and
  // where this results.json was assembled; each method's own "run" says where it ran.
  res["configuration"] = read_json_file(settings_path);
  res["provenance"] = provenance();
  detail::write_report(o.out, res, curves, c.labels, pictures.is_null() ? nlohmann::json::object() : pictures);
  write_file_atomic(o.out + "/results.json", res.dump(2) + "\n");
  return res;
}

}  // namespace oiad::experiment

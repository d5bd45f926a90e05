// oiad calibrate | score | find | inspect | compare | evaluate: the OIAD detector.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "cli_images.h"
#include "commands.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/core/parse.h"
#include "oiad/core/progress.h"
#include "oiad/data/readers.h"
#include "oiad/detect/complexity.h"
#include "oiad/detect/pipeline.h"
#include "oiad/dist/group.h"
#include "oiad/eval/roc.h"
#include "oiad/experiment/experiment.h"
#include "oiad/model/preprocess.h"
#include "oiad/report/picture.h"

namespace oiad::cli {

namespace {

using Clock = std::chrono::steady_clock;

// ---- calibrate ----
struct CalibrateOptions {
  std::string model, data, preset = "default";
  DecisionFlags decision;  // stored as the model's default decision (the preset's unless given)
  std::string morphs;  // empty: the preset's N; a number; or "auto" (choose_morphs)
  double morphs_epsilon = 0.1;
  std::optional<double> duplicate_tolerance;  // not given: the preset's
  int top_k = 0;
  std::string select = "all";
  std::optional<std::string> placement;  // not given: the preset's
  std::optional<double> radius_step;     // not given: the preset's
  int64_t limit = 0;
  uint64_t seed = 0;
};

void run_calibrate(const CalibrateOptions& o) {
  // NaN passes CLI11's range checks: check finiteness here, before any work.
  OIAD_CHECK_USAGE(std::isfinite(o.morphs_epsilon) && o.morphs_epsilon > 0, "calibrate: --morphs-epsilon ",
                   o.morphs_epsilon, " must be a finite number > 0");
  if (o.duplicate_tolerance)
    OIAD_CHECK_USAGE(std::isfinite(*o.duplicate_tolerance) && *o.duplicate_tolerance >= 0 &&
                         *o.duplicate_tolerance <= 10,
                     "calibrate: --duplicate-tolerance ", *o.duplicate_tolerance, " outside [0, 10]");
  if (o.radius_step)
    OIAD_CHECK_USAGE(std::isfinite(*o.radius_step) && *o.radius_step >= 1e-3 && *o.radius_step <= 10,
                     "calibrate: --radius-step ", *o.radius_step, " outside [0.001, 10]");
  model::LoadedModel m = model::load_model(o.model);
  const model::ModelKind kind = m.net->config.kind;
  OIAD_CHECK_USAGE(detect::scorer_of(kind) == detect::Scorer::kStructureConsistency ||
                       (o.morphs.empty() && !o.duplicate_tolerance && !o.placement && !o.radius_step && o.top_k == 0 &&
                        o.select == "all"),
                   "calibrate: ", o.model, " is a ", model::kind_name(kind),
                   " model, scored by its reconstruction error: the morph-search options apply to detector models");
  const detect::DecisionRule decision =
      apply_decision_flags(detect::preset_decision_for(o.preset, kind), o.decision, "calibrate", /*both_levels=*/true);
  ImageSelection val = select_images(m, o.data, o.data.empty() ? "val" : "train", o.limit);
  detect::DetectorOptions opt = detect::preset_options(o.preset);
  const bool choose = o.morphs == "auto";
  OIAD_CHECK_USAGE(!choose || !launch().distributed(), "calibrate: --morphs auto runs as one process (world size ",
                   launch().world_size, ")");
  if (!choose && !o.morphs.empty()) {
    const auto v = parse_integer(o.morphs);
    OIAD_CHECK_USAGE(v && *v >= 1 && *v <= 10000, "calibrate: --morphs '", printable(o.morphs),
                     "' is neither a number in [1, 10000] nor 'auto'");
    const int n = int(*v);
    if (n != opt.morphs) opt.morphs = n, opt.preset = "custom";
  }
  if (o.duplicate_tolerance && *o.duplicate_tolerance != opt.duplicate_tolerance)
    opt.duplicate_tolerance = *o.duplicate_tolerance, opt.preset = "custom";
  opt.top_k = o.top_k;
  opt.code_selection = o.select;
  if (o.placement && *o.placement != opt.placement) opt.placement = *o.placement, opt.preset = "custom";
  if (o.radius_step && *o.radius_step != opt.radius_step) opt.radius_step = *o.radius_step, opt.preset = "custom";
  opt.seed = o.seed;
  const auto t0 = Clock::now();
  const torch::Tensor x = selection_input(m, val, false, "calibration images");
  nlohmann::json choice;
  if (choose) {
    const detect::MorphsChoice c = detect::choose_morphs(m, opt, x, o.morphs_epsilon);
    choice = c.to_json();
    for (const auto& st : c.steps)
      std::fprintf(stderr, "calibrate: N = %d: worst search-noise / VAL-spread ratio %.3f (code %d, %s)\n", st.morphs,
                   st.worst_ratio, st.worst_code, detect::metric_name(st.worst_metric).c_str());
    if (!c.met)
      std::fprintf(stderr, "calibrate: no N up to %d brings the ratio to %.3g; using N = %d\n", c.morphs,
                   o.morphs_epsilon, c.morphs);
    if (c.morphs != opt.morphs) opt.morphs = c.morphs, opt.preset = "custom";
  }
  if (!launch().distributed()) {
    detect::calibrate_into(m, opt, x, decision);
  } else {
    // Each rank computes the VAL consistencies of its share; every rank gets them all and
    // fits the same calibration; rank 0 writes it.
    dist::Group group(launch());
    detect::calibrate_into(m, opt, x, decision, nullptr, detect::sharded_consistency_pass(group));
    if (group.rank() != 0) return;
  }
  if (choose) m.file.meta["calibration"]["morphs_choice"] = choice;
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  m.file.save(o.model);
  nlohmann::json out{{"model", o.model},
                     {"preset", opt.preset},
                     {"morphs", opt.morphs},
                     {"duplicate_tolerance", opt.duplicate_tolerance},
                     {"radius_step", opt.radius_step},
                     {"rule", detect::rule_name(decision.rule)},
                     {"alpha", decision.alpha},
                     {"fpr", decision.fpr},
                     {"n_val", val.n},
                     {"scorer", detect::scorer_name(detect::scorer_of(kind))},
                     {"codes", m.file.meta["calibration"].value("codes", nlohmann::json::array())},
                     {"seconds", secs}};
  if (choose) out["morphs_choice"] = choice;
  print_json_line(out.dump());
}

// ---- score ----
// The JSON fields of a decision: the rule, its level and (one-sided, relative) the threshold.
void add_decision_fields(nlohmann::json& j, const detect::ScoringPlan& p) {
  j["rule"] = detect::rule_name(p.decision.rule);
  if (p.decision.rule == detect::Rule::kPaper) {
    j["alpha"] = p.decision.alpha;
  } else {
    j["fpr"] = p.decision.fpr;
    j["threshold"] = p.threshold;
  }
}

nlohmann::json json_number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

// Scores images as one process, or, when the launch has several ranks, each rank its
// contiguous share in whole blocks of the kCalibrationBlock that one process scores together,
// gathered on rank 0 in input order: rank 0 gets what one process with the same thread count
// gets (every metric), the other ranks an empty list.
detect::ScoreResult score_on_every_rank(const char* command, const detect::CalibratedDetector& d,
                                        const torch::Tensor& x, detect::ScoreOptions so, ProgressPrinter& progress) {
  so.progress = progress.counter();
  if (!launch().distributed()) return detect::score(d, x, so);
  dist::Group group(launch());
  const auto [begin, end] = dist::shard(x.size(0), group.rank(), group.size(), so.block);
  detect::ScoreResult part = detect::score(d, x.slice(0, begin, end), so);
  // Per image: score, decision, p-value, most extreme code, then per metric its count and values.
  std::vector<double> mine;
  for (const auto& sc : part.images) {
    mine.insert(mine.end(), {sc.score, double(sc.anomalous), sc.p_value, double(sc.most_extreme_code)});
    for (const auto& c : sc.consistency) {
      mine.push_back(double(c.size()));
      mine.insert(mine.end(), c.begin(), c.end());
    }
  }
  const auto all = group.all_gather(mine);
  detect::ScoreResult r;
  r.plan = part.plan;
  if (group.rank() != 0) return r;
  for (const auto& values : all)
    for (size_t at = 0; at < values.size();) {
      detect::ImageScore sc;
      sc.score = values[at];
      sc.anomalous = values[at + 1] != 0;
      sc.p_value = values[at + 2];
      sc.most_extreme_code = int(values[at + 3]);
      at += 4;
      for (auto& c : sc.consistency) {
        const size_t k = size_t(values[at]);
        c.assign(values.begin() + ptrdiff_t(at + 1), values.begin() + ptrdiff_t(at + 1 + k));
        at += 1 + k;
      }
      r.images.push_back(std::move(sc));
    }
  OIAD_CHECK(int64_t(r.images.size()) == x.size(0), command, ": gathered ", r.images.size(), " results for ",
             x.size(0), " images");
  return r;
}

// --metric: the structure-consistency metric of a detector model; not given: the default (ssim).
std::optional<detect::Metric> metric_flag(const std::string& name) {
  if (name.empty()) return std::nullopt;
  return detect::parse_metric(name);
}

struct ScoreOptions {
  std::string model, data, split = "test", metric, out;
  std::vector<std::string> images;
  DecisionFlags decision;  // not given: the calibration's default decision
  int64_t limit = 0;
  bool resize = false;
  bool reference_decoder = false;
  bool exit_status = false;
};

int run_score(const ScoreOptions& o) {
  check_out_is_not_an_input("score", o.out, {o.model});
  check_can_write("score", o.out);
  detect::CalibratedDetector d = detect::load_detector(o.model, true);
  if (o.reference_decoder) detect::set_fast_decoder(d, false);
  detect::ScoreOptions so;
  so.metric = metric_flag(o.metric);
  so.decision = o.decision;
  const detect::ScoringPlan plan = detect::plan_scoring(d, so, "score", "--");
  OIAD_CHECK_USAGE(o.images.empty() || o.data.empty(), "score: give --data SPEC or image files, not both");
  ImageSelection s = o.images.empty() ? select_images(d.model, o.data, o.split, o.limit) : read_image_files(o.images);
  auto x = selection_input(d.model, s, o.resize, o.images.empty() ? (o.data.empty() ? "data" : o.data) : s.ids[0]);
  ProgressPrinter progress("score");
  const detect::ScoreResult scored = score_on_every_rank("score", d, x, so, progress);
  if (launch().distributed() && launch().rank != 0) return 0;
  std::string out;
  bool any = false;
  for (size_t i = 0; i < scored.images.size(); ++i) {
    const detect::ImageScore& sc = scored.images[i];
    nlohmann::json j = {{"id", s.ids[i]}};
    if (s.labels[i] >= 0) j["label"] = s.labels[i];
    j["score"] = sc.score;
    j["anomalous"] = sc.anomalous;
    j["metric"] = plan.score_name;
    add_decision_fields(j, plan);
    j["p_value"] = json_number(sc.p_value);
    if (plan.scorer == detect::Scorer::kStructureConsistency) {
      j["most_extreme_code"] = sc.most_extreme_code;
      j["consistency"] = sc.of(plan.metric);
    }
    out += j.dump() + "\n";
    any = any || sc.anomalous;
  }
  write_output(o.out, out);
  return o.exit_status && any ? kExitAnomalous : 0;
}

// ---- evaluate ----
struct EvaluateOptions {
  std::string model, out;
  int64_t limit = 0;
  bool record = false;
  DecisionFlags decision;  // the one-sided F and the paper α reported (default: the calibration's)
};

// Per structure-consistency metric: the paper rule's AUC and decisions at α, the one-sided
// and relative rules' AUCs and decisions at F (calibrations that predate a rule report none),
// and under "decision" the default rule's. A metric the calibration lacks (the local metric
// of a calibration written before it existed) is left out. Fills each image's entry of
// `image_metrics`; returns {metric: results}.
nlohmann::json evaluate_consistency(const detect::CalibratedDetector& d, const torch::Tensor& x,
                                    const std::vector<detect::ImageScore>& scores, const std::vector<uint8_t>& labels,
                                    const detect::DecisionRule& levels, std::vector<nlohmann::json>& image_metrics) {
  nlohmann::json metrics = nlohmann::json::object();
  for (int mi = 0; mi < detect::kNumMetrics; ++mi) {
    const auto metric = detect::Metric(mi);
    const auto& cal = d.calibration;
    if (!cal.has_metric(metric)) continue;
    const bool one = cal.has_one_sided(metric), rel = one && cal.has_relative(metric);
    std::vector<double> sc, one_sided, relative;
    std::vector<uint8_t> flagged;
    const detect::OneSidedScorer one_sided_score = one ? cal.one_sided_scorer(metric) : detect::OneSidedScorer{};
    const torch::Tensor cx =
        rel ? detect::complexity(x, metric, cal.relative[size_t(metric)].sigma).contiguous() : torch::Tensor();
    for (size_t i = 0; i < scores.size(); ++i) {
      const auto& c = scores[i].of(metric);
      sc.push_back(cal.score(metric, c));
      flagged.push_back(cal.anomalous(metric, c, levels.alpha));
      auto& im = image_metrics[i][detect::metric_name(metric)];
      im = {{"score", sc.back()}, {"consistency", c}};
      const double pp = cal.p_value(metric, detect::Rule::kPaper, sc.back());
      im["p_value"] = std::isnan(pp) ? nlohmann::json(nullptr) : nlohmann::json(pp);
      if (one) {
        one_sided.push_back(one_sided_score(c));
        im["one_sided_score"] = one_sided.back();
        im["one_sided_p_value"] = cal.p_value(metric, detect::Rule::kOneSided, one_sided.back());
      }
      if (rel) {
        relative.push_back(one_sided.back() - cal.relative[size_t(metric)].predict(cx.data_ptr<double>()[i]));
        im["relative_score"] = relative.back();
        im["relative_p_value"] = cal.p_value(metric, detect::Rule::kRelative, relative.back());
      }
    }
    const auto at = eval::sweep_point(levels.alpha, flagged, labels);
    auto& mj = metrics[detect::metric_name(metric)];
    mj = {{"auc", eval::roc_auc(sc, labels)}, {"tp", at.tp}, {"tn", at.tn}, {"acc", at.acc}};
    if (one) {
      mj["auc_one_sided_mean"] = eval::roc_auc(one_sided, labels);
      const double threshold = cal.one_sided_threshold(metric, levels.fpr);
      const auto p = eval::threshold_point(levels.fpr, one_sided, threshold, labels);
      mj["one_sided"] = {{"fpr", levels.fpr}, {"threshold", threshold}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc}};
    }
    if (rel) {
      const auto& f = cal.relative[size_t(metric)];
      mj["auc_relative"] = eval::roc_auc(relative, labels);
      const double threshold = cal.threshold(metric, detect::Rule::kRelative, levels.fpr);
      const auto p = eval::threshold_point(levels.fpr, relative, threshold, labels);
      mj["relative"] = {{"fpr", levels.fpr}, {"threshold", threshold}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc},
                        {"sigma", f.sigma}, {"intercept", f.intercept}, {"slope", f.slope}, {"r2", f.r2}};
    }
    if (levels.rule == detect::Rule::kPaper)
      mj["decision"] = {{"rule", "paper"}, {"alpha", levels.alpha}, {"tp", at.tp}, {"tn", at.tn}, {"acc", at.acc}};
    else if (levels.rule == detect::Rule::kRelative ? rel : one) {
      const auto& k = mj[levels.rule == detect::Rule::kRelative ? "relative" : "one_sided"];
      mj["decision"] = {{"rule", detect::rule_name(levels.rule)}, {"fpr", levels.fpr}, {"tp", k["tp"]},
                        {"tn", k["tn"]}, {"acc", k["acc"]}};
    }
  }
  return metrics;
}

// A reconstruction model: its one score, the AUC and the one-sided decision at F.
nlohmann::json evaluate_reconstruction(const detect::ScoreResult& scored, const std::vector<uint8_t>& labels,
                                       std::vector<nlohmann::json>& image_metrics) {
  std::vector<double> sc;
  for (size_t i = 0; i < scored.images.size(); ++i) {
    const auto& im = scored.images[i];
    sc.push_back(im.score);
    image_metrics[i]["reconstruction"] = {{"score", im.score}, {"p_value", json_number(im.p_value)}};
  }
  const double f = scored.plan.decision.fpr;
  const auto p = eval::threshold_point(f, sc, scored.plan.threshold, labels);
  const nlohmann::json one = {{"fpr", f}, {"threshold", scored.plan.threshold}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc}};
  nlohmann::json decision = {{"rule", "one-sided"}, {"fpr", f}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc}};
  return {{"reconstruction", {{"auc", eval::roc_auc(sc, labels)}, {"one_sided", one}, {"decision", decision}}}};
}

void run_evaluate(const EvaluateOptions& o) {
  OIAD_CHECK_USAGE(!o.decision.rule, "evaluate: reports every rule; set their levels with --alpha and --fpr");
  check_can_write_folder("evaluate", o.out);
  detect::CalibratedDetector d = detect::load_detector(o.model, true);
  const bool reconstruction = d.scorer == detect::Scorer::kReconstruction;
  OIAD_CHECK_USAGE(!reconstruction || !o.decision.alpha, "evaluate: ", o.model, " is a ",
                   model::kind_name(d.model.net->config.kind),
                   " model, decided by the one-sided rule on its reconstruction error: --alpha does not apply");
  const detect::DecisionRule levels =
      apply_decision_flags(d.default_decision(), o.decision, "evaluate", /*both_levels=*/true);
  ImageSelection s = select_images(d.model, "", "test", o.limit);
  auto x = selection_input(d.model, s, false, "test images");
  const auto t0 = Clock::now();
  ProgressPrinter progress("evaluate");
  // Detector models: every metric's consistencies come from one pass (scored here under the
  // paper rule at α; the other rules are computed from them below).
  detect::ScoreOptions so;
  if (reconstruction) {
    so.decision.fpr = levels.fpr;
  } else {
    so.decision.rule = detect::rule_name(detect::Rule::kPaper);
    so.decision.alpha = levels.alpha;
  }
  const detect::ScoreResult scored = score_on_every_rank("evaluate", d, x, so, progress);
  if (launch().distributed() && launch().rank != 0) return;  // rank 0 reports
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<uint8_t> labels(s.labels.begin(), s.labels.end());
  const std::string kind = model::kind_name(d.model.net->config.kind);
  nlohmann::json res = {{"model", o.model},
                        {"kind", kind},
                        {"scorer", detect::scorer_name(d.scorer)},
                        {"dataset", d.model.file.meta.value("dataset", "")},
                        {"normal_class", d.model.file.meta.value("normal_class_name", "")},
                        {"protocol", d.model.file.meta.value("protocol", "")},
                        {"n_test", s.n},
                        {"rule", detect::rule_name(levels.rule)},
                        {"fpr", levels.fpr},
                        {"score_seconds", secs},
                        {"images_per_s", double(s.n) / std::max(secs, 1e-9)}};
  if (!reconstruction) {
    res["alpha"] = levels.alpha;
    res["preset"] = d.detector->options().preset;
    res["morphs"] = d.detector->options().morphs;
    res["codes_scored"] = d.calibration.codes.size();
  }
  // The paper's Table II AUC of this kind of model for this data set and class, where it has one.
  const double paper = experiment::paper_auc(res["dataset"], res["normal_class"], reconstruction ? kind : "oiad");
  if (!std::isnan(paper)) res["paper_auc"] = paper;
  std::vector<nlohmann::json> image_metrics(scored.images.size(), nlohmann::json::object());
  res["metrics"] = reconstruction ? evaluate_reconstruction(scored, labels, image_metrics)
                                  : evaluate_consistency(d, x, scored.images, labels, levels, image_metrics);
  if (o.record) {
    // The AUCs go into the model file (the service's model card shows them).
    const std::string main_metric = reconstruction ? "reconstruction" : "ssim";
    nlohmann::json aucs = nlohmann::json::object();
    for (const auto& [name, mj] : res["metrics"].items()) aucs[name] = mj["auc"];
    model::ModelFile file = d.model.file;
    file.meta["evaluation"] = {{"auc", aucs.value(main_metric, nlohmann::json(nullptr))},
                               {"metric", main_metric},
                               {"aucs", aucs},
                               {"n_test", s.n},
                               {"limit", o.limit}};
    file.save(o.model);
    res["recorded"] = true;
  }
  if (!o.out.empty()) {
    std::filesystem::create_directories(o.out);
    std::string lines;
    for (size_t i = 0; i < scored.images.size(); ++i) {
      nlohmann::json j = {{"id", s.ids[i]}, {"label", s.labels[i]}};
      j.update(image_metrics[i]);
      lines += j.dump() + "\n";
    }
    // Written as a pair: both files are on disk before either replaces an older one, so a
    // full disk leaves the previous pair (or none), never a results.json without its scores.
    write_files_atomic({{o.out + "/scores.jsonl", lines}, {o.out + "/results.json", res.dump(2) + "\n"}});
    res["out"] = o.out;
  }
  print_json_line(res.dump());
}

// ---- find ----
struct FindOptions {
  std::string model, data, split = "cle", metric, out;
  DecisionFlags decision;  // not given: the calibration's default decision
  int top = 16;
  int64_t limit = 0;
  bool resize = false;
};

void run_find(const FindOptions& o) {
  OIAD_CHECK_USAGE(o.top >= 1, "find: --top must be >= 1");
  check_out_is_not_an_input("find", o.out, {o.model, o.data});
  check_can_write("find", o.out);
  detect::CalibratedDetector d = detect::load_detector(o.model, true);
  detect::ScoreOptions so;
  so.metric = metric_flag(o.metric);
  so.decision = o.decision;
  const detect::ScoringPlan plan = detect::plan_scoring(d, so, "find", "--");
  const std::string model_data = d.model.file.meta.value("dataset", "");
  const std::string split = (o.data.empty() || o.data == model_data) ? o.split : (o.split == "cle" ? "test" : o.split);
  ImageSelection s = select_images(d.model, o.data, split, o.limit);
  auto x = selection_input(d.model, s, o.resize, o.data.empty() ? model_data : o.data);
  ProgressPrinter progress("find");
  so.progress = progress.counter();
  const std::vector<detect::ImageScore> scores = detect::score(d, x, so).images;
  std::vector<double> values;
  for (const auto& sc : scores) values.push_back(sc.score);
  const std::vector<size_t> order = report::rank_descending(values, size_t(o.top));
  nlohmann::json found = nlohmann::json::array();
  for (size_t r = 0; r < order.size(); ++r) {
    const size_t i = order[r];
    nlohmann::json j = {{"rank", r + 1}, {"id", s.ids[i]}, {"score", scores[i].score},
                        {"anomalous", scores[i].anomalous}, {"p_value", json_number(scores[i].p_value)}};
    if (plan.scorer == detect::Scorer::kStructureConsistency) j["most_extreme_code"] = scores[i].most_extreme_code;
    if (s.labels[i] >= 0) j["label"] = s.labels[i];
    found.push_back(j);
  }
  if (!o.out.empty()) report::write_ranked_grid(o.out, s.pixels, s.channels, s.height, s.width, values, order);
  size_t flagged = 0;
  for (const auto& sc : scores) flagged += sc.anomalous;
  print_json_line(nlohmann::json{{"scored", s.n},
                                 {"flagged", flagged},
                                 {"rule", detect::rule_name(plan.decision.rule)},
                                 {plan.decision.rule == detect::Rule::kPaper ? "alpha" : "fpr", plan.level},
                                 {"metric", plan.score_name},
                                 {"grid", o.out},
                                 {"top", found}}
                      .dump());
}

// ---- inspect ----
struct InspectOptions {
  std::string model, image, metric, out, map;
  int codes = 3;
  int morphs_shown = 8;
  bool resize = false;
};

void run_inspect(const InspectOptions& o) {
  OIAD_CHECK_USAGE(!o.out.empty() || !o.map.empty(), "inspect: give --out strip.png, --map map.png or both");
  OIAD_CHECK_USAGE(o.out.empty() || o.map.empty() ||
                       std::filesystem::weakly_canonical(o.out) != std::filesystem::weakly_canonical(o.map),
                   "inspect: --out and --map name the same file");
  for (const std::string* f : {&o.out, &o.map})
    if (!f->empty()) {
      check_out_is_not_an_input("inspect", *f, {o.model, o.image});
      check_can_write("inspect", *f);
    }
  detect::CalibratedDetector d = detect::load_detector(o.model, true);
  const bool reconstruction = d.scorer == detect::Scorer::kReconstruction;
  OIAD_CHECK_USAGE(!reconstruction || o.out.empty(), "inspect: ", o.model, " is a ",
                   model::kind_name(d.model.net->config.kind),
                   " model, scored by its reconstruction error: it has no morph strip (--out); --map shows its "
                   "per-pixel error");
  detect::ScoreOptions so;
  so.metric = metric_flag(o.metric);
  so.change_maps = !o.map.empty();
  detect::plan_scoring(d, so, "inspect", "--");
  ImageSelection s = read_image_files({o.image});
  auto x = selection_input(d.model, s, o.resize, o.image);
  nlohmann::json r;
  if (!reconstruction) {
    const detect::MorphStrip strip = detect::morph_strip(d, x, so.metric.value_or(detect::Metric::kSsim),
                                                         d.calibration.alpha, o.codes, o.morphs_shown);
    r = strip.to_json();
    if (!o.out.empty()) report::write_morph_strip(o.out, strip), r["strip"] = o.out;
  }
  r["image"] = o.image;
  if (!o.map.empty()) {
    // The map comes from the scoring pass: the local metric's (detector models, scored under
    // the paper rule at the calibration's α as the strip is) or the per-pixel error.
    if (!reconstruction) {
      so.metric = detect::Metric::kLocal;
      so.decision.rule = detect::rule_name(detect::Rule::kPaper);
      so.decision.alpha = d.calibration.alpha;
    }
    const detect::ScoreResult scored = detect::score(d, x, so);
    if (reconstruction) r["score"] = scored.images[0].score, r["anomalous"] = scored.images[0].anomalous;
    const torch::Tensor m = scored.change_maps[0].contiguous();
    const std::vector<uint8_t> input = model::input_to_bytes(x[0]);
    report::write_change_map(o.map, input.data(), int(x.size(1)), int(x.size(2)), m.data_ptr<float>());
    r["map"] = o.map;
    r["map_max"] = m.max().item<double>();
  }
  print_json_line(r.dump());
}

// ---- compare ----
void run_compare(const std::string& a, const std::string& b) {
  data::DecodedImage x = data::read_image_file(a), y = data::read_image_file(b);
  OIAD_CHECK(x.channels == y.channels && x.height == y.height && x.width == y.width, b, ": ", y.width, "x", y.height,
             "x", y.channels, " differs from ", a, " (", x.width, "x", x.height, "x", x.channels, ")");
  auto tx = torch::from_blob(x.chw.data(), {1, x.channels, x.height, x.width}, torch::kUInt8).to(torch::kDouble) / 255.0;
  auto ty = torch::from_blob(y.chw.data(), {1, y.channels, y.height, y.width}, torch::kUInt8).to(torch::kDouble) / 255.0;
  OIAD_CHECK(x.height >= 11 && x.width >= 11, a, ": SSIM needs images of at least 11x11 pixels");
  print_json_line(nlohmann::json{{"mse", detect::mse(tx, ty).item<double>()}, {"ssim", detect::ssim(tx, ty).item<double>()}}
                      .dump());
}

}  // namespace

void add_detect_commands(CLI::App& app, Runner& run) {
  {
    auto o = std::make_shared<CalibrateOptions>();
    CLI::App* c = app.add_subcommand("calibrate", "fit normal ranges and VAL consistency distributions (Sec. III.D.1)");
    c->add_option("--model", o->model, "model file (calibration is added to it)")->required();
    c->add_option("--data", o->data, "calibrate on this data set's train split instead of the model's VAL part");
    c->add_option("--preset", o->preset,
                  "paper (N = 100 morphs per code, every code; decides by the paper's rule at α = 0.4) or default "
                  "(N = 5 quasi-placed over radius steps of 0.2, duplicate codes once; decides by the one-sided rule at "
                  "F = 0.05)")
        ->check(CLI::IsMember(detect::preset_names()))
        ->capture_default_str();
    add_decision_flags(c, o->decision, "the default decision stored with the calibration (default: the preset's)");
    c->add_option("--morphs", o->morphs,
                  "N, PR-morphs per code, instead of the preset's (preset becomes 'custom'; the preset's radius step "
                  "stays: 0.2 for default, sized for N = 5, so give --radius-step 0.1 with N >= 10); 'auto': the smallest "
                  "of 10, 20, 40, 70, 100 at which the search noise of every code's VAL consistency is at most "
                  "--morphs-epsilon times its spread over VAL (label-free)");
    c->add_option("--morphs-epsilon", o->morphs_epsilon, "tolerance of --morphs auto (noise sd / VAL sd)")
        ->check(CLI::Range(1e-6, 1e6))
        ->capture_default_str();
    c->add_option("--duplicate-tolerance", o->duplicate_tolerance,
                  "score codes whose VAL consistencies duplicate another's (within this many VAL sd) once; "
                  "0 keeps every code (default: the preset's, 0.05 for default, 0 for paper)")
        ->check(CLI::Range(0.0, 10.0));
    c->add_option("--top-k", o->top_k, "use only k codes (0: all)")->check(CLI::NonNegativeNumber);
    c->add_option("--select", o->select, "how to pick the k codes: all, precision or spread")
        ->check(CLI::IsMember(detect::code_selection_names()))
        ->capture_default_str();
    c->add_option("--placement", o->placement,
                  "where the morph search draws: random (the paper's) or quasi (golden-ratio sequence, evenly "
                  "spread) (default: the preset's)")
        ->check(CLI::IsMember(detect::placement_names()));
    c->add_option("--radius-step", o->radius_step,
                  "Δr of the morph search as a share of the code's normal range: round t draws within ±t·Δr of the "
                  "code's value (default: the preset's, 0.2 for default, 0.1 for paper)");
    c->add_option("--limit", o->limit, "cap the calibration images")->check(CLI::NonNegativeNumber);
    c->add_option("--seed", o->seed, "seed of the morph search")->capture_default_str();
    c->callback([&run, o] { run = [o] { run_calibrate(*o); return 0; }; });
  }
  {
    auto o = std::make_shared<ScoreOptions>();
    CLI::App* c = app.add_subcommand(
        "score", "score images: one JSON line each (id, label, score, anomalous, p_value, consistency)");
    c->add_option("--model", o->model, "calibrated model file")->required();
    c->add_option("--data", o->data, "data set (default: the model's, with its split)");
    c->add_option("--split", o->split, "train, val, test or cle (the model's split); train or test of another set")
        ->capture_default_str();
    c->add_option("--limit", o->limit, "score a seeded random subset of this many images")->check(CLI::NonNegativeNumber);
    add_metric_option(c, o->metric);
    add_decision_flags(c, o->decision, "the decision (default: the calibration's, one-sided at F = 0.05 unless "
                                       "calibrated with --preset paper)");
    c->add_flag("--resize", o->resize, "resize images of another size or channel count to the model's");
    c->add_option("--out", o->out, "write JSON lines here instead of stdout");
    c->add_flag("--exit-status", o->exit_status, "exit 3 when any scored image is anomalous (0 otherwise), like grep");
    c->add_option("images", o->images, "image files to score (instead of --data)");
    c->add_flag("--reference-decoder", o->reference_decoder,
                "decode morphs with LibTorch's own layers instead of the fast path (slower; same scores to 1e-5)");
    c->callback([&run, o] { run = [o] { return run_score(*o); }; });
  }
  {
    auto o = std::make_shared<EvaluateOptions>();
    CLI::App* c = app.add_subcommand(
        "evaluate", "AUC and decisions (every rule) of every metric on the model's test split, per-image p-values");
    c->add_option("--model", o->model, "calibrated model file")->required();
    c->add_option("--limit", o->limit, "score a seeded random subset of the test images")->check(CLI::NonNegativeNumber);
    c->add_option("--out", o->out, "folder for results.json and scores.jsonl");
    c->add_flag("--record", o->record,
                "store the AUCs in the model file (\"evaluation\"; `oiad serve` shows them on the model card)");
    c->add_option("--fpr", o->decision.fpr, "F of the one-sided rule's decisions, in (0, 1) (default: the calibration's)");
    c->add_option("--alpha", o->decision.alpha, "α of the paper rule's decisions, in (0, 0.5] (default: the calibration's)");
    c->callback([&run, o] { run = [o] { run_evaluate(*o); return 0; }; });
  }
  {
    auto o = std::make_shared<FindOptions>();
    CLI::App* c = app.add_subcommand("find", "the K most anomalous images of a set, as a picture grid (Sec. IV.D)");
    c->add_option("--model", o->model, "calibrated model file")->required();
    c->add_option("--data", o->data, "data set or folder (default: the model's)");
    c->add_option("--split", o->split, "cle (normal test images, default), val, test, train")->capture_default_str();
    c->add_option("--top", o->top, "how many images")->capture_default_str();
    add_decision_flags(c, o->decision, "rank and decide by this rule (default: the calibration's)");
    c->add_option("--limit", o->limit, "look at a seeded random subset of this many images")->check(CLI::NonNegativeNumber);
    add_metric_option(c, o->metric);
    c->add_flag("--resize", o->resize, "resize images of another size or channel count to the model's");
    c->add_option("--out", o->out, "PNG grid to write");
    c->callback([&run, o] { run = [o] { run_find(*o); return 0; }; });
  }
  {
    auto o = std::make_shared<InspectOptions>();
    CLI::App* c = app.add_subcommand("inspect", "Fig. 2 for one image: its PR-morphs along the most telling codes, and its change map");
    c->add_option("--model", o->model, "calibrated model file")->required();
    c->add_option("image", o->image, "image file")->required();
    c->add_option("--codes", o->codes, "how many codes to show")->capture_default_str();
    add_metric_option(c, o->metric);
    c->add_flag("--resize", o->resize, "resize an image of another size to the model's");
    c->add_option("--out", o->out, "PNG strip to write");
    c->add_option("--map", o->map,
                  "PNG to write: the image with its change map (where it resists its morphs, in VAL standard "
                  "deviations of the local metric) overlaid in colour");
    c->callback([&run, o] { run = [o] { run_inspect(*o); return 0; }; });
  }
  {
    auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
    CLI::App* c = app.add_subcommand("compare", "MSE and SSIM of two image files of one size (pixels in [0, 1])");
    c->add_option("a", *a, "first image")->required();
    c->add_option("b", *b, "second image")->required();
    c->callback([&run, a, b] { run = [a, b] { run_compare(*a, *b); return 0; }; });
  }
}

}  // namespace oiad::cli

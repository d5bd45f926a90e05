// oiad evaluate: AUCs and decisions of every rule and metric on a model's test split.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "cli_images.h"
#include "cli_scoring.h"
#include "commands.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/core/parse.h"
#include "oiad/core/progress.h"
#include "oiad/data/readers.h"
#include "oiad/data/split.h"
#include "oiad/detect/complexity.h"
#include "oiad/detect/pipeline.h"
#include "oiad/dist/group.h"
#include "oiad/eval/roc.h"
#include "oiad/experiment/experiment.h"
#include "oiad/experiment/pixel_measures.h"
#include "oiad/model/preprocess.h"
#include "oiad/report/picture.h"

namespace oiad::cli {

namespace {

using Clock = std::chrono::steady_clock;

// ---- evaluate ----
struct EvaluateOptions {
  std::string model, out;
  int64_t sample = 0;
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

// A reconstruction or segmentation model: its one score (named `name`), the AUC and the
// one-sided decision at F.
nlohmann::json evaluate_single(const std::string& name, const detect::ScoreResult& scored,
                               const std::vector<uint8_t>& labels, std::vector<nlohmann::json>& image_metrics) {
  std::vector<double> sc;
  for (size_t i = 0; i < scored.images.size(); ++i) {
    const auto& im = scored.images[i];
    sc.push_back(im.score);
    image_metrics[i][name] = {{"score", im.score}, {"p_value", json_number(im.p_value)}};
  }
  const double f = scored.plan.decision.fpr;
  const auto p = eval::threshold_point(f, sc, scored.plan.threshold, labels);
  const nlohmann::json one = {{"fpr", f}, {"threshold", scored.plan.threshold}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc}};
  nlohmann::json decision = {{"rule", "one-sided"}, {"fpr", f}, {"tp", p.tp}, {"tn", p.tn}, {"acc", p.acc}};
  return {{name, {{"auc", eval::roc_auc(sc, labels)}, {"one_sided", one}, {"decision", decision}}}};
}

void run_evaluate(const EvaluateOptions& o) {
  OIAD_CHECK_USAGE(!o.decision.rule, "evaluate: reports every rule; set their levels with --alpha and --fpr");
  check_can_write_folder("evaluate", o.out);
  detect::CalibratedDetector d = detect::load_detector(o.model, true);
  // Reconstruction and segmentation models: one score, named after the scorer.
  const bool single = d.single_score();
  const std::string single_name = detect::scorer_name(d.scorer);
  OIAD_CHECK_USAGE(!single || !o.decision.alpha, "evaluate: ", o.model, " is a ",
                   model::kind_name(d.model.config().kind), " model, decided by the one-sided rule on ",
                   detect::single_score_text(d.scorer), ": --alpha does not apply");
  const detect::DecisionRule levels =
      apply_decision_flags(d.default_decision(), o.decision, "evaluate", /*both_levels=*/true);
  ChosenImages chosen = choose_images(d.model, "", "test", o.sample);
  ImageSelection s = gather_selection(d.model, chosen);
  auto x = selection_input(d.model, s, false, "test images");
  // Pixel measures where the test images have masks (ground truth or synthetic defects) and
  // the model draws maps; the maps come from the same pass as the scores.
  const data::Dataset& native = chosen.at_own_size();
  const bool masks = data::has_masks(native, chosen.part) || chosen.part.has_defects();
  if (masks && !d.has_change_maps())
    std::cerr << "evaluate: no pixel measures: the calibration has no local values (run `oiad calibrate`)\n";
  if (const size_t missing = experiment::anomalous_without_mask(native, chosen.part))
    std::cerr << "evaluate: " << missing << " anomalous test images have no mask: they count in the image "
              << "metrics only\n";
  const auto t0 = Clock::now();
  ProgressPrinter progress("evaluate");
  // Detector models: every metric's consistencies come from one pass (scored here under the
  // paper rule at α; the other rules are computed from them below).
  detect::ScoreOptions so;
  if (single) {
    so.decision.fpr = levels.fpr;
  } else {
    so.decision.rule = detect::rule_name(detect::Rule::kPaper);
    so.decision.alpha = levels.alpha;
  }
  so.change_maps = masks && d.has_change_maps();
  const detect::ScoreResult scored = score_on_every_rank("evaluate", d, x, so, progress);
  if (launch().distributed() && launch().rank != 0) return;  // rank 0 reports
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<uint8_t> labels(s.labels.begin(), s.labels.end());
  const std::string kind = model::kind_name(d.model.config().kind);
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
  if (!single) {
    res["alpha"] = levels.alpha;
    res["preset"] = detect::preset_name(d.detector->options().preset);
    res["morphs"] = d.detector->options().morphs;
    res["codes_scored"] = d.calibration.codes.size();
  }
  // The paper's Table II AUC of this kind of model for this data set and class, where it has one.
  const double paper = experiment::paper_auc(res["dataset"], res["normal_class"], single ? kind : "oiad");
  if (!std::isnan(paper)) res["paper_auc"] = paper;
  std::vector<nlohmann::json> image_metrics(scored.images.size(), nlohmann::json::object());
  res["metrics"] = single ? evaluate_single(single_name, scored, labels, image_metrics)
                          : evaluate_consistency(d, x, scored.images, labels, levels, image_metrics);
  if (so.change_maps) {
    // The map's measures join the entry of the score it belongs to: the local metric's, or
    // the reconstruction error's or segmentation score's.
    const nlohmann::json pm = experiment::pixel_measures(chosen.ds, native, chosen.part, scored.change_maps);
    if (pm.is_object()) res["metrics"][single ? single_name : "local"].update(pm);
  }
  if (o.record) {
    // The AUCs go into the model file (the service's model card shows them).
    const std::string main_metric = single ? single_name : "ssim";
    nlohmann::json aucs = nlohmann::json::object();
    for (const auto& [name, mj] : res["metrics"].items()) aucs[name] = mj["auc"];
    model::ModelFile file = d.model.file;
    file.meta["evaluation"] = {{"auc", aucs.value(main_metric, nlohmann::json(nullptr))},
                               {"metric", main_metric},
                               {"aucs", aucs},
                               {"n_test", s.n},
                               {"limit", o.sample}};
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

}  // namespace

void add_evaluate_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<EvaluateOptions>();
  CLI::App* c = app.add_subcommand(
      "evaluate", "AUC and decisions (every rule) of every metric on the model's test split, per-image p-values");
  allow_distributed(c);
  add_model_file(c, o->model);
  add_sample_option(c, o->sample, "test images");
  c->add_option("--out", o->out, "folder for results.json and scores.jsonl");
  c->add_flag("--record", o->record,
              "store the AUCs in the model file (\"evaluation\"; `oiad serve` shows them on the model card)");
  add_decision_flags(c, o->decision, "the levels of the decisions reported (default: the calibration's); every "
                                     "rule is reported, so --rule is refused");
  c->callback([&run, o] { run = [o] { run_evaluate(*o); return 0; }; });
}

}  // namespace oiad::cli

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
#include "commands.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/core/progress.h"
#include "oiad/data/readers.h"
#include "oiad/detect/pipeline.h"
#include "oiad/eval/roc.h"
#include "oiad/experiment/experiment.h"
#include "oiad/model/preprocess.h"
#include "oiad/report/picture.h"

namespace oiad::cli {

namespace {

using Clock = std::chrono::steady_clock;

torch::Tensor selection_input(const model::LoadedModel& m, const ImageSelection& s, bool resize, const std::string& what) {
  return model::model_input(m, s.pixels.data(), s.n, s.channels, s.height, s.width, resize, what);
}

// ---- calibrate ----
struct CalibrateOptions {
  std::string model, data, preset = "default";
  double alpha = 0.4;
  std::string morphs;  // empty: the preset's N; a number; or "auto" (choose_morphs)
  double morphs_epsilon = 0.1;
  double duplicate_tolerance = -1;  // < 0: the preset's
  int top_k = 0;
  std::string select = "all";
  int64_t limit = 0;
  uint64_t seed = 0;
};

void run_calibrate(const CalibrateOptions& o) {
  detect::check_alpha(o.alpha);
  model::LoadedModel m = model::load_model(o.model);
  ImageSelection val = select_images(m, o.data, o.data.empty() ? "val" : "train", o.limit);
  detect::DetectorOptions opt = detect::preset_options(o.preset);
  const bool choose = o.morphs == "auto";
  if (!choose && !o.morphs.empty()) {
    int n = 0;
    size_t used = 0;
    try {
      n = std::stoi(o.morphs, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    OIAD_CHECK_USAGE(used == o.morphs.size() && n >= 1 && n <= 10000, "calibrate: --morphs '", o.morphs,
                     "' is neither a number in [1, 10000] nor 'auto'");
    if (n != opt.morphs) opt.morphs = n, opt.preset = "custom";
  }
  if (o.duplicate_tolerance >= 0 && o.duplicate_tolerance != opt.duplicate_tolerance)
    opt.duplicate_tolerance = o.duplicate_tolerance, opt.preset = "custom";
  opt.top_k = o.top_k;
  opt.code_selection = o.select;
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
  detect::calibrate_into(m, opt, x, o.alpha);
  if (choose) m.file.meta["calibration"]["morphs_choice"] = choice;
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  m.file.save(o.model);
  nlohmann::json out{{"model", o.model},
                     {"preset", opt.preset},
                     {"morphs", opt.morphs},
                     {"duplicate_tolerance", opt.duplicate_tolerance},
                     {"alpha", o.alpha},
                     {"n_val", val.n},
                     {"codes", m.file.meta["calibration"]["codes"]},
                     {"seconds", secs}};
  if (choose) out["morphs_choice"] = choice;
  print_json_line(out.dump());
}

// ---- score ----
/// The one-sided rule's VAL false-positive rate when --fpr is not given.
constexpr double kDefaultFpr = 0.05;

/// An option value that was not given on the command line.
constexpr double kNotGiven = std::numeric_limits<double>::quiet_NaN();
bool given(double v) { return !std::isnan(v); }

/// --alpha belongs to the paper rule and --fpr to the one-sided one.
void check_rule_levels(const char* command, detect::Rule rule, double alpha, double fpr) {
  if (rule == detect::Rule::kPaper)
    OIAD_CHECK_USAGE(!given(fpr), command, ": --fpr belongs to --rule one-sided; the paper rule takes --alpha");
  else
    OIAD_CHECK_USAGE(!given(alpha), command, ": --alpha belongs to the paper rule; the one-sided rule takes --fpr");
}

struct ScoreOptions {
  std::string model, data, split = "test", metric = "ssim", rule = "paper", out;
  std::vector<std::string> images;
  double alpha = kNotGiven, fpr = kNotGiven;  // not given: the calibration's α, kDefaultFpr
  int64_t limit = 0;
  bool resize = false;
  bool reference_decoder = false;
};

void run_score(const ScoreOptions& o) {
  detect::CalibratedDetector d = detect::load_detector(o.model, true);
  if (o.reference_decoder) detect::set_fast_decoder(d, false);
  const detect::Rule rule = detect::parse_rule(o.rule);
  const double alpha = given(o.alpha) ? o.alpha : d.calibration.alpha;
  if (rule == detect::Rule::kPaper) detect::check_alpha(alpha);
  check_rule_levels("score", rule, o.alpha, o.fpr);
  const double fpr = given(o.fpr) ? o.fpr : kDefaultFpr;
  const detect::Metric metric = detect::parse_metric(o.metric);
  const double level = rule == detect::Rule::kPaper ? alpha : fpr;
  const double threshold = rule == detect::Rule::kPaper ? 0.0 : d.calibration.one_sided_threshold(metric, fpr);
  OIAD_CHECK_USAGE(o.images.empty() || o.data.empty(), "score: give --data SPEC or image files, not both");
  ImageSelection s = o.images.empty() ? select_images(d.model, o.data, o.split, o.limit) : read_image_files(o.images);
  auto x = selection_input(d.model, s, o.resize, o.images.empty() ? (o.data.empty() ? "data" : o.data) : s.ids[0]);
  ProgressPrinter progress("score");
  auto scores = detect::score_images(d, x, metric, level, 64, progress.counter(), rule);
  std::string out;
  for (size_t i = 0; i < scores.size(); ++i) {
    nlohmann::json j = {{"id", s.ids[i]}};
    if (s.labels[i] >= 0) j["label"] = s.labels[i];
    j["score"] = scores[i].score;
    j["anomalous"] = scores[i].anomalous;
    j["metric"] = o.metric;
    j["rule"] = o.rule;
    if (rule == detect::Rule::kPaper) {
      j["alpha"] = alpha;
    } else {
      j["fpr"] = fpr;
      j["threshold"] = threshold;
    }
    j["most_extreme_code"] = scores[i].most_extreme_code;
    j["consistency"] = scores[i].of(metric);
    out += j.dump() + "\n";
  }
  write_output(o.out, out);
}

// ---- evaluate ----
struct EvaluateOptions {
  std::string model, out;
  int64_t limit = 0;
  double fpr = kDefaultFpr;
};

void run_evaluate(const EvaluateOptions& o) {
  detect::check_fpr(o.fpr);
  detect::CalibratedDetector d = detect::load_detector(o.model, true);
  ImageSelection s = select_images(d.model, "", "test", o.limit);
  auto x = selection_input(d.model, s, false, "test images");
  const auto t0 = Clock::now();
  ProgressPrinter progress("evaluate");
  auto scores = detect::score_images(d, x, detect::Metric::kSsim, d.calibration.alpha, 64, progress.counter());
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<uint8_t> labels(s.labels.begin(), s.labels.end());
  nlohmann::json res = {{"model", o.model},
                        {"dataset", d.model.file.meta.value("dataset", "")},
                        {"normal_class", d.model.file.meta.value("normal_class_name", "")},
                        {"protocol", d.model.file.meta.value("protocol", "")},
                        {"n_test", s.n},
                        {"alpha", d.calibration.alpha},
                        {"preset", d.detector->options().preset},
                        {"morphs", d.detector->options().morphs},
                        {"codes_scored", d.calibration.codes.size()},
                        {"score_seconds", secs},
                        {"images_per_s", double(s.n) / std::max(secs, 1e-9)}};
  // The paper's Table II AUC of OIAD for this data set and class, where it has one.
  const double paper = experiment::paper_auc(res["dataset"], res["normal_class"], "oiad");
  if (!std::isnan(paper)) res["paper_auc"] = paper;
  for (int mi = 0; mi < detect::kNumMetrics; ++mi) {
    const auto metric = detect::Metric(mi);
    std::vector<double> sc, one_sided;
    std::vector<uint8_t> flagged;
    const detect::OneSidedScorer one_sided_score = d.calibration.one_sided_scorer(metric);
    for (const auto& r : scores) {
      sc.push_back(d.calibration.score(metric, r.of(metric)));
      one_sided.push_back(one_sided_score(r.of(metric)));
      flagged.push_back(d.calibration.anomalous(metric, r.of(metric), d.calibration.alpha));
    }
    const auto at = eval::sweep_point(d.calibration.alpha, flagged, labels);
    auto& mj = res["metrics"][detect::metric_name(metric)];
    mj = {{"auc", eval::roc_auc(sc, labels)}, {"tp", at.tp}, {"tn", at.tn}, {"acc", at.acc},
          {"auc_one_sided_mean", eval::roc_auc(one_sided, labels)}};
    // The one-sided rule's decisions at the VAL false-positive rate --fpr (calibrations that
    // predate the rule have no VAL one-sided scores and report none).
    if (d.calibration.has_one_sided(metric)) {
      const double threshold = d.calibration.one_sided_threshold(metric, o.fpr);
      const auto one = eval::threshold_point(o.fpr, one_sided, threshold, labels);
      mj["one_sided"] = {{"fpr", o.fpr}, {"threshold", threshold}, {"tp", one.tp}, {"tn", one.tn}, {"acc", one.acc}};
    }
  }
  if (!o.out.empty()) {
    std::filesystem::create_directories(o.out);
    write_file_atomic(o.out + "/results.json", res.dump(2) + "\n");
    std::string lines;
    for (size_t i = 0; i < scores.size(); ++i) {
      nlohmann::json j = {{"id", s.ids[i]}, {"label", s.labels[i]}};
      for (int mi = 0; mi < detect::kNumMetrics; ++mi) {
        const auto metric = detect::Metric(mi);
        j[detect::metric_name(metric)] = {{"score", d.calibration.score(metric, scores[i].of(metric))},
                                          {"consistency", scores[i].of(metric)}};
      }
      lines += j.dump() + "\n";
    }
    write_file_atomic(o.out + "/scores.jsonl", lines);
    res["out"] = o.out;
  }
  print_json_line(res.dump());
}

// ---- find ----
struct FindOptions {
  std::string model, data, split = "cle", metric = "ssim", rule = "paper", out;
  double fpr = kNotGiven;  // not given: kDefaultFpr
  int top = 16;
  int64_t limit = 0;
  bool resize = false;
};

void run_find(const FindOptions& o) {
  OIAD_CHECK_USAGE(o.top >= 1, "find: --top must be >= 1");
  detect::CalibratedDetector d = detect::load_detector(o.model, true);
  const detect::Metric metric = detect::parse_metric(o.metric);
  const std::string model_data = d.model.file.meta.value("dataset", "");
  const std::string split = (o.data.empty() || o.data == model_data) ? o.split : (o.split == "cle" ? "test" : o.split);
  ImageSelection s = select_images(d.model, o.data, split, o.limit);
  auto x = selection_input(d.model, s, o.resize, o.data.empty() ? model_data : o.data);
  const detect::Rule rule = detect::parse_rule(o.rule);
  check_rule_levels("find", rule, kNotGiven, o.fpr);
  const double level = rule == detect::Rule::kPaper ? d.calibration.alpha : (given(o.fpr) ? o.fpr : kDefaultFpr);
  ProgressPrinter progress("find");
  auto scores = detect::score_images(d, x, metric, level, 64, progress.counter(), rule);
  std::vector<double> values;
  for (const auto& sc : scores) values.push_back(sc.score);
  const std::vector<size_t> order = report::rank_descending(values, size_t(o.top));
  nlohmann::json found = nlohmann::json::array();
  for (size_t r = 0; r < order.size(); ++r) {
    const size_t i = order[r];
    nlohmann::json j = {{"rank", r + 1}, {"id", s.ids[i]}, {"score", scores[i].score},
                        {"anomalous", scores[i].anomalous}, {"most_extreme_code", scores[i].most_extreme_code}};
    if (s.labels[i] >= 0) j["label"] = s.labels[i];
    found.push_back(j);
  }
  if (!o.out.empty()) report::write_ranked_grid(o.out, s.pixels, s.channels, s.height, s.width, values, order);
  size_t flagged = 0;
  for (const auto& sc : scores) flagged += sc.anomalous;
  print_json_line(nlohmann::json{{"scored", s.n},
                                 {"flagged", flagged},
                                 {"rule", o.rule},
                                 {rule == detect::Rule::kPaper ? "alpha" : "fpr", level},
                                 {"metric", o.metric},
                                 {"grid", o.out},
                                 {"top", found}}
                      .dump());
}

// ---- inspect ----
struct InspectOptions {
  std::string model, image, metric = "ssim", out;
  int codes = 3;
  int morphs_shown = 8;
  bool resize = false;
};

void run_inspect(const InspectOptions& o) {
  OIAD_CHECK_USAGE(!o.out.empty(), "inspect: --out strip.png is required");
  detect::CalibratedDetector d = detect::load_detector(o.model, true);
  const detect::Metric metric = detect::parse_metric(o.metric);
  ImageSelection s = read_image_files({o.image});
  auto x = selection_input(d.model, s, o.resize, o.image);
  const detect::MorphStrip strip = detect::morph_strip(d, x, metric, d.calibration.alpha, o.codes, o.morphs_shown);
  report::write_morph_strip(o.out, strip);
  nlohmann::json r = strip.to_json();
  r["image"] = o.image;
  r["strip"] = o.out;
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
    c->add_option("--preset", o->preset, "paper (N = 100 morphs per code) or default (faster)")
        ->check(CLI::IsMember(detect::preset_names()))
        ->capture_default_str();
    c->add_option("--alpha", o->alpha, "default α for decisions, in (0, 0.5]")->capture_default_str();
    c->add_option("--morphs", o->morphs,
                  "N, PR-morphs per code, instead of the preset's (preset becomes 'custom'); 'auto': the smallest "
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
    c->add_option("--limit", o->limit, "cap the calibration images")->check(CLI::NonNegativeNumber);
    c->add_option("--seed", o->seed, "seed of the morph search")->capture_default_str();
    c->callback([&run, o] { run = [o] { run_calibrate(*o); }; });
  }
  {
    auto o = std::make_shared<ScoreOptions>();
    CLI::App* c = app.add_subcommand("score", "score images: one JSON line each (id, label, score, anomalous, consistency)");
    c->add_option("--model", o->model, "calibrated model file")->required();
    c->add_option("--data", o->data, "data set (default: the model's, with its split)");
    c->add_option("--split", o->split, "train, val, test or cle (the model's split); train or test of another set")
        ->capture_default_str();
    c->add_option("--limit", o->limit, "score a seeded random subset of this many images")->check(CLI::NonNegativeNumber);
    c->add_option("--metric", o->metric, "ssim, mse or loss")->check(CLI::IsMember(detect::metric_names()))->capture_default_str();
    c->add_option("--alpha", o->alpha, "α in (0, 0.5] of the paper rule (default: the calibration's)");
    c->add_option("--rule", o->rule, "paper (two-sided α rule, Sec. III.D) or one-sided (mean standardised SC, a variant)")
        ->check(CLI::IsMember(detect::rule_names()))->capture_default_str();
    c->add_option("--fpr", o->fpr, "one-sided rule: share of normal VAL images flagged, in (0, 1) (default: 0.05)");
    c->add_flag("--resize", o->resize, "resize images of another size or channel count to the model's");
    c->add_option("--out", o->out, "write JSON lines here instead of stdout");
    c->add_option("images", o->images, "image files to score (instead of --data)");
    c->add_flag("--reference-decoder", o->reference_decoder,
                "decode morphs with LibTorch's own layers instead of the fast path (slower; same scores to 1e-5)");
    c->callback([&run, o] { run = [o] { run_score(*o); }; });
  }
  {
    auto o = std::make_shared<EvaluateOptions>();
    CLI::App* c = app.add_subcommand("evaluate", "AUC and TP/TN at α of every metric on the model's test split");
    c->add_option("--model", o->model, "calibrated model file")->required();
    c->add_option("--limit", o->limit, "score a seeded random subset of the test images")->check(CLI::NonNegativeNumber);
    c->add_option("--out", o->out, "folder for results.json and scores.jsonl");
    c->add_option("--fpr", o->fpr, "one-sided rule's decisions: share of normal VAL images flagged, in (0, 1)")
        ->capture_default_str();
    c->callback([&run, o] { run = [o] { run_evaluate(*o); }; });
  }
  {
    auto o = std::make_shared<FindOptions>();
    CLI::App* c = app.add_subcommand("find", "the K most anomalous images of a set, as a picture grid (Sec. IV.D)");
    c->add_option("--model", o->model, "calibrated model file")->required();
    c->add_option("--data", o->data, "data set or folder (default: the model's)");
    c->add_option("--split", o->split, "cle (normal test images, default), val, test, train")->capture_default_str();
    c->add_option("--top", o->top, "how many images")->capture_default_str();
    c->add_option("--rule", o->rule, "rank by the paper rule's score or the one-sided score")
        ->check(CLI::IsMember(detect::rule_names()))->capture_default_str();
    c->add_option("--fpr", o->fpr, "one-sided rule: share of normal VAL images flagged, in (0, 1) (default: 0.05)");
    c->add_option("--limit", o->limit, "look at a seeded random subset of this many images")->check(CLI::NonNegativeNumber);
    c->add_option("--metric", o->metric, "ssim, mse or loss")->check(CLI::IsMember(detect::metric_names()))->capture_default_str();
    c->add_flag("--resize", o->resize, "resize images of another size or channel count to the model's");
    c->add_option("--out", o->out, "PNG grid to write");
    c->callback([&run, o] { run = [o] { run_find(*o); }; });
  }
  {
    auto o = std::make_shared<InspectOptions>();
    CLI::App* c = app.add_subcommand("inspect", "Fig. 2 for one image: its PR-morphs along the most telling codes");
    c->add_option("--model", o->model, "calibrated model file")->required();
    c->add_option("image", o->image, "image file")->required();
    c->add_option("--codes", o->codes, "how many codes to show")->capture_default_str();
    c->add_option("--metric", o->metric, "ssim, mse or loss")->check(CLI::IsMember(detect::metric_names()))->capture_default_str();
    c->add_flag("--resize", o->resize, "resize an image of another size to the model's");
    c->add_option("--out", o->out, "PNG strip to write")->required();
    c->callback([&run, o] { run = [o] { run_inspect(*o); }; });
  }
  {
    auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
    CLI::App* c = app.add_subcommand("compare", "MSE and SSIM of two image files of one size (pixels in [0, 1])");
    c->add_option("a", *a, "first image")->required();
    c->add_option("b", *b, "second image")->required();
    c->callback([&run, a, b] { run = [a, b] { run_compare(*a, *b); }; });
  }
}

}  // namespace oiad::cli

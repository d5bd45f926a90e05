// oiad score | find: scores of images, one line each, or the most anomalous as a grid.
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
#include "oiad/detect/complexity.h"
#include "oiad/detect/pipeline.h"
#include "oiad/detect/tiling.h"
#include "oiad/dist/group.h"
#include "oiad/eval/roc.h"
#include "oiad/experiment/experiment.h"
#include "oiad/model/preprocess.h"
#include "oiad/report/picture.h"

namespace oiad::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct ScoreOptions {
  std::string model, data, split = "test", metric, out;
  std::vector<std::string> images;
  DecisionFlags decision;  // not given: the calibration's default decision
  int64_t sample = 0;
  bool resize = false;
  bool reference_decoder = false;
  bool exit_status = false;
};

// A tiled model (trained with --tile): each image at its own size, tile by tile; the image
// score is the highest tile score, decided by the one-sided rule on whole VAL images.
int run_score_tiled(const ScoreOptions& o, const detect::CalibratedDetector& d) {
  const detect::TileCalibration t = detect::tile_calibration(d.model, o.model);
  OIAD_CHECK_USAGE(o.metric.empty() || o.metric == t.score_name, "score: the tiled model scores its tiles by ",
                   t.score_name, " (chosen at training); --metric ", o.metric, " does not apply");
  OIAD_CHECK_USAGE((!o.decision.rule || *o.decision.rule == detect::rule_name(detect::Rule::kOneSided)) &&
                       !o.decision.alpha,
                   "score: a tiled model decides by the one-sided rule on whole images (--fpr)");
  const double f = o.decision.fpr.value_or(t.fpr);
  const double threshold = t.threshold(f);
  OIAD_CHECK_USAGE(o.images.empty() || o.data.empty(), "score: give --data SPEC or image files, not both");
  OIAD_CHECK_USAGE(!launch().distributed(), "score: a tiled model scores on one process");
  std::vector<data::DecodedImage> files;
  ChosenImages chosen;
  std::vector<std::string> ids;
  std::vector<int> labels;
  if (o.images.empty()) {
    chosen = choose_images(d.model, o.data, o.split, o.sample);
    ids = chosen.ids, labels = chosen.labels;
  } else {
    for (const std::string& p : o.images) {
      files.push_back(data::read_image_file(p));
      OIAD_CHECK_USAGE(files.back().channels == d.model.config().channels, p, ": ", files.back().channels,
                       " channel(s), the model expects ", d.model.config().channels);
      ids.push_back(p);
      labels.push_back(-1);
    }
  }
  std::string out;
  bool any = false;
  ProgressPrinter progress("score");
  for (size_t i = 0; i < ids.size(); ++i) {
    const data::ImageView v =
        files.empty() ? chosen.ds.image(chosen.part.source, chosen.part.index[i])
                      : data::ImageView{files[i].channels, files[i].height, files[i].width, files[i].chw.data(), nullptr};
    const detect::TiledScore r = detect::score_tiled(d, t, v, f, false);
    nlohmann::json j = {{"id", ids[i]}};
    if (labels[i] >= 0) j["label"] = labels[i];
    j["score"] = r.image.score;
    j["anomalous"] = r.image.anomalous;
    j["metric"] = t.score_name;
    j["rule"] = detect::rule_name(detect::Rule::kOneSided);
    j["fpr"] = f;
    j["threshold"] = threshold;
    j["p_value"] = json_number(r.image.p_value);
    j["tiles"] = r.layout.count();
    j["worst_tile"] = {{"y", r.layout.y(r.worst_tile)}, {"x", r.layout.x(r.worst_tile)}, {"side", t.side}};
    out += j.dump() + "\n";
    any = any || r.image.anomalous;
    progress.count(int64_t(i + 1), int64_t(ids.size()));
  }
  write_output(o.out, out);
  return o.exit_status && any ? kExitAnomalous : 0;
}

int run_score(const ScoreOptions& o) {
  check_out_is_not_an_input("score", o.out, {o.model});
  check_can_write("score", o.out);
  detect::CalibratedDetector d = detect::load_detector(o.model, true);
  if (o.reference_decoder) detect::set_fast_decoder(d, false);
  if (detect::is_tiled(d.model)) return run_score_tiled(o, d);
  detect::ScoreOptions so;
  so.metric = metric_flag(o.metric);
  so.decision = o.decision;
  const detect::ScoringPlan plan = detect::plan_scoring(d, so, "score", "--");
  OIAD_CHECK_USAGE(o.images.empty() || o.data.empty(), "score: give --data SPEC or image files, not both");
  ImageSelection s = o.images.empty() ? select_images(d.model, o.data, o.split, o.sample) : read_image_files(o.images);
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

// ---- find ----
struct FindOptions {
  std::string model, data, split = "cle", metric, out;
  DecisionFlags decision;  // not given: the calibration's default decision
  int top = 16;
  int64_t sample = 0;
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
  ImageSelection s = select_images(d.model, o.data, split, o.sample);
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

}  // namespace

void add_score_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<ScoreOptions>();
  CLI::App* c = app.add_subcommand(
      "score", "score images: one JSON line each (id, label, score, anomalous, p_value, consistency)");
  allow_distributed(c);
  add_model_file(c, o->model);
  add_data_option(c, o->data, "data set (default: the model's, with its split)");
  c->add_option("--split", o->split, "train, val, test or cle (the model's split); train or test of another set")
      ->capture_default_str();
  add_sample_option(c, o->sample, "images");
  add_metric_option(c, o->metric);
  add_decision_flags(c, o->decision, "the decision (default: the one stored with the model's calibration)");
  c->add_flag("--resize", o->resize, "resize images of another size or channel count to the model's");
  c->add_option("--out", o->out, "write JSON lines here instead of stdout");
  c->add_flag("--exit-status", o->exit_status, "exit 3 when any scored image is anomalous (0 otherwise), like grep");
  c->add_option("images", o->images, "image files to score (instead of --data)");
  c->add_flag("--reference-decoder", o->reference_decoder,
              "decode morphs with LibTorch's own layers instead of the fast path (slower; same scores to 1e-5)");
  c->callback([&run, o] { run = [o] { return run_score(*o); }; });
}

void add_find_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<FindOptions>();
  CLI::App* c = app.add_subcommand("find", "the K most anomalous images of a set, as a picture grid (Sec. IV.D)");
  add_model_file(c, o->model);
  add_data_option(c, o->data, "data set or folder (default: the model's)");
  c->add_option("--split", o->split, "cle (normal test images, default), val, test, train")->capture_default_str();
  c->add_option("--top", o->top, "how many images")->capture_default_str();
  add_decision_flags(c, o->decision, "rank and decide by this rule (default: the calibration's)");
  add_sample_option(c, o->sample, "images");
  add_metric_option(c, o->metric);
  c->add_flag("--resize", o->resize, "resize images of another size or channel count to the model's");
  c->add_option("--out", o->out, "PNG grid to write");
  c->callback([&run, o] { run = [o] { run_find(*o); return 0; }; });
}

}  // namespace oiad::cli

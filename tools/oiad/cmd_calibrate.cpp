// oiad calibrate: fit a model's normal ranges and VAL distributions (Sec. III.D.1), or a
// baseline's VAL reconstruction errors.
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
  std::string model, data, preset = detect::preset_name(detect::Preset::kDefault);
  DecisionFlags decision;  // stored as the model's default decision (the preset's unless given)
  std::string morphs;  // empty: the preset's N; a number; or "auto" (choose_morphs)
  double morphs_epsilon = 0.1;
  std::optional<double> duplicate_tolerance;  // not given: the preset's
  int top_k = 0;
  std::string select = detect::code_selection_name(detect::CodeSelection::kAll);
  std::optional<std::string> placement;  // not given: the preset's
  std::string placement_flag;            // --placement as given (empty: not given)
  std::optional<double> radius_step;     // not given: the preset's
  int64_t sample = 0;
  uint64_t seed = 0;
};

// The detector options of a calibration: the preset's, with each flag given on top (any
// change from the preset's value makes them custom). --morphs auto is chosen later.
detect::DetectorOptions calibration_options(const CalibrateOptions& o) {
  // NaN passes CLI11's range checks: every number is checked here, before any work.
  detect::spec::kMorphsEpsilon.check(o.morphs_epsilon, "calibrate", "--");
  check_number(detect::spec::kDuplicateTolerance, o.duplicate_tolerance, "calibrate");
  check_number(detect::spec::kRadiusStep, o.radius_step, "calibrate");
  detect::spec::kTopK.check(o.top_k, "calibrate", "--");
  detect::DetectorOptions opt = detect::preset_options(detect::parse_preset(o.preset));
  auto custom = [&opt](auto& field, const auto& value) {
    if (field != value) field = value, opt.preset = detect::Preset::kCustom;
  };
  if (!o.morphs.empty() && o.morphs != "auto") {
    const auto v = parse_integer(o.morphs);
    OIAD_CHECK_USAGE(v && detect::spec::kMorphs.accepts(double(*v)), "calibrate: --morphs '", printable(o.morphs),
                     "' is neither a number in ", detect::spec::kMorphs.range_text(), " nor 'auto'");
    custom(opt.morphs, int(*v));
  }
  if (o.duplicate_tolerance) custom(opt.duplicate_tolerance, *o.duplicate_tolerance);
  if (o.placement) custom(opt.placement, detect::parse_placement(*o.placement));
  if (o.radius_step) custom(opt.radius_step, *o.radius_step);
  opt.top_k = o.top_k;
  opt.code_selection = detect::parse_code_selection(o.select);
  opt.seed = o.seed;
  return opt;
}

void run_calibrate(const CalibrateOptions& o) {
  detect::DetectorOptions opt = calibration_options(o);
  model::LoadedModel m = model::load_model(o.model);
  const model::ModelKind kind = m.config().kind;
  OIAD_CHECK_USAGE(detect::scorer_of(kind) == detect::Scorer::kStructureConsistency ||
                       (o.morphs.empty() && !o.duplicate_tolerance && !o.placement && !o.radius_step && o.top_k == 0 &&
                        opt.code_selection == detect::CodeSelection::kAll),
                   "calibrate: ", o.model, " is a ", model::kind_name(kind), " model, scored by ",
                   detect::single_score_text(detect::scorer_of(kind)),
                   ": the morph-search options apply to detector models");
  const detect::DecisionRule decision =
      apply_decision_flags(detect::preset_decision_for(detect::parse_preset(o.preset), kind), o.decision, "calibrate",
                           /*both_levels=*/true);
  const bool choose = o.morphs == "auto";
  OIAD_CHECK_USAGE(!choose || !launch().distributed(), "calibrate: --morphs auto runs as one process (world size ",
                   launch().world_size, ")");
  ImageSelection val = select_images(m, o.data, o.data.empty() ? "val" : "train", o.sample);
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
    if (c.morphs != opt.morphs) opt.morphs = c.morphs, opt.preset = detect::Preset::kCustom;
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
                     {"preset", detect::preset_name(opt.preset)},
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

}  // namespace

void add_calibrate_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<CalibrateOptions>();
  CLI::App* c = app.add_subcommand("calibrate", "fit normal ranges and VAL consistency distributions (Sec. III.D.1)");
  allow_distributed(c);
  add_model_file(c, o->model, "model file (calibration is added to it)");
  add_data_option(c, o->data, "calibrate on this data set's train split instead of the model's VAL part");
  add_preset_option(c, o->preset, "the detector options and default decision: " + presets_help());
  add_decision_flags(c, o->decision, "the default decision stored with the calibration (default: the preset's)");
  c->add_option("--morphs", o->morphs,
                std::string(detect::spec::kMorphs.help) + " " + detect::spec::kMorphs.range_text() +
                    ", instead of the preset's (preset becomes 'custom'; the preset's radius step stays, and a step "
                    "sized for a few morphs wants a smaller one with more); 'auto': the smallest N of a ladder at "
                    "which the search noise of every code's VAL consistency is at most --morphs-epsilon times its "
                    "spread over VAL (label-free; detect::choose_morphs)");
  add_number(c, detect::spec::kMorphsEpsilon, o->morphs_epsilon);
  add_number(c, detect::spec::kDuplicateTolerance, o->duplicate_tolerance,
             preset_values_help([](const detect::DetectorOptions& d) { return d.duplicate_tolerance; }));
  add_number(c, detect::spec::kTopK, o->top_k);
  add_choice(c, "--select", o->select, detect::code_selection_names(), "how to pick the k codes");
  add_choice(c, "--placement", o->placement_flag, detect::placement_names(),
             "where the morph search draws: random (the paper's) or quasi (golden-ratio sequence, evenly spread); "
             "default: the preset's");
  add_number(c, detect::spec::kRadiusStep, o->radius_step,
             preset_values_help([](const detect::DetectorOptions& d) { return d.radius_step; }));
  add_sample_option(c, o->sample, "calibration images");
  add_seed_option(c, o->seed, "the morph search");
  c->callback([&run, o] {
    run = [o] {
      CalibrateOptions opts = *o;
      if (!opts.placement_flag.empty()) opts.placement = opts.placement_flag;
      run_calibrate(opts);
      return 0;
    };
  });
}

}  // namespace oiad::cli

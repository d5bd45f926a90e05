// oiad experiment: every method of Table II on one split, with results.json and a report.
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "oiad/core/error.h"
#include "oiad/data/readers.h"
#include "oiad/data/registry.h"
#include "oiad/data/split.h"
#include "oiad/detect/consistency.h"
#include "oiad/detect/detector_options.h"
#include "oiad/experiment/experiment.h"
#include "oiad/model/config.h"

namespace oiad::cli {

namespace {

struct ExperimentCliOptions {
  std::string data, normal_class, methods, metrics;  // comma-separated
  std::string protocol = data::protocol_name(data::Protocol::kPaper);
  std::string preset = detect::preset_name(detect::Preset::kDefault);
  std::string transforms_set;                        // empty: the default set
  std::vector<int> transforms_net;                   // depth, widen; empty: the default
  std::vector<int> recseg_widths;                    // reconstructive, discriminative; empty: the default
  bool quick = false;
  bool input_size_given = false;
  TileFlags tile;
  experiment::ExperimentOptions exp;
};


std::vector<std::string> split_list(const std::string& s, const std::string& what) {
  std::vector<std::string> v;
  size_t a = 0;
  while (a <= s.size()) {
    const size_t b = std::min(s.find(',', a), s.size());
    const std::string item = s.substr(a, b - a);
    OIAD_CHECK_USAGE(!item.empty(), "experiment: ", what, " '", s, "' has an empty item");
    v.push_back(item);
    a = b + 1;
  }
  return v;
}

void run_experiment_command(ExperimentCliOptions o, const std::string& command) {
  o.exp.methods = split_list(o.methods, "--methods");
  o.exp.metrics = split_list(o.metrics, "--metrics");
  o.exp.command = command;
  o.exp.protocol = data::parse_protocol(o.protocol);
  o.exp.preset = detect::parse_preset(o.preset);
  o.tile.resolve(o.exp.input_size, o.input_size_given, "experiment");
  o.exp.tile = o.tile.side > 0;
  o.exp.tile_stride = o.tile.stride;
  o.exp.tiles = o.tile.tiles;
  try {
    if (!o.transforms_set.empty()) o.exp.transforms.transforms = peers::parse_transform_set(o.transforms_set);
  } catch (const UsageError& e) {
    throw UsageError(std::string("experiment: --transforms-set: ") + e.what());
  }
  if (!o.transforms_net.empty()) o.exp.transforms.depth = o.transforms_net[0], o.exp.transforms.widen = o.transforms_net[1];
  apply_recseg_widths(o.exp.recseg, o.recseg_widths);
  o.exp.read_images = [](const std::string& source, int side, int channels, int64_t limit, uint64_t seed) {
    return data::read_image_collection(data::texture_set_path(source), side, channels, limit, seed);
  };
  experiment::check_options(o.exp);
  // recseg reads its anomaly sources when it starts training, after the other methods: a
  // missing set is refused now, not an hour later.
  if (experiment::uses_method(o.exp, "recseg")) check_anomaly_source(o.exp.recseg_source, "experiment");
  if (!o.exp.configuration_only) check_can_write_folder(command.c_str(), o.exp.out);
  o.exp.log = [](const std::string& s) {
    char t[16];
    const std::time_t now = std::time(nullptr);
    std::strftime(t, sizeof(t), "%H:%M:%S", std::localtime(&now));
    std::cerr << t << " " << s << std::endl;
  };
  const data::Dataset ds = data::load_dataset(o.data);
  const int cls = data::resolve_class(ds, o.normal_class);
  const nlohmann::json res = experiment::run_experiment(ds, cls, o.exp);
  if (o.exp.configuration_only) {
    std::cout << res.dump(2) << std::endl;
    return;
  }
  nlohmann::json summary = {{"out", o.exp.out}, {"dataset", res["dataset"]}, {"normal_class", res["normal_class"]},
                            {"protocol", res["protocol"]}, {"n_test", res["n_test"]}, {"seconds", res["seconds"]}};
  for (const auto& [name, m] : res["methods"].items()) summary["auc"][name] = m["auc"];
  print_json_line(summary.dump());
}

}  // namespace

void add_experiment_command(CLI::App& app, Runner& run, const std::string& command_line) {
  auto o = std::make_shared<ExperimentCliOptions>();
  auto& e = o->exp;
  o->methods = join(e.methods);
  o->metrics = join(e.metrics);
  CLI::App* c = app.add_subcommand("experiment",
                                   "train, calibrate and evaluate every method of Table II on one split; "
                                   "writes results.json, report.md, report.html and figures (resumable)");
  add_data_option(c, o->data, "the data set")->required();
  add_split_options(c, o->normal_class, o->protocol, e.defects);
  c->add_option("--methods", o->methods, "comma-separated, of: " + join(experiment::method_names(), ", "))
      ->capture_default_str();
  c->add_option("--metrics", o->metrics, "OIAD metrics reported, comma-separated, of: " + join(detect::metric_names(), ", "))
      ->capture_default_str();
  add_preset_option(c, o->preset, "OIAD detector preset");
  add_number(c, model::spec::kGamma, e.gamma, "the Detector-VAE's; " + preset_gamma_help());
  c->add_option("--alpha", e.alpha, "α of the decisions, in (0, 0.5]")->capture_default_str();
  add_seed_option(c, e.seed, "the split, holdout, weights and morph search");
  add_split_limit(c, e.limit);
  add_number(c, train::spec::kEpochs, e.train.epochs);
  add_number(c, train::spec::kBatchSize, e.train.batch_size);
  add_number(c, train::spec::kKlWarmup, e.train.kl_warmup_epochs);
  add_input_size_option(c, e.input_size);
  add_tile_options(c, o->tile);
  c->add_option("--deepsvdd-epochs", e.deepsvdd_epochs,
                "deepsvdd: autoencoder and Deep SVDD epochs, AE,SVDD (default: 150,150 for grey images, the authors' "
                "schedule; 30,50 for colour, shortened from their 350,150; learning-rate drops keep their share)")
      ->delimiter(',')
      ->expected(2);
  const auto& tp = e.transforms;
  c->add_option("--transforms-set", o->transforms_set,
                "transforms: factors of the transformation set, some of flip,translate,rotate (GEOM: all three, 72 "
                "transformations; default: " +
                    peers::transform_set_name(tp.transforms) + ")");
  c->add_option("--transforms-net", o->transforms_net,
                "transforms: the classifier WRN-depth-widen as DEPTH,WIDEN (GEOM: 16,8; default: " +
                    std::to_string(tp.depth) + "," + std::to_string(tp.widen) + ")")
      ->delimiter(',')
      ->expected(2);
  c->add_option("--transforms-passes", e.transforms.passes,
                "transforms: times each training image is seen, ceil(passes / T) epochs over all (image, "
                "transformation) pairs (GEOM: 200)")
      ->capture_default_str();
  c->add_option("--transforms-score", e.transforms.score, "transforms: dirichlet (GEOM) or logprob")
      ->check(CLI::IsMember({"dirichlet", "logprob"}))
      ->capture_default_str();
  add_recseg_options(c, e.recseg, o->recseg_widths, e.recseg_source, e.recseg_sources);
  c->add_option("--holdout", e.holdout_fraction, "share of each label of the test part held out for the baselines")
      ->capture_default_str();
  c->add_option("--holdout-max", e.holdout_max, "at most this many holdout images")->capture_default_str();
  c->add_flag("--quick", o->quick,
              "a first look in a minute or two: at most 600 images per part, 10 epochs, shorter baseline searches and "
              "peer training (experiment.h, make_quick); flags given explicitly win");
  c->add_flag("!--no-figures", e.figures, "skip the PNG pictures (strips and grids); plots and report are written");
  c->add_flag("--print-configuration", e.configuration_only,
              "print the configuration the run would record (experiment.json: every setting of the methods asked "
              "for, the preset's parameters included) and exit, writing nothing");
  c->add_option("--out", e.out, "folder for split.json, results.json, report.md/html, figures, models")->required();
  c->callback([&run, o, command_line, c] {
    if (o->quick) {
      // Everything make_quick sets, then back what a flag gave explicitly.
      auto& e = o->exp;
      const experiment::ExperimentOptions given_values = e;
      experiment::make_quick(e);
      const auto given = [c](const char* flag) { return c->count(flag) > 0; };
      if (given("--limit")) e.limit = given_values.limit;
      if (given("--epochs")) e.train.epochs = given_values.train.epochs;
      if (given("--deepsvdd-epochs")) e.deepsvdd_epochs = given_values.deepsvdd_epochs;
      if (given("--transforms-passes")) e.transforms.passes = given_values.transforms.passes;
      if (given("--recseg-steps")) e.recseg.steps = given_values.recseg.steps;
      // --transforms-set and --transforms-net are applied after this, in run_experiment_command.
    }
    o->input_size_given = c->count("--input-size") > 0;
    run = [o, command_line] { run_experiment_command(*o, command_line); return 0; };
  });
}

}  // namespace oiad::cli

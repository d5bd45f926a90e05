// oiad data info|fetch|split
#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/data/fetch.h"
#include "oiad/data/registry.h"
#include "oiad/data/split.h"

namespace oiad::cli {

namespace {

struct DataOptions {
  std::string spec;
  std::string dir;
  std::string normal_class;
  std::string protocol = data::protocol_name(data::Protocol::kPaper);
  std::vector<std::string> defects;
  uint64_t seed = 0;
  int64_t limit = 0;
  std::string out;
};

nlohmann::json split_counts(const data::Dataset& ds, const std::string& split) {
  const data::ImageSet& s = ds.split(split);
  nlohmann::json j = {{"count", s.count}, {"per_class", ds.per_class(split)}};
  if (ds.has_masks()) {
    int64_t known = 0, defective = 0;
    for (int64_t i = 0; i < s.count; ++i) {
      const data::ImageView v = ds.image(split, i);
      known += v.mask != nullptr;
      defective += v.mask && std::any_of(v.mask, v.mask + size_t(v.height) * v.width, [](uint8_t b) { return b != 0; });
    }
    j["masks"] = {{"known", known}, {"with_defect", defective}};
  }
  return j;
}

// Height or width: the one size of the set, or {"min", "max"} over its images.
nlohmann::json extent(const data::Dataset& ds, bool height) {
  if (!ds.mixed_sizes()) return height ? ds.height : ds.width;
  int lo = INT32_MAX, hi = 0;
  for (const data::ImageSet* s : {&ds.train, &ds.test})
    for (int32_t v : height ? s->heights : s->widths) lo = std::min(lo, int(v)), hi = std::max(hi, int(v));
  return {{"min", lo}, {"max", hi}};
}

void run_info(const DataOptions& o) {
  const data::Dataset ds = data::load_dataset(o.spec);
  nlohmann::json j = {{"name", ds.name},
                      {"source", ds.source},
                      {"channels", ds.channels},
                      {"height", extent(ds, true)},
                      {"width", extent(ds, false)},
                      {"mixed_sizes", ds.mixed_sizes()},
                      {"classes", ds.class_names},
                      {"splits", {{"train", split_counts(ds, "train")}, {"test", split_counts(ds, "test")}}}};
  print_json_line(j.dump());
}

void run_fetch(const DataOptions& o) {
  const std::string dir = o.dir.empty() ? data::default_data_dir() : o.dir;
  const std::string folder = data::fetch_release(o.spec, dir);
  print_json_line(nlohmann::json{{"name", o.spec}, {"folder", folder}}.dump());
}

void run_split(const DataOptions& o) {
  check_out_is_not_an_input("data split", o.out, {o.spec});
  check_can_write("data split", o.out);
  const data::Dataset ds = data::load_dataset(o.spec);
  const int cls = data::resolve_class(ds, o.normal_class);
  const data::OneClassSplit sp = data::make_split(ds, cls, data::parse_protocol(o.protocol), o.seed, o.limit, o.defects);
  const std::string text = sp.to_json();
  if (!o.out.empty()) write_file_atomic(o.out, text);
  nlohmann::json summary = {{"dataset", sp.dataset},
                            {"protocol", sp.protocol},
                            {"seed", sp.seed},
                            {"normal_class", sp.normal_class},
                            {"normal_class_name", sp.normal_class_name},
                            {"n_train", sp.train.size()},
                            {"n_val", sp.val.size()},
                            {"n_test", sp.test.size()},
                            {"out", o.out}};
  print_json_line(summary.dump());
}

}  // namespace

void add_data_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<DataOptions>();
  CLI::App* data = app.add_subcommand("data", "describe, fetch and split data sets");
  data->require_subcommand(1);

  CLI::App* info = data->add_subcommand("info", "print a data set's shape, classes and split sizes as JSON");
  info->add_option("spec", opt->spec, "mnist, fashion-mnist, cifar10, magnetic-tile, or a path")->required();
  info->callback([&run, opt] { run = [opt] { run_info(*opt); return 0; }; });

  CLI::App* fetch = data->add_subcommand("fetch", "download an official release over HTTPS (SHA-256 checked)");
  fetch->add_option("name", opt->spec, "mnist, fashion-mnist or cifar10")
      ->required()
      ->check(CLI::IsMember(data::known_dataset_names()));
  fetch->add_option("--dir", opt->dir, "data dir (default: $OIAD_DATA or ~/.local/share/oiad)");
  fetch->callback([&run, opt] { run = [opt] { run_fetch(*opt); return 0; }; });

  CLI::App* split = data->add_subcommand("split", "make a seeded one-class split and save its indices as JSON");
  add_data_option(split, opt->spec, "the data set")->required();
  add_split_options(split, opt->normal_class, opt->protocol, opt->defects);
  add_seed_option(split, opt->seed, "the split");
  add_split_limit(split, opt->limit);
  split->add_option("--out", opt->out, "write the split (every index) to this JSON file");
  split->callback([&run, opt] { run = [opt] { run_split(*opt); return 0; }; });
}

}  // namespace oiad::cli

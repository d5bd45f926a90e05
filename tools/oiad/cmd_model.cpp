// oiad model info FILE
#include <nlohmann/json.hpp>

#include "commands.h"
#include "oiad/detect/calibration.h"
#include "oiad/model/model_io.h"

namespace oiad::cli {

namespace {
void run_info(const std::string& path) {
  model::LoadedModel lm = model::load_model(path);
  const auto& meta = lm.file.meta;
  nlohmann::json j;
  j["model"] = path;
  j["format_version"] = meta.value("format_version", 0);
  j["kind"] = model::kind_name(lm.net->config.kind);
  j["config"] = lm.net->config.to_json();
  for (const char* k : {"dataset", "normal_class", "normal_class_name", "protocol", "seed", "preprocessing"})
    if (meta.contains(k)) j[k] = meta[k];
  auto prec = lm.net->precision().detach().contiguous();
  j["precision"] = std::vector<float>(prec.data_ptr<float>(), prec.data_ptr<float>() + prec.numel());
  if (meta.contains("training")) {
    const auto& t = meta["training"];
    j["epochs"] = t.value("epochs_done", 0);
    if (t.contains("history") && !t["history"].empty()) j["final"] = t["history"].back();
  }
  j["calibrated"] = meta.contains("calibration");
  if (j["calibrated"]) {
    // The scored codes and the settings that chose them (not the VAL distributions).
    const auto& c = meta["calibration"];
    nlohmann::json s = nlohmann::json::object();
    for (const char* k : {"codes", "merged_codes", "morphs_choice", "n_val", "detector"})
      if (c.contains(k)) s[k] = c[k];
    // The default decision as scoring reads it (older calibrations get it filled in).
    const detect::Calibration cal = detect::Calibration::from_json(c);
    s["rule"] = detect::rule_name(cal.rule);
    s["alpha"] = cal.alpha;
    s["fpr"] = cal.fpr;
    // Metrics whose VAL one-sided scores are stored (`--rule one-sided` needs them).
    nlohmann::json one = nlohmann::json::array();
    if (c.contains("val_one_sided"))
      for (const auto& [metric, v] : c["val_one_sided"].items())
        if (!v.empty()) one.push_back(metric);
    s["one_sided_metrics"] = one;
    j["calibration"] = s;
  }
  print_json_line(j.dump());
}
}  // namespace

void add_model_command(CLI::App& app, Runner& run) {
  auto path = std::make_shared<std::string>();
  CLI::App* m = app.add_subcommand("model", "inspect model files");
  m->require_subcommand(1);
  CLI::App* info = m->add_subcommand("info", "print a model's kind, config, learned precisions and final losses as JSON");
  info->add_option("file", *path, "model file")->required();
  info->callback([&run, path] { run = [path] { run_info(*path); return 0; }; });
}

}  // namespace oiad::cli

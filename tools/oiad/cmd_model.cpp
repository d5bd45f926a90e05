// oiad model info FILE
#include <nlohmann/json.hpp>

#include "commands.h"
#include "oiad/detect/pipeline.h"
#include "oiad/model/model_io.h"

namespace oiad::cli {

namespace {
void run_info(const std::string& path) { print_json_line(detect::model_info(model::load_model(path), path).dump()); }
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

// The `oiad` executable: each cmd_<name>.cpp adds one subcommand to the CLI11 app.
// A subcommand's parse step only records options; the work runs after parsing, in `run`,
// so that main() handles errors from all commands the same way.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

#include "oiad/dist/launch.h"

namespace oiad::cli {

/// Set by the subcommand that was selected; main() calls it after parsing and exits with
/// what it returns (0, or kExitAnomalous from `score --exit-status`).
using Runner = std::function<int()>;

/// Exit status of `oiad score --exit-status` when an image is anomalous (1 and 2 are errors).
constexpr int kExitAnomalous = 3;

void add_data_command(CLI::App& app, Runner& run);
void add_train_command(CLI::App& app, Runner& run);
void add_model_command(CLI::App& app, Runner& run);
void add_calibrate_command(CLI::App& app, Runner& run);
void add_score_command(CLI::App& app, Runner& run);
void add_evaluate_command(CLI::App& app, Runner& run);
void add_find_command(CLI::App& app, Runner& run);
void add_inspect_command(CLI::App& app, Runner& run);
void add_compare_command(CLI::App& app, Runner& run);
void add_bench_command(CLI::App& app, Runner& run);
void add_serve_command(CLI::App& app, Runner& run);
/// `command_line` is the invocation, recorded in the experiment's report.
void add_experiment_command(CLI::App& app, Runner& run, const std::string& command_line);

/// This process's place in a distributed run (one rank unless launched as several: --rank,
/// --world-size, --master, or torchrun's / Slurm's environment); set by main().
const dist::Launch& launch();

/// Marks a command as one that may run as several ranks (it shards its work over a
/// dist::Group); main refuses a distributed launch of any other, naming the ones that may.
void allow_distributed(CLI::App* command);
/// The commands allow_distributed marked, in the order they were added.
const std::vector<const CLI::App*>& distributed_commands();

/// Prints one JSON value on stdout followed by a newline.
void print_json_line(const std::string& json_text);

}  // namespace oiad::cli

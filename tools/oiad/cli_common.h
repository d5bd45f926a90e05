// Pieces shared by several subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "oiad/data/dataset.h"
#include "oiad/data/split.h"
#include "oiad/peers/peer_options.h"
#include "oiad/train/train_options.h"
#include "oiad/core/option_spec.h"
#include "oiad/detect/calibration.h"
#include "oiad/detect/detector_options.h"

namespace oiad::cli {

/// A data set with the one-class split an experiment or a training run uses.
struct SplitData {
  data::Dataset dataset;
  data::OneClassSplit split;
};

/// Loads SPEC, resolves the class, makes the split (seeded); `families`: the defect
/// families of the defects protocol (empty: all).
SplitData load_split_data(const std::string& spec, const std::string& normal_class, const std::string& protocol,
                          uint64_t seed, int64_t limit, const std::vector<std::string>& families = {});

/// `--defects FAMILY,...`: the defect families of --protocol defects (data::defect_family_names()).
void add_defects_option(CLI::App* c, std::vector<std::string>& families);

/// The decision flags of a command: --rule, --alpha, --fpr (each optional).
using DecisionFlags = detect::DecisionOverrides;

/// The decision a command applies: `base` (a calibration's default, or a preset's) with the
/// flags given on top. --alpha alone selects the paper rule and --fpr alone the one-sided
/// rule; --alpha with --rule one-sided, or --fpr with --rule paper, is a usage error, and so
/// is a level outside its range (α in (0, 0.5], F in (0, 1), NaN included). With
/// `both_levels` (calibrate, train: they store both levels) --alpha and --fpr may be given
/// together and set the stored levels whatever the rule.
detect::DecisionRule apply_decision_flags(detect::DecisionRule base, const DecisionFlags& flags, const char* command,
                                          bool both_levels = false);

// ---- Options declared once ----
// Every flag that several commands take is added by one function here, and every numeric
// flag of a component from its spec (core/option_spec.h), so that a name, default, range or
// help text is written in one place. Ranges are checked by the component's own check (which
// the Python module calls too), after parsing: CLI11's range checks let NaN through.

/// --NAME of a spec, for a field whose current value is the default (shown in the help).
template <class T>
CLI::Option* add_number(CLI::App* c, const NumberSpec& s, T& value) {
  return c->add_option(std::string("--") + s.name, value,
                       std::string(s.help) + " (default " + NumberSpec::default_text(double(value)) + "; " +
                           s.range_text() + ")");
}
/// The same for an optional field: unset, `unset` says what applies.
template <class T>
CLI::Option* add_number(CLI::App* c, const NumberSpec& s, std::optional<T>& value, const std::string& unset) {
  return c->add_option(std::string("--") + s.name, value, std::string(s.help) + " (" + s.range_text() + "; " + unset + ")");
}
/// Checks an optional value against its spec when it is set.
template <class T>
void check_number(const NumberSpec& s, const std::optional<T>& v, const std::string& what) {
  if (v) s.check(double(*v), what, "--");
}

/// A flag of a closed set: `names` (the library's list) are its allowed values (CLI11 lists
/// them beside the flag); the help adds the default (the field's value, when not empty).
CLI::Option* add_choice(CLI::App* c, const std::string& flag, std::string& value, const std::vector<std::string>& names,
                        const std::string& help);

/// --model FILE: the model file a command reads (required).
CLI::Option* add_model_file(CLI::App* c, std::string& path, const std::string& help = "calibrated model file");
/// --data SPEC: a named data set, a folder or a .tar.gz archive.
CLI::Option* add_data_option(CLI::App* c, std::string& spec, const std::string& help);
/// --normal-class (required) and --protocol, with --defects for the defects protocol.
void add_split_options(CLI::App* c, std::string& normal_class, std::string& protocol, std::vector<std::string>& families);
/// --limit N: cap the images drawn for each part of a split (0: no cap).
CLI::Option* add_split_limit(CLI::App* c, int64_t& limit);
/// --sample N: score a seeded random subset of N of the images (`what`); the old spelling
/// --limit is accepted with a warning.
void add_sample_option(CLI::App* c, int64_t& sample, const std::string& what);
/// --seed N, with what it seeds.
CLI::Option* add_seed_option(CLI::App* c, uint64_t& seed, const std::string& what);
/// --preset NAME (detect::preset_names()).
CLI::Option* add_preset_option(CLI::App* c, std::string& preset, const std::string& help);
/// --input-size S (model::input_sizes()).
CLI::Option* add_input_size_option(CLI::App* c, int& size);
/// The tile route (`--tile SIDE`, `--stride S`, `--tiles N`): images scored at their own
/// resolution in tiles of SIDE, the network side (detect/tiling.h).
struct TileFlags {
  int side = 0;     ///< 0: the resize route
  int stride = 0;   ///< 0: side / 2
  int64_t tiles = 0;  ///< training tiles; 0: the library's default
  /// Applies the flags to `input_size` (SIDE is the network side; an --input-size that
  /// differs is a UsageError) and resolves the stride.
  void resolve(int& input_size, bool input_size_given, const char* command);
};
void add_tile_options(CLI::App* c, TileFlags& t);
/// "default: the preset's, 5 for default, 40 for paper": --gamma's default, from the presets.
std::string preset_gamma_help();
/// "default: the preset's, 0.05 for default, 0 for paper": a detector option's default,
/// `field` read from each preset's options.
std::string preset_values_help(double (*field)(const detect::DetectorOptions&));
/// What each preset is, from the library: its N, placement, radius step, duplicate codes,
/// decision and TC weight ("default (N = 5 quasi-placed, ...) or paper (...)").
std::string presets_help();
/// The training flags of TrainOptions (train::spec).
void add_train_options(CLI::App* c, train::TrainOptions& t);

/// The recseg peer's flags (`train --kind recseg`, `experiment --methods recseg`):
/// --recseg-widths REC,SEG into `widths` (empty when not given; apply with apply_recseg_widths),
/// --recseg-steps, --recseg-filter, --anomaly-source, --recseg-sources.
void add_recseg_options(CLI::App* c, peers::RecSegOptions& o, std::vector<int>& widths, std::string& source,
                        int64_t& sources);
void apply_recseg_widths(peers::RecSegOptions& o, const std::vector<int>& widths);
/// A UsageError when `source` (not "procedural") names no folder or archive
/// (data::texture_set_path), before any training.
void check_anomaly_source(const std::string& source, const char* command);


/// The values joined with `sep` (help texts list allowed values with it).
std::string join(const std::vector<std::string>& values, const char* sep = ",");

/// Adds --metric to a scoring command: the structure-consistency metric of a detector model,
/// one of detect::metric_names(); left empty when not given (the default, ssim).
void add_metric_option(CLI::App* c, std::string& metric);

/// Adds --rule, --alpha and --fpr to a command, with `what` telling what they set.
void add_decision_flags(CLI::App* c, DecisionFlags& flags, const std::string& what);

/// Usage error when `out` names the same file as one of `inputs` (writing it would destroy
/// an input, e.g. `score --model M --out M`).
void check_out_is_not_an_input(const char* command, const std::string& out, const std::vector<std::string>& inputs);

/// Error unless a file `out` can be created: its folder exists and is writable. Checked before
/// the work, so that a typo does not cost a training run.
void check_can_write(const char* command, const std::string& out);
/// The same for an output folder (--out DIR): it is a writable folder, or can be created.
void check_can_write_folder(const char* command, const std::string& out);

/// Writes text to a file atomically, or to stdout when path is empty or "-".
void write_output(const std::string& path, const std::string& text);

}  // namespace oiad::cli

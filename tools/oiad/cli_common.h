// Pieces shared by several subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "oiad/data/dataset.h"
#include "oiad/data/split.h"
#include "oiad/detect/calibration.h"

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

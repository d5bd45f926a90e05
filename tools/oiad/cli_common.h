// Pieces shared by several subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "oiad/data/dataset.h"
#include "oiad/data/split.h"
#include "oiad/detect/calibration.h"
#include "oiad/model/model_io.h"

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

/// Images chosen for scoring, with ids and labels (1 anomalous, 0 normal, -1 unknown).
struct ImageSelection {
  std::vector<uint8_t> pixels;  ///< (n, C, H, W) uint8
  int64_t n = 0;
  int channels = 0, height = 0, width = 0;
  std::vector<std::string> ids;
  std::vector<int> labels;
};

/// With `spec` empty or equal to the model's data set: the part `split` (train, val, test,
/// or cle = the normal images of test) of the one-class split stored in the model, labelled.
/// Otherwise the data set's own split (`split` = train or test), labelled against the
/// model's normal class when the data set has a class of that name.
/// `limit` > 0 keeps a seeded random subset of that many images (in their original order).
ImageSelection select_images(const model::LoadedModel& m, const std::string& spec, const std::string& split,
                             int64_t limit);

/// The selection as the model's input (model::model_input; `what` names it in errors).
torch::Tensor selection_input(const model::LoadedModel& m, const ImageSelection& s, bool resize, const std::string& what);

/// Reads image files (PNG, JPEG, BMP); all must have one size and channel count.
ImageSelection read_image_files(const std::vector<std::string>& paths);

/// The one-class split stored in a model file.
data::OneClassSplit model_split(const model::LoadedModel& m);

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

// The methods of `oiad experiment` and what they share (LibTorch side; internal.h is the
// plain one). A method that fits a model and scores images is a Method: a file of its own
// (oiad_method.cpp, autoencoder_method.cpp, deep_svdd_method.cpp, transforms_method.cpp) and
// a line in make_method. run_method gives every one the same skeleton: load what an earlier run saved
// in DIR/models/ or fit and save, score the reported test part, time both, and report AUC,
// pixel AUROC (where the part has defect masks and the method draws maps) and its details.
// The feature baselines (one shared PCA, sizes chosen on the holdout) keep a runner of their
// own (internal.h, run_baseline).
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "internal.h"
#include "oiad/data/dataset.h"
#include "oiad/data/split.h"
#include "oiad/eval/regions.h"
#include "oiad/experiment/pixel_measures.h"
#include "oiad/model/config.h"
#include "oiad/workflow/train_job.h"

namespace oiad::experiment::detail {

/// The run's data and settings, as every method sees them.
struct Context {
  const data::Dataset& ds;      ///< the images as the methods see them (network-size when resized)
  const data::Dataset& native;  ///< the images as read, at their own sizes, with their masks
  const data::OneClassSplit& split;
  const data::SplitPart& test;  ///< the reported test part
  const ExperimentOptions& o;
  std::vector<uint8_t> labels;  ///< of the reported test part
  void log(const std::string& s) const {
    if (o.log) o.log(s);
  }
  /// A part's images as the network input (N, C, S, S) at the run's input size.
  torch::Tensor input(const data::SplitPart& p) const;
  /// True when the reported test part has masks to measure maps against.
  bool has_masks() const { return data::has_masks(native, test) || test.has_defects(); }
};

/// Images (n, C, H, W) uint8 of `ds`'s size as the network input at `input_size`.
torch::Tensor to_input(const data::Dataset& ds, const std::vector<uint8_t>& px, int input_size);

/// Maps and masks of the reported test images gathered for the pixel measures: every image
/// with a known mask, and apart the anomalous ones of each kind (a data set class, or a
/// synthetic defect family).
struct PixelTally {
  eval::PixelMaps normal;
  std::map<std::string, eval::PixelMaps> by_kind;
  /// `kind` empty: a normal image.
  void add(const double* map, const uint8_t* mask, int height, int width, const std::string& kind);
  /// {"pixel_auroc", "aupro", "pixel_images", "per_kind": {kind: {the same three}}} over every
  /// image, and over the normal images with one kind's; null when no image has a defect pixel.
  nlohmann::json result() const;
};
/// The kind of reported test image i for PixelTally (experiment::map_kind).
std::string test_kind(const Context& c, size_t i);

/// experiment::pixel_measures of the reported test part (null when it has no masks).
nlohmann::json pixel_metrics(const Context& c, const torch::Tensor& maps);

/// A method's scores (N,) of any floating type as doubles.
std::vector<double> to_scores(const torch::Tensor& s);
/// The last value of a per-epoch history, or null when it is empty (a model loaded from an
/// earlier run keeps no history).
nlohmann::json last_or_null(const std::vector<double>& history);

/// The Detector-VAE's TC weight: --gamma, or the preset's.
double detector_gamma(const ExperimentOptions& o);

/// Trains (or resumes from its checkpoint, or reuses when finished) a model of `kind` into
/// DIR/models/<name>.oiad, uncalibrated.
workflow::TrainJobResult train_or_load(const Context& c, const std::string& name, model::ModelKind kind);

/// The methods of the tile route (ExperimentOptions::tile): oiad, vae, dcae (tiled_method.cpp);
/// null for another name.
std::unique_ptr<class Method> make_tiled_method(const std::string& name);

/// A method that fits a model on the split's train part and scores images.
class Method {
 public:
  virtual ~Method() = default;
  /// Its model file, under DIR/models/.
  virtual std::string model_file() const = 0;
  /// Loads the model an earlier run saved at `path`.
  virtual void load(const Context& c, const std::string& path) = 0;
  /// Fits on the split's train part and saves the model at `path` (resuming an interrupted
  /// fit where the method can).
  virtual void fit(const Context& c, const std::string& path) = 0;
  /// Scores of images (N, C, S, S), one per image, higher = more anomalous; with `maps`, also
  /// per-pixel maps (N, S, S) on the network input where the method has them (left
  /// undefined otherwise).
  virtual std::vector<double> score(const torch::Tensor& x, torch::Tensor* maps) = 0;
  /// What its maps are ("" when it has none).
  virtual std::string map_description() const { return ""; }
  /// Seconds the fit took (the earlier run's for a loaded model).
  virtual double fit_seconds() const = 0;
  /// What results.json reports of it beside AUC and seconds (after score; not timed as
  /// scoring: OIAD derives every metric, rule and figure here).
  virtual nlohmann::json details() = 0;
};

/// `name`'s Method: "oiad", "vae", "dcae", "deepsvdd", "transforms" or "recseg" (nullptr for another:
/// the feature baselines, which share one PCA of the parts and choose their sizes on the
/// holdout, run through run_baseline).
std::unique_ptr<Method> make_method(const std::string& name, const Context& c);

/// The skeleton every Method runs through (header comment).
MethodRun run_method(const Context& c, const std::string& name, Method& m);

std::unique_ptr<Method> make_oiad_method();
std::unique_ptr<Method> make_autoencoder_method(model::ModelKind kind);
std::unique_ptr<Method> make_deep_svdd_method(const Context& c);
std::unique_ptr<Method> make_transforms_method(const Context& c);
std::unique_ptr<Method> make_recseg_method(const Context& c);

}  // namespace oiad::experiment::detail

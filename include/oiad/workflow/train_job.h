// A workflow: one training run end to end, shared by `oiad train` and `oiad experiment`:
// images of the split's train part, the network (train::train_model), checkpoints and
// resume, the model file's metadata, and the calibration on VAL at the end (detect).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "oiad/data/dataset.h"
#include "oiad/data/split.h"
#include "oiad/detect/calibration.h"
#include "oiad/model/config.h"
#include "oiad/model/model_io.h"
#include "oiad/train/trainer.h"

namespace oiad::workflow {

using train::TrainOptions;
using train::TrainState;

struct TrainJob {
  const data::Dataset* dataset = nullptr;
  data::OneClassSplit split;
  model::ModelConfig config;
  TrainOptions train;
  /// Model file to write (atomically); `<out>.ckpt` holds the checkpoint after each epoch.
  std::string out;
  /// Continue from `<out>.ckpt` (an error when it is missing or was made for another split
  /// or config).
  bool resume = false;
  /// Calibrate on the split's VAL part with `preset` and store it, with `decision`, in the file.
  bool calibrate = true;
  std::string preset = "default";
  /// The default decision stored with the calibration (the preset's unless set).
  detect::DecisionRule decision;
  /// Seed recorded in the file and used for the weights and the morph search.
  uint64_t seed = 0;
  /// Called after each epoch (once its checkpoint is written); may throw to stop training.
  std::function<void(const TrainState&)> on_epoch;
};

struct TrainJobResult {
  model::LoadedModel model;
  TrainState state;
  double train_seconds = 0;
  /// {"preset", "rule", "alpha", "fpr", "n_val", "seconds"} or null without calibration.
  nlohmann::json calibration;
};

/// Trains, calibrates (when asked) and writes job.out; removes the checkpoint when done.
TrainJobResult run_train_job(const TrainJob& job);

}  // namespace oiad::workflow

// A workflow: one training run end to end, shared by `oiad train` and `oiad experiment`:
// images of the split's train part, the network (train::train_model), checkpoints and
// resume, the model file's metadata, and the calibration on VAL at the end (detect).
#pragma once

#include <functional>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>

#include "oiad/data/dataset.h"
#include "oiad/data/split.h"
#include "oiad/detect/calibration.h"
#include "oiad/detect/detector_options.h"
#include "oiad/model/config.h"
#include "oiad/model/model_io.h"
#include "oiad/peers/recseg.h"
#include "oiad/train/trainer.h"

namespace oiad::workflow {

using train::TrainOptions;
using train::TrainState;

/// One training run of a model on a split of a data set (run_train_job takes the data set).
struct TrainJob {
  data::OneClassSplit split;
  model::ModelConfig config;
  /// Epochs, batch, learning rates, warm-up, progress; its `seed` is set from `seed` below.
  TrainOptions train;
  /// Model file to write (atomically); `<out>.ckpt` holds the checkpoint after each epoch.
  std::string out;
  /// Continue from `<out>.ckpt` (an error when it is missing or was made for another split
  /// or config).
  bool resume = false;
  /// Calibrate on the split's VAL part with `preset` and store it, with `decision`, in the file.
  bool calibrate = true;
  detect::Preset preset = detect::Preset::kDefault;
  /// The default decision stored with the calibration (the preset's unless set).
  detect::DecisionRule decision;
  /// Tiles (the `--tile` route; off: images are resized to the network, data/resize.h): the
  /// network side config.input_size is the tile side; training draws `tiles` seeded tiles
  /// from the train part's images at their own resolution (0: 16 per image, at least 2,000);
  /// the calibration runs on as many VAL tiles as 16 per VAL image, then on the whole VAL
  /// images tiled at `tile_stride` (detect/tiling.h), by `tile_metric` for a detector.
  bool tiled = false;
  int tile_stride = 0;
  int64_t tiles = 0;
  std::optional<detect::Metric> tile_metric;
  /// The run's one seed: the weights, the batches (TrainOptions::seed), the morph search of
  /// the calibration; recorded in the file.
  uint64_t seed = 0;
  /// Called after each epoch (once its checkpoint is written); may throw to stop training.
  std::function<void(const TrainState&)> on_epoch;
  /// A recseg model (config.kind kRecSeg): its settings (the seed is `seed` above) and the
  /// images its simulated anomalies take their content from, at the network's side and the
  /// data's channels. It trains `recseg.steps` steps (not `train`'s epochs), writes no
  /// checkpoints (no resume), runs on one process, and calibrates its one score on VAL.
  peers::RecSegOptions recseg;
  peers::AnomalySources anomaly_sources;
  /// recseg: called every 50 steps and at the end with (step, steps, loss); may throw to stop.
  std::function<void(int, int, double)> on_step;
};

struct TrainJobResult {
  model::LoadedModel model;
  TrainState state;  ///< empty for recseg (see `recseg`)
  peers::RecSegHistory recseg;
  double train_seconds = 0;
  /// {"preset", "rule", "alpha", "fpr", "n_val", "seconds"} or null without calibration.
  nlohmann::json calibration;
};

/// Trains on the split's train part of `ds`, calibrates (when asked) and writes job.out;
/// removes the checkpoint when done.
TrainJobResult run_train_job(const data::Dataset& ds, const TrainJob& job);

}  // namespace oiad::workflow

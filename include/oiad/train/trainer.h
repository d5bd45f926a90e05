// Training the Detector-VAE (and the VAE / DCAE baselines) on normal images only.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oiad/model/networks.h"
#include "oiad/train/train_options.h"

namespace oiad::train {

/// Trains `net` on `images` (N, C, S, S) float in [0, 1] from `state` (fresh or resumed)
/// until options.epochs. Each epoch reseeds from (seed, epoch), so a resumed run gives the
/// same weights as an uninterrupted one.
void train_model(model::DetectorVae& net, const torch::Tensor& images, const TrainOptions& options,
                 TrainState& state, const EpochCallback& on_epoch = {});

}  // namespace oiad::train

// oiad: image anomaly detection with disentanglement learning (OIAD). The one header a program
// that trains, calibrates or scores needs; it links oiad::oiad (the core component: no curl,
// libarchive, PLplot, Armadillo or libsvm). docs/architecture.md lists the modules.
//
//   const oiad::detect::CalibratedDetector d = oiad::detect::load_detector("m7.oiad", true);
//   const auto image = oiad::data::read_image_file("digit.png");                // (C, H, W) uint8
//   const torch::Tensor x = oiad::model::model_input(d.model, image, false, "digit.png");
//   const oiad::detect::ScoreResult r = oiad::detect::score(d, x);               // the model's decision
//   r.images[0].score, r.images[0].anomalous, r.images[0].p_value
//
// detect::ScoreOptions chooses the metric, the decision (each part unset keeps the model's
// stored one) and change maps; detect::Scorer tells how a model scores (a Detector-VAE by
// structure consistency, a VAE or DCAE baseline by its reconstruction error).
// workflow::run_train_job trains and calibrates a model file; errors are oiad::Error (data,
// model) and oiad::UsageError (a request the model or the options cannot serve), with
// one-line messages naming the input.
#pragma once

#include "oiad/core/error.h"
#include "oiad/data/dataset.h"
#include "oiad/data/readers.h"
#include "oiad/data/split.h"
#include "oiad/detect/pipeline.h"
#include "oiad/model/preprocess.h"
#include "oiad/version.h"
#include "oiad/workflow/train_job.h"

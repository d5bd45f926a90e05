// The scoring pieces the CLI's scoring commands share (score, find, evaluate, inspect):
// the decision's JSON fields, scoring over the ranks of a distributed launch, --metric.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "oiad/core/progress.h"
#include "oiad/detect/pipeline.h"

namespace oiad::cli {

/// The JSON fields of a decision: the rule, its level and (one-sided, relative) the threshold.
void add_decision_fields(nlohmann::json& j, const detect::ScoringPlan& p);

/// A number, or null for NaN (JSON has no NaN).
nlohmann::json json_number(double v);

/// Scores images as one process, or, when the launch has several ranks, each rank its
/// contiguous share in whole blocks of the kCalibrationBlock that one process scores
/// together, gathered on rank 0 in input order: rank 0 gets what one process with the same
/// thread count gets (every metric, and the change maps when `so` asks for them), the other
/// ranks an empty list.
detect::ScoreResult score_on_every_rank(const char* command, const detect::CalibratedDetector& d,
                                        const torch::Tensor& x, detect::ScoreOptions so, ProgressPrinter& progress);

/// --metric: the structure-consistency metric of a detector model; not given (empty): unset.
std::optional<detect::Metric> metric_flag(const std::string& name);

}  // namespace oiad::cli

// Internals of the experiment runner shared by its files.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oiad/baselines/baselines.h"
#include "oiad/experiment/experiment.h"

namespace oiad::experiment::detail {

/// One finished method, as stored in DIR/methods/<name>.json. For OIAD, one entry per
/// metric ("oiad_ssim", ...) is derived from the stored "oiad" file.
struct MethodRun {
  std::string name;
  double auc = 0, fit_seconds = 0, score_seconds = 0;
  nlohmann::json details = nlohmann::json::object();
  std::vector<double> scores;  ///< per reported test image, higher = more anomalous
};

nlohmann::json to_json(const MethodRun& r);
MethodRun method_from_json(const nlohmann::json& j);

/// Features of the split's parts for the baselines (pixels / 255, one row per image).
struct BaselineInputs {
  baselines::Matrix train, val, holdout, test;
  std::vector<uint8_t> holdout_labels, test_labels;
  /// The parts projected on the PCA of `train` with the largest size tried (its first k
  /// columns are the k-size PCA), fitted once and shared by the baselines.
  baselines::Matrix ptrain, pval, phold, ptest;
  int pca_max = 0;
  double pca_seconds = 0;
  std::string pca_solver;
};

/// Fits the shared PCA (once) on in.train and projects every part.
void project_features(BaselineInputs& in, const ExperimentOptions& o);

/// KDE, OC-SVM or GMM as Sec. IV.B: PCA sizes and kernel widths chosen by AUC on the holdout.
MethodRun run_baseline(const std::string& name, const BaselineInputs& in, const ExperimentOptions& o);

/// Writes figures/roc.svg, figures/sweep.svg, figures/metrics_val_size.svg, report.md and
/// report.html from results.json's content and the per-method scores.
void write_report(const std::string& dir, const nlohmann::json& results, const std::vector<MethodRun>& runs,
                  const std::vector<uint8_t>& test_labels, const nlohmann::json& pictures);

}  // namespace oiad::experiment::detail

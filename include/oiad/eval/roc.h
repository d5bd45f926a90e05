// ROC analysis on plain vectors. Labels: 1 = anomalous (positive), 0 = normal.
#pragma once

#include <cstdint>
#include <vector>

namespace oiad::eval {

/// Area under the ROC curve of `scores` (higher = more anomalous): the probability that a
/// random anomalous image scores above a random normal one, ties counting one half
/// (Mann-Whitney U / (n_pos · n_neg)). Throws Error when a class is missing.
double roc_auc(const std::vector<double>& scores, const std::vector<uint8_t>& labels);

struct RocPoint {
  double fpr = 0, tpr = 0, threshold = 0;
};
/// The ROC curve: one point per distinct score, from (0, 0) to (1, 1).
std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<uint8_t>& labels);

/// Fig. 3: TP = share of anomalies flagged, TN = share of normal images passed,
/// acc = share of all images decided correctly, at one α.
struct SweepPoint {
  double alpha = 0, tp = 0, tn = 0, acc = 0;
};
/// `flagged[i]` is the decision for image i.
SweepPoint sweep_point(double alpha, const std::vector<uint8_t>& flagged, const std::vector<uint8_t>& labels);
/// sweep_point with flagged[i] = scores[i] > threshold; `level` is recorded as its alpha.
SweepPoint threshold_point(double level, const std::vector<double>& scores, double threshold,
                           const std::vector<uint8_t>& labels);

}  // namespace oiad::eval

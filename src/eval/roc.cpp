#include "oiad/eval/roc.h"

#include <algorithm>
#include <numeric>

#include "oiad/core/error.h"

namespace oiad::eval {

double roc_auc(const std::vector<double>& scores, const std::vector<uint8_t>& labels) {
  OIAD_CHECK(scores.size() == labels.size(), "roc_auc: ", scores.size(), " scores, ", labels.size(), " labels");
  const size_t n = scores.size();
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mid-ranks over runs of equal scores.
  double rank_sum_pos = 0;
  size_t n_pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[idx[j]] == scores[idx[i]]) ++j;
    const double mid = 0.5 * double(i + 1 + j);  // average of ranks i+1 .. j
    for (size_t t = i; t < j; ++t)
      if (labels[idx[t]]) rank_sum_pos += mid, ++n_pos;
    i = j;
  }
  const size_t n_neg = n - n_pos;
  OIAD_CHECK(n_pos > 0 && n_neg > 0, "roc_auc: needs both normal and anomalous images (", n_neg, " normal, ", n_pos,
             " anomalous)");
  const double u = rank_sum_pos - double(n_pos) * double(n_pos + 1) / 2.0;
  return u / (double(n_pos) * double(n_neg));
}

std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<uint8_t>& labels) {
  OIAD_CHECK(scores.size() == labels.size(), "roc_curve: sizes differ");
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double pos = 0, neg = 0;
  for (auto l : labels) (l ? pos : neg) += 1;
  OIAD_CHECK(pos > 0 && neg > 0, "roc_curve: needs both classes");
  std::vector<RocPoint> pts = {{0, 0, idx.empty() ? 0 : scores[idx[0]] + 1}};
  double tp = 0, fp = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && scores[idx[j]] == scores[idx[i]]) {
      (labels[idx[j]] ? tp : fp) += 1;
      ++j;
    }
    pts.push_back({fp / neg, tp / pos, scores[idx[i]]});
    i = j;
  }
  return pts;
}

SweepPoint sweep_point(double alpha, const std::vector<uint8_t>& flagged, const std::vector<uint8_t>& labels) {
  OIAD_CHECK(flagged.size() == labels.size(), "sweep: sizes differ");
  double tp = 0, tn = 0, pos = 0, neg = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i]) {
      pos++;
      tp += flagged[i] ? 1 : 0;
    } else {
      neg++;
      tn += flagged[i] ? 0 : 1;
    }
  }
  SweepPoint p;
  p.alpha = alpha;
  p.tp = pos > 0 ? tp / pos : 0;
  p.tn = neg > 0 ? tn / neg : 0;
  p.acc = labels.empty() ? 0 : (tp + tn) / double(labels.size());
  return p;
}

SweepPoint threshold_point(double level, const std::vector<double>& scores, double threshold,
                           const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> flagged;
  flagged.reserve(scores.size());
  for (double s : scores) flagged.push_back(s > threshold);
  return sweep_point(level, flagged, labels);
}

}  // namespace oiad::eval

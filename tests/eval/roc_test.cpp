#include <gtest/gtest.h>

#include "oiad/core/error.h"
#include "oiad/core/random.h"
#include "oiad/eval/roc.h"

namespace oiad::eval {
namespace {

// Hand-computed AUCs: scikit-learn's documented example (0.75), all ties (0.5), a mixed
// case with one tied pair (3.5 of 4 pairs = 0.875), perfect and inverted rankings.
TEST(RocAuc, HandComputedCases) {
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
  EXPECT_DOUBLE_EQ(roc_auc({1, 1, 1, 1}, {0, 1, 0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(roc_auc({0.5, 0.5, 0.2, 0.9}, {1, 0, 0, 1}), 0.875);
  EXPECT_DOUBLE_EQ(roc_auc({1, 2, 3, 4}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({1, 2, 3, 4}, {1, 1, 0, 0}), 0.0);
  EXPECT_THROW(roc_auc({1, 2}, {1, 1}), Error);
}

// On random data with many ties, the AUC equals the brute-force pair count, and the area
// under roc_curve (trapezoids) equals it too.
TEST(RocAuc, MatchesBruteForcePairs) {
  Rng rng(4);
  std::vector<double> s;
  std::vector<uint8_t> l;
  for (int i = 0; i < 300; ++i) {
    l.push_back(rng.uniform01() < 0.4);
    s.push_back(double(rng.uniform_index(20)) + (l.back() ? 3 : 0));
  }
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (l[i] && !l[j]) pairs += 1, wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
  EXPECT_NEAR(roc_auc(s, l), wins / pairs, 1e-12);
  auto curve = roc_curve(s, l);
  double area = 0;
  for (size_t i = 1; i < curve.size(); ++i)
    area += (curve[i].fpr - curve[i - 1].fpr) * (curve[i].tpr + curve[i - 1].tpr) / 2;
  EXPECT_NEAR(area, wins / pairs, 1e-12);
  EXPECT_DOUBLE_EQ(curve.back().fpr, 1.0);
  EXPECT_DOUBLE_EQ(curve.back().tpr, 1.0);
}

// TP, TN and accuracy at one α against a direct count.
TEST(Sweep, CountsDecisions) {
  std::vector<uint8_t> flagged = {1, 0, 1, 1, 0, 0}, labels = {1, 1, 1, 0, 0, 0};
  SweepPoint p = sweep_point(0.2, flagged, labels);
  EXPECT_DOUBLE_EQ(p.tp, 2.0 / 3);
  EXPECT_DOUBLE_EQ(p.tn, 2.0 / 3);
  EXPECT_DOUBLE_EQ(p.acc, 4.0 / 6);
  EXPECT_DOUBLE_EQ(p.alpha, 0.2);
  // The same decisions as "score above 0.5" (equal to the threshold is not flagged).
  SweepPoint q = threshold_point(0.05, {0.9, 0.5, 0.7, 0.6, 0.1, 0.5}, 0.5, labels);
  EXPECT_DOUBLE_EQ(q.tp, 2.0 / 3);
  EXPECT_DOUBLE_EQ(q.tn, 2.0 / 3);
  EXPECT_DOUBLE_EQ(q.acc, 4.0 / 6);
  EXPECT_DOUBLE_EQ(q.alpha, 0.05);
}

}  // namespace
}  // namespace oiad::eval

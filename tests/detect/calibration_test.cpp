#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "oiad/core/error.h"
#include "oiad/core/random.h"
#include "oiad/detect/calibration.h"

namespace oiad::detect {
namespace {

// The table of nested values v[image][metric][code] (every image: kNumMetrics metrics).
ConsistencyTable table(const std::vector<std::vector<std::vector<double>>>& v) {
  ConsistencyTable t(v.size(), v.empty() ? 0 : v[0][0].size());
  for (size_t i = 0; i < v.size(); ++i)
    for (int m = 0; m < kNumMetrics; ++m)
      for (size_t k = 0; k < t.codes(); ++k) t.at(i, Metric(m), k) = v[i][size_t(m)][k];
  return t;
}


// numpy.quantile (linear) on [1, 2, 3, 4]: 0.4 -> 2.2, 0.5 -> 2.5, 0 -> 1, 1 -> 4.
TEST(Quantile, MatchesNumpyLinear) {
  std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(quantile_sorted(v, 0.4), 2.2);
  EXPECT_DOUBLE_EQ(quantile_sorted(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile_sorted(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile_sorted(v, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(fractile_of(v, 2.2), 0.4);
  EXPECT_DOUBLE_EQ(fractile_of(v, 0.5), 0.0);
  EXPECT_DOUBLE_EQ(fractile_of(v, 9.0), 1.0);
  EXPECT_DOUBLE_EQ(fractile_of({1, 2, 2, 2, 3}, 2.0), 0.5);
}

Calibration synthetic(int codes, int n, uint64_t seed) {
  Calibration c;
  Rng rng(seed);
  c.distributions.assign(kNumMetrics, {});
  for (int k = 0; k < codes; ++k) {
    c.codes.push_back(k);
    CodeDistribution d;
    for (int i = 0; i < n; ++i) d.sorted.push_back(rng.uniform(0, 1) * (k + 1));
    std::sort(d.sorted.begin(), d.sorted.end());
    c.distributions[0].push_back(d);
  }
  c.n_val = n;
  return c;
}

// The paper's rule on VAL values 0..100: the 40%-fractile is 40 and the 60%-fractile 60;
// an image is normal only when every code lies inside its interval.
TEST(DecisionRule, MatchesFractiles) {
  Calibration c;
  c.codes = {0, 1};
  c.distributions.assign(kNumMetrics, {});
  CodeDistribution a, b;
  for (int i = 0; i <= 100; ++i) a.sorted.push_back(i), b.sorted.push_back(10.0 * i);
  c.distributions[0] = {a, b};
  auto t = c.thresholds(Metric::kMse, 0.4);
  EXPECT_DOUBLE_EQ(t[0].first, 40.0);
  EXPECT_DOUBLE_EQ(t[0].second, 60.0);
  EXPECT_DOUBLE_EQ(t[1].first, 400.0);
  EXPECT_FALSE(c.anomalous(Metric::kMse, {40.0, 500.0}, 0.4));
  EXPECT_FALSE(c.anomalous(Metric::kMse, {60.0, 600.0}, 0.4));
  EXPECT_TRUE(c.anomalous(Metric::kMse, {39.9, 500.0}, 0.4));
  EXPECT_TRUE(c.anomalous(Metric::kMse, {50.0, 600.1}, 0.4));
  EXPECT_FALSE(c.anomalous(Metric::kMse, {39.9, 500.0}, 0.3));  // wider interval at α = 0.3
  EXPECT_THROW(c.anomalous(Metric::kMse, {50.0}, 0.4), Error);   // one value per code
  EXPECT_THROW(c.anomalous(Metric::kMse, {50.0, 500.0}, 0.6), UsageError);
  EXPECT_THROW(c.anomalous(Metric::kMse, {50.0, 500.0}, 0.0), UsageError);
  EXPECT_THROW(c.anomalous(Metric::kSsim, {50.0, 500.0}, 0.4), Error);  // not calibrated
}

// The score orders images exactly as the α sweep does: flagged at α ⇔ score > 1 - 2α.
TEST(Score, EquivalentToAlphaSweep) {
  Calibration c = synthetic(5, 200, 1);
  Rng rng(2);
  int flagged_somewhere = 0;
  for (int img = 0; img < 400; ++img) {
    std::vector<double> sc;
    for (int k = 0; k < 5; ++k) sc.push_back(rng.uniform(-0.2, 1.2) * (k + 1));
    const double s = c.score(Metric::kMse, sc);
    for (double alpha : {0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5}) {
      EXPECT_EQ(c.anomalous(Metric::kMse, sc, alpha), s > 1.0 - 2.0 * alpha) << "image " << img << " α " << alpha;
      flagged_somewhere += c.anomalous(Metric::kMse, sc, alpha);
    }
  }
  EXPECT_GT(flagged_somewhere, 0);
}

// Tied VAL values (6 images: a, a, a, b, b, c) keep the equivalence. At α = 0.4 the interval
// is [q(0.4), q(0.6)] = [v2, v3] = [a, b]: a and b pass, c is flagged. By hand, a's run spans
// fractiles 0..0.4 and b's 0.6..0.8, so both pass exactly up to α = 0.4 (score 1 - 2·0.4);
// c (fractile 1) is flagged at every α (score 1).
TEST(Score, TiedValValues) {
  const double a = 0.079, b = 0.110, c_ = 0.146;
  std::vector<std::vector<std::vector<double>>> v;
  for (double x : {a, a, a, b, b, c_}) v.push_back(std::vector<std::vector<double>>(kNumMetrics, {x}));
  const Calibration c = make_calibration({0}, table(v), 0.4);
  EXPECT_FALSE(c.anomalous(Metric::kMse, {a}, 0.4));
  EXPECT_FALSE(c.anomalous(Metric::kMse, {b}, 0.4));
  EXPECT_TRUE(c.anomalous(Metric::kMse, {c_}, 0.4));
  EXPECT_NEAR(c.score(Metric::kMse, {a}), 0.2, 1e-12);
  EXPECT_NEAR(c.score(Metric::kMse, {b}), 0.2, 1e-12);
  EXPECT_NEAR(c.score(Metric::kMse, {c_}), 1.0, 1e-12);
  // Conformal p-values of the paper rule: the VAL images' own scores are 0.2 (five of them)
  // and 1 (c), so p(1) = (1 + 1) / 7, p(0.2) = (1 + 6) / 7 = 1, p(0.5) = 2 / 7, p(2) = 1 / 7.
  EXPECT_NEAR(c.p_value(Metric::kMse, Rule::kPaper, 1.0), 2.0 / 7, 1e-12);
  EXPECT_NEAR(c.p_value(Metric::kMse, Rule::kPaper, c.score(Metric::kMse, {a})), 1.0, 1e-12);  // 0.2, as computed
  EXPECT_NEAR(c.p_value(Metric::kMse, Rule::kPaper, 0.5), 2.0 / 7, 1e-12);
  EXPECT_NEAR(c.p_value(Metric::kMse, Rule::kPaper, 2.0), 1.0 / 7, 1e-12);
  for (double x : {a, b, c_, 0.5 * (a + b), 0.5 * (b + c_)})
    for (int i = 1; i <= 50; ++i) {
      const double alpha = i / 100.0;
      EXPECT_EQ(c.anomalous(Metric::kMse, {x}, alpha), c.score(Metric::kMse, {x}) > 1.0 - 2.0 * alpha)
          << "value " << x << " α " << alpha;
    }
}

// Beyond the VAL range, farther out scores higher (ties broken by the distance).
TEST(Score, BeyondRangeOrderedByDistance) {
  Calibration c = synthetic(2, 50, 3);
  const double hi0 = c.distributions[0][0].sorted.back();
  const double mid1 = c.distributions[0][1].quantile(0.5);
  const double near = c.score(Metric::kMse, {hi0 + 0.01, mid1});
  const double far = c.score(Metric::kMse, {hi0 + 0.5, mid1});
  EXPECT_GT(near, 1.0);
  EXPECT_GT(far, near);
  EXPECT_NEAR(c.score(Metric::kMse, {c.distributions[0][0].quantile(0.5), mid1}), 0.0, 1e-9);
}

}  // namespace
}  // namespace oiad::detect

namespace oiad::detect {
namespace {

// One-sided variant: the mean standardised SC, signed so lower SSIM / higher MSE is worse.
TEST(Score, OneSidedMeanStandardised) {
  Calibration c;
  c.codes = {0, 1};
  c.distributions.assign(kNumMetrics, {});
  CodeDistribution a{{1, 2, 3}}, b{{10, 20, 30}};  // means 2 and 20, population sd sqrt(2/3), sqrt(200/3)
  c.distributions[int(Metric::kMse)] = {a, b};
  c.distributions[int(Metric::kSsim)] = {a, b};
  const double za = (3 - 2) / std::sqrt(2.0 / 3), zb = (10 - 20) / std::sqrt(200.0 / 3);
  EXPECT_NEAR(c.one_sided_score(Metric::kMse, {3, 10}), (za + zb) / 2, 1e-9);
  EXPECT_NEAR(c.one_sided_score(Metric::kSsim, {3, 10}), -(za + zb) / 2, 1e-9);
  EXPECT_NEAR(c.one_sided_scorer(Metric::kMse)({3, 10}), (za + zb) / 2, 1e-9);
  EXPECT_THROW(c.one_sided_scorer(Metric::kMse)({3}), Error);  // one value per code
}

// The one-sided rule by hand. VAL, 3 images x 2 codes (the same values for every metric):
// code a = (1, 2, 3), mean 2, population sd sqrt(2/3); code b = (10, 30, 20), mean 20, sd
// sqrt(200/3). Standardised: image 0 (-r, -r), image 1 (0, r), image 2 (r, 0) with
// r = sqrt(1.5), so the mean scores (MSE sign) are -r, r/2, r/2. The (1 - f)-fractile
// (numpy linear) at f = 0.5 is r/2 and at f = 0.75 is (-r + r/2)/2 = -r/4. SSIM flips signs.
TEST(OneSidedRule, ValScoresAndThresholdsByHand) {
  std::vector<std::vector<std::vector<double>>> v(3, std::vector<std::vector<double>>(kNumMetrics));
  const double a[3] = {1, 2, 3}, b[3] = {10, 30, 20};
  for (int i = 0; i < 3; ++i)
    for (int m = 0; m < kNumMetrics; ++m) v[size_t(i)][size_t(m)] = {a[i], b[i]};
  const Calibration c = make_calibration({4, 7}, table(v), 0.4);
  const double r = std::sqrt(1.5);
  ASSERT_TRUE(c.has_one_sided(Metric::kMse));
  ASSERT_EQ(c.val_one_sided[size_t(Metric::kMse)].size(), 3u);
  EXPECT_NEAR(c.val_one_sided[size_t(Metric::kMse)][0], -r, 1e-9);
  EXPECT_NEAR(c.val_one_sided[size_t(Metric::kMse)][1], r / 2, 1e-9);
  EXPECT_NEAR(c.val_one_sided[size_t(Metric::kMse)][2], r / 2, 1e-9);
  EXPECT_NEAR(c.val_one_sided[size_t(Metric::kSsim)][0], -r / 2, 1e-9);
  EXPECT_NEAR(c.val_one_sided[size_t(Metric::kSsim)][2], r, 1e-9);
  EXPECT_NEAR(c.one_sided_threshold(Metric::kMse, 0.5), r / 2, 1e-9);
  EXPECT_NEAR(c.one_sided_threshold(Metric::kMse, 0.75), -r / 4, 1e-9);
  // Image (2, 20) is at both means: score 0, flagged only where the threshold is below 0.
  EXPECT_FALSE(c.anomalous_one_sided(Metric::kMse, {2, 20}, 0.5));
  EXPECT_TRUE(c.anomalous_one_sided(Metric::kMse, {2, 20}, 0.75));
  // Higher MSE on code a is worse; for SSIM lower is worse.
  EXPECT_TRUE(c.anomalous_one_sided(Metric::kMse, {4, 20}, 0.5));
  EXPECT_FALSE(c.anomalous_one_sided(Metric::kSsim, {4, 20}, 0.5));
  EXPECT_TRUE(c.anomalous_one_sided(Metric::kSsim, {0, 20}, 0.5));
  EXPECT_THROW(c.one_sided_threshold(Metric::kMse, 0.0), UsageError);
  EXPECT_THROW(c.one_sided_threshold(Metric::kMse, 1.0), UsageError);
  // Conformal p-values against the VAL scores (-r, r/2, r/2): (1 + #{VAL >= s}) / 4.
  EXPECT_NEAR(c.p_value(Metric::kMse, Rule::kOneSided, c.val_one_sided[size_t(Metric::kMse)][1]), 3.0 / 4, 1e-9);
  EXPECT_NEAR(c.p_value(Metric::kMse, Rule::kOneSided, r), 1.0 / 4, 1e-9);
  EXPECT_NEAR(c.p_value(Metric::kMse, Rule::kOneSided, -10.0), 1.0, 1e-9);
  EXPECT_NEAR(c.p_value(Metric::kMse, Rule::kOneSided, 0.0), 3.0 / 4, 1e-9);

  // A subset (images 0 and 1): a = (1, 2), mean 1.5, sd 0.5; b = (10, 30), mean 20, sd 10:
  // scores -1 and 1.
  const std::vector<size_t> sub = {0, 1};
  const Calibration cs = make_calibration({4, 7}, table(v), 0.4, &sub);
  EXPECT_NEAR(cs.val_one_sided[size_t(Metric::kLoss)][0], -1.0, 1e-9);
  EXPECT_NEAR(cs.val_one_sided[size_t(Metric::kLoss)][1], 1.0, 1e-9);

  // Stored with the model; a calibration written before the rule existed has none.
  const Calibration back = Calibration::from_json(c.to_json());
  EXPECT_EQ(back.val_one_sided, c.val_one_sided);
  EXPECT_EQ(back.val_paper, c.val_paper);
  EXPECT_EQ(back.rule, Rule::kOneSided);  // the default decision
  EXPECT_DOUBLE_EQ(back.fpr, 0.05);
  nlohmann::json old = c.to_json();
  old.erase("val_one_sided");
  old.erase("val_paper");
  old.erase("rule");
  old.erase("fpr");
  const Calibration before = Calibration::from_json(old);
  EXPECT_FALSE(before.has_one_sided(Metric::kSsim));
  EXPECT_THROW(before.one_sided_threshold(Metric::kSsim, 0.05), Error);
  // Written before the default decision was stored, and without one-sided scores: the
  // paper's rule; without VAL scores there is no p-value.
  EXPECT_EQ(before.rule, Rule::kPaper);
  EXPECT_TRUE(std::isnan(before.p_value(Metric::kSsim, Rule::kPaper, 0.5)));
  nlohmann::json paper = c.to_json();
  paper["rule"] = "paper";
  EXPECT_EQ(Calibration::from_json(paper).rule, Rule::kPaper);
  paper["fpr"] = 1.5;
  EXPECT_THROW(Calibration::from_json(paper), Error);
  nlohmann::json bad = c.to_json();
  bad["val_one_sided"]["mse"] = {3.0, 1.0, 2.0};
  EXPECT_THROW(Calibration::from_json(bad), Error);
  EXPECT_EQ(parse_rule("one-sided"), Rule::kOneSided);
  EXPECT_EQ(parse_rule("paper"), Rule::kPaper);
  EXPECT_THROW(parse_rule("two-sided"), UsageError);
}

// Code weights (a kept code standing for merged duplicates): with codes a and b of the test
// above and b weighted 2, the standardised values of image 0 (-r, -r), image 1 (0, r) and
// image 2 (r, 0) average to -r, 2r/3 and r/3: the mean over the three codes a, b, b.
TEST(OneSidedRule, WeightedCodesCountOncePerCodeTheyStandFor) {
  std::vector<std::vector<std::vector<double>>> v(3, std::vector<std::vector<double>>(kNumMetrics)),
      v3 = v;
  const double a[3] = {1, 2, 3}, b[3] = {10, 30, 20};
  for (int i = 0; i < 3; ++i)
    for (int m = 0; m < kNumMetrics; ++m) v[size_t(i)][size_t(m)] = {a[i], b[i]}, v3[size_t(i)][size_t(m)] = {a[i], b[i], b[i]};
  const Calibration c = make_calibration({4, 7}, table(v), 0.4, nullptr, {1, 2});
  const double r = std::sqrt(1.5);
  const auto& s = c.val_one_sided[size_t(Metric::kMse)];
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NEAR(s[0], -r, 1e-9);
  EXPECT_NEAR(s[1], r / 3, 1e-9);
  EXPECT_NEAR(s[2], 2 * r / 3, 1e-9);
  EXPECT_NEAR(c.one_sided_score(Metric::kMse, {2, 30}), 2 * r / 3, 1e-9);
  // The same as an unweighted calibration over codes a, b, b, except the local metric, whose
  // mean counts each kept code once: the same as the calibration without weights.
  const Calibration c3 = make_calibration({4, 7, 8}, table(v3), 0.4);
  const Calibration c1 = make_calibration({4, 7}, table(v), 0.4);
  for (int m = 0; m < kNumMetrics; ++m)
    for (size_t i = 0; i < 3; ++i)
      EXPECT_NEAR(c.val_one_sided[size_t(m)][i], (Metric(m) == Metric::kLocal ? c1 : c3).val_one_sided[size_t(m)][i],
                  1e-12)
          << m << " " << i;
  EXPECT_NEAR(c.one_sided_score(Metric::kSsim, {1.5, 12}), c3.one_sided_score(Metric::kSsim, {1.5, 12, 12}), 1e-12);
  EXPECT_NEAR(c.one_sided_score(Metric::kLocal, {2, 30}), (0 + r) / 2, 1e-9);
  // The paper's rule (the extreme code) does not depend on the weights.
  EXPECT_EQ(c.val_paper, c1.val_paper);
  // A calibration written before the local metric's codes counted equally (no field) keeps
  // its weighted local mean; a field that is not true or false is refused.
  auto before = c.to_json();
  before.erase("local_codes_equal");
  const Calibration old = Calibration::from_json(before);
  EXPECT_FALSE(old.local_codes_equal);
  EXPECT_NEAR(old.one_sided_score(Metric::kLocal, {2, 30}), 2 * r / 3, 1e-9);
  auto bad = c.to_json();
  bad["local_codes_equal"] = 1;
  EXPECT_THROW(Calibration::from_json(bad), Error);
  // Stored and read back; bad weights are refused.
  const Calibration back = Calibration::from_json(c.to_json());
  EXPECT_EQ(back.weights, (std::vector<double>{1, 2}));
  EXPECT_TRUE(back.local_codes_equal);
  EXPECT_EQ(back.val_one_sided, c.val_one_sided);
  EXPECT_FALSE(c1.to_json().contains("code_weights"));
  for (const nlohmann::json& w : {nlohmann::json{1.0}, nlohmann::json{1.0, 0.5}, nlohmann::json{1.0, 1e300}}) {
    auto j = c.to_json();
    j["code_weights"] = w;
    EXPECT_THROW(Calibration::from_json(j), Error) << w;
  }
  EXPECT_THROW(make_calibration({4, 7}, table(v), 0.4, nullptr, {1}), Error);
  EXPECT_THROW(make_calibration({4, 7}, table(v), 0.4, nullptr, {1, 0}), Error);
}

// distinct_codes by hand: 40 VAL images, 3 metrics, 5 codes. Code 1 = code 0 + noise of at
// most 0.01 sd(code 0); code 4 = code 0 exactly; code 2 independent; code 3 = code 2 except
// one image of metric 1 moved by 0.2 sd(code 2). At tolerance 0.05: kept {0, 2, 3}, code 0
// stands for {1, 4}. At 0.3, code 3 joins code 2; at 0, only exact copies merge.
TEST(DistinctCodes, MergesOnlyDuplicatesWithinTolerance) {
  Rng r(5);
  const int n = 40;
  std::vector<std::vector<std::vector<double>>> v(n, std::vector<std::vector<double>>(kNumMetrics, std::vector<double>(5)));
  for (int i = 0; i < n; ++i)
    for (int m = 0; m < kNumMetrics; ++m) v[i][m][0] = r.uniform(0, 1), v[i][m][2] = r.uniform(5, 9);
  auto sd = [&](int m, int k) {
    double mean = 0, sq = 0;
    for (int i = 0; i < n; ++i) mean += v[i][m][k];
    mean /= n;
    for (int i = 0; i < n; ++i) sq += (v[i][m][k] - mean) * (v[i][m][k] - mean);
    return std::sqrt(sq / n);
  };
  for (int i = 0; i < n; ++i)
    for (int m = 0; m < kNumMetrics; ++m) {
      v[i][m][1] = v[i][m][0] + r.uniform(-0.01, 0.01) * sd(m, 0);
      v[i][m][4] = v[i][m][0];
      v[i][m][3] = v[i][m][2];
    }
  v[17][1][3] += 0.2 * sd(1, 2);
  std::vector<std::vector<size_t>> merged;
  EXPECT_EQ(distinct_codes(table(v), 0.05, &merged), (std::vector<size_t>{0, 2, 3}));
  EXPECT_EQ(merged, (std::vector<std::vector<size_t>>{{1, 4}, {}, {}}));
  EXPECT_EQ(distinct_codes(table(v), 0.3, &merged), (std::vector<size_t>{0, 2}));
  EXPECT_EQ(merged, (std::vector<std::vector<size_t>>{{1, 4}, {3}}));
  EXPECT_EQ(distinct_codes(table(v), 0.0, &merged), (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(merged, (std::vector<std::vector<size_t>>{{4}, {}, {}, {}}));
  EXPECT_THROW(distinct_codes(table(v), -1.0), Error);
}

// monte_carlo_ratio: a hand-worked case, the closed form on a large synthetic sample, and the
// two limits (no search noise; noise only).
TEST(MonteCarloRatio, HandCaseClosedFormAndLimits) {
  // a = 0 1 2 3, b = 1 0 3 2: Σ(a-b)² = 4, noise = 4 / (2·4) = 0.5; both means 1.5;
  // cov = (0.75 + 0.75 + 0.75 + 0.75) / 3 = 1; ratio = sqrt(0.5).
  EXPECT_NEAR(monte_carlo_ratio({0, 1, 2, 3}, {1, 0, 3, 2}), std::sqrt(0.5), 1e-12);
  // t ~ U(-2, 2) (variance 4/3), e ~ U(-0.5, 0.5) (variance 1/12): σ / sd(t) = 0.5 / 2 = 0.25.
  Rng r(11);
  const int n = 200000;
  std::vector<double> a(n), b(n);
  for (int i = 0; i < n; ++i) {
    const double t = r.uniform(-2, 2);
    a[size_t(i)] = 7 + t + r.uniform(-0.5, 0.5);
    b[size_t(i)] = 7 + t + r.uniform(-0.5, 0.5);
  }
  EXPECT_NEAR(monte_carlo_ratio(a, b), 0.25, 0.005);
  EXPECT_EQ(monte_carlo_ratio({1, 2, 5}, {1, 2, 5}), 0.0);
  EXPECT_EQ(monte_carlo_ratio({1, -1, 1, -1}, {-1, 1, -1, 1}), std::numeric_limits<double>::infinity());
  EXPECT_THROW(monte_carlo_ratio({1, 2}, {1, 2, 3}), Error);
  EXPECT_THROW(monte_carlo_ratio({1}, {1}), Error);
}

}  // namespace
}  // namespace oiad::detect

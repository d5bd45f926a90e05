// Image complexity and the relative rule's fit (detect/complexity.h, calibration.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "oiad/core/error.h"
#include "oiad/detect/calibration.h"
#include "oiad/detect/complexity.h"
#include "oiad/detect/detector.h"

namespace oiad::detect {
namespace {

// Blur by plain loops: the Gaussian weights exp(-t² / 2σ²), |t| <= ceil(3σ), normalised;
// rows then columns, each index clamped to the image (replicated edges).
std::vector<double> blur_by_hand(const std::vector<double>& img, int h, int w, double sigma) {
  const int r = std::max(1, int(std::ceil(3 * sigma)));
  std::vector<double> k(size_t(2 * r + 1));
  double sum = 0;
  for (int t = -r; t <= r; ++t) sum += (k[size_t(t + r)] = std::exp(-double(t * t) / (2 * sigma * sigma)));
  for (double& v : k) v /= sum;
  auto clamp = [](int v, int n) { return std::min(std::max(v, 0), n - 1); };
  std::vector<double> rows(img.size()), out(img.size());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double s = 0;
      for (int t = -r; t <= r; ++t) s += k[size_t(t + r)] * img[size_t(y * w + clamp(x + t, w))];
      rows[size_t(y * w + x)] = s;
    }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double s = 0;
      for (int t = -r; t <= r; ++t) s += k[size_t(t + r)] * rows[size_t(clamp(y + t, h) * w + x)];
      out[size_t(y * w + x)] = s;
    }
  return out;
}

TEST(Complexity, BlurMatchesLoopsAndKeepsConstants) {
  torch::manual_seed(3);
  const auto x = torch::rand({2, 1, 12, 12}, torch::kDouble);
  for (double sigma : {0.5, 1.5, 6.0}) {
    const auto b = gaussian_blur(x, sigma);
    ASSERT_EQ(b.sizes(), x.sizes());
    for (int64_t i = 0; i < 2; ++i) {
      const auto xi = x[i][0].contiguous();
      const std::vector<double> img(xi.data_ptr<double>(), xi.data_ptr<double>() + 144);
      const auto want = blur_by_hand(img, 12, 12, sigma);
      for (int p = 0; p < 144; ++p) EXPECT_NEAR(b[i][0][p / 12][p % 12].item<double>(), want[size_t(p)], 1e-12);
    }
  }
  // A constant image is its own blur: complexity 0 under both kinds.
  const auto flat = torch::full({3, 3, 16, 16}, 0.25);
  EXPECT_NEAR((gaussian_blur(flat, 2.0) - 0.25).abs().max().item<double>(), 0.0, 1e-12);
  for (Metric m : {Metric::kMse, Metric::kLoss, Metric::kSsim, Metric::kLocal})
    EXPECT_NEAR(complexity(flat, m, 1.0).abs().max().item<double>(), 0.0, 1e-9) << metric_name(m);
  EXPECT_THROW(gaussian_blur(flat, 0.0), Error);
  EXPECT_THROW(gaussian_blur(flat[0], 1.0), Error);
}

// Many images in one call are computed in blocks of about 2^18 pixels (17 images of 128 x 128
// span two blocks, the second of one image): each image's complexity equals the one it gets
// alone, and the output keeps the images' order.
TEST(Complexity, ManyImagesEqualEachAlone) {
  torch::manual_seed(11);
  const auto x = torch::rand({17, 1, 128, 128});
  for (Metric m : {Metric::kMse, Metric::kSsim}) {
    const auto all = complexity(x, m, 2.0);
    ASSERT_EQ(all.sizes(), torch::IntArrayRef({17})) << metric_name(m);
    for (int64_t i : {0, 5, 15, 16})
      EXPECT_NEAR(all[i].item<double>(), complexity(x.slice(0, i, i + 1), m, 2.0).item<double>(), 1e-12)
          << metric_name(m) << " image " << i;
  }
  EXPECT_EQ(complexity(x.slice(0, 0, 0), Metric::kMse, 1.0).numel(), 0);
}

// mse and loss: the mean squared difference from the loop blur; ssim and local: 1 - SSIM
// against it. A detailed image is more complex than its own blur (finer texture, more loss).
TEST(Complexity, MetricsOwnDissimilarityToTheBlur) {
  torch::manual_seed(5);
  const auto noise = torch::rand({1, 1, 16, 16}, torch::kDouble);
  const auto smooth = gaussian_blur(noise, 3.0);
  const auto x = torch::cat({noise, smooth});
  const auto c_mse = complexity(x, Metric::kMse, 1.0), c_ssim = complexity(x, Metric::kSsim, 1.0);
  for (int64_t i = 0; i < 2; ++i) {
    const auto xi = x[i][0].contiguous();
    const std::vector<double> img(xi.data_ptr<double>(), xi.data_ptr<double>() + 256);
    const auto b = blur_by_hand(img, 16, 16, 1.0);
    double se = 0;
    for (size_t p = 0; p < 256; ++p) se += (img[p] - b[p]) * (img[p] - b[p]);
    EXPECT_NEAR(c_mse[i].item<double>(), se / 256, 1e-12);
    const auto bt = torch::tensor(b, torch::kDouble).view({1, 1, 16, 16});
    EXPECT_NEAR(c_ssim[i].item<double>(), 1 - ssim(x.slice(0, i, i + 1), bt).item<double>(), 1e-12);
    EXPECT_NEAR(complexity(x.slice(0, i, i + 1), Metric::kLoss, 1.0).item<double>(), se / 256, 1e-12);
  }
  EXPECT_GT(c_mse[0].item<double>(), 5 * c_mse[1].item<double>());
  EXPECT_GT(c_ssim[0].item<double>(), c_ssim[1].item<double>());
}

// Least squares by hand: x = 1..4, y = (2, 4, 5, 4): means 2.5 and 3.75, Sxy = 3.5, Sxx = 5,
// Syy = 4.75, so slope 0.7, intercept 2, R² = 3.5² / (5 · 4.75).
TEST(RelativeRule, LineFitByHand) {
  const ComplexityFit f = fit_line({1, 2, 3, 4}, {2, 4, 5, 4});
  EXPECT_NEAR(f.slope, 0.7, 1e-12);
  EXPECT_NEAR(f.intercept, 2.0, 1e-12);
  EXPECT_NEAR(f.r2, 12.25 / 23.75, 1e-12);
  EXPECT_NEAR(f.predict(10), 9.0, 1e-12);
  const ComplexityFit exact = fit_line({0, 1, 2}, {-1, 2, 5});
  EXPECT_NEAR(exact.slope, 3, 1e-12);
  EXPECT_NEAR(exact.r2, 1, 1e-12);
  const ComplexityFit flat = fit_line({2, 2, 2}, {1, 2, 6});
  EXPECT_EQ(flat.slope, 0);
  EXPECT_NEAR(flat.intercept, 3, 1e-12);
  EXPECT_EQ(flat.r2, 0);
  EXPECT_THROW(fit_line({1}, {1}), Error);
  EXPECT_THROW(fit_line({1, 2}, {1}), Error);
}

// VAL images whose one code's MSE consistency is exactly c_2(x), their complexity at σ = 2:
// the one-sided score is (c_2 - mean) / sd, a line in c_2 with R² = 1 and slope 1 / sd, so
// the fit must keep σ = 2 and every VAL relative score is 0. An image then scores its
// one-sided score less that line, and the threshold and p-value come from VAL's scores.
TEST(RelativeRule, FitKeepsTheSigmaThatExplainsValAndScoresRelativeToIt) {
  torch::manual_seed(11);
  const int64_t n = 40;
  // Images from flat to noisy: noise of amplitude growing with the image's index.
  const auto amp = torch::linspace(0.02, 0.5, n, torch::kDouble).view({n, 1, 1, 1});
  const auto x = (0.5 + amp * (torch::rand({n, 1, 32, 32}, torch::kDouble) - 0.5)).clamp(0, 1);
  const auto c2 = complexity(x, Metric::kMse, 2.0).contiguous();
  ConsistencyTable t(size_t(n), 1);
  for (int64_t i = 0; i < n; ++i)
    for (int m = 0; m < kNumMetrics; ++m) t.at(size_t(i), Metric(m), 0) = c2[i].item<double>() + 0.1 * m;
  Calibration c = make_calibration({0}, t, 0.4);
  fit_relative(c, t, x);
  ASSERT_TRUE(c.has_relative(Metric::kMse));
  const ComplexityFit& f = c.relative[size_t(Metric::kMse)];
  EXPECT_DOUBLE_EQ(f.sigma, 2.0);
  EXPECT_NEAR(f.r2, 1.0, 1e-9);
  double mean = 0, var = 0;
  for (int64_t i = 0; i < n; ++i) mean += c2[i].item<double>() / double(n);
  for (int64_t i = 0; i < n; ++i) var += std::pow(c2[i].item<double>() - mean, 2) / double(n);
  EXPECT_NEAR(f.slope, 1 / std::sqrt(var), 1e-6 / std::sqrt(var));
  for (double v : c.val_relative[size_t(Metric::kMse)]) EXPECT_NEAR(v, 0.0, 1e-6);
  // An image as complex as VAL image 7 but with SC larger by one VAL sd: relative score 1.
  const double s7 = c2[7].item<double>();
  EXPECT_NEAR(c.relative_score(Metric::kMse, {s7 + std::sqrt(var)}, s7), 1.0, 1e-6);
  EXPECT_NEAR(c.relative_score(Metric::kMse, {s7}, s7), 0.0, 1e-6);
  // Threshold: the (1 - f)-fractile of VAL's relative scores (all about 0); p-value of a
  // score above every VAL score: 1 / (n + 1).
  EXPECT_NEAR(c.threshold(Metric::kMse, Rule::kRelative, 0.1), 0.0, 1e-6);
  EXPECT_NEAR(c.p_value(Metric::kMse, Rule::kRelative, 1.0), 1.0 / double(n + 1), 1e-12);
  EXPECT_DOUBLE_EQ(c.threshold(Metric::kMse, Rule::kPaper, 0.25), 0.5);
  EXPECT_DOUBLE_EQ(c.threshold(Metric::kMse, Rule::kOneSided, 0.1), c.one_sided_threshold(Metric::kMse, 0.1));
  EXPECT_THROW(c.threshold(Metric::kMse, Rule::kRelative, 1.0), UsageError);
  // Stored with the calibration; one written before the rule existed has none.
  const Calibration back = Calibration::from_json(c.to_json());
  EXPECT_EQ(back.val_relative, c.val_relative);
  EXPECT_DOUBLE_EQ(back.relative[size_t(Metric::kMse)].slope, f.slope);
  EXPECT_DOUBLE_EQ(back.relative[size_t(Metric::kMse)].sigma, 2.0);
  nlohmann::json old = c.to_json();
  old.erase("relative");
  old.erase("val_relative");
  const Calibration before = Calibration::from_json(old);
  EXPECT_FALSE(before.has_relative(Metric::kMse));
  EXPECT_THROW(before.threshold(Metric::kMse, Rule::kRelative, 0.1), Error);
  EXPECT_THROW(before.relative_score(Metric::kMse, {s7}, s7), Error);
  nlohmann::json bad = c.to_json();
  for (double sigma : {0.0, -1.0, 1e9}) {
    bad["relative"]["mse"]["sigma"] = sigma;
    EXPECT_THROW(Calibration::from_json(bad), Error) << sigma;
  }
  bad = c.to_json();
  bad["val_relative"].erase("mse");
  EXPECT_THROW(Calibration::from_json(bad), Error);
  EXPECT_EQ(parse_rule("relative"), Rule::kRelative);
  EXPECT_EQ(rule_name(Rule::kRelative), "relative");
}

// --alpha with the relative rule is a usage error; --fpr alone still means one-sided.
TEST(RelativeRule, DecisionOverrides) {
  const DecisionRule base;
  DecisionOverrides o;
  o.rule = "relative";
  o.fpr = 0.2;
  const DecisionRule d = apply_overrides(base, o, "score", "--");
  EXPECT_EQ(d.rule, Rule::kRelative);
  EXPECT_DOUBLE_EQ(d.fpr, 0.2);
  DecisionOverrides bad;
  bad.rule = "relative";
  bad.alpha = 0.2;
  EXPECT_THROW(apply_overrides(base, bad, "score", "--"), UsageError);
  DecisionOverrides fpr_only;
  fpr_only.fpr = 0.1;
  EXPECT_EQ(apply_overrides(base, fpr_only, "score", "--").rule, Rule::kOneSided);
}

}  // namespace
}  // namespace oiad::detect

#include "oiad/detect/complexity.h"

#include <algorithm>
#include <cmath>

#include "oiad/core/error.h"
#include "oiad/detect/detector.h"

namespace oiad::detect {

torch::Tensor gaussian_blur(const torch::Tensor& images, double sigma) {
  OIAD_CHECK(images.dim() == 4, "blur: expected (N, C, H, W) images, got ", images.dim(), " dimensions");
  OIAD_CHECK(sigma > 0 && std::isfinite(sigma), "blur: σ ", sigma, " is not a positive number");
  namespace F = torch::nn::functional;
  const int64_t r = std::max<int64_t>(1, int64_t(std::ceil(3 * sigma)));
  auto k = torch::arange(-r, r + 1, torch::kDouble).pow(2).div(-2 * sigma * sigma).exp();
  k /= k.sum();
  const int64_t c = images.size(1);
  const auto x = images.to(torch::kDouble);
  auto h = F::pad(x, F::PadFuncOptions({r, r, r, r}).mode(torch::kReplicate));
  h = F::conv2d(h, k.view({1, 1, 1, -1}).repeat({c, 1, 1, 1}), F::Conv2dFuncOptions().groups(c));
  return F::conv2d(h, k.view({1, 1, -1, 1}).repeat({c, 1, 1, 1}), F::Conv2dFuncOptions().groups(c));
}

torch::Tensor complexity(const torch::Tensor& images, Metric metric, double sigma) {
  torch::NoGradGuard ng;
  OIAD_CHECK(images.dim() == 4, "complexity: expected (N, C, H, W) images, got ", images.dim(), " dimensions");
  auto one = [&](const torch::Tensor& part) {
    const auto x = part.to(torch::kDouble);
    const auto b = gaussian_blur(x, sigma);
    if (metric == Metric::kMse || metric == Metric::kLoss) return mse(x, b).to(torch::kDouble);
    return 1.0 - ssim(x, b).to(torch::kDouble);
  };
  // Blocks of about 2^18 pixels (16 images of 128 x 128): memory stays that of one block
  // (bench/complexity_memory.cpp, docs/performance-history.md).
  constexpr int64_t kBlockPixels = int64_t(1) << 18;
  const int64_t n = images.size(0), pixels = images.numel() / std::max<int64_t>(1, n);
  const int64_t block = std::max<int64_t>(1, kBlockPixels / std::max<int64_t>(1, pixels));
  if (n <= block) return one(images);
  std::vector<torch::Tensor> parts;
  for (int64_t a = 0; a < n; a += block) parts.push_back(one(images.slice(0, a, std::min(n, a + block))));
  return torch::cat(parts);
}

const std::vector<double>& complexity_sigmas() {
  static const std::vector<double> kSigmas = {0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0};
  return kSigmas;
}

void fit_relative(Calibration& c, const ConsistencyTable& val, const torch::Tensor& val_images) {
  const size_t n = val.images();
  OIAD_CHECK(int64_t(n) == val_images.size(0), "relative rule: ", n, " VAL consistencies for ", val_images.size(0),
             " VAL images");
  c.relative.assign(kNumMetrics, {});
  c.val_relative.assign(kNumMetrics, {});
  if (n < 2) return;
  for (int mi = 0; mi < kNumMetrics; ++mi) {
    const Metric m = Metric(mi);
    if (!c.has_metric(m)) continue;
    const OneSidedScorer score = c.one_sided_scorer(m);
    std::vector<double> y(n);
    for (size_t i = 0; i < n; ++i) y[i] = score(val.of(i, m));
    ComplexityFit best;
    std::vector<double> best_c;
    for (double sigma : complexity_sigmas()) {
      const auto t = complexity(val_images, m, sigma).contiguous();
      std::vector<double> cx(t.data_ptr<double>(), t.data_ptr<double>() + n);
      ComplexityFit f = fit_line(cx, y);
      f.sigma = sigma;
      if (best.sigma == 0 || f.r2 > best.r2) best = f, best_c = std::move(cx);
    }
    auto& v = c.val_relative[size_t(mi)];
    for (size_t i = 0; i < n; ++i) v.push_back(y[i] - best.predict(best_c[i]));
    std::sort(v.begin(), v.end());
    c.relative[size_t(mi)] = best;
  }
}

}  // namespace oiad::detect

// Development of a structure consistency relative to the image's own complexity, on
// training images only (the data set's test split is never read).
//
// Why: a PR-morph is a decode, smoother than the image; SC (1 - SSIM, or MSE, against the
// morphs) is therefore large for any detailed image and small for any plain one, normal or
// not. Where the other classes are plainer than the normal class (CIFAR-10: sky and sea
// against fur and foliage) they look more consistent than normal images. The candidate
// scores here take out of SC what the image's complexity alone predicts, with complexity
// c_σ(x) = the same dissimilarity between x and x blurred by a Gaussian of sd σ pixels: a
// model-free stand-in for "how much a smooth decode must lose". Two forms: (1) the
// one-sided score less its least-squares line on c_σ; (2) each code's SC less its own line
// on c_σ, standardised by the residuals' sd, then the one-sided rule's weighted mean over
// codes. Fits use calibration images (normal) only; σ is chosen without labels, as the one
// whose c_σ explains the most of the calibration images' score (largest R²; for (2) the
// codes' R² averaged with the one-sided weights).
//
// Input: a Detector-VAE model file. For a model of the paper protocol, calibration = its
// VAL part, test = its test part (CLE, normal training images held out; ANO, other classes'
// training images). For a model of another protocol (standard, defects), whose test part
// holds test-split images: calibration = the even positions of its VAL part, test = the odd
// positions (normal) and DEV_ANO (1000) training images of the other classes drawn with a
// fixed seed (anomalous).
//
//   cmake --build build --target oiad_relative_sc_dev
//   build/oiad_relative_sc_dev runs/table2/cifar10_cat.oiad > runs/dev/relative_sc_cifar10_cat.txt
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "oiad/data/registry.h"
#include "oiad/data/split.h"
#include "oiad/detect/detector.h"
#include "oiad/eval/roc.h"
#include "oiad/model/model_io.h"
#include "oiad/model/preprocess.h"

using namespace oiad;

namespace {

std::vector<double> vec(const torch::Tensor& t) {
  auto c = t.to(torch::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// x blurred by a normalised Gaussian of sd `sigma` pixels (radius 3σ), edges replicated.
torch::Tensor blur(const torch::Tensor& x, double sigma) {
  const int r = std::max(1, int(std::ceil(3 * sigma)));
  auto k1 = torch::arange(-r, r + 1, torch::kFloat).pow(2).div(-2 * sigma * sigma).exp();
  k1 /= k1.sum();
  const int64_t c = x.size(1);
  namespace F = torch::nn::functional;
  auto h = F::pad(x, F::PadFuncOptions({r, r, r, r}).mode(torch::kReplicate));
  h = F::conv2d(h, k1.view({1, 1, 1, -1}).repeat({c, 1, 1, 1}), F::Conv2dFuncOptions().groups(c));
  return F::conv2d(h, k1.view({1, 1, -1, 1}).repeat({c, 1, 1, 1}), F::Conv2dFuncOptions().groups(c));
}

// Least squares y ≈ a + b·x; returns {a, b, R²}.
std::array<double, 3> fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = double(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  const double b = sxx > 0 ? sxy / sxx : 0;
  return {my - b * mx, b, syy > 0 && sxx > 0 ? sxy * sxy / (sxx * syy) : 0};
}

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }
double sd_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}

}  // namespace

int run(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.oiad\n", argv[0]);
    return 2;
  }
  torch::set_num_threads(2);
  torch::NoGradGuard ng;
  const std::string model_path = argv[1];
  auto loaded = model::load_model(model_path, "detector");
  const auto& meta = loaded.file.meta;
  const data::Dataset ds = data::load_dataset(meta.at("dataset").get<std::string>());
  const auto split = data::OneClassSplit::from_json(meta.at("split").dump(), model_path);

  data::SplitPart cal_part, test_part;
  if (split.protocol == "paper") {
    cal_part = split.val;
    test_part = split.test;
  } else {
    std::vector<size_t> even, odd;
    for (size_t i = 0; i < split.val.size(); ++i) (i % 2 ? odd : even).push_back(i);
    cal_part = split.val.subset(even);
    test_part = split.val.subset(odd);
    std::vector<int64_t> others;
    for (int64_t i = 0; i < ds.train.count; ++i)
      if (ds.train.labels[size_t(i)] != split.normal_class) others.push_back(i);
    std::mt19937_64 rng(20261201);
    std::shuffle(others.begin(), others.end(), rng);
    const char* env_ano = std::getenv("DEV_ANO");
    others.resize(std::min(others.size(), size_t(env_ano ? std::atoi(env_ano) : 1000)));
    test_part.index.insert(test_part.index.end(), others.begin(), others.end());
    test_part.anomalous.insert(test_part.anomalous.end(), others.size(), 1);
  }
  // Training images only, whatever the model's protocol.
  for (const data::SplitPart* part : {&cal_part, &test_part})
    if (part->source != "train") {
      std::fprintf(stderr, "%s: a development part would read the data set's %s split; refused\n", model_path.c_str(),
                   part->source.c_str());
      return 2;
    }
  auto input = [&](const data::SplitPart& p) {
    const auto px = data::gather_pixels(ds, p);
    return model::images_to_input(px.data(), int64_t(p.size()), ds.channels, ds.height, ds.width, 32);
  };
  const auto x_cal = input(cal_part), x_test = input(test_part);
  const std::vector<uint8_t>& label = test_part.anomalous;
  std::fprintf(stderr, "%s (%s protocol): calibration %zu, test %zu (%ld anomalous)\n", model_path.c_str(),
               split.protocol.c_str(), cal_part.size(), test_part.size(),
               long(std::count(label.begin(), label.end(), 1)));
  auto report = [&](const std::string& name, const std::vector<double>& s) {
    std::printf("%-72s AUC %.4f\n", name.c_str(), eval::roc_auc(s, label));
    std::fflush(stdout);
  };

  auto net = loaded.net;
  net->eval();
  detect::Detector det(net, detect::preset_options(detect::Preset::kDefault));
  detect::ConsistencyTable tc;
  const detect::Calibration cal = det.calibrate(x_cal, 0.4, &tc);
  const detect::ConsistencyTable tt = det.structure_consistency(x_test);
  const size_t codes = cal.codes.size();
  std::vector<double> weight(codes, 1.0);
  if (!cal.weights.empty()) weight = cal.weights;
  std::printf("codes scored %zu (weights", codes);
  for (double w : weight) std::printf(" %.0f", w);
  std::printf(")\n");

  const std::vector<double> sigmas{0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0};
  for (detect::Metric m : {detect::Metric::kSsim, detect::Metric::kMse, detect::Metric::kLocal}) {
    const std::string mn = detect::metric_name(m);
    const auto scorer = cal.one_sided_scorer(m);
    std::vector<double> s_cal, s_test;
    for (size_t i = 0; i < tc.images(); ++i) s_cal.push_back(scorer(tc.of(i, m)));
    for (size_t i = 0; i < tt.images(); ++i) s_test.push_back(scorer(tt.of(i, m)));
    report(mn + ": one-sided (the library)", s_test);
    // The complexity measure in the metric's own terms: 1 - SSIM (ssim, local) or MSE.
    auto complexity = [&](const torch::Tensor& x, double sigma) {
      const auto b = blur(x, sigma);
      return vec(m == detect::Metric::kMse ? detect::mse(x, b) : 1 - detect::ssim(x, b));
    };
    double best_r2 = -1, best_sigma = 0;
    std::vector<double> best_score;
    double best_code_r2 = -1, best_code_sigma = 0;
    std::vector<double> best_code;
    for (double sigma : sigmas) {
      const auto c_cal = complexity(x_cal, sigma), c_test = complexity(x_test, sigma);
      char tag[64];
      std::snprintf(tag, sizeof tag, "σ %.2f", sigma);
      report(mn + ": complexity alone, " + tag, c_test);
      // (1) the one-sided score less its calibration-image regression on complexity
      const auto [a, b, r2] = fit_line(c_cal, s_cal);
      std::vector<double> resid(s_test.size());
      for (size_t i = 0; i < s_test.size(); ++i) resid[i] = s_test[i] - a - b * c_test[i];
      char line[160];
      std::snprintf(line, sizeof line, "%s: one-sided less regression on complexity, %s (cal R² %.3f, slope %.3g)",
                    mn.c_str(), tag, r2, b);
      report(line, resid);
      if (r2 > best_r2) best_r2 = r2, best_sigma = sigma, best_score = resid;
      // (2) per code: each code's SC less its own calibration-image regression on complexity,
      // standardised by the residuals' sd, then the weighted mean over codes as the
      // one-sided rule does (signed so that larger = less consistent)
      std::vector<double> r_test(s_test.size(), 0.0);
      double wsum = 0, r2_sum = 0;
      const double sign = m == detect::Metric::kSsim ? -1 : 1;  // larger = less consistent
      for (size_t k = 0; k < codes; ++k) {
        std::vector<double> v;
        for (size_t i = 0; i < tc.images(); ++i) v.push_back(sign * tc.at(i, m, k));
        const auto [ak, bk, r2k] = fit_line(c_cal, v);
        std::vector<double> res;
        for (size_t i = 0; i < v.size(); ++i) res.push_back(v[i] - ak - bk * c_cal[i]);
        const double sd = sd_of(res) + 1e-12;
        for (size_t i = 0; i < tt.images(); ++i) r_test[i] += weight[k] * (sign * tt.at(i, m, k) - ak - bk * c_test[i]) / sd;
        wsum += weight[k];
        r2_sum += weight[k] * r2k;
      }
      for (double& r : r_test) r /= wsum;
      std::snprintf(line, sizeof line, "%s: per code less its regression, one-sided mean, %s (weighted cal R² %.3f)",
                    mn.c_str(), tag, r2_sum / wsum);
      report(line, r_test);
      if (r2_sum / wsum > best_code_r2) best_code_r2 = r2_sum / wsum, best_code_sigma = sigma, best_code = r_test;
    }
    char line[160];
    std::snprintf(line, sizeof line, "%s: one-sided less regression, σ chosen by largest cal R² (σ %.2f)", mn.c_str(),
                  best_sigma);
    report(line, best_score);
    std::snprintf(line, sizeof line, "%s: per code less its regression, σ chosen by largest weighted cal R² (σ %.2f)",
                  mn.c_str(), best_code_sigma);
    report(line, best_code);
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}

// Detection quality end to end, on data where the answer is known: every method must separate
// MNIST digit 1 (normal) from the other digits. A change that breaks a scorer (scores made
// constant, random or reversed, a threshold taken from the wrong side) drops its AUC to about
// 0.5 or below and fails here; the unit tests only check the pieces.
//
// The floors sit well below what the methods reach and well above chance. Measured
// 2026-11-29 (the test's settings, one thread; command: `OMP_NUM_THREADS=1 build/oiad_tests
// --gtest_filter='Quality.*'`, AUCs printed by the test): KDE 0.998, OC-SVM 0.996, GMM
// 0.990, VAE 0.965, DCAE 0.985, OIAD mse 0.938, loss 0.931, ssim 0.978, ssim one-sided
// 0.991 on 540 reported test images, where an AUC has a sampling error of about ±0.01.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "oiad/core/error.h"
#include "oiad/data/registry.h"
#include "oiad/experiment/experiment.h"
#include "test_util.h"

namespace oiad {
namespace {

// `oiad experiment --quick` on MNIST digit 1 against the rest (paper protocol, seed 0) with
// `methods`, in a temporary folder; results.json's content.
nlohmann::json quick_mnist_one(const std::vector<std::string>& methods) {
  data::Dataset ds;
  try {
    ds = data::load_dataset("mnist");
  } catch (const Error& e) {
    ADD_FAILURE() << "MNIST is needed for the quality test (scripts/setup.sh installs it): " << e.what();
    return nlohmann::json();
  }
  test::TempDir dir;
  experiment::ExperimentOptions o;
  o.out = dir.file("mnist_1");
  experiment::make_quick(o);
  o.methods = methods;
  o.train.verbose = false;
  o.figures = false;
  return experiment::run_experiment(ds, data::resolve_class(ds, "1"), o);
}

// MNIST digit 1 against the rest, paper protocol, seed 0, in the quick mode of `oiad experiment`
// (at most 600 images per part of the split, 10 training epochs, fewer PCA and GMM sizes than
// Table II's cells): the whole run takes about half a minute on one thread.
TEST(Quality, EveryMethodSeparatesDigitOneFromTheRest) {
  const nlohmann::json res = quick_mnist_one(experiment::ExperimentOptions{}.methods);
  ASSERT_TRUE(res.is_object());
  ASSERT_GE(res["n_test"].get<int>(), 500);

  const std::map<std::string, double> floors = {{"kde", 0.97},      {"ocsvm", 0.97},     {"gmm", 0.97},
                                                {"vae", 0.92},      {"dcae", 0.94},      {"oiad_mse", 0.88},
                                                {"oiad_loss", 0.88}, {"oiad_ssim", 0.93}};
  for (const auto& [method, floor] : floors) {
    ASSERT_TRUE(res["methods"].contains(method)) << method;
    const double auc = res["methods"][method]["auc"];
    std::printf("quality: %-10s AUC %.4f (floor %.2f)\n", method.c_str(), auc, floor);
    EXPECT_GE(auc, floor) << method;
  }
  // The one-sided variant of the SSIM consistencies, and its decisions at 5% VAL false
  // positives: most anomalies flagged, most normal images passed.
  const auto& ssim = res["oiad"]["ssim"];
  std::printf("quality: ssim one-sided AUC %.4f, at F = 0.05: TP %.3f TN %.3f\n",
              ssim["auc_one_sided_mean"].get<double>(), ssim["one_sided"]["tp"].get<double>(),
              ssim["one_sided"]["tn"].get<double>());
  EXPECT_GE(ssim["auc_one_sided_mean"].get<double>(), 0.95);
  EXPECT_GE(ssim["one_sided"]["tp"].get<double>(), 0.7);
  EXPECT_GE(ssim["one_sided"]["tn"].get<double>(), 0.8);
}

// The same-run peers in the same quick mode: `oiad experiment --quick --methods
// deepsvdd,transforms --data mnist --normal-class 1`. Measured 2026-11-30 (one thread, the
// command with --threads 1): Deep SVDD 0.981 (fit 18 s), transformation prediction 0.956.
TEST(Quality, PeersSeparateDigitOneFromTheRest) {
  const nlohmann::json res = quick_mnist_one({"deepsvdd", "transforms"});
  ASSERT_TRUE(res.is_object());
  ASSERT_GE(res["n_test"].get<int>(), 500);
  const std::map<std::string, double> floors = {{"deepsvdd", 0.90}, {"transforms", 0.90}};
  for (const auto& [method, floor] : floors) {
    ASSERT_TRUE(res["methods"].contains(method)) << method;
    const double auc = res["methods"][method]["auc"];
    std::printf("quality: %-10s AUC %.4f (floor %.2f), fit %.1f s\n", method.c_str(), auc, floor,
                res["methods"][method]["fit_seconds"].get<double>());
    EXPECT_GE(auc, floor) << method;
  }
}

}  // namespace
}  // namespace oiad

// The GMM and OC-SVM baselines (baselines/baselines.h) on features given as files, for a
// comparison with scikit-learn on the very same numbers (bench/baseline_parity.py, and the
// test Baselines.ParityWithScikitLearn).
//
//   oiad_baseline_parity DIR gmm K SEED           fits K full-covariance components
//   oiad_baseline_parity DIR gmm-bic LO HI SEED MAX_SAMPLES
//                                                 chooses K in LO..HI by BIC, as an experiment does
//   oiad_baseline_parity DIR ocsvm NU GAMMA       fits a one-class SVM
//
// DIR holds train.f64 and test.f64 (float64, little-endian, row-major) and shape.json
// {"n_train": .., "n_test": .., "d": ..}. Prints one JSON line: the test scores (higher =
// more anomalous), and for the GMM the components, EM iterations and the mean training
// log-likelihood; for the OC-SVM the decision values and the support vectors.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>

#include "oiad/baselines/baselines.h"
#include "oiad/core/error.h"

using oiad::baselines::Matrix;

namespace {

Matrix read_matrix(const std::string& path, int64_t n, int64_t d) {
  Matrix m(n, d);
  std::ifstream f(path, std::ios::binary);
  OIAD_CHECK(f, path, ": cannot open");
  f.read(reinterpret_cast<char*>(m.v.data()), std::streamsize(m.v.size() * sizeof(double)));
  OIAD_CHECK(f.gcount() == std::streamsize(m.v.size() * sizeof(double)), path, ": expected ", n, " x ", d,
             " float64 values");
  return m;
}

int run(int argc, char** argv) {
  OIAD_CHECK_USAGE(argc >= 3, "usage: oiad_baseline_parity DIR gmm K SEED | gmm-bic LO HI SEED MAX_SAMPLES | "
                              "ocsvm NU GAMMA");
  const std::string dir = argv[1], what = argv[2];
  std::ifstream sf(dir + "/shape.json");
  OIAD_CHECK(sf, dir, "/shape.json: cannot open");
  const nlohmann::json shape = nlohmann::json::parse(sf);
  const int64_t d = shape.at("d");
  const Matrix train = read_matrix(dir + "/train.f64", shape.at("n_train"), d);
  const Matrix test = read_matrix(dir + "/test.f64", shape.at("n_test"), d);
  nlohmann::json out;
  if (what == "gmm" || what == "gmm-bic") {
    OIAD_CHECK_USAGE(argc == (what == "gmm" ? 5 : 7), what, ": wrong number of arguments");
    oiad::baselines::Gmm g(true);
    if (what == "gmm")
      g.fit(train, std::atoi(argv[3]), std::strtoull(argv[4], nullptr, 10));
    else
      g.fit_bic(train, std::atoi(argv[3]), std::atoi(argv[4]), std::strtoull(argv[5], nullptr, 10), std::atoll(argv[6]));
    const auto ll = g.log_likelihood(train);
    out = {{"components", g.components()},
           {"iterations", g.iterations()},
           {"train_mean_log_likelihood", std::accumulate(ll.begin(), ll.end(), 0.0) / double(ll.size())},
           {"scores", g.score(test)}};
  } else if (what == "ocsvm") {
    OIAD_CHECK_USAGE(argc == 5, what, ": wrong number of arguments");
    oiad::baselines::OcSvm s(std::atof(argv[3]), std::atof(argv[4]));
    s.fit(train);
    out = {{"support_vectors", s.support_vectors()}, {"decision", s.decision(test)}, {"scores", s.score(test)}};
  } else {
    throw oiad::UsageError("unknown baseline '" + what + "' (gmm, gmm-bic, ocsvm)");
  }
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oiad_baseline_parity: %s\n", e.what());
    return 1;
  }
}

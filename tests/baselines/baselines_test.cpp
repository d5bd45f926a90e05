#include <gtest/gtest.h>

#include <armadillo>
#include <cmath>

#include "oiad/baselines/baselines.h"
#include "oiad/core/random.h"

namespace oiad::baselines {
namespace {

double normal(Rng& r) {  // Box-Muller
  const double u = std::max(r.uniform01(), 1e-300), v = r.uniform01();
  return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v);
}

// PCA on points of a plane in 5-D (plus a constant offset) keeps all pairwise distances with
// 2 components, and orders components by variance.
TEST(Pca, RecoversAPlane) {
  Rng r(1);
  const double u[5] = {0.6, 0.8, 0, 0, 0}, w[5] = {0, 0, 0.6, 0, 0.8};  // orthonormal
  Matrix x(200, 5);
  for (int i = 0; i < 200; ++i) {
    const double a = 3 * normal(r), b = normal(r);
    for (int j = 0; j < 5; ++j) x.at(i, j) = 7 + a * u[j] + b * w[j];
  }
  Pca p;
  p.fit(x, 2);
  Matrix y = p.transform(x);
  auto dist = [](const Matrix& m, int i, int k) {
    double s = 0;
    for (int64_t j = 0; j < m.d; ++j) s += (m.at(i, j) - m.at(k, j)) * (m.at(i, j) - m.at(k, j));
    return std::sqrt(s);
  };
  for (int i = 0; i < 20; ++i) EXPECT_NEAR(dist(x, i, i + 50), dist(y, i, i + 50), 1e-9);
  double v0 = 0, v1 = 0;
  for (int i = 0; i < 200; ++i) v0 += y.at(i, 0) * y.at(i, 0), v1 += y.at(i, 1) * y.at(i, 1);
  EXPECT_GT(v0, v1);
}

// Both PCA solvers against an independent reference: the eigen-decomposition of the sample
// covariance (symmetric eigensolver, not an SVD). Data: 20 directions with variances
// 2^(-c/2)·25 plus isotropic noise of variance 1e-4, in 600-D. The eigenvalues are the
// components' variances, and each component is the eigenvector of the same rank.
TEST(Pca, ExactAndRandomizedMatchTheCovarianceEigenvectors) {
  const int n = 700, d = 600, r = 20, k = 12;
  Rng g(3);
  std::vector<std::vector<double>> dirs(r, std::vector<double>(d));
  for (auto& u : dirs) {
    for (double& e : u) e = normal(g);
  }
  Matrix x(n, d);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) x.at(i, j) = 0.5 + 0.01 * normal(g);
    for (int c = 0; c < r; ++c) {
      const double a = 5 * std::pow(2.0, -c / 4.0) * normal(g) / std::sqrt(double(d));
      for (int j = 0; j < d; ++j) x.at(i, j) += a * dirs[size_t(c)][size_t(j)];
    }
  }
  // Reference: covariance eigenpairs, largest first.
  arma::mat a(x.v.data(), d, n);  // column i = sample i
  arma::mat centred = a.each_col() - arma::mean(a, 1);
  arma::mat cov = centred * centred.t() / double(n - 1);
  arma::vec eval;
  arma::mat evec;
  ASSERT_TRUE(arma::eig_sym(eval, evec, cov));
  EXPECT_EQ(Pca::automatic_solver(n, d, k), Pca::Solver::randomized);
  for (Pca::Solver solver : {Pca::Solver::exact, Pca::Solver::randomized}) {
    Pca p;
    p.fit(x, k, solver, 7);
    EXPECT_EQ(p.solver_used(), solver);
    for (int c = 0; c < k; ++c) {
      const double want = eval(arma::uword(d - 1 - c));
      EXPECT_NEAR(p.explained_variance()[size_t(c)], want, 1e-8 * want) << "component " << c;
      double dot = 0;
      for (int j = 0; j < d; ++j) dot += p.basis()[size_t(j * k + c)] * evec(arma::uword(j), arma::uword(d - 1 - c));
      EXPECT_NEAR(std::abs(dot), 1.0, 1e-8) << "component " << c;
    }
    // Projections are the centred data times the components: their variances are the
    // eigenvalues.
    Matrix y = p.transform(x);
    double v0 = 0;
    for (int i = 0; i < n; ++i) v0 += y.at(i, 0) * y.at(i, 0);
    EXPECT_NEAR(v0 / (n - 1), eval(arma::uword(d - 1)), 1e-8 * eval(arma::uword(d - 1)));
  }
}

// scikit-learn's rule for its 'auto' solver.
TEST(Pca, AutomaticSolverFollowsScikitLearn) {
  EXPECT_EQ(Pca::automatic_solver(5000, 3072, 100), Pca::Solver::randomized);
  EXPECT_EQ(Pca::automatic_solver(5000, 1024, 100), Pca::Solver::randomized);
  EXPECT_EQ(Pca::automatic_solver(400, 3072, 100), Pca::Solver::exact);    // min(n, d) <= 500
  EXPECT_EQ(Pca::automatic_solver(5000, 600, 480), Pca::Solver::exact);    // k >= 0.8·min(n, d)
  EXPECT_EQ(Pca::automatic_solver(5000, 600, 479), Pca::Solver::randomized);
}

// KDE log density equals the brute-force mixture of Gaussians written out per dimension.
TEST(Kde, MatchesBruteForce) {
  Rng r(2);
  Matrix t(30, 3), q(5, 3);
  for (auto& v : t.v) v = normal(r);
  for (auto& v : q.v) v = 2 * normal(r);
  const double h = 0.7;
  Kde k(h);
  k.fit(t);
  auto got = k.log_density(q);
  for (int i = 0; i < 5; ++i) {
    double p = 0;
    for (int n = 0; n < 30; ++n) {
      double prod = 1;
      for (int j = 0; j < 3; ++j) {
        const double z = (q.at(i, j) - t.at(n, j)) / h;
        prod *= std::exp(-0.5 * z * z) / (h * std::sqrt(2 * M_PI));
      }
      p += prod / 30;
    }
    EXPECT_NEAR(got[size_t(i)], std::log(p), 1e-9);
  }
}

// Held-out likelihood picks a bandwidth near Silverman's rule for a 1-D standard normal
// (1.06 n^(-1/5) = 0.31 for n = 500), within a factor of 2.
TEST(Kde, BandwidthByHeldOutLikelihood) {
  Rng r(3);
  Matrix t(500, 1), h(500, 1);
  for (auto& v : t.v) v = normal(r);
  for (auto& v : h.v) v = normal(r);
  std::vector<double> grid;
  for (int k = -6; k <= 3; ++k) grid.push_back(std::pow(2.0, k * 0.5));
  const double bw = Kde::select_bandwidth(t, h, grid);
  EXPECT_GT(bw, 0.31 / 2);
  EXPECT_LT(bw, 0.31 * 2);
}

// OC-SVM: the ν-property (Schölkopf et al. 2001, Prop. 4): at most a fraction ν of the
// training points lie outside, at least a fraction ν are support vectors; a far point scores
// as more anomalous than the centre.
TEST(OcSvm, NuPropertyAndOrdering) {
  Rng r(4);
  Matrix x(400, 2);
  for (auto& v : x.v) v = normal(r);
  OcSvm s(0.1, 0.5);
  s.fit(x);
  int outside = 0;
  for (double d : s.decision(x)) outside += d < 0;
  EXPECT_LE(outside, 0.1 * 400 + 4);  // + a few points on the boundary (solver tolerance)
  EXPECT_GE(s.support_vectors(), int(0.1 * 400));
  Matrix probe(2, 2);
  probe.at(0, 0) = probe.at(0, 1) = 0;
  probe.at(1, 0) = probe.at(1, 1) = 4;
  auto sc = s.score(probe);
  EXPECT_LT(sc[0], sc[1]);
  EXPECT_NEAR(OcSvm::scale_gamma(x), 1.0 / (2 * 1.0), 0.15);  // Var ≈ 1 for standard normals
}

// One full-covariance component is the Gaussian MLE: its log-likelihood matches the closed
// form with the sample mean and the population covariance.
TEST(Gmm, OneComponentIsTheGaussianMle) {
  Rng r(5);
  Matrix x(300, 2);
  for (int i = 0; i < 300; ++i) {
    const double a = normal(r), b = normal(r);
    x.at(i, 0) = 1 + 2 * a;
    x.at(i, 1) = -1 + a + 0.5 * b;
  }
  Gmm g(true);
  g.fit(x, 1);
  double m0 = 0, m1 = 0;
  for (int i = 0; i < 300; ++i) m0 += x.at(i, 0) / 300, m1 += x.at(i, 1) / 300;
  double s00 = 0, s01 = 0, s11 = 0;
  for (int i = 0; i < 300; ++i) {
    const double a = x.at(i, 0) - m0, b = x.at(i, 1) - m1;
    s00 += a * a / 300, s01 += a * b / 300, s11 += b * b / 300;
  }
  const double det = s00 * s11 - s01 * s01;
  auto ll = g.log_likelihood(x);
  for (int i = 0; i < 5; ++i) {
    const double a = x.at(i, 0) - m0, b = x.at(i, 1) - m1;
    const double q = (s11 * a * a - 2 * s01 * a * b + s00 * b * b) / det;
    EXPECT_NEAR(ll[size_t(i)], -0.5 * q - std::log(2 * M_PI) - 0.5 * std::log(det), 1e-3);
  }
}

// BIC picks three components for three well-separated clusters.
TEST(Gmm, BicPicksTheNumberOfClusters) {
  Rng r(6);
  Matrix x(600, 2);
  const double cx[3] = {0, 10, 0}, cy[3] = {0, 0, 10};
  for (int i = 0; i < 600; ++i) {
    x.at(i, 0) = cx[i % 3] + normal(r);
    x.at(i, 1) = cy[i % 3] + normal(r);
  }
  Gmm g(true);
  g.fit_bic(x, 1, 6);
  EXPECT_EQ(g.components(), 3);
}

// Several starts keep the best: on eight overlapping clusters, the fit from 3 starts seeded s
// ends at the largest mean log-likelihood of the three single-start fits seeded s, s + 1 and
// s + 2 (each start is the single fit of its seed), and its scores are that fit's.
TEST(Gmm, SeveralStartsKeepTheLikeliestFit) {
  Rng r(7);
  Matrix x(800, 3);
  for (int i = 0; i < 800; ++i) {
    const int c = i % 8;
    for (int j = 0; j < 3; ++j) x.at(i, j) = 2.0 * ((c >> j) & 1) + 0.9 * normal(r);
  }
  auto mean_ll = [&](const Gmm& g) {
    double s = 0;
    for (double v : g.log_likelihood(x)) s += v;
    return s / double(x.n);
  };
  for (uint64_t seed : {0, 5}) {
    Gmm three(true, 3);
    three.fit(x, 8, seed);
    double best = -1e300, worst = 1e300;
    std::vector<double> best_scores;
    for (uint64_t t = 0; t < 3; ++t) {
      Gmm one(true, 1);
      one.fit(x, 8, seed + t);
      worst = std::min(worst, mean_ll(one));
      if (mean_ll(one) > best) best = mean_ll(one), best_scores = one.score(x);
    }
    EXPECT_GT(best - worst, 1e-6) << seed << ": the starts end alike, so the choice is not tested";
    EXPECT_DOUBLE_EQ(mean_ll(three), best) << seed;
    EXPECT_EQ(three.score(x), best_scores) << seed;
  }
}

}  // namespace
}  // namespace oiad::baselines

// The non-parametric baselines of Table II (Sec. IV.B) on plain features: PCA, Gaussian KDE,
// OC-SVM (libsvm) and GMM (Armadillo). No LibTorch.
//
// Layout: a Matrix holds n samples of d features, row-major; feature j of sample i is
// v[i * d + j]. Every scorer returns an anomaly score per sample: higher = more anomalous.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace oiad::baselines {

struct Matrix {
  int64_t n = 0, d = 0;
  std::vector<double> v;
  Matrix() = default;
  Matrix(int64_t rows, int64_t cols) : n(rows), d(cols), v(size_t(rows * cols), 0.0) {}
  double& at(int64_t i, int64_t j) { return v[size_t(i * d + j)]; }
  double at(int64_t i, int64_t j) const { return v[size_t(i * d + j)]; }
  /// Rows `rows` of this matrix.
  Matrix rows(const std::vector<int64_t>& rows) const;
};

/// uint8 images (n, C·H·W) to a Matrix of pixels / 255.
Matrix from_pixels(const std::vector<uint8_t>& pixels, int64_t n, int64_t d);

/// Principal component analysis: centre, then project on the top-k right singular vectors.
///
/// Solvers: `exact` is a full thin SVD (LAPACK through Armadillo). `randomized` is the
/// randomized range finder of Halko, Martinsson & Tropp (2011, Alg. 4.4: k + 10 Gaussian test
/// vectors, `power_iterations` subspace iterations with QR re-orthonormalisation, then the
/// SVD of the small projected matrix). `automatic` follows scikit-learn's PCA: randomized
/// when min(n, d) > 500 and k < 0.8·min(n, d), else exact; and scikit-learn's iteration
/// count (7 when k < 0.1·min(n, d), else 4). On 3,500 CIFAR-10 images (3,072 features) the
/// exact SVD took 185 s, the randomized one about a second.
class Pca {
 public:
  enum class Solver { automatic, exact, randomized };
  void fit(const Matrix& x, int k, Solver solver = Solver::automatic, uint64_t seed = 0);
  /// The solver `automatic` picks for n samples, d features and k components.
  static Solver automatic_solver(int64_t n, int64_t d, int k);
  Matrix transform(const Matrix& x) const;
  int components() const { return k_; }
  /// Variance of the training data along each component (s_c² / (n - 1)), largest first.
  const std::vector<double>& explained_variance() const { return variance_; }
  /// The components (d, k), row-major: feature j, component c at [j * k + c].
  const std::vector<double>& basis() const { return basis_; }
  Solver solver_used() const { return used_; }

 private:
  int k_ = 0;
  std::vector<double> mean_;   // (d)
  std::vector<double> basis_;  // (d, k) row-major
  std::vector<double> variance_;
  Solver used_ = Solver::exact;
};

/// Gaussian kernel density estimate with an isotropic bandwidth h:
/// log p(x) = logsumexp_i(-‖x - x_i‖² / 2h²) - log n - (d/2) log(2πh²).
class Kde {
 public:
  explicit Kde(double bandwidth) : h_(bandwidth) {}
  void fit(const Matrix& x) { train_ = x; }
  std::vector<double> log_density(const Matrix& x) const;
  std::vector<double> score(const Matrix& x) const;  ///< -log p(x)
  /// The bandwidth of `grid` with the largest mean held-out log-likelihood (label-free).
  static double select_bandwidth(const Matrix& train, const Matrix& heldout, const std::vector<double>& grid);
  /// Default grid: s · sqrt(d) · 2^k for k = -5..2, s = sqrt(mean_j var_j) the typical
  /// per-feature spread (s·sqrt(d) is the typical distance of a sample to the mean).
  static std::vector<double> default_grid(const Matrix& train);
  double bandwidth() const { return h_; }

 private:
  double h_;
  Matrix train_;
};

/// One-class SVM (Schölkopf et al. 2001) through libsvm: RBF kernel exp(-γ‖x - y‖²), ν.
class OcSvm {
 public:
  OcSvm(double nu, double gamma);
  ~OcSvm();
  OcSvm(const OcSvm&) = delete;
  OcSvm& operator=(const OcSvm&) = delete;
  void fit(const Matrix& x);
  /// libsvm's decision value Σ α_i K(x_i, x) - ρ (positive inside the support).
  std::vector<double> decision(const Matrix& x) const;
  std::vector<double> score(const Matrix& x) const;  ///< -decision
  int support_vectors() const;
  /// sklearn's "scale" width 1 / (d · Var(x)), the centre of our γ grid.
  static double scale_gamma(const Matrix& x);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Gaussian mixture (Armadillo gmm_full or gmm_diag), components chosen by BIC.
class Gmm {
 public:
  /// `inits`: EM runs from different seeded starts, the best kept (kDefaultInits).
  static constexpr int kDefaultInits = 3;
  explicit Gmm(bool full_covariance = true, int inits = kDefaultInits);
  ~Gmm();
  Gmm(Gmm&&) noexcept;
  Gmm& operator=(Gmm&&) noexcept;
  /// Fits k components, seeded: from each of `inits` starts (k-means with Euclidean
  /// distances from means spread over the data), EM until the mean log-likelihood changes by
  /// less than 1e-3, at most 100 iterations (as scikit-learn); keeps the start whose EM ends
  /// at the largest mean log-likelihood.
  void fit(const Matrix& x, int k, uint64_t seed = 0);
  /// EM iterations the last fit ran.
  int iterations() const { return iterations_; }
  /// Fits k = lo..hi, picks the one with the smallest BIC, and fits it on x. With
  /// max_samples > 0 and more samples than that, the BIC search runs on a seeded subsample
  /// of max_samples rows (full-covariance EM costs n·k·d² per iteration).
  void fit_bic(const Matrix& x, int lo, int hi, uint64_t seed = 0, int64_t max_samples = 0);
  std::vector<double> log_likelihood(const Matrix& x) const;
  std::vector<double> score(const Matrix& x) const;  ///< -log p(x)
  /// BIC = -2 Σ log p(x_i) + p log n, p = free parameters.
  double bic(const Matrix& x) const;
  int components() const { return k_; }

 private:
  bool full_;
  int inits_;
  int k_ = 0;
  int iterations_ = 0;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oiad::baselines

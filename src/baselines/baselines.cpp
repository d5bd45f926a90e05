#include "oiad/baselines/baselines.h"

#include <libsvm/svm.h>

#include <algorithm>
#include <armadillo>
#include <cmath>
#include <limits>

#include "oiad/core/error.h"
#include "oiad/core/random.h"

namespace oiad::baselines {

namespace {
// Armadillo is column-major: our row-major (n, d) matrix is its (d, n) matrix, one sample
// per column, without copying.
arma::mat as_columns(const Matrix& x) {
  return arma::mat(const_cast<double*>(x.v.data()), arma::uword(x.d), arma::uword(x.n), false, true);
}
}  // namespace

Matrix Matrix::rows(const std::vector<int64_t>& r) const {
  Matrix m(int64_t(r.size()), d);
  for (size_t i = 0; i < r.size(); ++i)
    std::copy(v.begin() + r[i] * d, v.begin() + (r[i] + 1) * d, m.v.begin() + int64_t(i) * d);
  return m;
}

Matrix from_pixels(const std::vector<uint8_t>& pixels, int64_t n, int64_t d) {
  OIAD_CHECK(int64_t(pixels.size()) == n * d, "features: ", pixels.size(), " pixels for ", n, " x ", d);
  Matrix m(n, d);
  for (size_t i = 0; i < pixels.size(); ++i) m.v[i] = pixels[i] / 255.0;
  return m;
}

Pca::Solver Pca::automatic_solver(int64_t n, int64_t d, int k) {
  const int64_t m = std::min(n, d);
  return (m > 500 && double(k) < 0.8 * double(m)) ? Solver::randomized : Solver::exact;
}

namespace {
// An orthonormal basis of the columns of y (thin QR).
arma::mat orthonormal(const arma::mat& y) {
  arma::mat q, r;
  OIAD_CHECK(arma::qr_econ(q, r, y), "PCA: QR failed");
  return q;
}
}  // namespace

void Pca::fit(const Matrix& x, int k, Solver solver, uint64_t seed) {
  OIAD_CHECK(k >= 1 && k <= std::min<int64_t>(x.n, x.d), "PCA: ", k, " components for ", x.n, " samples of ", x.d,
             " features");
  OIAD_CHECK(x.n >= 2, "PCA: ", x.n, " samples; at least 2 are needed");
  if (solver == Solver::automatic) solver = automatic_solver(x.n, x.d, k);
  arma::mat a = as_columns(x).t();  // (n, d)
  arma::rowvec mean = arma::mean(a, 0);
  a.each_row() -= mean;
  arma::mat v;  // (d, >= k) right singular vectors, by decreasing singular value
  arma::vec s;
  if (solver == Solver::exact) {
    arma::mat u;
    OIAD_CHECK(arma::svd_econ(u, s, v, a, "right"), "PCA: SVD failed");
  } else {
    const int64_t m = std::min(x.n, x.d);
    const arma::uword l = arma::uword(std::min<int64_t>(k + 10, m));
    const int iterations = double(k) < 0.1 * double(m) ? 7 : 4;
    Rng rng(seed);
    arma::mat omega(arma::uword(x.d), l);
    for (double& e : omega) {  // standard normal test vectors (Box-Muller)
      const double u1 = std::max(rng.uniform01(), 1e-300), u2 = rng.uniform01();
      e = std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
    }
    arma::mat q = orthonormal(a * omega);  // (n, l): range of a
    for (int it = 0; it < iterations; ++it) q = orthonormal(a * orthonormal(a.t() * q));
    const arma::mat b = q.t() * a;  // (l, d)
    arma::mat ub;
    OIAD_CHECK(arma::svd_econ(ub, s, v, b, "both"), "PCA: SVD of the projected matrix failed");
  }
  k_ = k;
  used_ = solver;
  mean_.assign(mean.begin(), mean.end());
  basis_.assign(size_t(x.d * k), 0.0);
  variance_.assign(size_t(k), 0.0);
  for (int c = 0; c < k; ++c) variance_[size_t(c)] = s(arma::uword(c)) * s(arma::uword(c)) / double(x.n - 1);
  for (int64_t j = 0; j < x.d; ++j)
    for (int c = 0; c < k; ++c) basis_[size_t(j * k + c)] = v(arma::uword(j), arma::uword(c));
}

Matrix Pca::transform(const Matrix& x) const {
  const int64_t d = int64_t(mean_.size());
  OIAD_CHECK(x.d == d, "PCA: ", x.d, " features, fitted on ", d);
  arma::mat a = as_columns(x).t();
  a.each_row() -= arma::rowvec(mean_);
  const arma::mat b(const_cast<double*>(basis_.data()), arma::uword(k_), arma::uword(d), false, true);  // (k, d)
  arma::mat p = a * b.t();                                                                              // (n, k)
  Matrix out(x.n, k_);
  for (int64_t i = 0; i < x.n; ++i)
    for (int c = 0; c < k_; ++c) out.at(i, c) = p(arma::uword(i), arma::uword(c));
  return out;
}

std::vector<double> Kde::log_density(const Matrix& x) const {
  OIAD_CHECK(train_.n > 0 && x.d == train_.d, "KDE: not fitted, or ", x.d, " features against ", train_.d);
  const arma::mat t = as_columns(train_), q = as_columns(x);
  const arma::rowvec tn = arma::sum(arma::square(t), 0);
  std::vector<double> out(size_t(x.n));
  const double norm = std::log(double(train_.n)) + 0.5 * double(x.d) * std::log(2 * M_PI * h_ * h_);
  for (int64_t i = 0; i < x.n; ++i) {
    const arma::vec xi = q.col(arma::uword(i));
    arma::rowvec d2 = tn - 2.0 * (xi.t() * t) + arma::dot(xi, xi);
    arma::rowvec e = -arma::clamp(d2, 0.0, std::numeric_limits<double>::max()) / (2 * h_ * h_);
    const double m = e.max();
    out[size_t(i)] = m + std::log(arma::accu(arma::exp(e - m))) - norm;
  }
  return out;
}

std::vector<double> Kde::score(const Matrix& x) const {
  auto l = log_density(x);
  for (double& v : l) v = -v;
  return l;
}

std::vector<double> Kde::default_grid(const Matrix& train) {
  const arma::mat t = as_columns(train);
  const double s = std::sqrt(arma::mean(arma::var(t, 1, 1)));
  std::vector<double> g;
  for (int k = -5; k <= 2; ++k) g.push_back(s * std::sqrt(double(train.d)) * std::pow(2.0, k));
  return g;
}

double Kde::select_bandwidth(const Matrix& train, const Matrix& heldout, const std::vector<double>& grid) {
  double best = grid.at(0), best_ll = -std::numeric_limits<double>::infinity();
  for (double h : grid) {
    Kde k(h);
    k.fit(train);
    double ll = 0;
    for (double v : k.log_density(heldout)) ll += v;
    ll /= double(heldout.n);
    if (ll > best_ll) best_ll = ll, best = h;
  }
  return best;
}

struct OcSvm::Impl {
  svm_parameter param{};
  svm_problem prob{};
  std::vector<std::vector<svm_node>> nodes;
  std::vector<svm_node*> rows;
  std::vector<double> y;
  svm_model* model = nullptr;
  int64_t d = 0;
  ~Impl() {
    if (model) svm_free_and_destroy_model(&model);
  }
};

namespace {
void quiet(const char*) {}
std::vector<svm_node> to_nodes(const Matrix& x, int64_t i) {
  std::vector<svm_node> r(size_t(x.d + 1));
  for (int64_t j = 0; j < x.d; ++j) r[size_t(j)] = {int(j + 1), x.at(i, j)};
  r[size_t(x.d)] = {-1, 0.0};
  return r;
}
}  // namespace

OcSvm::OcSvm(double nu, double gamma) : impl_(std::make_unique<Impl>()) {
  OIAD_CHECK(nu > 0 && nu <= 1, "OC-SVM: nu ", nu, " not in (0, 1]");
  OIAD_CHECK(gamma > 0, "OC-SVM: gamma must be > 0");
  auto& p = impl_->param;
  p.svm_type = ONE_CLASS;
  p.kernel_type = RBF;
  p.gamma = gamma;
  p.nu = nu;
  p.cache_size = 200;
  p.eps = 1e-3;
  p.shrinking = 1;
}

OcSvm::~OcSvm() = default;

void OcSvm::fit(const Matrix& x) {
  svm_set_print_string_function(quiet);
  auto& m = *impl_;
  m.d = x.d;
  m.nodes.clear();
  for (int64_t i = 0; i < x.n; ++i) m.nodes.push_back(to_nodes(x, i));
  m.rows.clear();
  for (auto& r : m.nodes) m.rows.push_back(r.data());
  m.y.assign(size_t(x.n), 1.0);
  m.prob.l = int(x.n);
  m.prob.x = m.rows.data();
  m.prob.y = m.y.data();
  if (const char* err = svm_check_parameter(&m.prob, &m.param)) throw Error(std::string("OC-SVM: ") + err);
  if (m.model) svm_free_and_destroy_model(&m.model);
  m.model = svm_train(&m.prob, &m.param);
}

std::vector<double> OcSvm::decision(const Matrix& x) const {
  OIAD_CHECK(impl_->model && x.d == impl_->d, "OC-SVM: not fitted, or feature count differs");
  std::vector<double> out(size_t(x.n));
  for (int64_t i = 0; i < x.n; ++i) {
    auto r = to_nodes(x, i);
    svm_predict_values(impl_->model, r.data(), &out[size_t(i)]);
  }
  return out;
}

std::vector<double> OcSvm::score(const Matrix& x) const {
  auto d = decision(x);
  for (double& v : d) v = -v;
  return d;
}

int OcSvm::support_vectors() const { return impl_->model ? svm_get_nr_sv(impl_->model) : 0; }

double OcSvm::scale_gamma(const Matrix& x) {
  const arma::mat t = as_columns(x);
  const double var = arma::var(arma::vectorise(t), 1);
  return 1.0 / (double(x.d) * std::max(var, 1e-12));
}

struct Gmm::Impl {
  arma::gmm_full full;
  arma::gmm_diag diag;
};

Gmm::Gmm(bool full_covariance, int inits) : full_(full_covariance), inits_(inits) {}
Gmm::~Gmm() = default;
Gmm::Gmm(Gmm&&) noexcept = default;
Gmm& Gmm::operator=(Gmm&&) noexcept = default;

void Gmm::fit(const Matrix& x, int k, uint64_t seed) {
  OIAD_CHECK(k >= 1 && k <= x.n, "GMM: ", k, " components for ", x.n, " samples");
  OIAD_CHECK(inits_ >= 1, "GMM: ", inits_, " initialisations");
  const arma::mat data = as_columns(x);
  // Armadillo runs EM for exactly em_iter iterations (its own stopping test is a change of
  // machine epsilon). Run it in steps of kStep iterations from the current parameters and
  // stop when the mean log-likelihood changes by less than kTol, as scikit-learn's
  // GaussianMixture does (tol 1e-3, at most 100 iterations). Each initialisation starts from
  // k-means with Euclidean distances (scikit-learn's start) seeded by means spread over the
  // data (Armadillo's random_spread, a k-means++-like draw); the fit with the largest mean
  // log-likelihood is kept.
  constexpr int kStep = 5, kMaxIter = 100, kKmeansIter = 30;
  constexpr double kTol = 1e-3;
  double best = -std::numeric_limits<double>::infinity();
  for (int t = 0; t < inits_; ++t) {
    auto fitted = std::make_unique<Impl>();
    arma::arma_rng::set_seed(seed + uint64_t(t));
    auto learn = [&](arma::gmm_seed_mode mode, int km_iter) {
      return full_ ? fitted->full.learn(data, arma::uword(k), arma::eucl_dist, mode, arma::uword(km_iter), kStep, 1e-6,
                                        false)
                   : fitted->diag.learn(data, arma::uword(k), arma::eucl_dist, mode, arma::uword(km_iter), kStep, 1e-6,
                                        false);
    };
    auto mean_log_p = [&] { return full_ ? fitted->full.avg_log_p(data) : fitted->diag.avg_log_p(data); };
    OIAD_CHECK(learn(arma::random_spread, kKmeansIter), "GMM: EM failed for ", k, " components");
    double last = mean_log_p();
    int iterations = kStep;
    while (iterations < kMaxIter) {
      OIAD_CHECK(learn(arma::keep_existing, 0), "GMM: EM failed for ", k, " components");
      iterations += kStep;
      const double now = mean_log_p();
      const bool done = std::abs(now - last) < kTol;
      last = now;
      if (done) break;
    }
    if (last > best) best = last, impl_ = std::move(fitted), iterations_ = iterations;
  }
  k_ = k;
}

void Gmm::fit_bic(const Matrix& x, int lo, int hi, uint64_t seed, int64_t max_samples) {
  // Choose k on a seeded subsample when asked (EM for full covariances costs n·k·d² per
  // iteration), then fit the chosen k on every sample.
  Matrix sample = x;
  if (max_samples > 0 && x.n > max_samples) {
    std::vector<int64_t> idx(size_t(x.n));
    for (int64_t i = 0; i < x.n; ++i) idx[size_t(i)] = i;
    Rng rng(seed + 0x626963ULL);  // "bic"
    shuffle_in_place(idx, rng);
    idx.resize(size_t(max_samples));
    std::sort(idx.begin(), idx.end());
    sample = x.rows(idx);
  }
  double best = std::numeric_limits<double>::infinity();
  int best_k = lo;
  for (int k = lo; k <= hi && k <= sample.n; ++k) {
    Gmm g(full_, inits_);
    g.fit(sample, k, seed);
    const double b = g.bic(sample);
    if (b < best) best = b, best_k = k;
  }
  fit(x, best_k, seed);
}

std::vector<double> Gmm::log_likelihood(const Matrix& x) const {
  OIAD_CHECK(impl_, "GMM: not fitted");
  const arma::mat data = as_columns(x);
  arma::rowvec l = full_ ? impl_->full.log_p(data) : impl_->diag.log_p(data);
  return std::vector<double>(l.begin(), l.end());
}

std::vector<double> Gmm::score(const Matrix& x) const {
  auto l = log_likelihood(x);
  for (double& v : l) v = -v;
  return l;
}

double Gmm::bic(const Matrix& x) const {
  double ll = 0;
  for (double v : log_likelihood(x)) ll += v;
  const double d = double(x.d), k = double(k_);
  const double params = full_ ? k * (d + d * (d + 1) / 2) + (k - 1) : k * 2 * d + (k - 1);
  return -2 * ll + params * std::log(double(x.n));
}

}  // namespace oiad::baselines

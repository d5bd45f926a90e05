// The non-parametric baselines of an experiment (KDE, OC-SVM, GMM on shared PCA features),
// with their PCA size and kernel width chosen on the holdout (Sec. IV.B), and the stored form
// of a finished method.
#include <algorithm>

#include "internal.h"
#include "oiad/core/error.h"
#include "oiad/core/progress.h"
#include "oiad/eval/roc.h"
#include "oiad/report/document.h"

namespace oiad::experiment::detail {

nlohmann::json to_json(const MethodRun& r) {
  return {{"name", r.name},
          {"auc", r.auc},
          {"fit_seconds", r.fit_seconds},
          {"score_seconds", r.score_seconds},
          {"details", r.details},
          {"scores", r.scores}};
}

MethodRun method_from_json(const nlohmann::json& j) {
  MethodRun r;
  r.name = j.at("name");
  r.auc = j.at("auc");
  r.fit_seconds = j.at("fit_seconds");
  r.score_seconds = j.at("score_seconds");
  r.details = j.at("details");
  r.scores = j.at("scores").get<std::vector<double>>();
  return r;
}

namespace {

// The first `k` columns of x (PCA features are ordered by explained variance, so these are
// the features of a k-component PCA).
baselines::Matrix first_columns(const baselines::Matrix& x, int k) {
  baselines::Matrix m(x.n, k);
  for (int64_t i = 0; i < x.n; ++i)
    for (int c = 0; c < k; ++c) m.at(i, c) = x.at(i, c);
  return m;
}

}  // namespace

void project_features(BaselineInputs& in, const ExperimentOptions& o) {
  const double t0 = now_seconds();
  const int max_k = int(std::min<int64_t>(in.train.n - 1, in.train.d));
  int kmax = 0;
  for (int d : o.pca_dims)
    if (d <= max_k) kmax = std::max(kmax, d);
  if (kmax == 0) kmax = std::max(1, max_k);
  baselines::Pca pca;
  pca.fit(in.train, kmax, baselines::Pca::Solver::automatic, o.seed);
  in.pca_solver = pca.solver_used() == baselines::Pca::Solver::exact ? "exact SVD" : "randomized SVD";
  in.ptrain = pca.transform(in.train), in.pval = pca.transform(in.val), in.phold = pca.transform(in.holdout),
  in.ptest = pca.transform(in.test);
  in.pca_max = kmax;
  in.pca_seconds = now_seconds() - t0;
  if (o.log) o.log("baselines: PCA of " + std::to_string(in.train.n) + " x " + std::to_string(in.train.d) + " to " +
                   std::to_string(kmax) + " components by " + in.pca_solver + " in " +
                   report::fixed(in.pca_seconds, 1) + " s (shared)");
}

MethodRun run_baseline(const std::string& name, const BaselineInputs& in, const ExperimentOptions& o) {
  const double t0 = now_seconds();
  auto log = [&](const std::string& s) {
    if (o.log) o.log(name + ": " + s);
  };
  OIAD_CHECK(in.pca_max > 0, "experiment: baseline features were not projected");
  std::vector<int> dims;
  for (int d : o.pca_dims)
    if (d <= in.pca_max) dims.push_back(d);
  if (dims.empty()) dims.push_back(in.pca_max);
  const auto &ptrain = in.ptrain, &pval = in.pval, &phold = in.phold, &ptest = in.ptest;

  // Every candidate (PCA size, kernel width) is fitted on train and judged by its AUC on
  // the holdout; the best one scores the reported test images.
  struct Candidate {
    int dim = 0;
    double param = 0;  // KDE bandwidth, OC-SVM γ, GMM components
    double holdout_auc = -1;
  };
  Candidate best;
  nlohmann::json tried = nlohmann::json::array();
  auto consider = [&](const Candidate& c) {
    tried.push_back({{"pca_dim", c.dim}, {"param", c.param}, {"holdout_auc", c.holdout_auc}});
    if (c.holdout_auc > best.holdout_auc) best = c;
  };
  for (int d : dims) {
    const auto tr = first_columns(ptrain, d), ho = first_columns(phold, d);
    if (name == "kde") {
      // Bandwidth by held-out log-likelihood of the normal VAL images (label-free).
      const auto va = first_columns(pval, d);
      const double h = baselines::Kde::select_bandwidth(tr, va, baselines::Kde::default_grid(tr));
      baselines::Kde k(h);
      k.fit(tr);
      consider({d, h, eval::roc_auc(k.score(ho), in.holdout_labels)});
    } else if (name == "ocsvm") {
      const double g0 = baselines::OcSvm::scale_gamma(tr);
      for (double f : o.ocsvm_gamma_factors) {
        baselines::OcSvm s(o.ocsvm_nu, g0 * f);
        s.fit(tr);
        consider({d, g0 * f, eval::roc_auc(s.score(ho), in.holdout_labels)});
      }
    } else if (name == "gmm") {
      // Components by BIC on the training images (label-free), Sec. IV.B.
      baselines::Gmm g(true);
      g.fit_bic(tr, o.gmm_min_components, o.gmm_max_components, o.seed, o.gmm_bic_max_samples);
      consider({d, double(g.components()), eval::roc_auc(g.score(ho), in.holdout_labels)});
    } else {
      throw UsageError(oiad::detail::concat("experiment: unknown baseline '", name, "'"));
    }
    log("PCA " + std::to_string(d) + ": holdout AUC " + report::fixed(tried.back()["holdout_auc"].get<double>(), 4) +
        " (" + report::fixed(now_seconds() - t0, 1) + " s)");
  }
  // Refit the chosen candidate and score the reported test images.
  MethodRun r;
  r.name = name;
  const auto tr = first_columns(ptrain, best.dim), te = first_columns(ptest, best.dim);
  double fit_end = 0, score_start = 0;
  if (name == "kde") {
    baselines::Kde k(best.param);
    k.fit(tr);
    fit_end = score_start = now_seconds();
    r.scores = k.score(te);
    r.details = {{"bandwidth", best.param}};
  } else if (name == "ocsvm") {
    baselines::OcSvm s(o.ocsvm_nu, best.param);
    s.fit(tr);
    fit_end = score_start = now_seconds();
    r.scores = s.score(te);
    r.details = {{"nu", o.ocsvm_nu}, {"gamma", best.param}, {"support_vectors", s.support_vectors()}};
  } else {
    baselines::Gmm g(true);
    g.fit(tr, int(best.param), o.seed);
    fit_end = score_start = now_seconds();
    r.scores = g.score(te);
    r.details = {{"components", int(best.param)}, {"covariance", "full"}};
  }
  r.score_seconds = now_seconds() - score_start;
  r.fit_seconds = fit_end - t0 + in.pca_seconds;  // the shared PCA counts for each baseline
  r.auc = eval::roc_auc(r.scores, in.test_labels);
  r.details["pca_dim"] = best.dim;
  r.details["holdout_auc"] = best.holdout_auc;
  r.details["candidates"] = tried;
  r.details["pca_seconds"] = in.pca_seconds;
  r.details["pca_solver"] = in.pca_solver;
  return r;
}

}  // namespace oiad::experiment::detail

// The parts of the experiment runner that need no LibTorch: the holdout, the baselines,
// paper references, and the report with its figures.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

#include "internal.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/core/random.h"
#include "oiad/detect/calibration.h"
#include "oiad/eval/roc.h"
#include "oiad/report/document.h"
#include "oiad/report/plots.h"

namespace oiad::experiment {

namespace {
const std::set<std::string> kMethods = {"oiad", "vae", "dcae", "kde", "ocsvm", "gmm"};
}  // namespace

void check_options(const ExperimentOptions& o) {
  OIAD_CHECK_USAGE(!o.out.empty(), "experiment: --out DIR is required");
  OIAD_CHECK_USAGE(!o.methods.empty(), "experiment: --methods is empty");
  for (const auto& m : o.methods)
    OIAD_CHECK_USAGE(kMethods.count(m), "experiment: unknown method '", m, "' (expected oiad, vae, dcae, kde, ocsvm, gmm)");
  try {
    for (const auto& m : o.metrics) detect::parse_metric(m);
  } catch (const UsageError& e) {
    throw UsageError(std::string("experiment: ") + e.what());
  }
  OIAD_CHECK_USAGE(!o.metrics.empty(), "experiment: --metrics is empty");
  OIAD_CHECK_USAGE(o.alpha > 0 && o.alpha <= 0.5, "experiment: --alpha ", o.alpha, " outside (0, 0.5]");
  OIAD_CHECK_USAGE(o.holdout_fraction > 0 && o.holdout_fraction < 0.5, "experiment: holdout fraction ",
                   o.holdout_fraction, " outside (0, 0.5)");
  OIAD_CHECK_USAGE(o.holdout_max >= 2, "experiment: holdout of at most ", o.holdout_max, " images is too small");
  OIAD_CHECK_USAGE(!o.pca_dims.empty(), "experiment: no PCA sizes");
  for (int d : o.pca_dims) OIAD_CHECK_USAGE(d >= 1, "experiment: PCA size ", d, " must be >= 1");
  OIAD_CHECK_USAGE(o.gmm_min_components >= 1 && o.gmm_max_components >= o.gmm_min_components,
                   "experiment: GMM components ", o.gmm_min_components, "..", o.gmm_max_components);
  OIAD_CHECK_USAGE(o.ocsvm_nu > 0 && o.ocsvm_nu <= 1, "experiment: OC-SVM ν ", o.ocsvm_nu, " outside (0, 1]");
}

std::vector<size_t> draw_holdout(const data::SplitPart& part, double fraction, int64_t max_total, uint64_t seed,
                                 std::vector<size_t>& rest) {
  std::vector<size_t> by_label[2];
  for (size_t i = 0; i < part.size(); ++i) by_label[part.anomalous[i] ? 1 : 0].push_back(i);
  std::vector<size_t> hold;
  const int64_t per_label_max = std::max<int64_t>(1, max_total / 2);
  for (int l = 0; l < 2; ++l) {
    auto& v = by_label[l];
    int64_t take = int64_t(std::llround(fraction * double(v.size())));
    if (v.size() >= 2) take = std::max<int64_t>(take, 1);
    take = std::min<int64_t>({take, per_label_max, int64_t(v.size()) - 1});
    if (take <= 0) continue;
    Rng rng(seed * 0x9E3779B97F4A7C15ULL + 0x686f6c646f7574ULL + uint64_t(l));  // "holdout"
    shuffle_in_place(v, rng);
    hold.insert(hold.end(), v.begin(), v.begin() + take);
  }
  std::sort(hold.begin(), hold.end());
  rest.clear();
  size_t h = 0;
  for (size_t i = 0; i < part.size(); ++i) {
    if (h < hold.size() && hold[h] == i) {
      ++h;
      continue;
    }
    rest.push_back(i);
  }
  return hold;
}

std::vector<double> alpha_grid() {
  std::vector<double> a;
  for (int i = 1; i <= 50; ++i) a.push_back(i / 100.0);
  return a;
}

double paper_auc(const std::string& dataset, const std::string& class_name, const std::string& method) {
  // Table II of the paper, columns KDE, OC-SVM, GMM, VAE, DCAE, OIAD.
  struct Row {
    const char* dataset;
    const char* cls;
    double v[6];
  };
  static const Row kRows[] = {{"mnist", "1", {0.999, 1.0, 0.999, 0.998, 0.992, 1.0}},
                              {"mnist", "7", {0.934, 0.952, 0.937, 0.896, 0.941, 0.966}},
                              {"cifar10", "cat", {0.521, 0.523, 0.446, 0.666, 0.546, 0.814}},
                              {"cifar10", "dog", {0.44, 0.516, 0.504, 0.494, 0.642, 0.849}}};
  static const char* kCols[] = {"kde", "ocsvm", "gmm", "vae", "dcae", "oiad"};
  for (const auto& r : kRows) {
    if (dataset != r.dataset || class_name != r.cls) continue;
    for (int c = 0; c < 6; ++c)
      if (method == kCols[c]) return r.v[c];
  }
  return std::numeric_limits<double>::quiet_NaN();
}

namespace detail {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

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

namespace {

std::string fmt_seconds(double s) {
  if (s < 100) return report::fixed(s, 1);
  return report::fixed(s, 0);
}

std::vector<double> column(const nlohmann::json& rows, const char* key) {
  std::vector<double> v;
  for (const auto& r : rows) v.push_back(r.at(key).get<double>());
  return v;
}

}  // namespace

void write_report(const std::string& dir, const nlohmann::json& res, const std::vector<MethodRun>& runs,
                  const std::vector<uint8_t>& test_labels, const nlohmann::json& pictures) {
  namespace fs = std::filesystem;
  fs::create_directories(dir + "/figures");
  std::vector<std::string> figures_made;
  // ROC curves of every method.
  {
    report::Panel p;
    p.title = "ROC, " + res.value("dataset", "") + " class " + res.value("normal_class", "") + " (" +
              res.value("protocol", "") + " protocol)";
    p.xlabel = "false positive rate (normal flagged)";
    p.ylabel = "true positive rate (anomalies flagged)";
    p.xmin = 0, p.xmax = 1, p.ymin = 0, p.ymax = 1.0;
    p.diagonal = true;
    for (const auto& r : runs) {
      report::Series s;
      s.name = r.name + " " + report::fixed(r.auc, 3);
      for (const auto& pt : eval::roc_curve(r.scores, test_labels)) s.x.push_back(pt.fpr), s.y.push_back(pt.tpr);
      s.dashed = r.name.rfind("oiad", 0) != 0;
      p.series.push_back(std::move(s));
    }
    report::write_plot(dir + "/figures/roc.svg", {p});
  }
  const nlohmann::json& oiad = res.value("oiad", nlohmann::json::object());
  const double alpha = res.value("alpha", 0.4);
  if (!oiad.empty()) {
    // Fig. 3: TP, TN and accuracy against α, one panel per metric.
    std::vector<report::Panel> panels;
    for (const auto& [metric, m] : oiad.items()) {
      report::Panel p;
      p.title = "OIAD " + metric + ": decisions against α";
      p.xlabel = "α";
      p.ylabel = "share decided correctly";
      p.xmin = 0, p.xmax = 0.5, p.ymin = 0, p.ymax = 1.02;
      const auto& sw = m.at("sweep");
      const auto a = column(sw, "alpha");
      p.series.push_back({"TP (anomalies flagged)", a, column(sw, "tp")});
      p.series.push_back({"TN (normal passed)", a, column(sw, "tn")});
      p.series.push_back({"overall accuracy", a, column(sw, "acc"), false, true});
      panels.push_back(std::move(p));
    }
    report::write_plot(dir + "/figures/sweep.svg", panels, int(panels.size()));
    // Fig. 4: the metrics side by side, and TP/TN against the size of VAL.
    report::Panel side, size;
    side.title = "metrics side by side: TP and TN against α";
    side.xlabel = "α";
    side.ylabel = "share";
    side.xmin = 0, side.xmax = 0.5, side.ymin = 0, side.ymax = 1.02;
    size.title = "TP and TN at α = " + report::fixed(alpha, 2) + " against the size of VAL";
    size.xlabel = "VAL images used for the thresholds";
    size.ylabel = "share";
    size.ymin = 0, size.ymax = 1.02;
    size.logx = true;
    int colour = 0;
    for (const auto& [metric, m] : oiad.items()) {
      const auto& sw = m.at("sweep");
      side.series.push_back({"TP " + metric, column(sw, "alpha"), column(sw, "tp"), false, false, colour});
      side.series.push_back({"TN " + metric, column(sw, "alpha"), column(sw, "tn"), false, true, colour});
      const auto& vs = m.at("val_size");
      size.series.push_back({"TP " + metric, column(vs, "n_val"), column(vs, "tp"), true, false, colour});
      size.series.push_back({"TN " + metric, column(vs, "n_val"), column(vs, "tn"), true, true, colour});
      ++colour;
    }
    report::write_plot(dir + "/figures/metrics_val_size.svg", {side, size}, 2);
  }

  // ---- the document ----
  const std::string title = "oiad experiment: " + res.value("dataset", "") + ", normal class " +
                            res.value("normal_class", "") + ", " + res.value("protocol", "") + " protocol";
  report::Document doc(title);
  doc.paragraph("Every method was trained on the same normal training images and evaluated on the same reported "
                "test images. Numbers below come from results.json in this folder; the command is at the end.");
  doc.heading("Split");
  doc.table({"part", "images", "what"},
            {{"train", std::to_string(res.value("n_train", 0)), "normal class only: training of every method"},
             {"VAL", std::to_string(res.value("n_val", 0)),
              "normal class only: OIAD normal ranges and thresholds; KDE bandwidth (held-out likelihood)"},
             {"holdout", std::to_string(res.value("n_holdout", 0)),
              "labelled, from the test part: PCA size and kernel width of KDE / OC-SVM / GMM only"},
             {"reported test", std::to_string(res.value("n_test", 0)),
              std::to_string(res.value("n_test_anomalous", 0)) + " anomalous: every number below"}});
  doc.heading("AUC of every method");
  std::vector<std::vector<std::string>> rows;
  const nlohmann::json& methods = res.at("methods");
  for (const auto& r : runs) {
    const auto& m = methods.at(r.name);
    std::string detail;
    if (m.contains("pca_dim")) detail += "PCA " + std::to_string(m["pca_dim"].get<int>());
    if (m.contains("bandwidth")) detail += ", h " + report::fixed(m["bandwidth"].get<double>(), 3);
    if (m.contains("gamma")) detail += ", γ " + report::fixed(m["gamma"].get<double>(), 4);
    if (m.contains("components")) detail += ", " + std::to_string(m["components"].get<int>()) + " components";
    if (m.contains("holdout_auc")) detail += ", holdout AUC " + report::fixed(m["holdout_auc"].get<double>(), 3);
    if (m.contains("auc_one_sided_mean"))
      detail += "one-sided mean-SC AUC " + report::fixed(m["auc_one_sided_mean"].get<double>(), 3);
    const double paper = m.value("paper_auc", std::numeric_limits<double>::quiet_NaN());
    rows.push_back({r.name, report::fixed(r.auc, 4), report::fixed(paper, 3), fmt_seconds(r.fit_seconds),
                    fmt_seconds(r.score_seconds), detail});
  }
  doc.table({"method", "AUC", "paper", "fit s", "score s", "details"}, rows);
  doc.image("figures/roc.svg", "ROC curves of every method on the reported test images");
  if (!oiad.empty()) {
    doc.heading("OIAD decisions (Fig. 3, Fig. 4)");
    std::vector<std::vector<std::string>> orows;
    for (const auto& [metric, m] : oiad.items()) {
      const auto& at = m.at("at_alpha");
      orows.push_back({metric, report::fixed(m.at("auc").get<double>(), 4),
                       report::fixed(m.at("auc_one_sided_mean").get<double>(), 4),
                       report::fixed(at.at("tp").get<double>(), 3), report::fixed(at.at("tn").get<double>(), 3),
                       report::fixed(at.at("acc").get<double>(), 3)});
    }
    doc.table({"metric", "AUC (two-sided rule)", "AUC (one-sided mean SC)", "TP at α", "TN at α", "acc at α"}, orows);
    doc.paragraph("α = " + report::fixed(alpha, 2) + " (the paper's rule: an image is normal when every code's "
                  "structure consistency lies between its α- and (1-α)-fractiles on VAL). The one-sided mean SC is "
                  "a variant beside the paper's rule, not the paper's.");
    doc.image("figures/sweep.svg", "Fig. 3: TP, TN and overall accuracy against α, per metric");
    doc.image("figures/metrics_val_size.svg",
              "Fig. 4: the metrics side by side; TP and TN against the number of VAL images used for the "
              "thresholds (mean over seeded subsets)");
  }
  if (pictures.contains("strips") && !pictures["strips"].empty()) {
    doc.heading("PR-morphs (Fig. 2)");
    for (const auto& s : pictures["strips"])
      doc.image(s.at("file").get<std::string>(), s.at("caption").get<std::string>());
  }
  if (pictures.contains("grids")) {
    doc.heading("Most anomalous images (Figs. 5-7)");
    for (const auto& s : pictures["grids"]) doc.image(s.at("file").get<std::string>(), s.at("caption").get<std::string>());
  }
  doc.heading("Run");
  std::vector<std::string> facts;
  facts.push_back("seed " + std::to_string(res.value("seed", 0)) + ", preset " + res.value("preset", "") +
                  ", epochs " + std::to_string(res.value("epochs", 0)) + ", limit " +
                  std::to_string(res.value("limit", 0)));
  if (res.contains("machine"))
    facts.push_back("machine: " + std::to_string(res["machine"].value("threads", 0)) + " threads, BLAS core " +
                    res["machine"].value("blas_core", std::string("?")));
  facts.push_back("total time " + fmt_seconds(res.value("seconds", 0.0)) + " s (this invocation " +
                  fmt_seconds(res.value("seconds_this_run", 0.0)) + " s)");
  doc.bullets(facts);
  if (!res.value("command", std::string()).empty()) doc.paragraph(res["command"].get<std::string>(), true);
  write_file_atomic(dir + "/report.md", doc.markdown());
  write_file_atomic(dir + "/report.html", doc.html());
}

}  // namespace detail
}  // namespace oiad::experiment

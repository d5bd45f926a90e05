// An experiment's report: report.md and report.html with the ROC curves, the decisions
// against α (Fig. 3), the metrics and VAL size (Fig. 4), the morph strips (Fig. 2) and the
// most anomalous images (Figs. 5-7).
#include <filesystem>
#include <limits>

#include "internal.h"
#include "oiad/core/file_util.h"
#include "oiad/eval/roc.h"
#include "oiad/report/document.h"
#include "oiad/report/plots.h"

namespace oiad::experiment::detail {

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

// The figures: ROC curves of every method, and for OIAD Fig. 3 (decisions against α) and
// Fig. 4 (the metrics side by side, decisions against the size of VAL).
void write_figures(const std::string& dir, const nlohmann::json& res, const std::vector<MethodRun>& runs,
                   const std::vector<uint8_t>& test_labels) {
  namespace fs = std::filesystem;
  fs::create_directories(dir + "/figures");
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

}

// OIAD's decisions (Fig. 3, Fig. 4): each metric's AUCs and decisions at α, the figures.
void add_oiad_section(report::Document& doc, const nlohmann::json& oiad, double alpha) {
  doc.heading("OIAD decisions (Fig. 3, Fig. 4)");
  std::vector<std::vector<std::string>> orows;
  for (const auto& [metric, m] : oiad.items()) {
    const auto& at = m.at("at_alpha");
    orows.push_back({metric, report::fixed(m.at("auc").get<double>(), 4),
                     report::fixed(m.at("auc_one_sided_mean").get<double>(), 4),
                     m.contains("auc_relative") ? report::fixed(m.at("auc_relative").get<double>(), 4) : "–",
                     report::fixed(at.at("tp").get<double>(), 3), report::fixed(at.at("tn").get<double>(), 3),
                     report::fixed(at.at("acc").get<double>(), 3)});
  }
  doc.table({"metric", "AUC (two-sided rule)", "AUC (one-sided mean SC)", "AUC (relative)", "TP at α", "TN at α",
             "acc at α"},
            orows);
  doc.paragraph("α = " + report::fixed(alpha, 2) + " (the paper's rule: an image is normal when every code's "
                "structure consistency lies between its α- and (1-α)-fractiles on VAL). The one-sided mean SC and "
                "the relative rule (the one-sided score less what the image's own complexity predicts of it, "
                "fitted on VAL) are variants beside the paper's rule, not the paper's.");
  doc.image("figures/sweep.svg", "Fig. 3: TP, TN and overall accuracy against α, per metric");
  doc.image("figures/metrics_val_size.svg",
            "Fig. 4: the metrics side by side; TP and TN against the number of VAL images used for the "
            "thresholds (mean over seeded subsets)");
}

}  // namespace

void write_report(const std::string& dir, const nlohmann::json& res, const std::vector<MethodRun>& runs,
                  const std::vector<uint8_t>& test_labels, const nlohmann::json& pictures) {
  write_figures(dir, res, runs, test_labels);
  const nlohmann::json& oiad = res.value("oiad", nlohmann::json::object());
  const double alpha = res.value("alpha", 0.4);
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
    if (m.contains("auc_relative")) detail += ", relative AUC " + report::fixed(m["auc_relative"].get<double>(), 3);
    const double paper = m.value("paper_auc", std::numeric_limits<double>::quiet_NaN());
    rows.push_back({r.name, report::fixed(r.auc, 4), report::fixed(paper, 3), fmt_seconds(r.fit_seconds),
                    fmt_seconds(r.score_seconds), detail});
  }
  doc.table({"method", "AUC", "paper", "fit s", "score s", "details"}, rows);
  doc.image("figures/roc.svg", "ROC curves of every method on the reported test images");
  if (!oiad.empty()) add_oiad_section(doc, oiad, alpha);
  if (pictures.contains("strips") && !pictures["strips"].empty()) {
    doc.heading("PR-morphs (Fig. 2)");
    for (const auto& s : pictures["strips"]) {
      doc.image(s.at("file").get<std::string>(), s.at("caption").get<std::string>());
      if (s.contains("map"))
        doc.image(s.at("map").get<std::string>(),
                  "its change map: where it resists its morphs (local metric, VAL standard deviations; blue 0 to red 4 "
                  "and above)");
    }
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

}  // namespace oiad::experiment::detail

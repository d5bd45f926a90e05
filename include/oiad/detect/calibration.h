// Calibration on VAL and the decision rule of OIAD (Sec. III.D.1, IV.B), on plain numbers.
//
// For each selected code i and each metric, the calibration keeps the sorted structure
// consistencies SC_i of the VAL images. Thresholds are the α- and (1-α)-fractiles of those
// values (linear interpolation between order statistics, numpy's default "linear" method).
// An image is normal when every selected code's SC_i lies inside [q_i(α), q_i(1-α)].
//
// Continuous score (for ROC curves). With q_i the interpolated quantile function of code i,
// let p_i(s) be its inverse (the fractile at which q_i reaches s) and a_i(s) = min(p_i, 1-p_i);
// on a run of tied VAL values p_i spans an interval [p_lo, p_hi] and a_i = min(p_hi, 1-p_lo).
// The image is flagged at α exactly when α > a*(x) = min_i a_i(SC_i). The score is
//   1 - 2·a*(x)                 when every SC_i lies within the VAL range of its code,
//   1 + max_i dist_i(SC_i)      otherwise, dist_i = distance outside [min, max] of VAL,
//                               divided by that range's width (ties beyond VAL broken),
// so "flagged at α" ⇔ score > 1 - 2α, and the ROC curve of the score is the α sweep (Fig. 3).
//
// The one-sided rule (a variant beside the paper's, Rule::kOneSided): the score is the mean
// over the selected codes of the VAL-standardised SC, signed so that larger = less
// consistent (one_sided_score); a kept code that stands for duplicates dropped at
// calibration (distinct_codes) counts once per code it stands for (Calibration::weights),
// so the mean is the one over every selected code; an image is anomalous when its score
// exceeds the (1 - f)-fractile of the VAL images' own scores, so f is the share of normal
// VAL images it flags.
// It is the default decision (at f = 0.05): the paper's rule at its α = 0.4 flags nearly
// every image, normal ones included (docs/results.md, "Decisions").
//
// The relative rule (a variant beside the paper's, Rule::kRelative): the one-sided score less
// what the image's own complexity predicts of it. A PR-morph is a decode, smoother than the
// image, so every detailed image is far from its morphs and every plain one close, normal or
// not; where the other classes are plainer than the normal class they look more consistent
// than normal images. Complexity c_σ(x) is the metric's own dissimilarity between x and x
// blurred by a Gaussian of sd σ pixels (detect/complexity.h; the idea of Serrà et al. 2020,
// "Input complexity and out-of-distribution detection with likelihood-based generative
// models", in SC's terms). At calibration the VAL images' one-sided scores get a
// least-squares line a + b·c_σ for each σ of complexity_sigmas(); the σ with the largest R²
// is kept (ComplexityFit). Relative score = one-sided score - (a + b·c_σ(x)); an image is
// anomalous when it exceeds the (1 - f)-fractile of the VAL images' own relative scores.
//
// Conformal p-value of an image under any rule: (1 + #{VAL images whose score under that
// rule is at least the image's}) / (n_val + 1). Small p = few normal images are as extreme.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "oiad/detect/consistency.h"

namespace oiad::detect {

/// The decision rule: the paper's two-sided α rule, or the one-sided variant (header comment).
enum class Rule { kPaper = 0, kOneSided = 1, kRelative = 2 };
Rule parse_rule(const std::string& s);  ///< one of rule_names()
std::string rule_name(Rule r);
/// "paper", "one-sided", "relative": the allowed values of every --rule option.
const std::vector<std::string>& rule_names();

/// Linear-interpolation quantile of sorted values (numpy's default): p in [0, 1].
double quantile_sorted(const std::vector<double>& sorted, double p);
/// The inverse of quantile_sorted: the fractile p at which the quantile function reaches s
/// (0 below the minimum, 1 above the maximum; the middle of a run of equal values).
double fractile_of(const std::vector<double>& sorted, double s);

/// The VAL distribution of one code's structure consistency under one metric.
struct CodeDistribution {
  std::vector<double> sorted;  ///< VAL values, ascending
  double quantile(double p) const { return quantile_sorted(sorted, p); }
  /// a_i(s) = min(p(s), 1 - p(s)) (header comment; ties: min(p_hi, 1 - p_lo)), at most 0.5;
  /// 0 outside the VAL range. Flagged at α ⇔ α > tail.
  double tail(double s) const;
  /// Distance of s outside [min, max], divided by (max - min) (0 inside).
  double outside_distance(double s) const;
};

/// The one-sided score of one metric with its standardisation computed once: per selected
/// code, the VAL mean and population sd, and the sign that makes larger = less consistent.
/// Scoring many images through one scorer costs O(codes) each instead of O(codes · VAL).
struct OneSidedScorer {
  std::vector<double> mean, sd;
  std::vector<double> weight;  ///< per code (Calibration::weights); empty = 1 each
  double sign = 1;
  double operator()(const std::vector<double>& sc) const;
};

/// The relative rule's line for one metric (header comment): the VAL images' one-sided
/// scores ≈ intercept + slope · c_σ, with its R² on VAL. sigma 0 = not fitted.
struct ComplexityFit {
  double sigma = 0;
  double intercept = 0, slope = 0, r2 = 0;
  double predict(double complexity) const { return intercept + slope * complexity; }
};

/// The largest σ a stored relative-rule line may have (the blur's radius is ⌈3σ⌉ pixels).
constexpr double kMaxComplexitySigma = 64;

/// Least squares y ≈ intercept + slope · x over equal-length x and y (at least 2), with R²
/// (0 when x or y is constant; then slope 0 and intercept = mean y). sigma is left 0.
ComplexityFit fit_line(const std::vector<double>& x, const std::vector<double>& y);

/// A default decision: `rule` at level `alpha` (paper rule) or `fpr` (one-sided and relative
/// rules).
struct DecisionRule {
  Rule rule = Rule::kOneSided;
  double alpha = 0.4;
  double fpr = 0.05;
};

/// Per-metric VAL distributions for the selected codes.
struct Calibration {
  std::vector<int> codes;  ///< selected code indices
  /// Per selected code, how many codes it stands for in the one-sided mean: 1 + the
  /// duplicates merged into it at calibration. Empty: 1 each (no merging, or a calibration
  /// written before the weights were stored).
  std::vector<double> weights;
  /// Whether the local metric's one-sided mean counts every code once instead of by
  /// `weights`: true in calibrations made since 2026-12-07 (chosen with the local metric's
  /// form on development splits, detector_options.h), false in those read without the field.
  bool local_codes_equal = true;
  /// distributions[metric][k] for code codes[k]; empty for a metric that was not computed
  std::vector<std::vector<CodeDistribution>> distributions;
  /// The default decision: `rule` at level `alpha` (paper rule) or `fpr` (one-sided rule).
  /// Scoring commands use it unless told otherwise.
  Rule rule = Rule::kOneSided;
  double alpha = 0.4;  ///< paper default (Sec. IV.B)
  double fpr = 0.05;   ///< VAL false-positive rate of the one-sided rule
  int64_t n_val = 0;
  /// The default decision: {rule, alpha, fpr}.
  DecisionRule default_decision() const { return {rule, alpha, fpr}; }

  bool has_metric(Metric m) const;
  /// [q(α), q(1-α)] per selected code.
  std::vector<std::pair<double, double>> thresholds(Metric m, double alpha) const;
  /// The paper's rule: anomalous unless every selected code lies inside its interval.
  /// `sc` holds one value per selected code.
  bool anomalous(Metric m, const std::vector<double>& sc, double alpha) const;
  /// The continuous score above.
  double score(Metric m, const std::vector<double>& sc) const;
  /// A variant beside the paper's rule (not the paper's): the mean over codes of the
  /// standardised SC, signed so that larger = more anomalous (lower SSIM, higher MSE or
  /// loss than on VAL). One-sided: it ignores images that resist perturbation unusually well.
  double one_sided_score(Metric m, const std::vector<double>& sc) const;
  /// The same score for many images: one_sided_scorer(m)(sc) == one_sided_score(m, sc).
  OneSidedScorer one_sided_scorer(Metric m) const;
  /// VAL images' one-sided scores per metric, ascending; empty for a metric (or for a
  /// calibration written before the one-sided rule existed: calibrate again).
  std::vector<std::vector<double>> val_one_sided;
  /// VAL images' paper-rule scores (score()) per metric, ascending; empty for a calibration
  /// written before p-values existed.
  std::vector<std::vector<double>> val_paper;
  /// The relative rule per metric (header comment): its line, and the VAL images' relative
  /// scores ascending; sigma 0 and empty for a metric without it (or for a calibration
  /// written before the rule existed: calibrate again).
  std::vector<ComplexityFit> relative;
  std::vector<std::vector<double>> val_relative;
  bool has_relative(Metric m) const;
  /// The relative score of an image with consistencies `sc` and complexity c_σ(x) at the
  /// metric's fitted σ (relative[m].sigma): one_sided_score(m, sc) - relative[m].predict(c).
  double relative_score(Metric m, const std::vector<double>& sc, double complexity) const;
  /// The VAL images' sorted scores of `rule` (val_paper, val_one_sided or val_relative).
  const std::vector<std::vector<double>>& val_scores(Rule rule) const;
  /// Flagged ⇔ score > threshold(m, rule, level): 1 - 2α for the paper rule (level α), else
  /// the (1 - f)-fractile of the VAL images' scores under the rule (level f).
  double threshold(Metric m, Rule rule, double level) const;
  /// The conformal p-value of an image whose `rule` score is `s` (header comment); NaN when
  /// the calibration has no VAL scores for that rule and metric.
  double p_value(Metric m, Rule rule, double s) const;
  bool has_one_sided(Metric m) const;
  /// The (1 - fpr)-fractile of the VAL one-sided scores (fpr in (0, 1)).
  double one_sided_threshold(Metric m, double fpr) const;
  /// The one-sided rule: anomalous when one_sided_score > one_sided_threshold(m, fpr).
  bool anomalous_one_sided(Metric m, const std::vector<double>& sc, double fpr) const;
  /// The selected code with the smallest tail (the most telling one).
  int most_extreme_code(Metric m, const std::vector<double>& sc) const;

  nlohmann::json to_json() const;
  static Calibration from_json(const nlohmann::json& j);
};

/// The conformal p-value of a score `s` against the VAL images' scores of the same rule,
/// ascending: (1 + #{VAL scores >= s}) / (n + 1); NaN when there are none.
double conformal_p_value(const std::vector<double>& val_sorted, double s);

/// The calibration of a reconstruction model (the VAE and DCAE baselines of Table II, scored
/// as `oiad experiment` scores them: the reconstruction error of the decoded mean code). It
/// keeps the VAL images' errors; its rule is the one-sided one: an image is anomalous when
/// its error exceeds the (1 - f)-fractile of VAL's, so f is the share of normal VAL images
/// flagged, as for the detector's one-sided rule.
/// The calibration of a model with one score per image: a reconstruction error (VAE, DCAE)
/// or a segmentation score (recseg).
struct ReconstructionCalibration {
  std::string scorer = "reconstruction";  ///< "reconstruction" or "segmentation"
  std::vector<double> val_sorted;  ///< VAL scores, ascending
  double fpr = 0.05;               ///< the default decision's f
  /// The (1 - f)-fractile of the VAL errors.
  double threshold(double f) const;
  double p_value(double s) const { return conformal_p_value(val_sorted, s); }
  /// {"scorer": "reconstruction", "rule": "one-sided", "fpr", "n_val", "val_reconstruction"}
  /// (a segmentation calibration: "scorer": "segmentation" and "val_scores").
  nlohmann::json to_json() const;
  /// Throws Error naming the field that is missing, unsorted or out of range.
  static ReconstructionCalibration from_json(const nlohmann::json& j);
  /// The key of the VAL scores: "val_reconstruction" or "val_scores".
  const char* values_key() const;
};

/// Monte-Carlo noise of one code's structure consistency against its spread over images,
/// from two independent morph searches over the same images: a[i] and b[i] are image i's SC
/// under two seeds. Each is t_i + e_i, the image's SC in the limit of many morphs plus search
/// noise of mean 0 and variance σ², independent between the searches, so E[(a - b)²] / 2 = σ²
/// and cov(a, b) = var(t). Returns σ / sd(t): 0 when a == b (the search adds no noise, as for
/// a code the decoder ignores), +inf when cov(a, b) <= 0 (the spread over images is noise).
double monte_carlo_ratio(const std::vector<double>& a, const std::vector<double>& b);

/// Codes whose consistencies duplicate another code's on VAL (label-free: VAL is normal
/// images only). Code k duplicates an earlier kept code i when, for each of the paper's
/// metrics (mse, loss, ssim; not local),
/// max over VAL images |SC_k - SC_i| <= tolerance · sd(SC_i), sd over the VAL images (a
/// code whose posterior has collapsed is ignored by the decoder, so every such code's
/// morphs are the reconstruction and their SCs are equal). Duplicates add nothing to the
/// decision "every code inside its interval" beyond their representative, but cost as much
/// to score. Returns the indices (into k) kept, in order; `merged[j]` lists the indices
/// represented by kept index j (itself excluded).
std::vector<size_t> distinct_codes(const ConsistencyTable& values, double tolerance,
                                   std::vector<std::vector<size_t>>* merged = nullptr);

/// A calibration from the VAL images' consistencies (values.codes() == codes.size(), code k
/// of the table is code codes[k]); with `subset`, only those images (for the VAL-size study
/// of Fig. 4); `weights`: Calibration::weights (empty, or one value >= 1 per code).
Calibration make_calibration(const std::vector<int>& codes, const ConsistencyTable& values, double alpha,
                             const std::vector<size_t>* subset = nullptr, const std::vector<double>& weights = {});

/// Throws UsageError unless 0 < alpha <= 0.5.
void check_alpha(double alpha);
/// Throws UsageError unless 0 < fpr < 1.
void check_fpr(double fpr);

/// A decision asked for on top of a default one (the CLI's --rule, --alpha, --fpr; the Python
/// module's rule=, alpha=, fpr=): each unset part keeps the default's.
struct DecisionOverrides {
  std::optional<std::string> rule;
  std::optional<double> alpha, fpr;
};

/// The decision applied: `base` (a calibration's default, or a preset's) with `o` on top.
/// alpha alone selects the paper rule and fpr alone the one-sided rule; alpha with the
/// one-sided or relative rule, or fpr with the paper rule, is a UsageError, and so is a level outside its
/// range (α in (0, 0.5], F in (0, 1), NaN included). With `both_levels`, both levels may be
/// given (they are stored, e.g. by `train`) and neither selects the rule. Errors start with
/// `what` and name the parameters as `prefix` + "alpha" / "fpr" / "rule" ("--" for the CLI).
DecisionRule apply_overrides(DecisionRule base, const DecisionOverrides& o, const std::string& what,
                             const std::string& prefix, bool both_levels = false);

}  // namespace oiad::detect

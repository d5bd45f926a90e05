#include "oiad/detect/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "oiad/core/choice.h"
#include "oiad/core/error.h"
#include "oiad/core/json_fields.h"

namespace oiad::detect {

const std::vector<std::string>& rule_names() {
  static const std::vector<std::string> kNames = {"paper", "one-sided", "relative"};  // Rule's order
  return kNames;
}

std::string rule_name(Rule r) { return rule_names().at(size_t(r)); }

Rule parse_rule(const std::string& s) { return parse_enum<Rule>(rule_names(), s, "rule"); }

void check_fpr(double fpr) {
  OIAD_CHECK_USAGE(fpr > 0.0 && fpr < 1.0, "false-positive rate ", fpr, " outside (0, 1)");
}

void check_alpha(double alpha) {
  OIAD_CHECK_USAGE(alpha > 0.0 && alpha <= 0.5, "alpha ", alpha, " outside (0, 0.5]");
}

DecisionRule apply_overrides(DecisionRule d, const DecisionOverrides& o, const std::string& what,
                             const std::string& prefix, bool both_levels) {
  const std::string a = prefix + "alpha", f = prefix + "fpr", r = prefix + "rule";
  if (o.rule) d.rule = parse_rule(*o.rule);
  if (!both_levels) {
    OIAD_CHECK_USAGE(!(o.alpha && o.fpr), what, ": ", a, " belongs to the paper rule and ", f,
                     " to the one-sided rule; give one");
    if (!o.rule && o.alpha) d.rule = Rule::kPaper;
    if (!o.rule && o.fpr) d.rule = Rule::kOneSided;
    OIAD_CHECK_USAGE(!(d.rule == Rule::kPaper && o.fpr), what, ": ", f, " belongs to ", r,
                     " one-sided or relative; the paper rule takes ", a);
    OIAD_CHECK_USAGE(!(d.rule != Rule::kPaper && o.alpha), what, ": ", a, " belongs to the paper rule; the ",
                     rule_name(d.rule), " rule takes ", f);
  }
  if (o.alpha) d.alpha = *o.alpha;
  if (o.fpr) d.fpr = *o.fpr;
  check_alpha(d.alpha);
  check_fpr(d.fpr);
  return d;
}

double quantile_sorted(const std::vector<double>& v, double p) {
  OIAD_CHECK(!v.empty(), "quantile of an empty distribution");
  const double h = p * double(v.size() - 1);
  const size_t j = size_t(std::floor(h));
  if (j + 1 >= v.size()) return v.back();
  return v[j] + (h - double(j)) * (v[j + 1] - v[j]);
}

double fractile_of(const std::vector<double>& v, double s) {
  OIAD_CHECK(!v.empty(), "fractile in an empty distribution");
  const size_t n = v.size();
  if (n == 1) return s < v[0] ? 0.0 : s > v[0] ? 1.0 : 0.5;
  if (s < v.front()) return 0.0;
  if (s > v.back()) return 1.0;
  // First and last order statistics equal to s (a run of ties maps to its middle).
  const auto lo = std::lower_bound(v.begin(), v.end(), s);
  const auto hi = std::upper_bound(v.begin(), v.end(), s);
  if (lo != hi) {
    const double a = double(lo - v.begin()), b = double(hi - v.begin() - 1);
    return 0.5 * (a + b) / double(n - 1);
  }
  const size_t j = size_t(lo - v.begin()) - 1;  // v[j] < s < v[j+1]
  return (double(j) + (s - v[j]) / (v[j + 1] - v[j])) / double(n - 1);
}

double CodeDistribution::tail(double s) const {
  // Not flagged at α ⇔ q(α) <= s <= q(1-α) ⇔ α <= p_hi(s) and α <= 1 - p_lo(s), where p_lo and
  // p_hi are the smallest and largest fractiles at which q reaches s. They differ only on a run
  // of tied VAL values (order statistics lo..hi, p = lo/(n-1) .. hi/(n-1)); elsewhere both are
  // fractile_of(s). Capped at 0.5, the largest α.
  const auto& v = sorted;
  OIAD_CHECK(!v.empty(), "tail in an empty distribution");
  if (s < v.front() || s > v.back()) return 0.0;
  const auto lo = std::lower_bound(v.begin(), v.end(), s), hi = std::upper_bound(v.begin(), v.end(), s);
  double p_lo, p_hi;
  if (lo != hi && v.size() > 1) {
    p_lo = double(lo - v.begin()) / double(v.size() - 1);
    p_hi = double(hi - v.begin() - 1) / double(v.size() - 1);
  } else if (lo != hi) {
    p_lo = 0.0, p_hi = 1.0;  // one VAL value: every interval is that value
  } else {
    p_lo = p_hi = fractile_of(v, s);
  }
  return std::min({p_hi, 1.0 - p_lo, 0.5});
}

double CodeDistribution::outside_distance(double s) const {
  const double lo = sorted.front(), hi = sorted.back();
  const double width = std::max(hi - lo, 1e-12);
  if (s < lo) return (lo - s) / width;
  if (s > hi) return (s - hi) / width;
  return 0.0;
}

bool Calibration::has_metric(Metric m) const {
  const size_t k = size_t(m);
  return k < distributions.size() && !distributions[k].empty();
}

namespace {
const std::vector<CodeDistribution>& dists(const Calibration& c, Metric m, size_t n_values) {
  OIAD_CHECK(c.has_metric(m), "calibration has no ", metric_name(m), " distributions (it predates that metric: run `oiad calibrate` again)");
  const auto& d = c.distributions[size_t(m)];
  OIAD_CHECK(n_values == d.size(), "expected ", d.size(), " consistency values (one per selected code), got ",
             n_values);
  return d;
}
}  // namespace

std::vector<std::pair<double, double>> Calibration::thresholds(Metric m, double a) const {
  check_alpha(a);
  const auto& d = dists(*this, m, distributions[size_t(m)].size());
  std::vector<std::pair<double, double>> t;
  for (const auto& cd : d) t.emplace_back(cd.quantile(a), cd.quantile(1.0 - a));
  return t;
}

bool Calibration::anomalous(Metric m, const std::vector<double>& sc, double a) const {
  check_alpha(a);
  const auto& d = dists(*this, m, sc.size());
  for (size_t k = 0; k < sc.size(); ++k)
    if (sc[k] < d[k].quantile(a) || sc[k] > d[k].quantile(1.0 - a)) return true;
  return false;
}

double Calibration::score(Metric m, const std::vector<double>& sc) const {
  const auto& d = dists(*this, m, sc.size());
  double min_tail = 0.5, max_out = 0.0;
  for (size_t k = 0; k < sc.size(); ++k) {
    min_tail = std::min(min_tail, d[k].tail(sc[k]));
    max_out = std::max(max_out, d[k].outside_distance(sc[k]));
  }
  return max_out > 0.0 ? 1.0 + max_out : 1.0 - 2.0 * min_tail;
}

OneSidedScorer Calibration::one_sided_scorer(Metric m) const {
  const auto& d = dists(*this, m, distributions[size_t(m)].size());
  OneSidedScorer f;
  f.sign = m == Metric::kSsim ? -1.0 : 1.0;
  if (!(m == Metric::kLocal && local_codes_equal)) f.weight = weights;
  for (const auto& cd : d) {
    const auto& v = cd.sorted;
    double mean = 0, var = 0;
    for (double x : v) mean += x;
    mean /= double(v.size());
    for (double x : v) var += (x - mean) * (x - mean);
    f.mean.push_back(mean);
    f.sd.push_back(std::sqrt(var / double(v.size())) + 1e-12);
  }
  return f;
}

double OneSidedScorer::operator()(const std::vector<double>& sc) const {
  OIAD_CHECK(sc.size() == mean.size(), "expected ", mean.size(), " consistency values (one per selected code), got ",
             sc.size());
  double total = 0, sum_w = 0;
  for (size_t k = 0; k < sc.size(); ++k) {
    const double w = weight.empty() ? 1.0 : weight[k];
    total += w * sign * (sc[k] - mean[k]) / sd[k], sum_w += w;
  }
  return total / sum_w;
}

double Calibration::one_sided_score(Metric m, const std::vector<double>& sc) const {
  return one_sided_scorer(m)(sc);
}

bool Calibration::has_one_sided(Metric m) const {
  const size_t k = size_t(m);
  return k < val_one_sided.size() && !val_one_sided[k].empty();
}

double Calibration::one_sided_threshold(Metric m, double fpr) const {
  check_fpr(fpr);
  OIAD_CHECK(has_one_sided(m), "the calibration has no VAL one-sided ", metric_name(m),
             " scores (it predates the one-sided rule, or lacks that metric): run `oiad calibrate` again");
  return quantile_sorted(val_one_sided[size_t(m)], 1.0 - fpr);
}

bool Calibration::has_relative(Metric m) const {
  const size_t k = size_t(m);
  return k < relative.size() && relative[k].sigma > 0 && k < val_relative.size() && !val_relative[k].empty();
}

double Calibration::relative_score(Metric m, const std::vector<double>& sc, double complexity) const {
  OIAD_CHECK(has_relative(m), "the calibration has no relative-rule fit for ", metric_name(m),
             " (it predates the relative rule, or lacks that metric): run `oiad calibrate` again");
  return one_sided_score(m, sc) - relative[size_t(m)].predict(complexity);
}

const std::vector<std::vector<double>>& Calibration::val_scores(Rule rule) const {
  return rule == Rule::kPaper ? val_paper : rule == Rule::kOneSided ? val_one_sided : val_relative;
}

double Calibration::threshold(Metric m, Rule rule, double level) const {
  if (rule == Rule::kPaper) {
    check_alpha(level);
    return 1.0 - 2.0 * level;
  }
  if (rule == Rule::kOneSided) return one_sided_threshold(m, level);
  check_fpr(level);
  OIAD_CHECK(has_relative(m), "the calibration has no VAL relative ", metric_name(m),
             " scores (it predates the relative rule, or lacks that metric): run `oiad calibrate` again");
  return quantile_sorted(val_relative[size_t(m)], 1.0 - level);
}

ComplexityFit fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  OIAD_CHECK(x.size() == y.size() && x.size() >= 2, "line fit: ", x.size(), " x and ", y.size(),
             " y values (need as many, at least 2)");
  const double n = double(x.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= n, my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  ComplexityFit f;
  f.slope = sxx > 0 ? sxy / sxx : 0.0;
  f.intercept = my - f.slope * mx;
  f.r2 = sxx > 0 && syy > 0 ? sxy * sxy / (sxx * syy) : 0.0;
  return f;
}

double conformal_p_value(const std::vector<double>& v, double s) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto at_least = double(v.end() - std::lower_bound(v.begin(), v.end(), s));
  return (1.0 + at_least) / (double(v.size()) + 1.0);
}

double Calibration::p_value(Metric m, Rule rule, double s) const {
  const auto& all = val_scores(rule);
  if (size_t(m) >= all.size()) return std::numeric_limits<double>::quiet_NaN();
  return conformal_p_value(all[size_t(m)], s);
}

double ReconstructionCalibration::threshold(double f) const {
  check_fpr(f);
  OIAD_CHECK(!val_sorted.empty(), "the ", scorer, " calibration has no VAL scores");
  return quantile_sorted(val_sorted, 1.0 - f);
}

const char* ReconstructionCalibration::values_key() const {
  return scorer == "segmentation" ? "val_scores" : "val_reconstruction";
}

nlohmann::json ReconstructionCalibration::to_json() const {
  return {{"scorer", scorer}, {"rule", rule_name(Rule::kOneSided)}, {"fpr", fpr},
          {"n_val", val_sorted.size()}, {values_key(), val_sorted}};
}

ReconstructionCalibration ReconstructionCalibration::from_json(const nlohmann::json& j) {
  ReconstructionCalibration c;
  try {
    c.scorer = j.value("scorer", "");
    OIAD_CHECK(c.scorer == "reconstruction" || c.scorer == "segmentation",
               "calibration: not of a reconstruction or segmentation model (scorer ",
               j.contains("scorer") ? j["scorer"].dump() : std::string("missing"), ")");
    OIAD_CHECK(j.value("rule", "") == rule_name(Rule::kOneSided), "calibration: a ", c.scorer, " model decides by "
               "the one-sided rule, not ", j.contains("rule") ? j["rule"].dump() : std::string("a missing rule"));
    c.fpr = j.at("fpr").get<double>();
    OIAD_CHECK(c.fpr > 0 && c.fpr < 1, "calibration: false-positive rate ", c.fpr, " outside (0, 1)");
    c.val_sorted = j.at(c.values_key()).get<std::vector<double>>();
    const int64_t n = bounded_int(j, "n_val", 1, int64_t(1) << 40, "calibration");
    OIAD_CHECK(int64_t(c.val_sorted.size()) == n && std::is_sorted(c.val_sorted.begin(), c.val_sorted.end()),
               "calibration: the VAL scores are unsorted or not one per VAL image");
    for (double v : c.val_sorted) OIAD_CHECK(std::isfinite(v), "calibration: a VAL score is not finite");
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("calibration: ") + e.what());
  }
  return c;
}

bool Calibration::anomalous_one_sided(Metric m, const std::vector<double>& sc, double fpr) const {
  return one_sided_score(m, sc) > one_sided_threshold(m, fpr);
}

int Calibration::most_extreme_code(Metric m, const std::vector<double>& sc) const {
  const auto& d = dists(*this, m, sc.size());
  size_t best = 0;
  double best_key = -1;
  for (size_t k = 0; k < sc.size(); ++k) {
    const double key = d[k].outside_distance(sc[k]) + (0.5 - d[k].tail(sc[k]));
    if (key > best_key) best_key = key, best = k;
  }
  return codes[best];
}

namespace {

// Calibration::weights: empty, or one finite value in [1, 2^20] per code.
void check_weights(const std::vector<double>& weights, size_t codes) {
  OIAD_CHECK(weights.empty() || weights.size() == codes, "calibration: ", weights.size(), " code weights for ", codes,
             " codes");
  for (double w : weights)
    OIAD_CHECK(std::isfinite(w) && w >= 1 && w <= double(1 << 20), "calibration: code weight ", w,
               " outside [1, 2^20]");
}

}  // namespace

nlohmann::json Calibration::to_json() const {
  nlohmann::json j = {{"codes", codes}, {"rule", rule_name(rule)}, {"alpha", alpha},
                      {"fpr", fpr},     {"n_val", n_val}};
  if (!weights.empty()) j["code_weights"] = weights;
  j["local_codes_equal"] = local_codes_equal;
  nlohmann::json dj = nlohmann::json::object();
  for (int m = 0; m < kNumMetrics; ++m) {
    if (!has_metric(Metric(m))) continue;
    nlohmann::json per = nlohmann::json::array();
    for (const auto& cd : distributions[size_t(m)]) per.push_back(cd.sorted);
    dj[metric_name(Metric(m))] = per;
  }
  j["val_consistency"] = dj;
  nlohmann::json oj = nlohmann::json::object();
  for (int m = 0; m < kNumMetrics; ++m)
    if (has_one_sided(Metric(m))) oj[metric_name(Metric(m))] = val_one_sided[size_t(m)];
  j["val_one_sided"] = oj;
  nlohmann::json pj = nlohmann::json::object();
  for (int m = 0; m < kNumMetrics; ++m)
    if (size_t(m) < val_paper.size() && !val_paper[size_t(m)].empty()) pj[metric_name(Metric(m))] = val_paper[size_t(m)];
  j["val_paper"] = pj;
  nlohmann::json rj = nlohmann::json::object(), vr = nlohmann::json::object();
  for (int m = 0; m < kNumMetrics; ++m) {
    if (!has_relative(Metric(m))) continue;
    const ComplexityFit& f = relative[size_t(m)];
    rj[metric_name(Metric(m))] = {{"sigma", f.sigma}, {"intercept", f.intercept}, {"slope", f.slope}, {"r2", f.r2}};
    vr[metric_name(Metric(m))] = val_relative[size_t(m)];
  }
  j["relative"] = rj;
  j["val_relative"] = vr;
  return j;
}

Calibration Calibration::from_json(const nlohmann::json& j) {
  Calibration c;
  try {
    for (int64_t code : bounded_int_list(j, "codes", 0, 1 << 20, "calibration")) c.codes.push_back(int(code));
    c.alpha = j.at("alpha").get<double>();
    if (j.contains("code_weights")) {
      c.weights = j["code_weights"].get<std::vector<double>>();
      check_weights(c.weights, c.codes.size());
    }
    c.local_codes_equal = false;  // the local metric's mean before 2026-12-07: by the weights
    if (j.contains("local_codes_equal")) {
      OIAD_CHECK(j["local_codes_equal"].is_boolean(), "calibration: local_codes_equal is not true or false");
      c.local_codes_equal = j["local_codes_equal"].get<bool>();
    }
    c.n_val = bounded_int(j, "n_val", 0, int64_t(1) << 40, "calibration");
    c.distributions.assign(kNumMetrics, {});
    for (int m = 0; m < kNumMetrics; ++m) {
      const std::string name = metric_name(Metric(m));
      if (!j.at("val_consistency").contains(name)) continue;
      for (const auto& v : j["val_consistency"][name]) {
        CodeDistribution cd;
        cd.sorted = v.get<std::vector<double>>();
        OIAD_CHECK(!cd.sorted.empty() && std::is_sorted(cd.sorted.begin(), cd.sorted.end()),
                   "calibration: VAL values of a code are empty or unsorted");
        c.distributions[size_t(m)].push_back(std::move(cd));
      }
      OIAD_CHECK(c.distributions[size_t(m)].size() == c.codes.size(), "calibration: ", name, " has ",
                 c.distributions[size_t(m)].size(), " codes, expected ", c.codes.size());
    }
    // The VAL images' sorted scores under each rule, per metric (absent in older files).
    auto read_val_scores = [&](const char* key, const char* what, std::vector<std::vector<double>>& all) {
      all.assign(kNumMetrics, {});
      if (!j.contains(key)) return;
      for (int m = 0; m < kNumMetrics; ++m) {
        const std::string name = metric_name(Metric(m));
        if (!j[key].contains(name)) continue;
        auto& v = all[size_t(m)];
        v = j[key][name].get<std::vector<double>>();
        OIAD_CHECK(int64_t(v.size()) == c.n_val && std::is_sorted(v.begin(), v.end()), "calibration: ", name, " ",
                   what, " VAL scores are unsorted or not one per VAL image");
      }
    };
    read_val_scores("val_one_sided", "one-sided", c.val_one_sided);
    read_val_scores("val_paper", "paper-rule", c.val_paper);
    read_val_scores("val_relative", "relative", c.val_relative);
    c.relative.assign(kNumMetrics, {});
    for (int m = 0; m < kNumMetrics; ++m) {
      const std::string name = metric_name(Metric(m));
      if (!j.contains("relative") || !j["relative"].contains(name)) continue;
      const auto& r = j["relative"][name];
      ComplexityFit& f = c.relative[size_t(m)];
      f.sigma = r.at("sigma").get<double>(), f.intercept = r.at("intercept").get<double>();
      f.slope = r.at("slope").get<double>(), f.r2 = r.at("r2").get<double>();
      // σ bounds the blur's kernel (radius 3σ): a file must not make it allocate without limit.
      OIAD_CHECK(f.sigma > 0 && f.sigma <= kMaxComplexitySigma && std::isfinite(f.intercept) &&
                     std::isfinite(f.slope),
                 "calibration: the relative rule's ", name, " line is not finite with σ in (0, ",
                 kMaxComplexitySigma, "]");
      OIAD_CHECK(!c.val_relative[size_t(m)].empty(), "calibration: ", name,
                 " has a relative-rule line but no VAL relative scores");
    }
    // The default decision. Calibrations written before it was stored decide by the one-sided
    // rule when they hold its VAL scores, else by the paper's.
    bool any_one_sided = false;
    for (int m = 0; m < kNumMetrics; ++m) any_one_sided = any_one_sided || c.has_one_sided(Metric(m));
    c.rule = j.contains("rule") ? parse_rule(j["rule"].get<std::string>())
                                : (any_one_sided ? Rule::kOneSided : Rule::kPaper);
    c.fpr = j.value("fpr", 0.05);
    OIAD_CHECK(c.alpha > 0 && c.alpha <= 0.5, "calibration: alpha ", c.alpha, " outside (0, 0.5]");
    OIAD_CHECK(c.fpr > 0 && c.fpr < 1, "calibration: false-positive rate ", c.fpr, " outside (0, 1)");
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("calibration: ") + e.what());
  }
  return c;
}

double monte_carlo_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  OIAD_CHECK(a.size() == b.size(), "Monte-Carlo ratio: ", a.size(), " and ", b.size(), " values");
  OIAD_CHECK(a.size() >= 2, "Monte-Carlo ratio: need at least 2 images, got ", a.size());
  const double n = double(a.size());
  double ma = 0, mb = 0, d2 = 0;
  for (size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i], d2 += (a[i] - b[i]) * (a[i] - b[i]);
  ma /= n, mb /= n;
  double cov = 0;
  for (size_t i = 0; i < a.size(); ++i) cov += (a[i] - ma) * (b[i] - mb);
  cov /= n - 1;                        // unbiased: E = var(t)
  const double noise = d2 / (2.0 * n);  // unbiased: E = σ²
  if (noise == 0) return 0;
  if (cov <= 0) return std::numeric_limits<double>::infinity();
  return std::sqrt(noise / cov);
}

std::vector<size_t> distinct_codes(const ConsistencyTable& values, double tolerance,
                                   std::vector<std::vector<size_t>>* merged) {
  OIAD_CHECK(tolerance >= 0, "distinct codes: tolerance ", tolerance, " < 0");
  OIAD_CHECK(!values.empty(), "distinct codes: no VAL values");
  const size_t n = values.images(), nk = values.codes();
  // The paper's metrics decide (the local metric, added later, does not change which codes
  // the presets keep).
  constexpr int kDuplicateMetrics = int(Metric::kLocal);
  // sd[m][k] over the VAL images.
  std::vector<std::vector<double>> sd(kNumMetrics, std::vector<double>(nk, 0.0));
  for (int m = 0; m < kNumMetrics; ++m)
    for (size_t k = 0; k < nk; ++k) {
      double mean = 0, sq = 0;
      for (size_t i = 0; i < n; ++i) mean += values.at(i, Metric(m), k);
      mean /= double(n);
      for (size_t i = 0; i < n; ++i) sq += (values.at(i, Metric(m), k) - mean) * (values.at(i, Metric(m), k) - mean);
      sd[size_t(m)][k] = std::sqrt(sq / double(n));
    }
  std::vector<size_t> kept;
  std::vector<std::vector<size_t>> groups;
  for (size_t k = 0; k < nk; ++k) {
    bool dup = false;
    for (size_t j = 0; j < kept.size() && !dup; ++j) {
      const size_t c = kept[j];
      bool same = true;
      for (int m = 0; m < kDuplicateMetrics && same; ++m) {
        const double limit = tolerance * sd[size_t(m)][c];
        for (size_t i = 0; i < n; ++i)
          if (std::abs(values.at(i, Metric(m), k) - values.at(i, Metric(m), c)) > limit) {
            same = false;
            break;
          }
      }
      if (same) groups[j].push_back(k), dup = true;
    }
    if (!dup) kept.push_back(k), groups.emplace_back();
  }
  if (merged) *merged = std::move(groups);
  return kept;
}

Calibration make_calibration(const std::vector<int>& codes, const ConsistencyTable& values, double alpha,
                             const std::vector<size_t>* subset, const std::vector<double>& weights) {
  check_alpha(alpha);
  OIAD_CHECK(values.codes() == codes.size(), "calibration: VAL values of ", values.codes(), " codes for ",
             codes.size(), " selected codes");
  check_weights(weights, codes.size());
  Calibration c;
  c.codes = codes;
  c.weights = weights;
  c.alpha = alpha;
  const size_t n = subset ? subset->size() : values.images();
  OIAD_CHECK(n >= 2, "calibration: need at least 2 VAL images, got ", n);
  c.n_val = int64_t(n);
  auto image = [&](size_t t) {
    const size_t i = subset ? (*subset)[t] : t;
    OIAD_CHECK(i < values.images(), "calibration: VAL image ", i, " of ", values.images());
    return i;
  };
  c.distributions.assign(kNumMetrics, std::vector<CodeDistribution>(codes.size()));
  for (int mm = 0; mm < kNumMetrics; ++mm)
    for (size_t k = 0; k < codes.size(); ++k) {
      auto& v = c.distributions[size_t(mm)][k].sorted;
      v.reserve(n);
      for (size_t t = 0; t < n; ++t) v.push_back(values.at(image(t), Metric(mm), k));
      std::sort(v.begin(), v.end());
    }
  c.val_one_sided.assign(kNumMetrics, {});
  c.val_paper.assign(kNumMetrics, {});
  for (int mm = 0; mm < kNumMetrics; ++mm) {
    const OneSidedScorer score = c.one_sided_scorer(Metric(mm));
    auto& v = c.val_one_sided[size_t(mm)];
    auto& p = c.val_paper[size_t(mm)];
    v.reserve(n), p.reserve(n);
    for (size_t t = 0; t < n; ++t) {
      const std::vector<double> sc = values.of(image(t), Metric(mm));
      v.push_back(score(sc));
      p.push_back(c.score(Metric(mm), sc));
    }
    std::sort(v.begin(), v.end());
    std::sort(p.begin(), p.end());
  }
  return c;
}

}  // namespace oiad::detect

#include "oiad/detect/detector_options.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "oiad/core/choice.h"
#include "oiad/core/error.h"
#include "oiad/core/json_fields.h"
#include "oiad/model/config.h"

namespace oiad::detect {

const std::vector<std::string>& placement_names() {
  static const std::vector<std::string> kNames = {"random", "quasi"};
  return kNames;
}
std::string placement_name(Placement p) { return placement_names().at(size_t(p)); }
Placement parse_placement(const std::string& s) { return parse_enum<Placement>(placement_names(), s, "placement"); }

const std::vector<std::string>& code_selection_names() {
  static const std::vector<std::string> kNames = {"all", "precision", "spread"};
  return kNames;
}
std::string code_selection_name(CodeSelection c) { return code_selection_names().at(size_t(c)); }
CodeSelection parse_code_selection(const std::string& s) {
  return parse_enum<CodeSelection>(code_selection_names(), s, "code selection");
}

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> kNames = {"default", "paper"};
  return kNames;
}
std::string preset_name(Preset p) { return p == Preset::kCustom ? "custom" : preset_names().at(size_t(p)); }
Preset parse_preset(const std::string& s) { return parse_enum<Preset>(preset_names(), s, "preset"); }

nlohmann::json DetectorOptions::to_json() const {
  nlohmann::json j = {{"preset", preset_name(preset)}, {"morphs", morphs}, {"draws_per_round", draws_per_round},
                      {"radius_step", radius_step},     {"max_rounds", max_rounds},
                      {"range_quantile", range_quantile}, {"top_k", top_k},
                      {"code_selection", code_selection_name(code_selection)}, {"seed", seed},
                      {"duplicate_tolerance", duplicate_tolerance}};
  // Absent: the paper's random draws.
  if (placement != Placement::kRandom) j["placement"] = placement_name(placement);
  return j;
}

DetectorOptions DetectorOptions::from_json(const nlohmann::json& j) {
  DetectorOptions o;
  try {
    // Every number bounded before it sizes the morph search (a file can carry any value).
    const std::string what = "detector options";
    // A name in a file that is not one of its set is a fault of the file (Error), named by field.
    auto named = [&](const char* key, auto parse) {
      try {
        return parse(j.at(key).get<std::string>());
      } catch (const UsageError& e) {
        throw Error(oiad::detail::concat(what, ": ", key, ": ", e.what()));
      }
    };
    o.preset = j.at("preset") == "custom" ? Preset::kCustom : named("preset", parse_preset);
    o.morphs = int(bounded_int(j, "morphs", int64_t(spec::kMorphs.min), int64_t(spec::kMorphs.max), what));
    o.draws_per_round = int(bounded_int(j, "draws_per_round", 0, 10000, what));
    o.radius_step = bounded_double(j, "radius_step", spec::kRadiusStep.min, spec::kRadiusStep.max, what);
    o.max_rounds = int(bounded_int(j, "max_rounds", 1, 10000, what));
    o.range_quantile = bounded_double(j, "range_quantile", 0, 0.49, what);
    o.top_k = int(bounded_int(j, "top_k", int64_t(spec::kTopK.min), int64_t(spec::kTopK.max), what));
    o.code_selection = named("code_selection", parse_code_selection);
    o.seed = json_uint64(j, "seed", what);
    // Calibrations written before duplicate merging existed have no such field: merging off.
    o.duplicate_tolerance = j.contains("duplicate_tolerance")
                                ? bounded_double(j, "duplicate_tolerance", spec::kDuplicateTolerance.min,
                                                 spec::kDuplicateTolerance.max, what)
                                : 0.0;
    if (j.contains("placement")) o.placement = named("placement", parse_placement);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("detector options: ") + e.what());
  }
  return o;
}

DecisionRule preset_decision(Preset p) {
  preset_options(p);  // refuses kCustom
  DecisionRule d;
  d.rule = p == Preset::kPaper ? Rule::kPaper : Rule::kOneSided;
  return d;
}

double preset_gamma(Preset p) {
  preset_options(p);  // refuses kCustom
  return p == Preset::kPaper ? 40.0 : 5.0;
}

DetectorOptions preset_options(Preset p) {
  DetectorOptions o;
  o.preset = p;
  switch (p) {
    case Preset::kPaper:
      o.morphs = 100;
      break;
    case Preset::kDefault:
      o.morphs = 5;
      o.radius_step = 0.2;
      o.placement = Placement::kQuasi;
      o.duplicate_tolerance = 0.05;
      break;
    case Preset::kCustom:
      throw UsageError("the options of a custom preset are the caller's, not a preset's");
  }
  return o;
}

nlohmann::json NormalRange::to_json() const { return {{"low", low}, {"high", high}}; }

NormalRange NormalRange::from_json(const nlohmann::json& j) {
  NormalRange r;
  r.low = j.at("low").get<std::vector<double>>();
  r.high = j.at("high").get<std::vector<double>>();
  OIAD_CHECK(r.low.size() == r.high.size(), "normal range: low and high differ in length");
  return r;
}

nlohmann::json LocalStandard::to_json() const {
  return {{"side", side}, {"smooth", smooth}, {"top_fraction", top_fraction}, {"mean", mean}, {"sd", sd}};
}

LocalStandard LocalStandard::from_json(const nlohmann::json& j, size_t codes) {
  LocalStandard s;
  OIAD_CHECK(j.is_object(), "local standard: not a JSON object");
  s.side = int(bounded_int(j, "side", 1, 4096, "local standard"));
  // The form: stored since 2026-12-07; a standard without it was fitted for the form before.
  s.smooth = j.contains("smooth") ? int(bounded_int(j, "smooth", 1, 15, "local standard")) : kLocalSmoothBefore;
  OIAD_CHECK(s.smooth % 2 == 1, "local standard: smooth ", s.smooth, " is even (expected an odd box side)");
  s.top_fraction = j.contains("top_fraction") ? bounded_double(j, "top_fraction", 1e-6, 1.0, "local standard")
                                              : kLocalTopFractionBefore;
  // Read as double and checked before narrowing (a double beyond float's range does not convert).
  const auto mean = j.at("mean").get<std::vector<std::vector<double>>>();
  const auto sd = j.at("sd").get<std::vector<std::vector<double>>>();
  OIAD_CHECK(mean.size() == codes && sd.size() == codes, "local standard: ", mean.size(), " and ", sd.size(),
             " codes, expected ", codes);
  const size_t cells = size_t(s.side) * size_t(s.side);
  const double lim = double(std::numeric_limits<float>::max());
  for (size_t k = 0; k < codes; ++k) {
    OIAD_CHECK(mean[k].size() == cells && sd[k].size() == cells, "local standard: code ", k, " has ", mean[k].size(),
               " and ", sd[k].size(), " values, expected ", cells);
    for (size_t i = 0; i < cells; ++i)
      OIAD_CHECK(std::isfinite(mean[k][i]) && std::abs(mean[k][i]) <= lim && std::isfinite(sd[k][i]) && sd[k][i] >= 0 &&
                     sd[k][i] <= lim,
                 "local standard: code ", k, " has a value outside float range (or a negative sd)");
    s.mean.emplace_back(mean[k].begin(), mean[k].end());
    s.sd.emplace_back(sd[k].begin(), sd[k].end());
  }
  return s;
}

StoredCalibration parse_stored_calibration(const nlohmann::json& c, int latent_dim) {
  StoredCalibration s;
  try {
    OIAD_CHECK(c.is_object(), "not a JSON object");
    s.options = DetectorOptions::from_json(c.at("detector"));
    s.calibration = Calibration::from_json(c);
    // The codes index the network's latent vector: every one must exist.
    s.range = NormalRange::from_json(c.at("normal_range"));
    OIAD_CHECK(s.range.low.size() == size_t(latent_dim) && s.range.high.size() == size_t(latent_dim),
               "normal range of ", s.range.low.size(), " codes for a model of ", latent_dim);
    for (int code : s.calibration.codes)
      OIAD_CHECK(code >= 0 && code < latent_dim, "code ", code, " outside the model's ", latent_dim, " codes");
    if (c.contains("local_standard")) s.local = LocalStandard::from_json(c["local_standard"], s.calibration.codes.size());
    OIAD_CHECK(s.local.empty() == !s.calibration.has_metric(Metric::kLocal),
               "the local metric's VAL distributions and its standard (local_standard) come together");
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("calibration: ") + e.what());
  }
  return s;
}

}  // namespace oiad::detect

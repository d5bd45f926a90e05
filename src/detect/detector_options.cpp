#include "oiad/detect/detector_options.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "oiad/core/error.h"
#include "oiad/core/json_fields.h"
#include "oiad/model/config.h"

namespace oiad::detect {

nlohmann::json DetectorOptions::to_json() const {
  nlohmann::json j = {{"preset", preset},           {"morphs", morphs},         {"draws_per_round", draws_per_round},
                      {"radius_step", radius_step}, {"max_rounds", max_rounds}, {"range_quantile", range_quantile},
                      {"top_k", top_k},             {"code_selection", code_selection}, {"seed", seed},
                      {"duplicate_tolerance", duplicate_tolerance}};
  if (placement != "random") j["placement"] = placement;  // absent: the paper's random draws
  return j;
}

DetectorOptions DetectorOptions::from_json(const nlohmann::json& j) {
  DetectorOptions o;
  try {
    // Every number bounded before it sizes the morph search (a file can carry any value).
    const std::string what = "detector options";
    o.preset = j.at("preset");
    o.morphs = int(bounded_int(j, "morphs", 1, 10000, what));
    o.draws_per_round = int(bounded_int(j, "draws_per_round", 0, 10000, what));
    o.radius_step = bounded_double(j, "radius_step", 1e-3, 10, what);
    o.max_rounds = int(bounded_int(j, "max_rounds", 1, 10000, what));
    o.range_quantile = bounded_double(j, "range_quantile", 0, 0.49, what);
    o.top_k = int(bounded_int(j, "top_k", 0, model::kMaxLatentDim, what));
    o.code_selection = j.at("code_selection");
    OIAD_CHECK(std::find(code_selection_names().begin(), code_selection_names().end(), o.code_selection) !=
                   code_selection_names().end(),
               what, ": code_selection '", o.code_selection, "' is not all, precision or spread");
    o.seed = json_uint64(j, "seed", what);
    // Calibrations written before duplicate merging existed have no such field: merging off.
    o.duplicate_tolerance = j.contains("duplicate_tolerance") ? bounded_double(j, "duplicate_tolerance", 0, 10, what) : 0.0;
    if (j.contains("placement")) {
      o.placement = j.at("placement");
      OIAD_CHECK(std::find(placement_names().begin(), placement_names().end(), o.placement) != placement_names().end(),
                 what, ": placement '", o.placement, "' is not random or quasi");
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("detector options: ") + e.what());
  }
  return o;
}

DecisionRule preset_decision(const std::string& name) {
  preset_options(name);  // refuses an unknown name
  DecisionRule d;
  d.rule = name == "paper" ? Rule::kPaper : Rule::kOneSided;
  return d;
}

double preset_gamma(const std::string& name) {
  preset_options(name);  // refuses an unknown name
  return name == "paper" ? 40.0 : 5.0;
}

const std::vector<std::string>& code_selection_names() {
  static const std::vector<std::string> kNames = {"all", "precision", "spread"};
  return kNames;
}

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> kNames = {"default", "paper"};
  return kNames;
}

DetectorOptions preset_options(const std::string& name) {
  DetectorOptions o;
  o.preset = name;
  if (name == "paper") {
    o.morphs = 100;
  } else if (name == "default") {
    o.morphs = 5;
    o.radius_step = 0.2;
    o.placement = "quasi";
    o.duplicate_tolerance = 0.05;
  } else {
    throw UsageError("unknown preset '" + name + "' (expected paper or default)");
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

nlohmann::json LocalStandard::to_json() const { return {{"side", side}, {"mean", mean}, {"sd", sd}}; }

LocalStandard LocalStandard::from_json(const nlohmann::json& j, size_t codes) {
  LocalStandard s;
  OIAD_CHECK(j.is_object(), "local standard: not a JSON object");
  s.side = int(bounded_int(j, "side", 1, 4096, "local standard"));
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

const std::vector<std::string>& placement_names() {
  static const std::vector<std::string> kNames = {"random", "quasi"};
  return kNames;
}

}  // namespace oiad::detect

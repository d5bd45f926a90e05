#include "oiad/detect/tiling.h"

#include <algorithm>
#include <optional>

#include "oiad/core/error.h"
#include "oiad/core/json_fields.h"
#include "oiad/model/preprocess.h"

namespace oiad::detect {

double TileCalibration::threshold(double f) const {
  OIAD_CHECK_USAGE(f > 0 && f < 1, "fpr ", f, " outside (0, 1)");
  OIAD_CHECK(!val_sorted.empty(), "the tile calibration has no VAL image scores");
  return quantile_sorted(val_sorted, 1.0 - f);
}

nlohmann::json TileCalibration::to_json() const {
  return {{"side", side},
          {"stride", stride},
          {"aggregate", "max"},
          {"score", score_name},
          {"tile_rule", rule_name(tile_rule.rule)},
          {"tile_level", tile_rule.rule == Rule::kPaper ? tile_rule.alpha : tile_rule.fpr},
          {"fpr", fpr},
          {"n_val", val_sorted.size()},
          {"val_image_scores", val_sorted}};
}

TileCalibration TileCalibration::from_json(const nlohmann::json& j) {
  const char* what = "tiling";
  OIAD_CHECK(j.is_object(), "tiling: not an object");
  TileCalibration t;
  t.side = int(bounded_int(j, "side", 1, 1 << 16, what));
  t.stride = int(bounded_int(j, "stride", 1, t.side, what));
  OIAD_CHECK(j.value("aggregate", "") == "max", "tiling: aggregate ", j.value("aggregate", nlohmann::json()).dump(),
             " is not max");
  t.score_name = j.at("score").get<std::string>();
  t.tile_rule.rule = parse_rule(j.at("tile_rule").get<std::string>());
  const double level = j.at("tile_level").get<double>();
  (t.tile_rule.rule == Rule::kPaper ? t.tile_rule.alpha : t.tile_rule.fpr) = level;
  t.fpr = j.at("fpr").get<double>();
  OIAD_CHECK(t.fpr > 0 && t.fpr < 1 && level > 0 && level < 1, "tiling: fpr or tile level outside (0, 1)");
  t.val_sorted = j.at("val_image_scores").get<std::vector<double>>();
  OIAD_CHECK(!t.val_sorted.empty() && std::is_sorted(t.val_sorted.begin(), t.val_sorted.end()),
             "tiling: val_image_scores empty or not ascending");
  return t;
}

bool is_tiled(const model::LoadedModel& m) { return m.file.meta.contains("tiling"); }

TileCalibration tile_calibration(const model::LoadedModel& m, const std::string& name) {
  OIAD_CHECK(is_tiled(m), name, ": not a tiled model (trained without --tile)");
  try {
    return TileCalibration::from_json(m.file.meta.at("tiling"));
  } catch (...) {
    rethrow_with_context(name + ": reading tiling");
  }
}

namespace {
ScoreOptions tile_options(const CalibratedDetector& d, const TileCalibration& t, bool maps) {
  ScoreOptions o;
  if (d.scorer == Scorer::kStructureConsistency) o.metric = parse_metric(t.score_name);
  o.decision.rule = rule_name(t.tile_rule.rule);
  if (t.tile_rule.rule == Rule::kPaper)
    o.decision.alpha = t.tile_rule.alpha;
  else
    o.decision.fpr = t.tile_rule.fpr;
  o.change_maps = maps;
  return o;
}
}  // namespace

torch::Tensor tile_input(const data::ImageView& image, const data::TileLayout& layout, size_t begin, size_t end,
                         int side) {
  OIAD_CHECK(begin <= end && end <= layout.count(), "tiling: tiles ", begin, "..", end, " of ", layout.count());
  std::vector<uint8_t> px;
  px.reserve((end - begin) * size_t(image.channels) * side * side);
  for (size_t k = begin; k < end; ++k) {
    const auto tile = data::crop_tile(image, layout.y(k), layout.x(k), side);
    px.insert(px.end(), tile.begin(), tile.end());
  }
  return model::images_to_input(px.data(), int64_t(end - begin), image.channels, side, side, side);
}

std::vector<double> tile_scores(const CalibratedDetector& d, const TileCalibration& t, const data::ImageView& image,
                                int64_t tile_batch, std::vector<float>* map) {
  const model::ModelConfig cfg = d.model.config();
  OIAD_CHECK_USAGE(image.channels == cfg.channels, "image has ", image.channels, " channel(s), the model expects ",
                   cfg.channels);
  OIAD_CHECK(cfg.input_size == t.side, "tiling: tiles of ", t.side, " for a network of ", cfg.input_size);
  OIAD_CHECK(tile_batch > 0, "tiling: tile batch ", tile_batch);
  const data::TileLayout layout = data::tile_layout(image.height, image.width, t.side, t.stride);
  const ScoreOptions o = tile_options(d, t, map != nullptr);
  std::vector<double> scores;
  std::optional<data::MapStitcher> stitcher;
  if (map) stitcher.emplace(layout);
  const size_t n = layout.count();
  for (size_t a = 0; a < n; a += size_t(tile_batch)) {
    const size_t b = std::min(n, a + size_t(tile_batch));
    const ScoreResult r = score(d, tile_input(image, layout, a, b, t.side), o);
    for (const ImageScore& s : r.images) scores.push_back(s.score);
    if (map) {
      const torch::Tensor m = r.change_maps.to(torch::kFloat).contiguous();
      const size_t plane = size_t(t.side) * t.side;
      for (size_t k = a; k < b; ++k) stitcher->add(k, m.data_ptr<float>() + (k - a) * plane);
    }
  }
  if (map) *map = stitcher->result();
  return scores;
}

TiledScore score_tiled(const CalibratedDetector& d, const TileCalibration& t, const data::ImageView& image, double fpr,
                       bool change_maps, int64_t tile_batch) {
  TiledScore r;
  r.layout = data::tile_layout(image.height, image.width, t.side, t.stride);
  r.tile_scores = tile_scores(d, t, image, tile_batch, change_maps ? &r.map : nullptr);
  r.worst_tile = size_t(std::max_element(r.tile_scores.begin(), r.tile_scores.end()) - r.tile_scores.begin());
  r.image.score = r.tile_scores[r.worst_tile];
  r.image.anomalous = r.image.score > t.threshold(fpr);
  r.image.p_value = t.p_value(r.image.score);
  return r;
}

void calibrate_tiling_into(model::LoadedModel& m, const std::vector<data::ImageView>& val_images, int side, int stride,
                           std::optional<Metric> metric, int64_t tile_batch) {
  OIAD_CHECK(!val_images.empty(), "tiling: no VAL images to calibrate on");
  m.file.meta.erase("tiling");
  const CalibratedDetector d = calibrated_from(m, "model");
  const DecisionRule decision = d.default_decision();
  TileCalibration t;
  t.side = side;
  t.stride = stride;
  OIAD_CHECK_USAGE(!(metric && d.single_score()), "tiling: a ", model::kind_name(m.config().kind),
                   " model's tiles score by ", single_score_text(d.scorer), ", not a metric");
  t.score_name = d.single_score() ? scorer_name(d.scorer) : metric_name(metric.value_or(kDefaultMetric));
  t.tile_rule = decision;
  t.fpr = decision.fpr;
  for (const data::ImageView& v : val_images) {
    const auto s = tile_scores(d, t, v, tile_batch);
    t.val_sorted.push_back(*std::max_element(s.begin(), s.end()));
  }
  std::sort(t.val_sorted.begin(), t.val_sorted.end());
  m.file.meta["tiling"] = t.to_json();
}

}  // namespace oiad::detect

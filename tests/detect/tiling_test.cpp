// Tiled scoring (detect/tiling.h): an image's tile scores are the scores of its tiles cut out
// by hand and scored as ordinary images; the image score is their maximum; the map is the
// tiles' maps averaged where they overlap; the image-level calibration holds the VAL images'
// maxima and decides and gives p-values by their definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "oiad/core/error.h"
#include "oiad/detect/tiling.h"
#include "oiad/model/preprocess.h"

namespace oiad::detect {
namespace {

model::LoadedModel tiny(model::ModelKind kind) {
  torch::manual_seed(5);
  model::ModelConfig c = model::ModelConfig::defaults(kind, 1, 32);
  c.latent_dim = 4;
  c.disc_layers = 1;
  c.disc_units = 8;
  model::LoadedModel m;
  m.net = model::DetectorVae(c);
  return m;
}

// A grey image of h x w with a smooth pattern; `spot` adds a bright square at (40, 20).
std::vector<uint8_t> pattern(int h, int w, int seed, bool spot) {
  std::vector<uint8_t> px(size_t(h) * w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double v = 100 + 40 * std::sin(0.2 * x + seed) * std::cos(0.15 * y);
      if (spot && y >= 40 && y < 48 && x >= 20 && x < 28) v = 250;
      px[size_t(y) * w + x] = uint8_t(v);
    }
  return px;
}

// The image's tiles, cut by hand at the origins 0, 16, ... (last at dim - 32), as network input.
torch::Tensor hand_tiles(const std::vector<uint8_t>& px, int h, int w, std::vector<std::pair<int, int>>* origins) {
  auto axis = [](int dim) {
    std::vector<int> o;
    for (int a = 0; a + 32 < dim; a += 16) o.push_back(a);
    o.push_back(dim - 32);
    return o;
  };
  std::vector<uint8_t> tiles;
  for (int y : axis(h))
    for (int x : axis(w)) {
      origins->push_back({y, x});
      for (int r = 0; r < 32; ++r)
        for (int c = 0; c < 32; ++c) tiles.push_back(px[size_t(y + r) * w + size_t(x + c)]);
    }
  return model::images_to_input(tiles.data(), int64_t(origins->size()), 1, 32, 32, 32);
}

void check_tiled(model::ModelKind kind) {
  model::LoadedModel m = tiny(kind);
  // Tile-level calibration on VAL tiles, then the image level on three whole VAL images.
  torch::manual_seed(6);
  const torch::Tensor val_tiles = 0.4 + 0.2 * torch::rand({12, 1, 32, 32});
  DetectorOptions opt;
  opt.morphs = 5;
  opt.seed = 3;
  calibrate_into(m, opt, val_tiles, DecisionRule{Rule::kOneSided, 0.4, 0.2});
  std::vector<std::vector<uint8_t>> val_px;
  std::vector<data::ImageView> val_views;
  for (int i = 0; i < 3; ++i) val_px.push_back(pattern(70, 50 + 4 * i, i, false));
  for (int i = 0; i < 3; ++i) val_views.push_back({1, 70, 50 + 4 * i, val_px[size_t(i)].data(), nullptr});
  calibrate_tiling_into(m, val_views, 32, 16, std::nullopt, /*tile_batch=*/5);
  const CalibratedDetector d = calibrated_from(m, "m.oiad");
  ASSERT_TRUE(is_tiled(d.model));
  const TileCalibration t = tile_calibration(d.model, "m.oiad");
  EXPECT_EQ(t.side, 32);
  EXPECT_EQ(t.stride, 16);
  ASSERT_EQ(t.val_sorted.size(), 3u);

  // The test image: its hand-cut tiles scored as ordinary images (one block).
  const int h = 75, w = 61;
  const std::vector<uint8_t> px = pattern(h, w, 9, true);
  std::vector<std::pair<int, int>> origins;
  const torch::Tensor x = hand_tiles(px, h, w, &origins);
  ScoreOptions so;
  if (d.scorer == Scorer::kStructureConsistency) so.metric = parse_metric(t.score_name);
  so.decision.rule = rule_name(t.tile_rule.rule);
  so.change_maps = true;
  const ScoreResult want = score(d, x, so);

  const data::ImageView v{1, h, w, px.data(), nullptr};
  const TiledScore got = score_tiled(d, t, v, 0.2, true, /*tile_batch=*/4);
  ASSERT_EQ(got.tile_scores.size(), origins.size());
  for (size_t k = 0; k < origins.size(); ++k) {
    EXPECT_EQ(got.layout.y(k), origins[k].first);
    EXPECT_EQ(got.layout.x(k), origins[k].second);
    EXPECT_NEAR(got.tile_scores[k], want.images[k].score, 1e-6 * (1 + std::abs(want.images[k].score))) << k;
  }
  double best = -INFINITY;
  for (const auto& s : want.images) best = std::max(best, s.score);
  EXPECT_NEAR(got.image.score, best, 1e-6 * (1 + std::abs(best)));
  // The image decision: above the (1 - f)-quantile of the VAL images' maxima (linear
  // interpolation between the order statistics); p = (1 + #VAL >= s) / (n + 1).
  const std::vector<double>& vs = t.val_sorted;
  const double hq = (double(vs.size()) - 1) * 0.8;
  const size_t lo = size_t(std::floor(hq));
  const double q = vs[lo] + (hq - double(lo)) * (vs[std::min(lo + 1, vs.size() - 1)] - vs[lo]);
  EXPECT_EQ(got.image.anomalous, got.image.score > q);
  double ge = 0;
  for (double s : vs) ge += s >= got.image.score;
  EXPECT_NEAR(got.image.p_value, (1 + ge) / 4.0, 1e-12);
  // The map: each pixel the mean of the hand-scored tiles' maps covering it.
  ASSERT_EQ(got.map.size(), size_t(h) * w);
  const torch::Tensor maps = want.change_maps.to(torch::kFloat).contiguous();
  for (int y = 0; y < h; y += 7)
    for (int xx = 0; xx < w; xx += 5) {
      double sum = 0, n = 0;
      for (size_t k = 0; k < origins.size(); ++k) {
        const int r = y - origins[k].first, c = xx - origins[k].second;
        if (r >= 0 && r < 32 && c >= 0 && c < 32) sum += maps[int64_t(k)][r][c].item<float>(), n += 1;
      }
      EXPECT_NEAR(got.map[size_t(y) * w + size_t(xx)], sum / n, 1e-5 * (1 + std::abs(sum / n))) << y << "," << xx;
    }
  // The VAL images' stored maxima are what score_tiled gives them.
  std::vector<double> again;
  for (const auto& vv : val_views) again.push_back(score_tiled(d, t, vv, 0.2, false, 7).image.score);
  std::sort(again.begin(), again.end());
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(again[i], vs[i], 1e-6 * (1 + std::abs(vs[i])));
}

TEST(Tiling, ReconstructionModelMatchesHandCutTiles) { check_tiled(model::ModelKind::kDcae); }
TEST(Tiling, DetectorMatchesHandCutTiles) { check_tiled(model::ModelKind::kDetectorVae); }

// The stored calibration survives its JSON, and a damaged one is refused by name.
TEST(Tiling, CalibrationJsonRoundTrip) {
  TileCalibration t;
  t.side = 64;
  t.stride = 32;
  t.score_name = "local";
  t.tile_rule = DecisionRule{Rule::kOneSided, 0.4, 0.05};
  t.val_sorted = {0.1, 0.2, 0.5};
  t.fpr = 0.05;
  const TileCalibration b = TileCalibration::from_json(t.to_json());
  EXPECT_EQ(b.side, 64);
  EXPECT_EQ(b.stride, 32);
  EXPECT_EQ(b.score_name, "local");
  EXPECT_EQ(b.val_sorted, t.val_sorted);
  nlohmann::json bad = t.to_json();
  bad["stride"] = 65;
  EXPECT_THROW(TileCalibration::from_json(bad), Error);
  bad = t.to_json();
  bad["val_image_scores"] = {0.3, 0.1};
  EXPECT_THROW(TileCalibration::from_json(bad), Error);
}

}  // namespace
}  // namespace oiad::detect

// Scoring an image of any size at its own resolution, tile by tile (the `--tile SIDE` route):
// the model (network side = tile side) scores each tile of data::tile_layout; the image's
// score is the highest of its tiles' scores; its change map is the tiles' maps stitched at
// the image's full size (data::stitch_tiles). The image score is calibrated on whole VAL
// images, so that the one-sided rule's f is still the share of normal images flagged and
// p-values are conformal against normal images, not tiles.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "oiad/data/dataset.h"
#include "oiad/data/tiles.h"
#include "oiad/detect/pipeline.h"

namespace oiad::detect {

/// What a tiled model stores as meta["tiling"]: the tile geometry, the tile score (the plan
/// the tiles are scored under: metric, or "reconstruction" / "segmentation", and the rule at its level) and
/// the VAL images' scores (max over their tiles), ascending.
struct TileCalibration {
  int side = 0, stride = 0;
  std::string score_name;        ///< the tiles' score: a metric name, "reconstruction" or "segmentation"
  DecisionRule tile_rule;        ///< the rule (and level) of the tiles' scores
  std::vector<double> val_sorted;
  double fpr = 0.05;             ///< the default decision's f
  /// The one-sided rule on whole images: anomalous when the score exceeds the (1 - f)-fractile
  /// of the VAL images' scores.
  double threshold(double f) const;
  double p_value(double s) const { return conformal_p_value(val_sorted, s); }
  /// {"side", "stride", "aggregate": "max", "score", "tile_rule", "tile_level", "fpr", "n_val",
  /// "val_image_scores"}
  nlohmann::json to_json() const;
  /// Throws Error naming the field that is missing or out of range.
  static TileCalibration from_json(const nlohmann::json& j);
};

/// True when the model file has a tile calibration (meta["tiling"]).
bool is_tiled(const model::LoadedModel& m);
/// The tile calibration of a tiled model (Error naming `name` otherwise).
TileCalibration tile_calibration(const model::LoadedModel& m, const std::string& name);

/// One image scored by its tiles.
struct TiledScore {
  ImageScore image;                ///< score = max of tile_scores; decision and p-value image-level
  data::TileLayout layout;
  std::vector<double> tile_scores;  ///< in layout order
  size_t worst_tile = 0;            ///< the tile with the highest score
  std::vector<float> map;           ///< (H, W) stitched change map, when asked for
};

/// Scores `image` (any size; its channels the model's) tile by tile with the tile calibration
/// `t`: tiles of t.side at t.stride, scored by detect::score under t's tile plan, `tile_batch`
/// tiles at a time (memory is bounded by the batch, not the image). The decision is the
/// one-sided rule on whole images at `fpr`. With `change_maps`, the stitched map.
TiledScore score_tiled(const CalibratedDetector& d, const TileCalibration& t, const data::ImageView& image,
                       double fpr, bool change_maps, int64_t tile_batch = 64);

/// Tiles [begin, end) of `layout` cut from `image` (data::crop_tile) as network input
/// (end - begin, C, side, side), model::images_to_input.
torch::Tensor tile_input(const data::ImageView& image, const data::TileLayout& layout, size_t begin, size_t end,
                         int side);

/// The tile scores alone (no decision): what the VAL images' calibration and score_tiled use.
std::vector<double> tile_scores(const CalibratedDetector& d, const TileCalibration& t, const data::ImageView& image,
                                int64_t tile_batch, std::vector<float>* map = nullptr);

/// Calibrates a tiled model whose tiles are calibrated already (calibrate_into on VAL tiles):
/// scores every VAL image by its tiles under the model's default decision (a detector's
/// tiles by `metric`, default kDefaultMetric) and stores the tile calibration in
/// m.file.meta["tiling"] (the caller saves the file).
void calibrate_tiling_into(model::LoadedModel& m, const std::vector<data::ImageView>& val_images, int side,
                           int stride, std::optional<Metric> metric = std::nullopt, int64_t tile_batch = 64);

}  // namespace oiad::detect

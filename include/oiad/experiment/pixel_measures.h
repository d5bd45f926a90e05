// Pixel-level measures of per-pixel anomaly maps against the masks of a part of a data set:
// what `oiad experiment` reports for every method that draws a map, and `oiad evaluate` for
// a model's test split.
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "oiad/data/dataset.h"
#include "oiad/data/split.h"

namespace oiad::experiment {

/// The kind of image i of `part` for the per-kind measures: "" for a normal image, the
/// defect family of a synthetic defect, else the image's class in `native`.
std::string map_kind(const data::Dataset& native, const data::SplitPart& part, size_t i);

/// The anomalous images of `part` whose mask is not known (they count in image measures
/// only; synthetic defects always have one): what experiment and evaluate say once.
size_t anomalous_without_mask(const data::Dataset& native, const data::SplitPart& part);

/// Pixel AUROC and AUPRO (eval/regions.h) of `maps` (n, S, S), one per image of `part` on the
/// network input, against the masks: {"pixel_auroc", "aupro", "pixel_images", "per_kind":
/// {kind: the same three over the normal images and that kind's}}, pooled over every image
/// whose mask is known (a clean image counts with an all-zero mask, as in MVTec AD's
/// evaluation). `ds` holds the images at the size the maps were computed from (the stored
/// size, or the resized set); `native` the same images as read (it may be `ds`). Synthetic
/// defects (part.has_defects()) are measured at ds's size; ground-truth masks at each image's
/// own size, the map brought there (model::input_map_to_image, model::resize_maps). Null when
/// the part has no mask or no image has a defect pixel.
nlohmann::json pixel_measures(const data::Dataset& ds, const data::Dataset& native, const data::SplitPart& part,
                              const torch::Tensor& maps);

}  // namespace oiad::experiment

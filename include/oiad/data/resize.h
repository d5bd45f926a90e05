// Bringing images to another size: the `--resize` route from photographs of any size to a
// network's square input.
#pragma once

#include <cstdint>
#include <vector>

#include "oiad/data/dataset.h"

namespace oiad::data {

/// (C, H, W) uint8 -> (C, out_h, out_w) uint8: pixel-area averaging when shrinking (no
/// aliasing of fine texture), bilinear when enlarging (OpenCV's resize, rounded).
std::vector<uint8_t> resize_image(const uint8_t* chw, int channels, int height, int width, int out_h, int out_w);

/// A mask (H, W) of 0/1 -> (out_h, out_w): the defect's share of each output pixel, kept
/// where it is at least one half.
std::vector<uint8_t> resize_mask(const uint8_t* mask, int height, int width, int out_h, int out_w);

/// True when the images must be brought to the network's side before they are stacked as
/// its input: they differ in size, or are larger than side x side on either axis.
bool needs_resize(const Dataset& ds, int side);

/// The data set with every image (and mask) brought to side x side by resize_image
/// (resize_mask); names, labels, ids and mask flags are kept.
Dataset resized(const Dataset& ds, int side);

}  // namespace oiad::data

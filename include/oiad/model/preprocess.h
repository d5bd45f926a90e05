// From stored uint8 images to network input: scale to [0, 1] (Sec. IV.B) and bring the
// image to the model's square input size.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace oiad::model {

/// How an image of h x w becomes input_size x input_size: "none" (same size), "pad" (zero
/// padding centred, e.g. 28 -> 32 adds 2 pixels each side), or "bilinear" (resize).
std::string resize_method(int height, int width, int input_size);

/// (n, C, H, W) uint8 -> (n, C, S, S) float32 in [0, 1].
torch::Tensor images_to_input(const uint8_t* pixels, int64_t n, int channels, int height, int width, int input_size);

/// (n, C, S, S) float in [0, 1] -> (n, C, S, S) uint8 (rounded), for writing pictures.
std::vector<uint8_t> input_to_bytes(const torch::Tensor& x);

}  // namespace oiad::model

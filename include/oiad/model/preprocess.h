// From stored uint8 images to network input: scale to [0, 1] (Sec. IV.B) and bring the
// image to the model's square input size.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "oiad/data/readers.h"
#include "oiad/model/model_io.h"

namespace oiad::model {

/// How an image of h x w becomes input_size x input_size: "none" (same size), "pad" (zero
/// padding centred, e.g. 28 -> 32 adds 2 pixels each side), or "bilinear" (resize).
std::string resize_method(int height, int width, int input_size);

/// (n, C, H, W) uint8 -> (n, C, S, S) float32 in [0, 1].
torch::Tensor images_to_input(const uint8_t* pixels, int64_t n, int channels, int height, int width, int input_size);

/// Images for model `m`: (n, C, H, W) uint8 of the model's image size and channel count (its
/// "preprocessing" metadata) -> its input, by images_to_input. Images of another size or
/// channel count are an error naming `what`, unless `convert`: then they are first brought to
/// the model's channel count (grey = channel mean; grey to colour repeats the channel, rounded
/// to uint8) and image size (data::resize_image: pixel-area averaging when shrinking,
/// bilinear when enlarging, as data::resized does), as if stored that way.
torch::Tensor model_input(const LoadedModel& m, const uint8_t* pixels, int64_t n, int channels, int height,
                          int width, bool convert, const std::string& what);
/// One decoded image (data::read_image_file, data::decode_image) for model `m`: (1, C, S, S).
torch::Tensor model_input(const LoadedModel& m, const data::DecodedImage& image, bool convert,
                          const std::string& what);

/// Per-pixel maps on the network input, (n, S, S), brought back to the stored images' (n, H, W):
/// the inverse of images_to_input's geometry ("none": as they are, "pad": the padding cut
/// off, "bilinear": resized back).
torch::Tensor input_map_to_image(const torch::Tensor& maps, int height, int width);
/// Per-pixel maps (n, H, W) resized to (n, height, width), bilinear (for maps of images that
/// were resized to the network: data::resized).
torch::Tensor resize_maps(const torch::Tensor& maps, int height, int width);
/// The model's image size (height, width): its stored preprocessing's, else the network's
/// side. model_input uses images of this size as they are and resizes others to it.
std::pair<int, int> stored_image_size(const LoadedModel& m);

/// (n, C, S, S) float in [0, 1] -> (n, C, S, S) uint8 (rounded), for writing pictures.
std::vector<uint8_t> input_to_bytes(const torch::Tensor& x);

}  // namespace oiad::model

#include "oiad/model/preprocess.h"

#include "oiad/core/error.h"
#include "oiad/core/json_fields.h"
#include "oiad/data/resize.h"

namespace oiad::model {

std::string resize_method(int height, int width, int input_size) {
  if (height == input_size && width == input_size) return "none";
  if (height <= input_size && width <= input_size && (input_size - height) % 2 == 0 &&
      (input_size - width) % 2 == 0 && input_size - height <= 8 && input_size - width <= 8)
    return "pad";
  return "bilinear";
}

torch::Tensor images_to_input(const uint8_t* pixels, int64_t n, int channels, int height, int width, int input_size) {
  auto x = torch::from_blob(const_cast<uint8_t*>(pixels), {n, channels, height, width}, torch::kUInt8)
               .to(torch::kFloat32)
               .div_(255.0f);
  const std::string how = resize_method(height, width, input_size);
  if (how == "none") return x.contiguous();
  if (how == "pad") {
    const int64_t ph = (input_size - height) / 2, pw = (input_size - width) / 2;
    return torch::constant_pad_nd(x, {pw, pw, ph, ph}, 0.0).contiguous();
  }
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{input_size, input_size})
                               .mode(torch::kBilinear)
                               .align_corners(false))
      .clamp_(0.0, 1.0)
      .contiguous();
}

torch::Tensor model_input(const LoadedModel& m, const data::DecodedImage& image, bool convert,
                          const std::string& what) {
  return model_input(m, image.chw.data(), 1, image.channels, image.height, image.width, convert, what);
}

std::pair<int, int> stored_image_size(const LoadedModel& m) {
  const auto& pre = m.file.meta.value("preprocessing", nlohmann::json::object());
  auto side = [&](const char* key) {
    return pre.contains(key) ? int(bounded_int(pre, key, 1, 16384, "model preprocessing")) : m.config().input_size;
  };
  return {side("image_height"), side("image_width")};
}

torch::Tensor model_input(const LoadedModel& m, const uint8_t* pixels, int64_t n, int channels, int height,
                          int width, bool convert, const std::string& what) {
  const ModelConfig cfg = m.config();
  const auto [want_h, want_w] = stored_image_size(m);
  // Images that already have the model's size and channels are used as they are.
  if (!convert || (channels == cfg.channels && height == want_h && width == want_w)) {
    OIAD_CHECK(channels == cfg.channels, what, ": ", channels, " channel(s), the model expects ", cfg.channels,
               " (use --resize to convert)");
    OIAD_CHECK(height == want_h && width == want_w, what, ": images are ", width, "x", height,
               ", the model expects ", want_w, "x", want_h, " (use --resize to resize)");
    return images_to_input(pixels, n, channels, height, width, cfg.input_size);
  }
  // Channels first (grey = channel mean, rounded; grey to colour repeats the channel), then
  // the size by data::resize_image, the function that brings a data set to a network's side
  // (data::resized), so that an image file scores as it would from its data set.
  std::vector<uint8_t> chans(pixels, pixels + size_t(n) * channels * height * width);
  if (channels != cfg.channels) {
    auto x = torch::from_blob(chans.data(), {n, channels, height, width}, torch::kUInt8).to(torch::kFloat32).div(255.0f);
    x = channels == 3 ? x.mean(1, true) : x.repeat({1, 3, 1, 1});
    chans = input_to_bytes(x);
  }
  std::vector<uint8_t> bytes;
  if (height == want_h && width == want_w) {
    bytes = std::move(chans);
  } else {
    const size_t in = size_t(cfg.channels) * height * width;
    for (int64_t i = 0; i < n; ++i) {
      const auto r = data::resize_image(chans.data() + size_t(i) * in, cfg.channels, height, width, want_h, want_w);
      bytes.insert(bytes.end(), r.begin(), r.end());
    }
  }
  return images_to_input(bytes.data(), n, cfg.channels, want_h, want_w, cfg.input_size);
}

torch::Tensor input_map_to_image(const torch::Tensor& maps, int height, int width) {
  OIAD_CHECK(maps.dim() == 3 && maps.size(1) == maps.size(2), "pixel maps must be (n, S, S), got ", maps.sizes());
  const int s = int(maps.size(1));
  const std::string how = resize_method(height, width, s);
  if (how == "none") return maps.contiguous();
  if (how == "pad") {
    const int64_t ph = (s - height) / 2, pw = (s - width) / 2;
    return maps.slice(1, ph, ph + height).slice(2, pw, pw + width).contiguous();
  }
  return resize_maps(maps, height, width);
}

torch::Tensor resize_maps(const torch::Tensor& maps, int height, int width) {
  OIAD_CHECK(maps.dim() == 3, "pixel maps must be (n, H, W), got ", maps.sizes());
  namespace F = torch::nn::functional;
  return F::interpolate(maps.unsqueeze(1), F::InterpolateFuncOptions()
                                               .size(std::vector<int64_t>{height, width})
                                               .mode(torch::kBilinear)
                                               .align_corners(false))
      .squeeze(1)
      .contiguous();
}

std::vector<uint8_t> input_to_bytes(const torch::Tensor& x) {
  auto b = (x.detach().clamp(0.0, 1.0) * 255.0).round().to(torch::kUInt8).contiguous();
  return std::vector<uint8_t>(b.data_ptr<uint8_t>(), b.data_ptr<uint8_t>() + b.numel());
}

}  // namespace oiad::model

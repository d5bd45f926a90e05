#include "oiad/detect/pipeline.h"

#include "oiad/core/error.h"
#include "oiad/model/preprocess.h"

namespace oiad::detect {

CalibratedDetector load_detector(const std::string& path, bool require_calibration) {
  CalibratedDetector d;
  d.model = model::load_model(path);
  const auto& meta = d.model.file.meta;
  if (!meta.contains("calibration")) {
    OIAD_CHECK(!require_calibration, path, ": model has no calibration (run `oiad calibrate --model ", path, "`)");
    return d;
  }
  try {
    const auto& c = meta["calibration"];
    d.detector = std::make_unique<Detector>(d.model.net, DetectorOptions::from_json(c.at("detector")));
    d.calibration = Calibration::from_json(c);
    d.detector->set_normal_range(NormalRange::from_json(c.at("normal_range")), d.calibration.codes);
    d.calibrated = true;
  } catch (...) {
    rethrow_with_context(path + ": reading calibration");
  }
  return d;
}

void calibrate_into(model::LoadedModel& m, const DetectorOptions& options, const torch::Tensor& val_images,
                    double alpha) {
  Detector det(m.net, options);
  Calibration c = det.calibrate(val_images, alpha);
  nlohmann::json j = c.to_json();
  j["detector"] = options.to_json();
  j["normal_range"] = det.normal_range().to_json();
  m.file.meta["calibration"] = j;
}

std::vector<ImageScore> score_images(const CalibratedDetector& d, const torch::Tensor& images, Metric metric,
                                     double alpha, int64_t block,
                                     const std::function<void(int64_t, int64_t)>& progress) {
  OIAD_CHECK(d.calibrated, "scoring needs a calibrated model");
  check_alpha(alpha);
  OIAD_CHECK(d.calibration.has_metric(metric), "the calibration has no ", metric_name(metric), " values");
  const int64_t n = images.size(0);
  std::vector<ImageScore> out;
  out.reserve(size_t(n));
  for (int64_t a = 0; a < n; a += block) {
    const int64_t b = std::min(n, a + block);
    Consistency sc = d.detector->structure_consistency(images.slice(0, a, b));
    for (auto& v : sc.values) {
      ImageScore s;
      const auto& x = v[size_t(metric)];
      s.score = d.calibration.score(metric, x);
      s.anomalous = d.calibration.anomalous(metric, x, alpha);
      s.most_extreme_code = d.calibration.most_extreme_code(metric, x);
      s.consistency = std::move(v);
      out.push_back(std::move(s));
    }
    if (progress) progress(b, n);
  }
  return out;
}

torch::Tensor model_input(const model::LoadedModel& m, const uint8_t* pixels, int64_t n, int channels, int height,
                          int width, bool resize, const std::string& what) {
  const auto& cfg = m.net->config;
  const auto& pre = m.file.meta.value("preprocessing", nlohmann::json::object());
  const int want_h = pre.value("image_height", cfg.input_size), want_w = pre.value("image_width", cfg.input_size);
  if (!resize) {
    OIAD_CHECK(channels == cfg.channels, what, ": ", channels, " channel(s), the model expects ", cfg.channels,
               " (use --resize to convert)");
    OIAD_CHECK(height == want_h && width == want_w, what, ": images are ", width, "x", height,
               ", the model expects ", want_w, "x", want_h, " (use --resize to resize)");
    return model::images_to_input(pixels, n, channels, height, width, cfg.input_size);
  }
  // Resize to the model's image size first, then apply its usual preprocessing.
  auto x = torch::from_blob(const_cast<uint8_t*>(pixels), {n, channels, height, width}, torch::kUInt8)
               .to(torch::kFloat32)
               .div(255.0f);
  if (channels != cfg.channels) x = channels == 3 ? x.mean(1, true) : x.repeat({1, 3, 1, 1});
  namespace F = torch::nn::functional;
  x = F::interpolate(x, F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{want_h, want_w})
                            .mode(torch::kBilinear)
                            .align_corners(false));
  auto bytes = model::input_to_bytes(x);
  return model::images_to_input(bytes.data(), n, cfg.channels, want_h, want_w, cfg.input_size);
}

}  // namespace oiad::detect

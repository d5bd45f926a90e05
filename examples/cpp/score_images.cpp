// Scores image files with a calibrated oiad model: one JSON line per image, the same score,
// decision and p-value as `oiad score --model MODEL IMAGE...` (the model's stored decision).
// With --map, also writes each image's change map as a PGM picture (IMAGE.map.pgm), at the
// network's resolution, brightest where the image resists the model most.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <string>

#include "oiad/oiad.h"

int main(int argc, char** argv) {
  const bool maps = argc > 1 && std::string(argv[1]) == "--map";
  const int first = maps ? 2 : 1;
  if (argc < first + 2) return std::cerr << "usage: score_images [--map] MODEL.oiad IMAGE...\n", 2;
  try {
    const oiad::detect::CalibratedDetector d = oiad::detect::load_detector(argv[first], /*require_calibration=*/true);
    oiad::detect::ScoreOptions options;  // metric ssim (detector models), the model's decision
    options.change_maps = maps;
    for (int i = first + 1; i < argc; ++i) {
      const oiad::data::DecodedImage image = oiad::data::read_image_file(argv[i]);  // (C, H, W) uint8
      const torch::Tensor x = oiad::model::model_input(d.model, image, /*convert=*/false, argv[i]);
      const oiad::detect::ScoreResult r = oiad::detect::score(d, x, options);
      const oiad::detect::ImageScore& s = r.images[0];
      std::cout << nlohmann::json{{"id", argv[i]}, {"score", s.score}, {"anomalous", s.anomalous},
                                  {"p_value", s.p_value}, {"metric", r.plan.score_name}}
                       .dump()
                << "\n";
      if (!maps) continue;
      // (S, S) float, larger = less like the normal images; scaled to its own maximum.
      const torch::Tensor m = r.change_maps[0].clamp_min(0).contiguous();
      const float top = std::max(m.max().item<float>(), 1e-12f);
      std::ofstream pgm(std::string(argv[i]) + ".map.pgm", std::ios::binary);
      pgm << "P5\n" << m.size(1) << " " << m.size(0) << "\n255\n";
      for (int64_t k = 0; k < m.numel(); ++k) pgm.put(char(uint8_t(255.f * m.data_ptr<float>()[k] / top)));
    }
  } catch (const std::exception& e) {
    return std::cerr << "score_images: " << e.what() << "\n", 1;
  }
}

// Scores image files with a calibrated oiad model: one JSON line per image, the same score
// and decision as `oiad score --model MODEL IMAGE...` (SSIM metric, the model's default rule).
#include <iostream>

#include "oiad/data/readers.h"
#include "oiad/detect/pipeline.h"
#include "oiad/model/preprocess.h"

int main(int argc, char** argv) {
  if (argc < 3) return std::cerr << "usage: score_images MODEL.oiad IMAGE...\n", 2;
  try {
    const auto d = oiad::detect::load_detector(argv[1], /*require_calibration=*/true);
    for (int i = 2; i < argc; ++i) {
      const auto img = oiad::data::read_image_file(argv[i]);  // (C, H, W) uint8
      const auto x = oiad::model::model_input(d.model, img.chw.data(), 1, img.channels, img.height, img.width,
                                              /*convert=*/false, argv[i]);
      const auto s = oiad::detect::score_images(d, x, oiad::detect::Metric::kSsim)[0];
      std::cout << nlohmann::json{{"id", argv[i]}, {"score", s.score}, {"anomalous", s.anomalous}}.dump() << "\n";
    }
  } catch (const std::exception& e) {
    return std::cerr << "score_images: " << e.what() << "\n", 1;
  }
}

// Fig. 2 for one image, as data: the image and a few of its PR-morphs along the codes whose
// structure consistency lies furthest in the tails of VAL. Plain numbers and pixels (no
// LibTorch); report::write_morph_strip draws it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "oiad/detect/consistency.h"

namespace oiad::detect {

struct MorphStrip {
  /// One code: the image's SC under it and a few morphs spread over the perturbed values.
  struct Row {
    int code = -1;
    double consistency = 0;
    std::pair<double, double> interval;  ///< [q(α), q(1-α)] of VAL
    bool inside = false;
    std::vector<std::vector<uint8_t>> morphs;  ///< each (channels, size, size)
    std::vector<float> values;                 ///< the code's perturbed value of each morph
  };
  int channels = 0, size = 0;  ///< of the input and of every morph
  std::vector<uint8_t> input;  ///< the image as the network sees it, (channels, size, size)
  std::vector<Row> rows;       ///< most telling code first
  Metric metric = Metric::kSsim;
  double alpha = 0.4;
  double score = 0;
  bool anomalous = false;

  /// {"score", "anomalous", "alpha", "metric", "codes": [{"code", "consistency", "interval", "inside"}]}
  nlohmann::json to_json() const;
};

}  // namespace oiad::detect

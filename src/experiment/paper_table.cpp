// The paper's Table II (Sec. IV.C), the published numbers reported beside ours.
#include <limits>

#include "oiad/experiment/experiment.h"

namespace oiad::experiment {

double paper_auc(const std::string& dataset, const std::string& class_name, const std::string& method) {
  // Table II of the paper, columns KDE, OC-SVM, GMM, VAE, DCAE, OIAD.
  struct Row {
    const char* dataset;
    const char* cls;
    double v[6];
  };
  static const Row kRows[] = {{"mnist", "1", {0.999, 1.0, 0.999, 0.998, 0.992, 1.0}},
                              {"mnist", "7", {0.934, 0.952, 0.937, 0.896, 0.941, 0.966}},
                              {"cifar10", "cat", {0.521, 0.523, 0.446, 0.666, 0.546, 0.814}},
                              {"cifar10", "dog", {0.44, 0.516, 0.504, 0.494, 0.642, 0.849}}};
  static const char* kCols[] = {"kde", "ocsvm", "gmm", "vae", "dcae", "oiad"};
  for (const auto& r : kRows) {
    if (dataset != r.dataset || class_name != r.cls) continue;
    for (int c = 0; c < 6; ++c)
      if (method == kCols[c]) return r.v[c];
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace oiad::experiment

// The structure-consistency metrics (Sec. III.D.2) and the table of consistencies of a set
// of images, on plain numbers (no LibTorch).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace oiad::detect {

/// How an image is compared with its PR-morphs. kMse, kLoss and kSsim are the paper's whole-
/// image metrics (Sec. III.D.2). kLocal is a variant beside them for local defects: per
/// code, the SSIM dissimilarity map (1 - SSIM of each window) of the image against the
/// closest of the code's morphs at each window (the minimum over the morphs), standardised
/// per window position against VAL, and summarised by the mean of its largest values
/// (detector.h, local_consistency). Larger = less consistent.
enum class Metric { kMse = 0, kLoss = 1, kSsim = 2, kLocal = 3 };
/// The metric scoring uses unless told another (SSIM, the paper's best on its data).
constexpr Metric kDefaultMetric = Metric::kSsim;
constexpr int kNumMetrics = 4;
std::string metric_name(Metric m);
Metric parse_metric(const std::string& s);  ///< one of metric_names()
/// "mse", "loss", "ssim", "local": the allowed values of every --metric option.
const std::vector<std::string>& metric_names();

/// The structure consistency SC of `images()` images under every metric and `codes()`
/// selected codes. Value (i, m, k) is stored at v[(i * kNumMetrics + m) * codes() + k], so
/// one image's values of one metric (one per code) are contiguous.
class ConsistencyTable {
 public:
  ConsistencyTable() = default;
  /// All values 0.
  ConsistencyTable(size_t images, size_t codes);

  size_t images() const { return images_; }
  size_t codes() const { return codes_; }
  bool empty() const { return images_ == 0; }

  double& at(size_t image, Metric m, size_t code) { return v_[index(image, m, code)]; }
  double at(size_t image, Metric m, size_t code) const { return v_[index(image, m, code)]; }
  /// Image `image`'s values of metric `m`, one per code.
  std::vector<double> of(size_t image, Metric m) const;

  /// The table restricted to the codes at positions `keep` (in that order).
  ConsistencyTable with_codes(const std::vector<size_t>& keep) const;
  /// Appends the rows of `other` (same number of codes).
  void append(const ConsistencyTable& other);

 private:
  size_t index(size_t image, Metric m, size_t code) const {
    return (image * kNumMetrics + size_t(m)) * codes_ + code;
  }
  size_t images_ = 0, codes_ = 0;
  std::vector<double> v_;
};

/// One image's consistencies: per metric, one value per selected code.
using ImageConsistency = std::array<std::vector<double>, kNumMetrics>;

}  // namespace oiad::detect

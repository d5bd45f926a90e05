#include "oiad/detect/consistency.h"

#include <cassert>

#include "oiad/core/choice.h"
#include "oiad/core/error.h"

namespace oiad::detect {

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> kNames = {"mse", "loss", "ssim", "local"};  // Metric's order
  return kNames;
}

std::string metric_name(Metric m) { return metric_names().at(size_t(m)); }

Metric parse_metric(const std::string& s) { return parse_enum<Metric>(metric_names(), s, "metric"); }

ConsistencyTable::ConsistencyTable(size_t images, size_t codes)
    : images_(images), codes_(codes), v_(images * kNumMetrics * codes, 0.0) {}

std::vector<double> ConsistencyTable::of(size_t image, Metric m) const {
  assert(image < images_);
  const auto first = v_.begin() + std::ptrdiff_t(index(image, m, 0));
  return std::vector<double>(first, first + std::ptrdiff_t(codes_));
}

ConsistencyTable ConsistencyTable::with_codes(const std::vector<size_t>& keep) const {
  ConsistencyTable t(images_, keep.size());
  for (size_t i = 0; i < images_; ++i)
    for (int m = 0; m < kNumMetrics; ++m)
      for (size_t j = 0; j < keep.size(); ++j) {
        assert(keep[j] < codes_);
        t.at(i, Metric(m), j) = at(i, Metric(m), keep[j]);
      }
  return t;
}

void ConsistencyTable::append(const ConsistencyTable& other) {
  if (empty()) {
    *this = other;
    return;
  }
  OIAD_CHECK(other.codes_ == codes_ || other.empty(), "consistency table: appending ", other.codes_,
             " codes to a table of ", codes_);
  v_.insert(v_.end(), other.v_.begin(), other.v_.end());
  images_ += other.images_;
}

}  // namespace oiad::detect

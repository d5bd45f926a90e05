// The service's counters and their Prometheus text (GET /metrics, format 0.0.4).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace oiad::serve {

/// Prometheus histogram bounds of the request latency, seconds.
constexpr std::array<double, 12> kLatencyBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                   0.5,   1.0,  2.5,   5.0,  10.0, 30.0};

/// Thread-safe counters: every answer by status with its latency, images and batches scored,
/// score requests refused as busy or timed out.
class Metrics {
 public:
  /// An answer with `status`, `seconds` after routing (< 0: refused before routing, no latency).
  void observe(int status, double seconds);
  void scored(uint64_t images);  ///< one batch of `images` images
  void rejected_busy();
  void timed_out();
  /// The Prometheus text, with the queue's current depth as a gauge.
  std::string text(int queue_depth);

 private:
  std::mutex mu_;
  std::map<int, uint64_t> responses_;                          // by status
  std::array<uint64_t, kLatencyBounds.size() + 1> buckets_{};  // last: +Inf
  double latency_sum_ = 0;
  uint64_t latency_count_ = 0;
  uint64_t images_scored_ = 0, batches_ = 0, rejected_busy_ = 0, timed_out_ = 0;
};

}  // namespace oiad::serve

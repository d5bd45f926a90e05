#include "metrics.h"

#include <cstdio>
#include <sstream>

namespace oiad::serve {

void Metrics::observe(int status, double seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  ++responses_[status];
  if (seconds < 0) return;  // refused before routing: no latency observed
  size_t b = 0;
  while (b < kLatencyBounds.size() && seconds > kLatencyBounds[b]) ++b;
  ++buckets_[b];
  latency_sum_ += seconds;
  ++latency_count_;
}

void Metrics::scored(uint64_t images) {
  std::lock_guard<std::mutex> lk(mu_);
  images_scored_ += images;
  ++batches_;
}

void Metrics::rejected_busy() {
  std::lock_guard<std::mutex> lk(mu_);
  ++rejected_busy_;
}

void Metrics::timed_out() {
  std::lock_guard<std::mutex> lk(mu_);
  ++timed_out_;
}

std::string Metrics::text(int queue_depth) {
  std::lock_guard<std::mutex> lk(mu_);
  std::ostringstream o;
  o.precision(17);
  o << "# HELP oiad_requests_total HTTP responses by status code.\n# TYPE oiad_requests_total counter\n";
  for (const auto& [code, n] : responses_) o << "oiad_requests_total{code=\"" << code << "\"} " << n << "\n";
  o << "# HELP oiad_request_duration_seconds Time from the request's routing to its response.\n"
       "# TYPE oiad_request_duration_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kLatencyBounds.size(); ++b) {
    cumulative += buckets_[b];
    char le[32];
    std::snprintf(le, sizeof(le), "%g", kLatencyBounds[b]);
    o << "oiad_request_duration_seconds_bucket{le=\"" << le << "\"} " << cumulative << "\n";
  }
  cumulative += buckets_.back();
  o << "oiad_request_duration_seconds_bucket{le=\"+Inf\"} " << cumulative << "\n";
  o << "oiad_request_duration_seconds_sum " << latency_sum_ << "\n";
  o << "oiad_request_duration_seconds_count " << latency_count_ << "\n";
  o << "# HELP oiad_images_scored_total Images scored.\n# TYPE oiad_images_scored_total counter\n"
    << "oiad_images_scored_total " << images_scored_ << "\n";
  o << "# HELP oiad_batches_total Batches the worker scored (requests arriving together share one).\n"
       "# TYPE oiad_batches_total counter\noiad_batches_total "
    << batches_ << "\n";
  o << "# HELP oiad_rejected_busy_total Score requests answered 503 because the queue was full.\n"
       "# TYPE oiad_rejected_busy_total counter\noiad_rejected_busy_total "
    << rejected_busy_ << "\n";
  o << "# HELP oiad_timed_out_total Score requests answered 503 after the request time limit.\n"
       "# TYPE oiad_timed_out_total counter\noiad_timed_out_total "
    << timed_out_ << "\n";
  o << "# HELP oiad_queue_depth Score requests waiting or being scored.\n# TYPE oiad_queue_depth gauge\n"
    << "oiad_queue_depth " << queue_depth << "\n";
  return o.str();
}

}  // namespace oiad::serve

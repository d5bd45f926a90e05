#include "oiad/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace oiad {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ProgressPrinter::ProgressPrinter(std::string what, double log_seconds, Sink sink, bool enabled)
    : what_(std::move(what)), log_seconds_(log_seconds), sink_(std::move(sink)), enabled_(enabled),
      tty_(!sink_ && isatty(2)), start_(now_seconds()), last_(start_) {}

void ProgressPrinter::update(int64_t done, int64_t total, const std::string& detail) {
  if (!enabled_) return;
  const double now = now_seconds();
  const bool last_step = done >= total;
  if (now - last_ < (tty_ ? 0.25 : log_seconds_) && !last_step) return;
  last_ = now;
  const double elapsed = now - start_;
  const double eta = done > 0 ? elapsed * double(total - done) / double(done) : 0.0;
  char tail[48];
  std::snprintf(tail, sizeof(tail), last_step ? ", %.0f s" : ", ETA %.0f s", last_step ? elapsed : eta);
  const std::string line = what_ + ": " + detail + tail;
  if (sink_) {
    sink_(line);
  } else if (tty_) {
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), last_step ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  if (!sink_) std::fflush(stderr);
}

void ProgressPrinter::count(int64_t done, int64_t total, const std::string& unit) {
  const double rate = double(done) / std::max(now_seconds() - start_, 1e-9);
  char detail[128];
  std::snprintf(detail, sizeof(detail), "%lld/%lld %s, %.1f %s/s", (long long)done, (long long)total, unit.c_str(),
                rate, unit.c_str());
  update(done, total, detail);
}

std::function<void(int64_t, int64_t)> ProgressPrinter::counter(const std::string& unit) {
  return [this, unit](int64_t done, int64_t total) { count(done, total, unit); };
}

}  // namespace oiad

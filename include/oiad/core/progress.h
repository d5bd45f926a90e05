// Progress of long loops (training, scoring) for a person watching: on a terminal one line
// redrawn in place, otherwise a plain line now and then. Never on stdout, which carries results.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace oiad {

/// Seconds on the steady clock since an arbitrary start.
double now_seconds();

class ProgressPrinter {
 public:
  /// Where finished lines go instead of stderr (e.g. a log with a prefix); never redrawn.
  using Sink = std::function<void(const std::string&)>;

  /// `what` starts every line ("train", "score"). Without a sink, lines go to stderr: redrawn
  /// at most every 0.25 s when stderr is a terminal, else one per `log_seconds`. With a sink,
  /// one line per `log_seconds`. The last step (done == total) always prints. `enabled` false
  /// prints nothing.
  explicit ProgressPrinter(std::string what, double log_seconds = 10.0, Sink sink = {}, bool enabled = true);

  /// Step `done` of `total` (of the whole job: the ETA extrapolates from them); `detail` is
  /// printed before the ETA.
  void update(int64_t done, int64_t total, const std::string& detail);

  /// "done/total <unit>, R <unit>/s" with the rate since construction, then the ETA: the
  /// common case of counting images.
  void count(int64_t done, int64_t total, const std::string& unit = "images");

  /// count() as a callback (done, total), for detect::score_images. Shares this printer's state.
  std::function<void(int64_t, int64_t)> counter(const std::string& unit = "images");

 private:
  std::string what_;
  double log_seconds_;
  Sink sink_;
  bool enabled_, tty_;
  double start_, last_;
};

}  // namespace oiad

// Admission and batching of the service's score requests: at most `queue` requests wait or
// are scored at once (one more is refused 503), and one worker thread, the only one that runs
// LibTorch, takes the oldest request with every waiting one for the same model and decision
// (and without pictures) up to `batch_images` images, and scores them as one batch with
// detect::score, the CLI's scoring path.
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "metrics.h"
#include "request.h"

namespace oiad::serve {

/// What the worker gives back for one request.
struct JobResult {
  std::vector<detect::ImageScore> scores;
  std::vector<std::string> maps, strips;  ///< base64 PNG, when asked for
  std::vector<double> map_max;
  std::string error;  ///< scoring failed: one line
};

class Batcher {
 public:
  Batcher(const ServerOptions& options, Metrics& metrics);
  ~Batcher();  ///< finishes what is queued, then ends the worker
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  /// Refusal 503 (with Retry-After on `res`) when the queue is full: asked before a request is
  /// read, so that overload costs as little as possible.
  void admit(httplib::Response& res);
  /// Queues the request and waits for its result at most the request time limit (then a
  /// Refusal 503, and the worker skips it if it has not started it).
  JobResult score(ScoreRequest request, httplib::Response& res);
  /// Score requests waiting or being scored.
  int depth();
  /// Lets the worker finish what is queued and end; refuses requests from then on.
  void finish();

 private:
  struct Job;
  void worker_loop();
  void run_batch(std::vector<std::shared_ptr<Job>>& batch);
  void run_tiled(Job& j);
  void finish_job(Job& j, JobResult r);
  Refusal busy(httplib::Response& res);  // call with mu_ held

  const ServerOptions& opt_;
  Metrics& metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> jobs_;
  int depth_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace oiad::serve

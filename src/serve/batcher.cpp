#include "batcher.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>

#include "oiad/model/preprocess.h"
#include "oiad/report/picture.h"

namespace oiad::serve {

namespace {

std::string base64(const std::vector<uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), int(bytes.size()));
  out.resize(size_t(std::max(n, 0)));
  return out;
}

// The pictures a request asked for, of its images at `at`.. of the batch's input `x`: the
// change map (from the scoring pass) and the morph strip (which decodes its own morphs).
void add_pictures(const ScoreRequest& q, const torch::Tensor& x, const torch::Tensor& maps, int64_t at, JobResult& r) {
  const detect::CalibratedDetector& d = q.model->d;
  for (int64_t i = 0; i < q.images(); ++i) {
    const torch::Tensor xi = x.slice(0, at + i, at + i + 1);
    if (q.want_strip) {
      const detect::MorphStrip strip = detect::morph_strip(d, xi, q.plan.metric, d.calibration.alpha, 3, 8);
      r.strips.push_back(base64(report::morph_strip_png(strip)));
    }
    if (q.want_map()) {
      const torch::Tensor m = maps[at + i].contiguous();
      const std::vector<uint8_t> input = model::input_to_bytes(xi[0]);
      r.maps.push_back(
          base64(report::change_map_png(input.data(), int(xi.size(1)), int(xi.size(2)), m.data_ptr<float>())));
      r.map_max.push_back(m.max().item<double>());
    }
  }
}

}  // namespace

struct Batcher::Job {
  ScoreRequest q;
  std::atomic<bool> abandoned{false};
  std::promise<JobResult> done;

  // Requests scored together: the same model and decision, and no pictures (a change map
  // comes from the scoring pass, so a request that asks for one is scored alone); a tiled
  // model's request is scored alone, image by image (its tiles are its batches).
  bool batchable_with(const Job& o) const {
    return !q.tiling && !o.q.tiling && !q.want_map() && !q.want_strip && !o.q.want_map() && !o.q.want_strip && q.model == o.q.model &&
           q.plan.metric == o.q.plan.metric && q.plan.decision.rule == o.q.plan.decision.rule &&
           q.plan.level == o.q.plan.level;
  }
};

Batcher::Batcher(const ServerOptions& options, Metrics& metrics) : opt_(options), metrics_(metrics) {
  worker_ = std::thread([this] { worker_loop(); });
}

Batcher::~Batcher() { finish(); }

void Batcher::finish() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int Batcher::depth() {
  std::lock_guard<std::mutex> lk(mu_);
  return depth_;
}

Refusal Batcher::busy(httplib::Response& res) {
  metrics_.rejected_busy();
  res.set_header("Retry-After", "1");
  return Refusal{503, "busy: " + std::to_string(depth_) + " score requests are waiting or running (the queue holds " +
                          std::to_string(opt_.queue) + ")"};
}

void Batcher::admit(httplib::Response& res) {
  std::lock_guard<std::mutex> lk(mu_);
  if (depth_ >= opt_.queue) throw busy(res);
}

JobResult Batcher::score(ScoreRequest request, httplib::Response& res) {
  auto job = std::make_shared<Job>();
  job->q = std::move(request);
  std::future<JobResult> result = job->done.get_future();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) throw Refusal{503, "the service is shutting down"};
    if (depth_ >= opt_.queue) throw busy(res);
    ++depth_;
    jobs_.push_back(job);
  }
  cv_.notify_one();
  if (result.wait_for(std::chrono::duration<double>(opt_.request_timeout_s)) != std::future_status::ready) {
    job->abandoned = true;
    metrics_.timed_out();
    res.set_header("Retry-After", "1");
    throw Refusal{503, "not scored within the request time limit of " + std::to_string(opt_.request_timeout_s) + " s"};
  }
  return result.get();
}

void Batcher::worker_loop() {
  for (;;) {
    std::vector<std::shared_ptr<Job>> batch;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return !jobs_.empty() || stopping_; });
      if (jobs_.empty()) return;
      batch.push_back(jobs_.front());
      jobs_.pop_front();
      int64_t images = batch[0]->q.images();
      for (auto it = jobs_.begin(); it != jobs_.end();) {
        if (batch[0]->batchable_with(**it) && images + (*it)->q.images() <= opt_.batch_images) {
          images += (*it)->q.images();
          batch.push_back(*it);
          it = jobs_.erase(it);
        } else {
          ++it;
        }
      }
    }
    run_batch(batch);
  }
}

// A request leaves the queue's count before its connection thread sees the result, so that a
// client's next request does not find its previous one still counted.
void Batcher::finish_job(Job& j, JobResult r) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    --depth_;
  }
  j.done.set_value(std::move(r));
}

// A tiled model's request: each image at its own size (detect::score_tiled), its map
// stitched at that size and drawn over it.
void Batcher::run_tiled(Job& j) {
  const ScoreRequest& q = j.q;
  JobResult r;
  try {
    for (const data::DecodedImage& p : q.photos) {
      const data::ImageView v{p.channels, p.height, p.width, p.chw.data(), nullptr};
      const detect::TiledScore t = detect::score_tiled(q.model->d, *q.tiling, v, q.plan.level, q.want_map());
      r.scores.push_back(t.image);
      if (q.want_map()) {
        r.maps.push_back(base64(report::change_map_png(p.chw.data(), p.channels, p.height, p.width, t.map.data(), 1)));
        r.map_max.push_back(*std::max_element(t.map.begin(), t.map.end()));
      }
    }
    metrics_.scored(uint64_t(q.photos.size()));
  } catch (const std::exception& e) {
    r = JobResult{};
    r.error = first_line(e.what());
  }
  finish_job(j, std::move(r));
}

void Batcher::run_batch(std::vector<std::shared_ptr<Job>>& batch) {
  std::vector<std::shared_ptr<Job>> live;
  for (auto& j : batch)
    if (j->abandoned)
      finish_job(*j, JobResult{});  // its connection thread has answered 503 already
    else
      live.push_back(j);
  if (live.empty()) return;
  const ScoreRequest& first = live[0]->q;
  if (first.tiling) {
    run_tiled(*live[0]);
    return;
  }
  std::vector<torch::Tensor> parts;
  for (auto& j : live) parts.push_back(j->q.x);
  try {
    const torch::Tensor x = parts.size() == 1 ? parts[0] : torch::cat(parts);
    const detect::ScoreResult scored = detect::score(first.model->d, x, first.options);
    metrics_.scored(uint64_t(x.size(0)));  // counted before any answer goes out
    int64_t at = 0;
    for (auto& j : live) {
      JobResult r;
      const int64_t n = j->q.x.size(0);
      r.scores.assign(scored.images.begin() + at, scored.images.begin() + at + n);
      if (j->q.want_map() || j->q.want_strip) add_pictures(j->q, x, scored.change_maps, at, r);
      at += n;
      finish_job(*j, std::move(r));
      j.reset();  // finished: the failure path below skips it
    }
  } catch (const std::exception& e) {
    for (auto& j : live) {
      if (!j) continue;  // its result was given before the failure
      JobResult r;
      r.error = first_line(e.what());
      finish_job(*j, std::move(r));
    }
  }
}

}  // namespace oiad::serve

#include "server.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "oiad/core/error.h"
#include "oiad/core/parse.h"
#include "oiad/data/readers.h"
#include "oiad/detect/pipeline.h"
#include "oiad/model/preprocess.h"
#include "oiad/report/picture.h"
#include "serve_page.h"  // kServePage: the web page, generated from src/serve/page.html

namespace oiad::serve {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string base64(const std::vector<uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), int(bytes.size()));
  out.resize(size_t(std::max(n, 0)));
  return out;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// A request the service refuses: its status and a one-line reason.
struct Refusal {
  int status;
  std::string message;
};

void set_json(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_content(j.dump() + "\n", "application/json");
}

void set_error(httplib::Response& res, int status, const std::string& message) {
  set_json(res, status, json{{"error", message}, {"status", status}});
}

const char* status_reason(int status) {
  switch (status) {
    case 400: return "malformed request";
    case 401: return "unauthorized";
    case 404: return "no such endpoint";
    case 405: return "method not allowed";
    case 413: return "request too large";
    case 414: return "request line too long";
    case 415: return "unsupported media type";
    case 503: return "service unavailable";
    default: return "request failed";
  }
}

// Prometheus histogram bounds of the request latency, seconds.
constexpr std::array<double, 12> kLatencyBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                   0.5,   1.0,  2.5,   5.0,  10.0, 30.0};

struct Metrics {
  std::mutex mu;
  std::map<int, uint64_t> responses;  // by status
  std::array<uint64_t, kLatencyBounds.size() + 1> buckets{};  // last: +Inf
  double latency_sum = 0;
  uint64_t latency_count = 0;
  uint64_t images_scored = 0, batches = 0, rejected_busy = 0, timed_out = 0;

  void observe(int status, double seconds) {
    std::lock_guard<std::mutex> lk(mu);
    ++responses[status];
    if (seconds < 0) return;  // refused before routing: no latency observed
    size_t b = 0;
    while (b < kLatencyBounds.size() && seconds > kLatencyBounds[b]) ++b;
    ++buckets[b];
    latency_sum += seconds;
    ++latency_count;
  }
};

struct Model {
  std::string name, path;
  detect::CalibratedDetector d;
  json card;
};

struct JobResult {
  std::vector<detect::ImageScore> scores;
  std::vector<std::string> maps, strips;  // base64 PNG, when asked for
  std::vector<double> map_max;
  std::string error;
};

// One score request's images and settings, scored by the worker.
struct Job {
  Model* model = nullptr;
  torch::Tensor x;  // (n, C, S, S) network input
  detect::ScoreOptions request;  // what was asked (change_maps: explain=map)
  detect::ScoringPlan plan;      // what it resolved to against the model
  bool want_strip = false;
  std::atomic<bool> abandoned{false};
  std::promise<JobResult> done;

  bool want_map() const { return request.change_maps; }
  bool batchable_with(const Job& o) const {
    return !want_map() && !want_strip && !o.want_map() && !o.want_strip && model == o.model &&
           plan.metric == o.plan.metric && plan.decision.rule == o.plan.decision.rule && plan.level == o.plan.level;
  }
};

bool parse_bool(const json& v, const std::string& key) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>() != 0;
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "1" || s == "true" || s == "yes" || s.empty()) return true;
    if (s == "0" || s == "false" || s == "no") return false;
  }
  throw Refusal{400, "option " + key + " must be true or false, not " + v.dump()};
}

double parse_number(const json& v, const std::string& key) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string())
    if (const auto d = parse_real(v.get<std::string>())) return *d;
  throw Refusal{400, "option " + key + " must be a number, not " + v.dump()};
}

std::string parse_string(const json& v, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  throw Refusal{400, "option " + key + " must be a string, not " + v.dump()};
}

// The "explain" option: "map", "strip", "map,strip" (or a JSON array of these), "" for none.
void parse_explain(const json& v, bool& map, bool& strip) {
  std::vector<std::string> parts;
  if (v.is_array()) {
    for (const auto& e : v) parts.push_back(parse_string(e, "explain"));
  } else {
    std::stringstream ss(parse_string(v, "explain"));
    for (std::string p; std::getline(ss, p, ',');) parts.push_back(p);
  }
  for (const auto& p : parts) {
    if (p == "map")
      map = true;
    else if (p == "strip")
      strip = true;
    else if (!p.empty() && p != "none")
      throw Refusal{400, "option explain: '" + p + "' is neither map nor strip"};
  }
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

ModelSpec parse_model_spec(const std::string& value) {
  ModelSpec m;
  const size_t eq = value.find('=');
  if (eq != std::string::npos) {
    m.name = value.substr(0, eq);
    m.path = value.substr(eq + 1);
  } else {
    m.path = value;
    m.name = std::filesystem::path(value).stem().string();
  }
  OIAD_CHECK_USAGE(!m.path.empty(), "serve: --model '", printable(value), "' names no file");
  OIAD_CHECK_USAGE(!m.name.empty() && m.name.size() <= 64 &&
                       std::all_of(m.name.begin(), m.name.end(),
                                   [](char c) { return std::isalnum(uint8_t(c)) || c == '.' || c == '_' || c == '-'; }),
                   "serve: model name '", printable(m.name),
                   "' must be 1-64 letters, digits, '.', '_' or '-' (give --model name=path)");
  return m;
}

std::string read_token_file(const std::string& path) {
  std::ifstream f(path);
  OIAD_CHECK(f.good(), path, ": cannot read the token file");
  std::string line;
  std::getline(f, line);
  const auto b = line.find_first_not_of(" \t\r");
  const auto e = line.find_last_not_of(" \t\r");
  const std::string token = b == std::string::npos ? "" : line.substr(b, e - b + 1);
  OIAD_CHECK(!token.empty(), path, ": the token file's first line is empty");
  OIAD_CHECK(std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 127; }), path,
             ": the token must be printable ASCII without spaces");
  return token;
}

struct Server::Impl {
  ServerOptions opt;
  std::vector<std::unique_ptr<Model>> models;
  httplib::Server http;
  Metrics metrics;
  int port = -1;
  std::atomic<bool> stop_requested{false};

  // The worker's queue; `depth` counts score requests queued or being scored.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Job>> jobs;
  int depth = 0;
  bool stopping = false;
  std::thread worker;

  Model* find(const std::string& name) {
    for (auto& m : models)
      if (m->name == name) return m.get();
    return nullptr;
  }

  // ---- the worker: LibTorch runs here only ----
  void worker_loop() {
    for (;;) {
      std::vector<std::shared_ptr<Job>> batch;
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return !jobs.empty() || stopping; });
        if (jobs.empty()) return;
        batch.push_back(jobs.front());
        jobs.pop_front();
        int64_t images = batch[0]->x.size(0);
        for (auto it = jobs.begin(); it != jobs.end();) {
          if (batch[0]->batchable_with(**it) && images + (*it)->x.size(0) <= opt.batch_images) {
            images += (*it)->x.size(0);
            batch.push_back(*it);
            it = jobs.erase(it);
          } else {
            ++it;
          }
        }
      }
      run_batch(batch);
    }
  }

  // A request leaves the queue's count before its connection thread sees the result, so that
  // a client's next request does not find its previous one still counted.
  void finish(Job& j, JobResult r) {
    {
      std::lock_guard<std::mutex> lk(mu);
      --depth;
    }
    j.done.set_value(std::move(r));
  }

  void run_batch(std::vector<std::shared_ptr<Job>>& batch) {
    std::vector<std::shared_ptr<Job>> live;
    for (auto& j : batch)
      if (j->abandoned)
        finish(*j, JobResult{});  // its connection thread has answered 503 already
      else
        live.push_back(j);
    if (live.empty()) return;
    const Job& first = *live[0];
    const detect::CalibratedDetector& d = first.model->d;
    std::vector<torch::Tensor> parts;
    for (auto& j : live) parts.push_back(j->x);
    try {
      const torch::Tensor x = parts.size() == 1 ? parts[0] : torch::cat(parts);
      // Change maps come from the scoring pass itself (a request that asks for one is batched
      // alone: Job::batchable_with).
      const detect::ScoreResult scored = detect::score(d, x, first.request);
      const auto& scores = scored.images;
      const torch::Tensor& maps = scored.change_maps;
      {
        // Counted before any answer goes out.
        std::lock_guard<std::mutex> lk(metrics.mu);
        metrics.images_scored += uint64_t(x.size(0));
        ++metrics.batches;
      }
      int64_t at = 0;
      for (auto& j : live) {
        JobResult r;
        const int64_t n = j->x.size(0);
        r.scores.assign(scores.begin() + at, scores.begin() + at + n);
        for (int64_t i = 0; i < n && (j->want_map() || j->want_strip); ++i) {
          const torch::Tensor xi = x.slice(0, at + i, at + i + 1);
          if (j->want_strip) {
            // A strip decodes its own morphs; a map alone needs none beyond the scoring pass.
            const detect::MorphStrip strip = detect::morph_strip(d, xi, j->plan.metric, d.calibration.alpha, 3, 8);
            r.strips.push_back(base64(report::morph_strip_png(strip)));
          }
          if (j->want_map()) {
            const torch::Tensor m = maps[at + i].contiguous();
            const std::vector<uint8_t> input = model::input_to_bytes(xi[0]);
            r.maps.push_back(base64(report::change_map_png(input.data(), int(xi.size(1)), int(xi.size(2)),
                                                           m.data_ptr<float>())));
            r.map_max.push_back(m.max().item<double>());
          }
        }
        at += n;
        finish(*j, std::move(r));
        j.reset();  // finished: the failure path below skips it
      }
    } catch (const std::exception& e) {
      for (auto& j : live) {
        if (!j) continue;  // its result was given before the failure
        JobResult r;
        r.error = first_line(e.what());
        finish(*j, std::move(r));
      }
    }
  }

  // The answer to a score request that finds the queue full (call with `mu` held).
  Refusal busy(httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lm(metrics.mu);
      ++metrics.rejected_busy;
    }
    res.set_header("Retry-After", "1");
    return Refusal{503, "busy: " + std::to_string(depth) + " score requests are waiting or running (the queue holds " +
                            std::to_string(opt.queue) + ")"};
  }

  // ---- handlers ----
  void handle_score(const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    Model* m = find(name);
    if (!m) {
      std::string names;
      for (const auto& x : models) names += (names.empty() ? "" : ", ") + x->name;
      throw Refusal{404, "no model '" + printable(name) + "' (this service has: " + names + ")"};
    }
    // A full queue is answered before any decoding: overload costs as little as possible.
    {
      std::lock_guard<std::mutex> lk(mu);
      if (depth >= opt.queue) throw busy(res);
    }
    // Options: a multipart part "options" (a JSON object), then the query on top.
    json opts = json::object();
    std::vector<std::pair<std::string, const std::string*>> images;
    if (req.is_multipart_form_data()) {
      for (const auto& [field, part] : req.files) {
        if (field == "options" && part.filename.empty()) {
          try {
            opts = json::parse(part.content);
          } catch (const json::exception&) {
            throw Refusal{400, "the options part is not JSON"};
          }
          if (!opts.is_object()) throw Refusal{400, "the options part must be a JSON object"};
        } else {
          images.emplace_back(part.filename.empty() ? field : part.filename, &part.content);
        }
      }
    } else {
      const std::string type = req.get_header_value("Content-Type");
      if (starts_with(type, "application/json") || starts_with(type, "text/") ||
          starts_with(type, "application/x-www-form-urlencoded"))
        throw Refusal{415, "Content-Type " + printable(type) +
                               ": send the image's bytes with its own type (image/png, image/jpeg, image/bmp or "
                               "application/octet-stream; curl: -H 'Content-Type: image/png'), or images as "
                               "multipart/form-data"};
      if (req.body.empty())
        throw Refusal{400, "empty body: send an image (PNG, JPEG or BMP), or images as multipart/form-data"};
      images.emplace_back("image", &req.body);
    }
    static const std::vector<std::string> known = {"metric", "rule", "alpha", "fpr", "explain", "resize"};
    for (const auto& [key, value] : req.params) {
      if (std::find(known.begin(), known.end(), key) == known.end())
        throw Refusal{400, "unknown option '" + printable(key) + "' (options: metric, rule, alpha, fpr, explain, resize)"};
      opts[key] = value;
    }
    for (const auto& [key, value] : opts.items())
      if (std::find(known.begin(), known.end(), key) == known.end())
        throw Refusal{400, "unknown option '" + printable(key) + "' (options: metric, rule, alpha, fpr, explain, resize)"};
    auto job = std::make_shared<Job>();
    job->model = m;
    detect::ScoreOptions& request = job->request;
    bool resize = false;
    try {
      if (opts.contains("metric")) request.metric = detect::parse_metric(parse_string(opts["metric"], "metric"));
      if (opts.contains("rule")) request.decision.rule = parse_string(opts["rule"], "rule");
      if (opts.contains("alpha")) request.decision.alpha = parse_number(opts["alpha"], "alpha");
      if (opts.contains("fpr")) request.decision.fpr = parse_number(opts["fpr"], "fpr");
      if (opts.contains("explain")) parse_explain(opts["explain"], request.change_maps, job->want_strip);
      if (opts.contains("resize")) resize = parse_bool(opts["resize"], "resize");
      OIAD_CHECK_USAGE(!job->want_strip || m->d.scorer == detect::Scorer::kStructureConsistency, "model ", m->name,
                       ": a ", model::kind_name(m->d.model.net->config.kind),
                       " model scores by its reconstruction error and has no morph strip (explain=map shows its "
                       "per-pixel error)");
      job->plan = detect::plan_scoring(m->d, request, "model " + m->name, "");
    } catch (const UsageError& e) {
      throw Refusal{400, first_line(e.what())};
    }
    if (images.empty()) throw Refusal{400, "no image in the request"};
    if (int(images.size()) > opt.max_images)
      throw Refusal{413, std::to_string(images.size()) + " images in one request; the limit is " +
                             std::to_string(opt.max_images)};
    // Decode here, on the connection's thread: a bad image never reaches the worker.
    std::vector<torch::Tensor> xs;
    std::vector<std::string> names;
    for (const auto& [image_name, body] : images) {
      const std::string shown = printable(image_name);
      const std::vector<uint8_t> bytes(body->begin(), body->end());
      const int64_t pixels = data::image_header_pixels(bytes);
      if (pixels < 0) throw Refusal{400, shown + ": not a PNG, JPEG or BMP image"};
      if (pixels > opt.max_image_pixels)
        throw Refusal{413, shown + ": " + std::to_string(pixels) + " pixels; the limit is " +
                               std::to_string(opt.max_image_pixels)};
      try {
        const data::DecodedImage im = data::decode_image(bytes, shown);
        xs.push_back(model::model_input(m->d.model, im.chw.data(), 1, im.channels, im.height, im.width, resize, shown));
      } catch (const std::exception& e) {
        throw Refusal{400, first_line(e.what())};
      }
      names.push_back(image_name);
    }
    job->x = xs.size() == 1 ? xs[0] : torch::cat(xs);
    std::future<JobResult> result = job->done.get_future();
    {
      std::lock_guard<std::mutex> lk(mu);
      if (stopping) throw Refusal{503, "the service is shutting down"};
      if (depth >= opt.queue) throw busy(res);
      ++depth;
      jobs.push_back(job);
    }
    cv.notify_one();
    if (result.wait_for(std::chrono::duration<double>(opt.request_timeout_s)) != std::future_status::ready) {
      job->abandoned = true;
      {
        std::lock_guard<std::mutex> lm(metrics.mu);
        ++metrics.timed_out;
      }
      res.set_header("Retry-After", "1");
      throw Refusal{503, "not scored within the request time limit of " + std::to_string(opt.request_timeout_s) + " s"};
    }
    JobResult r = result.get();
    if (!r.error.empty()) throw Refusal{500, "scoring failed: " + r.error};
    const detect::ScoringPlan& plan = job->plan;
    const detect::DecisionRule& dr = plan.decision;
    const bool codes = plan.scorer == detect::Scorer::kStructureConsistency;
    json out = {{"model", m->name}, {"metric", plan.score_name}, {"rule", detect::rule_name(dr.rule)}};
    if (dr.rule == detect::Rule::kPaper) {
      out["alpha"] = dr.alpha;
    } else {
      out["fpr"] = dr.fpr;
      out["threshold"] = plan.threshold;
    }
    json list = json::array();
    for (size_t i = 0; i < r.scores.size(); ++i) {
      const auto& s = r.scores[i];
      json j = {{"name", printable(names[i])}, {"score", s.score}, {"anomalous", s.anomalous}};
      j["p_value"] = std::isnan(s.p_value) ? json(nullptr) : json(s.p_value);
      if (codes) j["most_extreme_code"] = s.most_extreme_code, j["consistency"] = s.of(plan.metric);
      if (job->want_map()) j["map"] = r.maps[i], j["map_max"] = r.map_max[i];
      if (job->want_strip) j["strip"] = r.strips[i];
      list.push_back(std::move(j));
    }
    out["images"] = std::move(list);
    set_json(res, 200, out);
  }

  std::string metrics_text() {
    int queue_depth = 0;
    {
      std::lock_guard<std::mutex> lk(mu);
      queue_depth = depth;
    }
    std::lock_guard<std::mutex> lk(metrics.mu);
    std::ostringstream o;
    o.precision(17);
    o << "# HELP oiad_requests_total HTTP responses by status code.\n# TYPE oiad_requests_total counter\n";
    for (const auto& [code, n] : metrics.responses) o << "oiad_requests_total{code=\"" << code << "\"} " << n << "\n";
    o << "# HELP oiad_request_duration_seconds Time from the request's routing to its response.\n"
         "# TYPE oiad_request_duration_seconds histogram\n";
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kLatencyBounds.size(); ++b) {
      cumulative += metrics.buckets[b];
      char le[32];
      std::snprintf(le, sizeof(le), "%g", kLatencyBounds[b]);
      o << "oiad_request_duration_seconds_bucket{le=\"" << le << "\"} " << cumulative << "\n";
    }
    cumulative += metrics.buckets.back();
    o << "oiad_request_duration_seconds_bucket{le=\"+Inf\"} " << cumulative << "\n";
    o << "oiad_request_duration_seconds_sum " << metrics.latency_sum << "\n";
    o << "oiad_request_duration_seconds_count " << metrics.latency_count << "\n";
    o << "# HELP oiad_images_scored_total Images scored.\n# TYPE oiad_images_scored_total counter\n"
      << "oiad_images_scored_total " << metrics.images_scored << "\n";
    o << "# HELP oiad_batches_total Batches the worker scored (requests arriving together share one).\n"
         "# TYPE oiad_batches_total counter\noiad_batches_total "
      << metrics.batches << "\n";
    o << "# HELP oiad_rejected_busy_total Score requests answered 503 because the queue was full.\n"
         "# TYPE oiad_rejected_busy_total counter\noiad_rejected_busy_total "
      << metrics.rejected_busy << "\n";
    o << "# HELP oiad_timed_out_total Score requests answered 503 after the request time limit.\n"
         "# TYPE oiad_timed_out_total counter\noiad_timed_out_total "
      << metrics.timed_out << "\n";
    o << "# HELP oiad_queue_depth Score requests waiting or being scored.\n# TYPE oiad_queue_depth gauge\n"
      << "oiad_queue_depth " << queue_depth << "\n";
    return o.str();
  }

  json models_json() const {
    json list = json::array();
    for (const auto& m : models) list.push_back(m->card);
    return json{{"models", list}};
  }

  // Wraps a handler: a Refusal or any error becomes a JSON error response.
  httplib::Server::Handler guarded(void (Impl::*h)(const httplib::Request&, httplib::Response&)) {
    return [this, h](const httplib::Request& req, httplib::Response& res) {
      try {
        (this->*h)(req, res);
      } catch (const Refusal& r) {
        set_error(res, r.status, r.message);
        // An overloaded service closes the connection after a 503: its thread then serves
        // a connection that is waiting for one, instead of the same client again.
        if (r.status == 503) res.set_header("Connection", "close");
      } catch (const std::exception& e) {
        set_error(res, 500, first_line(e.what()));
      }
    };
  }

  bool authorised(const httplib::Request& req) const {
    if (opt.token.empty() || req.path == "/" || req.path == "/healthz") return true;
    const std::string want = "Bearer " + opt.token;
    const std::string got = req.get_header_value("Authorization");
    return got.size() == want.size() && CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0;
  }

  void setup_routes() {
    static thread_local Clock::time_point started;
    static thread_local bool routed = false;
    http.new_task_queue = [n = opt.http_threads] { return new httplib::ThreadPool(size_t(n)); };
    http.set_payload_max_length(opt.max_body_bytes);
    http.set_read_timeout(10, 0);
    http.set_write_timeout(10, 0);
    http.set_keep_alive_timeout(2);
    http.set_keep_alive_max_count(1000);
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      started = Clock::now();
      routed = true;
      if (authorised(req)) return httplib::Server::HandlerResponse::Unhandled;
      res.set_header("WWW-Authenticate", "Bearer");
      set_error(res, 401, "this service needs 'Authorization: Bearer <token>'");
      return httplib::Server::HandlerResponse::Handled;
    });
    http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      std::string why = status_reason(res.status);
      if (res.status == 404) why += " (GET /, /healthz, /metrics, /v1/models; POST /v1/models/{name}/score)";
      set_error(res, res.status, why);
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "internal error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = first_line(e.what());
      } catch (...) {
      }
      set_error(res, 500, what);
    });
    // Counted just before the answer is written (httplib calls the post-routing handler for
    // every answer, refusals before routing included), so that a request is in /metrics by
    // the time its client has the answer.
    http.set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
      const double secs = routed ? std::chrono::duration<double>(Clock::now() - started).count() : -1.0;
      routed = false;
      metrics.observe(res.status, secs);
    });
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kServePage, "text/html; charset=utf-8");
    });
    http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      set_json(res, 200, json{{"status", "ok"}, {"models", models.size()}});
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(), "text/plain; version=0.0.4");
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) { set_json(res, 200, models_json()); });
    http.Post(R"(/v1/models/([^/]+)/score)", guarded(&Impl::handle_score));
  }
};

namespace {

// What GET /v1/models tells of a model: no file paths of the server.
json model_card(const Model& m) {
  const json info = detect::model_info(m.d.model, m.path);
  json card = {{"name", m.name}};
  const auto& meta = m.d.model.file.meta;
  for (const char* k : {"dataset", "normal_class", "normal_class_name", "protocol", "seed", "epochs"})
    if (info.contains(k)) card[k] = info[k];
  // A data set given as a folder or file is named by its last part only.
  if (card.contains("dataset") && card["dataset"].is_string()) {
    const std::string ds = card["dataset"];
    if (ds.find('/') != std::string::npos) card["dataset"] = std::filesystem::path(ds).filename().string();
  }
  card["input"] = {{"channels", info["config"].value("channels", 0)}, {"size", info["config"].value("input_size", 0)}};
  if (meta.contains("preprocessing")) card["preprocessing"] = meta["preprocessing"];
  card["kind"] = info["kind"];
  card["scorer"] = info["scorer"];
  if (info.contains("calibration") && m.d.scorer == detect::Scorer::kReconstruction) {
    card["calibration"] = info["calibration"];
  } else if (info.contains("calibration")) {
    const auto& c = info["calibration"];
    card["calibration"] = {{"rule", c.value("rule", "paper")},
                           {"alpha", c.value("alpha", 0.4)},
                           {"fpr", c.value("fpr", 0.05)},
                           {"codes", c.value("codes", json::array())},
                           {"n_val", c.value("n_val", 0)},
                           {"preset", c.contains("detector") ? c["detector"].value("preset", "") : ""},
                           {"morphs", c.contains("detector") ? c["detector"].value("morphs", 0) : 0}};
  }
  json metrics = json::array();
  for (detect::Metric mi : m.d.metrics()) metrics.push_back(detect::metric_name(mi));
  card["metrics"] = metrics;
  card["change_maps"] = m.d.has_change_maps();
  if (meta.contains("evaluation")) card["evaluation"] = meta["evaluation"];
  return card;
}

}  // namespace

Server::Server(const std::vector<ModelSpec>& specs, const ServerOptions& options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.opt = options;
  const ServerOptions& o = s.opt;
  OIAD_CHECK_USAGE(!specs.empty(), "serve: give at least one --model");
  OIAD_CHECK_USAGE(o.port >= 0 && o.port <= 65535, "serve: --port ", o.port, " outside [0, 65535]");
  OIAD_CHECK_USAGE(o.http_threads >= 1 && o.http_threads <= 1024, "serve: --http-threads ", o.http_threads,
                   " outside [1, 1024]");
  OIAD_CHECK_USAGE(o.queue >= 1 && o.queue <= 100000, "serve: --queue ", o.queue, " outside [1, 100000]");
  OIAD_CHECK_USAGE(o.batch_images >= 1 && o.batch_images <= 4096, "serve: --batch-images ", o.batch_images,
                   " outside [1, 4096]");
  OIAD_CHECK_USAGE(o.max_images >= 1 && o.max_images <= 4096, "serve: --max-images ", o.max_images,
                   " outside [1, 4096]");
  OIAD_CHECK_USAGE(o.max_body_bytes >= 1024, "serve: --max-body-mb is too small");
  OIAD_CHECK_USAGE(o.max_image_pixels >= 1, "serve: --max-image-pixels must be >= 1");
  OIAD_CHECK_USAGE(std::isfinite(o.request_timeout_s) && o.request_timeout_s > 0 && o.request_timeout_s <= 3600,
                   "serve: --request-timeout ", o.request_timeout_s, " outside (0, 3600] seconds");
  for (const auto& spec : specs) {
    OIAD_CHECK_USAGE(!s.find(spec.name), "serve: two models are named '", spec.name, "' (give --model name=path)");
    auto m = std::make_unique<Model>();
    m->name = spec.name;
    m->path = spec.path;
    m->d = detect::load_detector(spec.path, true);
    m->card = model_card(*m);
    s.models.push_back(std::move(m));
  }
  s.setup_routes();
  s.worker = std::thread([&s] { s.worker_loop(); });
}

Server::~Server() {
  stop();
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

int Server::bind() {
  Impl& s = *impl_;
  if (s.opt.port == 0) {
    s.port = s.http.bind_to_any_port(s.opt.host);
    OIAD_CHECK(s.port > 0, "serve: cannot listen on ", s.opt.host, " (any port)");
  } else {
    OIAD_CHECK(s.http.bind_to_port(s.opt.host, s.opt.port), "serve: cannot listen on ", s.opt.host, ":", s.opt.port,
               " (in use, or not an address of this machine)");
    s.port = s.opt.port;
  }
  return s.port;
}

void Server::run() {
  Impl& s = *impl_;
  OIAD_CHECK(s.port > 0, "serve: run() before bind()");
  if (!s.stop_requested) s.http.listen_after_bind();
  // Every connection's thread has finished (httplib joins them): now let the worker finish
  // what is queued and end.
  {
    std::lock_guard<std::mutex> lk(s.mu);
    s.stopping = true;
  }
  s.cv.notify_all();
  if (s.worker.joinable()) s.worker.join();
}

void Server::stop() {
  impl_->stop_requested = true;
  impl_->http.stop();
}

int Server::port() const { return impl_->port; }

}  // namespace oiad::serve

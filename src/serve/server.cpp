#include "server.h"

#include <httplib.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "batcher.h"
#include "metrics.h"
#include "oiad/core/error.h"
#include "request.h"
#include "serve_page.h"  // kServePage: the web page, generated from src/serve/page.html

namespace oiad::serve {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

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

// The service: models, routes (authentication, refusals as JSON, metrics of every answer)
// and the score handler; admission and batching are the Batcher's, the reading of a request
// request.h's, the counters metrics.h's.
struct Server::Impl {
  ServerOptions opt;
  std::vector<std::unique_ptr<Model>> models;
  httplib::Server http;
  Metrics metrics;
  std::unique_ptr<Batcher> batcher;  // made once the options are set
  int port = -1;
  std::atomic<bool> stop_requested{false};

  Model* find(const std::string& name) {
    for (auto& m : models)
      if (m->name == name) return m.get();
    return nullptr;
  }

  void handle_score(const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    Model* m = find(name);
    if (!m) {
      std::string names;
      for (const auto& x : models) names += (names.empty() ? "" : ", ") + x->name;
      throw Refusal{404, "no model '" + printable(name) + "' (this service has: " + names + ")"};
    }
    batcher->admit(res);  // a full queue is answered before any decoding
    ScoreRequest q = read_score_request(req, *m, opt);
    const detect::ScoringPlan plan = q.plan;
    const std::vector<std::string> names = q.names;
    const bool want_map = q.want_map(), want_strip = q.want_strip, tiled = q.tiling.has_value();
    const JobResult r = batcher->score(std::move(q), res);
    if (!r.error.empty()) throw Refusal{500, "scoring failed: " + r.error};
    const detect::DecisionRule& dr = plan.decision;
    const bool codes = plan.scorer == detect::Scorer::kStructureConsistency && !tiled;
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
      if (want_map) j["map"] = r.maps[i], j["map_max"] = r.map_max[i];
      if (want_strip) j["strip"] = r.strips[i];
      list.push_back(std::move(j));
    }
    out["images"] = std::move(list);
    set_json(res, 200, out);
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

  // The server's own settings and the handlers around every route: authentication before
  // routing, JSON answers for httplib's own errors and exceptions, the metrics of every answer.
  void setup_http() {
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
  }

  void setup_routes() {
    setup_http();
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kServePage, "text/html; charset=utf-8");
    });
    http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      set_json(res, 200, json{{"status", "ok"}, {"models", models.size()}});
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.text(batcher->depth()), "text/plain; version=0.0.4");
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) { set_json(res, 200, models_json()); });
    http.Post(R"(/v1/models/([^/]+)/score)", guarded(&Impl::handle_score));
  }
};

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
  s.batcher = std::make_unique<Batcher>(s.opt, s.metrics);
  s.setup_routes();
}

Server::~Server() {
  stop();
  if (impl_->batcher) impl_->batcher->finish();
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
  s.batcher->finish();
}

void Server::stop() {
  impl_->stop_requested = true;
  impl_->http.stop();
}

int Server::port() const { return impl_->port; }

}  // namespace oiad::serve

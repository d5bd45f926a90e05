// oiad serve: the HTTP scoring service (src/serve/server.h).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands.h"
#include "oiad/core/error.h"
#include "serve/server.h"

namespace oiad::cli {

namespace {

struct ServeOptions {
  std::vector<std::string> models;
  std::string token_file;
  double max_body_mb = 16;
  serve::ServerOptions server;
};

int run_serve(const ServeOptions& o) {
  OIAD_CHECK_USAGE(std::isfinite(o.max_body_mb) && o.max_body_mb >= 0.001 && o.max_body_mb <= 4096,
                   "serve: --max-body-mb ", o.max_body_mb, " outside [0.001, 4096]");
  std::vector<serve::ModelSpec> specs;
  for (const auto& m : o.models) specs.push_back(serve::parse_model_spec(m));
  serve::ServerOptions so = o.server;
  so.max_body_bytes = size_t(o.max_body_mb * 1024 * 1024);
  if (!o.token_file.empty()) so.token = serve::read_token_file(o.token_file);
  // SIGTERM and SIGINT are taken by one thread (sigtimedwait), blocked everywhere else: the
  // threads started from here on inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  serve::Server server(specs, so);
  const int port = server.bind();
  std::atomic<bool> served{false}, signalled{false};
  std::thread watcher([&] {
    const timespec tick{0, 100 * 1000 * 1000};
    while (!served) {
      if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) signalled = true;
      // Repeated: a stop that came before the server started listening is not lost.
      if (signalled) server.stop();
    }
  });
  nlohmann::json ready = {{"listening", "http://" + so.host + ":" + std::to_string(port) + "/"},
                          {"port", port},
                          {"models", o.models.size()},
                          {"token", !so.token.empty()}};
  print_json_line(ready.dump());
  try {
    server.run();
  } catch (...) {
    served = true;
    watcher.join();
    throw;
  }
  served = true;
  watcher.join();
  print_json_line(nlohmann::json{{"stopped", signalled ? "signal" : "stop"}}.dump());
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<ServeOptions>();
  serve::ServerOptions& s = o->server;
  CLI::App* c = app.add_subcommand("serve", "an HTTP scoring service with a web page (GET / in a browser)");
  c->add_option("--model", o->models, "calibrated model file to serve, as name=path or path (name: the file's stem); "
                                      "repeat for several")
      ->required();
  c->add_option("--host", s.host, "address to listen on (0.0.0.0: every interface)")->capture_default_str();
  c->add_option("--port", s.port, "port (0: any free one; the first line printed tells which)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  c->add_option("--token-file", o->token_file,
                "file whose first line is a token: /v1 and /metrics then need 'Authorization: Bearer <token>'");
  c->add_option("--http-threads", s.http_threads, "connections served at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  c->add_option("--queue", s.queue, "score requests waiting or being scored at most; one more is answered 503")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  c->add_option("--batch-images", s.batch_images, "most images of requests arriving together scored as one batch")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  c->add_option("--max-images", s.max_images, "most images in one request (more: 413)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  c->add_option("--max-body-mb", o->max_body_mb, "largest request body, MiB (larger: 413)")->capture_default_str();
  c->add_option("--max-image-pixels", s.max_image_pixels, "most pixels (width x height) of one image (more: 413)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--request-timeout", s.request_timeout_s, "seconds a score request may wait and run (then: 503)")
      ->capture_default_str();
  c->callback([&run, o] { run = [o] { return run_serve(*o); }; });
}

}  // namespace oiad::cli

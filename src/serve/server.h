// `oiad serve`: an HTTP scoring service for calibrated models (cpp-httplib).
//
// Endpoints (JSON in and out; docs/architecture.md, "Service"):
//   GET  /                          the web page (shipped in the binary)
//   GET  /healthz                   {"status": "ok", "models": n}
//   GET  /metrics                   Prometheus text format
//   GET  /v1/models                 each model's card: data set, class, calibration
//   POST /v1/models/{name}/score    one image as the body, or several as multipart/form-data
//
// Scoring runs on one worker thread that owns LibTorch; score requests arriving together for
// the same model and decision are scored as one batch. At most `queue` score requests wait or
// run at once; one more is answered 503 with Retry-After. Nothing in a request names a file
// on the server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace oiad::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                        ///< 0: any free port (Server::port() tells which)
  int http_threads = 64;                  ///< connections served at once (more wait for a thread)
  int queue = 32;                         ///< score requests waiting or running; more get 503
  int batch_images = 64;                  ///< most images scored in one batch
  int max_images = 64;                    ///< most images in one request
  size_t max_body_bytes = size_t(16) << 20;  ///< larger bodies get 413
  int64_t max_image_pixels = int64_t(4096) * 4096;  ///< width x height of one image; more get 413
  double request_timeout_s = 30;          ///< a score request not done by then gets 503
  std::string token;                      ///< non-empty: /v1 and /metrics need "Authorization: Bearer <token>"
};

/// A model to serve: its name in URLs and its file.
struct ModelSpec {
  std::string name, path;
};

/// Parses a `--model` value: "name=path", or a path (its name is the file's stem). Names are
/// letters, digits, '.', '_' and '-'; UsageError otherwise.
ModelSpec parse_model_spec(const std::string& value);

/// Reads the token file: its first line, without surrounding white space; an empty token or
/// an unreadable file is an error naming the file.
std::string read_token_file(const std::string& path);

class Server {
 public:
  /// Loads every model (each must be calibrated; names unique) and checks the options.
  Server(const std::vector<ModelSpec>& models, const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds the listening socket (an error names host and port); returns the port.
  int bind();
  /// Serves until stop(); then finishes the requests in flight and returns.
  void run();
  /// Stops accepting (safe from any thread, also before run()).
  void stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oiad::serve

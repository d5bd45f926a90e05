// The service's side of a score request before any scoring (`oiad serve`, server.h): the
// models it serves and their cards, refusals, and the reading of one request (options,
// images, their decoding into the model's input) on the connection's thread, so that
// nothing malformed reaches the worker.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "oiad/data/readers.h"
#include "oiad/detect/pipeline.h"
#include "oiad/detect/tiling.h"
#include "server.h"

namespace oiad::serve {

/// A request the service refuses: its status and a one-line reason.
struct Refusal {
  int status;
  std::string message;
};

/// The first line of a message (LibTorch's errors carry a backtrace after it).
std::string first_line(const std::string& s);

/// A served model: its name in URLs, its file, the loaded detector and its card.
struct Model {
  std::string name, path;
  detect::CalibratedDetector d;
  nlohmann::json card;
};

/// What GET /v1/models tells of a model: data set, class, kind, scorer, calibration, metrics;
/// no file paths of the server.
nlohmann::json model_card(const Model& m);

/// One score request, read and checked: the images as the model's input (n, C, S, S), their
/// names, the scoring request and the plan it resolves to against the model.
struct ScoreRequest {
  Model* model = nullptr;
  torch::Tensor x;  ///< the images as network input (undefined for a tiled model)
  /// A tiled model's images, each at its own size (detect/tiling.h), and its tile calibration.
  std::vector<data::DecodedImage> photos;
  std::optional<detect::TileCalibration> tiling;
  int64_t images() const { return x.defined() ? x.size(0) : int64_t(photos.size()); }
  std::vector<std::string> names;
  detect::ScoreOptions options;  ///< change_maps: explain=map
  detect::ScoringPlan plan;
  bool want_strip = false;
  bool want_map() const { return options.change_maps; }
};

/// Reads a score request for model `m`: the options (a multipart part "options" holding a JSON
/// object, then the query on top; an unknown option is refused), the images (a body, or the
/// parts of multipart/form-data), each one's pixel count from its header, then decoded.
/// Throws Refusal (4xx) for anything the service will not score.
ScoreRequest read_score_request(const httplib::Request& req, Model& m, const ServerOptions& opt);

}  // namespace oiad::serve

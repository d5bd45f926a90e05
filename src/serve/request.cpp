#include "request.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "oiad/core/error.h"
#include "oiad/core/parse.h"
#include "oiad/data/readers.h"
#include "oiad/model/preprocess.h"

namespace oiad::serve {

using nlohmann::json;

namespace {

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

// The options a score request may set.
const std::vector<std::string>& option_names() {
  static const std::vector<std::string> kNames = {"metric", "rule", "alpha", "fpr", "explain", "resize"};
  return kNames;
}

void check_option_name(const std::string& key) {
  const auto& known = option_names();
  if (std::find(known.begin(), known.end(), key) != known.end()) return;
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  throw Refusal{400, "unknown option '" + printable(key) + "' (options: " + list + ")"};
}

// The request's options (a multipart part "options" holding a JSON object, the query on top)
// and its images (name, bytes): the body, or the other parts of multipart/form-data.
json read_parts(const httplib::Request& req, std::vector<std::pair<std::string, const std::string*>>& images) {
  json opts = json::object();
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
  for (const auto& [key, value] : req.params) {
    check_option_name(key);
    opts[key] = value;
  }
  for (const auto& [key, value] : opts.items()) check_option_name(key);
  return opts;
}

}  // namespace

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

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
  if (info.contains("calibration") && m.d.single_score()) {
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

ScoreRequest read_score_request(const httplib::Request& req, Model& m, const ServerOptions& opt) {
  std::vector<std::pair<std::string, const std::string*>> images;
  json opts = read_parts(req, images);
  ScoreRequest r;
  r.model = &m;
  detect::ScoreOptions& o = r.options;
  bool resize = false;
  try {
    if (opts.contains("metric")) o.metric = detect::parse_metric(parse_string(opts["metric"], "metric"));
    if (opts.contains("rule")) o.decision.rule = parse_string(opts["rule"], "rule");
    if (opts.contains("alpha")) o.decision.alpha = parse_number(opts["alpha"], "alpha");
    if (opts.contains("fpr")) o.decision.fpr = parse_number(opts["fpr"], "fpr");
    if (opts.contains("explain")) parse_explain(opts["explain"], o.change_maps, r.want_strip);
    if (opts.contains("resize")) resize = parse_bool(opts["resize"], "resize");
    OIAD_CHECK_USAGE(!r.want_strip || m.d.scorer == detect::Scorer::kStructureConsistency, "model ", m.name, ": a ",
                     model::kind_name(m.d.model.config().kind), " model scores by ",
                     detect::single_score_text(m.d.scorer), " and has no morph strip (explain=map shows its ",
                     m.d.scorer == detect::Scorer::kSegmentation ? "segmentation map)" : "per-pixel error)");
    if (detect::is_tiled(m.d.model)) {
      // A tiled model: the tiles' score is fixed at training; the decision is the one-sided
      // rule on whole images at f.
      r.tiling = detect::tile_calibration(m.d.model, m.name);
      OIAD_CHECK_USAGE(!o.metric || detect::metric_name(*o.metric) == r.tiling->score_name, "model ", m.name,
                       ": a tiled model scores its tiles by ", r.tiling->score_name);
      OIAD_CHECK_USAGE((!o.decision.rule || *o.decision.rule == detect::rule_name(detect::Rule::kOneSided)) &&
                           !o.decision.alpha,
                       "model ", m.name, ": a tiled model decides by the one-sided rule on whole images (fpr)");
      OIAD_CHECK_USAGE(!r.want_strip, "model ", m.name, ": a tiled model has no morph strip (explain=map draws its ",
                       "full-size change map)");
      const double f = o.decision.fpr.value_or(r.tiling->fpr);
      OIAD_CHECK_USAGE(f > 0 && f < 1, "fpr ", f, " outside (0, 1)");
      r.plan.scorer = m.d.scorer;
      r.plan.score_name = r.tiling->score_name;
      r.plan.decision = detect::DecisionRule{};  // the one-sided rule (α unused)
      r.plan.decision.rule = detect::Rule::kOneSided;
      r.plan.decision.fpr = f;
      r.plan.level = f;
      r.plan.threshold = r.tiling->threshold(f);
    } else {
      r.plan = detect::plan_scoring(m.d, o, "model " + m.name, "");
    }
  } catch (const UsageError& e) {
    throw Refusal{400, first_line(e.what())};
  }
  if (images.empty()) throw Refusal{400, "no image in the request"};
  if (int(images.size()) > opt.max_images)
    throw Refusal{413, std::to_string(images.size()) + " images in one request; the limit is " +
                           std::to_string(opt.max_images)};
  std::vector<torch::Tensor> xs;
  for (const auto& [image_name, body] : images) {
    const std::string shown = printable(image_name);
    const std::vector<uint8_t> bytes(body->begin(), body->end());
    const int64_t pixels = data::image_header_pixels(bytes);
    if (pixels < 0) throw Refusal{400, shown + ": not a PNG, JPEG or BMP image"};
    if (pixels > opt.max_image_pixels)
      throw Refusal{413, shown + ": " + std::to_string(pixels) + " pixels; the limit is " +
                             std::to_string(opt.max_image_pixels)};
    try {
      if (r.tiling) {
        r.photos.push_back(data::decode_image(bytes, shown));
        OIAD_CHECK_USAGE(r.photos.back().channels == m.d.model.config().channels, shown, ": ",
                         r.photos.back().channels, " channel(s), the model expects ", m.d.model.config().channels);
      } else {
        xs.push_back(model::model_input(m.d.model, data::decode_image(bytes, shown), resize, shown));
      }
    } catch (const std::exception& e) {
      throw Refusal{400, first_line(e.what())};
    }
    r.names.push_back(image_name);
  }
  if (!r.tiling) r.x = xs.size() == 1 ? xs[0] : torch::cat(xs);
  return r;
}

}  // namespace oiad::serve

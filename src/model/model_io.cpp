#include "oiad/model/model_io.h"

#include <sstream>

#include "oiad/core/error.h"
#include "oiad/core/json_fields.h"
#include "oiad/model/segmenter.h"

namespace oiad::model {

std::string module_to_blob(torch::nn::Module& m) { return archive_to_blob(m); }

void module_from_blob(torch::nn::Module& m, const std::string& blob, const std::string& name) {
  try {
    archive_from_blob(m, blob);
  } catch (const c10::Error& e) {
    throw Error(name + ": weights do not match the model configuration: " + e.what_without_backtrace());
  }
}

ModelConfig LoadedModel::config() const {
  if (segmenter)
    return ModelConfig::defaults(ModelKind::kRecSeg, segmenter->shape().channels, segmenter->shape().input_size);
  OIAD_CHECK(net, "model: no network loaded");
  return net->config;
}

LoadedModel model_from_file(ModelFile file, const std::string& name, const std::string& expect_kind) {
  LoadedModel lm;
  try {
    const ModelConfig cfg = ModelConfig::from_metadata(file.meta);
    OIAD_CHECK(expect_kind.empty() || kind_name(cfg.kind) == expect_kind, "model kind is ", kind_name(cfg.kind),
               ", expected ", expect_kind);
    OIAD_CHECK(file.blobs.count("weights"), "no weights");
    if (cfg.kind == ModelKind::kRecSeg) {
      OIAD_CHECK(file.meta.contains("recseg") && file.meta["recseg"].is_object(),
                 "a recseg model without its settings (\"recseg\")");
      const auto& r = file.meta["recseg"];
      SegmenterShape shape{cfg.channels, cfg.input_size, int(bounded_int(r, "rec_width", 1, 1024, "recseg settings")),
                           int(bounded_int(r, "seg_width", 1, 1024, "recseg settings")),
                           int(bounded_int(r, "filter", 0, 1023, "recseg settings"))};
      OIAD_CHECK(shape.filter == 0 || shape.filter % 2 == 1, "recseg settings: filter ", shape.filter, " is even");
      lm.segmenter = std::make_shared<Segmenter>(shape);
      lm.segmenter->from_bytes(file.blobs.at("weights"), "weights");
      lm.file = std::move(file);
      return lm;
    }
    lm.net = DetectorVae(cfg);
    module_from_blob(*lm.net, file.blobs.at("weights"), "weights");
    lm.net->eval();
  } catch (...) {
    rethrow_with_context(name);
  }
  lm.file = std::move(file);
  return lm;
}

LoadedModel load_model(const std::string& path, const std::string& expect_kind) {
  try {
    return model_from_file(ModelFile::load(path), path, expect_kind);
  } catch (...) {
    rethrow_with_context("loading model");
  }
}

void save_model(const std::string& path, DetectorVae& net, ModelFile file) {
  file.meta["format_version"] = kModelFormatVersion;
  file.meta["kind"] = kind_name(net->config.kind);
  file.meta["config"] = net->config.to_json();
  file.blobs["weights"] = module_to_blob(*net);
  file.save(path);
}

void save_segmenter(const std::string& path, const Segmenter& segmenter, ModelFile file) {
  const SegmenterShape& s = segmenter.shape();
  const ModelConfig cfg = ModelConfig::defaults(ModelKind::kRecSeg, s.channels, s.input_size);
  file.meta["format_version"] = kModelFormatVersion;
  file.meta["kind"] = kind_name(cfg.kind);
  file.meta["config"] = cfg.to_json();
  if (!file.meta.contains("recseg") || !file.meta["recseg"].is_object()) file.meta["recseg"] = nlohmann::json::object();
  file.meta["recseg"]["rec_width"] = s.rec_width;
  file.meta["recseg"]["seg_width"] = s.seg_width;
  file.meta["recseg"]["filter"] = s.filter;
  file.blobs["weights"] = segmenter.to_bytes();
  file.save(path);
}

}  // namespace oiad::model

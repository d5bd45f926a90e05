#include "oiad/model/model_io.h"

#include <sstream>

#include "oiad/core/error.h"

namespace oiad::model {

std::string module_to_blob(torch::nn::Module& m) { return archive_to_blob(m); }

void module_from_blob(torch::nn::Module& m, const std::string& blob, const std::string& name) {
  try {
    archive_from_blob(m, blob);
  } catch (const c10::Error& e) {
    throw Error(name + ": weights do not match the model configuration: " + e.what_without_backtrace());
  }
}

LoadedModel model_from_file(ModelFile file, const std::string& name, const std::string& expect_kind) {
  LoadedModel lm;
  try {
    const ModelConfig cfg = ModelConfig::from_metadata(file.meta);
    OIAD_CHECK(expect_kind.empty() || kind_name(cfg.kind) == expect_kind, "model kind is ", kind_name(cfg.kind),
               ", expected ", expect_kind);
    OIAD_CHECK(file.blobs.count("weights"), "no weights");
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

}  // namespace oiad::model

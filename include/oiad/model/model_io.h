// Saving and loading a DetectorVae with its metadata in a model file (model_file.h).
#pragma once

#include <memory>
#include <sstream>
#include <string>

#include "oiad/model/model_file.h"
#include "oiad/model/networks.h"

namespace oiad::model {

class Segmenter;

/// Anything LibTorch can save to an archive (a module, an optimiser) as a blob, and back.
template <typename T>
std::string archive_to_blob(T& obj) {
  torch::serialize::OutputArchive ar;
  obj.save(ar);
  std::ostringstream os;
  ar.save_to(os);
  return os.str();
}
template <typename T>
void archive_from_blob(T& obj, const std::string& blob) {
  std::istringstream is(blob);
  torch::serialize::InputArchive ar;
  ar.load_from(is);
  obj.load(ar);
}

/// Module parameters and buffers to a blob and back (LibTorch archives).
std::string module_to_blob(torch::nn::Module& m);
void module_from_blob(torch::nn::Module& m, const std::string& blob, const std::string& name);

/// A network with its model file (metadata: format, kind, config, data, training history...):
/// `net` for the detector, vae and dcae kinds, `segmenter` for recseg (model/segmenter.h; the
/// other is empty).
struct LoadedModel {
  LoadedModel() = default;
  LoadedModel(DetectorVae n, ModelFile f) : net(std::move(n)), file(std::move(f)) {}

  DetectorVae net{nullptr};
  ModelFile file;
  std::shared_ptr<Segmenter> segmenter;

  /// The model's config (kind, channels, input size), whichever network it holds.
  ModelConfig config() const;
};

/// Builds the network described by file.meta["config"] (and, for recseg, the widths and filter
/// of file.meta["recseg"]) and loads blob "weights".
/// `name` is used in errors; `expect_kind` (when not empty) must match the model kind.
LoadedModel model_from_file(ModelFile file, const std::string& name, const std::string& expect_kind = "");
LoadedModel load_model(const std::string& path, const std::string& expect_kind = "");

/// Stores the network's weights and config in `file` (keeps other metadata) and saves it.
void save_model(const std::string& path, DetectorVae& net, ModelFile file);
/// The same for a recseg model: its networks and config; file.meta["recseg"] (the training
/// settings, peers::recseg_options_to_json) gets the networks' widths and filter.
void save_segmenter(const std::string& path, const Segmenter& segmenter, ModelFile file);

}  // namespace oiad::model

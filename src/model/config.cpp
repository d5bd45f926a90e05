#include "oiad/model/config.h"

#include <algorithm>

#include <cmath>

#include "oiad/core/choice.h"
#include "oiad/core/error.h"
#include "oiad/core/json_fields.h"

namespace oiad::model {

const std::vector<std::string>& kind_names() {
  static const std::vector<std::string> kNames = {"detector", "vae", "dcae", "recseg"};
  return kNames;
}

const std::vector<std::string>& reconstruction_names() {
  static const std::vector<std::string> kNames = {"l2", "bernoulli"};
  return kNames;
}

const std::vector<int>& input_sizes() {
  static const std::vector<int> kSizes = {32, 64, 128, 256, 512};
  return kSizes;
}

std::string kind_name(ModelKind k) { return kind_names().at(size_t(k)); }

ModelKind parse_kind(const std::string& s) { return parse_enum<ModelKind>(kind_names(), s, "model kind"); }

std::string reconstruction_name(Reconstruction r) { return reconstruction_names().at(size_t(r)); }

Reconstruction parse_reconstruction(const std::string& s) {
  return parse_enum<Reconstruction>(reconstruction_names(), s, "reconstruction loss");
}

ModelConfig ModelConfig::defaults(ModelKind kind, int channels, int input_size) {
  ModelConfig c;
  c.kind = kind;
  c.channels = channels;
  c.input_size = input_size;
  const bool cifar_size = channels == 3;
  c.latent_dim = cifar_size ? 40 : 20;
  c.decoder_dense = cifar_size ? 512 : 128;
  if (kind != ModelKind::kDetectorVae) {
    c.gamma = 0;
    c.eta = 0;
    c.kl_weight = kind == ModelKind::kVae ? 1.0 : 0.0;
    c.learn_precision = false;
  }
  return c;
}

nlohmann::json ModelConfig::to_json() const {
  if (kind == ModelKind::kRecSeg) return {{"kind", kind_name(kind)}, {"channels", channels}, {"input_size", input_size}};
  return {{"kind", kind_name(kind)},
          {"channels", channels},
          {"input_size", input_size},
          {"latent_dim", latent_dim},
          {"encoder_dense", encoder_dense},
          {"decoder_dense", decoder_dense},
          {"gamma", gamma},
          {"eta", eta},
          {"kl_weight", kl_weight},
          {"learn_precision", learn_precision},
          {"reconstruction", reconstruction_name(reconstruction)},
          {"disc_layers", disc_layers},
          {"disc_units", disc_units}};
}

ModelConfig ModelConfig::from_metadata(const nlohmann::json& meta) {
  OIAD_CHECK(meta.is_object() && meta.contains("config"), "no model config in the metadata");
  return from_json(meta["config"]);
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  ModelConfig c;
  try {
    c.kind = parse_kind(j.at("kind").get<std::string>());
    const std::string what = "model config";
    c.channels = int(bounded_int(j, "channels", 1, 3, what));
    c.input_size = int(bounded_int(j, "input_size", 1, 1024, what));
    if (c.kind == ModelKind::kRecSeg) {
      c = defaults(c.kind, c.channels, c.input_size);
      c.validate();
      return c;
    }
    c.latent_dim = int(bounded_int(j, "latent_dim", 1, kMaxLatentDim, what));
    c.encoder_dense = int(bounded_int(j, "encoder_dense", 1, kMaxDenseWidth, what));
    c.decoder_dense = int(bounded_int(j, "decoder_dense", 1, kMaxDenseWidth, what));
    c.gamma = bounded_double(j, "gamma", 0, 1e6, what);
    c.eta = bounded_double(j, "eta", 0, 1e6, what);
    c.kl_weight = bounded_double(j, "kl_weight", 0, 1e6, what);
    c.learn_precision = j.at("learn_precision").get<bool>();
    c.reconstruction = parse_reconstruction(j.at("reconstruction").get<std::string>());
    c.disc_layers = int(bounded_int(j, "disc_layers", 1, kMaxDiscLayers, what));
    c.disc_units = int(bounded_int(j, "disc_units", 1, kMaxDenseWidth, what));
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("model config: ") + e.what());
  }
  c.validate();
  return c;
}

void ModelConfig::validate() const {
  OIAD_CHECK(channels == 1 || channels == 3, "model config: channels ", channels, " not 1 or 3");
  OIAD_CHECK(std::find(input_sizes().begin(), input_sizes().end(), input_size) != input_sizes().end(),
             "model config: input size ", input_size, " not 32, 64, 128, 256 or 512");
  OIAD_CHECK(latent_dim >= 1 && latent_dim <= kMaxLatentDim, "model config: latent_dim ", latent_dim, " out of range");
  OIAD_CHECK(encoder_dense >= 1 && decoder_dense >= 1 && encoder_dense <= kMaxDenseWidth &&
                 decoder_dense <= kMaxDenseWidth,
             "model config: dense widths outside [1, ", kMaxDenseWidth, "]");
  OIAD_CHECK(std::isfinite(gamma) && std::isfinite(eta) && std::isfinite(kl_weight) && gamma >= 0 && eta >= 0 &&
                 kl_weight >= 0,
             "model config: loss weights must be finite and >= 0");
  OIAD_CHECK(disc_layers >= 1 && disc_units >= 1 && disc_layers <= kMaxDiscLayers && disc_units <= kMaxDenseWidth,
             "model config: discriminator size outside [1, ", kMaxDiscLayers, "] layers of [1, ", kMaxDenseWidth,
             "] units");
}

}  // namespace oiad::model

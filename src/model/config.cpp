#include "oiad/model/config.h"

#include <algorithm>

#include "oiad/core/error.h"

namespace oiad::model {

const std::vector<std::string>& kind_names() {
  static const std::vector<std::string> kNames = {"detector", "vae", "dcae"};
  return kNames;
}

const std::vector<std::string>& reconstruction_names() {
  static const std::vector<std::string> kNames = {"l2", "bernoulli"};
  return kNames;
}

const std::vector<int>& input_sizes() {
  static const std::vector<int> kSizes = {32, 64};
  return kSizes;
}

std::string kind_name(ModelKind k) {
  switch (k) {
    case ModelKind::kDetectorVae: return "detector";
    case ModelKind::kVae: return "vae";
    case ModelKind::kDcae: return "dcae";
  }
  return "?";
}

ModelKind parse_kind(const std::string& s) {
  if (s == "detector") return ModelKind::kDetectorVae;
  if (s == "vae") return ModelKind::kVae;
  if (s == "dcae") return ModelKind::kDcae;
  throw UsageError("unknown model kind '" + s + "' (expected detector, vae or dcae)");
}

std::string reconstruction_name(Reconstruction r) { return r == Reconstruction::kL2 ? "l2" : "bernoulli"; }

Reconstruction parse_reconstruction(const std::string& s) {
  if (s == "l2") return Reconstruction::kL2;
  if (s == "bernoulli") return Reconstruction::kBernoulli;
  throw UsageError("unknown reconstruction loss '" + s + "' (expected l2 or bernoulli)");
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

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  ModelConfig c;
  try {
    c.kind = parse_kind(j.at("kind").get<std::string>());
    c.channels = j.at("channels").get<int>();
    c.input_size = j.at("input_size").get<int>();
    c.latent_dim = j.at("latent_dim").get<int>();
    c.encoder_dense = j.at("encoder_dense").get<int>();
    c.decoder_dense = j.at("decoder_dense").get<int>();
    c.gamma = j.at("gamma").get<double>();
    c.eta = j.at("eta").get<double>();
    c.kl_weight = j.at("kl_weight").get<double>();
    c.learn_precision = j.at("learn_precision").get<bool>();
    c.reconstruction = parse_reconstruction(j.at("reconstruction").get<std::string>());
    c.disc_layers = j.at("disc_layers").get<int>();
    c.disc_units = j.at("disc_units").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("model config: ") + e.what());
  }
  c.validate();
  return c;
}

void ModelConfig::validate() const {
  OIAD_CHECK(channels == 1 || channels == 3, "model config: channels ", channels, " not 1 or 3");
  OIAD_CHECK(std::find(input_sizes().begin(), input_sizes().end(), input_size) != input_sizes().end(),
             "model config: input size ", input_size, " not 32 or 64");
  OIAD_CHECK(latent_dim >= 1 && latent_dim <= 1024, "model config: latent_dim ", latent_dim, " out of range");
  OIAD_CHECK(encoder_dense >= 1 && decoder_dense >= 1, "model config: dense widths must be positive");
  OIAD_CHECK(gamma >= 0 && eta >= 0 && kl_weight >= 0, "model config: loss weights must be >= 0");
  OIAD_CHECK(disc_layers >= 1 && disc_units >= 1, "model config: discriminator size must be positive");
}

}  // namespace oiad::model

// The VAE and DCAE baselines of Table II: trained like the Detector-VAE (workflow::
// run_train_job, with checkpoints), scored by the reconstruction error of the decoded mean
// code, detect::reconstruction_scores, the scorer `oiad score` uses for such models.
#include <filesystem>

#include "method.h"
#include "oiad/detect/pipeline.h"
#include "oiad/model/model_io.h"

namespace oiad::experiment::detail {

namespace {

class AutoencoderMethod : public Method {
 public:
  explicit AutoencoderMethod(model::ModelKind kind) : kind_(kind) {}

  std::string model_file() const override { return model::kind_name(kind_) + ".oiad"; }

  void load(const Context&, const std::string& path) override {
    r_ = workflow::TrainJobResult{};
    r_.model = model::load_model(path);
    for (const auto& e : r_.model.file.meta.at("training").at("history")) {
      r_.state.history.push_back(train::EpochRecord::from_json(e));
      r_.train_seconds += r_.state.history.back().seconds;
    }
    r_.state.epochs_done = int(r_.state.history.size());
  }

  void fit(const Context& c, const std::string& path) override {
    workflow::TrainJob job;
    job.split = c.split;
    job.config = model::ModelConfig::defaults(kind_, c.ds.channels, c.o.input_size);
    job.train = c.o.train;
    job.out = path;
    job.resume = std::filesystem::exists(path + ".ckpt");
    job.calibrate = false;
    job.seed = c.o.seed;
    r_ = workflow::run_train_job(c.ds, job);
  }

  std::vector<double> score(const torch::Tensor& x, torch::Tensor* maps) override {
    return detect::reconstruction_scores(r_.model.net, x, 256, maps);
  }

  std::string map_description() const override {
    return "per-pixel squared error of the decoded mean code, summed over channels";
  }

  double fit_seconds() const override { return r_.train_seconds; }

  nlohmann::json details() override {
    const auto& cfg = r_.model.net->config;
    return {{"score", "reconstruction error of the decoded mean code (" + model::reconstruction_name(cfg.reconstruction) +
                          ")"},
            {"final_epoch", r_.state.history.empty() ? nlohmann::json() : r_.state.history.back().to_json()}};
  }

 private:
  model::ModelKind kind_;
  workflow::TrainJobResult r_;
};

}  // namespace

std::unique_ptr<Method> make_autoencoder_method(model::ModelKind kind) {
  return std::make_unique<AutoencoderMethod>(kind);
}

}  // namespace oiad::experiment::detail

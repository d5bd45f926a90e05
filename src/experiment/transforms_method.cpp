// Transformation prediction (peers/transform_prediction.h, GEOM-type) as a same-run peer: a
// classifier of the geometric transformations applied to normal images, scored by GEOM's
// Dirichlet score or the summed log-probability.
#include "method.h"
#include "oiad/core/progress.h"
#include "oiad/peers/transform_prediction.h"
#include "oiad/report/document.h"

namespace oiad::experiment::detail {

namespace {

peers::TransformPredictionOptions seeded(const ExperimentOptions& o) {
  peers::TransformPredictionOptions p = o.transforms;
  p.seed = o.seed;
  return p;
}

class TransformsMethod : public Method {
 public:
  explicit TransformsMethod(const Context& c) : p_(seeded(c.o)), m_(c.ds.channels, c.o.input_size, p_) {}

  std::string model_file() const override { return "transforms.pt"; }

  void load(const Context&, const std::string& path) override { m_.load(path); }

  void fit(const Context& c, const std::string& path) override {
    const torch::Tensor x = c.input(c.split.train);
    const int epochs = p_.epochs(m_.transforms());
    c.log("transforms: " + std::to_string(x.size(0)) + " training images, " + std::to_string(m_.transforms()) +
          " transformations (" + peers::transform_set_name(p_.transforms) + "), WRN-" + std::to_string(p_.depth) +
          "-" + std::to_string(p_.widen) + ", " + std::to_string(epochs) + " epochs");
    ProgressPrinter progress("transforms", 30.0, [&](const std::string& line) { c.log(line); }, bool(c.o.log));
    h_ = m_.fit(x, [&](int e, int n, double loss) {
      progress.update(e, n, "epoch " + std::to_string(e) + "/" + std::to_string(n) + ", loss " + report::fixed(loss, 4));
    });
    m_.save(path);
  }

  std::vector<double> score(const torch::Tensor& x, torch::Tensor*) override { return to_scores(m_.score(x)); }

  double fit_seconds() const override { return h_.train_seconds + h_.dirichlet_seconds; }

  nlohmann::json details() override {
    return {{"score", p_.score == "dirichlet" ? "GEOM's Dirichlet normality score, negated"
                                              : "minus the summed log-probability of the right transformation"},
            {"set", peers::transform_set_name(p_.transforms)},
            {"transformations", m_.transforms()},
            {"network", "WRN-" + std::to_string(p_.depth) + "-" + std::to_string(p_.widen)},
            {"epochs", p_.epochs(m_.transforms())},
            {"passes", p_.passes},
            {"train_seconds", h_.train_seconds},
            {"dirichlet_seconds", h_.dirichlet_seconds},
            {"final_loss", last_or_null(h_.loss)},
            {"final_accuracy", last_or_null(h_.accuracy)}};
  }

 private:
  peers::TransformPredictionOptions p_;
  peers::TransformPrediction m_;
  peers::TransformPredictionHistory h_;
};

}  // namespace

std::unique_ptr<Method> make_transforms_method(const Context& c) { return std::make_unique<TransformsMethod>(c); }

}  // namespace oiad::experiment::detail

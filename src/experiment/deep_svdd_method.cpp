// Deep SVDD (peers/deep_svdd.h) as a same-run peer: the authors' networks and schedule
// (shortened for colour images, experiment.h's deepsvdd_options), scored by the squared
// distance to the centre.
#include "method.h"
#include "oiad/core/progress.h"
#include "oiad/peers/deep_svdd.h"
#include "oiad/report/document.h"

namespace oiad::experiment::detail {

namespace {

class DeepSvddMethod : public Method {
 public:
  explicit DeepSvddMethod(const Context& c)
      : p_(deepsvdd_options(c.o, c.ds.channels)), m_(c.ds.channels, c.o.input_size, p_) {}

  std::string model_file() const override { return "deepsvdd.pt"; }

  void load(const Context&, const std::string& path) override { m_.load(path); }

  void fit(const Context& c, const std::string& path) override {
    const torch::Tensor x = c.input(c.split.train);
    c.log("deepsvdd: " + std::to_string(x.size(0)) + " training images, autoencoder " + std::to_string(p_.ae_epochs) +
          " epochs, Deep SVDD " + std::to_string(p_.epochs) + " epochs");
    ProgressPrinter progress("deepsvdd", 30.0, [&](const std::string& line) { c.log(line); }, bool(c.o.log));
    const int64_t total = int64_t(p_.ae_epochs) + p_.epochs;
    h_ = m_.fit(x, [&](const std::string& phase, int e, int n, double loss) {
      const int64_t done = phase == "autoencoder" ? e : int64_t(p_.ae_epochs) + e;
      progress.update(done, total, phase + " epoch " + std::to_string(e) + "/" + std::to_string(n) + ", loss " +
                                       report::fixed(loss, 4));
    });
    m_.save(path);
  }

  std::vector<double> score(const torch::Tensor& x, torch::Tensor*) override { return to_scores(m_.score(x)); }

  double fit_seconds() const override { return h_.ae_seconds + h_.svdd_seconds; }

  nlohmann::json details() override {
    return {{"score", "squared distance of the network output to the centre, ‖φ(x) − c‖²"},
            {"ae_epochs", p_.ae_epochs},
            {"ae_lr_milestone", p_.ae_lr_milestone},
            {"epochs", p_.epochs},
            {"lr_milestone", p_.lr_milestone},
            {"ae_seconds", h_.ae_seconds},
            {"svdd_seconds", h_.svdd_seconds},
            {"ae_final_loss", last_or_null(h_.ae_loss)},
            {"svdd_final_loss", last_or_null(h_.svdd_loss)}};
  }

 private:
  peers::DeepSvddOptions p_;
  peers::DeepSvdd m_;
  peers::DeepSvddHistory h_;
};

}  // namespace

std::unique_ptr<Method> make_deep_svdd_method(const Context& c) { return std::make_unique<DeepSvddMethod>(c); }

}  // namespace oiad::experiment::detail

// The DRAEM-type peer (peers/recseg.h) as a same-run method: trained on the split's train
// part with simulated anomalies from the run's anomaly sources, scored by the highest value
// of its mean-filtered segmentation map; the map itself is measured against the masks.
#include "method.h"
#include "oiad/core/error.h"
#include "oiad/core/progress.h"
#include "oiad/peers/recseg.h"
#include "oiad/report/document.h"

namespace oiad::experiment::detail {

namespace {

peers::RecSegOptions options_of(const ExperimentOptions& o) {
  peers::RecSegOptions p = o.recseg;
  p.seed = o.seed;
  return p;
}

class RecSegMethod : public Method {
 public:
  explicit RecSegMethod(const Context& c) : p_(options_of(c.o)), m_(c.ds.channels, c.o.input_size, p_) {}

  std::string model_file() const override { return "recseg.pt"; }

  void load(const Context&, const std::string& path) override { m_.load(path); }

  void fit(const Context& c, const std::string& path) override {
    const torch::Tensor x = c.input(c.split.train);
    const peers::AnomalySources sources = read_sources(c);
    c.log("recseg: " + std::to_string(x.size(0)) + " training images, " + std::to_string(sources.images.size(0)) +
          " anomaly sources (" + sources.name + "), " + std::to_string(p_.steps) + " steps of " +
          std::to_string(p_.batch_size));
    ProgressPrinter progress("recseg", 30.0, [&](const std::string& line) { c.log(line); }, bool(c.o.log));
    h_ = m_.fit(x, sources, [&](int step, int steps, double loss) {
      progress.update(step, steps, "step " + std::to_string(step) + "/" + std::to_string(steps) + ", loss " +
                                       report::fixed(loss, 4));
    });
    sources_ = sources.name;
    m_.save(path);
  }

  std::vector<double> score(const torch::Tensor& x, torch::Tensor* maps) override {
    return to_scores(m_.score(x, maps));
  }

  std::string map_description() const override {
    return "the discriminative network's probability of the anomalous class at each pixel";
  }

  double fit_seconds() const override { return m_.trained_seconds(); }

  nlohmann::json details() override {
    return {{"score", "highest value of the segmentation map after a " + std::to_string(m_.filter_side()) + "x" +
                          std::to_string(m_.filter_side()) + " mean filter"},
            {"rec_width", p_.rec_width},
            {"seg_width", p_.seg_width},
            {"depths", {peers::reconstructive_depth(m_.input_size()), peers::discriminative_depth(m_.input_size())}},
            {"steps", p_.steps},
            {"batch_size", p_.batch_size},
            {"anomaly_sources", sources_.empty() ? nlohmann::json(nullptr) : nlohmann::json(sources_)},
            {"final_loss", last_or_null(h_.loss)},
            {"final_focal_loss", last_or_null(h_.focal)},
            {"final_l2_loss", last_or_null(h_.l2)},
            {"final_ssim_loss", last_or_null(h_.ssim)}};
  }

 private:
  // The run's anomaly sources at the network's side and channels.
  peers::AnomalySources read_sources(const Context& c) const {
    const ExperimentOptions& o = c.o;
    const int side = o.input_size, channels = c.ds.channels;
    if (o.recseg_source == "procedural")
      return peers::procedural_sources(channels, side, int(std::min<int64_t>(o.recseg_sources, 100000)), o.seed);
    OIAD_CHECK_USAGE(bool(o.read_images), "experiment: recseg: anomaly source ", o.recseg_source,
                     ": this run reads no image files (use --anomaly-source procedural)");
    return peers::sources_from_pixels(o.read_images(o.recseg_source, side, channels, o.recseg_sources, o.seed),
                                      channels, side, o.recseg_source);
  }

  peers::RecSegOptions p_;
  peers::RecSeg m_;
  peers::RecSegHistory h_;
  std::string sources_;
};

}  // namespace

std::unique_ptr<Method> make_recseg_method(const Context& c) { return std::make_unique<RecSegMethod>(c); }

}  // namespace oiad::experiment::detail

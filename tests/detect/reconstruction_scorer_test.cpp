// The reconstruction scorer of the VAE and DCAE baselines (detect::Scorer::kReconstruction)
// and the segmentation scorer of recseg models (kSegmentation): scores, threshold and
// p-values against values computed here from the networks' own layers and from the
// definitions (numpy's linear quantile, the conformal p-value by counting).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "oiad/core/error.h"
#include "oiad/detect/pipeline.h"
#include "oiad/peers/recseg.h"
#include "test_util.h"

namespace oiad::detect {
namespace {

model::LoadedModel tiny_dcae() {
  torch::manual_seed(3);
  model::ModelConfig c = model::ModelConfig::defaults(model::ModelKind::kDcae, 1, 32);
  c.latent_dim = 4;
  model::LoadedModel m;
  m.net = model::DetectorVae(c);
  return m;
}

// Σ over pixels of (x - decoder(encoder mean(x)))², the l2 reconstruction error of a DCAE
// (linear decoder output), per image.
std::vector<double> l2_errors(model::DetectorVae net, const torch::Tensor& x) {
  torch::NoGradGuard ng;
  net->eval();
  const torch::Tensor out = net->decoder->forward(net->encoder->forward(x).first);
  const torch::Tensor e = (x - out).pow(2).sum({1, 2, 3}).to(torch::kDouble).contiguous();
  return std::vector<double>(e.data_ptr<double>(), e.data_ptr<double>() + e.numel());
}

// numpy.quantile(v, p) with its default linear interpolation, written out.
double numpy_quantile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double h = (double(v.size()) - 1) * p;
  const size_t lo = size_t(std::floor(h));
  const size_t hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (h - double(lo)) * (v[hi] - v[lo]);
}

// A DCAE scores each image by its reconstruction error, decides by the one-sided rule at the
// calibration's f against the VAL errors' (1 - f)-quantile, and gives conformal p-values.
TEST(ReconstructionScorer, ScoresThresholdAndPValuesByDefinition) {
  model::LoadedModel m = tiny_dcae();
  torch::manual_seed(4);
  const torch::Tensor val = torch::rand({9, 1, 32, 32}) * 0.5;
  const torch::Tensor test = torch::cat({torch::rand({3, 1, 32, 32}) * 0.5, torch::rand({3, 1, 32, 32})});
  calibrate_into(m, DetectorOptions{}, val, DecisionRule{Rule::kOneSided, 0.4, 0.2});
  const CalibratedDetector d = calibrated_from(m, "m.oiad");
  EXPECT_EQ(d.scorer, Scorer::kReconstruction);
  EXPECT_TRUE(d.has_change_maps());
  EXPECT_TRUE(d.metrics().empty());

  const std::vector<double> val_err = l2_errors(m.net, val), want = l2_errors(m.net, test);
  ScoreOptions o;
  o.change_maps = true;
  o.block = 4;  // blocks do not change scores
  const ScoreResult r = score(d, test, o);
  EXPECT_EQ(r.plan.score_name, "reconstruction");
  EXPECT_EQ(r.plan.decision.rule, Rule::kOneSided);
  EXPECT_DOUBLE_EQ(r.plan.level, 0.2);
  EXPECT_NEAR(r.plan.threshold, numpy_quantile(val_err, 0.8), 1e-9 * r.plan.threshold);
  ASSERT_EQ(r.images.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(r.images[i].score, want[i], 1e-4 * want[i]) << i;
    EXPECT_EQ(r.images[i].anomalous, r.images[i].score > r.plan.threshold) << i;
    const double at_least = double(std::count_if(val_err.begin(), val_err.end(), [&](double v) {
      return v >= r.images[i].score;
    }));
    EXPECT_NEAR(r.images[i].p_value, (1 + at_least) / 10.0, 1e-12) << i;
    EXPECT_TRUE(r.images[i].consistency[0].empty());
  }
  // The change map is the per-pixel squared error against the decode as an image (clamped
  // to [0, 1]), summed over channels.
  ASSERT_EQ(r.change_maps.sizes(), (std::vector<int64_t>{6, 32, 32}));
  {
    torch::NoGradGuard ng;
    const torch::Tensor out = m.net->decoder->forward(m.net->encoder->forward(test).first).clamp(0, 1);
    EXPECT_TRUE(torch::allclose(r.change_maps, (test - out).pow(2).sum(1), 1e-5, 1e-6));
  }

  // fpr overrides the stored level; a metric or another rule is refused, as a usage error.
  ScoreOptions f;
  f.decision.fpr = 0.5;
  EXPECT_NEAR(score(d, test, f).plan.threshold, numpy_quantile(val_err, 0.5), 1e-9 * numpy_quantile(val_err, 0.5));
  ScoreOptions metric;
  metric.metric = Metric::kSsim;
  EXPECT_THROW(plan_scoring(d, metric), UsageError);
  ScoreOptions paper;
  paper.decision.rule = "paper";
  EXPECT_THROW(plan_scoring(d, paper), UsageError);
  EXPECT_THROW(morph_strip(d, test.slice(0, 0, 1), Metric::kSsim, 0.4, 1, 2), UsageError);
  // Calibrating a reconstruction model for the paper rule is refused.
  EXPECT_THROW(calibrate_into(m, DetectorOptions{}, val, DecisionRule{Rule::kPaper, 0.4, 0.05}), UsageError);
}

// A VAE or DCAE file whose calibration is of the structure-consistency kind (as files written
// before reconstruction scoring have) or is damaged is refused with the file's name.
TEST(ReconstructionScorer, RefusesForeignOrDamagedCalibrations) {
  model::LoadedModel m = tiny_dcae();
  torch::manual_seed(5);
  const torch::Tensor val = torch::rand({5, 1, 32, 32});
  calibrate_into(m, DetectorOptions{}, val, DecisionRule{});
  EXPECT_NO_THROW(calibrated_from(m, "m.oiad"));
  auto refused = [](const model::LoadedModel& bad, const std::string& what) {
    try {
      calibrated_from(bad, "m.oiad");
      ADD_FAILURE() << "accepted: " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("m.oiad"), std::string::npos) << e.what();
    }
  };
  model::LoadedModel foreign = m;
  foreign.file.meta["calibration"] = {{"codes", {0, 1}}, {"alpha", 0.4}};
  refused(foreign, "a structure-consistency calibration");
  model::LoadedModel unsorted = m;
  auto& v = unsorted.file.meta["calibration"]["val_reconstruction"];
  std::swap(v[0], v[4]);
  refused(unsorted, "unsorted VAL errors");
  model::LoadedModel short_list = m;
  short_list.file.meta["calibration"]["n_val"] = 6;
  refused(short_list, "n_val not matching");
  model::LoadedModel bad_fpr = m;
  bad_fpr.file.meta["calibration"]["fpr"] = 1.5;
  refused(bad_fpr, "fpr 1.5");
}

// A recseg model file: written with its settings, read back into the same networks (scores
// equal to the in-memory model's), calibrated on VAL by its one score, and scored through the
// common pipeline: the score is the segmenter's own (the highest mean-filtered map value),
// the threshold numpy's quantile of the VAL scores, p-values by counting, the map the
// segmenter's; a calibration of another scorer is refused.
TEST(SegmentationScorer, ModelFileCalibrationAndScoresByDefinition) {
  test::TempDir dir;
  peers::RecSegOptions o;
  o.rec_width = 4;
  o.seg_width = 4;
  o.steps = 3;
  o.batch_size = 2;
  o.seed = 7;
  torch::manual_seed(8);
  const torch::Tensor train = torch::rand({6, 1, 32, 32}) * 0.5;
  peers::RecSeg seg(1, 32, o);
  seg.fit(train, peers::procedural_sources(1, 32, 3, 0));
  const std::string path = dir.file("r.oiad");
  model::ModelFile file;
  file.meta["dataset"] = "synthetic";
  file.meta["recseg"] = peers::recseg_options_to_json(o);
  model::save_segmenter(path, *seg.segmenter(), file);

  model::LoadedModel m = model::load_model(path);
  ASSERT_TRUE(m.segmenter);
  EXPECT_FALSE(m.net);
  EXPECT_EQ(m.config().kind, model::ModelKind::kRecSeg);
  EXPECT_EQ(m.config().input_size, 32);
  EXPECT_EQ(m.file.meta["recseg"]["rec_width"], 4);
  EXPECT_EQ(m.file.meta["config"], (nlohmann::json{{"kind", "recseg"}, {"channels", 1}, {"input_size", 32}}));
  torch::manual_seed(9);
  const torch::Tensor val = torch::rand({9, 1, 32, 32}) * 0.5;
  const torch::Tensor test = torch::cat({torch::rand({3, 1, 32, 32}) * 0.5, torch::rand({3, 1, 32, 32})});
  torch::Tensor want_maps;
  const torch::Tensor want = seg.score(test, &want_maps);
  EXPECT_TRUE(torch::allclose(m.segmenter->score(test), want));

  calibrate_into(m, DetectorOptions{}, val, DecisionRule{Rule::kOneSided, 0.4, 0.2});
  EXPECT_EQ(m.file.meta["calibration"]["scorer"], "segmentation");
  const CalibratedDetector d = calibrated_from(m, "r.oiad");
  EXPECT_EQ(d.scorer, Scorer::kSegmentation);
  EXPECT_TRUE(d.single_score());
  EXPECT_TRUE(d.has_change_maps());
  EXPECT_TRUE(d.metrics().empty());
  const torch::Tensor val_scores = seg.score(val).contiguous();
  const std::vector<double> val_v(val_scores.data_ptr<double>(), val_scores.data_ptr<double>() + 9);
  ScoreOptions so;
  so.change_maps = true;
  so.block = 4;
  const ScoreResult r = score(d, test, so);
  EXPECT_EQ(r.plan.score_name, "segmentation");
  EXPECT_EQ(r.plan.decision.rule, Rule::kOneSided);
  EXPECT_NEAR(r.plan.threshold, numpy_quantile(val_v, 0.8), 1e-12);
  ASSERT_EQ(r.images.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(r.images[i].score, want[int64_t(i)].item<double>(), 1e-6) << i;
    EXPECT_EQ(r.images[i].anomalous, r.images[i].score > r.plan.threshold) << i;
    const double at_least =
        double(std::count_if(val_v.begin(), val_v.end(), [&](double v) { return v >= r.images[i].score; }));
    EXPECT_NEAR(r.images[i].p_value, (1 + at_least) / 10.0, 1e-12) << i;
  }
  EXPECT_TRUE(torch::allclose(r.change_maps, want_maps, 1e-5, 1e-6));
  // A metric or the paper rule is refused; so is a reconstruction model's calibration.
  ScoreOptions metric;
  metric.metric = Metric::kMse;
  EXPECT_THROW(score(d, test, metric), UsageError);
  ScoreOptions paper;
  paper.decision.rule = "paper";
  EXPECT_THROW(score(d, test, paper), UsageError);
  model::LoadedModel foreign = m;
  foreign.file.meta["calibration"]["scorer"] = "reconstruction";
  EXPECT_THROW(calibrated_from(foreign, "r.oiad"), Error);
  // Settings that do not match the stored networks are refused naming the file.
  model::ModelFile other = model::ModelFile::load(path);
  other.meta["recseg"]["seg_width"] = 8;
  try {
    model::model_from_file(other, "r.oiad");
    ADD_FAILURE() << "networks of other widths were loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("r.oiad"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace oiad::detect

// The experiment runner end to end on a tiny synthetic data set, and its pieces.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "oiad/core/error.h"
#include "oiad/core/random.h"
#include "oiad/data/split.h"
#include "oiad/data/resize.h"
#include "oiad/detect/pipeline.h"
#include "oiad/detect/tiling.h"
#include "oiad/experiment/experiment.h"
#include "oiad/model/preprocess.h"
#include "oiad/peers/deep_svdd.h"
#include "oiad/peers/transform_prediction.h"
#include "test_util.h"

namespace oiad {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(test::read_text(path)); }

// Three classes of 28x28 images: a horizontal bar, a vertical bar, a square, each at a
// random position with noise. Class 0 is the normal class of the tests.
data::Dataset synthetic(int per_class_train, int per_class_test) {
  data::Dataset ds;
  ds.name = "synthetic";
  ds.source = "memory";
  ds.channels = 1, ds.height = 28, ds.width = 28;
  ds.class_names = {"hbar", "vbar", "square"};
  Rng rng(5);
  auto fill = [&](data::ImageSet& set, int per_class) {
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < per_class; ++i) {
        std::vector<uint8_t> img(28 * 28);
        for (auto& p : img) p = uint8_t(rng.uniform_index(30));
        const int a = 6 + int(rng.uniform_index(16)), b = 4 + int(rng.uniform_index(4));
        for (int y = 0; y < 28; ++y)
          for (int x = 0; x < 28; ++x) {
            const bool on = c == 0 ? (y >= a && y < a + 3 && x >= b && x < 28 - b)
                          : c == 1 ? (x >= a && x < a + 3 && y >= b && y < 28 - b)
                                   : (x >= a - 4 && x < a + 4 && y >= a - 4 && y < a + 4);
            if (on) img[size_t(y * 28 + x)] = uint8_t(200 + rng.uniform_index(56));
          }
        set.pixels.insert(set.pixels.end(), img.begin(), img.end());
        set.labels.push_back(c);
        ++set.count;
      }
  };
  fill(ds.train, per_class_train);
  fill(ds.test, per_class_test);
  return ds;
}

experiment::ExperimentOptions tiny_options(const std::string& out) {
  experiment::ExperimentOptions o;
  o.out = out;
  o.train.epochs = 1;
  o.train.batch_size = 16;
  o.train.verbose = false;
  o.pca_dims = {4, 8};
  o.gmm_max_components = 3;
  o.holdout_fraction = 0.2;
  o.strips_per_label = 1;
  o.top_grid = 8;
  return o;
}

// The reported test part an experiment folder's split.json lists.
data::SplitPart reported_test(const std::string& out) {
  const auto split = read_json(out + "/split.json");
  data::SplitPart reported;
  reported.source = split["reported_test"]["source"];
  reported.index = split["reported_test"]["index"].get<std::vector<int64_t>>();
  reported.anomalous = split["reported_test"]["anomalous"].get<std::vector<uint8_t>>();
  return reported;
}

// The holdout is stratified, seeded, disjoint from the reported test part, and their union
// is the whole test part.
TEST(Experiment, HoldoutIsStratifiedAndDisjoint) {
  data::SplitPart p;
  p.source = "test";
  for (int i = 0; i < 100; ++i) p.index.push_back(i), p.anomalous.push_back(i < 60 ? 1 : 0);
  std::vector<size_t> rest, rest2;
  const auto h = experiment::draw_holdout(p, 0.1, 500, 3, rest);
  EXPECT_EQ(h, experiment::draw_holdout(p, 0.1, 500, 3, rest2));
  EXPECT_EQ(rest, rest2);
  int ano = 0;
  for (size_t i : h) ano += p.anomalous[i];
  EXPECT_EQ(ano, 6);                 // 10% of 60
  EXPECT_EQ(int(h.size()) - ano, 4);  // 10% of 40
  std::set<size_t> all(h.begin(), h.end());
  for (size_t i : rest) EXPECT_TRUE(all.insert(i).second) << i;
  EXPECT_EQ(all.size(), 100u);
  EXPECT_NE(h, experiment::draw_holdout(p, 0.1, 500, 4, rest2));
  // The cap holds across labels; a label with one image keeps it in the reported part.
  EXPECT_LE(experiment::draw_holdout(p, 0.4, 10, 3, rest2).size(), 10u);
  data::SplitPart q;
  q.index = {0, 1, 2};
  q.anomalous = {0, 0, 1};
  const auto hq = experiment::draw_holdout(q, 0.4, 10, 1, rest2);
  for (size_t i : hq) EXPECT_EQ(q.anomalous[i], 0);
}

// Bad options are refused before any work.
TEST(Experiment, RefusesBadOptions) {
  auto o = tiny_options("never-created");
  o.methods = {"oiad", "svdd"};
  EXPECT_THROW(experiment::check_options(o), UsageError);
  o = tiny_options("never-created");
  o.metrics = {"psnr"};
  EXPECT_THROW(experiment::check_options(o), UsageError);
  o = tiny_options("never-created");
  o.alpha = 0.7;
  EXPECT_THROW(experiment::check_options(o), UsageError);
  o = tiny_options("never-created");
  o.methods = {"deepsvdd"};
  o.input_size = 64;
  EXPECT_THROW(experiment::check_options(o), UsageError);
  o = tiny_options("never-created");
  o.deepsvdd_epochs = {3};
  EXPECT_THROW(experiment::check_options(o), UsageError);
  o.deepsvdd_epochs = {3, 0};
  EXPECT_THROW(experiment::check_options(o), UsageError);
  o.deepsvdd_epochs = {0, 1};
  EXPECT_NO_THROW(experiment::check_options(o));
  o = tiny_options("never-created");
  o.transforms.depth = 12;
  EXPECT_THROW(experiment::check_options(o), UsageError);
  o = tiny_options("never-created");
  o.transforms.passes = 0;
  EXPECT_THROW(experiment::check_options(o), UsageError);
  o = tiny_options("never-created");
  o.transforms.score = "entropy";
  EXPECT_THROW(experiment::check_options(o), UsageError);
  o = tiny_options("never-created");
  o.transforms.transforms = {false, false, false};
  EXPECT_THROW(experiment::check_options(o), UsageError);
  o = tiny_options("");
  EXPECT_THROW(experiment::check_options(o), UsageError);
}

// Deep SVDD runs as a method of the experiment: its stored scores are those of the stored
// model on the reported test images (loaded and scored again here), its AUC their brute-force
// AUC; a shortened schedule keeps the learning-rate drops at their share and is recorded;
// it joins a folder whose other methods ran first, and a second run reuses it.
TEST(ExperimentRun, EndToEndDeepSvdd) {
  test::TempDir dir;
  const std::string out = dir.file("exp");
  const data::Dataset ds = synthetic(40, 12);
  auto o = tiny_options(out);
  o.deepsvdd_epochs = {3, 6};
  o.methods = {"kde"};
  experiment::run_experiment(ds, 0, o);
  o.methods = {"kde", "deepsvdd"};
  const nlohmann::json res = experiment::run_experiment(ds, 0, o);
  ASSERT_TRUE(res["methods"].contains("deepsvdd"));
  EXPECT_EQ(read_json(out + "/experiment.json")["deepsvdd_epochs"], (nlohmann::json{3, 6}));
  const auto mj = read_json(out + "/methods/deepsvdd.json");
  EXPECT_EQ(mj["details"]["ae_epochs"], 3);
  EXPECT_EQ(mj["details"]["epochs"], 6);
  EXPECT_EQ(mj["details"]["ae_lr_milestone"], 1);  // 50 of 150 epochs -> 1 of 3
  EXPECT_EQ(mj["details"]["lr_milestone"], 2);     // 50 of 150 -> 2 of 6
  const data::SplitPart reported = reported_test(out);
  const auto s = mj["scores"].get<std::vector<double>>();
  ASSERT_EQ(s.size(), reported.size());
  std::vector<int> labels(reported.anomalous.begin(), reported.anomalous.end());
  EXPECT_NEAR(test::brute_auc(s, labels), res["methods"]["deepsvdd"]["auc"].get<double>(), 1e-12);
  peers::DeepSvdd m(1, 32, peers::DeepSvddOptions{});
  m.load(out + "/models/deepsvdd.pt");
  const auto px = data::gather_pixels(ds, reported);
  const auto again = m.score(model::images_to_input(px.data(), int64_t(reported.size()), 1, 28, 28, 32));
  for (size_t i = 0; i < s.size(); ++i) EXPECT_NEAR(again[int64_t(i)].item<double>(), s[i], 1e-9 * (1 + s[i])) << i;
  const nlohmann::json res2 = experiment::run_experiment(ds, 0, o);
  EXPECT_EQ(res2["methods"]["deepsvdd"]["auc"], res["methods"]["deepsvdd"]["auc"]);
}

// The transformation-prediction peer runs as a method of the experiment: it joins a folder
// whose other methods ran first and records its settings there; its stored scores are those
// of the stored model on the reported test images, its AUC their brute-force AUC; a second
// run reuses it, and a run with another classifier refuses the folder.
TEST(ExperimentRun, EndToEndTransforms) {
  test::TempDir dir;
  const std::string out = dir.file("exp");
  const data::Dataset ds = synthetic(40, 12);
  auto o = tiny_options(out);
  o.methods = {"kde"};
  experiment::run_experiment(ds, 0, o);
  o.methods = {"kde", "transforms"};
  o.transforms.transforms = {true, false, true};
  o.transforms.depth = 10;
  o.transforms.widen = 1;
  o.transforms.passes = 16;
  o.transforms.score = "logprob";
  const nlohmann::json res = experiment::run_experiment(ds, 0, o);
  ASSERT_TRUE(res["methods"].contains("transforms"));
  EXPECT_EQ(read_json(out + "/experiment.json")["transforms"],
            (nlohmann::json{{"set", "flip,rotate"}, {"depth", 10}, {"widen", 1}, {"passes", 16}, {"score", "logprob"}}));
  const auto mj = read_json(out + "/methods/transforms.json");
  EXPECT_EQ(mj["details"]["transformations"], 8);
  EXPECT_EQ(mj["details"]["epochs"], 2);  // ⌈16 / 8⌉
  const data::SplitPart reported = reported_test(out);
  const auto s = mj["scores"].get<std::vector<double>>();
  ASSERT_EQ(s.size(), reported.size());
  std::vector<int> labels(reported.anomalous.begin(), reported.anomalous.end());
  EXPECT_NEAR(test::brute_auc(s, labels), res["methods"]["transforms"]["auc"].get<double>(), 1e-12);
  peers::TransformPrediction m(1, 32, o.transforms);
  m.load(out + "/models/transforms.pt");
  const auto px = data::gather_pixels(ds, reported);
  const auto again = m.score(model::images_to_input(px.data(), int64_t(reported.size()), 1, 28, 28, 32));
  for (size_t i = 0; i < s.size(); ++i)
    EXPECT_NEAR(again[int64_t(i)].item<double>(), s[i], 1e-6 * (1 + std::abs(s[i]))) << i;
  // The logprob score: minus the summed log-probability of the right transformation.
  const auto lp = m.log_probabilities(model::images_to_input(px.data(), 1, 1, 28, 28, 32))[0];
  double sum = 0;
  for (int64_t t = 0; t < 8; ++t) sum += lp[t][t].item<double>();
  EXPECT_NEAR(s[0], -sum, 1e-5 * (1 + std::abs(sum)));
  const nlohmann::json res2 = experiment::run_experiment(ds, 0, o);
  EXPECT_EQ(res2["methods"]["transforms"]["auc"], res["methods"]["transforms"]["auc"]);
  o.transforms.widen = 2;
  EXPECT_THROW(experiment::run_experiment(ds, 0, o), Error);
}

// The defects protocol runs every method from one call: the test part is the normal class's
// test images, half clean and half with a synthetic defect, and split.json keeps each
// image's defect so the same pixels can be rebuilt.
TEST(ExperimentRun, EndToEndDefectsProtocol) {
  test::TempDir dir;
  const std::string out = dir.file("exp");
  const data::Dataset ds = synthetic(40, 12);
  auto o = tiny_options(out);
  o.protocol = data::Protocol::kDefects;
  const nlohmann::json res = experiment::run_experiment(ds, 0, o);
  EXPECT_EQ(res["protocol"], "defects");
  EXPECT_EQ(res["n_test"].get<int>() + res["n_holdout"].get<int>(), 12);
  for (const char* m : {"oiad_mse", "oiad_loss", "oiad_ssim", "oiad_local", "vae", "dcae", "kde", "ocsvm", "gmm"}) {
    ASSERT_TRUE(res["methods"].contains(m)) << m;
    EXPECT_GE(res["methods"][m]["auc"].get<double>(), 0.0) << m;
    EXPECT_LE(res["methods"][m]["auc"].get<double>(), 1.0) << m;
  }
  const auto split = read_json(out + "/split.json");
  int defective = 0;
  for (const auto& d : split["test"]["defect"]) defective += !d.is_null();
  EXPECT_EQ(defective, 6);
  for (const char* part : {"holdout", "reported_test"}) {
    ASSERT_TRUE(split[part].contains("defect")) << part;
    EXPECT_EQ(split[part]["defect"].size(), split[part]["index"].size()) << part;
  }
  for (const auto& i : split["test"]["index"]) EXPECT_EQ(ds.test.labels[i.get<size_t>()], 0);

  // Change maps: the DCAE's pixel AUROC is that of its per-pixel squared reconstruction
  // error on the 28x28 image (the input's 2-pixel padding cut off) against the defect masks,
  // pooled over the reported test images; recomputed here by counting pairs.
  ASSERT_TRUE(res["methods"]["dcae"].contains("pixel_auroc"));
  EXPECT_FALSE(res["methods"]["kde"].contains("pixel_auroc"));
  // Per defect family: the families of the reported defective images, no other key.
  std::set<std::string> families;
  for (const auto& d : split["reported_test"]["defect"])
    if (!d.is_null()) families.insert(d.get<std::string>());
  std::set<std::string> kinds;
  const nlohmann::json& per_kind = res["methods"]["dcae"]["per_kind"];
  for (auto it = per_kind.begin(); it != per_kind.end(); ++it) kinds.insert(it.key());
  EXPECT_EQ(kinds, families);
  ASSERT_TRUE(res["methods"].contains("oiad_local"));
  const double local_pixel = res["methods"]["oiad_local"]["pixel_auroc"];
  EXPECT_GE(local_pixel, 0.0);
  EXPECT_LE(local_pixel, 1.0);
  const data::OneClassSplit sp = data::make_split(ds, 0, data::Protocol::kDefects, o.seed, o.limit);
  std::vector<size_t> rest;
  experiment::draw_holdout(sp.test, o.holdout_fraction, o.holdout_max, o.seed, rest);
  const data::SplitPart reported = sp.test.subset(rest);
  const auto px = data::gather_pixels(ds, reported);
  const auto masks = data::defect_masks(ds, reported);
  const int64_t n = int64_t(reported.size());
  auto dcae = model::load_model(out + "/models/dcae.oiad");
  torch::NoGradGuard ng;
  auto x = model::images_to_input(px.data(), n, 1, 28, 28, 32);
  auto err = (x - dcae.net->decoder->forward(dcae.net->encoder->forward(x).first)).pow(2).sum(1).contiguous();
  std::vector<double> pos, neg;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y < 28; ++y)
      for (int64_t c = 0; c < 28; ++c)
        (masks[size_t((i * 28 + y) * 28 + c)] ? pos : neg).push_back(err[i][y + 2][c + 2].item<double>());
  ASSERT_FALSE(pos.empty());
  double wins = 0;
  for (double p : pos)
    for (double q : neg) wins += p > q ? 1.0 : p == q ? 0.5 : 0.0;
  EXPECT_NEAR(res["methods"]["dcae"]["pixel_auroc"].get<double>(), wins / (double(pos.size()) * double(neg.size())), 1e-4);
  // Where maps meet masks, the configuration names the change map's box (the score's).
  EXPECT_EQ(res["configuration"]["local_form"]["map_smooth"], 3);
}

// Inspection photographs in memory: grey textures of mixed sizes (36-52 x 40-60 pixels);
// class 0 "good" without defects, class 1 "spot" with a bright 6x6 square whose mask is
// known. Every image carries a mask (all zero for the good ones).
data::Dataset inspection_set(int good, int spot) {
  data::Dataset ds;
  ds.name = "inspection";
  ds.source = "memory";
  ds.channels = 1;
  ds.class_names = {"good", "spot"};
  Rng rng(8);
  data::ImageSet& s = ds.train;
  for (int i = 0; i < good + spot; ++i) {
    const int h = 36 + int(rng.uniform_index(17)), w = 40 + int(rng.uniform_index(21));
    const bool defect = i >= good;
    s.heights.push_back(h);
    s.widths.push_back(w);
    s.offsets.push_back(int64_t(s.pixels.size()));
    std::vector<uint8_t> mask(size_t(h) * w, 0);
    const int y0 = 5 + int(rng.uniform_index(uint64_t(h - 16))), x0 = 5 + int(rng.uniform_index(uint64_t(w - 16)));
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const bool on = defect && y >= y0 && y < y0 + 6 && x >= x0 && x < x0 + 6;
        s.pixels.push_back(uint8_t(on ? 240 : 90 + 20 * ((x / 4 + y / 4) % 2) + int(rng.uniform_index(20))));
        mask[size_t(y) * w + x] = on;
      }
    s.masks.insert(s.masks.end(), mask.begin(), mask.end());
    s.has_mask.push_back(1);
    s.labels.push_back(defect ? 1 : 0);
    s.ids.push_back((defect ? "spot/" : "good/") + std::to_string(i) + ".png");
    ++s.count;
  }
  return ds;
}

// Images of mixed sizes with masks, the inspection protocol, the resize route: every method
// sees the images resized to the network; the DCAE's map (its squared error on the 32x32
// input) is brought back to each image's own size and measured there against its mask;
// recomputed here from the saved model and counted pair by pair.
TEST(ExperimentRun, InspectionResizedWithMasks) {
  test::TempDir dir;
  const std::string out = dir.file("exp");
  const data::Dataset ds = inspection_set(40, 14);
  auto o = tiny_options(out);
  o.protocol = data::Protocol::kInspection;
  o.methods = {"dcae", "gmm"};
  o.figures = false;
  const nlohmann::json res = experiment::run_experiment(ds, 0, o);
  EXPECT_EQ(res["protocol"], "inspection");
  ASSERT_TRUE(res["methods"]["dcae"].contains("aupro"));
  EXPECT_FALSE(res["methods"]["gmm"].contains("pixel_auroc"));
  const double aupro = res["methods"]["dcae"]["aupro"];
  EXPECT_GT(aupro, 0.0);
  EXPECT_LE(aupro, 1.0);
  const data::SplitPart reported = reported_test(out);
  auto dcae = model::load_model(out + "/models/dcae.oiad");
  torch::NoGradGuard ng;
  std::vector<double> pos, neg;
  for (size_t i = 0; i < reported.size(); ++i) {
    const data::ImageView v = ds.image("train", reported.index[i]);
    const auto small = data::resize_image(v.pixels, 1, v.height, v.width, 32, 32);
    const auto x = model::images_to_input(small.data(), 1, 1, 32, 32, 32);
    const auto err = (x - dcae.net->decoder->forward(dcae.net->encoder->forward(x).first)).pow(2).sum(1);
    const auto big = model::resize_maps(err, v.height, v.width)[0].to(torch::kDouble).contiguous();
    const double* m = big.data_ptr<double>();
    for (int p = 0; p < v.height * v.width; ++p) (v.mask[p] ? pos : neg).push_back(m[p]);
  }
  EXPECT_EQ(res["methods"]["dcae"]["pixel_images"].get<size_t>(), reported.size());
  EXPECT_NEAR(res["methods"]["dcae"]["pixel_auroc"].get<double>(), test::pair_count_auroc(pos, neg), 1e-4);
  // One kind of defect: its measures (its images with the normal ones) are the overall ones.
  const nlohmann::json& spot = res["methods"]["dcae"]["per_kind"]["spot"];
  EXPECT_NEAR(spot["pixel_auroc"].get<double>(), test::pair_count_auroc(pos, neg), 1e-4);
  EXPECT_DOUBLE_EQ(spot["aupro"].get<double>(), aupro);
}

// The tile route: the experiment's scores of the tiled DCAE and OIAD are those `oiad score`
// gives the saved model files (detect::score_tiled), image by image; maps are measured at
// full size; the feature baselines run on the resized images.
TEST(ExperimentRun, InspectionByTiles) {
  test::TempDir dir;
  const std::string out = dir.file("exp");
  const data::Dataset ds = inspection_set(40, 14);
  auto o = tiny_options(out);
  o.protocol = data::Protocol::kInspection;
  o.methods = {"oiad", "dcae", "gmm"};
  o.metrics = {"ssim", "local"};
  o.figures = false;
  o.tile = true;
  o.input_size = 32;
  o.tile_stride = 16;
  o.tiles = 200;
  const nlohmann::json res = experiment::run_experiment(ds, 0, o);
  EXPECT_EQ(read_json(out + "/experiment.json")["tile"]["stride"], 16);
  for (const char* m : {"dcae", "oiad_local"}) {
    ASSERT_TRUE(res["methods"][m].contains("aupro")) << m;
    EXPECT_EQ(res["methods"][m]["pixel_images"].get<size_t>(), res["n_test"].get<size_t>()) << m;
  }
  ASSERT_TRUE(res["methods"].contains("gmm"));
  const data::SplitPart reported = reported_test(out);
  for (const char* name : {"dcae", "oiad"}) {
    const std::string path = out + "/models/" + name + ".oiad";
    const detect::CalibratedDetector d = detect::load_detector(path, true);
    const detect::TileCalibration t = detect::tile_calibration(d.model, path);
    EXPECT_EQ(t.side, 32);
    EXPECT_EQ(t.stride, 16);
    const auto mj = read_json(out + "/methods/" + std::string(name) + ".json");
    const auto s = std::string(name) == "dcae" ? mj["scores"].get<std::vector<double>>()
                                                : mj["details"]["metrics"]["local"]["scores_one_sided"].get<std::vector<double>>();
    ASSERT_EQ(s.size(), reported.size());
    for (size_t i = 0; i < reported.size(); i += 3) {
      const double want = detect::score_tiled(d, t, ds.image("train", reported.index[i]), 0.05, false).image.score;
      EXPECT_NEAR(s[i], want, 1e-6 * (1 + std::abs(want))) << name << " " << i;
    }
  }
}

// The DRAEM-type peer in a run: on grey textures with bright spots (the inspection set above,
// resized to 32), trained briefly (300 steps, widths 8) on procedural anomaly sources, it finds the spotted images
// and their pixels well above chance; its map is measured against the masks, and a second run
// in the same folder reuses the saved model.
TEST(ExperimentRun, RecSegFindsSpots) {
  test::TempDir dir;
  const std::string out = dir.file("exp");
  const data::Dataset ds = inspection_set(40, 14);
  auto o = tiny_options(out);
  o.protocol = data::Protocol::kInspection;
  o.methods = {"recseg"};
  o.figures = false;
  o.recseg_source = "procedural";
  o.recseg_sources = 50;
  o.recseg.rec_width = 8;
  o.recseg.seg_width = 8;
  o.recseg.steps = 300;
  const nlohmann::json res = experiment::run_experiment(ds, 0, o);
  const auto& r = res["methods"]["recseg"];
  EXPECT_GT(r["auc"].get<double>(), 0.85) << r.dump();
  ASSERT_TRUE(r.contains("pixel_auroc")) << r.dump();
  EXPECT_GT(r["pixel_auroc"].get<double>(), 0.85) << r.dump();
  EXPECT_GT(r["aupro"].get<double>(), 0.5) << r.dump();
  EXPECT_EQ(read_json(out + "/experiment.json")["recseg"]["steps"], 300);
  ASSERT_TRUE(std::filesystem::exists(out + "/models/recseg.pt"));
  const nlohmann::json again = experiment::run_experiment(ds, 0, o);
  EXPECT_EQ(again["methods"]["recseg"]["auc"], r["auc"]);
}

// Every method runs on one split; results.json has the stable schema; the stored scores
// give the reported AUCs (brute force) and the α sweep (brute-force count of score > 1-2α);
// the report and figures are written; a second run resumes without redoing anything, and
// a run with other settings in the same folder is refused.
// The first "model name" line of /proc/cpuinfo, read with a regular expression.
std::string cpu_model_by_regex() {
  const std::string text = test::read_text("/proc/cpuinfo");
  std::smatch m;
  static const std::regex re("model name[ \t]*:[ \t]*([^\n]*)");
  return std::regex_search(text, m, re) ? m[1].str() : "unknown";
}

TEST(ExperimentRun, EndToEndOnTinySyntheticData) {
  test::TempDir dir;
  const std::string out = dir.file("exp");
  const data::Dataset ds = synthetic(40, 12);
  const auto o = tiny_options(out);

  // The configuration alone: nothing run, nothing written.
  auto only = o;
  only.configuration_only = true;
  const nlohmann::json configuration = experiment::run_experiment(ds, 0, only);
  EXPECT_FALSE(fs::exists(out));

  const auto before = std::chrono::system_clock::now() - std::chrono::seconds(1);
  const nlohmann::json res = experiment::run_experiment(ds, 0, o);
  const auto after = std::chrono::system_clock::now() + std::chrono::seconds(1);

  // The cell records its whole configuration: what --print-configuration said, experiment.json,
  // and the default preset's parameters as documented (README, "Presets"): N = 5 morphs per code
  // on the golden-ratio sequence, Δr 0.2, duplicate tolerance 0.05, every code; the local
  // score's 3 x 3 smoothing and top 1%; the GMM's 3 starts; the seed of the run.
  EXPECT_EQ(res["configuration"], configuration);
  EXPECT_EQ(res["configuration"], read_json(out + "/experiment.json"));
  const auto& d = configuration["detector"];
  EXPECT_EQ(d["preset"], "default");
  EXPECT_EQ(d["morphs"], 5);
  EXPECT_EQ(d["placement"], "quasi");
  EXPECT_DOUBLE_EQ(d["radius_step"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(d["duplicate_tolerance"].get<double>(), 0.05);
  EXPECT_EQ(d["code_selection"], "all");
  EXPECT_EQ(d["top_k"], 0);
  EXPECT_EQ(d["seed"], o.seed);
  EXPECT_EQ(configuration["local_form"], nlohmann::json({{"smooth", 3}, {"top_fraction", 0.01}, {"codes_equal", true}}));
  EXPECT_EQ(configuration["gmm_inits"], 3);
  EXPECT_DOUBLE_EQ(configuration["gamma"].get<double>(), 5.0);
  // Where it ran: the commit (12 hex digits, "-dirty" when built from changed files), the CPU
  // as /proc/cpuinfo names it, the threads, and when (UTC, within the run).
  for (const nlohmann::json* p : {&res["provenance"], &res["methods"]["gmm"]["run"], &res["methods"]["oiad_mse"]["run"]}) {
    const auto& pv = *p;
    ASSERT_TRUE(pv.is_object()) << pv;
    EXPECT_TRUE(std::regex_match(pv["commit"].get<std::string>(), std::regex("[0-9a-f]{12}(-dirty)?|unknown")))
        << pv["commit"];
    EXPECT_EQ(pv["cpu"], cpu_model_by_regex());
    EXPECT_GE(pv["threads"].get<int>(), 1);
    std::tm tm{};
    const std::string date = pv["date"];
    ASSERT_NE(strptime(date.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr) << date;
    const auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
    EXPECT_GE(when, before) << date;
    EXPECT_LE(when, after) << date;
  }

  for (const char* f : {"split.json", "experiment.json", "results.json", "report.md", "report.html",
                        "figures/roc.svg", "figures/sweep.svg", "figures/metrics_val_size.svg",
                        "figures/morphs_normal_1.png", "figures/morphs_anomalous_1.png", "figures/top_test.png",
                        "figures/top_val.png", "models/oiad.oiad", "models/vae.oiad", "models/dcae.oiad",
                        "figures/map_normal_1.png", "figures/map_anomalous_1.png"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  // The report shows each strip's change map beside it.
  const std::string html = test::read_text(out + "/report.html");
  EXPECT_LT(html.find("figures/morphs_normal_1.png"), html.find("figures/map_normal_1.png"));
  EXPECT_NE(html.find("figures/map_anomalous_1.png"), std::string::npos);
  EXPECT_EQ(res, read_json(out + "/results.json"));
  for (const char* k : {"dataset", "normal_class", "protocol", "seed", "n_train", "n_val", "n_test", "methods", "oiad"})
    EXPECT_TRUE(res.contains(k)) << k;
  EXPECT_EQ(res["dataset"], "synthetic");
  EXPECT_EQ(res["normal_class"], "hbar");
  for (const char* m : {"oiad_mse", "oiad_loss", "oiad_ssim", "vae", "dcae", "kde", "ocsvm", "gmm"}) {
    ASSERT_TRUE(res["methods"].contains(m)) << m;
    const double auc = res["methods"][m]["auc"];
    EXPECT_GE(auc, 0.0);
    EXPECT_LE(auc, 1.0);
    EXPECT_GE(res["methods"][m]["fit_seconds"].get<double>(), 0.0);
    EXPECT_GE(res["methods"][m]["score_seconds"].get<double>(), 0.0);
  }

  // The reported test part and the holdout partition the split's test part.
  const auto split = read_json(out + "/split.json");
  std::multiset<int64_t> test_idx, parts;
  for (auto i : split["test"]["index"]) test_idx.insert(i.get<int64_t>());
  for (auto i : split["holdout"]["index"]) parts.insert(i.get<int64_t>());
  for (auto i : split["reported_test"]["index"]) parts.insert(i.get<int64_t>());
  EXPECT_EQ(test_idx, parts);
  EXPECT_EQ(res["n_test"].get<size_t>(), split["reported_test"]["index"].size());
  EXPECT_GT(split["holdout"]["index"].size(), 0u);
  std::vector<int> labels;
  for (auto a : split["reported_test"]["anomalous"]) labels.push_back(a.get<int>());

  // Stored scores -> AUC by brute force.
  for (const char* m : {"kde", "ocsvm", "gmm", "vae", "dcae"}) {
    const auto mj = read_json(out + "/methods/" + std::string(m) + ".json");
    const auto s = mj["scores"].get<std::vector<double>>();
    ASSERT_EQ(s.size(), labels.size()) << m;
    EXPECT_NEAR(test::brute_auc(s, labels), res["methods"][m]["auc"].get<double>(), 1e-12) << m;
  }
  const auto oj = read_json(out + "/methods/oiad.json");
  // The reported test images through the stored model and detect::score_images, the scoring
  // path of `oiad score`: an independent count of the one-sided decisions below.
  data::SplitPart reported;
  reported.source = split["reported_test"]["source"];
  reported.index = split["reported_test"]["index"].get<std::vector<int64_t>>();
  reported.anomalous = split["reported_test"]["anomalous"].get<std::vector<uint8_t>>();
  const auto px = data::gather_pixels(ds, reported);
  const detect::CalibratedDetector det = detect::load_detector(out + "/models/oiad.oiad", true);
  const torch::Tensor x = model::images_to_input(px.data(), int64_t(reported.size()), 1, 28, 28, 32);
  for (const char* metric : {"mse", "loss", "ssim", "local"}) {
    const auto& mm = oj["details"]["metrics"][metric];
    const auto s = mm["scores"].get<std::vector<double>>();
    EXPECT_NEAR(test::brute_auc(s, labels), res["methods"][std::string("oiad_") + metric]["auc"].get<double>(), 1e-12);
    const auto& sweep = res["oiad"][metric]["sweep"];
    ASSERT_EQ(sweep.size(), 50u);
    for (const auto& row : sweep) {
      const double a = row["alpha"];
      double tp = 0, tn = 0, np = 0, nn = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        const bool flagged = s[i] > 1 - 2 * a;
        if (labels[i]) np += 1, tp += flagged;
        else nn += 1, tn += !flagged;
      }
      EXPECT_NEAR(row["tp"].get<double>(), tp / np, 1e-12) << metric << " α " << a;
      EXPECT_NEAR(row["tn"].get<double>(), tn / nn, 1e-12) << metric << " α " << a;
      EXPECT_NEAR(row["acc"].get<double>(), (tp + tn) / (np + nn), 1e-12) << metric << " α " << a;
    }
    EXPECT_FALSE(res["oiad"][metric]["val_size"].empty());
    // The one-sided rule's decisions at 5% VAL false positives: the shares that scoring the
    // same images with Rule::kOneSided flags, and acc their label-weighted mean.
    const auto& one = res["oiad"][metric]["one_sided"];
    EXPECT_DOUBLE_EQ(one["fpr"].get<double>(), 0.05);
    const auto scored =
        detect::score_images(det, x, detect::parse_metric(metric), 0.05, detect::kCalibrationBlock, {},
                             detect::Rule::kOneSided);
    ASSERT_EQ(scored.size(), labels.size());
    double np = 0, nn = 0, tp = 0, tn = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i]) np += 1, tp += scored[i].anomalous;
      else nn += 1, tn += !scored[i].anomalous;
    }
    EXPECT_NEAR(one["tp"].get<double>(), tp / np, 1e-12) << metric;
    EXPECT_NEAR(one["tn"].get<double>(), tn / nn, 1e-12) << metric;
    EXPECT_NEAR(one["acc"].get<double>(), (tp + tn) / (np + nn), 1e-12) << metric;
  }
  const std::string md = test::read_text(out + "/report.md");
  EXPECT_NE(md.find("| kde |"), std::string::npos);
  EXPECT_NE(md.find("figures/roc.svg"), std::string::npos);
  EXPECT_NE(test::read_text(out + "/report.html").find("<table>"), std::string::npos);
  EXPECT_NE(test::read_text(out + "/figures/roc.svg").find("<svg"), std::string::npos);

  // Resume: nothing is retrained or rescored, the results are the same.
  const auto stamp = fs::last_write_time(out + "/methods/oiad.json");
  const nlohmann::json again = experiment::run_experiment(ds, 0, o);
  EXPECT_EQ(fs::last_write_time(out + "/methods/oiad.json"), stamp);
  EXPECT_EQ(again["methods"], res["methods"]);

  // Another seed in the same folder is refused with a message naming the folder.
  auto other = o;
  other.seed = 9;
  try {
    experiment::run_experiment(ds, 0, other);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(out), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("seed"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace oiad

// End to end through the executable on a tiny data set: train, calibrate, score, evaluate,
// find, inspect, compare, and the errors a user meets on the way.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include <sys/stat.h>

#include "test_util.h"

namespace oiad {
namespace {

using test::run_oiad;

// A tiny 2-class image folder of 28x28 grey images: class "a" dark blobs, class "b" bars.
std::string make_folder(const std::string& root) {
  for (int i = 0; i < 60; ++i)
    for (const char* cls : {"a", "b"}) {
      cv::Mat m(28, 28, CV_8UC1, cv::Scalar(0));
      if (std::string(cls) == "a")
        cv::circle(m, cv::Point(10 + i % 8, 12 + i % 5), 5 + i % 3, cv::Scalar(255), -1);
      else
        cv::rectangle(m, cv::Point(4 + i % 6, 2), cv::Point(8 + i % 6, 25), cv::Scalar(200), -1);
      const std::string dir = root + "/set/" + cls;
      std::filesystem::create_directories(dir);
      cv::imwrite(dir + "/" + std::to_string(i) + ".png", m);
    }
  return root + "/set";
}

// The tiny data set and the model every DetectCli test uses, trained once: CTest runs
// DetectCliFixture.TrainModel first (FIXTURES_SETUP in CMakeLists.txt), which writes them to
// the build tree's fixture folder, and the DetectCli tests (FIXTURES_REQUIRED) read them there.
std::string fixture_dir() { return test::fixture_dir() + "/detect_cli"; }

std::vector<nlohmann::json> json_lines(const std::string& text);

// Trains the shared model: 2 epochs, 4 codes, calibrated on VAL by `oiad train`.
TEST(DetectCliFixture, TrainModel) {
  const std::string dir = fixture_dir();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string folder = make_folder(dir);
  auto r = run_oiad("--threads 1 train --data " + folder + " --normal-class a --epochs 2 --batch-size 16 "
                    "--latent-dim 4 --out " + dir + "/m.oiad");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

class DetectCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    folder_ = fixture_dir() + "/set";
    model_ = fixture_dir() + "/m.oiad";
  }
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(model_)) << model_ << " missing: run DetectCliFixture.TrainModel first";
  }
  static void TearDownTestSuite() { delete dir_; }
  // A model with one score per image (a baseline or recseg): every line of `score --split
  // test` names `scorer` and decides "score > threshold" (`line_check` adds the kind's own
  // checks); `evaluate`'s AUC is the brute-force AUC of those scores; `inspect --map` writes
  // NAME_map.png. Returns inspect's output.
  static test::CommandResult expect_single_scores(const std::string& m, const std::string& scorer, const std::string& name,
                                                  const std::function<void(const nlohmann::json&)>& line_check) {
    auto s = run_oiad("--threads 1 score --model " + m + " --split test");
    EXPECT_EQ(s.exit_code, 0) << s.err;
    const auto lines = json_lines(s.out);
    EXPECT_GT(lines.size(), 10u);
    std::vector<double> scores;
    std::vector<int> labels;
    for (const auto& j : lines) {
      EXPECT_EQ(j["metric"], scorer);
      EXPECT_EQ(j["anomalous"].get<bool>(), j["score"].get<double>() > j["threshold"].get<double>());
      line_check(j);
      scores.push_back(j["score"]);
      labels.push_back(j["label"]);
    }
    auto e = run_oiad("--threads 1 evaluate --model " + m + " --out " + dir_->file(name + "_eval"));
    EXPECT_EQ(e.exit_code, 0) << e.err;
    const auto ev = nlohmann::json::parse(e.out);
    EXPECT_EQ(ev["scorer"], scorer);
    EXPECT_NEAR(ev["metrics"][scorer]["auc"].get<double>(), test::brute_auc(scores, labels), 1e-12);
    EXPECT_EQ(ev["metrics"].size(), 1u);
    auto map = run_oiad("inspect --model " + m + " " + folder_ + "/b/3.png --map " + dir_->file(name + "_map.png"));
    EXPECT_EQ(map.exit_code, 0) << map.err;
    EXPECT_TRUE(std::filesystem::exists(dir_->file(name + "_map.png")));
    return map;
  }
  static test::TempDir* dir_;  // this process's own outputs
  static std::string folder_, model_;
};
test::TempDir* DetectCli::dir_ = nullptr;
std::string DetectCli::folder_, DetectCli::model_;

// train calibrates on VAL; model info reports kind, precisions and the calibration.
TEST_F(DetectCli, TrainCalibratesAndModelInfo) {
  auto r = run_oiad("model info " + model_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["kind"], "detector");
  EXPECT_EQ(j["precision"].size(), 4u);
  EXPECT_EQ(j["calibrated"], true);
  EXPECT_EQ(j["epochs"], 2);
  EXPECT_TRUE(j["final"].contains("kl"));
  // The default preset trains with TC weight γ = 5 (the paper's 40 is the paper preset's).
  EXPECT_EQ(j["config"]["gamma"], 5.0);
  // The default preset scores each group of duplicate codes once: the scored codes and the
  // codes they stand for are the 4 codes, each once.
  const auto& cal = j["calibration"];
  EXPECT_EQ(cal["detector"]["preset"], "default");
  std::vector<int> all;
  for (const auto& c : cal["codes"]) {
    all.push_back(c.get<int>());
    for (const auto& m : cal["merged_codes"][std::to_string(c.get<int>())]) all.push_back(m.get<int>());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<int>{0, 1, 2, 3}));
  // A fresh calibration stores the VAL one-sided scores of every metric.
  EXPECT_EQ(cal["one_sided_metrics"], (nlohmann::json{"local", "loss", "mse", "ssim"}));
  // The default preset's morph search: N = 5 along the golden-ratio sequence, Δr = 0.2.
  EXPECT_EQ(cal["detector"]["morphs"], 5);
  EXPECT_DOUBLE_EQ(cal["detector"]["radius_step"].get<double>(), 0.2);
  EXPECT_EQ(cal["detector"]["placement"], "quasi");
}

// `calibrate` takes the preset's placement and radius step unless --placement or
// --radius-step is given; a value other than the preset's makes the options custom. The
// paper preset keeps the paper's random draws (stored as no "placement" field).
TEST_F(DetectCli, CalibratePlacementFollowsThePreset) {
  struct Case {
    std::string flags, preset;
    int morphs;
    std::string placement;  // empty: no "placement" field (random draws)
    double radius_step = 0.2;
  };
  for (const Case& c : std::vector<Case>{{"", "default", 5, "quasi"},
                                         {"--placement quasi", "default", 5, "quasi"},
                                         {"--placement random", "custom", 5, ""},
                                         {"--preset paper --morphs 4", "custom", 4, "", 0.1},
                                         {"--preset paper --morphs 4 --placement quasi", "custom", 4, "quasi", 0.1},
                                         {"--radius-step 0.2", "default", 5, "quasi"},
                                         {"--morphs 10 --radius-step 0.1", "custom", 10, "quasi", 0.1}}) {
    const std::string m = dir_->file("placement.oiad");
    std::filesystem::copy_file(model_, m, std::filesystem::copy_options::overwrite_existing);
    auto r = run_oiad("--threads 1 calibrate --model " + m + " " + c.flags);
    ASSERT_EQ(r.exit_code, 0) << c.flags << ": " << r.err;
    const auto det = nlohmann::json::parse(run_oiad("model info " + m).out)["calibration"]["detector"];
    EXPECT_EQ(det["preset"], c.preset) << c.flags;
    EXPECT_EQ(det["morphs"], c.morphs) << c.flags;
    if (c.placement.empty())
      EXPECT_FALSE(det.contains("placement")) << c.flags;
    else
      EXPECT_EQ(det["placement"], c.placement) << c.flags;
    EXPECT_DOUBLE_EQ(det["radius_step"].get<double>(), c.radius_step) << c.flags;
  }
  const std::string m = dir_->file("placement.oiad");
  const std::string before = test::read_text(m);
  for (const std::string bad : {"0", "11", "nan"}) {
    auto r = run_oiad("--threads 1 calibrate --model " + m + " --radius-step " + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--radius-step"), std::string::npos) << r.err;
  }
  EXPECT_EQ(test::read_text(m), before);  // a refused calibration leaves the model as it was
}

// The preset sets the Detector-VAE's TC weight unless --gamma is given; baselines keep theirs.
TEST_F(DetectCli, PresetSetsTheTcWeight) {
  for (const auto& [flags, want] : std::vector<std::pair<std::string, double>>{
           {"--preset paper", 40.0}, {"--preset paper --gamma 3", 3.0}, {"--gamma 0", 0.0}, {"--kind dcae", 0.0}}) {
    const std::string out = dir_->file("g.oiad");
    std::filesystem::remove(out);
    auto r = run_oiad("--threads 1 train --data " + folder_ + " --normal-class a --epochs 1 --batch-size 16 --latent-dim 4 " +
                      flags + " --no-calibrate --out " + out);
    ASSERT_EQ(r.exit_code, 0) << flags << ": " << r.err;
    auto info = run_oiad("model info " + out);
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_EQ(nlohmann::json::parse(info.out)["config"]["gamma"], want) << flags;
  }
}

size_t scored_codes(const std::string& model) {
  auto r = run_oiad("model info " + model);
  return nlohmann::json::parse(r.out)["calibration"]["codes"].size();
}

// score writes one JSON line per image with the documented fields; labels from the split.
TEST_F(DetectCli, ScoreJsonLines) {
  auto r = run_oiad("--threads 1 score --model " + model_ + " --split test --metric mse --alpha 0.3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t codes = scored_codes(model_);
  ASSERT_GE(codes, 1u);
  std::istringstream in(r.out);
  std::string line;
  int n = 0, anomalous = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* k : {"id", "label", "score", "anomalous", "metric", "rule", "alpha", "p_value", "consistency"})
      EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j["rule"], "paper");  // --alpha alone selects the paper rule
    const double p = j["p_value"];
    EXPECT_GT(p, 0.0);
    EXPECT_LE(p, 1.0);
    EXPECT_EQ(j["consistency"].size(), codes);
    EXPECT_EQ(j["metric"], "mse");
    anomalous += j["label"].get<int>();
    ++n;
  }
  EXPECT_EQ(n, 24);  // 20% CLE of 60 + as many ANO
  EXPECT_EQ(anomalous, 12);
  // The same image through `score IMAGE` gets the same score as through --data.
  auto first = nlohmann::json::parse(r.out.substr(0, r.out.find('\n')));
  auto single = run_oiad("--threads 1 score --model " + model_ + " --metric mse --alpha 0.3 " + folder_ + "/" +
                         first["id"].get<std::string>());
  ASSERT_EQ(single.exit_code, 0) << single.err;
  EXPECT_NEAR(nlohmann::json::parse(single.out)["score"].get<double>(), first["score"].get<double>(), 1e-6);
}

// The fast scoring path gives the straightforward path's consistencies (to 1e-5) under each
// OpenBLAS kernel set this CPU can run: the baseline 'Prescott' kernels, AVX2 'Haswell' and
// AVX-512 'SkylakeX' (the variable also stops oiad's own re-exec).
TEST_F(DetectCli, FastPathEqualsReferenceUnderEachBlasKernel) {
  std::string flags;
  {
    std::ifstream cpu("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpu, line))
      if (line.rfind("flags", 0) == 0) {
        flags = line + " ";
        break;
      }
  }
  std::vector<std::string> cores = {"Prescott"};
  if (flags.find(" avx2 ") != std::string::npos) cores.push_back("Haswell");
  if (flags.find(" avx512f ") != std::string::npos) cores.push_back("SkylakeX");
  for (const auto& core : cores) {
    setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
    const std::string args = "--threads 2 score --model " + model_ + " --split test --sample 6 --metric ssim";
    auto fast = run_oiad(args), ref = run_oiad(args + " --reference-decoder");
    unsetenv("OPENBLAS_CORETYPE");
    ASSERT_EQ(fast.exit_code, 0) << core << ": " << fast.err;
    ASSERT_EQ(ref.exit_code, 0) << core << ": " << ref.err;
    std::istringstream a(fast.out), b(ref.out);
    std::string la, lb;
    int n = 0;
    while (std::getline(a, la) && std::getline(b, lb)) {
      const auto ja = nlohmann::json::parse(la), jb = nlohmann::json::parse(lb);
      ASSERT_EQ(ja["id"], jb["id"]);
      for (size_t k = 0; k < ja["consistency"].size(); ++k) {
        const double x = ja["consistency"][k], y = jb["consistency"][k];
        EXPECT_NEAR(x, y, 1e-5 * (1 + std::abs(y))) << core << " image " << n << " code " << k;
      }
      ++n;
    }
    EXPECT_EQ(n, 6) << core;
  }
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> v;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line));
  return v;
}

// evaluate's numbers follow from its per-image output: each metric's AUC is the brute-force
// AUC of the scores in scores.jsonl, TP/TN at α count "score > 1 - 2α" (the rule's
// equivalent form, calibration.h) per label, and the one-sided decisions equal those of
// `oiad score --rule one-sided` on the same images. (This model, 2 epochs on 48 images, is no
// detector: detection quality is Quality.* on MNIST.)
// evaluate --record stores the AUCs in the model file; a new calibration drops them.
// `oiad bench --model`: scoring on a trained model with its stored calibration, paired with
// the paper preset in the same run; the paper preset decodes 100 morphs for every code where
// the stored default preset decodes 5 for the codes it kept, so it cannot be faster.
TEST_F(DetectCli, BenchScoresATrainedModel) {
  auto r = run_oiad("--threads 1 bench --quick --model " + model_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out)["trained_model"];
  const auto info = nlohmann::json::parse(run_oiad("model info " + model_).out);
  EXPECT_EQ(j["stored_calibration"]["preset"], "default");
  EXPECT_EQ(j["stored_calibration"]["morphs"], 5);
  EXPECT_EQ(j["stored_calibration"]["codes_scored"], info["calibration"]["codes"].size());
  EXPECT_EQ(j["paper"]["morphs"], 100);
  EXPECT_EQ(j["paper"]["codes_scored"], 4) << "every code of the 4-code fixture";
  EXPECT_GT(j["stored_calibration"]["score_images_per_s"].get<double>(), 0);
  EXPECT_GT(j["paper"]["score_images_per_s"].get<double>(), 0);
  EXPECT_GT(j["stored_over_paper"].get<double>(), 1.0);
  EXPECT_GT(j["images"].get<int>(), 0);
  // A model without calibration is refused with one line.
  const auto bad = run_oiad("bench --quick --model " + folder_ + "/a/1.png");
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
}

TEST_F(DetectCli, EvaluateRecordsAucsUntilRecalibrated) {
  const std::string m = dir_->file("recorded.oiad");
  std::filesystem::copy_file(model_, m);
  EXPECT_FALSE(nlohmann::json::parse(run_oiad("model info " + m).out).contains("evaluation"));
  auto r = run_oiad("--threads 1 evaluate --model " + m + " --record");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["recorded"], true);
  const auto info = nlohmann::json::parse(run_oiad("model info " + m).out);
  ASSERT_TRUE(info.contains("evaluation")) << info.dump();
  const auto& e = info["evaluation"];
  EXPECT_EQ(e["auc"], j["metrics"]["ssim"]["auc"]);
  for (const char* metric : {"mse", "loss", "ssim", "local"}) EXPECT_EQ(e["aucs"][metric], j["metrics"][metric]["auc"]);
  EXPECT_EQ(e["n_test"], j["n_test"]);
  // Scoring is unchanged by the record.
  EXPECT_EQ(run_oiad("--threads 1 score --model " + m + " --split test").out,
            run_oiad("--threads 1 score --model " + model_ + " --split test").out);
  auto c = run_oiad("--threads 1 calibrate --model " + m);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_FALSE(nlohmann::json::parse(run_oiad("model info " + m).out).contains("evaluation"))
      << "a recalibrated model kept its evaluation";
}

TEST_F(DetectCli, Evaluate) {
  auto r = run_oiad("--threads 1 evaluate --model " + model_ + " --fpr 0.1 --out " + dir_->file("eval"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  auto stored = nlohmann::json::parse(test::read_text(dir_->file("eval/results.json")));
  stored["out"] = j["out"];
  EXPECT_EQ(stored, j);
  const auto lines = json_lines(test::read_text(dir_->file("eval/scores.jsonl")));
  ASSERT_EQ(lines.size(), size_t(j["n_test"].get<int>()));
  std::vector<int> labels;
  for (const auto& l : lines) labels.push_back(l["label"].get<int>());
  const double alpha = j["alpha"];
  for (const char* m : {"mse", "loss", "ssim", "local"}) {
    std::vector<double> s;
    double tp = 0, tn = 0, np = 0, nn = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      s.push_back(lines[i][m]["score"].get<double>());
      const bool flagged = s.back() > 1 - 2 * alpha;
      if (labels[i]) np += 1, tp += flagged;
      else nn += 1, tn += !flagged;
    }
    const auto& mj = j["metrics"][m];
    EXPECT_NEAR(mj["auc"].get<double>(), test::brute_auc(s, labels), 1e-12) << m;
    EXPECT_NEAR(mj["tp"].get<double>(), tp / np, 1e-12) << m;
    EXPECT_NEAR(mj["tn"].get<double>(), tn / nn, 1e-12) << m;
    // The one-sided decisions at F = 0.1, against `score` on the same (whole) test part.
    auto sc = run_oiad("--threads 1 score --model " + model_ + " --split test --rule one-sided --fpr 0.1 --metric " + m);
    ASSERT_EQ(sc.exit_code, 0) << sc.err;
    const auto per_image = json_lines(sc.out);
    ASSERT_EQ(per_image.size(), lines.size());
    double otp = 0, otn = 0;
    for (size_t i = 0; i < per_image.size(); ++i) {
      ASSERT_EQ(per_image[i]["id"], lines[i]["id"]);
      const bool flagged = per_image[i]["anomalous"].get<bool>();
      if (labels[i]) otp += flagged;
      else otn += !flagged;
    }
    EXPECT_NEAR(mj["one_sided"]["tp"].get<double>(), otp / np, 1e-12) << m;
    EXPECT_NEAR(mj["one_sided"]["tn"].get<double>(), otn / nn, 1e-12) << m;
    EXPECT_DOUBLE_EQ(mj["one_sided"]["threshold"].get<double>(), per_image[0]["threshold"].get<double>()) << m;
    // The relative rule likewise: its per-image scores are `score --rule relative`'s, its AUC
    // theirs, its decisions at F = 0.1 theirs.
    auto rs = run_oiad("--threads 1 score --model " + model_ + " --split test --rule relative --fpr 0.1 --metric " + m);
    ASSERT_EQ(rs.exit_code, 0) << rs.err;
    const auto rel = json_lines(rs.out);
    ASSERT_EQ(rel.size(), lines.size());
    std::vector<double> r;
    double rtp = 0, rtn = 0;
    for (size_t i = 0; i < rel.size(); ++i) {
      ASSERT_EQ(rel[i]["rule"], "relative");
      EXPECT_NEAR(rel[i]["score"].get<double>(), lines[i][m]["relative_score"].get<double>(), 1e-9) << m;
      r.push_back(lines[i][m]["relative_score"].get<double>());
      const bool flagged = rel[i]["anomalous"].get<bool>();
      EXPECT_EQ(flagged, r.back() > mj["relative"]["threshold"].get<double>()) << m;
      if (labels[i]) rtp += flagged;
      else rtn += !flagged;
    }
    EXPECT_NEAR(mj["auc_relative"].get<double>(), test::brute_auc(r, labels), 1e-12) << m;
    EXPECT_NEAR(mj["relative"]["tp"].get<double>(), rtp / np, 1e-12) << m;
    EXPECT_NEAR(mj["relative"]["tn"].get<double>(), rtn / nn, 1e-12) << m;
    EXPECT_GT(mj["relative"]["sigma"].get<double>(), 0) << m;
  }
  auto alpha_relative = run_oiad("score --model " + model_ + " --rule relative --alpha 0.3 " + folder_ + "/a/1.png");
  EXPECT_EQ(alpha_relative.exit_code, 2) << alpha_relative.err;
  EXPECT_NE(alpha_relative.err.find("the relative rule takes --fpr"), std::string::npos) << alpha_relative.err;
}

// find writes a grid and ranks images by score; inspect writes a strip.
TEST_F(DetectCli, FindAndInspect) {
  auto f = run_oiad("--threads 1 find --model " + model_ + " --split test --top 5 --out " + dir_->file("g.png"));
  ASSERT_EQ(f.exit_code, 0) << f.err;
  auto j = nlohmann::json::parse(f.out);
  ASSERT_EQ(j["top"].size(), 5u);
  EXPECT_GE(j["top"][0]["score"].get<double>(), j["top"][4]["score"].get<double>());
  EXPECT_FALSE(cv::imread(dir_->file("g.png")).empty());
  auto i = run_oiad("--threads 1 inspect --model " + model_ + " " + folder_ + "/b/3.png --out " + dir_->file("s.png"));
  ASSERT_EQ(i.exit_code, 0) << i.err;
  EXPECT_EQ(nlohmann::json::parse(i.out)["codes"].size(), std::min<size_t>(3, scored_codes(model_)));
  EXPECT_FALSE(cv::imread(dir_->file("s.png")).empty());
  // --map: the change map over the image, the network input's 32 x 32 scaled 4 times; its
  // largest value is reported, and the pixels are the image's where the map is <= 0.
  auto m = run_oiad("--threads 1 inspect --model " + model_ + " " + folder_ + "/b/3.png --map " + dir_->file("m.png"));
  ASSERT_EQ(m.exit_code, 0) << m.err;
  const auto mj = nlohmann::json::parse(m.out);
  EXPECT_EQ(mj["map"], dir_->file("m.png"));
  EXPECT_TRUE(mj["map_max"].is_number());
  EXPECT_FALSE(mj.contains("strip"));
  const cv::Mat map = cv::imread(dir_->file("m.png"));
  EXPECT_EQ(map.cols, 128);
  EXPECT_EQ(map.rows, 128);
  auto same = run_oiad("--threads 1 inspect --model " + model_ + " " + folder_ + "/b/3.png --map " + dir_->file("x.png") +
                       " --out " + dir_->file("x.png"));
  EXPECT_EQ(same.exit_code, 2) << same.err;
  auto none = run_oiad("--threads 1 inspect --model " + model_ + " " + folder_ + "/b/3.png");
  EXPECT_EQ(none.exit_code, 2) << none.err;
}

// The one-sided rule through score and find (evaluate: DetectCli.Evaluate): each decision is
// "score above the threshold", the threshold is one number for the run, and misuse is a usage error.
TEST_F(DetectCli, OneSidedRule) {
  auto r = run_oiad("--threads 1 score --model " + model_ + " --split test --rule one-sided --fpr 0.25");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::string line;
  int n = 0;
  double threshold = std::numeric_limits<double>::quiet_NaN();
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["rule"], "one-sided");
    EXPECT_DOUBLE_EQ(j["fpr"].get<double>(), 0.25);
    EXPECT_FALSE(j.contains("alpha"));
    if (n == 0) threshold = j["threshold"].get<double>();
    EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), threshold);
    EXPECT_EQ(j["anomalous"].get<bool>(), j["score"].get<double>() > threshold);
    ++n;
  }
  EXPECT_EQ(n, 24);
  // A lower false-positive rate is a higher (or equal) threshold.
  auto strict = run_oiad("--threads 1 score --model " + model_ + " --split test --rule one-sided --fpr 0.05");
  ASSERT_EQ(strict.exit_code, 0) << strict.err;
  EXPECT_GE(nlohmann::json::parse(strict.out.substr(0, strict.out.find('\n')))["threshold"].get<double>(), threshold);

  auto f = run_oiad("--threads 1 find --model " + model_ + " --split test --top 4 --rule one-sided");
  ASSERT_EQ(f.exit_code, 0) << f.err;
  auto fj = nlohmann::json::parse(f.out);
  EXPECT_EQ(fj["rule"], "one-sided");
  EXPECT_DOUBLE_EQ(fj["fpr"].get<double>(), 0.05);
  ASSERT_EQ(fj["top"].size(), 4u);
  EXPECT_GE(fj["top"][0]["score"].get<double>(), fj["top"][3]["score"].get<double>());

  auto both = run_oiad("score --model " + model_ + " --rule one-sided --alpha 0.3 " + folder_ + "/a/1.png");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("--fpr"), std::string::npos) << both.err;
  auto fpr = run_oiad("score --model " + model_ + " --rule one-sided --fpr 1.5 " + folder_ + "/a/1.png");
  EXPECT_EQ(fpr.exit_code, 2);
  EXPECT_NE(fpr.err.find("false-positive rate 1.5"), std::string::npos) << fpr.err;
  auto rule = run_oiad("score --model " + model_ + " --rule both " + folder_ + "/a/1.png");
  EXPECT_EQ(rule.exit_code, 2);
  auto paper_fpr = run_oiad("find --model " + model_ + " --rule paper --fpr 0.1");
  EXPECT_EQ(paper_fpr.exit_code, 2);
  EXPECT_NE(paper_fpr.err.find("--fpr belongs to --rule one-sided"), std::string::npos) << paper_fpr.err;
  auto negative = run_oiad("score --model " + model_ + " --rule one-sided --fpr -0.5 " + folder_ + "/a/1.png");
  EXPECT_EQ(negative.exit_code, 2);
  EXPECT_NE(negative.err.find("false-positive rate -0.5"), std::string::npos) << negative.err;
}

// The default decision is the one-sided rule at F = 0.05 (the calibration's), with a conformal
// p-value per image: (1 + #{VAL scores >= s}) / (n_val + 1), so (1 + k) / 7 for this model's 6
// VAL images; and `--exit-status` exits 3 exactly when some scored image is anomalous.
TEST_F(DetectCli, DefaultDecisionPValuesAndExitStatus) {
  auto info = nlohmann::json::parse(run_oiad("model info " + model_).out);
  EXPECT_EQ(info["calibration"]["rule"], "one-sided");
  EXPECT_DOUBLE_EQ(info["calibration"]["fpr"].get<double>(), 0.05);
  const int n_val = info["calibration"]["n_val"];
  auto r = run_oiad("--threads 1 score --model " + model_ + " --split test");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool any = false;
  for (const auto& j : json_lines(r.out)) {
    EXPECT_EQ(j["rule"], "one-sided");
    EXPECT_DOUBLE_EQ(j["fpr"].get<double>(), 0.05);
    const double k = j["p_value"].get<double>() * (n_val + 1) - 1;  // VAL images at least as extreme
    EXPECT_NEAR(k, std::round(k), 1e-9);
    EXPECT_GE(k, 0.0);
    EXPECT_LE(k, n_val);
    any = any || j["anomalous"].get<bool>();
  }
  // The VAL images themselves, whose scores are the calibration's own: each counts itself, so
  // (n + 1) p runs from 2 (the most extreme) to n + 1 (the least).
  auto val = run_oiad("--threads 1 score --model " + model_ + " --split val");
  ASSERT_EQ(val.exit_code, 0) << val.err;
  std::vector<double> ps;
  for (const auto& j : json_lines(val.out)) ps.push_back(j["p_value"].get<double>() * (n_val + 1));
  std::sort(ps.begin(), ps.end());
  ASSERT_EQ(int(ps.size()), n_val);
  EXPECT_NEAR(ps.front(), 2.0, 1e-9);
  EXPECT_NEAR(ps.back(), double(n_val + 1), 1e-9);
  for (const std::string rule : {"", " --fpr 0.5", " --rule paper --alpha 0.01"}) {
    auto s = run_oiad("--threads 1 score --model " + model_ + " --split test --exit-status" + rule);
    bool flagged = false;
    for (const auto& j : json_lines(s.out)) flagged = flagged || j["anomalous"].get<bool>();
    EXPECT_EQ(s.exit_code, flagged ? 3 : 0) << rule << s.err;
  }
  auto half = run_oiad("--threads 1 score --model " + model_ + " --split test --exit-status --fpr 0.5");
  EXPECT_EQ(half.exit_code, 3) << half.err;  // at F = 0.5 some test image is flagged
  (void)any;
  // Calibrated with the paper preset, the default decision is the paper's rule at α = 0.4.
  const std::string m = dir_->file("paper.oiad");
  std::filesystem::copy_file(model_, m, std::filesystem::copy_options::overwrite_existing);
  auto cal = run_oiad("--threads 1 calibrate --model " + m + " --preset paper --morphs 4");
  ASSERT_EQ(cal.exit_code, 0) << cal.err;
  auto p = run_oiad("--threads 1 score --model " + m + " " + folder_ + "/a/1.png");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto pj = nlohmann::json::parse(p.out);
  EXPECT_EQ(pj["rule"], "paper");
  EXPECT_DOUBLE_EQ(pj["alpha"].get<double>(), 0.4);
  auto nan = run_oiad("score --model " + model_ + " --fpr nan " + folder_ + "/a/1.png");
  EXPECT_EQ(nan.exit_code, 2);
  EXPECT_NE(nan.err.find("false-positive rate nan"), std::string::npos) << nan.err;
}

// A model's split indexes its data set: when the data set changes after training (images
// removed, added or altered), scoring its split would silently score other images under the
// stored ids and labels. It is refused with one line naming the data, exit 1.
TEST_F(DetectCli, ChangedDataSetIsRefused) {
  namespace fs = std::filesystem;
  const std::string data = dir_->file("stale");
  fs::copy(folder_, data, fs::copy_options::recursive);
  const std::string m = dir_->file("stale.oiad");
  auto r = run_oiad("--threads 1 train --data " + data + " --normal-class a --epochs 1 --batch-size 16 "
                    "--latent-dim 2 --out " + m);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ok = run_oiad("--threads 1 score --model " + m + " --split test --sample 3");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  // One image altered in place: the same count, other pixels.
  cv::Mat blank(28, 28, CV_8UC1, cv::Scalar(77));
  cv::imwrite(data + "/a/0.png", blank);
  auto altered = run_oiad("score --model " + m + " --split test");
  EXPECT_EQ(altered.exit_code, 1);
  EXPECT_NE(altered.err.find("the data set changed"), std::string::npos) << altered.err;
  EXPECT_EQ(std::count(altered.err.begin(), altered.err.end(), '\n'), 1) << altered.err;
  EXPECT_TRUE(altered.out.empty());
  // Five images removed: fewer images than at training.
  for (int i = 50; i < 55; ++i) fs::remove(data + "/b/" + std::to_string(i) + ".png");
  for (const char* cmd : {"score --split test", "evaluate", "calibrate"}) {
    auto e = run_oiad(std::string(cmd) + " --model " + m);
    EXPECT_EQ(e.exit_code, 1) << cmd;
    EXPECT_NE(e.err.find("train images, the model's split was made when it had 120"), std::string::npos)
        << cmd << ": " << e.err;
  }
}

// Careless or hostile input gets one line on stderr and the documented exit code (1: data or
// model, 2: usage), before any work and without touching the inputs.
TEST_F(DetectCli, BadInputIsOneLineAndLosesNothing) {
  auto one_line = [](const test::CommandResult& r) { return std::count(r.err.begin(), r.err.end(), '\n') == 1; };
  // Not regular files: a folder, a pipe (which would block a reader forever).
  auto dir = run_oiad("model info " + dir_->path());
  EXPECT_EQ(dir.exit_code, 1);
  EXPECT_NE(dir.err.find("not a regular file"), std::string::npos) << dir.err;
  const std::string fifo = dir_->file("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto pipe = run_oiad("score --model " + fifo + " " + folder_ + "/a/1.png");
  EXPECT_EQ(pipe.exit_code, 1);
  EXPECT_TRUE(one_line(pipe)) << pipe.err;
  // --out naming the model: refused, the model intact.
  const std::string m = dir_->file("keep.oiad");
  std::filesystem::copy_file(model_, m, std::filesystem::copy_options::overwrite_existing);
  const std::string before = test::read_text(m);
  auto self = run_oiad("score --model " + m + " --out " + m + " " + folder_ + "/a/1.png");
  EXPECT_EQ(self.exit_code, 2);
  EXPECT_NE(self.err.find("is an input"), std::string::npos) << self.err;
  EXPECT_EQ(test::read_text(m), before);
  // --out into a missing folder fails before training.
  auto missing = run_oiad("train --data " + folder_ + " --normal-class a --out " + dir_->file("no/such/m.oiad"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
  EXPECT_TRUE(one_line(missing)) << missing.err;
  // Numeric flags: NaN, infinities and out-of-range values are usage errors, not defaults.
  for (const std::string flags : {"--gamma nan", "--eta nan", "--kl-weight -1", "--latent-dim 0", "--latent-dim -5",
                                  "--lr nan", "--lr inf", "--disc-lr 0", "--alpha nan", "--fpr nan"}) {
    auto r = run_oiad("train --data " + folder_ + " --normal-class a --epochs 1 " + flags + " --out " +
                      dir_->file("flag.oiad"));
    EXPECT_EQ(r.exit_code, 2) << flags << ": " << r.err;
    EXPECT_TRUE(one_line(r)) << flags << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_->file("flag.oiad"))) << flags;
  }
  auto tol = run_oiad("calibrate --model " + m + " --duplicate-tolerance nan");
  EXPECT_EQ(tol.exit_code, 2) << tol.err;
  EXPECT_EQ(test::read_text(m), before);
  auto threads = run_oiad("--threads 100000 model info " + model_);
  EXPECT_EQ(threads.exit_code, 2) << threads.err;
  // An image above the pixel limit is refused from its header, before it is decoded.
  cv::imwrite(dir_->file("big40.png"), cv::Mat(40, 40, CV_8UC1, cv::Scalar(9)));
  auto big = test::run_command("OIAD_MAX_IMAGE_PIXELS=1000 " + test::oiad_binary() + " score --model " + model_ +
                               " --resize " + dir_->file("big40.png"));
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_NE(big.err.find("1600 pixels, above the limit of 1000"), std::string::npos) << big.err;
  EXPECT_TRUE(one_line(big)) << big.err;
  // A result that cannot be written (a full device) is an error, not exit 0.
  auto full = test::run_command("sh -c '" + test::oiad_binary() + " model info " + model_ +
                                " >/dev/full'");
  EXPECT_EQ(full.exit_code, 1) << full.err;
  EXPECT_NE(full.err.find("standard output"), std::string::npos) << full.err;
  // A JPEG cut at 70% is an error naming it (it used to be grey-filled and scored), on one
  // line: nothing from libjpeg reaches stderr.
  cv::Mat noise(32, 32, CV_8UC1);
  cv::randu(noise, 0, 256);
  std::vector<uint8_t> jpg;
  cv::imencode(".jpg", noise, jpg);
  jpg.resize(jpg.size() * 7 / 10);
  test::write_bytes(dir_->file("cut.jpg"), jpg);
  auto cut = run_oiad("score --model " + model_ + " --resize " + dir_->file("cut.jpg"));
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_NE(cut.err.find("cut.jpg: corrupt or truncated JPEG"), std::string::npos) << cut.err;
  EXPECT_TRUE(one_line(cut)) << cut.err;
  // --out through a symbolic link writes the link's target and keeps the link.
  test::write_bytes(dir_->file("scores-target.jsonl"), {'o', 'l', 'd'});
  std::filesystem::create_symlink("scores-target.jsonl", dir_->file("scores-link.jsonl"));
  auto linked = run_oiad("score --model " + model_ + " --out " + dir_->file("scores-link.jsonl") + " " + folder_ +
                         "/a/1.png");
  EXPECT_EQ(linked.exit_code, 0) << linked.err;
  EXPECT_TRUE(std::filesystem::is_symlink(dir_->file("scores-link.jsonl")));
  EXPECT_NE(test::read_text(dir_->file("scores-target.jsonl")).find("\"score\""), std::string::npos);
}

// compare: MSE and SSIM of two files; identical files give 0 and 1.
TEST_F(DetectCli, Compare) {
  auto same = run_oiad("compare " + folder_ + "/a/1.png " + folder_ + "/a/1.png");
  ASSERT_EQ(same.exit_code, 0) << same.err;
  auto j = nlohmann::json::parse(same.out);
  EXPECT_DOUBLE_EQ(j["mse"].get<double>(), 0.0);
  EXPECT_NEAR(j["ssim"].get<double>(), 1.0, 1e-12);
  auto diff = run_oiad("compare " + folder_ + "/a/1.png " + folder_ + "/b/1.png");
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_GT(nlohmann::json::parse(diff.out)["mse"].get<double>(), 0.0);
}

// calibrate --morphs auto records the label-free choice of N and calibrates with it; a value
// that is neither a number nor "auto" is a usage error naming it.
TEST_F(DetectCli, CalibrateChoosesMorphs) {
  const std::string m = dir_->file("auto.oiad");
  std::filesystem::copy_file(model_, m, std::filesystem::copy_options::overwrite_existing);
  auto r = run_oiad("--threads 1 calibrate --model " + m + " --morphs auto --morphs-epsilon 1000");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  // The ladder stops at the first N whose worst ratio is within epsilon (a code whose VAL
  // spread is all noise has ratio null = infinite and is never within it).
  const auto& steps = j["morphs_choice"]["steps"];
  ASSERT_GE(steps.size(), 1u);
  auto within = [](const nlohmann::json& st) { return !st["worst_ratio"].is_null() && st["worst_ratio"] <= 1000.0; };
  for (size_t i = 0; i + 1 < steps.size(); ++i) EXPECT_FALSE(within(steps[i])) << i;
  EXPECT_EQ(j["morphs_choice"]["met"], within(steps.back()));
  EXPECT_EQ(steps[0]["morphs"], 10);
  EXPECT_EQ(j["morphs"], steps.back()["morphs"]);
  auto info = nlohmann::json::parse(run_oiad("model info " + m).out);
  EXPECT_EQ(info["calibration"]["detector"]["morphs"], j["morphs"]);
  EXPECT_EQ(info["calibration"]["morphs_choice"], j["morphs_choice"]);
  auto bad = run_oiad("calibrate --model " + m + " --morphs lots");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--morphs 'lots'"), std::string::npos) << bad.err;
}

// Errors: a model without calibration, α outside (0, 0.5], an image of another size,
// a corrupt model file.
TEST_F(DetectCli, Errors) {
  auto r = run_oiad("--threads 1 train --data " + folder_ + " --normal-class a --epochs 1 --batch-size 16 "
                    "--latent-dim 2 --no-calibrate --out " + dir_->file("raw.oiad"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto nocal = run_oiad("score --model " + dir_->file("raw.oiad") + " " + folder_ + "/a/1.png");
  EXPECT_EQ(nocal.exit_code, 1);
  EXPECT_NE(nocal.err.find("no calibration"), std::string::npos) << nocal.err;
  auto alpha = run_oiad("score --model " + model_ + " --alpha 0.7 " + folder_ + "/a/1.png");
  EXPECT_EQ(alpha.exit_code, 2);
  EXPECT_NE(alpha.err.find("alpha 0.7"), std::string::npos) << alpha.err;
  auto negative = run_oiad("score --model " + model_ + " --alpha -0.3 " + folder_ + "/a/1.png");
  EXPECT_EQ(negative.exit_code, 2);
  EXPECT_NE(negative.err.find("alpha -0.3"), std::string::npos) << negative.err;
  cv::Mat big(40, 40, CV_8UC3, cv::Scalar(10, 20, 30));
  cv::imwrite(dir_->file("big.png"), big);
  auto size = run_oiad("score --model " + model_ + " " + dir_->file("big.png"));
  EXPECT_EQ(size.exit_code, 1);
  EXPECT_NE(size.err.find("big.png"), std::string::npos) << size.err;
  auto resized = run_oiad("--threads 1 score --model " + model_ + " --resize " + dir_->file("big.png"));
  EXPECT_EQ(resized.exit_code, 0) << resized.err;
  test::write_bytes(dir_->file("junk.oiad"), {'x', 'y'});
  auto junk = run_oiad("model info " + dir_->file("junk.oiad"));
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_NE(junk.err.find("not an oiad model file"), std::string::npos) << junk.err;
  auto resume = run_oiad("train --data " + folder_ + " --normal-class a --resume --out " + dir_->file("none.oiad"));
  EXPECT_EQ(resume.exit_code, 1);
  EXPECT_NE(resume.err.find("no checkpoint"), std::string::npos) << resume.err;
}


// --sample N scores a seeded subset of N images; the old spelling --limit still does, with a
// one-line warning, and gives the same lines.
TEST_F(DetectCli, SampleAndItsOldSpelling) {
  auto a = run_oiad("--threads 1 score --model " + model_ + " --split test --sample 4");
  auto b = run_oiad("--threads 1 score --model " + model_ + " --split test --limit 4");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(json_lines(a.out).size(), 4u);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.err.find("deprecated"), std::string::npos) << a.err;
  EXPECT_NE(b.err.find("--limit is deprecated"), std::string::npos) << b.err;
}

// A DCAE model scores by its reconstruction error on every command: train calibrates it on
// VAL (the one-sided rule at the preset's F), `model info` names the scorer, `score` gives
// one reconstruction score per image whose decision is "score > threshold", `evaluate`'s AUC
// is the brute-force AUC of those scores, `inspect --map` draws the per-pixel error; the
// detector's options (--metric, the paper rule, morph strips and morph settings) are refused
// with one line and exit 2.
TEST_F(DetectCli, BaselineModelScoresByReconstruction) {
  const std::string m = dir_->file("dcae.oiad");
  auto t = run_oiad("--threads 1 train --data " + folder_ + " --normal-class a --kind dcae --epochs 2 "
                    "--batch-size 16 --latent-dim 4 --out " + m);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const auto info = nlohmann::json::parse(run_oiad("model info " + m).out);
  EXPECT_EQ(info["kind"], "dcae");
  EXPECT_EQ(info["scorer"], "reconstruction");
  EXPECT_EQ(info["calibration"]["rule"], "one-sided");
  EXPECT_DOUBLE_EQ(info["calibration"]["fpr"].get<double>(), 0.05);

  const auto map = expect_single_scores(m, "reconstruction", "dcae", [](const nlohmann::json& j) {
    EXPECT_EQ(j["rule"], "one-sided");
    EXPECT_FALSE(j.contains("consistency"));
    EXPECT_GT(j["p_value"].get<double>(), 0.0);
  });
  ASSERT_EQ(map.exit_code, 0) << map.err;
  EXPECT_GT(nlohmann::json::parse(map.out)["map_max"].get<double>(), 0.0);

  for (const std::string& bad : {"score --model " + m + " --metric mse " + folder_ + "/a/1.png",
                                 "score --model " + m + " --rule paper " + folder_ + "/a/1.png",
                                 "score --model " + m + " --alpha 0.1 " + folder_ + "/a/1.png",
                                 "inspect --model " + m + " " + folder_ + "/a/1.png --out " + dir_->file("s.png"),
                                 "calibrate --model " + m + " --morphs 7"}) {
    auto r = run_oiad(bad);
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("dcae"), std::string::npos) << r.err;
  }
  // Calibrating again keeps the reconstruction scorer, at the F asked for.
  auto c = run_oiad("--threads 1 calibrate --model " + m + " --fpr 0.1");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(nlohmann::json::parse(c.out)["scorer"], "reconstruction");
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(run_oiad("model info " + m).out)["calibration"]["fpr"].get<double>(), 0.1);
}

// A recseg model (the DRAEM-type peer) is trained, stored, calibrated and scored like the
// baselines: `train --kind recseg` with its own flags (the network flags of the other kinds
// refused, and recseg's for them), `model info` with its settings and training record,
// `score` by the segmentation score with "score > threshold" decisions, `evaluate`'s AUC the
// brute-force AUC of those scores, `inspect --map` its segmentation map; --metric, the paper
// rule and morph strips refused with one line and exit 2.
TEST_F(DetectCli, RecSegModelScoresBySegmentation) {
  const std::string m = dir_->file("recseg.oiad");
  const std::string train = "--threads 1 train --data " + folder_ + " --normal-class a --kind recseg ";
  auto t = run_oiad(train + "--recseg-steps 12 --recseg-widths 4,4 --anomaly-source procedural --recseg-sources 6 "
                            "--out " + m);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const auto tj = nlohmann::json::parse(t.out);
  EXPECT_EQ(tj["kind"], "recseg");
  EXPECT_EQ(tj["steps"], 12);
  EXPECT_EQ(tj["anomaly_sources"]["images"], 6);
  const auto info = nlohmann::json::parse(run_oiad("model info " + m).out);
  EXPECT_EQ(info["kind"], "recseg");
  EXPECT_EQ(info["scorer"], "segmentation");
  EXPECT_EQ(info["recseg"]["rec_width"], 4);
  EXPECT_EQ(info["recseg"]["steps"], 12);
  EXPECT_FALSE(info.contains("precision"));
  EXPECT_EQ(info["calibration"]["rule"], "one-sided");

  expect_single_scores(m, "segmentation", "recseg", [](const nlohmann::json& j) {
    EXPECT_GE(j["score"].get<double>(), 0.0);
    EXPECT_LE(j["score"].get<double>(), 1.0);
  });

  for (const std::string& bad :
       {"score --model " + m + " --metric mse " + folder_ + "/a/1.png",
        "score --model " + m + " --rule paper " + folder_ + "/a/1.png",
        "inspect --model " + m + " " + folder_ + "/a/1.png --out " + dir_->file("s.png"),
        "calibrate --model " + m + " --morphs 7",
        train + "--epochs 3 --anomaly-source procedural --out " + dir_->file("x.oiad"),
        train + "--anomaly-source " + dir_->file("no-textures") + " --out " + dir_->file("x.oiad"),
        train + "--recseg-filter 4 --anomaly-source procedural --out " + dir_->file("x.oiad"),
        "train --data " + folder_ + " --normal-class a --kind dcae --recseg-steps 5 --out " + dir_->file("x.oiad")}) {
    auto r = run_oiad(bad);
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.err.find("recseg") != std::string::npos || r.err.find("no-textures") != std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_->file("x.oiad")));
  // Calibrating again keeps the segmentation scorer, at the F asked for.
  auto c = run_oiad("--threads 1 calibrate --model " + m + " --fpr 0.1");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(nlohmann::json::parse(c.out)["scorer"], "segmentation");
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(run_oiad("model info " + m).out)["calibration"]["fpr"].get<double>(), 0.1);
}

}  // namespace
}  // namespace oiad

// The oiad executable: JSON on stdout, one-line errors on stderr, exit codes 0/1/2.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "oiad/core/random.h"
#include "oiad/data/readers.h"
#include "oiad/data/resize.h"
#include "oiad/model/model_io.h"
#include "oiad/model/preprocess.h"
#include "test_util.h"

namespace oiad {
namespace {

using test::run_oiad;

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// `data info` prints one JSON object with the documented fields and counts.
TEST(Cli, DataInfoJson) {
  test::TempDir d;
  test::write_idx_folder(d.path(), 30, 7, 4, 4, 3, true);
  auto r = run_oiad("data info " + d.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["channels"], 1);
  EXPECT_EQ(j["height"], 4);
  EXPECT_EQ(j["classes"].size(), 3u);
  EXPECT_EQ(j["splits"]["train"]["count"], 30);
  EXPECT_EQ(j["splits"]["test"]["count"], 7);
  EXPECT_EQ(j["splits"]["train"]["per_class"], (std::vector<int>{10, 10, 10}));
}

// An archive whose image entries inflate beyond $OIAD_MAX_INPUT_BYTES is refused on one line
// as soon as the limit is passed (a 2 MB entry of zeros compresses to a few KB); with a
// limit above it, the same archive is read.
TEST(Cli, ArchiveInputLimit) {
  test::TempDir d;
  std::filesystem::create_directories(d.file("set/a"));
  test::write_bytes(d.file("set/a/big.png"), std::vector<uint8_t>(2 << 20, 0));
  ASSERT_EQ(std::system(("tar -czf " + d.file("bomb.tar.gz") + " -C " + d.path() + " set").c_str()), 0);
  ASSERT_LT(std::filesystem::file_size(d.file("bomb.tar.gz")), 100000u);
  auto r = test::run_command("OIAD_MAX_INPUT_BYTES=1000000 " + test::oiad_binary() + " data info " + d.file("bomb.tar.gz"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("image entries inflate to more than 1000000 bytes"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  // Under a larger limit the entry is read, and refused for what it is: not an image.
  auto ok = test::run_command("OIAD_MAX_INPUT_BYTES=4000000 " + test::oiad_binary() + " data info " + d.file("bomb.tar.gz"));
  EXPECT_EQ(ok.exit_code, 1);
  EXPECT_NE(ok.err.find("not a PNG, JPEG or BMP file"), std::string::npos) << ok.err;
}

// `data split` writes the JSON file of indices and a summary.
TEST(Cli, DataSplitWritesJson) {
  test::TempDir d;
  test::write_idx_folder(d.path(), 100, 10, 2, 2, 2, false);
  auto r = run_oiad("data split --data " + d.path() + " --normal-class 1 --seed 3 --out " + d.file("s.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto s = nlohmann::json::parse(r.out);
  EXPECT_EQ(s["n_train"], 35);
  EXPECT_EQ(s["n_val"], 5);
  EXPECT_EQ(s["n_test"], 20);
  auto f = nlohmann::json::parse(test::read_text(d.file("s.json")));
  EXPECT_EQ(f["train"]["index"].size(), 35u);
}

// `--defects` picks the families of the defects protocol: only those appear in the split;
// with another protocol, or an unknown family, it is a one-line usage error (exit 2).
TEST(Cli, DataSplitDefectFamilies) {
  test::TempDir d;
  test::write_idx_folder(d.path(), 60, 40, 12, 12, 2, false);
  auto r = run_oiad("data split --data " + d.path() + " --normal-class 1 --protocol defects --defects erase,stain --out " +
                    d.file("s.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = nlohmann::json::parse(test::read_text(d.file("s.json")));
  std::set<std::string> seen;
  for (const auto& x : f["test"]["defect"])
    if (!x.is_null()) seen.insert(x.get<std::string>());
  EXPECT_EQ(seen, (std::set<std::string>{"erase", "stain"}));
  auto other = run_oiad("data split --data " + d.path() + " --normal-class 1 --protocol standard --defects erase");
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_EQ(lines(other.err), 1) << other.err;
  EXPECT_NE(other.err.find("defects protocol only"), std::string::npos) << other.err;
  auto unknown = run_oiad("data split --data " + d.path() + " --normal-class 1 --protocol defects --defects erase,dent");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("dent"), std::string::npos) << unknown.err;
  auto exp = run_oiad("experiment --data " + d.path() + " --normal-class 1 --defects scratch --out " + d.file("e"));
  EXPECT_EQ(exp.exit_code, 2);
  EXPECT_NE(exp.err.find("--defects applies to --protocol defects only"), std::string::npos) << exp.err;
  EXPECT_FALSE(std::filesystem::exists(d.file("e")));
}

// Data errors exit 1 with one line naming the input; usage errors exit 2.
TEST(Cli, ErrorsAndExitCodes) {
  auto unknown = run_oiad("data info no-such-set");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(lines(unknown.err), 1) << unknown.err;
  EXPECT_NE(unknown.err.find("no-such-set"), std::string::npos);
  EXPECT_TRUE(unknown.out.empty());

  test::TempDir d;
  test::write_bytes(d.file("train-images-idx3-ubyte"), {1, 2, 3, 4, 5});
  test::write_bytes(d.file("train-labels-idx1-ubyte"), {0, 0, 8, 1, 0, 0, 0, 0});
  auto corrupt = run_oiad("data info " + d.path());
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_EQ(lines(corrupt.err), 1) << corrupt.err;
  EXPECT_NE(corrupt.err.find("train-images-idx3-ubyte"), std::string::npos) << corrupt.err;

  test::TempDir ok;
  test::write_idx_folder(ok.path(), 20, 5, 2, 2, 2, false);
  auto bad_class = run_oiad("data split --data " + ok.path() + " --normal-class 5");
  EXPECT_EQ(bad_class.exit_code, 1);
  EXPECT_NE(bad_class.err.find("no class '5'"), std::string::npos) << bad_class.err;

  EXPECT_EQ(run_oiad("data info").exit_code, 2);
  EXPECT_EQ(run_oiad("data split --data x --normal-class 1 --protocol nope").exit_code, 2);
  EXPECT_EQ(run_oiad("frobnicate").exit_code, 2);
  EXPECT_EQ(run_oiad("--help").exit_code, 0);
}

}  // namespace
}  // namespace oiad

namespace oiad {
namespace {

// `oiad experiment` refuses bad options with one line naming what is wrong, before any work.
TEST(Cli, ExperimentBadOptions) {
  test::TempDir d;
  test::write_idx_folder(d.path(), 60, 30, 28, 28, 3, false);
  auto bad_method = test::run_oiad("experiment --data " + d.path() + " --normal-class 1 --methods oiad,svdd --out " +
                                   d.file("e"));
  EXPECT_EQ(bad_method.exit_code, 2);
  EXPECT_NE(bad_method.err.find("unknown method 'svdd'"), std::string::npos) << bad_method.err;
  auto bad_metric = test::run_oiad("experiment --data " + d.path() + " --normal-class 1 --metrics ssim,,mse --out " +
                                   d.file("e"));
  EXPECT_EQ(bad_metric.exit_code, 2);
  EXPECT_NE(bad_metric.err.find("--metrics"), std::string::npos) << bad_metric.err;
  auto bad_alpha = test::run_oiad("experiment --data " + d.path() + " --normal-class 1 --alpha 0.9 --out " + d.file("e"));
  EXPECT_EQ(bad_alpha.exit_code, 2);
  EXPECT_NE(bad_alpha.err.find("alpha"), std::string::npos) << bad_alpha.err;
  auto bad_gamma = test::run_oiad("experiment --data " + d.path() + " --normal-class 1 --gamma nan --out " + d.file("e"));
  EXPECT_EQ(bad_gamma.exit_code, 2);
  EXPECT_NE(bad_gamma.err.find("--gamma nan outside [0, 1e6]"), std::string::npos) << bad_gamma.err;
  auto bad_set = test::run_oiad("experiment --data " + d.path() + " --normal-class 1 --transforms-set flip,shear --out " +
                                d.file("e"));
  EXPECT_EQ(bad_set.exit_code, 2);
  EXPECT_NE(bad_set.err.find("--transforms-set: transforms: unknown factor 'shear'"), std::string::npos) << bad_set.err;
  auto bad_net = test::run_oiad("experiment --data " + d.path() + " --normal-class 1 --transforms-net 12,2 --out " +
                                d.file("e"));
  EXPECT_EQ(bad_net.exit_code, 2);
  EXPECT_NE(bad_net.err.find("--transforms-net 12,2 is not a WRN"), std::string::npos) << bad_net.err;
  auto no_data = test::run_oiad("experiment --data " + d.file("none") + " --normal-class 1 --out " + d.file("e"));
  EXPECT_EQ(no_data.exit_code, 1);
  EXPECT_NE(no_data.err.find(d.file("none")), std::string::npos) << no_data.err;
  EXPECT_FALSE(std::filesystem::exists(d.file("e")));
  auto no_source = test::run_oiad("experiment --data " + d.path() + " --normal-class 1 --methods recseg " +
                                  "--anomaly-source " + d.file("textures") + " --out " + d.file("e"));
  EXPECT_EQ(no_source.exit_code, 2);
  EXPECT_NE(no_source.err.find(d.file("textures") + ": no such folder or archive"), std::string::npos) << no_source.err;
  EXPECT_FALSE(std::filesystem::exists(d.file("e")));
}

// --quick sets the short settings of experiment::make_quick; a flag given explicitly wins.
TEST(Cli, ExperimentQuickMode) {
  test::TempDir d;
  test::write_idx_folder(d.path(), 60, 30, 28, 28, 3, false);
  auto r = test::run_oiad("experiment --quick --epochs 1 --methods dcae --no-figures --data " + d.path() +
                          " --normal-class 1 --out " + d.file("e"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s = nlohmann::json::parse(test::read_text(d.file("e/experiment.json")));
  EXPECT_EQ(s["limit"], 600);
  EXPECT_EQ(s["epochs"], 1);
  EXPECT_EQ(s["pca_dims"], nlohmann::json::array({20, 40}));
  EXPECT_EQ(s["gmm_components"], nlohmann::json::array({2, 5}));
  EXPECT_FALSE(s.contains("deepsvdd_epochs"));  // recorded only when deepsvdd runs
  auto plain = test::run_oiad("experiment --epochs 1 --methods dcae --no-figures --data " + d.path() +
                              " --normal-class 1 --out " + d.file("p"));
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const auto p = nlohmann::json::parse(test::read_text(d.file("p/experiment.json")));
  EXPECT_EQ(p["limit"], 0);
  EXPECT_EQ(p["pca_dims"], nlohmann::json::array({20, 40, 60, 80, 100}));
}

// A category folder in the MVTec AD layout: train/good, test/good, test/spot with masks
// under ground_truth/spot/<name>_mask.png; grey textures of 40x48 pixels, a spot is a bright
// 6x6 square. One spot image has no mask file.
void write_mvtec_category(const std::string& root) {
  namespace fs = std::filesystem;
  Rng rng(5);
  auto write = [&](const std::string& dir, int i, bool spot) {
    cv::Mat img(40, 48, CV_8UC1), mask(40, 48, CV_8UC1, cv::Scalar(0));
    const int y0 = 4 + int(rng.uniform_index(28)), x0 = 4 + int(rng.uniform_index(36));
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 48; ++x) {
        const bool on = spot && y >= y0 && y < y0 + 6 && x >= x0 && x < x0 + 6;
        img.at<uint8_t>(y, x) = uint8_t(on ? 240 : 90 + 20 * ((x / 4 + y / 4) % 2) + int(rng.uniform_index(20)));
        if (on) mask.at<uint8_t>(y, x) = 255;
      }
    char name[16];
    std::snprintf(name, sizeof name, "%03d", i);
    fs::create_directories(root + "/" + dir);
    cv::imwrite(root + "/" + dir + "/" + name + ".png", img);
    if (spot && i > 0) {  // spot 000 has no mask
      fs::create_directories(root + "/ground_truth/spot");
      cv::imwrite(root + "/ground_truth/spot/" + name + "_mask.png", mask);
    }
  };
  for (int i = 0; i < 36; ++i) write("train/good", i, false);
  for (int i = 0; i < 10; ++i) write("test/good", i, false);
  for (int i = 0; i < 11; ++i) write("test/spot", i, true);
}

// `oiad experiment` on an MVTec AD category folder, standard protocol: trains on train/good,
// tests on every test image, measures the DCAE's map against each mask (the image without
// one counts in the image metrics only, said once); `oiad evaluate` of the saved model
// reports the same measures for its whole test split, recomputed here pixel by pixel.
TEST(Cli, MvtecCategoryExperimentAndEvaluate) {
  test::TempDir d;
  const std::string cat = d.file("tile");
  write_mvtec_category(cat);
  auto r = run_oiad("--threads 1 experiment --quick --epochs 3 --methods dcae,gmm --no-figures --input-size 32 "
                    "--data " + cat + " --normal-class good --protocol standard --out " + d.file("e"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("1 anomalous test images have no mask"), std::string::npos) << r.err;
  const auto res = nlohmann::json::parse(test::read_text(d.file("e/results.json")));
  const auto split = nlohmann::json::parse(test::read_text(d.file("e/split.json")));
  const auto& dcae = res["methods"]["dcae"];
  for (const char* k : {"auc", "pixel_auroc", "aupro"}) ASSERT_TRUE(dcae.contains(k)) << k;
  EXPECT_FALSE(res["methods"]["gmm"].contains("pixel_auroc"));
  // Every reported test image but the unmasked spot has a mask.
  const auto reported = split["reported_test"]["index"].get<std::vector<int64_t>>();
  const data::Dataset ds = data::read_image_folder(cat);
  size_t masked = 0;
  for (int64_t i : reported) masked += ds.image("test", i).mask != nullptr;
  EXPECT_EQ(masked, reported.size() - (std::count(reported.begin(), reported.end(), int64_t(10)) ? 1 : 0));
  EXPECT_EQ(dcae["pixel_images"].get<size_t>(), masked);
  EXPECT_DOUBLE_EQ(dcae["per_kind"]["spot"]["aupro"].get<double>(), dcae["aupro"].get<double>());

  // The experiment's models are not calibrated: calibrate the DCAE on its VAL part first.
  const std::string model = d.file("e/models/dcae.oiad");
  auto cal = run_oiad("--threads 1 calibrate --model " + model);
  ASSERT_EQ(cal.exit_code, 0) << cal.err;
  auto ev = run_oiad("--threads 1 evaluate --model " + model + " --out " + d.file("v"));
  ASSERT_EQ(ev.exit_code, 0) << ev.err;
  EXPECT_NE(ev.err.find("1 anomalous test images have no mask"), std::string::npos) << ev.err;
  const auto v = nlohmann::json::parse(test::read_text(d.file("v/results.json")));
  const auto& rec = v["metrics"]["reconstruction"];
  ASSERT_TRUE(rec.contains("pixel_auroc")) << v.dump();
  EXPECT_EQ(rec["pixel_images"].get<int>(), 20);  // 10 good + 10 masked spots
  // The DCAE's map: its squared error on the 32x32 input, brought back to 40x48.
  auto m = model::load_model(model);
  torch::NoGradGuard ng;
  std::vector<double> pos, neg;
  for (int64_t i = 0; i < ds.test.count; ++i) {
    const data::ImageView im = ds.image("test", i);
    if (!im.mask) continue;
    const auto small = data::resize_image(im.pixels, 1, im.height, im.width, 32, 32);
    const auto x = model::images_to_input(small.data(), 1, 1, 32, 32, 32);
    const auto err = (x - m.net->decoder->forward(m.net->encoder->forward(x).first)).pow(2).sum(1);
    const auto big = model::resize_maps(err, im.height, im.width)[0].to(torch::kDouble).contiguous();
    for (int p = 0; p < im.height * im.width; ++p) (im.mask[p] ? pos : neg).push_back(big.data_ptr<double>()[p]);
  }
  EXPECT_NEAR(rec["pixel_auroc"].get<double>(), test::pair_count_auroc(pos, neg), 1e-4);
  // `inspect --resize --map` of a photograph draws the map at the photograph's own size.
  auto in = run_oiad("--threads 1 inspect --model " + model + " --resize " + cat + "/test/spot/003.png --map " +
                     d.file("m.png"));
  ASSERT_EQ(in.exit_code, 0) << in.err;
  const cv::Mat overlay = cv::imread(d.file("m.png"));
  EXPECT_EQ(overlay.cols, 48);
  EXPECT_EQ(overlay.rows, 40);
  EXPECT_GT(rec["aupro"].get<double>(), 0.0);
  EXPECT_LE(rec["aupro"].get<double>(), 1.0);
}

}  // namespace
}  // namespace oiad

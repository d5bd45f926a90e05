// The HTTP service: scores equal `oiad score`'s, every refusal is a 4xx with a JSON error,
// tokens, overload answers, metrics, and SIGTERM finishing the request in flight. The
// server runs in this process (serve::Server on a free port) except for the SIGTERM test,
// which starts `oiad serve`. Uses the model DetectCliFixture.TrainModel writes.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "oiad/core/error.h"
#include "serve/server.h"
#include "test_util.h"

namespace oiad {
namespace {

using nlohmann::json;

std::string model_path() { return test::fixture_dir() + "/detect_cli/m.oiad"; }
std::string image_path(int i) { return test::fixture_dir() + "/detect_cli/set/a/" + std::to_string(i) + ".png"; }
std::string other_class_image(int i) { return test::fixture_dir() + "/detect_cli/set/b/" + std::to_string(i) + ".png"; }

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// `oiad score` of image files with a model (the shared fixture's by default): the JSON line of each.
std::vector<json> cli_scores(const std::vector<std::string>& images, const std::string& extra = "",
                             const std::string& model = model_path()) {
  std::string args = "--threads 1 score --model " + model + " " + extra;
  for (const auto& i : images) args += " " + i;
  const auto r = test::run_oiad(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

// A server on a free port of 127.0.0.1, serving in a thread until the object dies.
class RunningServer {
 public:
  explicit RunningServer(serve::ServerOptions o = {}, const std::string& name = "m", const std::string& path = "") {
    o.port = 0;
    server_ = std::make_unique<serve::Server>(std::vector<serve::ModelSpec>{{name, path.empty() ? model_path() : path}}, o);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }

 private:
  std::unique_ptr<serve::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(model_path())) << model_path() << " missing: run DetectCliFixture.TrainModel first";
  }
};

// The error body every refusal carries: {"error": one line, "status": the status}.
void expect_json_error(const httplib::Result& r, int status, const std::string& says) {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["status"], status);
  const std::string e = j["error"];
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  EXPECT_NE(e.find(says), std::string::npos) << e;
}

TEST_F(Serve, ScoresEqualTheCli) {
  RunningServer s;
  auto c = s.client();
  const std::vector<std::string> files = {image_path(0), other_class_image(1)};
  const auto cli = cli_scores(files);
  ASSERT_EQ(cli.size(), 2u);
  // One image as the body.
  for (size_t i = 0; i < files.size(); ++i) {
    auto r = c.Post("/v1/models/m/score", file_bytes(files[i]), "image/png");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    ASSERT_EQ(j["images"].size(), 1u);
    const json& im = j["images"][0];
    EXPECT_DOUBLE_EQ(im["score"].get<double>(), cli[i]["score"].get<double>());
    EXPECT_EQ(im["anomalous"], cli[i]["anomalous"]);
    EXPECT_EQ(im["p_value"], cli[i]["p_value"]);
    EXPECT_EQ(im["most_extreme_code"], cli[i]["most_extreme_code"]);
    EXPECT_EQ(j["rule"], cli[i]["rule"]);
    EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), cli[i]["threshold"].get<double>());
  }
  // Both as multipart, with options in a JSON part and the query: the paper rule on MSE.
  const auto cli_mse = cli_scores(files, "--metric mse --alpha 0.3");
  httplib::MultipartFormDataItems items = {{"first", file_bytes(files[0]), "a.png", "image/png"},
                                           {"second", file_bytes(files[1]), "b.png", "image/png"},
                                           {"options", R"({"metric": "mse"})", "", "application/json"}};
  auto r = c.Post("/v1/models/m/score?alpha=0.3", items);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["rule"], "paper");
  EXPECT_EQ(j["alpha"], 0.3);
  ASSERT_EQ(j["images"].size(), 2u);
  EXPECT_EQ(j["images"][0]["name"], "a.png");
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_DOUBLE_EQ(j["images"][i]["score"].get<double>(), cli_mse[i]["score"].get<double>());
    EXPECT_EQ(j["images"][i]["consistency"].size(), cli_mse[i]["consistency"].size());
  }
}

// explain=map,strip returns both pictures as base64 PNG of the documented sizes.
// Width and height from the IHDR chunk of a base64-encoded PNG (the first 32 characters
// decoded by hand through the alphabet).
std::pair<uint32_t, uint32_t> png_size_of_base64(const std::string& b64) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uint8_t> head;
  for (size_t i = 0; i + 4 <= 32; i += 4) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) v = (v << 6) | uint32_t(alphabet.find(b64[i + k]));
    head.push_back(uint8_t(v >> 16)), head.push_back(uint8_t(v >> 8)), head.push_back(uint8_t(v));
  }
  auto be32 = [&](size_t at) {
    return (uint32_t(head[at]) << 24) | (uint32_t(head[at + 1]) << 16) | (uint32_t(head[at + 2]) << 8) | head[at + 3];
  };
  return {be32(16), be32(20)};
}

TEST_F(Serve, ExplainReturnsChangeMapAndStrip) {
  RunningServer s;
  auto c = s.client();
  auto r = c.Post("/v1/models/m/score?explain=map,strip", file_bytes(image_path(2)), "image/png");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json im = json::parse(r->body)["images"][0];
  for (const char* k : {"map", "strip"}) {
    ASSERT_TRUE(im.contains(k)) << k;
    const std::string b64 = im[k];
    // Base64 of a PNG starts with the signature's encoding.
    EXPECT_EQ(b64.substr(0, 8), "iVBORw0K") << k;
  }
  EXPECT_TRUE(im["map_max"].is_number());
  // A PNG of the model's input (32 x 32) scaled 4 times: IHDR width and height 128.
  EXPECT_EQ(png_size_of_base64(im["map"]), std::make_pair(128u, 128u));
}

// A tiled model (trained by the CLI on textures of mixed sizes): the service scores each
// photograph at its own size as `oiad score` does, and explain=map gives the change map at
// the photograph's size; a morph strip and the paper rule are refused.
TEST_F(Serve, TiledModelScoresPhotographsAtTheirSize) {
  test::TempDir d;
  cv::RNG rng(4);
  std::vector<std::string> files;
  for (int i = 0; i < 22; ++i) {
    const int h = 40 + int(rng.uniform(0, 20)), w = 44 + int(rng.uniform(0, 24));
    cv::Mat m(h, w, CV_8UC1);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) m.at<uint8_t>(y, x) = uint8_t(90 + 20 * ((x / 4 + y / 4) % 2) + rng.uniform(0, 20));
    const std::string cls = i < 20 ? "good" : "spot";
    if (cls == "spot") m(cv::Rect(12, 10, 6, 6)).setTo(240);
    std::filesystem::create_directories(d.file("set/" + cls));
    files.push_back(d.file("set/" + cls + "/" + std::to_string(i) + ".png"));
    cv::imwrite(files.back(), m);
  }
  const std::string model = d.file("t.oiad");
  const auto t = test::run_oiad("--threads 1 train --data " + d.file("set") + " --normal-class good --protocol inspection "
                                "--kind dcae --tile 32 --stride 16 --tiles 100 --epochs 1 --out " + model);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const std::vector<json> want = cli_scores({files[19], files[21]}, "", model);
  ASSERT_EQ(want.size(), 2u);
  RunningServer s({}, "t", model);
  auto c = s.client();
  for (size_t i = 0; i < 2; ++i) {
    const std::string& f = i == 0 ? files[19] : files[21];
    auto r = c.Post("/v1/models/t/score?explain=map", file_bytes(f), "image/png");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    const json& im = j["images"][0];
    EXPECT_DOUBLE_EQ(im["score"].get<double>(), want[i]["score"].get<double>());
    EXPECT_EQ(im["anomalous"], want[i]["anomalous"]);
    EXPECT_EQ(im["p_value"], want[i]["p_value"]);
    EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), want[i]["threshold"].get<double>());
    const cv::Mat img = cv::imread(f, cv::IMREAD_GRAYSCALE);
    EXPECT_EQ(png_size_of_base64(im["map"]), std::make_pair(uint32_t(img.cols), uint32_t(img.rows)));
  }
  expect_json_error(c.Post("/v1/models/t/score?explain=strip", file_bytes(files[0]), "image/png"), 400, "morph strip");
  expect_json_error(c.Post("/v1/models/t/score?rule=paper", file_bytes(files[0]), "image/png"), 400, "one-sided");
  // The CLI beside it: inspect --map draws the map at the photograph's size; the commands
  // that read network-size images refuse the tiled model in one line (usage, exit 2).
  const auto map = test::run_oiad("--threads 1 inspect --model " + model + " " + files[21] + " --map " + d.file("m.png"));
  ASSERT_EQ(map.exit_code, 0) << map.err;
  const cv::Mat drawn = cv::imread(d.file("m.png")), photo = cv::imread(files[21]);
  EXPECT_EQ(drawn.size(), photo.size());
  for (const std::string& cmd : std::vector<std::string>{"evaluate --out " + d.file("ev"), "find --out " + d.file("g.png"), "calibrate"}) {
    const auto r = test::run_oiad(cmd + " --model " + model);
    EXPECT_EQ(r.exit_code, 2) << cmd << r.err;
    EXPECT_NE(r.err.find("tiled"), std::string::npos) << cmd << r.err;
  }
}

// A recseg model (the DRAEM-type peer, trained by the CLI): the service's model card names its
// kind and scorer, it scores by the segmentation map as `oiad score` does, explain=map returns
// that map at the network input's size scaled 4 times, and a morph strip, another metric and
// the paper rule are refused in one line.
TEST_F(Serve, RecSegModelScoresAsTheCli) {
  test::TempDir d;
  const std::string model = d.file("r.oiad");
  const auto t = test::run_oiad("--threads 1 train --data " + test::fixture_dir() + "/detect_cli/set --normal-class a "
                                "--kind recseg --recseg-steps 12 --recseg-widths 4,4 --anomaly-source procedural "
                                "--recseg-sources 6 --out " + model);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const std::vector<std::string> files = {image_path(0), other_class_image(1)};
  const std::vector<json> want = cli_scores(files, "", model);
  ASSERT_EQ(want.size(), 2u);
  RunningServer s({}, "r", model);
  auto c = s.client();
  const auto card = c.Get("/v1/models");
  ASSERT_TRUE(card);
  const json m = json::parse(card->body)["models"][0];
  EXPECT_EQ(m["kind"], "recseg");
  EXPECT_EQ(m["scorer"], "segmentation");
  EXPECT_EQ(m["change_maps"], true);
  for (size_t i = 0; i < files.size(); ++i) {
    auto r = c.Post("/v1/models/r/score?explain=map", file_bytes(files[i]), "image/png");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    const json& im = j["images"][0];
    EXPECT_EQ(j["metric"], "segmentation");
    EXPECT_DOUBLE_EQ(im["score"].get<double>(), want[i]["score"].get<double>());
    EXPECT_EQ(im["anomalous"], want[i]["anomalous"]);
    EXPECT_EQ(im["p_value"], want[i]["p_value"]);
    EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), want[i]["threshold"].get<double>());
    EXPECT_EQ(png_size_of_base64(im["map"]), std::make_pair(128u, 128u));
  }
  const std::string img = file_bytes(files[0]);
  expect_json_error(c.Post("/v1/models/r/score?explain=strip", img, "image/png"), 400, "no morph strip");
  expect_json_error(c.Post("/v1/models/r/score?metric=mse", img, "image/png"), 400, "segmentation");
  expect_json_error(c.Post("/v1/models/r/score?rule=paper", img, "image/png"), 400, "recseg");
}

TEST_F(Serve, RefusalsAreJsonErrors) {
  serve::ServerOptions o;
  o.max_body_bytes = 4096;
  o.max_images = 2;
  o.max_image_pixels = 28 * 28;
  RunningServer s(o);
  auto c = s.client();
  const std::string good = file_bytes(image_path(0));
  expect_json_error(c.Post("/v1/models/m/score", "not an image at all", "image/png"), 400, "not a PNG, JPEG or BMP");
  expect_json_error(c.Post("/v1/models/m/score", "", "image/png"), 400, "empty body");
  // A PNG cut short: its header is fine, its pixels are not.
  expect_json_error(c.Post("/v1/models/m/score", good.substr(0, good.size() / 2), "image/png"), 400, "image");
  expect_json_error(c.Post("/v1/models/m/score", std::string(8192, 'x'), "image/png"), 413, "too large");
  expect_json_error(c.Post("/v1/models/nope/score", good, "image/png"), 404, "no model 'nope'");
  expect_json_error(c.Post("/v1/models/m/score?alhpa=0.1", good, "image/png"), 400, "unknown option 'alhpa'");
  expect_json_error(c.Post("/v1/models/m/score?alpha=2", good, "image/png"), 400, "alpha");
  expect_json_error(c.Post("/v1/models/m/score?metric=psnr", good, "image/png"), 400, "psnr");
  expect_json_error(c.Post("/v1/models/m/score?explain=heat", good, "image/png"), 400, "heat");
  expect_json_error(c.Post("/v1/models/m/score", good, "application/json"), 415, "Content-Type");
  expect_json_error(c.Get("/v1/nothing"), 404, "no such endpoint");
  // More pixels than allowed: a 29 x 29 PNG against the 28 x 28 limit.
  {
    test::TempDir dir;
    const std::string big = dir.file("big.png");
    ASSERT_TRUE(cv::imwrite(big, cv::Mat(29, 29, CV_8UC1, cv::Scalar(0))));
    expect_json_error(c.Post("/v1/models/m/score", file_bytes(big), "image/png"), 413, "841 pixels");
  }
  httplib::MultipartFormDataItems three = {{"a", good, "a.png", "image/png"},
                                           {"b", good, "b.png", "image/png"},
                                           {"c", good, "c.png", "image/png"}};
  expect_json_error(c.Post("/v1/models/m/score", three), 413, "3 images");
  // After all that the service still scores.
  auto r = c.Post("/v1/models/m/score", good, "image/png");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Every answer above is counted, the body refused before routing (413) included.
  auto met = c.Get("/metrics");
  ASSERT_TRUE(met);
  for (const char* line : {"oiad_requests_total{code=\"200\"} 1\n", "oiad_requests_total{code=\"400\"} 7\n",
                           "oiad_requests_total{code=\"404\"} 2\n", "oiad_requests_total{code=\"413\"} 3\n",
                           "oiad_requests_total{code=\"415\"} 1\n"})
    EXPECT_NE(met->body.find(line), std::string::npos) << line << met->body;
}

TEST_F(Serve, TokenGuardsTheApi) {
  serve::ServerOptions o;
  o.token = "s3cret-token";
  RunningServer s(o);
  auto c = s.client();
  expect_json_error(c.Get("/v1/models"), 401, "Bearer");
  expect_json_error(c.Post("/v1/models/m/score", file_bytes(image_path(0)), "image/png"), 401, "Bearer");
  expect_json_error(c.Get("/metrics"), 401, "Bearer");
  expect_json_error(c.Get("/v1/models", {{"Authorization", "Bearer s3cret-tokeN"}}), 401, "Bearer");
  auto ok = c.Get("/v1/models", {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  // Health checks and the page (which asks for the token) need none.
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<title>oiad</title>"), std::string::npos);
}

// The model card names no file of the server, and /metrics counts what happened.
TEST_F(Serve, ModelCardAndMetrics) {
  RunningServer s({}, "digits");
  auto c = s.client();
  auto r = c.Get("/v1/models");
  ASSERT_TRUE(r);
  const json j = json::parse(r->body);
  ASSERT_EQ(j["models"].size(), 1u);
  const json& m = j["models"][0];
  EXPECT_EQ(m["name"], "digits");
  EXPECT_EQ(m["normal_class_name"], "a");
  EXPECT_EQ(m["input"]["size"], 32);
  EXPECT_EQ(m["calibration"]["rule"], "one-sided");
  EXPECT_EQ(m["change_maps"], true);
  EXPECT_EQ(r->body.find(test::fixture_dir()), std::string::npos) << r->body;
  const std::string good = file_bytes(image_path(0));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c.Post("/v1/models/digits/score", good, "image/png")->status, 200);
  ASSERT_EQ(c.Post("/v1/models/digits/score", "junk", "image/png")->status, 400);
  auto met = c.Get("/metrics");
  ASSERT_TRUE(met);
  const std::string t = met->body;
  EXPECT_NE(t.find("oiad_requests_total{code=\"200\"} 4"), std::string::npos) << t;  // 3 scores + /v1/models
  EXPECT_NE(t.find("oiad_requests_total{code=\"400\"} 1"), std::string::npos) << t;
  EXPECT_NE(t.find("oiad_images_scored_total 3"), std::string::npos) << t;
  EXPECT_NE(t.find("oiad_request_duration_seconds_count 5"), std::string::npos) << t;
  EXPECT_NE(t.find("oiad_request_duration_seconds_bucket{le=\"+Inf\"} 5"), std::string::npos) << t;
  EXPECT_NE(t.find("oiad_queue_depth 0"), std::string::npos) << t;
}

// Requests arriving together: every one is answered 200 (scored, possibly in a shared batch)
// or 503 with Retry-After (the queue of 1 was full); the scores of those answered are right.
// Requests with and without explain=map arrive together (the worker batches the plain ones
// and scores each explain request on its own): each gets what it asked for, and a map equals
// the one its image gets alone.
TEST_F(Serve, MixedExplainRequestsGetWhatTheyAskFor) {
  RunningServer s;
  const std::string img = file_bytes(image_path(4));
  auto alone = s.client().Post("/v1/models/m/score?explain=map", img, "image/png");
  ASSERT_TRUE(alone);
  ASSERT_EQ(alone->status, 200) << alone->body;
  const json expected = json::parse(alone->body)["images"][0];
  std::atomic<int> ok{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      auto c = s.client();
      for (int k = 0; k < 4; ++k) {
        const bool map = (t + k) % 2 == 1;
        auto r = c.Post(map ? "/v1/models/m/score?explain=map" : "/v1/models/m/score", img, "image/png");
        if (!r || r->status != 200) {
          ++wrong;
          continue;
        }
        const json im = json::parse(r->body)["images"][0];
        const bool right = im["score"] == expected["score"] && im.contains("map") == map &&
                           (!map || (im["map"] == expected["map"] && im["map_max"] == expected["map_max"]));
        ++(right ? ok : wrong);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(ok, 32);
}

TEST_F(Serve, OverloadAnswers503WithRetryAfter) {
  serve::ServerOptions o;
  o.queue = 1;
  o.http_threads = 8;
  RunningServer s(o);
  const std::string good = file_bytes(image_path(3));
  const double expected = cli_scores({image_path(3)})[0]["score"];
  std::atomic<int> ok{0}, busy{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      auto c = s.client();
      for (int k = 0; k < 3; ++k) {
        auto r = c.Post("/v1/models/m/score", good, "image/png");
        if (r && r->status == 200 && json::parse(r->body)["images"][0]["score"].get<double>() == expected)
          ++ok;
        else if (r && r->status == 503 && r->has_header("Retry-After"))
          ++busy;
        else
          ++other;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(other, 0);
  EXPECT_GE(ok, 1);
  EXPECT_EQ(ok + busy, 24);
}

// SIGTERM while a request is being scored: the request is answered, then `oiad serve` exits 0.
TEST_F(Serve, SigtermFinishesTheRequestInFlight) {
  int out_pipe[2];
  ASSERT_EQ(pipe(out_pipe), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    close(out_pipe[0]);
    const std::string model = "m=" + model_path();
    execl(test::oiad_binary().c_str(), "oiad", "--threads", "1", "serve", "--model", model.c_str(), "--port", "0",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out_pipe[1]);
  FILE* out = fdopen(out_pipe[0], "r");
  char line[512] = {0};
  ASSERT_NE(fgets(line, sizeof(line), out), nullptr);
  const int port = json::parse(line)["port"];
  // 32 images with their morph strips: long enough to be in flight when the signal comes.
  httplib::MultipartFormDataItems items;
  for (int i = 0; i < 32; ++i) items.push_back({"i" + std::to_string(i), file_bytes(image_path(i)), "", "image/png"});
  int answer_status = -1;
  size_t answer_images = 0;
  std::thread request([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    auto r = c.Post("/v1/models/m/score?explain=strip", items);
    if (!r) return;
    answer_status = r->status;
    if (r->status == 200) answer_images = json::parse(r->body)["images"].size();
  });
  // Wait until the worker has the request (queue depth 1), then stop the service.
  httplib::Client probe("127.0.0.1", port);
  bool queued = false;
  for (int k = 0; k < 2000 && !queued; ++k) {
    auto m = probe.Get("/metrics");
    queued = m && m->body.find("oiad_queue_depth 1") != std::string::npos;
    if (!queued) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(queued);
  kill(pid, SIGTERM);
  request.join();
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  fclose(out);
  EXPECT_EQ(answer_status, 200) << "the request in flight got no answer (-1) or another";
  EXPECT_EQ(answer_images, 32u);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ServeSetup, ModelSpecsAndTokenFiles) {
  EXPECT_EQ(serve::parse_model_spec("digits=/x/m.oiad").name, "digits");
  EXPECT_EQ(serve::parse_model_spec("digits=/x/m.oiad").path, "/x/m.oiad");
  EXPECT_EQ(serve::parse_model_spec("/x/mnist-3.oiad").name, "mnist-3");
  EXPECT_THROW(serve::parse_model_spec("a b=/x/m.oiad"), UsageError);
  EXPECT_THROW(serve::parse_model_spec("name="), UsageError);
  test::TempDir d;
  std::ofstream(d.file("t")) << "  abc123  \nsecond line\n";
  EXPECT_EQ(serve::read_token_file(d.file("t")), "abc123");
  std::ofstream(d.file("empty")) << "\n";
  EXPECT_THROW(serve::read_token_file(d.file("empty")), Error);
  EXPECT_THROW(serve::read_token_file(d.file("missing")), Error);
}

}  // namespace
}  // namespace oiad

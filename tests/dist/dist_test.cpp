// Distributed runs: the launch read from flags and from torchrun's and Slurm's environment,
// the sharding, `oiad score` on two ranks over loopback giving one rank's output exactly, and
// `oiad train` data-parallel on two ranks: the weights of one rank with the same batch, a
// killed rank stopping the other, and --resume continuing the group.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cmath>
#include <map>
#include <sstream>

#include "oiad/core/error.h"
#include "oiad/dist/launch.h"
#include "oiad/model/model_io.h"

#include <nlohmann/json.hpp>
#include "test_util.h"

namespace oiad {
namespace {

dist::Launch from_env(const std::map<std::string, std::string>& vars, const dist::LaunchFlags& flags = {}) {
  return dist::resolve_launch(flags, [&](const char* k) -> const char* {
    const auto it = vars.find(k);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(DistLaunch, ReadsTorchrunSlurmAndFlags) {
  const auto one = from_env({});
  EXPECT_EQ(one.world_size, 1);
  EXPECT_FALSE(one.distributed());
  const auto t = from_env({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.0.0.7"},
                           {"MASTER_PORT", "29600"}});
  EXPECT_EQ(t.source, "torchrun");
  EXPECT_EQ(t.rank, 3);
  EXPECT_EQ(t.world_size, 4);
  EXPECT_EQ(t.local_rank, 1);
  EXPECT_EQ(t.master_addr, "10.0.0.7");
  EXPECT_EQ(t.master_port, 29600);
  const auto s = from_env({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                           {"SLURM_LAUNCH_NODE_IPADDR", "10.1.2.3"}});
  EXPECT_EQ(s.source, "slurm");
  EXPECT_EQ(s.rank, 5);
  EXPECT_EQ(s.world_size, 8);
  EXPECT_EQ(s.master_addr, "10.1.2.3");
  EXPECT_EQ(s.master_port, 29500);
  // MASTER_ADDR wins over Slurm's launch node; flags win over everything.
  EXPECT_EQ(from_env({{"SLURM_NTASKS", "2"}, {"SLURM_LAUNCH_NODE_IPADDR", "a"}, {"MASTER_ADDR", "b"}}).master_addr, "b");
  dist::LaunchFlags f;
  f.rank = 1;
  f.world_size = 2;
  f.master = "node0:4000";
  const auto fl = from_env({{"RANK", "0"}, {"WORLD_SIZE", "4"}}, f);
  EXPECT_EQ(fl.source, "flags");
  EXPECT_EQ(fl.rank, 1);
  EXPECT_EQ(fl.world_size, 2);
  EXPECT_EQ(fl.master_addr, "node0");
  EXPECT_EQ(fl.master_port, 4000);
  // Errors name what is wrong.
  EXPECT_THROW(from_env({{"RANK", "4"}, {"WORLD_SIZE", "4"}}), UsageError);
  EXPECT_THROW(from_env({{"WORLD_SIZE", "two"}}), UsageError);
  EXPECT_THROW(from_env({{"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}), UsageError);
  try {
    from_env({{"WORLD_SIZE", "2"}, {"RANK", "x1"}});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("RANK 'x1'"), std::string::npos) << e.what();
  }
}

// Brute force: every item in exactly one shard, in order, shards starting on block
// boundaries, block counts within one of each other.
TEST(DistLaunch, ShardsCoverInOrder) {
  for (int64_t block : {1, 64})
    for (int64_t n : {0, 1, 5, 64, 65, 1001})
      for (int w : {1, 2, 3, 7}) {
        int64_t next = 0, lo = n, hi = 0;
        for (int r = 0; r < w; ++r) {
          const auto [b, e] = dist::shard(n, r, w, block);
          EXPECT_EQ(b, next);
          EXPECT_TRUE(b == n || b % block == 0) << b;
          next = e;
          const int64_t blocks = (e - b + block - 1) / block;
          lo = std::min(lo, blocks), hi = std::max(hi, blocks);
        }
        EXPECT_EQ(next, n) << n << " " << w << " " << block;
        EXPECT_LE(hi - lo, 1);
      }
}

// A free TCP port of 127.0.0.1 (bound and released).
int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  close(s);
  return port;
}

std::string model() { return test::fixture_dir() + "/detect_cli/m.oiad"; }

// The largest absolute difference between two model files' parameters (encoder, decoder,
// precisions, discriminator), by name.
double max_weight_difference(const std::string& a, const std::string& b) {
  auto ma = model::load_model(a), mb = model::load_model(b);
  auto pa = ma.net->named_parameters(), pb = mb.net->named_parameters();
  EXPECT_EQ(pa.size(), pb.size());
  double worst = 0;
  for (const auto& item : pa) {
    const torch::Tensor* other = pb.find(item.key());
    EXPECT_NE(other, nullptr) << item.key();
    if (!other) continue;
    worst = std::max(worst, (item.value() - *other).abs().max().item<double>());
  }
  return worst;
}

// `oiad train` on the fixture's class a (paper protocol), TC and KL weights on from the
// first step, no calibration. `extra` goes before the command (--rank, --world-size, ...).
std::string train_command(const std::string& extra, int batch, int epochs, const std::string& out,
                          bool calibrate = false) {
  return test::oiad_binary() + " --threads 1 " + extra + " train --data " + test::fixture_dir() +
         "/detect_cli/set --normal-class a --latent-dim 4 --kl-warmup 0 " + (calibrate ? "" : "--no-calibrate ") +
         "--batch-size " + std::to_string(batch) + " --epochs " + std::to_string(epochs) + " --out " + out;
}

// Runs rank 1 in the background and rank 0 in the foreground; "A B" = their exit codes.
std::string two_ranks(const std::string& rank_cmd_0, const std::string& rank_cmd_1) {
  return test::run_command("(" + rank_cmd_1 + " > /dev/null 2>&1 & " + rank_cmd_0 +
                           " > /dev/null; a=$?; wait $!; b=$?; echo \"$a $b\")")
      .out;
}

std::string master_flags(double timeout) {
  char t[32];
  std::snprintf(t, sizeof t, "%g", timeout);
  return "--master 127.0.0.1:" + std::to_string(free_port()) + " --world-size 2 --dist-timeout " + t;
}

// Two ranks of `oiad score` on loopback write exactly what one rank writes: 120 images, so
// rank 0 scores one block of 64 and rank 1 the other 56.
TEST(Dist, ScoreOnTwoRanksEqualsOneRank) {
  ASSERT_TRUE(std::filesystem::exists(model())) << model() << " missing: run DetectCliFixture.TrainModel first";
  test::TempDir dir;
  const std::string set = test::fixture_dir() + "/detect_cli/set";
  const std::string images = " " + set + "/a/*.png " + set + "/b/*.png";  // the shell expands them
  const auto one = test::run_command(test::oiad_binary() + " --threads 1 score --model " + model() + " --out " +
                                     dir.file("one.jsonl") + images);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const std::string master = "--master 127.0.0.1:" + std::to_string(free_port()) + " --world-size 2 --dist-timeout 60";
  const std::string cmd = test::oiad_binary() + " --threads 1 " + master;
  const auto both = test::run_command("(" + cmd + " --rank 1 score --model " + model() + " --out " +
                                      dir.file("rank1.jsonl") + images + " & " + cmd + " --rank 0 score --model " +
                                      model() + " --out " + dir.file("two.jsonl") + images + "; a=$?; wait $!; b=$?; "
                                      "echo \"$a $b\")");
  EXPECT_EQ(both.out, "0 0\n") << both.err;
  const std::string expected = test::read_text(dir.file("one.jsonl"));
  EXPECT_EQ(std::count(expected.begin(), expected.end(), '\n'), 120);
  EXPECT_EQ(test::read_text(dir.file("two.jsonl")), expected);
  EXPECT_FALSE(std::filesystem::exists(dir.file("rank1.jsonl"))) << "only rank 0 writes";
}

// `oiad calibrate` on two ranks writes the calibration one process writes (the calibration
// images shared out in blocks of 64); rank 1 writes nothing.
TEST(Dist, CalibrateOnTwoRanksEqualsOneRank) {
  ASSERT_TRUE(std::filesystem::exists(model())) << model() << " missing: run DetectCliFixture.TrainModel first";
  test::TempDir dir;
  for (const char* name : {"one.oiad", "two.oiad"}) std::filesystem::copy_file(model(), dir.file(name));
  // The fixture's 120 images as calibration images: two blocks, one per rank.
  const std::string args = " calibrate --data " + test::fixture_dir() + "/detect_cli/set --model ";
  const auto one = test::run_command(test::oiad_binary() + " --threads 1" + args + dir.file("one.oiad"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const std::string m = master_flags(60);
  const std::string cmd = test::oiad_binary() + " --threads 1 " + m;
  EXPECT_EQ(two_ranks(cmd + " --rank 0" + args + dir.file("two.oiad"), cmd + " --rank 1" + args + dir.file("two.oiad")),
            "0 0\n");
  const auto a = model::load_model(dir.file("one.oiad")).file.meta["calibration"];
  const auto b = model::load_model(dir.file("two.oiad")).file.meta["calibration"];
  EXPECT_EQ(a, b);
  EXPECT_NE(a, model::load_model(model()).file.meta["calibration"]) << "calibrated on other images than VAL";
}

// A rank whose peer never comes fails within the timeout, with one line naming the master.
TEST(Dist, MissingRankFailsWithinTheTimeout) {
  ASSERT_TRUE(std::filesystem::exists(model())) << model() << " missing: run DetectCliFixture.TrainModel first";
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = test::run_oiad("--threads 1 --master 127.0.0.1:" + std::to_string(free_port()) +
                                " --world-size 2 --rank 0 --dist-timeout 3 score --model " + model() + " --split test");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(secs, 20.0);
  // oiad's error is one line (c10d may log warnings of its own before it).
  std::vector<std::string> ours;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("oiad: ", 0) == 0) ours.push_back(line);
  ASSERT_EQ(ours.size(), 1u) << r.err;
  EXPECT_NE(ours[0].find("rank 0 of 2"), std::string::npos) << r.err;
  // Commands that do not run distributed say so.
  const auto t = test::run_oiad("--world-size 2 --rank 0 model info " + model());
  EXPECT_EQ(t.exit_code, 2) << t.err;
  EXPECT_NE(t.err.find("runs as one process"), std::string::npos) << t.err;
}

// Data-parallel training: 2 ranks with a batch of 16 (8 rows each) follow 1 rank with a batch
// of 16, to rounding: the ranks average their gradients, gather the codes for the TC term and
// the discriminator, and keep their rows of the whole batch's random numbers. The bound is
// 10x the largest difference measured on 2026-11-30 (2.1e-6 after 2 epochs of 3 steps). It
// is tight enough to fail on a real departure: one process with a batch of 8 ends 1.2e-2
// away, and two ranks that leave out only the TC gradient reaching their rows through the
// other rank's codes (by the batch's mean and sd) end 6.8e-3 away.
TEST(Dist, TrainOnTwoRanksFollowsOneRank) {
  ASSERT_TRUE(std::filesystem::exists(model())) << model() << " missing: run DetectCliFixture.TrainModel first";
  test::TempDir dir;
  const auto one = test::run_command(train_command("", 16, 2, dir.file("one.oiad")));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const std::string m = master_flags(60);
  EXPECT_EQ(two_ranks(train_command(m + " --rank 0", 16, 2, dir.file("two.oiad"), true),
                      train_command(m + " --rank 1", 16, 2, dir.file("two.oiad"), true)),
            "0 0\n");
  const double d = max_weight_difference(dir.file("one.oiad"), dir.file("two.oiad"));
  EXPECT_LT(d, 2e-5) << "2 ranks x 8 rows against 1 rank x 16";
  const auto other = test::run_command(train_command("", 8, 2, dir.file("eight.oiad")));
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_GT(max_weight_difference(dir.file("one.oiad"), dir.file("eight.oiad")), 1e-3);
  // The training record says how it ran.
  auto f = model::load_model(dir.file("two.oiad")).file;
  EXPECT_EQ(f.meta["training"]["world_size"], 2);
  EXPECT_GT(f.meta["training"]["history"][0]["allreduce_seconds"].get<double>(), 0.0);
  // The two ranks calibrated on VAL together: the calibration one process computes for the
  // same weights, to the last digit.
  ASSERT_TRUE(f.meta.contains("calibration"));
  std::filesystem::copy_file(dir.file("two.oiad"), dir.file("again.oiad"));
  const auto again = test::run_command(test::oiad_binary() + " --threads 1 calibrate --model " + dir.file("again.oiad"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(model::load_model(dir.file("again.oiad")).file.meta["calibration"], f.meta["calibration"]);
  // A batch that does not split over the ranks is refused before any work.
  const std::string m2 = master_flags(20);
  const std::string codes = two_ranks(train_command(m2 + " --rank 0", 15, 1, dir.file("odd.oiad")),
                                      train_command(m2 + " --rank 1", 15, 1, dir.file("odd.oiad")));
  EXPECT_EQ(codes, "2 2\n");
  EXPECT_FALSE(std::filesystem::exists(dir.file("odd.oiad")));
}

// A rank killed during training makes the other exit non-zero within the timeout with one
// line naming itself; no model file is left at --out, the checkpoint is; both ranks rerun
// with --resume end with the weights of an uninterrupted two-rank run.
TEST(Dist, KilledRankStopsTrainingAndResumeContinues) {
  ASSERT_TRUE(std::filesystem::exists(model())) << model() << " missing: run DetectCliFixture.TrainModel first";
  test::TempDir dir;
  const int epochs = 12;
  const std::string out = dir.file("k.oiad");
  const std::string m = master_flags(5);
  // Rank 1 is killed (SIGKILL) as soon as the first checkpoint exists.
  const auto t0 = std::chrono::steady_clock::now();
  const auto killed = test::run_command(
      "(" + train_command(m + " --rank 1", 16, epochs, out) + " > /dev/null 2>&1 & p=$!; " +
      train_command(m + " --rank 0", 16, epochs, out) + " > /dev/null 2> " + dir.file("rank0.err") + " & q=$!; " +
      "while [ ! -e " + out + ".ckpt ] && kill -0 $q 2> /dev/null; do sleep 0.02; done; kill -9 $p; " +
      "wait $q; echo $?)");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(killed.out, "1\n") << test::read_text(dir.file("rank0.err"));
  EXPECT_LT(secs, 40.0);
  std::vector<std::string> ours;
  std::istringstream in(test::read_text(dir.file("rank0.err")));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("oiad: ", 0) == 0) ours.push_back(line);
  ASSERT_EQ(ours.size(), 1u) << test::read_text(dir.file("rank0.err"));
  EXPECT_NE(ours[0].find("rank 0 of 2"), std::string::npos) << ours[0];
  EXPECT_FALSE(std::filesystem::exists(out)) << "no model file after a failed run";
  ASSERT_TRUE(std::filesystem::exists(out + ".ckpt"));
  const int done = model::load_model(out + ".ckpt").file.meta["training"]["epochs_done"];
  EXPECT_LT(done, epochs);

  const std::string m2 = master_flags(60);
  EXPECT_EQ(two_ranks(train_command(m2 + " --rank 0", 16, epochs, out) + " --resume",
                      train_command(m2 + " --rank 1", 16, epochs, out) + " --resume"),
            "0 0\n");
  ASSERT_TRUE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(out + ".ckpt"));
  const std::string m3 = master_flags(60);
  EXPECT_EQ(two_ranks(train_command(m3 + " --rank 0", 16, epochs, dir.file("whole.oiad")),
                      train_command(m3 + " --rank 1", 16, epochs, dir.file("whole.oiad"))),
            "0 0\n");
  EXPECT_EQ(max_weight_difference(out, dir.file("whole.oiad")), 0.0) << "resumed after epoch " << done;
}

// `oiad evaluate` on two ranks: the same per-image file and the same AUCs and decisions as
// one process (only the timings differ); rank 0 alone writes.
TEST(Dist, EvaluateOnTwoRanksEqualsOneRank) {
  ASSERT_TRUE(std::filesystem::exists(model())) << model() << " missing: run DetectCliFixture.TrainModel first";
  test::TempDir dir;
  const auto one = test::run_command(test::oiad_binary() + " --threads 1 evaluate --model " + model() + " --out " +
                                     dir.file("one"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const std::string m = master_flags(60);
  const std::string cmd = test::oiad_binary() + " --threads 1 " + m;
  EXPECT_EQ(two_ranks(cmd + " --rank 0 evaluate --model " + model() + " --out " + dir.file("two"),
                      cmd + " --rank 1 evaluate --model " + model() + " --out " + dir.file("rank1")),
            "0 0\n");
  const std::string expected = test::read_text(dir.file("one") + "/scores.jsonl");
  EXPECT_GT(std::count(expected.begin(), expected.end(), '\n'), 10);
  EXPECT_EQ(test::read_text(dir.file("two") + "/scores.jsonl"), expected);
  auto a = nlohmann::json::parse(test::read_text(dir.file("one") + "/results.json"));
  auto b = nlohmann::json::parse(test::read_text(dir.file("two") + "/results.json"));
  for (auto* r : {&a, &b})
    for (const char* k : {"score_seconds", "images_per_s", "out"}) r->erase(k);
  EXPECT_EQ(a, b);
  EXPECT_FALSE(std::filesystem::exists(dir.file("rank1"))) << "only rank 0 writes";
}

}  // namespace
}  // namespace oiad

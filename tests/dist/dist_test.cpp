// Distributed runs: the launch read from flags and from torchrun's and Slurm's environment,
// the sharding, and `oiad score` on two ranks over loopback giving one rank's output exactly.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>

#include "oiad/core/error.h"
#include "oiad/dist/group.h"
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

}  // namespace
}  // namespace oiad

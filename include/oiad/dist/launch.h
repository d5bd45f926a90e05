// Where a process stands among the ranks of one command, from its flags or the launcher's
// environment (torchrun, Slurm, Kubernetes' PyTorchJob), and how work is shared out: plain
// C++, no LibTorch (the process group itself is dist/group.h).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace oiad::dist {

/// Where this process stands in its group.
struct Launch {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  double timeout_s = 300;  ///< rendezvous and every collective
  std::string source = "single";  ///< "flags", "torchrun" (RANK/WORLD_SIZE), "slurm" or "single"
  bool distributed() const { return world_size > 1; }
};

/// What the command line says (unset: taken from the environment).
struct LaunchFlags {
  std::optional<int> rank, world_size;
  std::optional<std::string> master;  ///< "host:port" or "host"
  std::optional<double> timeout_s;
};

/// The launch: flags first; else torchrun's and PyTorchJob's RANK, WORLD_SIZE, LOCAL_RANK,
/// MASTER_ADDR, MASTER_PORT when WORLD_SIZE is set; else Slurm's SLURM_PROCID, SLURM_NTASKS,
/// SLURM_LOCALID when SLURM_NTASKS is set (master: MASTER_ADDR, else
/// SLURM_LAUNCH_NODE_IPADDR; port: MASTER_PORT); else one rank. UsageError for a rank outside
/// [0, world size), a world size < 1, a port outside [1, 65535], or a value that is not a number
/// (naming the variable or flag). `env` reads a variable (nullptr: unset).
Launch resolve_launch(const LaunchFlags& flags,
                      const std::function<const char*(const char*)>& env = [](const char* k) { return std::getenv(k); });

/// The part [begin, end) of n items that rank r of w takes: contiguous, in rank order, made
/// of whole blocks of `block` items (the last block may be short), the ranks' block counts
/// differing by at most one. Scoring shards in its blocks of 64 images, so that every image is
/// scored in the same batch as in one process (batch composition changes the last digits).
std::pair<int64_t, int64_t> shard(int64_t n, int rank, int world_size, int64_t block = 1);

}  // namespace oiad::dist

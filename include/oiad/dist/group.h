// One command on several processes (ranks) on PyTorch's c10d: a TCPStore for the rendezvous
// and ProcessGroupGloo for the collectives, launched the way torchrun, Slurm and Kubernetes'
// PyTorchJob launch PyTorch jobs (docs/distributed.md).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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

/// A process group of the launch's world: rendezvous at the master (rank 0 serves the store),
/// then Gloo collectives over TCP. Every wait is bounded by the launch's timeout; a rank
/// that does not come or dies makes the others fail with an Error naming the master or the
/// collective.
class Group {
 public:
  explicit Group(const Launch& launch);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;
  int rank() const;
  int size() const;
  /// Every rank's `mine` (any length), in rank order, on every rank.
  std::vector<std::vector<double>> all_gather(const std::vector<double>& mine);
  /// Every rank's `rows` (the same shape and dtype on every rank) stacked along dimension 0
  /// in rank order: (world · rows.size(0), ...).
  at::Tensor all_gather_rows(const at::Tensor& rows);
  /// Replaces each tensor (float, any shapes) by its sum over the ranks. The tensors travel
  /// as one flat buffer (one all-reduce per call, as DistributedDataParallel's buckets).
  void all_reduce_sum(const std::vector<at::Tensor>& tensors);
  /// The same, divided by the world size.
  void all_reduce_mean(const std::vector<at::Tensor>& tensors);
  /// Copies rank `root`'s tensors into every rank's (same shapes and dtypes on every rank).
  void broadcast(const std::vector<at::Tensor>& tensors, int root = 0);
  void barrier();
  /// Time spent in all-reduces (waiting included), its calls and the bytes it reduced.
  struct Traffic {
    double seconds = 0;
    int64_t calls = 0, bytes = 0;
  };
  const Traffic& traffic() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oiad::dist

// One command on several processes (ranks) on PyTorch's c10d: a TCPStore for the rendezvous
// and ProcessGroupGloo for the collectives, launched the way torchrun, Slurm and Kubernetes'
// PyTorchJob launch PyTorch jobs (docs/distributed.md).
#pragma once

#include <ATen/core/Tensor.h>

#include "oiad/dist/launch.h"

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace oiad::dist {

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

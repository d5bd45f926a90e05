// The launch of one command on several processes, plain C++ (dist/launch.h).
#include "oiad/dist/launch.h"

#include <algorithm>
#include <cmath>

#include "oiad/core/error.h"
#include "oiad/core/parse.h"

namespace oiad::dist {

namespace {

// A whole decimal number, or a UsageError naming where it came from.
int parse_int(const std::string& text, const std::string& what) {
  const auto v = parse_integer(text);
  OIAD_CHECK_USAGE(v && *v >= -(1L << 30) && *v <= (1L << 30), what, " '", printable(text), "' is not a whole number");
  return int(*v);
}

}  // namespace

Launch resolve_launch(const LaunchFlags& flags, const std::function<const char*(const char*)>& env) {
  Launch l;
  auto get = [&](const char* k) -> std::optional<std::string> {
    const char* v = env(k);
    if (!v) return std::nullopt;
    return std::string(v);
  };
  if (get("WORLD_SIZE")) {
    l.source = "torchrun";
    l.world_size = parse_int(*get("WORLD_SIZE"), "WORLD_SIZE");
    l.rank = get("RANK") ? parse_int(*get("RANK"), "RANK") : 0;
    l.local_rank = get("LOCAL_RANK") ? parse_int(*get("LOCAL_RANK"), "LOCAL_RANK") : l.rank;
  } else if (get("SLURM_NTASKS")) {
    l.source = "slurm";
    l.world_size = parse_int(*get("SLURM_NTASKS"), "SLURM_NTASKS");
    l.rank = get("SLURM_PROCID") ? parse_int(*get("SLURM_PROCID"), "SLURM_PROCID") : 0;
    l.local_rank = get("SLURM_LOCALID") ? parse_int(*get("SLURM_LOCALID"), "SLURM_LOCALID") : 0;
    if (!get("MASTER_ADDR") && get("SLURM_LAUNCH_NODE_IPADDR")) l.master_addr = *get("SLURM_LAUNCH_NODE_IPADDR");
  }
  if (l.source != "single") {
    if (get("MASTER_ADDR")) l.master_addr = *get("MASTER_ADDR");
    if (get("MASTER_PORT")) l.master_port = parse_int(*get("MASTER_PORT"), "MASTER_PORT");
  }
  if (flags.rank || flags.world_size || flags.master) l.source = "flags";
  if (flags.rank) l.rank = *flags.rank;
  if (flags.world_size) l.world_size = *flags.world_size;
  if (flags.master) {
    const std::string& m = *flags.master;
    const size_t colon = m.rfind(':');
    if (colon == std::string::npos) {
      l.master_addr = m;
    } else {
      l.master_addr = m.substr(0, colon);
      l.master_port = parse_int(m.substr(colon + 1), "--master port");
    }
    OIAD_CHECK_USAGE(!l.master_addr.empty(), "--master '", printable(m), "' names no host");
  }
  if (flags.timeout_s) l.timeout_s = *flags.timeout_s;
  OIAD_CHECK_USAGE(l.world_size >= 1 && l.world_size <= 65536, "world size ", l.world_size, " (", l.source,
                   ") outside [1, 65536]");
  OIAD_CHECK_USAGE(l.rank >= 0 && l.rank < l.world_size, "rank ", l.rank, " (", l.source, ") outside [0, ",
                   l.world_size, ")");
  OIAD_CHECK_USAGE(l.master_port >= 1 && l.master_port <= 65535, "master port ", l.master_port,
                   " outside [1, 65535]");
  OIAD_CHECK_USAGE(std::isfinite(l.timeout_s) && l.timeout_s > 0 && l.timeout_s <= 86400, "--dist-timeout ",
                   l.timeout_s, " outside (0, 86400] seconds");
  return l;
}

std::pair<int64_t, int64_t> shard(int64_t n, int rank, int world_size, int64_t block) {
  OIAD_CHECK(world_size >= 1 && rank >= 0 && rank < world_size && n >= 0 && block >= 1, "shard: rank ", rank, " of ",
             world_size, ", ", n, " items in blocks of ", block);
  const int64_t blocks = (n + block - 1) / block;
  const int64_t base = blocks / world_size, extra = blocks % world_size;
  const int64_t first = rank * base + std::min<int64_t>(rank, extra);
  const int64_t count = base + (rank < extra ? 1 : 0);
  return {std::min(n, first * block), std::min(n, (first + count) * block)};
}

}  // namespace oiad::dist

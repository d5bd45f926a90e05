#!/usr/bin/env bash
# Data-parallel training on one machine: 1 rank with every core against N ranks sharing them
# (scripts/launch_local.sh), alternating, REPS times. Per run, from rank 0's record of the
# last epoch: training images/s, all-reduce milliseconds and bytes per step (c10d, waiting
# included; the gradients of the VAE and of the TC discriminator, the code gathers' sums).
#   bench/dist_train.sh [DATA] [CLASS] [EPOCHS] [REPS] [RANKS]    (defaults: mnist 5 3 2 2)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data=${1:-mnist}; cls=${2:-5}; epochs=${3:-3}; reps=${4:-2}; ranks=${5:-2}
bin="$root/build/oiad"
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
cores=$(nproc)
args=(train --data "$data" --normal-class "$cls" --protocol standard --epochs "$epochs" --no-calibrate)
row() {  # LAYOUT < the train command's JSON line
  python3 -c '
import json, sys
f = json.loads(sys.stdin.readline())["final"]
steps = f["iterations"]
print("| %s | %.0f | %.1f | %.2f |" % (sys.argv[1], f["images_per_s"], 1000 * f["allreduce_seconds"] / steps,
                                     f["allreduce_bytes"] / steps / 1e6))' "$1"
}
echo "| layout | training images/s | all-reduce ms per step | all-reduce MB per step |"
echo "|---|---|---|---|"
for ((r = 1; r <= reps; r++)); do
  "$bin" --threads "$cores" "${args[@]}" --out "$out/one.oiad" 2> /dev/null | row "1 rank x $cores threads"
  "$root/scripts/launch_local.sh" "$ranks" "$bin" "${args[@]}" --out "$out/many.oiad" 2> /dev/null |
    row "$ranks ranks x $((cores / ranks)) threads"
done

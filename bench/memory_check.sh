#!/usr/bin/env bash
# Peak memory of scoring against the number of images scored: scores N and 10·N
# test images of a model's split and prints the peak RSS of each run (GNU time, %M in KiB).
# Usage: bench/memory_check.sh MODEL.oiad [N]      (default N = 200)
set -euo pipefail
model=$1; n=${2:-200}
tmp=$(mktemp -d)/scores.jsonl
bin="$(cd "$(dirname "$0")/.." && pwd)/build/oiad"
for count in "$n" $((10 * n)); do
  kb=$( { /usr/bin/time -f "%M" "$bin" score --model "$model" --split test --sample "$count" --out "$tmp"; } 2>&1 | tail -1)
  echo "{\"images\": $count, \"peak_rss_mb\": $(awk "BEGIN {print $kb / 1024}")}"
done

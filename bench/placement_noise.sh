#!/usr/bin/env bash
# Search noise of structure consistency against its spread over VAL images, for the morph
# search's two placements (random: the paper's; quasi: golden-ratio sequence), label-free:
# `oiad calibrate --morphs auto` on a copy of each model runs two independent searches at
# N = 10, 20, 40, 70, 100 over up to 256 VAL images (detect::choose_morphs; epsilon set so
# small that the whole ladder runs). Prints, per N and placement, the median and the largest
# ratio σ_search / sd_images over the (code, metric) pairs the search moves at all (ratio > 0:
# codes the decoder ignores have none), and how many pairs have a spread that is all noise.
#   bench/placement_noise.sh MODEL [MODEL ...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/build/oiad"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "| model | N | placement | median ratio | largest ratio | pairs moved | noise only |"
echo "|---|---|---|---|---|---|---|"
for model in "$@"; do
  for placement in random quasi; do
    cp "$model" "$tmp/m.oiad"
    "$bin" calibrate --model "$tmp/m.oiad" --morphs auto --morphs-epsilon 1e-6 --placement "$placement" \
      > /dev/null 2> "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
    python3 - "$tmp/m.oiad" "$model" "$placement" <<'PY'
import json, math, statistics, struct, sys
with open(sys.argv[1], "rb") as f:
    assert f.read(8) == b"OIADMODL"
    f.read(4)
    (n,) = struct.unpack("<Q", f.read(8))
    meta = json.loads(f.read(n))
choice = meta["calibration"]["morphs_choice"]
for step in choice["steps"]:
    r = [v for m in step["ratios"].values() for v in m]
    moved = [v for v in r if v is None or v > 0]
    finite = [v for v in moved if v is not None and math.isfinite(v)]
    print("| %s | %d | %s | %.3f | %.3f | %d | %d |" % (sys.argv[2].split("/")[-3], step["morphs"], sys.argv[3],
          statistics.median(finite), max(finite), len(moved), len(moved) - len(finite)))
PY
  done
done

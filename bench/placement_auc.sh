#!/usr/bin/env bash
# Paired detection quality and speed of the morph search's placements on trained models:
# each model is calibrated again (on a copy) with random draws at N = 20 (the `default`
# preset until 2026-11-30), with quasi draws at N = 10 and N = 20, all at Δr 0.1 with duplicate
# codes once (tolerance 0.05; given explicitly, so the rows do not follow the preset), and as the `paper` preset
# (random, N = 100, every code), then `oiad evaluate` scores its test part. Prints per
# setting the scored codes, test images/s and every metric's AUC under the paper's rule and
# under the one-sided rule.
#   bench/placement_auc.sh MODEL [MODEL ...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/build/oiad"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "| model | setting | codes | images/s | mse | loss | ssim | local | mse one-sided | loss one-sided | ssim one-sided | local one-sided |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for model in "$@"; do
  name=$(basename "$(dirname "$(dirname "$model")")")
  for setting in "default random 20" "default quasi 10" "default quasi 20" "paper random 100"; do
    read -r preset placement morphs <<< "$setting"
    cp "$model" "$tmp/m.oiad"
    search=(--preset "$preset" --placement "$placement" --morphs "$morphs")
    [ "$preset" = default ] && search+=(--radius-step 0.1 --duplicate-tolerance 0.05)
    "$bin" calibrate --model "$tmp/m.oiad" "${search[@]}" > /dev/null 2>&1
    "$bin" evaluate --model "$tmp/m.oiad" 2> /dev/null | python3 -c '
import json, sys
r = json.loads(sys.stdin.readline())
m = r["metrics"]
names = ["mse", "loss", "ssim", "local"]
cells = ["%.3f" % m[k]["auc"] if k in m else "-" for k in names]
cells += ["%.3f" % m[k]["auc_one_sided_mean"] if k in m and "auc_one_sided_mean" in m[k] else "-" for k in names]
print("| %s | %s | %d | %.0f | %s |" % (sys.argv[1], sys.argv[2], r["codes_scored"], r["images_per_s"], " | ".join(cells)))' \
      "$name" "$preset, $placement, N = $morphs"
  done
done

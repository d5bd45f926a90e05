#!/usr/bin/env bash
# Scoring speed of a DCAE model by its own rule (one forward pass: the reconstruction error)
# against the same model scored as an OIAD detector by an older build (PR-morph search over
# its codes, the `default` preset), with `oiad bench --model` on 256 test images, 2 threads.
# Usage: bench/baseline_scoring_speed.sh OIAD OLD_OIAD [DIR]   (OLD_OIAD: a build from before
# reconstruction scoring, e.g. commit 0d2ec19)
set -euo pipefail
new=${1:?usage: bench/baseline_scoring_speed.sh OIAD OLD_OIAD [DIR]} old=${2:?usage}
dir=${3:-runs/baseline_scoring_speed}
mkdir -p "$dir"
"$new" --threads 2 train --data fashion-mnist --normal-class trouser --protocol paper --epochs 2 --limit 1500 \
  --kind dcae --out "$dir/dcae.oiad" > "$dir/train.json" 2> "$dir/train.log"
"$new" --threads 2 bench --model "$dir/dcae.oiad" > "$dir/bench_reconstruction.json" 2> /dev/null
cp "$dir/dcae.oiad" "$dir/dcae_as_detector.oiad"
"$old" --threads 2 calibrate --model "$dir/dcae_as_detector.oiad" > /dev/null 2>&1
"$old" --threads 2 bench --model "$dir/dcae_as_detector.oiad" > "$dir/bench_as_detector.json" 2> /dev/null
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(f"{d}/bench_reconstruction.json"))["trained_model"]
o = json.load(open(f"{d}/bench_as_detector.json"))["trained_model"]["stored_calibration"]
print(f"reconstruction scorer: {r['score_images_per_s']:.0f} images/s ({r['images']} images)")
print(f"scored as a detector (older build, preset {o['preset']}, N = {o['morphs']}, {o['codes_scored']} codes): "
      f"{o['score_images_per_s']:.0f} images/s")
print(f"ratio: {r['score_images_per_s'] / o['score_images_per_s']:.1f}x")
PY

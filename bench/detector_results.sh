#!/usr/bin/env bash
# Measures the OIAD detector for docs/results.md: for each class, train a Detector-VAE on
# the paper split, calibrate it with the `default` and the `paper` preset, evaluate both on
# the test split (CLE + ANO; the paper preset on a seeded random subset of EVAL_LIMIT test
# images because it decodes 10x more morphs), and record AUC per metric and images/s.
# Usage: bench/detector_results.sh OUTDIR [DATA] [CLASSES] [EPOCHS] [EVAL_LIMIT]
# Resumable: finished steps are skipped. Results: OUTDIR/<data>_<class>_<preset>.eval.json
set -euo pipefail
out=$1; data=${2:-mnist}; classes=${3:-"1 7"}; epochs=${4:-30}; limit=${5:-600}
bin="$(cd "$(dirname "$0")/.." && pwd)/build/oiad"
mkdir -p "$out"
for c in $classes; do
  base="$out/${data}_$c"
  if [ ! -s "$base.train.json" ]; then
    "$bin" train --data "$data" --normal-class "$c" --protocol paper --epochs "$epochs" --seed 0 \
      --no-calibrate --out "$base.oiad" > "$base.train.json" 2> "$base.train.log"
  fi
  for preset in default paper; do
    m="$base.$preset.oiad"
    if [ ! -s "$base.$preset.calibrate.json" ]; then
      cp "$base.oiad" "$m"
      "$bin" calibrate --model "$m" --preset "$preset" --seed 0 > "$base.$preset.calibrate.json" 2> "$base.$preset.calibrate.log"
    fi
    for lim in 0 "$limit"; do
      [ "$preset" = paper ] && [ "$lim" = 0 ] && continue
      tag="$base.$preset.limit$lim"
      [ -s "$tag.eval.json" ] && continue
      "$bin" evaluate --model "$m" --sample "$lim" --out "$tag.eval" > "$tag.eval.json" 2> "$tag.eval.log"
    done
  done
done

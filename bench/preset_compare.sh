#!/usr/bin/env bash
# The `default` preset against the `paper` preset on one trained model: both calibrated on
# the whole VAL part and evaluated on the whole test part of the model's split, so the two
# AUCs are paired (same model, same VAL, same test images). Issue 4's preset criterion and
# issue 6's speed ratio come from this.
# Usage: bench/preset_compare.sh MODEL.oiad OUTDIR     (table: bench/results_table.py detector OUTDIR)
set -euo pipefail
model=$1; out=$2
bin="$(cd "$(dirname "$0")/.." && pwd)/build/oiad"
mkdir -p "$out"
name=$(basename "$model" .oiad)
for preset in default paper; do
  m="$out/$name.$preset.oiad"
  if [ ! -s "$out/$name.$preset.calibrate.json" ]; then
    cp "$model" "$m"
    "$bin" calibrate --model "$m" --preset "$preset" --seed 0 > "$out/$name.$preset.calibrate.json" 2> "$out/$name.$preset.calibrate.log"
  fi
  [ -s "$out/$name.$preset.eval.json" ] && continue
  "$bin" evaluate --model "$m" --out "$out/$name.$preset.eval" > "$out/$name.$preset.eval.json" 2> "$out/$name.$preset.eval.log"
done

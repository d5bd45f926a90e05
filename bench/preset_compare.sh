#!/usr/bin/env bash
# Presets against each other on one trained model: each calibrated on the whole VAL part and
# evaluated on the whole test part of the model's split, so the AUCs are paired (same model,
# same VAL, same test images): docs/results.md, "`default` against `paper` preset", and the
# speed ratios in docs/performance-history.md come from this.
# Usage: bench/preset_compare.sh MODEL.oiad OUTDIR [PRESET...]
#   PRESET: default, paper, nK (N = K randomly placed morphs per code, Δr 0.1, duplicate codes
#   once: the `default` preset until 2026-11-30 was n20) or qK (N = K quasi-placed morphs, Δr
#   0.1: the `default` preset of 2026-11-30 was q10), qKrD (qK with Δr = D, e.g. q5r0.2: the
#   `default` preset since 2026-12-01); nK, qK and qKrD give every search parameter
#   explicitly, so their rows do not change with the preset. (Rows measured before 2026-12-01
#   counted duplicate codes once in the one-sided mean; since then they are weighted by the
#   codes they stand for, so those rows' one-sided AUCs are not reproduced exactly.) Any with a
#   suffix -sS searches with seed S instead of 0 (paper-s1: the paper's search drawn again,
#   the reference's own run-to-run difference); default list: default paper.
#   Tables: bench/results_table.py detector OUTDIR (paper-rule AUCs, ssim one-sided), or
#   bench/results_table.py presets OUTDIR (every metric under both rules, and the largest
#   AUC difference from the `paper` row of the same model).
set -euo pipefail
model=$1; out=$2; shift 2
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(default paper)
bin="$(cd "$(dirname "$0")/.." && pwd)/build/oiad"
mkdir -p "$out"
name=$(basename "$model" .oiad)
for preset in "${presets[@]}"; do
  seed=0; setting=$preset
  if [[ $preset =~ ^(.+)-s([0-9]+)$ ]]; then setting=${BASH_REMATCH[1]}; seed=${BASH_REMATCH[2]}; fi
  case "$setting" in
    default|paper) args=(--preset "$setting") ;;
    n[0-9]*) args=(--preset default --placement random --morphs "${setting#n}" --radius-step 0.1 --duplicate-tolerance 0.05) ;;
    q[0-9]*r*) k=${setting#q}; args=(--preset default --placement quasi --morphs "${k%%r*}" --radius-step "${k#*r}"
                                      --duplicate-tolerance 0.05) ;;
    q[0-9]*) args=(--preset default --placement quasi --morphs "${setting#q}" --radius-step 0.1 --duplicate-tolerance 0.05) ;;
    *) echo "preset_compare.sh: unknown preset '$preset' (default, paper, nK, qK or qKrD, each optionally -sS)" >&2; exit 2 ;;
  esac
  m="$out/$name.$preset.oiad"
  if [ ! -s "$out/$name.$preset.calibrate.json" ]; then
    cp "$model" "$m"
    "$bin" calibrate --model "$m" "${args[@]}" --seed "$seed" > "$out/$name.$preset.calibrate.json" 2> "$out/$name.$preset.calibrate.log"
  fi
  [ -s "$out/$name.$preset.eval.json" ] && continue
  "$bin" evaluate --model "$m" --out "$out/$name.$preset.eval" > "$out/$name.$preset.eval.json" 2> "$out/$name.$preset.eval.log"
done

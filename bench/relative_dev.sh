#!/usr/bin/env bash
# Development of the relative rule on training images only (no test split is read): for each
# DATA:CLASS, trains a Detector-VAE on the paper protocol (`oiad experiment --methods oiad`,
# the `default` preset, seed 0, 30 epochs: the settings of the standard cells), runs
# bench/relative_sc_dev.cpp on it (calibration = the model's VAL part; test = its own test
# part, held-out normal training images and other classes' training images), then prints the
# per-metric table of `bench/results_table.py relative-dev`.
#
# Usage: bench/relative_dev.sh OUT DATA:CLASS...
#   e.g. bench/relative_dev.sh runs/dev fashion-mnist:0 fashion-mnist:4 fashion-mnist:8
# Environment: OIAD (build/oiad), THREADS (all), RECORD (bench/cells/dev; empty: none): each
# development output is also kept there (committed), and one found there is not computed
# again. Resumable: a model already trained, or an output already written, is kept.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 2 ] || { echo "usage: bench/relative_dev.sh OUT DATA:CLASS..." >&2; exit 2; }
out=$1; shift
bin=${OIAD:-$root/build/oiad}
record=${RECORD-$root/bench/cells/dev}
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")
for pair in "$@"; do
  case $pair in *?:?*) ;; *) echo "relative_dev.sh: '$pair' is not DATA:CLASS" >&2; exit 2 ;; esac
done
cmake --build "$root/build" --target oiad_relative_sc_dev >/dev/null
mkdir -p "$out"
files=()
for pair in "$@"; do
  data=${pair%%:*}; cls=${pair#*:}
  dir="$out/${data}_${cls}_paper"
  txt="$out/relative_sc_${data}_${cls}_paper.txt"
  files+=("$txt")
  if [ ! -s "$txt" ] && [ -n "$record" ] && [ -s "$record/$(basename "$txt")" ]; then
    cp "$record/$(basename "$txt")" "$txt"
  fi
  [ -s "$txt" ] && continue
  if [ ! -s "$dir/models/oiad.oiad" ]; then
    echo "relative_dev: training $data $cls ($(date +%H:%M:%S))" >&2
    "$bin" "${threads[@]+"${threads[@]}"}" experiment --data "$data" --normal-class "$cls" --protocol paper \
      --preset default --seed 0 --epochs 30 --methods oiad --out "$dir" > "$dir.summary.json" 2> "$dir.log"
  fi
  "$root/build/oiad_relative_sc_dev" "$dir/models/oiad.oiad" > "$txt.tmp"
  mv "$txt.tmp" "$txt"
  if [ -n "$record" ]; then
    mkdir -p "$record"
    cp "$txt" "$record/$(basename "$txt").tmp" && mv "$record/$(basename "$txt").tmp" "$record/$(basename "$txt")"
  fi
done
python3 "$root/bench/results_table.py" relative-dev "${files[@]}"

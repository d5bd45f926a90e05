#!/usr/bin/env bash
# One method alone on defects-protocol cells (the recseg peer, DRAEM-type, unless METHOD says
# another): the same split, test images and synthetic defects as the cells of
# `bench/reproduce.sh defects` of the same seed (the split and the defects follow from data
# set, class and seed only), so its column stands beside theirs.
#
# Usage: bench/recseg_cells.sh OUT DATA[:CLASSES] ...
#   e.g. bench/recseg_cells.sh runs/recseg-defects mnist fashion-mnist cifar10:0,1,2
#        METHOD=oiad bench/recseg_cells.sh runs/oiad-defects mnist
# Environment: OIAD (build/oiad), METHOD (recseg; or oiad, vae, dcae, ...), SEED (0), and for
# recseg STEPS (2000), WIDTHS (16,8), SOURCE (openarena); VARIANT (a suffix of the cell folder,
# for runs with other settings), RECORD (a folder that keeps every finished cell's
# results.json, experiment.json, the reported test part of split.json (reported_test.json)
# and the per-image scores methods/METHOD.json; empty: none).
# bench/recseg_defects_table.py RECORD makes the recseg tables.
# A cell whose results.json holds the method is skipped. Cells run one at a time.
set -euo pipefail
out=${1:?usage: bench/recseg_cells.sh OUT DATA[:CLASSES] ...}
shift
bin=${OIAD:-build/oiad}
method=${METHOD:-recseg}
seed=${SEED:-0}; steps=${STEPS:-2000}; widths=${WIDTHS:-16,8}; source=${SOURCE:-openarena}
variant=${VARIANT:-}; record=${RECORD:-}
mkdir -p "$out"
for spec in "$@"; do
  data=${spec%%:*}; classes="0 1 2 3 4 5 6 7 8 9"
  [ "$spec" != "$data" ] && classes=${spec#*:} && classes=${classes//,/ }
  for c in $classes; do
    cell="${data}_${c}_defects_seed${seed}${variant:+_$variant}"
    dir="$out/$cell"
    if [ -s "$dir/results.json" ] && python3 -c 'import json,sys; sys.exit(0 if any(k == sys.argv[2] or k.startswith(sys.argv[2] + "_") for k in json.load(open(sys.argv[1]))["methods"]) else 1)' "$dir/results.json" "$method"; then
      echo "recseg_cells: $cell done already" >&2; continue
    fi
    echo "recseg_cells: $cell ($(date +%H:%M:%S))" >&2
    extra=()
    [ "$method" = recseg ] && extra=(--recseg-steps "$steps" --recseg-widths "$widths" --anomaly-source "$source")
    "$bin" experiment --data "$data" --normal-class "$c" --protocol defects --seed "$seed" --methods "$method" \
      "${extra[@]}" --no-figures --out "$dir" > "$dir.summary.json" 2> "$dir.log"
    if [ -n "$record" ]; then
      mkdir -p "$record/$cell"
      mkdir -p "$record/$cell/methods"
      cp "$dir/methods/$method.json" "$record/$cell/methods/"
      # the reported test part of split.json (indices, labels, defect families and seeds)
      python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1]))["reported_test"], open(sys.argv[2], "w"))' \
        "$dir/split.json" "$record/$cell/reported_test.json"
      for f in results.json experiment.json; do
        sed "s|--out $out/|--out OUT/|g" "$dir/$f" > "$record/$cell/$f.tmp" && mv "$record/$cell/$f.tmp" "$record/$cell/$f"
      done
    fi
  done
done

#!/usr/bin/env bash
# Runs the experiment cells of docs/results.md (`oiad experiment`, one at a time), records each
# finished cell in bench/cells, then rewrites docs/results.md (bench/results_doc.py: the text of
# bench/results_notes.md with the tables the bench programs make from the recorded cells).
#
# Usage: bench/reproduce.sh [table2|standard|defects|seeds|all|report] [OUT]     (defaults: all, runs/reproduce)
#   table2    Table II cells (paper protocol): MNIST 1 and 7, CIFAR-10 cat and dog, plus
#             Fashion-MNIST trouser (the paper's Fig. 3 case)
#   standard  all 10 classes of MNIST, Fashion-MNIST and CIFAR-10, standard protocol
#   defects   all 10 classes of MNIST, Fashion-MNIST and CIFAR-10, defects protocol (half of the
#             class's test images given one synthetic local defect; docs/results.md); its
#             recseg peer reads Debian's openarena-081-textures (install it first)
#   seeds     MNIST 7, paper protocol, again with seeds SEEDS (default "1 2 3"; split, holdout,
#             initialisation and morph search all change with the seed), into OUT/seeds/
#   standard-seeds
#             the 30 standard cells again with seeds SEEDS (default here "1 2"), OIAD and the
#             peers only (the ten-class means' spread over seeds: bench/results_table.py
#             standard-seeds OUT), into OUT/seeds/
#   peer-reductions
#             the cost of the same-run peers' reductions on CIFAR-10 cat and dog (the paper's Table II
#             classes), standard protocol, seed 0, each peer alone: Deep SVDD with the authors' 350 + 150
#             epochs instead of 30 + 50, and the transformation classifier as a WRN-10-2 instead of a
#             WRN-10-1 (bench/results_table.py peer-reductions OUT), into OUT/peers/
#   report    only rewrite docs/results.md (from the recorded cells)
# Environment: OIAD (the oiad binary, build/oiad; a copy keeps a long campaign on one build
# while build/ changes), SEED (0), SEEDS ("1 2 3"), PRESET (default; another preset's cells
# get the suffix _preset-NAME, e.g. `PRESET=paper bench/reproduce.sh table2`: the paper's rule
# under the paper's search, which that rule needs to be repeatable), EPOCHS (30), LIMIT (0 = no cap), THREADS (all),
# PEERS (deepsvdd,transforms: the same-run peers added to the standard cells; each adds about
# 10-15 minutes per cell), REPORT (1; 0 runs the cells without rewriting docs/results.md, for
# a machine that holds only some of the cells; `bench/results_table.py standard OUT [DATA...]`
# then prints the standard-protocol tables of the cells it holds).
#
# RECORD (bench/cells; empty: none) keeps the small files of every finished cell (results.json
# and experiment.json: every AUC, the per-method seconds and the cell's settings, not the
# models or per-image scores) in a folder that is committed, so finished cells outlive the
# machine: a cell recorded there with the configuration this build would use counts as done,
# and its files are copied back into OUT. docs/results.md is made from the recorded cells
# (and bench/records) only, never from OUT; a defects cell also records families.json.
#
# Resumable at two levels: a cell whose results.json is complete is skipped, and an
# interrupted cell resumes inside `oiad experiment` (finished methods and training
# checkpoints are kept in its folder). Cells run one at a time: two LibTorch processes on
# a 2-core machine slow each other down many times over. While the file OUT/hold exists, the
# next cell waits for it to go (other heavy work can then run between cells without
# sharing the cores with one, which would distort its seconds).
set -euo pipefail
what=${1:-all}
root="$(cd "$(dirname "$0")/.." && pwd)"
out=${2:-$root/runs/reproduce}
bin=${OIAD:-$root/build/oiad}
seed=${SEED:-0}; preset=${PRESET:-default}; epochs=${EPOCHS:-30}; limit=${LIMIT:-0}; peers=${PEERS:-deepsvdd,transforms}
record=${RECORD-$root/bench/cells}
# Cells of another preset than `default` live beside the default ones, named for it (e.g.
# mnist_7_paper_preset-paper: Table II under the paper's own search, γ = 40, N = 100).
preset_suffix=""
[ "$preset" = default ] || preset_suffix="_preset-$preset"
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")
mkdir -p "$out"

table2=("mnist 1 paper" "mnist 7 paper" "cifar10 cat paper" "cifar10 dog paper" "fashion-mnist trouser paper")
standard=()
for d in mnist fashion-mnist cifar10; do
  for c in 0 1 2 3 4 5 6 7 8 9; do standard+=("$d $c standard"); done
done
defects=()
for d in mnist fashion-mnist cifar10; do
  for c in 0 1 2 3 4 5 6 7 8 9; do defects+=("$d $c defects"); done
done
seeds=()
for s in ${SEEDS:-1 2 3}; do seeds+=("mnist 7 paper $s"); done
# DATA CLASS VARIANT: a peer run alone with one reduction undone (peer_variant below).
peer_reductions=("cifar10 3 deepsvdd-350-150" "cifar10 3 transforms-wrn-10-2" "cifar10 5 deepsvdd-350-150"
                 "cifar10 5 transforms-wrn-10-2")
# peer_variant VARIANT: sets methods to the experiment's method arguments for a peer-reduction cell.
peer_variant() {
  case "$1" in
    deepsvdd-350-150) methods=(--methods deepsvdd --deepsvdd-epochs 350,150) ;;
    transforms-wrn-10-2) methods=(--methods transforms --transforms-net 10,2) ;;
    *) echo "reproduce.sh: unknown peer variant '$1'" >&2; exit 2 ;;
  esac
}
standard_seeds=()
# One data set's seeds before the next: each data set's spread is complete as early as possible.
for d in mnist fashion-mnist cifar10; do
  for s in ${SEEDS:-1 2}; do
    for c in 0 1 2 3 4 5 6 7 8 9; do standard_seeds+=("$d $c standard $s"); done
  done
done
case "$what" in
  table2) cells=("${table2[@]}") ;;
  seeds) cells=("${seeds[@]}") ;;
  standard-seeds) cells=("${standard_seeds[@]}") ;;
  peer-reductions) cells=("${peer_reductions[@]}") ;;
  standard) cells=("${standard[@]}") ;;
  defects) cells=("${defects[@]}") ;;
  all) cells=("${table2[@]}" "${standard[@]}" "${defects[@]}") ;;
  report) cells=() ;;
  *) echo "reproduce.sh: unknown set '$what' (table2, standard, defects, seeds, standard-seeds, peer-reductions, all, report)" >&2; exit 2 ;;
esac

# complete RESULTS CONFIGURATION METHODS: RESULTS (a cell's results.json) was made with the whole
# CONFIGURATION this build would record for the cell (`oiad experiment --print-configuration`:
# every setting, the preset's parameters included) and holds every method of the comma-separated
# METHODS (OIAD as its per-metric entries oiad_*). A cell recorded before results.json carried
# its configuration is never complete.
complete() {
  [ -s "$1" ] && python3 - "$1" "$2" "$3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
have = r.get("configuration", {})
if any(have.get(k) != v for k, v in want.items()):
    sys.exit(1)
done = set(r["methods"])
sys.exit(0 if all(m in done or any(k.startswith(m + "_") for k in done) for m in sys.argv[3].split(",")) else 1)
PY
}

# record_cell: copies the finished cell $dir into $record/$rel.
record_cell() {
  mkdir -p "$record/$rel"
  for f in results.json experiment.json; do
    [ -s "$dir/$f" ] || continue
    # the recorded command names the output directory relative to the checkout
    sed "s|--out $root/|--out |g" "$dir/$f" > "$record/$rel/$f.tmp" && mv "$record/$rel/$f.tmp" "$record/$rel/$f"
  done
  # A defects cell also keeps each method's image AUC per defect family (from its per-image
  # scores, which are not recorded).
  if [ "$protocol" = defects ]; then
    python3 "$root/bench/results_table.py" families "$dir" > "$record/$rel/families.json.tmp" &&
      mv "$record/$rel/families.json.tmp" "$record/$rel/families.json"
  fi
}

for cell in "${cells[@]+"${cells[@]}"}"; do
  read -r data cls protocol cell_seed <<< "$cell"
  # A peer-reduction cell: "DATA CLASS VARIANT", the standard protocol at seed 0, one peer alone.
  variant=""
  case "$protocol" in
    deepsvdd-*|transforms-*) variant=$protocol; protocol=standard ;;
  esac
  # A standard cell of another seed runs OIAD and the peers only: the seed spread is asked of them.
  only_oiad_peers=0
  [ -n "$cell_seed" ] && [ "$protocol" = standard ] && only_oiad_peers=1
  if [ -n "$variant" ]; then
    cell_seed=$seed
    mkdir -p "$out/peers"
    dir="$out/peers/${data}_${cls}_${variant}"
  elif [ -n "$cell_seed" ]; then
    mkdir -p "$out/seeds"
    dir="$out/seeds/${data}_${cls}_${protocol}_seed${cell_seed}${preset_suffix}"
  else
    cell_seed=$seed
    dir="$out/${data}_${cls}_${protocol}${preset_suffix}"
  fi
  rel=${dir#"$out"/}
  # The methods of the cell: a standard cell runs the baselines and the same-run peers (another
  # seed: OIAD and the peers only), a defects cell the DRAEM-type peer recseg, a peer-reduction
  # cell one peer alone.
  case "$protocol" in
    standard) methods=(--methods "oiad,vae,dcae,kde,ocsvm,gmm,$peers") ;;
    defects) methods=(--methods "oiad,vae,dcae,kde,ocsvm,gmm,recseg") ;;
    *) methods=(--methods "oiad,vae,dcae,kde,ocsvm,gmm") ;;
  esac
  [ "$only_oiad_peers" = 1 ] && methods=(--methods "oiad,$peers")
  [ -z "$variant" ] || peer_variant "$variant"
  args=(experiment --data "$data" --normal-class "$cls" --protocol "$protocol" --preset "$preset" --seed "$cell_seed"
        --epochs "$epochs" --limit "$limit" "${methods[@]}")
  mkdir -p "$(dirname "$dir")"
  configuration="$dir.configuration.json"
  "$bin" "${args[@]}" --out "$dir" --print-configuration > "$configuration"
  if [ -n "$record" ] && ! complete "$dir/results.json" "$configuration" "${methods[1]}" && \
     complete "$record/$rel/results.json" "$configuration" "${methods[1]}"; then
    mkdir -p "$dir"
    cp "$record/$rel/"*.json "$dir/"
  fi
  if complete "$dir/results.json" "$configuration" "${methods[1]}"; then
    echo "reproduce: $data $cls $protocol ${variant:+$variant }seed $cell_seed done already" >&2
    # finished here but not recorded (an earlier campaign stopped before recording it)
    if [ -n "$record" ] && ! complete "$record/$rel/results.json" "$configuration" "${methods[1]}"; then
      record_cell
    fi
    continue
  fi
  if [ -e "$out/hold" ]; then
    echo "reproduce: $out/hold exists, waiting before $data $cls $protocol seed $cell_seed ($(date +%H:%M:%S))" >&2
    while [ -e "$out/hold" ]; do sleep 10; done
  fi
  echo "reproduce: $data $cls $protocol ${variant:+$variant }seed $cell_seed -> $dir ($(date +%H:%M:%S))" >&2
  "$bin" "${threads[@]+"${threads[@]}"}" "${args[@]}" --out "$dir" > "$dir.summary.json" 2> "$dir.log"
  [ -n "$record" ] && record_cell
done

[ "${REPORT:-1}" = 0 ] && exit 0
if [ -z "$record" ]; then
  echo "reproduce: docs/results.md is made from the recorded cells; RECORD is empty, so it is not rewritten" >&2
  exit 0
fi
python3 "$root/bench/results_doc.py"
echo "reproduce: wrote docs/results.md (bench/results_doc.py, from bench/results_notes.md and the recorded runs)" >&2

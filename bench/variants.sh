#!/usr/bin/env bash
# Trains Detector-VAE variants on one class (paper split, seed 0) and evaluates each
# (default preset) on a seeded subset of the test split, to compare training settings.
# Usage: bench/variants.sh DATA CLASS EPOCHS OUTDIR EVAL_LIMIT NAME="train args" [NAME="args" ...]
# Writes OUTDIR/<name>.{oiad,train.json,train.log,eval.json}; finished variants are skipped.
set -euo pipefail
data=$1; cls=$2; epochs=$3; out=$4; limit=$5; shift 5
bin="$(cd "$(dirname "$0")/.." && pwd)/build/oiad"
mkdir -p "$out"
for spec in "$@"; do
  name=${spec%%=*}; args=${spec#*=}
  [ -s "$out/$name.eval.json" ] && continue
  # shellcheck disable=SC2086
  "$bin" train --data "$data" --normal-class "$cls" --epochs "$epochs" $args \
    --out "$out/$name.oiad" > "$out/$name.train.json" 2> "$out/$name.train.log"
  "$bin" evaluate --model "$out/$name.oiad" --sample "$limit" > "$out/$name.eval.json" 2> "$out/$name.eval.log"
  python3 - "$out/$name" <<'PY'
import json, sys
b = sys.argv[1]
t = json.load(open(b + ".train.json"))["final"]
e = json.load(open(b + ".eval.json"))["metrics"]
print(b.split("/")[-1], "recon %.1f kl %.1f tc %.3f active %d |" % (t["recon"], t["kl"], t["tc"], t["active_codes"]),
      " ".join("%s %.3f/%.3f" % (m, v["auc"], v["auc_one_sided_mean"]) for m, v in e.items()))
PY
done

#!/usr/bin/env bash
# The main job on the embedded default: set up, build, train an OIAD detector on
# Fashion-MNIST class 1 (trouser) with the paper's split, calibrate it on VAL, evaluate it
# on CLE + ANO, and print the AUC of each metric and where the results went.
# Usage: scripts/demo.sh [OUTDIR]   (default runs/demo; takes about 5 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/demo}
bash scripts/setup.sh
bash scripts/build.sh >/dev/null
mkdir -p "$out"
echo "demo: training on Fashion-MNIST 'Trouser' (log: $out/train.log)" >&2
build/oiad train --data fashion-mnist --normal-class trouser --protocol paper --epochs 20 \
  --out "$out/trouser.oiad" > "$out/train.json" 2> "$out/train.log"
echo "demo: evaluating on the test split (log: $out/evaluate.log)" >&2
build/oiad evaluate --model "$out/trouser.oiad" --out "$out/evaluation" > "$out/evaluate.json" 2> "$out/evaluate.log"
build/oiad find --model "$out/trouser.oiad" --top 16 --out "$out/most_anomalous_trousers.png" > "$out/find.json" 2>> "$out/evaluate.log"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
r = json.load(open(f"{out}/evaluate.json"))
print(f"OIAD on {r['dataset']} class '{r['normal_class']}' ({r['protocol']} protocol, {r['n_test']} test images, preset {r['preset']}, alpha {r['alpha']}):")
for m, v in r["metrics"].items():
    print(f"  {m:5s} AUC {v['auc']:.4f}   at alpha: TP {v['tp']:.3f} TN {v['tn']:.3f} acc {v['acc']:.3f}")
print(f"model: {out}/trouser.oiad")
print(f"results: {out}/evaluation/results.json, per-image scores: {out}/evaluation/scores.jsonl")
print(f"most anomalous trousers (Fig. 6): {out}/most_anomalous_trousers.png")
PY

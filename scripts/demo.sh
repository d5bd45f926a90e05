#!/usr/bin/env bash
# The main job on the embedded default: set up, build, train an OIAD detector on
# Fashion-MNIST class 1 (trouser) with the paper's split, calibrate it on VAL, evaluate it
# on CLE + ANO, and print the AUC of each metric and where the results went.
# Usage: scripts/demo.sh [OUTDIR]   (default runs/demo; 8 minutes on a clean clone on 2 cores,
# about 5 of them building the CLI: docs/performance-history.md)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/demo}
bash scripts/setup.sh
bash scripts/build.sh --target oiad_cli >/dev/null
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
print(f"OIAD on {r['dataset']} class '{r['normal_class']}' ({r['protocol']} protocol, {r['n_test']} test images, preset {r['preset']}):")
print(f"  decisions by the default one-sided rule at F = {r['fpr']} (flags the share F of normal VAL images)")
print(f"  and by the paper's two-sided rule at alpha = {r['alpha']} (flags an image unless every code lies in")
print(f"  the middle {1 - 2 * r['alpha']:.0%} of VAL: nearly every image at the paper's alpha).")
print("  TP = anomalies flagged, TN = normal images passed.")
for m, v in r["metrics"].items():
    one = v.get("one_sided")
    line = f"  {m:5s} AUC one-sided {v['auc_one_sided_mean']:.4f}, paper rule {v['auc']:.4f}"
    if one:
        line += f" | one-sided: TP {one['tp']:.3f} TN {one['tn']:.3f} acc {one['acc']:.3f}"
    line += f" | paper rule: TP {v['tp']:.3f} TN {v['tn']:.3f} acc {v['acc']:.3f}"
    print(line)
print(f"model: {out}/trouser.oiad")
print(f"results: {out}/evaluation/results.json, per-image scores: {out}/evaluation/scores.jsonl")
print(f"most anomalous trousers (Fig. 6): {out}/most_anomalous_trousers.png")
PY

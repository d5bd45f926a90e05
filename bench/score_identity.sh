#!/usr/bin/env bash
# Whether two builds of oiad score a trained model alike: trains a small Detector-VAE with
# the first binary (Fashion-MNIST 'trouser', paper protocol, 2 epochs, 1,500 images per part),
# then scores its test part with both (ssim under the stored one-sided rule; the local metric
# under the relative rule) and evaluates it with both, and compares the outputs byte for byte
# (results.json less its timings and the keys the newer build adds).
# Usage: bench/score_identity.sh OLD_OIAD NEW_OIAD [DIR]   Exit 1 when any output differs.
set -euo pipefail
old=${1:?usage: bench/score_identity.sh OLD_OIAD NEW_OIAD [DIR]} new=${2:?usage}
dir=${3:-runs/score_identity}
mkdir -p "$dir"
"$old" --threads 2 train --data fashion-mnist --normal-class trouser --protocol paper --epochs 2 --limit 1500 \
  --out "$dir/det.oiad" > "$dir/train.json" 2> "$dir/train.log"
status=0
for side in old new; do
  bin=${!side}
  "$bin" --threads 2 score --model "$dir/det.oiad" --split test --out "$dir/$side.ssim.jsonl" 2>/dev/null
  "$bin" --threads 2 score --model "$dir/det.oiad" --split test --metric local --rule relative \
    --out "$dir/$side.local_relative.jsonl" 2>/dev/null
  "$bin" --threads 2 evaluate --model "$dir/det.oiad" --out "$dir/$side.eval" > /dev/null 2>&1
done
for f in ssim.jsonl local_relative.jsonl; do
  if cmp -s "$dir/old.$f" "$dir/new.$f"; then echo "score $f: identical ($(wc -l < "$dir/new.$f") images)"; else echo "score $f: DIFFERENT"; status=1; fi
done
if cmp -s "$dir/old.eval/scores.jsonl" "$dir/new.eval/scores.jsonl"; then echo "evaluate scores.jsonl: identical"; else echo "evaluate scores.jsonl: DIFFERENT"; status=1; fi
python3 - "$dir" <<'PY' || status=1
import json, sys
d = sys.argv[1]
a, b = (json.load(open(f"{d}/{s}.eval/results.json")) for s in ("old", "new"))
for r in (a, b):
    for k in ("score_seconds", "images_per_s", "out"):
        r.pop(k, None)
added = sorted(set(b) - set(a))
same = all(a[k] == b[k] for k in a)
print(f"evaluate results.json: {'identical' if same else 'DIFFERENT'} (keys added by the new build: {', '.join(added) or 'none'})")
sys.exit(0 if same else 1)
PY
exit $status

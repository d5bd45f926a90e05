#!/usr/bin/env bash
# Seconds per training step of the recseg peer (batch 8) for base widths and network inputs:
# a short `oiad experiment --methods recseg` on a folder of generated grey 40x48 textures
# with bright spots in the test part (procedural anomaly sources), its fit time divided by the
# steps. One JSON line per setting.
# Usage: bench/recseg_steps.sh [DIR]   (nothing else should run: the times are wall times)
set -euo pipefail
dir=${1:-runs/recseg_steps}
bin=${OIAD:-build/oiad}
steps=${STEPS:-20}
mkdir -p "$dir"
/usr/bin/python3 - "$dir/set" <<'PY'
import os, struct, sys, zlib
import numpy as np
def png(path, img):
    h, w = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
rng = np.random.default_rng(0)
root = sys.argv[1]
os.makedirs(root + "/train/good", exist_ok=True)
os.makedirs(root + "/test/good", exist_ok=True)
os.makedirs(root + "/test/spot", exist_ok=True)
yy, xx = np.mgrid[0:40, 0:48]
for split, kind, n in (("train", "good", 60), ("test", "good", 10), ("test", "spot", 10)):
    for i in range(n):
        img = (90 + 20 * ((xx // 4 + yy // 4) % 2) + rng.integers(0, 20, (40, 48))).astype(np.uint8)
        if kind == "spot":
            img[10:16, 20:26] = 240
        png("%s/%s/%s/%03d.png" % (root, split, kind, i), img)
PY
for side in 32 64 128; do
  for widths in 8,8 16,8 32,16; do
    rm -rf "$dir/run"
    "$bin" --threads 2 experiment --data "$dir/set" --normal-class good --protocol standard --methods recseg \
      --no-figures --input-size "$side" --anomaly-source procedural --recseg-widths "$widths" --recseg-steps "$steps" \
      --out "$dir/run" > /dev/null 2>&1
    /usr/bin/python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))['methods']['recseg']
print(json.dumps({'side': int(sys.argv[2]), 'widths': sys.argv[3], 'steps': int(sys.argv[4]),
                  'seconds_per_step': round(r['fit_seconds'] / int(sys.argv[4]), 3)}))" \
      "$dir/run/results.json" "$side" "$widths" "$steps"
  done
done

#!/usr/bin/env bash
# Scoring one photograph by tiles: peak memory (max RSS) and wall time of `oiad score` and of
# `oiad inspect --map` (the stitched full-size map) for grey textures of 256, 1024 and 4096
# pixels a side, with a tiled model (trained with --tile). Peak memory should follow the
# image and its map (4 bytes a pixel, twice while stitching), not the number of tiles.
# Then the throughput at 256 x 256: 32 such images scored in one call (images/s, process start
# and model loading included).
# With RESIZE=1 the model is an untiled one and every image is resized to its network
# (`--resize`): the resize route's cost for the same photographs ("tiles" is then null).
# Usage: [RESIZE=1] bench/tiled_photograph.sh MODEL [DIR]   One JSON line per measurement on stdout.
set -euo pipefail
model=${1:?usage: bench/tiled_photograph.sh MODEL [DIR]}
dir=${2:-runs/tiled_photograph}
bin=${OIAD:-build/oiad}
resize=()
[ "${RESIZE:-0}" = 1 ] && resize=(--resize)
mkdir -p "$dir"
/usr/bin/python3 - "$dir" <<'PY'
import struct, sys, zlib
import numpy as np
rng = np.random.default_rng(0)
for n in (256, 1024, 4096):
    yy, xx = np.mgrid[0:n, 0:n]
    img = (100 + 30 * np.sin(xx / 9.0) * np.cos(yy / 7.0) + rng.integers(0, 20, (n, n))).astype(np.uint8)
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(n))
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", n, n, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    open("%s/tex%d.png" % (sys.argv[1], n), "wb").write(png)
PY
for n in 256 1024 4096; do
  for cmd in score map; do
    if [ "$cmd" = score ]; then args=(score --model "$model" "${resize[@]}" "$dir/tex$n.png" --out "$dir/score$n.jsonl")
    else args=(inspect --model "$model" "${resize[@]}" "$dir/tex$n.png" --map "$dir/map$n.png"); fi
    /usr/bin/time -f '%e %M' -o "$dir/time" "$bin" --threads 2 "${args[@]}" > "$dir/out.json" 2> /dev/null
    read -r secs kb < "$dir/time"
    tiles=$(/usr/bin/python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline()).get('tiles', 'null'))" \
      "$([ "$cmd" = score ] && echo "$dir/score$n.jsonl" || echo "$dir/out.json")")
    echo "{\"command\": \"$cmd\", \"side\": $n, \"tiles\": $tiles, \"seconds\": $secs, \"max_rss_mib\": $((kb / 1024))}"
  done
done
files=()
for i in $(seq 1 32); do files+=("$dir/tex256.png"); done
/usr/bin/time -f '%e %M' -o "$dir/time" "$bin" --threads 2 score --model "$model" "${resize[@]}" "${files[@]}" --out "$dir/score32.jsonl" 2> /dev/null
read -r secs kb < "$dir/time"
echo "{\"command\": \"score 32 images\", \"side\": 256, \"seconds\": $secs, \"images_per_s\": $(/usr/bin/python3 -c "print(round(32 / $secs, 2))"), \"max_rss_mib\": $((kb / 1024))}"

#!/usr/bin/env python3
"""Whether Magnetic-tile's defect-free and defective photographs differ as wholes: the width,
height and area of each photograph (from its JPEG header), per class, and the AUROC with
which each of them alone (larger or smaller, whichever is higher) tells the defective
photographs from the defect-free ones. A score that sees no defect but separates the two
would let a global method score without finding defects.
Usage: bench/magnetic_tile_wholes.py [magnetic-tile.tar]"""
import bisect
import struct
import sys
import tarfile


def jpeg_size(data):
    """(height, width) from the first start-of-frame marker."""
    i = 2
    while i < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return h, w
        i += 2 + length
    raise ValueError("no start-of-frame marker")


def auroc(pos, neg):
    neg = sorted(neg)
    wins = sum(bisect.bisect_left(neg, p) + 0.5 * (bisect.bisect_right(neg, p) - bisect.bisect_left(neg, p))
               for p in pos)
    return wins / (len(pos) * len(neg))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/magnetic-tile.tar"
    sizes = {}
    with tarfile.open(path) as t:
        for m in t.getmembers():
            if m.isfile() and m.name.endswith(".jpg"):
                cls = m.name.split("/")[-3][3:]
                sizes.setdefault(cls, []).append(jpeg_size(t.extractfile(m).read()))
    for cls, v in sorted(sizes.items()):
        hs, ws = [h for h, _ in v], [w for _, w in v]
        print("%-9s %4d images: height %d-%d (mean %.0f), width %d-%d (mean %.0f)" % (
            cls, len(v), min(hs), max(hs), sum(hs) / len(hs), min(ws), max(ws), sum(ws) / len(ws)))
    free = sizes.pop("Free")
    defective = [s for v in sizes.values() for s in v]
    for name, f in (("height", lambda s: s[0]), ("width", lambda s: s[1]), ("area", lambda s: s[0] * s[1])):
        a = auroc([f(s) for s in defective], [f(s) for s in free])
        print("%s alone tells defective from defect-free with AUROC %.3f" % (name, max(a, 1 - a)))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Label-free agreement of each setting's per-image scores with the `paper` preset's, on the
same images (bench/preset_compare.sh OUTDIR: MODEL.SETTING.eval/scores.jsonl). No label is
read: the comparison says how closely a cheaper search reproduces the paper search's scores,
not how well either detects.

Usage: bench/preset_agreement.py OUTDIR [RULE]
  RULE: one-sided (the field one_sided_score) or paper (the field score).
Per model and setting (the `paper` row is the reference): for each metric, the normalised
RMS difference sqrt(mean((s - p)^2)) / sd(p) over the images, and the largest of the
metrics' values; Spearman's rank correlation of s and p beside it (average ranks for ties).
Without RULE: both rules, only the largest RMS / sd and the smallest Spearman over metrics."""
import glob
import json
import math
import os
import sys

METRICS = ["mse", "loss", "ssim", "local"]


def scores(path, field):
    out = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            out[r["id"]] = {m: r[m][field] for m in METRICS if m in r and field in r[m]}
    return out


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for t in range(i, j + 1):
            r[order[t]] = (i + j) / 2.0
        i = j + 1
    return r


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / math.sqrt(saa * sbb) if saa > 0 and sbb > 0 else float("nan")


def load_runs(outdir, field):
    runs = {}
    for path in sorted(glob.glob(os.path.join(outdir, "*.eval", "scores.jsonl"))):
        base = os.path.basename(os.path.dirname(path))[: -len(".eval")]
        model, label = base.split(".", 1) if "." in base else (base, base)
        runs[(model, label)] = scores(path, field)
    return runs


def model_name(outdir, model):
    """"DATA CLASS[, PROTOCOL]" from the `paper` run's eval.json, else the file name."""
    path = os.path.join(outdir, f"{model}.paper.eval.json")
    if not os.path.exists(path):
        return model
    r = json.load(open(path))
    proto = f", {r['protocol']}" if r.get("protocol", "paper") != "paper" else ""
    return f"{r['dataset']} {r['normal_class']}{proto}"


def agreement(s, ref, m):
    """(normalised RMS difference, Spearman) of metric m over the images both score."""
    ids = [i for i in s if i in ref and m in s[i] and m in ref[i]]
    if len(ids) < 2:
        return None
    a = [s[i][m] for i in ids]
    b = [ref[i][m] for i in ids]
    mb = sum(b) / len(b)
    sd = math.sqrt(sum((y - mb) ** 2 for y in b) / len(b))
    rms = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)) / len(a)) / sd if sd > 0 else float("nan")
    return rms, pearson(ranks(a), ranks(b))


def summary(outdir):
    both = {rule: load_runs(outdir, field) for rule, field in (("one-sided", "one_sided_score"), ("paper", "score"))}
    print("| model | setting | images | one-sided: largest RMS / sd | one-sided: smallest Spearman "
          "| paper rule: largest RMS / sd | paper rule: smallest Spearman |")
    print("|---|---|---|---|---|---|---|")
    for (model, label), s in both["one-sided"].items():
        if label == "paper" or (model, "paper") not in both["one-sided"]:
            continue
        cells = []
        for rule in ("one-sided", "paper"):
            got = [agreement(both[rule][(model, label)], both[rule][(model, "paper")], m) for m in METRICS]
            got = [g for g in got if g is not None]
            cells += [f"{max(g[0] for g in got):.3f}", f"{min(g[1] for g in got):.4f}"]
        print(f"| {model_name(outdir, model)} | {label} | {len(s)} | " + " | ".join(cells) + " |")


def main(outdir, rule):
    field = {"one-sided": "one_sided_score", "paper": "score"}[rule]
    runs = load_runs(outdir, field)
    print(f"| model | setting | images | " + " | ".join(f"{m} RMS / sd" for m in METRICS) +
          " | largest | " + " | ".join(f"{m} Spearman" for m in METRICS) + " |")
    print("|---|---|---|" + "---|" * (2 * len(METRICS) + 1))
    for (model, label), s in runs.items():
        ref = runs.get((model, "paper"))
        if ref is None or label == "paper":
            continue
        ids = [i for i in s if i in ref]
        rms_cells, rho_cells, worst = [], [], 0.0
        for m in METRICS:
            g = agreement(s, ref, m)
            if g is None:
                rms_cells.append("-")
                rho_cells.append("-")
                continue
            worst = max(worst, g[0])
            rms_cells.append(f"{g[0]:.3f}")
            rho_cells.append(f"{g[1]:.4f}")
        print(f"| {model_name(outdir, model)} | {label} | {len(ids)} | " + " | ".join(rms_cells) + f" | {worst:.3f} | " +
              " | ".join(rho_cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] not in ("one-sided", "paper")):
        sys.exit("usage: bench/preset_agreement.py OUTDIR [one-sided|paper]")
    if not os.path.isdir(sys.argv[1]):
        sys.exit(f"bench/preset_agreement.py: {sys.argv[1]}: not a directory")
    summary(sys.argv[1]) if len(sys.argv) == 2 else main(*sys.argv[1:])

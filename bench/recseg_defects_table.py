#!/usr/bin/env python3
"""Tables of one method on defects-protocol cells recorded by bench/recseg_cells.sh: the
recseg peer, or OIAD's local metric (METHOD oiad: its one-sided and relative scores).

Usage: bench/recseg_defects_table.py RECORD [METHOD]     (METHOD: recseg (default) or oiad)

Per data set (cells <data>_<class>_defects_seed<S> without a variant suffix): each class's
image AUROC (for OIAD one-sided and relative), pixel AUROC, AUPRO, fit and score seconds and
threads, the mean over the classes present, and the mean image AUROC per defect family (the
clean reported images against the reported images of one family, from the method's per-image
scores and reported_test.json's families). Cells with a variant suffix (other widths or
steps) are listed after, one row each.
"""
import glob
import json
import os
import re
import sys


def auc(pos, neg):
    """Probability that a positive outscores a negative, ties counted one half (pair count)."""
    wins = 0.0
    for p in pos:
        for n in neg:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(pos) * len(neg))


def fmt(x):
    return "–" if x is None else f"{x:.3f}"


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def image_scores(d, method):
    """[(column name, per-image scores of the reported test images)] of a cell's method."""
    if method == "oiad":
        m = json.load(open(os.path.join(d, "methods", "oiad.json")))["details"]["metrics"]["local"]
        return [("one-sided", m["scores_one_sided"]), ("relative", m["scores_relative"])]
    return [("image AUROC", json.load(open(os.path.join(d, "methods", method + ".json")))["scores"])]


def image_aucs(results, method):
    if method == "oiad":
        m = results["methods"]["oiad_local"]
        return [m["auc_one_sided_mean"], m["auc_relative"]], m
    m = results["methods"][method]
    return [m["auc"]], m


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: bench/recseg_defects_table.py RECORD [METHOD]")
    root = sys.argv[1]
    method = sys.argv[2] if len(sys.argv) == 3 else "recseg"
    cells = {}
    for path in sorted(glob.glob(os.path.join(root, "*_defects_seed*", "results.json"))):
        name = os.path.basename(os.path.dirname(path))
        m = re.fullmatch(r"(.+)_(\d+)_defects_seed(\d+)(?:_(.+))?", name)
        if not m:
            continue
        cells[name] = (m.group(1), int(m.group(2)), int(m.group(3)), m.group(4), os.path.dirname(path))
    columns = ["one-sided", "relative"] if method == "oiad" else ["image AUROC"]
    head = "| class | " + " | ".join(columns) + " | pixel AUROC | AUPRO | fit s | score s (threads) | test images |"
    for data in sorted({c[0] for c in cells.values()}):
        rows = sorted((c for c in cells.values() if c[0] == data and c[3] is None), key=lambda c: (c[2], c[1]))
        if not rows:
            continue
        print(f"### {data}, defects, {method} (seed {', '.join(sorted({str(c[2]) for c in rows}))})\n")
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        vals, fam = [], {}
        for _, cls, seed, _, d in rows:
            r = json.load(open(os.path.join(d, "results.json")))
            aucs, m = image_aucs(r, method)
            vals.append((*aucs, m.get("pixel_auroc"), m.get("aupro")))
            print(f"| {cls} | " + " | ".join(fmt(a) for a in aucs) + f" | {fmt(m.get('pixel_auroc'))} | "
                  f"{fmt(m.get('aupro'))} | {m['fit_seconds']:.0f} | {m['score_seconds']:.0f} "
                  f"({r['machine']['threads']}) | {r['n_test']} |")
            rep = json.load(open(os.path.join(d, "reported_test.json")))
            for name, scores in image_scores(d, method):
                if len(scores) != len(rep["defect"]):
                    sys.exit(f"{d}: {len(scores)} scores for {len(rep['defect'])} reported test images")
                clean = [s for s, f in zip(scores, rep["defect"]) if f is None]
                for f in sorted({f for f in rep["defect"] if f is not None}):
                    fam.setdefault((name, f), []).append(auc([s for s, g in zip(scores, rep["defect"]) if g == f],
                                                             clean))
        print(f"| mean of {len(rows)} | " + " | ".join(fmt(mean([v[i] for v in vals])) for i in range(len(vals[0])))
              + " | | | |")
        for name in columns:
            print(f"\nMean image AUROC per defect family over the {len(rows)} classes ({name}): " +
                  ", ".join(f"{f} {fmt(mean(v))}" for (n, f), v in sorted(fam.items()) if n == name) + ".")
        print()
    variants = sorted((c for c in cells.values() if c[3] is not None), key=lambda c: (c[0], c[1], c[3]))
    if variants:
        print("### recseg settings on one cell\n")
        print("| cell | setting | image AUROC | pixel AUROC | AUPRO | fit s (threads) |")
        print("|---|---|---|---|---|---|")
        for data, cls, seed, variant, d in variants:
            r = json.load(open(os.path.join(d, "results.json")))
            m = r["methods"]["recseg"]
            print(f"| {data} {cls} seed {seed} | widths {m['rec_width']},{m['seg_width']}, {m['steps']} steps | "
                  f"{fmt(m['auc'])} | {fmt(m.get('pixel_auroc'))} | {fmt(m.get('aupro'))} | "
                  f"{m['fit_seconds']:.0f} ({r['machine']['threads']}) |")


if __name__ == "__main__":
    main()

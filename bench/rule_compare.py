#!/usr/bin/env python3
"""Decisions of the paper's two-sided α rule and of the one-sided rule on the same images.
Usage: bench/rule_compare.py METRIC ALPHA[,ALPHA...] DIR...
Each DIR is an `oiad evaluate --fpr F --out DIR` folder: its results.json gives the one-sided
rule's TP/TN at that F; the paper rule's TP/TN at each α are counted from scores.jsonl
(flagged at α ⇔ score > 1 - 2α, include/oiad/detect/calibration.h)."""
import json
import os
import sys


def paper_rule(rows, metric, alpha):
    tp = tn = n_anomalous = n_normal = 0
    for r in rows:
        flagged = r[metric]["score"] > 1 - 2 * alpha
        if r["label"]:
            n_anomalous += 1
            tp += flagged
        else:
            n_normal += 1
            tn += not flagged
    return tp / n_anomalous, tn / n_normal, (tp + tn) / (n_anomalous + n_normal), n_normal + n_anomalous


def fail(msg):
    sys.exit(f"rule_compare.py: {msg}")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        fail(f"{path}: {e.strerror}")


def main(metric, alphas, *dirs):
    if not dirs:
        fail("give METRIC ALPHA[,ALPHA...] and at least one `oiad evaluate --out` folder")
    rows = [json.loads(line) for line in read(os.path.join(dirs[0], "scores.jsonl")).splitlines()]
    if not rows or metric not in rows[0]:
        fail(f"{dirs[0]}/scores.jsonl: no {metric} scores")
    print(f"| rule ({metric}) | level | test images | TN (normal passed) | TP (anomalies flagged) | acc |")
    print("|---|---|---|---|---|---|")
    try:
        levels = [float(x) for x in alphas.split(",")]
    except ValueError:
        fail(f"ALPHA list '{alphas}' is not comma-separated numbers")
    for a in levels:
        tp, tn, acc, n = paper_rule(rows, metric, a)
        print(f"| paper, two-sided | α = {a:g} | {n} | {tn:.3f} | {tp:.3f} | {acc:.3f} |")
    for d in dirs:
        r = json.loads(read(os.path.join(d, "results.json")))
        one = r.get("metrics", {}).get(metric, {}).get("one_sided")
        if one is None:
            fail(f"{d}/results.json: no one-sided {metric} decisions (calibrate the model again, then evaluate)")
        print(f"| one-sided | f = {one['fpr']:g} | {r['n_test']} | {one['tn']:.3f} | {one['tp']:.3f} | "
              f"{one['acc']:.3f} |")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        fail("usage: bench/rule_compare.py METRIC ALPHA[,ALPHA...] DIR...")
    main(*sys.argv[1:])

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


def main(metric, alphas, *dirs):
    print(f"| rule ({metric}) | level | test images | TN (normal passed) | TP (anomalies flagged) | acc |")
    print("|---|---|---|---|---|---|")
    rows = [json.loads(line) for line in open(os.path.join(dirs[0], "scores.jsonl"))]
    for a in (float(x) for x in alphas.split(",")):
        tp, tn, acc, n = paper_rule(rows, metric, a)
        print(f"| paper, two-sided | α = {a:g} | {n} | {tn:.3f} | {tp:.3f} | {acc:.3f} |")
    for d in dirs:
        r = json.load(open(os.path.join(d, "results.json")))
        one = r["metrics"][metric]["one_sided"]
        print(f"| one-sided | f = {one['fpr']:g} | {r['n_test']} | {one['tn']:.3f} | {one['tp']:.3f} | "
              f"{one['acc']:.3f} |")


if __name__ == "__main__":
    main(*sys.argv[1:])

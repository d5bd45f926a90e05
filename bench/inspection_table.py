#!/usr/bin/env python3
"""The inspection table of docs/results.md from `oiad experiment` folders of one data set
with masks (the same protocol and route, one folder per seed): per method, the image AUROC
over every defective test image and per defect type (from the stored per-image scores and
the split's indices), the pixel AUROC and AUPRO (results.json), fit minutes and scoring
images/s (the run's own timings). Several folders: the mean over them, and the seeds' range.
A second table gives, for each method that draws a map, its pixel AUROC and AUPRO per defect
type (results.json's per_kind: the normal images with that type's), means over the folders.

Usage: bench/inspection_table.py INFO_JSON RUN_DIR [RUN_DIR ...]
INFO_JSON is `oiad data info` of the data set: its class order and per-class counts give
each image's class (image folders are read in path order, class folders sorted)."""
import json
import sys


def auroc(pos, neg):
    """Mann-Whitney: the share of (positive, negative) pairs ordered correctly, ties 1/2."""
    neg = sorted(neg)
    import bisect
    wins = 0.0
    for p in pos:
        lo, hi = bisect.bisect_left(neg, p), bisect.bisect_right(neg, p)
        wins += lo + 0.5 * (hi - lo)
    return wins / (len(pos) * len(neg))


def method_scores(run, name):
    """Per reported test image: the method's label-free score (OIAD: each metric's one-sided
    score, the rule oiad decides by; "oiad_<metric> relative": its relative score)."""
    if name.startswith("oiad_"):
        metric, _, rule = name[5:].partition(" ")
        m = json.load(open(run + "/methods/oiad.json"))["details"]["metrics"][metric]
        return m["scores_relative" if rule == "relative" else "scores_one_sided"]
    return json.load(open(run + "/methods/%s.json" % name))["scores"]


def main():
    info = json.load(open(sys.argv[1]))
    runs = sys.argv[2:]
    classes = info["classes"]
    start, cls_of = 0, []
    for c, n in zip(classes, info["splits"]["train"]["per_class"]):
        cls_of += [c] * n
        start += n
    rows = {}
    for run in runs:
        res = json.load(open(run + "/results.json"))
        split = json.load(open(run + "/split.json"))
        normal = res["normal_class"]
        test = split["reported_test"]
        kinds = [cls_of[i] for i in test["index"]]
        types = sorted(set(k for k in kinds if k != normal))
        entries = []
        for name, m in res["methods"].items():
            entries.append((name, m))
            if name.startswith("oiad_") and "auc_relative" in m:  # the relative rule's score, same map
                entries.append((name + " relative", {k: v for k, v in m.items()
                                                     if k not in ("pixel_auroc", "aupro", "per_kind")}))
        for name, m in entries:
            s = method_scores(run, name)
            neg = [v for v, k in zip(s, kinds) if k == normal]
            r = rows.setdefault(name, {})
            r.setdefault("image", []).append(auroc([v for v, k in zip(s, kinds) if k != normal], neg))
            for t in types:
                r.setdefault(t, []).append(auroc([v for v, k in zip(s, kinds) if k == t], neg))
            for k in ("pixel_auroc", "aupro"):
                if m.get(k) is not None:
                    r.setdefault(k, []).append(m[k])
            for t, pk in (m.get("per_kind") or {}).items():
                for k in ("pixel_auroc", "aupro"):
                    r.setdefault((t, k), []).append(pk[k])
            r.setdefault("fit_min", []).append(m["fit_seconds"] / 60)
            # A tiled method scores the VAL images too in its scoring time (their maxima set F).
            details = json.load(open(run + "/methods/%s.json" % name.split("_")[0].split(" ")[0]))["details"]
            scored = len(s) + details.get("tiling", {}).get("val_images", 0)
            # The feature baselines' scoring time leaves out their features (PCA): not comparable.
            if not name.startswith(("kde", "ocsvm", "gmm")):
                r.setdefault("img_s", []).append(scored / m["score_seconds"])
    cols = ["image"] + types + ["pixel_auroc", "aupro", "fit_min", "img_s"]
    heads = ["image AUROC"] + types + ["pixel AUROC", "AUPRO", "fit min", "score img/s"]
    print("| method | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(heads))
    for name, r in rows.items():
        cells = []
        for c in cols:
            v = r.get(c)
            if not v:
                cells.append("–")
                continue
            mean = sum(v) / len(v)
            digits = 1 if c in ("fit_min", "img_s") else 3
            cell = "%.*f" % (digits, mean)
            if len(v) > 1 and digits == 3:
                cell += " (%.*f-%.*f)" % (digits, min(v), digits, max(v))
            cells.append(cell)
        print("| %s | %s |" % (name, " | ".join(cells)))
    mapped = [name for name, r in rows.items() if r.get("pixel_auroc")]
    with_kinds = max((len(r.get((t, "aupro"), [])) for r in rows.values() for t in types), default=0)
    if not mapped or with_kinds == 0:
        return
    print()
    print("| method (pixel AUROC / AUPRO) | " + " | ".join(types) + " |")
    print("|---|" + "---:|" * len(types))
    for name in mapped:
        r = rows[name]
        cells = []
        for t in types:
            a, p = r.get((t, "pixel_auroc")), r.get((t, "aupro"))
            cells.append("%.3f / %.3f" % (sum(a) / len(a), sum(p) / len(p)) if a and p else "–")
        print("| %s | %s |" % (name, " | ".join(cells)))

    print()
    print("Per defect type: the mean of the %d of %d runs whose results.json has per_kind." % (with_kinds, len(runs)))


if __name__ == "__main__":
    main()

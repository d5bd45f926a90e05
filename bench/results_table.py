#!/usr/bin/env python3
"""Prints Markdown tables from the JSON files the bench scripts write.
Usage: bench/results_table.py detector OUTDIR | presets OUTDIR | preset-seeds OUTDIR | variants OUTDIR |
       training FILE... | summary CELLS | cells CELLS | expect CELLS | expect-table2 CELLS | expect-defects CELLS | table2 CELLS | table2-seeds CELLS |
       standard CELLS [DATA...] | standard-seeds CELLS [DATA...] | defects CELLS [DATA...] | families CELLDIR |
       peer-reductions CELLS | relative-dev FILE...
CELLS: a folder laid out as bench/reproduce.sh's OUT (bench/cells holds the recorded ones). Every
table reads the files it is given and nothing of the machine it runs on, so docs/results.md,
made from these by bench/results_doc.py, is the same on every checkout."""
import fnmatch
import functools
import glob
import json
import os
import re
import sys



def load(path):
    with open(path) as f:
        return json.load(f)


def detector(outdir):
    print("| data | class | preset | test images | AUC mse | AUC loss | AUC ssim | TP / TN at α=0.4 (ssim) "
          "| one-sided AUC ssim | score img/s | paper AUC |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in sorted(glob.glob(os.path.join(outdir, "*.eval.json"))):
        r = load(path)
        m = r["metrics"]
        paper = r.get("paper_auc", "")  # the paper's Table II AUC, written by `oiad evaluate`
        # The run's label is the file name's (bench/preset_compare.sh: MODEL.LABEL.eval.json).
        label = os.path.basename(path)[: -len(".eval.json")].split(".", 1)[-1]
        preset = label + (f" (N = {r['morphs']}, {r['codes_scored']} codes)" if "morphs" in r else "")
        print(f"| {r['dataset']} | {r['normal_class']} | {preset} | {r['n_test']} | "
              f"{m['mse']['auc']:.4f} | {m['loss']['auc']:.4f} | {m['ssim']['auc']:.4f} | "
              f"{m['ssim']['tp']:.3f} / {m['ssim']['tn']:.3f} | {m['ssim']['auc_one_sided_mean']:.4f} | "
              f"{r['images_per_s']:.1f} | {paper} |")


def presets(outdir):
    """Presets on one model each (bench/preset_compare.sh MODEL OUTDIR ...): every metric's AUC
    under the paper's rule and the one-sided rule, and the largest absolute difference of
    those eight AUCs from the `paper` row of the same model (file MODEL.paper.eval.json)."""
    names = ["mse", "loss", "ssim", "local"]
    print("| model | setting | codes | test images | images/s | " +
          " | ".join(names) + " | " + " | ".join(n + " one-sided" for n in names) +
          " | largest AUC difference from paper |")
    print("|---|---|---|---|---|" + "---|" * (2 * len(names)) + "---|")
    def aucs(r):
        m = r["metrics"]
        return [m[k]["auc"] if k in m else None for k in names] + \
               [m[k].get("auc_one_sided_mean") if k in m else None for k in names]
    runs = {}  # (model, label) -> the run's eval.json
    for path in sorted(glob.glob(os.path.join(outdir, "*.eval.json"))):
        base = os.path.basename(path)[: -len(".eval.json")]
        model, label = base.split(".", 1) if "." in base else (base, base)
        runs[(model, label)] = load(path)
    for (model, label), r in runs.items():
        ref = aucs(runs[(model, "paper")]) if (model, "paper") in runs else None
        a = aucs(r)
        diff = ""
        if ref is not None and label != "paper":
            d = [abs(x - y) for x, y in zip(a, ref) if x is not None and y is not None]
            diff = f"{max(d):.4f}" if d else ""
        setting = label + (f" (N = {r['morphs']})" if "morphs" in r else "")
        cells = ["-" if x is None else f"{x:.4f}" for x in a]
        proto = f", {r['protocol']}" if r.get("protocol", "paper") != "paper" else ""
        print(f"| {r['dataset']} {r['normal_class']}{proto} | {setting} | {r.get('codes_scored', '')} | {r['n_test']} | "
              f"{r['images_per_s']:.1f} | " + " | ".join(cells) + f" | {diff} |")


def variants(outdir):
    print("| variant | final recon | final KL | final TC | active codes | AUC mse | AUC loss "
          "| AUC ssim | one-sided AUC mse / loss / ssim |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in sorted(glob.glob(os.path.join(outdir, "*.eval.json"))):
        base = path[: -len(".eval.json")]
        name = os.path.basename(base)
        t = load(base + ".train.json")
        f = t["final"]
        m = load(path)["metrics"]
        print(f"| {name} | {f['recon']:.1f} | {f['kl']:.1f} | {f['tc']:.3f} | {f['active_codes']} | "
              f"{m['mse']['auc']:.4f} | {m['loss']['auc']:.4f} | {m['ssim']['auc']:.4f} | "
              f"{m['mse']['auc_one_sided_mean']:.4f} / {m['loss']['auc_one_sided_mean']:.4f} / "
              f"{m['ssim']['auc_one_sided_mean']:.4f} |")


def training(*paths):
    print("| model | epochs | train seconds | images/s (last epoch) | recon | KL | TC | prec. reg | disc. loss |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        t = load(path)
        f = t["final"]
        print(f"| {path} | {t['epochs']} | {t['train_seconds']:.0f} | {t['images_per_s']:.0f} | {f['recon']:.2f} | "
              f"{f['kl']:.2f} | {f['tc']:.3f} | {f['prec_reg']:.3f} | {f['disc_loss']:.3f} |")


METHODS = [("kde", "KDE"), ("ocsvm", "OC-SVM"), ("gmm", "GMM"), ("vae", "VAE"), ("dcae", "DCAE"),
           ("oiad_mse", "OIAD mse"), ("oiad_loss", "OIAD loss"), ("oiad_ssim", "OIAD ssim")]
# Same-run peers (oiad experiment --methods deepsvdd,transforms): columns beside the published numbers.
PEERS = [("deepsvdd", "Deep SVDD here"), ("transforms", "GEOM-type here")]
# Columns of the standard-protocol tables (keys of method_auc).
STANDARD_COLUMNS = METHODS + [("oiad_ssim_one_sided", "OIAD ssim one-sided*"),
                              ("oiad_local_one_sided", "OIAD local†"),
                              ("oiad_ssim_relative", "OIAD ssim relative‡"),
                              ("oiad_mse_relative", "OIAD mse relative‡")] + PEERS
TABLE2 = [("mnist", "1"), ("mnist", "7"), ("cifar10", "cat"), ("cifar10", "dog"), ("fashion-mnist", "trouser")]
CLASS_NAMES = {"mnist": [str(i) for i in range(10)],
               "fashion-mnist": ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
                                 "bag", "ankle-boot"],
               "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]}


def one_sided(r, metric="ssim"):
    """AUC of the one-sided mean-SC score of an OIAD metric, or None when it did not run."""
    m = r.get("oiad", {}).get(metric)
    return m.get("auc_one_sided_mean") if m else None


def cell(outdir, data, cls, protocol, preset="default"):
    """A cell's results.json (None when not recorded); cells of a preset other than `default`
    carry its name (bench/reproduce.sh: DATA_CLASS_PROTOCOL_preset-NAME)."""
    suffix = "" if preset == "default" else f"_preset-{preset}"
    path = os.path.join(outdir, f"{data}_{cls}_{protocol}{suffix}", "results.json")
    return with_origin(outdir, path) if os.path.exists(path) else None


def with_origin(outdir, path):
    """A cell's results.json, with "_made" set for a cell recorded before results.json named
    its commit and configuration: the group of OUTDIR/made-before-2026-12-07.json it belongs to
    (by its folder relative to OUTDIR), or {} when none matches."""
    r = load(path)
    if "provenance" not in r:
        rel = os.path.relpath(os.path.dirname(path), outdir)
        r["_made"] = next((g for g in earlier_groups(outdir) if any(fnmatch.fnmatch(rel, c) for c in g["cells"])), {})
    return r


@functools.lru_cache(maxsize=None)
def earlier_groups(outdir):
    """The groups of OUTDIR/made-before-2026-12-07.json (read once per folder), or ()."""
    before = os.path.join(outdir, "made-before-2026-12-07.json")
    return tuple(load(before)["groups"]) if os.path.exists(before) else ()


def gamma(outdir, data, cls, protocol):
    """The Detector-VAE's TC weight of a cell (its experiment.json): recorded since the presets
    set it; every cell run before trained with the paper's 40."""
    path = os.path.join(outdir, f"{data}_{cls}_{protocol}", "experiment.json")
    return load(path).get("gamma", 40.0) if os.path.exists(path) else 40.0


def oiad_setting(outdir, data, cls, protocol, r):
    """The OIAD preset of a cell with its γ, N and number of scored codes (methods/oiad.json)."""
    path = os.path.join(outdir, f"{data}_{cls}_{protocol}", "methods", "oiad.json")
    if not os.path.exists(path):
        return f"{r['preset']}, γ {gamma(outdir, data, cls, protocol):g}"
    d = load(path).get("details", {})
    det = d.get("detector", {})
    return (f"{r['preset']}, γ {gamma(outdir, data, cls, protocol):g} (N = {det.get('morphs', '?')}, "
            f"{len(d.get('codes', []))} codes)")


def seconds(r):
    threads = r.get("machine", {}).get("threads")
    return f"{r['seconds']:.0f}" + (f" ({threads})" if threads else "")


def fmt(x, nd=3):
    return "–" if x is None else f"{x:.{nd}f}"


def preset_text(conf):
    """The OIAD search a cell's configuration names: the preset with its parameters."""
    d = conf.get("detector")
    if not d:
        return None
    text = (f"{d['preset']}: N = {d['morphs']} {d.get('placement', 'random')}, Δr {d['radius_step']:g}, "
            f"duplicate tolerance {d['duplicate_tolerance']:g}, codes {d['code_selection']}"
            + (f" (top {d['top_k']})" if d.get("top_k") else ""))
    lf = conf.get("local_form")
    if lf:
        text += (f"; local score: {lf['smooth']} x {lf['smooth']} smoothing, top {100 * lf['top_fraction']:g}%"
                 + (", codes counted equally" if lf.get("codes_equal") else ""))
    return text


def compact_names(names):
    """Cell names DATA_CLASS_REST (or "DATA CLASS") shortened to "DATA CLASSES REST" per data set and kind."""
    by = {}
    for n in names:
        parts = n.replace(" ", "_").split("_", 2)
        if len(parts) < 2:
            by.setdefault((n, ""), [])
            continue
        by.setdefault((parts[0], parts[2] if len(parts) > 2 else ""), []).append(parts[1])
    out = []
    for (data, rest), classes in by.items():
        out.append(" ".join(x for x in (data, ", ".join(classes), rest.replace("_", " ")) if x))
    return "; ".join(out)


def provenance_rows(cells):
    """cells: [(name, results.json)]. One row per group of cells made with the same configuration
    (less seed and class) by the same commits: the cells, commits, dates, CPU, threads, and the
    OIAD preset's parameters, γ and epochs; cells made before results.json recorded these say so."""
    groups = {}
    for name, r in cells:
        conf = r.get("configuration")
        prov = r.get("provenance")
        if conf is None:
            made = r.get("_made", {})
            conf = {"detector": made.get("detector"), "local_form": made.get("local_form")}
            text = (preset_text(conf) + " (parameters from the source)") if made.get("detector") else \
                made.get("note") or f"`{r.get('preset', '?')}` (parameters not recorded)"
            key = ("before", made.get("source_commit"), text, r.get("gamma", 40.0), r.get("epochs"),
                   r.get("machine", {}).get("threads"), made.get("recorded"))
            groups.setdefault(key, []).append((name, r))
            continue
        key = (prov["commit"], preset_text(conf) or "no OIAD", conf.get("gamma"), conf.get("epochs"), prov["cpu"],
               prov["threads"])
        groups.setdefault(key, []).append((name, r))
    print("| cells | commit | dates (UTC) | CPU, threads | OIAD preset | γ | epochs |")
    print("|---|---|---|---|---|---|---|")
    for key, rs in groups.items():
        names = compact_names([n for n, _ in rs])
        if key[0] == "before":
            commit = f"{key[1]} (the campaign's source; not recorded in the cell)" if key[1] else "not recorded"
            print(f"| {names} | {commit} | {key[6] or '–'} | {key[5] or '?'} threads | {key[2]} | {key[3]:g} | "
                  f"{key[4]} |")
            continue
        dates = sorted(r["provenance"]["date"][:10] for _, r in rs)
        span = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
        print(f"| {names} | {key[0]} | {span} | {key[4]}, {key[5]} | {key[1]} | {key[2]:g} | {key[3]} |")


def standard_table(outdir, data, published):
    """The standard-protocol table of one data set: every cell of OUTDIR run so far, the same-run
    peers beside the published numbers, and the means over the classes run so far; AUCs to 4
    decimals, as MNIST's lie within 0.01 of each other."""
    print(f"### {data}\n")
    head = "| class | " + " | ".join(n for _, n in STANDARD_COLUMNS) + " | Deep SVDD | GEOM | seconds (threads) | OIAD γ |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    done = []
    svdd = published["deep_svdd"].get(data)
    geom = published["geom"].get(data)
    for i in range(10):
        r = cell(outdir, data, str(i), "standard")
        pub = f" | {svdd[i]:.1f}" if svdd else " | –"
        pub += f" | {geom[i]:.1f}" if geom else " | –"
        name = f"{i} {CLASS_NAMES[data][i]}" if data != "mnist" else str(i)
        if r is None:
            print(f"| {name} | " + " | ".join("not run yet" for _ in STANDARD_COLUMNS) + pub +
                  " | | |")
            continue
        cells = [fmt(method_auc(r, k), 4) for k, _ in STANDARD_COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + pub + f" | {seconds(r)} | {gamma(outdir, data, i, 'standard'):g} |")
        done.append((i, r))
    if done:
        # Means over the classes run so far ("–" where a column lacks a class); published
        # means over the same classes.
        def mean(xs):
            return None if not xs or any(x is None for x in xs) else sum(xs) / len(xs)
        cells = [fmt(mean([method_auc(r, k) for _, r in done]), 4) for k, _ in STANDARD_COLUMNS]
        pub = f" | {mean([svdd[i] for i, _ in done]):.1f}" if svdd else " | –"
        pub += f" | {mean([geom[i] for i, _ in done]):.1f}" if geom else " | –"
        print(f"| mean of {len(done)} | " + " | ".join(cells) + pub +
              f" | {sum(r['seconds'] for _, r in done):.0f} in all | |")
    print()


def table2(outdir, preset="default"):
    """`table2 CELLS [PRESET]`: the paper protocol's Table II cells (MNIST 1 and 7, CIFAR-10 cat
    and dog, Fashion-MNIST trouser) of a preset (default: `default`): every method's AUC beside
    the paper's, OIAD's label-free scores, the decisions at α = 0.4 and where each cell was made."""
    head = ("| data | class | " + " | ".join(n for _, n in METHODS) +
            " | OIAD ssim one-sided* | OIAD local† | OIAD mse relative‡ | test images | seconds (threads) |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    gaps, made = [], []
    for data, cls in TABLE2:
        r = cell(outdir, data, cls, "paper", preset)
        if r is None:
            print(f"| {data} | {cls} | " + " | ".join("not run yet" for _ in METHODS) + " | | | | | |")
            continue
        made.append((f"{data} {cls}", r))
        cells = []
        for key, _ in METHODS:
            m = r["methods"].get(key)
            if m is None:
                cells.append("–")
                continue
            paper = m.get("paper_auc")
            cells.append(fmt(m["auc"]) + (f" ({paper:.3f})" if paper is not None else ""))
        extra = [fmt(method_auc(r, k)) for k in ("oiad_ssim_one_sided", "oiad_local_one_sided", "oiad_mse_relative")]
        print(f"| {data} | {cls} | " + " | ".join(cells + extra) + f" | {r['n_test']} | {seconds(r)} |")
        # The paper's column is one number; beside it, each of our metrics' paper-rule AUC.
        for key in ("oiad_mse", "oiad_loss", "oiad_ssim"):
            m = r["methods"].get(key)
            if m is not None and m.get("paper_auc") is not None:
                gaps.append(f"{data} {cls}: OIAD {key[5:]} (the paper's rule) {m['auc']:.3f} against the paper's "
                            f"{m['paper_auc']:.3f} ({m['auc'] - m['paper_auc']:+.3f})")
    if gaps:
        print("\nEach OIAD metric under the paper's rule against the paper's single OIAD column (the paper does not "
              "say which metric it used; no metric is picked here):\n")
        for g in gaps:
            print(f"- {g}")
    if made:
        print("\nOIAD decisions at α = 0.4 under the paper's rule, beside the one-sided rule's AUC:\n")
        print("| data | class | metric | AUC (paper's rule) | one-sided AUC | TP | TN | acc |")
        print("|---|---|---|---|---|---|---|---|")
        for name, r in made:
            for metric, m in r.get("oiad", {}).items():
                a = m["at_alpha"]
                print(f"| {name.split()[0]} | {name.split()[1]} | {metric} | {m['auc']:.3f} | "
                      f"{m['auc_one_sided_mean']:.3f} | {a['tp']:.3f} | {a['tn']:.3f} | {a['acc']:.3f} |")
        print("\nWhere the cells were made:\n")
        provenance_rows(made)


def table2_seeds(outdir):
    """`table2-seeds CELLS`: the seed spread of the Table II cells run with other seeds."""
    seed_spread(outdir)


def auc(pos, neg):
    """Mann-Whitney AUC with ties counting one half: P(a positive scores above a negative)."""
    ranked = sorted([(v, 1) for v in pos] + [(v, 0) for v in neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # average 1-based rank of the tied run
        rank_sum += mid * sum(label for _, label in ranked[i:j])
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


# The DRAEM-type peer (oiad experiment --methods recseg), run on the defects cells.
DEFECT_PEERS = [("recseg", "recseg")]
DEFECT_METHODS = (METHODS + [("oiad_ssim_one_sided", "OIAD ssim one-sided*"), ("oiad_local_one_sided", "OIAD local†"),
                             ("oiad_local_relative", "OIAD local relative‡")] + PEERS + DEFECT_PEERS)
PIXEL_METHODS = [("vae", "VAE"), ("dcae", "DCAE"), ("oiad_local", "OIAD local†"), ("recseg", "recseg")]


def method_auc(r, key):
    """A method's image AUC in a cell; keys ending in _one_sided and _relative are OIAD metrics'
    one-sided and relative scores (None for a cell that ran before the relative rule existed)."""
    if key.endswith("_one_sided"):
        return one_sided(r, key[5:-len("_one_sided")])
    if key.endswith("_relative"):
        return r.get("oiad", {}).get(key[5:-len("_relative")], {}).get("auc_relative")
    return r["methods"].get(key, {}).get("auc")


def families(celldir):
    """Per method key of DEFECT_METHODS, the image AUC of the clean reported test images against
    those of each defect family, from a cell folder's split.json (or reported_test.json) and
    methods/*.json; {} when the folder lacks them. `families CELLDIR` prints it as JSON (what
    bench/reproduce.sh records beside a defects cell, as families.json)."""
    split = None
    for name in ("split.json", "reported_test.json"):
        path = os.path.join(celldir, name)
        if os.path.exists(path):
            split = load(path)
            split = split.get("reported_test", split)
            break
    if split is None:
        return {}
    out = {}
    for key, _ in DEFECT_METHODS:
        sc = scores_in(celldir, key)
        if sc is None or len(sc) != len(split["defect"]):
            continue
        clean = [v for v, d in zip(sc, split["defect"]) if d is None]
        for f in sorted({d for d in split["defect"] if d is not None}):
            hit = [v for v, d in zip(sc, split["defect"]) if d == f]
            out.setdefault(key, {})[f] = auc(hit, clean)
    return out


def scores_in(celldir, key):
    """Per reported test image scores of one method in a cell folder (None when it did not run)."""
    folder = os.path.join(celldir, "methods")
    if key.startswith("oiad_"):
        path = os.path.join(folder, "oiad.json")
        if not os.path.exists(path):
            return None
        one = key.endswith("_one_sided")
        m = load(path).get("details", {}).get("metrics", {}).get(key[5:-len("_one_sided")] if one else key[5:])
        return m.get("scores_one_sided" if one else "scores") if m else None
    path = os.path.join(folder, key + ".json")
    return load(path).get("scores") if os.path.exists(path) else None


def print_families(celldir):
    print(json.dumps(families(celldir), indent=1, sort_keys=True))


def defects_tables(outdir, *datasets):
    """`defects CELLS [DATA...]`: the defects protocol: every method's image AUC, the pixel AUROC
    and AUPRO of the change maps, the mean image AUC per defect family, and where the cells were
    made."""
    cells_run = [r for d in dataset_names(datasets) for i in range(10)
                 for r in [cell(outdir, d, str(i), "defects")] if r is not None]
    # Peer columns only where some cell ran the peer.
    methods = [(k, n) for k, n in DEFECT_METHODS
               if k not in dict(PEERS + DEFECT_PEERS) or any(k in r["methods"] for r in cells_run)]
    pixel = [(k, n) for k, n in PIXEL_METHODS if k != "recseg" or any(k in r["methods"] for r in cells_run)]
    for data in dataset_names(datasets):
        print(f"### {data}, defects\n")
        head = ("| class | " + " | ".join(n for _, n in methods) + " | " +
                " | ".join(f"pixel AUROC {n}" for _, n in pixel) + " | " +
                " | ".join(f"AUPRO {n}" for _, n in pixel) + " | test images | seconds (threads) |")
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        done = []
        for i in range(10):
            r = cell(outdir, data, str(i), "defects")
            name = f"{i} {CLASS_NAMES[data][i]}" if data != "mnist" else str(i)
            if r is None:
                print(f"| {name} | " + " | ".join("not run yet" for _ in range(len(methods) + 2 * len(pixel))) +
                      " | | |")
                continue
            cells = [fmt(method_auc(r, k)) for k, _ in methods]
            cells += [fmt(r["methods"].get(k, {}).get("pixel_auroc")) for k, _ in pixel]
            cells += [fmt(r["methods"].get(k, {}).get("aupro")) for k, _ in pixel]
            print(f"| {name} | " + " | ".join(cells) + f" | {r['n_test']} | {seconds(r)} |")
            done.append((i, r))
        if not done:
            print()
            continue
        def mean(xs):
            xs = [x for x in xs if x is not None]
            return sum(xs) / len(xs) if xs else None
        cells = [fmt(mean([method_auc(r, k) for _, r in done])) for k, _ in methods]
        cells += [fmt(mean([r["methods"].get(k, {}).get("pixel_auroc") for _, r in done])) for k, _ in pixel]
        cells += [fmt(mean([r["methods"].get(k, {}).get("aupro") for _, r in done])) for k, _ in pixel]
        print(f"| mean of {len(done)} | " + " | ".join(cells) + f" | | {sum(r['seconds'] for _, r in done):.0f} in all |")
        # Per family: clean reported images against the reported images of one family.
        fam = {}
        for i, _ in done:
            celldir = os.path.join(outdir, f"{data}_{i}_defects")
            path = os.path.join(celldir, "families.json")
            per = load(path) if os.path.exists(path) else families(celldir)
            for key, by in per.items():
                for f, a in by.items():
                    fam.setdefault((f, key), []).append(a)
        if fam:
            names = sorted({f for f, _ in fam})
            print(f"\nMean image AUC per defect family over the classes above (the OIAD mse, loss and ssim columns: "
                  "the paper's rule):\n")
            head = "| family | " + " | ".join(n for _, n in methods) + " |"
            print(head)
            print("|" + "---|" * (head.count("|") - 1))
            for f in names:
                print(f"| {f} | " + " | ".join(fmt(mean(fam.get((f, k), [])) if fam.get((f, k)) else None)
                                               for k, _ in methods) + " |")
        print("\nWhere the cells were made:\n")
        provenance_rows([(f"{data} {i}", r) for i, r in done])
        print()


def seed_spread(outdir):
    """Table II cells run again with other seeds (bench/reproduce.sh seeds): every method's AUC per seed,
    with the mean and the sample standard deviation over the seeds, seed 0 (the Table II cell) included."""
    runs = {}
    for path in sorted(glob.glob(os.path.join(outdir, "seeds", "*_paper_seed*", "results.json"))):
        r = load(path)
        runs.setdefault((r["dataset"], str(r["normal_class"])), []).append(r)
    if not runs:
        return
    print("\n### Seed spread (paper protocol)\n")
    print("The same cell run with other seeds (`bench/reproduce.sh seeds`): the seed draws the split, the "
          "baselines' holdout, every network's initialisation and OIAD's morph search. Seed 0 is the Table II "
          "cell above. sd: sample standard deviation over the seeds. One-sided: the variant defined below the "
          "standard-protocol tables.\n")
    for (data, cls), rs in runs.items():
        r0 = cell(outdir, data, cls, "paper")
        if r0 is not None:
            rs = [r0] + rs
        rs.sort(key=lambda r: r["seed"])
        frozen = FROZEN.get(data)
        head = ("| seed | " + " | ".join(n for _, n in METHODS) + " | OIAD ssim one-sided* | " +
                (f"OIAD {frozen[1]} | " if frozen else "") + "test images | seconds |")
        paper = rs[0]["methods"].get("oiad_ssim", {}).get("paper_auc")
        print(f"{data} {cls}" + (f" (paper: OIAD {paper:.3f})" if paper is not None else "") + ":\n")
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        cols = [[r["methods"].get(k, {}).get("auc") for r in rs] for k, _ in METHODS] + [[one_sided(r) for r in rs]]
        if frozen:
            cols.append([method_auc(r, frozen[0]) for r in rs])
        for i, r in enumerate(rs):
            print(f"| {r['seed']} | " + " | ".join(fmt(c[i]) for c in cols) + f" | {r['n_test']} | {seconds(r)} |")
        def stats(xs):
            xs = [x for x in xs if x is not None]
            if len(xs) < 2:
                return None, None
            m = sum(xs) / len(xs)
            return m, (sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5
        st = [stats(c) for c in cols]
        print(f"| mean of {len(rs)} | " + " | ".join(fmt(m) for m, _ in st) + " | | |")
        print(f"| sd | " + " | ".join(fmt(sd) for _, sd in st) + " | | |")
        print()


SEED_COLUMNS = STANDARD_COLUMNS[len(METHODS):]


def standard_seeds(outdir, *datasets, level="####"):
    """`standard-seeds OUTDIR [DATA...]`: the ten-class means of OIAD's one-sided scores and of the
    same-run peers for each seed (seed 0: the standard cells; others: bench/reproduce.sh
    standard-seeds), with their mean and sample standard deviation over the seeds whose ten cells
    have all run. A seed with fewer cells shows its mean over them and how many."""
    for data in dataset_names(datasets):
        by_seed = {}
        for i in range(10):
            r = cell(outdir, data, str(i), "standard")
            if r is not None:
                by_seed.setdefault(0, {})[i] = r
            for path in glob.glob(os.path.join(outdir, "seeds", f"{data}_{i}_standard_seed*", "results.json")):
                r = load(path)
                by_seed.setdefault(int(r["seed"]), {})[i] = r
        if not by_seed:
            continue
        print(f"{level} {data}: ten-class means per seed\n")
        head = "| seed | classes run | " + " | ".join(n for _, n in SEED_COLUMNS) + " |"
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        full = []
        for seed in sorted(by_seed):
            cells = by_seed[seed]
            means = []
            for key, _ in SEED_COLUMNS:
                xs = [method_auc(r, key) for r in cells.values()]
                xs = [x for x in xs if x is not None]
                means.append(sum(xs) / len(xs) if len(xs) == len(cells) else None)
            print(f"| {seed} | {len(cells)} | " + " | ".join(fmt(m, 4) for m in means) + " |")
            if len(cells) == 10:
                full.append(means)
        if len(full) >= 2:
            cols = list(zip(*full))
            def stats(xs):
                if any(x is None for x in xs):
                    return None, None
                m = sum(xs) / len(xs)
                return m, (sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5
            st = [stats(c) for c in cols]
            print(f"| mean of {len(full)} seeds | 10 | " + " | ".join(fmt(m, 4) for m, _ in st) + " |")
            print(f"| sd | | " + " | ".join(fmt(sd, 4) for _, sd in st) + " |")
        print()


def standard_seed_section(outdir):
    """The seed spread of the standard protocol's ten-class means, as docs/results.md shows it."""
    print("### Seed spread of the ten-class means (standard protocol)\n")
    print("The standard cells run again with seeds 1 and 2 (`bench/reproduce.sh standard-seeds`; OIAD and the "
          "two same-run peers only, the same binary and settings as seed 0): the seed draws the 10% VAL part, the "
          "holdout (and so which test images are scored), every network's initialisation and mini-batch order, "
          "and OIAD's morph search. Each row is the mean over the classes the seed has run; mean and sd (sample standard "
          "deviation) are over the seeds whose ten cells have all run. Made by `python3 bench/results_table.py "
          "standard-seeds bench/cells`.\n")
    standard_seeds(outdir, level="####")


def preset_seeds(outdir):
    """Settings searched with several seeds (bench/preset_compare.sh SETTING-sS; no suffix is
    seed 0): per model and setting, each AUC of `presets` as min-max over the seeds, and the
    largest range of the eight."""
    names = ["mse", "loss", "ssim", "local"]
    print("| model | setting | seeds | " + " | ".join(names) + " | " + " | ".join(n + " one-sided" for n in names) +
          " | largest range |")
    print("|---|---|---|" + "---|" * (2 * len(names)) + "---|")
    groups = {}  # (model, setting) -> [eval.json]
    for path in sorted(glob.glob(os.path.join(outdir, "*.eval.json"))):
        base = os.path.basename(path)[: -len(".eval.json")]
        model, label = base.split(".", 1) if "." in base else (base, base)
        setting = re.sub(r"-s[0-9]+$", "", label)
        groups.setdefault((model, setting), []).append(load(path))
    for (model, setting), runs in groups.items():
        if len(runs) < 2:
            continue
        cols, widest = [], 0.0
        for rule in ("auc", "auc_one_sided_mean"):
            for n in names:
                v = [r["metrics"][n].get(rule) for r in runs if n in r["metrics"]]
                v = [x for x in v if x is not None]
                if not v:
                    cols.append("-")
                    continue
                widest = max(widest, max(v) - min(v))
                cols.append(f"{min(v):.4f}-{max(v):.4f}")
        r = runs[0]
        print(f"| {r['dataset']} {r['normal_class']} | {setting} (N = {r.get('morphs', '?')}) | {len(runs)} | " +
              " | ".join(cols) + f" | {widest:.4f} |")


def dataset_names(datasets):
    """The data sets named on the command line (all three when none), each checked."""
    for data in datasets:
        if data not in CLASS_NAMES:
            sys.exit(f"results_table.py: unknown data set '{data}' ({', '.join(CLASS_NAMES)})")
    return datasets or tuple(CLASS_NAMES)


def standard(outdir, *datasets):
    """`standard OUTDIR [DATA...]`: the standard-protocol tables alone, for a machine that holds only
    some of the cells (bench/reproduce.sh with REPORT=0)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    published = load(os.path.join(root, "bench", "published.json"))
    for data in dataset_names(datasets):
        standard_table(outdir, data, published)


def relative_dev(*paths):
    """`relative-dev FILE...`: outputs of bench/relative_sc_dev.cpp (one model each) as one table:
    per metric the one-sided AUC, the AUC less the complexity line at the σ chosen by the
    largest calibration R² (that σ), and the AUC of complexity alone at that σ; then the mean
    of each column per data set (the model's name up to its first underscore)."""
    metrics = ("ssim", "mse", "local")
    head = "| model | " + " | ".join(f"{m} one-sided | {m} relative (σ) | {m}: complexity alone" for m in metrics) + " |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    by_data = {}
    for path in paths:
        lines = open(path).read().splitlines()
        def auc(prefix):
            hit = [l for l in lines if l.startswith(prefix)]
            if len(hit) != 1:
                sys.exit(f"{path}: {len(hit)} lines start with '{prefix}'")
            return hit[0], float(hit[0].rsplit("AUC", 1)[1])
        row, cells = [], []
        for m in metrics:
            one = auc(f"{m}: one-sided (the library)")[1]
            line, rel = auc(f"{m}: one-sided less regression, σ chosen by largest cal R²")
            sigma = line.split("(σ ")[1].split(")")[0]
            alone = auc(f"{m}: complexity alone, σ {sigma}")[1]
            row += [one, rel, alone]
            cells += [f"{one:.4f}", f"{rel:.4f} ({float(sigma):g})", f"{alone:.4f}"]
        name = os.path.basename(path)[len("relative_sc_"):-len(".txt")]
        by_data.setdefault(name.split("_")[0], []).append(row)
        print(f"| {name} | " + " | ".join(cells) + " |")
    for data, rows in by_data.items():
        means = [sum(c) / len(c) for c in zip(*rows)]
        cells = [f"{x:.4f}" for x in means]
        print(f"| mean, {data} ({len(rows)}) | " + " | ".join(cells) + " |")


def peer_reductions(outdir):
    """`peer-reductions OUTDIR`: each peer-reduction cell of bench/reproduce.sh peer-reductions (a
    peer alone, standard protocol, seed 0, with one of its reductions undone) beside the same peer
    as the standard cells ran it, reduced, with seeds 0, 1 and 2 (their range is the seed noise the
    difference is to be read against)."""
    head = ("| class | peer: reduction undone | AUC, undone (seed 0) | AUC, reduced: seeds 0 / 1 / 2 | "
            "undone − reduced seed 0 | fit s, undone / reduced seed 0 | final training loss, undone / reduced |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    variants = {"deepsvdd-350-150": ("deepsvdd", "Deep SVDD: 350 + 150 epochs (reduced: 30 + 50)", "svdd_final_loss"),
                "transforms-wrn-10-2": ("transforms", "GEOM-type: WRN-10-2 (reduced: WRN-10-1)", "final_loss")}
    for path in sorted(glob.glob(os.path.join(outdir, "peers", "*", "results.json"))):
        name = os.path.basename(os.path.dirname(path))
        data, cls, variant = name.split("_", 2)
        if variant not in variants:
            continue
        key, label, loss = variants[variant]
        m = load(path)["methods"].get(key)
        if m is None:
            continue
        reduced = []
        for seed in (0, 1, 2):
            p = (os.path.join(outdir, f"{data}_{cls}_standard", "results.json") if seed == 0 else
                 os.path.join(outdir, "seeds", f"{data}_{cls}_standard_seed{seed}", "results.json"))
            reduced.append(load(p)["methods"].get(key) if os.path.exists(p) else None)
        r0 = reduced[0]
        cls_name = CLASS_NAMES.get(data, [])[int(cls)] if cls.isdigit() else cls
        print(f"| {data} {cls_name} | {label} | {m['auc']:.4f} | " +
              " / ".join(fmt(r and r["auc"], 4) for r in reduced) + " | " +
              (f"{m['auc'] - r0['auc']:+.4f}" if r0 else "–") + f" | {m['fit_seconds']:.0f} / " +
              (f"{r0['fit_seconds']:.0f}" if r0 else "–") + f" | {fmt(m.get(loss), 3)} / " +
              (fmt(r0.get(loss), 3) if r0 else "–") + " |")
    print()


# OIAD's label-free score per data set, fixed on development splits of training images before the
# γ = 5 standard cells ran (docs/results.md, "Structure consistency relative to the image's
# complexity" says what had been read then).
FROZEN = {"mnist": ("oiad_ssim_relative", "ssim relative‡"), "fashion-mnist": ("oiad_mse_relative", "mse relative‡"),
          "cifar10": ("oiad_mse_relative", "mse relative‡")}
OTHERS = {"standard": [("kde", "KDE"), ("ocsvm", "OC-SVM"), ("gmm", "GMM"), ("vae", "VAE"), ("dcae", "DCAE"),
                       ("deepsvdd", "Deep SVDD here"), ("transforms", "GEOM-type here")],
          "defects": [("kde", "KDE"), ("ocsvm", "OC-SVM"), ("gmm", "GMM"), ("vae", "VAE"), ("dcae", "DCAE"),
                      ("recseg", "recseg")],
          "paper": [("kde", "KDE"), ("ocsvm", "OC-SVM"), ("gmm", "GMM"), ("vae", "VAE"), ("dcae", "DCAE")]}


def summary(outdir):
    """`summary CELLS`: per protocol (paper: the Table II cells) and data set, the mean over the recorded classes (seed 0) of
    OIAD's label-free scores and of every other same-run method, the best of those others picked
    by that same test mean (so the gap is the margin to the strongest method on these cells, not
    a choice made for OIAD), and the commits the cells were made with."""
    print("| protocol | data | classes | OIAD label-free score | its mean | strongest other same-run method "
          "(by this mean) | its mean | OIAD − strongest | cells made at |")
    print("|---|---|---|---|---|---|---|---|---|")
    for protocol in ("paper", "standard", "defects"):
        for data in CLASS_NAMES:
            classes = [c for d, c in TABLE2 if d == data] if protocol == "paper" else [str(i) for i in range(10)]
            rs = [r for c in classes for r in [cell(outdir, data, c, protocol)] if r is not None]
            if not rs:
                continue
            def mean(key):
                xs = [method_auc(r, key) for r in rs]
                return None if any(x is None for x in xs) else sum(xs) / len(xs)
            scores = [FROZEN[data]] if protocol in ("standard", "paper") else [
                ("oiad_local_one_sided", "local one-sided†"), ("oiad_local_relative", "local relative‡")]
            others = [(mean(k), n) for k, n in OTHERS[protocol]]
            others = [(m, n) for m, n in others if m is not None]
            best = max(others) if others else (None, "–")
            commits = sorted({r["provenance"]["commit"] if "provenance" in r else
                              r.get("_made", {}).get("source_commit", "not recorded") + " (source)" for r in rs})
            for key, name in scores:
                m = mean(key)
                gap = f"{m - best[0]:+.4f}" if m is not None and best[0] is not None else "–"
                print(f"| {protocol} | {data} | {len(rs)} | {name} | {fmt(m, 4)} | {best[1]} | {fmt(best[0], 4)} | "
                      f"{gap} | {', '.join(commits)} |")


def cells_inventory(outdir):
    """`cells CELLS`: every recorded cell grouped by how it was made (commit, CPU and threads,
    OIAD preset with its parameters, γ, epochs), per protocol."""
    groups = {}
    for path in sorted(glob.glob(os.path.join(outdir, "**", "results.json"), recursive=True)):
        rel = os.path.relpath(os.path.dirname(path), outdir)
        r = with_origin(outdir, path)
        kind = rel.split(os.sep)[0] if os.sep in rel else r["protocol"]
        groups.setdefault(kind, []).append((rel.split(os.sep)[-1], r))
    for kind in sorted(groups):
        print(f"**{kind}** ({len(groups[kind])} cells):\n")
        provenance_rows(groups[kind])
        print()


def expect(outdir):
    """`expect CELLS`: README's table: per data set, the ten-class means (seed 0, standard
    protocol) of OIAD's SSIM score under the paper's rule and the one-sided rule, its frozen
    relative-rule score, the strongest baseline and the same-run peers, beside the published
    means; then the decisions of the frozen score's rule and of the paper's rule at α = 0.4 on
    normal and anomalous test images."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    published = load(os.path.join(root, "bench", "published.json"))
    baselines = [("kde", "KDE"), ("ocsvm", "OC-SVM"), ("gmm", "GMM"), ("vae", "VAE"), ("dcae", "DCAE")]
    names = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10 (JPEG q75 copy)"}
    print("| data | OIAD ssim, paper's rule | OIAD ssim, one-sided | OIAD relative‡ (metric fixed on training images) | "
          "strongest baseline here (by this mean) | Deep SVDD / GEOM-type here | published (other runs, %) |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for data in CLASS_NAMES:
        rs = [r for i in range(10) for r in [cell(outdir, data, str(i), "standard")] if r is not None]
        if len(rs) < 10:
            print(f"| {names[data]} | {len(rs)} of 10 classes recorded | | | | | |")
            continue
        mean = lambda key: sum(method_auc(r, key) for r in rs) / len(rs)
        best = max((mean(k), n) for k, n in baselines)
        key, label = FROZEN[data]
        pub = [f"{'Deep SVDD' if k == 'deep_svdd' else 'GEOM'} {sum(published[k][data]) / 10:.1f}"
               for k in ("deep_svdd", "geom") if published[k].get(data)]
        print(f"| {names[data]} | {mean('oiad_ssim'):.3f} | {mean('oiad_ssim_one_sided'):.3f} | "
              f"{label.split()[0]} {mean(key):.3f} | {best[1]} {best[0]:.3f} | {mean('deepsvdd'):.3f} / "
              f"{mean('transforms'):.3f} | {', '.join(pub)} |")
        rows.append((data, rs, key))
    if rows:
        print("\nDecisions on the same test images (ten-class means): the frozen relative score's rule at a VAL "
              "false-positive rate of 0.05, and the paper's two-sided rule at α = 0.4 (SSIM):\n")
        print("| data | relative rule: normal flagged | anomalous flagged | paper's rule: normal passed | "
              "anomalous flagged |")
        print("|---|---|---|---|---|")
        for data, rs, key in rows:
            metric = key[5:-len("_relative")]
            rel = [r["oiad"][metric]["relative"] for r in rs]
            pap = [r["oiad"]["ssim"]["at_alpha"] for r in rs]
            m = lambda xs: 100 * sum(xs) / len(xs)
            print(f"| {names[data]} | {m([1 - x['tn'] for x in rel]):.1f}% | {m([x['tp'] for x in rel]):.1f}% | "
                  f"{m([x['tn'] for x in pap]):.1f}% | {m([x['tp'] for x in pap]):.1f}% |")


def expect_table2(outdir):
    """`expect-table2 CELLS`: README's Table II lines: per recorded cell (default preset), OIAD
    ssim under the paper's rule beside the paper's OIAD, its one-sided score, and the strongest
    baseline of the cell (picked by its AUC on these test images)."""
    baselines = [("kde", "KDE"), ("ocsvm", "OC-SVM"), ("gmm", "GMM"), ("vae", "VAE"), ("dcae", "DCAE")]
    rows = [(d, c, r) for d, c in TABLE2 for r in [cell(outdir, d, c, "paper")] if r is not None]
    if not rows:
        print("No Table II cell has been recorded with the current code yet.")
        return
    print("| cell | OIAD ssim, paper's rule (paper) | OIAD ssim, one-sided | strongest baseline (by this AUC) | commit |")
    print("|---|---|---|---|---|")
    for d, c, r in rows:
        m = r["methods"]["oiad_ssim"]
        paper = f" ({m['paper_auc']:.3f})" if m.get("paper_auc") is not None else ""
        best = max((r["methods"][k]["auc"], n) for k, n in baselines if k in r["methods"])
        commit = r.get("provenance", {}).get("commit", "not recorded")
        print(f"| {d} {c} | {m['auc']:.3f}{paper} | {method_auc(r, 'oiad_ssim_one_sided'):.3f} | {best[1]} {best[0]:.3f} | "
              f"{commit} |")
    missing = len(TABLE2) - len(rows)
    if missing:
        print(f"\n{missing} of the {len(TABLE2)} cells not recorded yet.")


def expect_defects(outdir):
    """`expect-defects CELLS`: README's defects lines: per data set, the mean over the recorded
    classes (seed 0) of OIAD local (one-sided and relative), the DCAE, recseg and the strongest
    baseline (by this mean), and the pixel AUROC and AUPRO of the maps."""
    names = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
    baselines = [("kde", "KDE"), ("ocsvm", "OC-SVM"), ("gmm", "GMM"), ("vae", "VAE"), ("dcae", "DCAE")]
    found = False
    for data in CLASS_NAMES:
        rs = [r for i in range(10) for r in [cell(outdir, data, str(i), "defects")] if r is not None]
        if not rs:
            continue
        if not found:
            print("| data | classes | OIAD local, one-sided / relative | DCAE | recseg | strongest baseline (by this mean) | "
                  "pixel AUROC OIAD / DCAE / recseg | AUPRO OIAD / recseg |")
            print("|---|---|---|---|---|---|---|---|")
            found = True
        def mean(f):
            xs = [f(r) for r in rs]
            return None if any(x is None for x in xs) else sum(xs) / len(xs)
        auc = lambda k: mean(lambda r: method_auc(r, k))
        pix = lambda k, what: mean(lambda r: r["methods"].get(k, {}).get(what))
        best = max(((auc(k), n) for k, n in baselines if auc(k) is not None), default=(None, "–"))
        print(f"| {names[data]} | {len(rs)} | {fmt(auc('oiad_local_one_sided'))} / {fmt(auc('oiad_local_relative'))} | "
              f"{fmt(auc('dcae'))} | {fmt(auc('recseg'))} | {best[1]} {fmt(best[0])} | "
              f"{fmt(pix('oiad_local', 'pixel_auroc'))} / {fmt(pix('dcae', 'pixel_auroc'))} / "
              f"{fmt(pix('recseg', 'pixel_auroc'))} | {fmt(pix('oiad_local', 'aupro'))} / {fmt(pix('recseg', 'aupro'))} |")
    if not found:
        print("No defects cell has been recorded with the current code yet.")


if __name__ == "__main__":
    MODES = {"detector": detector, "presets": presets, "variants": variants, "training": training, "table2": table2,
     "table2-seeds": table2_seeds, "defects": defects_tables, "families": print_families, "summary": summary,
     "cells": cells_inventory, "expect": expect, "expect-table2": expect_table2,
     "expect-defects": expect_defects, "preset-seeds": preset_seeds, "standard": standard,
     "standard-seeds": standard_seeds, "relative-dev": relative_dev,
     "peer-reductions": peer_reductions}
    if len(sys.argv) < 2 or sys.argv[1] not in MODES:
        sys.exit(f"results_table.py: unknown mode '{sys.argv[1] if len(sys.argv) > 1 else ''}' "
                 f"({', '.join(MODES)})")
    MODES[sys.argv[1]](*sys.argv[2:])

"""The tables docs/results.md and README.md are made of (bench/results_table.py), against
independent computations: per-family image AUCs of a defects cell against scikit-learn's
roc_auc_score, ten-class means and the strongest-method pick of the summary against numpy, the
provenance rows against the cells' own fields, and the configuration check of
bench/reproduce.sh (a cell without the whole configuration is never done). ctest
Bench.ResultsTables."""
import contextlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "bench"))
import results_table  # noqa: E402


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f)


def printed(fn, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fn(*args)
    return out.getvalue()


def test_families_are_clean_against_each_family(tmp_path):
    rng = np.random.default_rng(0)
    n = 80
    defect = [None] * 40 + [["scratch", "erase", "stain", "paste"][i % 4] for i in range(40)]
    scores = {m: rng.normal(size=n) + np.array([0 if d is None else 0.5 + 0.3 * j for d in defect])
              for j, m in enumerate(["dcae", "kde"])}
    # ties on purpose: roc_auc_score counts them one half, as the table's Mann-Whitney does
    scores["kde"] = np.round(scores["kde"], 1)
    cell = tmp_path / "cell"
    write(str(cell / "reported_test.json"), {"defect": defect})
    for m, s in scores.items():
        write(str(cell / "methods" / f"{m}.json"), {"scores": s.tolist()})
    got = results_table.families(str(cell))
    assert set(got) == {"dcae", "kde"}
    for m, s in scores.items():
        clean = [i for i, d in enumerate(defect) if d is None]
        for fam in ("scratch", "erase", "stain", "paste"):
            hit = [i for i, d in enumerate(defect) if d == fam]
            idx = clean + hit
            want = roc_auc_score([0] * len(clean) + [1] * len(hit), s[idx])
            assert got[m][fam] == pytest.approx(want, abs=1e-12), (m, fam)


def standard_cell(rng, data, cls, commit=None):
    methods = {k: {"auc": float(rng.uniform(0.5, 1))} for k in ("kde", "ocsvm", "gmm", "vae", "dcae", "deepsvdd",
                                                                   "transforms", "oiad_ssim", "oiad_mse")}
    oiad = {m: {"auc": methods["oiad_" + m]["auc"], "auc_one_sided_mean": float(rng.uniform(0.5, 1)),
                "auc_relative": float(rng.uniform(0.5, 1)),
                "at_alpha": {"tp": 1.0, "tn": float(rng.uniform(0, 0.05)), "acc": 0.5},
                "relative": {"tp": float(rng.uniform(0.5, 1)), "tn": float(rng.uniform(0.9, 1))}}
            for m in ("ssim", "mse")}
    r = {"dataset": data, "normal_class": str(cls), "protocol": "standard", "seed": 0, "preset": "default",
         "gamma": 5.0, "epochs": 30, "methods": methods, "oiad": oiad, "seconds": 100.0, "n_test": 9000,
         "machine": {"threads": 2}}
    if commit:
        r["configuration"] = {"detector": {"preset": "default", "morphs": 5, "placement": "quasi", "radius_step": 0.2,
                                           "duplicate_tolerance": 0.05, "code_selection": "all", "top_k": 0},
                              "gamma": 5.0, "epochs": 30}
        r["provenance"] = {"commit": commit, "date": "2026-12-07T10:00:00Z", "cpu": "Test CPU", "threads": 2}
    return r


def test_summary_means_and_the_strongest_pick(tmp_path):
    rng = np.random.default_rng(1)
    cells = {}
    for cls in range(10):
        r = standard_cell(rng, "mnist", cls, commit="abcdef123456")
        cells[cls] = r
        write(str(tmp_path / f"mnist_{cls}_standard" / "results.json"), r)
    text = printed(results_table.summary, str(tmp_path))
    row = [line for line in text.splitlines() if line.startswith("| standard | mnist |")]
    assert len(row) == 1
    cols = [c.strip() for c in row[0].strip("|").split("|")]
    frozen = np.mean([cells[c]["oiad"]["ssim"]["auc_relative"] for c in range(10)])
    others = {name: np.mean([cells[c]["methods"][key]["auc"] for c in range(10)])
              for key, name in results_table.OTHERS["standard"]}
    best = max(others, key=others.get)
    assert cols[2] == "10"
    assert float(cols[4]) == pytest.approx(frozen, abs=5e-5)
    assert cols[5] == best
    assert float(cols[6]) == pytest.approx(others[best], abs=5e-5)
    assert float(cols[7]) == pytest.approx(frozen - others[best], abs=1e-4)
    assert cols[8] == "abcdef123456"
    # README's decisions: the relative rule's normal images flagged = 1 - tn, in percent
    expect = printed(results_table.expect, str(tmp_path))
    dec = [line for line in expect.splitlines() if line.startswith("| MNIST |")][-1]
    flagged = float(dec.split("|")[2].strip().rstrip("%"))
    assert flagged == pytest.approx(100 * np.mean([1 - cells[c]["oiad"]["ssim"]["relative"]["tn"] for c in range(10)]),
                                    abs=0.05)


def test_provenance_rows_name_commit_cpu_and_preset(tmp_path):
    rng = np.random.default_rng(2)
    write(str(tmp_path / "mnist_1_paper" / "results.json"), standard_cell(rng, "mnist", 1, commit="0123456789ab"))
    text = printed(results_table.cells_inventory, str(tmp_path))
    assert "0123456789ab" in text and "Test CPU, 2" in text and "N = 5 quasi, Δr 0.2" in text
    # a cell without provenance is named as such, not given today's parameters
    write(str(tmp_path / "mnist_2_paper" / "results.json"), standard_cell(rng, "mnist", 2))
    text = printed(results_table.cells_inventory, str(tmp_path))
    assert "parameters not recorded" in text


def test_reproduce_counts_a_cell_done_only_with_the_whole_configuration(tmp_path):
    """The complete() check of bench/reproduce.sh, run from the script's own text."""
    script = open(os.path.join(ROOT, "bench", "reproduce.sh")).read()
    start = script.index("complete() {")
    body = script[start:script.index("\n}\n", start) + 3]
    want = {"seed": 0, "detector": {"morphs": 5}, "local_form": {"smooth": 3}}
    write(str(tmp_path / "want.json"), want)

    def done(results, methods="oiad,gmm"):
        write(str(tmp_path / "r.json"), results)
        return subprocess.run(["bash", "-c", body + f'\ncomplete "{tmp_path}/r.json" "{tmp_path}/want.json" {methods}'],
                              capture_output=True).returncode == 0

    ok = {"configuration": dict(want, extra=1), "methods": {"oiad_mse": {}, "oiad_ssim": {}, "gmm": {}}}
    assert done(ok)
    assert not done(dict(ok, configuration=dict(want, detector={"morphs": 10})))
    assert not done({k: v for k, v in ok.items() if k != "configuration"})
    assert not done(ok, "oiad,gmm,recseg")

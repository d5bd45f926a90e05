#!/usr/bin/env python3
"""The current figures at the top of docs/performance.md, read from the records in
bench/records (each row names its record and the commit it measured; the sections below the
summary hold the commands). Usage: bench/performance_summary.py [RECORDS] (bench/records).

For each kind of figure the newest record is shown (records are folders named by date)."""
import fnmatch
import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def newest(records, pattern):
    paths = sorted(glob.glob(os.path.join(records, pattern)))
    return paths[-1] if paths else None


def rel(path):
    return os.path.relpath(path, ROOT)


def record_commit(path):
    """The commit a record's README names for this file: the first commit-like word (7+ hex
    digits with a digit) of the paragraph that names the file (or a backticked pattern matching
    it), else of the README's heading; "–" when none."""
    readme = os.path.join(os.path.dirname(path), "README.md")
    if not os.path.exists(readme):
        return "–"
    text = open(readme, encoding="utf-8").read()
    base = os.path.basename(path)
    hexword = re.compile(r"\b(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b")
    for para in re.split(r"\n\s*\n|\n(?=- )", text):
        names = re.findall(r"`([^`]+)`", para) + re.findall(r"^#+ ([^\s:]+)", para, re.M)
        if any(fnmatch.fnmatch(base, n) for n in names):
            m = hexword.search(para)
            if m:
                return m.group(0)[:7]
    m = hexword.search(text.splitlines()[0]) if text else None
    return m.group(0)[:7] if m else "–"


def clock(text):
    h, m, s = (int(x) for x in text.split(":"))
    return 3600 * h + 60 * m + s


def minutes(seconds):
    return f"{int(seconds // 60)} min {int(round(seconds % 60))} s"


def ci_rows(records):
    """Each CI run of a clean clone (ci_run_COMMIT.txt): the test command, its ctest, the whole run."""
    rows = []
    for path in sorted(glob.glob(os.path.join(records, "*", "ci_run_*.txt"))):
        text = open(path, encoding="utf-8").read()
        stages = dict((name, clock(t)) for name, t in re.findall(r"^ci: ([a-z ]+?)(?::.*?)? \((\d\d:\d\d:\d\d)\)$",
                                                                     text, re.M))
        commit = re.search(r"ci_run_([0-9a-f]+)\.txt$", path).group(1)
        tests = re.search(r"tests passed, \d+ tests failed out of (\d+)", text)
        ctest = re.search(r"Total Test time \(real\) = +([\d.]+) sec", text)
        span = lambda a, b: (stages[b] - stages[a]) % 86400 if a in stages and b in stages else None
        test_cmd, total = span("test command", "bench programs"), span("test command", "done")
        if test_cmd is None:
            continue
        rows.append((f"`scripts/test.sh`, clean clone, packages present ({tests.group(1) if tests else '?'} tests)",
                     f"{minutes(test_cmd)} (ctest {minutes(float(ctest.group(1)))})" if ctest else minutes(test_cmd),
                     commit, rel(path)))
        if total is not None:
            rows.append(("`.ci/run` (test command, bench programs, sanitizers, fuzzing)", minutes(total), commit,
                         rel(path)))
    return rows


def main(records):
    rows = ci_rows(records)
    setup = newest(records, "*/setup_fresh.txt")
    if setup:
        s = re.search(r"seconds (\d+)", open(setup).read())
        rows.append(("`scripts/setup.sh`, Debian packages absent", f"{s.group(1)} s", "–", rel(setup)))
    for path in sorted(glob.glob(os.path.join(records, "*", "demo_*.txt"))):
        s = re.search(r"demo exit 0 seconds (\d+)", open(path).read())
        if s:
            commit = re.search(r"demo_([0-9a-f]+)\.txt$", path).group(1)
            rows.append(("`scripts/demo.sh`, clean clone, packages present", minutes(int(s.group(1))), commit,
                         rel(path)))
    for path in sorted(glob.glob(os.path.join(records, "*pip-install*", "result.json"))):
        r = json.load(open(path))
        rows.append(("`pip install .` from an empty build directory / again", f"{r['first_install_seconds']:.0f} s / "
                     f"{r['second_install_seconds']:.1f} s", r["commit"][:7], rel(path)))
    det = newest(records, "*/bench_as_detector.json")
    if det:
        t = json.load(open(det))["trained_model"]
        rows.append(("scoring, MNIST-size detector, `default` preset (N = 5, "
                     f"{t['stored_calibration']['codes_scored']} codes) / `paper` preset, images/s",
                     f"{t['stored_calibration']['score_images_per_s']:.0f} / {t['paper']['score_images_per_s']:.1f} "
                     f"({t['stored_over_paper']:.0f}x)", record_commit(det), rel(det)))
    rec = newest(records, "*/bench_reconstruction.json")
    if rec:
        t = json.load(open(rec))["trained_model"]
        rows.append(("scoring, MNIST-size DCAE by its reconstruction error, images/s",
                     f"{t['score_images_per_s']:.0f}", record_commit(rec), rel(rec)))
    for name, label in (("resized_photograph_oiad.jsonl", "resized to 128"),
                        ("tiled_photograph_oiad.jsonl", "by tiles of 64, stride 32")):
        path = newest(records, "*/" + name)
        if not path:
            continue
        for line in open(path):
            r = json.loads(line)
            if r.get("images_per_s"):
                rows.append((f"scoring 256 x 256 photographs {label} (`oiad score`, process start included), "
                             "images/s", f"{r['images_per_s']:.1f}", record_commit(path), rel(path)))
            elif r["command"] == "score" and r["side"] == 4096:
                rows.append((f"one 4,096 x 4,096 photograph {label}: seconds, peak memory",
                             f"{r['seconds']:.1f} s, {r['max_rss_mib']} MiB", record_commit(path), rel(path)))
    steps = newest(records, "*/steps.jsonl")
    if steps:
        for line in open(steps):
            r = json.loads(line)
            if r["side"] == 128:
                rows.append((f"recseg training step, 8 images of 128 x 128, widths {r['widths']}",
                             f"{r['seconds_per_step']:.2f} s", record_commit(steps), rel(steps)))
    print("| figure | value | commit | record |")
    print("|---|---|---|---|")
    for figure, value, commit, where in rows:
        print(f"| {figure} | {value} | {commit} | {where} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench", "records"))

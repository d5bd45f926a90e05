"""The Python module against the CLI and the library: the same model scores the same images
alike through oiad.Model and `oiad score`; models travel both ways; bad input raises the
documented exceptions. Run by ctest (Python.pytest) with PYTHONPATH=build/python, OIAD_CLI (the
built CLI) and OIAD_TEST_FIXTURES (the model DetectCliFixture.TrainModel leaves there: 2 epochs
on 60 discs of 28x28, class a of the folder set/)."""
import json
import os
import subprocess
import sys

# oiad before numpy: OpenBLAS then loads with the kernels the CLI uses (oiad sets
# OPENBLAS_CORETYPE first; numpy loaded first leaves the generic kernels, whose float rounding
# differs from the CLI's by about 1e-7, more than the 1e-9 these comparisons allow).
import oiad

import numpy as np
import pytest

FIXTURE = os.path.join(os.environ.get("OIAD_TEST_FIXTURES", "."), "detect_cli")
MODEL = os.path.join(FIXTURE, "m.oiad")
FOLDER = os.path.join(FIXTURE, "set")
CLI = os.environ.get("OIAD_CLI", "oiad")
FILES = [os.path.join(FOLDER, "a", "1.png"), os.path.join(FOLDER, "b", "2.png"), os.path.join(FOLDER, "a", "7.png")]


@pytest.fixture(scope="module")
def model():
    assert os.path.exists(MODEL), MODEL + " missing: ctest runs DetectCliFixture.TrainModel first"
    return oiad.load(MODEL)


@pytest.fixture(scope="module")
def folder():
    return oiad.load_dataset(FOLDER)


def cli(*args):
    r = subprocess.run([CLI, "--threads", "1", *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def discs_and_bars(n, kind, seed):
    """28x28 uint8 images like the fixture's: discs (kind "a") or vertical bars ("b")."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]
    out = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        if kind == "a":
            cx, cy, r = 10 + rng.integers(0, 8), 12 + rng.integers(0, 5), 5 + rng.integers(0, 3)
            out[i][(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = 255
        else:
            x0 = 4 + rng.integers(0, 6)
            out[i, 2:26, x0:x0 + 5] = 200
    return out


def assert_same_as_cli(scores, lines):
    assert len(scores) == len(lines)
    for i, j in enumerate(lines):
        assert scores.score[i] == pytest.approx(j["score"], abs=1e-9)
        assert bool(scores.anomalous[i]) == j["anomalous"]
        assert scores.p_value[i] == pytest.approx(j["p_value"], abs=1e-12)
        assert int(scores.most_extreme_code[i]) == j["most_extreme_code"]
        assert scores.consistency[i] == pytest.approx(j["consistency"], abs=1e-9)
        assert scores.rule == j["rule"]


def test_files_score_as_the_cli(model):
    assert_same_as_cli(model.score(FILES), cli("score", "--model", MODEL, *FILES))
    # Another decision, another metric: still the CLI's.
    assert_same_as_cli(model.score(FILES, metric="mse", alpha=0.3),
                       cli("score", "--model", MODEL, "--metric", "mse", "--alpha", "0.3", *FILES))


def test_arrays_score_as_files(model, folder):
    ids = [os.path.join(FOLDER, i) for i in folder.train_ids]
    pick = [ids.index(f) for f in FILES]
    x = folder.train_images[pick]  # (3, 1, 28, 28) uint8
    by_file = model.score(FILES)
    for layout in (x, x[:, 0], x.transpose(0, 2, 3, 1), x.astype(np.float32) / 255, x.astype(np.float64) / 255):
        s = model.score(layout)
        np.testing.assert_array_equal(s.score, by_file.score)
        np.testing.assert_array_equal(s.consistency, by_file.consistency)


def test_decisions(model, folder):
    x = folder.train_images[:40]
    one = model.score(x, fpr=0.2)
    assert (one.rule, one.fpr) == ("one-sided", 0.2)
    np.testing.assert_array_equal(one.anomalous, one.score > one.threshold)
    paper = model.score(x, alpha=0.3)
    assert paper.rule == "paper" and paper.threshold == pytest.approx(1 - 2 * 0.3)
    np.testing.assert_array_equal(paper.anomalous, paper.score > 1 - 2 * 0.3)
    assert ((0 < paper.p_value) & (paper.p_value <= 1)).all()
    assert model.decision(fpr=0.2)["threshold"] == one.threshold
    rel = model.score(x, rule="relative", fpr=0.2)
    assert (rel.rule, rel.fpr) == ("relative", 0.2)
    np.testing.assert_array_equal(rel.anomalous, rel.score > rel.threshold)
    assert model.decision(rule="relative", fpr=0.2)["threshold"] == rel.threshold
    assert ((0 < rel.p_value) & (rel.p_value <= 1)).all()
    with pytest.raises(ValueError, match="relative rule takes fpr"):
        model.score(x, rule="relative", alpha=0.1)
    with pytest.raises(ValueError, match="fpr belongs to rule one-sided"):
        model.score(x, rule="paper", fpr=0.1)
    with pytest.raises(ValueError, match="alpha"):
        model.score(x, alpha=0.7)


def test_bad_input(model, tmp_path):
    good = np.zeros((2, 28, 28), np.uint8)
    np.testing.assert_array_equal(model.score(good.astype(np.int64)).score, model.score(good).score)
    with pytest.raises(ValueError, match=r"integer values must lie in \[0, 255\] \(found 0 to 256\)"):
        model.score(good.astype(np.int64) + np.arange(2)[:, None, None] * 256)
    with pytest.raises(ValueError, match="dtype <U1"):
        model.score(np.full((2, 28, 28), "a"))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        model.score(good.astype(np.float32) + 1.5)
    with pytest.raises(ValueError, match="NaN"):
        model.score(np.full((2, 28, 28), np.nan, np.float32))
    with pytest.raises(ValueError, match="no axis of 1 or 3 channels"):
        model.score(np.zeros((2, 5, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="no images"):
        model.score(np.zeros((0, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="metric"):
        model.score(good, metric="psnr")
    with pytest.raises(ValueError, match="threads"):
        model.score(good, threads=0)
    with pytest.raises(oiad.Error, match="images"):
        model.score(np.zeros((2, 32, 32), np.uint8), resize=False)
    assert len(model.score(np.zeros((2, 32, 32), np.uint8))) == 2  # resized, as `oiad score --resize`
    with pytest.raises(FileNotFoundError):
        oiad.load(str(tmp_path / "none.oiad"))
    with pytest.raises(FileNotFoundError):
        model.score([str(tmp_path / "none.png")])
    junk = tmp_path / "junk.oiad"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(oiad.Error, match="junk.oiad"):
        oiad.load(str(junk))
    with pytest.raises(FileNotFoundError):
        model.save(str(tmp_path / "no" / "such" / "m.oiad"))


def test_trained_in_python_read_by_the_cli(tmp_path):
    epochs = []
    m = oiad.train(discs_and_bars(80, "a", 0), epochs=2, latent_dim=4, batch_size=16, seed=0, progress=epochs.append)
    assert [e["epoch"] for e in epochs] == [1, 2] and all(e["epochs"] == 2 for e in epochs)
    info = m.info
    assert info["protocol"] == "normal" and info["calibrated"] and info["calibration"]["n_val"] == 8
    path = str(tmp_path / "py.oiad")
    m.save(path)
    cli_info = cli("model", "info", path)[0]
    for key in ("config", "calibration", "epochs", "preprocessing"):
        assert cli_info[key] == info[key], key
    assert_same_as_cli(m.score(FILES), cli("score", "--model", path, *FILES))
    again = oiad.load(path).score(FILES)
    np.testing.assert_array_equal(again.score, m.score(FILES).score)


def test_calibrated_in_python(tmp_path, folder):
    m = oiad.load(MODEL)
    m.calibrate(folder.train_images[:20], fpr=0.1, seed=3)
    cal = m.info["calibration"]
    assert cal["n_val"] == 20 and cal["fpr"] == 0.1 and cal["rule"] == "one-sided"
    path = str(tmp_path / "recal.oiad")
    m.save(path)
    assert_same_as_cli(m.score(FILES), cli("score", "--model", path, *FILES))


def test_recseg_model_scores_as_the_cli(tmp_path):
    """A recseg model file written by `oiad train --kind recseg` scores through oiad.Model as
    through `oiad score` (its segmentation score, decision and p-value), with its maps; training
    one from Python is refused with a ValueError naming the command that does."""
    path = str(tmp_path / "r.oiad")
    r = subprocess.run([CLI, "--threads", "1", "train", "--data", FOLDER, "--normal-class", "a", "--kind", "recseg",
                        "--recseg-steps", "6", "--recseg-widths", "4,4", "--anomaly-source", "procedural",
                        "--recseg-sources", "4", "--out", path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    m = oiad.load(path)
    assert m.info["kind"] == "recseg" and m.info["scorer"] == "segmentation"
    s = m.score(FILES, maps=True)
    lines = cli("score", "--model", path, *FILES)
    assert len(lines) == len(FILES)
    for i, j in enumerate(lines):
        assert j["metric"] == "segmentation"
        assert s.score[i] == pytest.approx(j["score"], abs=1e-9)
        assert bool(s.anomalous[i]) == j["anomalous"]
        assert s.p_value[i] == pytest.approx(j["p_value"], abs=1e-12)
        assert s.maps[i].shape == (28, 28)
        assert 0 <= s.maps[i].min() and s.maps[i].max() <= 1
    with pytest.raises(ValueError, match="oiad train --kind recseg"):
        oiad.train(discs_and_bars(20, "a", 0), kind="recseg")


def test_estimator():
    normal = discs_and_bars(80, "a", 1)
    det = oiad.OIAD(epochs=2, latent_dim=4, batch_size=16, fpr=0.1)
    assert det.fit(normal) is det
    assert det.decision_scores_.shape == (80,) and set(np.unique(det.labels_)) <= {0, 1}
    np.testing.assert_array_equal(det.predict(normal), det.labels_)
    x = np.concatenate([discs_and_bars(20, "a", 2), discs_and_bars(20, "b", 3)])
    d = det.decision_function(x)
    np.testing.assert_array_equal(det.predict(x), (d > det.threshold_).astype(int))
    np.testing.assert_array_equal(det.score_samples(x), -d)
    assert oiad.roc_auc(d, [0] * 20 + [1] * 20) > 0.9  # bars are nothing like discs
    assert oiad.OIAD(**det.get_params()).get_params() == det.get_params()
    assert det.set_params(metric="mse").metric == "mse"
    with pytest.raises(ValueError, match="unknown parameter"):
        det.set_params(nu=0.1)
    with pytest.raises(ValueError, match="fit"):
        oiad.OIAD().predict(x)


def test_roc_auc_against_pair_counting():
    rng = np.random.default_rng(5)
    s = rng.integers(0, 6, 50).astype(float)  # many ties
    y = rng.integers(0, 2, 50)
    pos, neg = s[y == 1], s[y == 0]
    pairs = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    assert oiad.roc_auc(s, y) == pytest.approx(pairs / (len(pos) * len(neg)), abs=1e-12)
    with pytest.raises(ValueError, match="label 2"):
        oiad.roc_auc([0.1, 0.2], [0, 2])


def test_tiled_model_scores_photographs_as_the_cli(tmp_path):
    """A tiled DCAE trained by the CLI on grey textures of mixed sizes: Model.score of image
    files of their own sizes gives `oiad score`'s scores, decisions and p-values, and one
    stitched map per image of that image's size."""
    rng = np.random.default_rng(3)
    root = tmp_path / "set"
    paths = []
    for i in range(24):
        h, w = 40 + int(rng.integers(0, 20)), 44 + int(rng.integers(0, 24))
        img = (90 + 20 * ((np.add.outer(np.arange(h) // 4, np.arange(w) // 4)) % 2)
               + rng.integers(0, 20, (h, w))).astype(np.uint8)
        cls = "good" if i < 20 else "spot"
        if cls == "spot":
            img[10:16, 12:18] = 240
        d = root / cls
        d.mkdir(parents=True, exist_ok=True)
        path = d / ("%02d.png" % i)
        path.write_bytes(_png(img))
        paths.append(str(path))
    model_path = str(tmp_path / "t.oiad")
    r = subprocess.run([CLI, "--threads", "1", "train", "--data", str(root), "--normal-class", "good", "--protocol",
                        "inspection", "--kind", "dcae", "--tile", "32", "--stride", "16", "--tiles", "100",
                        "--epochs", "1", "--out", model_path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    files = paths[18:]
    lines = cli("score", "--model", model_path, *files)
    s = oiad.load(model_path).score(files)
    assert len(s) == len(lines) == len(files)
    for i, j in enumerate(lines):
        assert s.score[i] == pytest.approx(j["score"], abs=1e-9)
        assert bool(s.anomalous[i]) == j["anomalous"]
        assert s.p_value[i] == pytest.approx(j["p_value"], abs=1e-12)
        assert int(s.tiles[i]) == j["tiles"]
        assert [int(v) for v in s.worst_tile[i]] == [j["worst_tile"]["y"], j["worst_tile"]["x"]]
        h, w = oiad_image_shape(files[i])
        assert s.maps[i].shape == (h, w)
    with pytest.raises(ValueError):
        oiad.load(model_path).score(files, alpha=0.1)


def oiad_image_shape(path):
    """(height, width) from a PNG's IHDR chunk."""
    import struct
    with open(path, "rb") as f:
        head = f.read(24)
    w, h = struct.unpack(">II", head[16:24])
    return h, w


def _png(img):
    """A grey PNG of a (H, W) uint8 array, written with zlib (no imaging library needed)."""
    import struct
    import zlib
    h, w = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_maps_as_arrays_and_overlays_as_the_cli(model, folder, tmp_path):
    """score(..., maps=True): one map per image at the image's own size, the same from arrays
    and from files; a photograph of another size gets the map `oiad inspect --map` draws over
    it, to the byte; oiad.overlay leaves pixels with map 0 as they are and saturates at 4."""
    s = model.score(FILES, maps=True)
    assert len(s.maps) == 3 and all(m.shape == (28, 28) and m.dtype == np.float32 for m in s.maps)
    assert model.score(FILES).maps is None
    ids = [os.path.join(FOLDER, i) for i in folder.train_ids]
    x = folder.train_images[[ids.index(f) for f in FILES]]
    from_arrays = model.score(x, maps=True)
    for a, b in zip(from_arrays.maps, s.maps):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(from_arrays.score, s.score)

    # A 56 x 56 photograph (the fixture's image twice as large): scored resized, its map
    # brought back to 56 x 56, drawn as the CLI draws it.
    big = np.repeat(np.repeat(x[1, 0], 2, axis=0), 2, axis=1)
    photo = tmp_path / "big.png"
    photo.write_bytes(_png(big))
    m = model.score([str(photo)], maps=True).maps[0]
    assert m.shape == (56, 56)
    np.testing.assert_array_equal(model.score(big[None], maps=True).maps[0], m)
    mine, cli_map = tmp_path / "mine.png", tmp_path / "cli.png"
    picture = oiad.overlay(str(photo), m, path=str(mine))
    cli("inspect", "--model", MODEL, "--resize", "--map", str(cli_map), str(photo))
    assert mine.read_bytes() == cli_map.read_bytes()
    np.testing.assert_array_equal(oiad.read_image(str(mine)).transpose(1, 2, 0), picture)

    # The blend, derived from its definition: weight 0.7 * clamp(z / 4, 0, 1).
    img = np.full((6, 8), 100, np.uint8)
    z = np.zeros((6, 8), np.float32)
    z[:, 4:6] = 4.0
    z[:, 6:] = 50.0
    z[0, 0] = -3.0
    out = oiad.overlay(img, z)
    assert out.shape == (6, 8, 3) and out.dtype == np.uint8
    assert (out[:, :4] == 100).all()  # z <= 0: the grey image in every channel
    np.testing.assert_array_equal(out[:, 4:6], out[:, 6:])  # saturated at 4
    assert (out[:, 4:6] != 100).any()
    np.testing.assert_array_equal(oiad.overlay(img, z, scale=3), np.repeat(np.repeat(out, 3, axis=0), 3, axis=1))
    with pytest.raises(ValueError, match="change_map: shape"):
        oiad.overlay(img, z[:, :5])
    with pytest.raises(FileNotFoundError):
        oiad.overlay(img, z, path=str(tmp_path / "no" / "o.png"))


INTERRUPTED = r"""
import os, signal, sys, threading, time
import oiad
import numpy as np
rng = np.random.default_rng(0)
x = rng.integers(0, 256, (%(n)d, 28, 28)).astype(np.uint8)
m = oiad.load(%(model)r)
sent = []
def ctrl_c():
    def send():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(1.0, send).start()
try:
    %(call)s
except KeyboardInterrupt:
    print("interrupted %%.3f" %% (time.monotonic() - sent[0]), flush=True)
    sys.exit(3)
print("finished", flush=True)
"""


@pytest.mark.parametrize("call, n", [
    ("ctrl_c(); m.score(x)", 40000),  # about 20 s uninterrupted on one thread
    ("ctrl_c(); m.calibrate(x)", 2000),  # about 40 s
    ("oiad.train(x, epochs=1000, progress=lambda e: e['epoch'] == 1 and ctrl_c())", 400),  # minutes
])
def test_ctrl_c_interrupts_long_calls(call, n):
    """SIGINT (Ctrl-C) one second into a long score, calibration or training raises
    KeyboardInterrupt within 3 seconds of the signal, long before the call would end (a call
    that only noticed the signal at its end would take 15 s or more)."""
    code = INTERRUPTED % {"n": n, "model": MODEL, "call": call}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    words = r.stdout.split()
    assert r.returncode == 3 and words[0] == "interrupted", r.stdout + r.stderr
    assert float(words[1]) < 3.0

"""oiad: image anomaly detection with disentanglement learning (OIAD), from Python.

    import oiad
    model = oiad.train(normal_images)      # (N, H, W), (N, C, H, W) or (N, H, W, C); uint8, or float in [0, 1]
    s = model.score(test_images)           # s.score, s.anomalous, s.p_value, s.consistency, s.most_extreme_code
    model.save("m.oiad")                   # the CLI reads it: oiad score --model m.oiad IMAGE...

The scores are the CLI's and the C++ library's: one scoring path, tested equal. oiad.OIAD is a
scikit-learn / PyOD-style estimator (fit, decision_function, predict). Errors: ValueError for
bad arrays or arguments, OSError for files, oiad.Error for bad models or data, each with the
CLI's one-line message.
"""
import errno
import math
import os
import sys
import tempfile
import warnings


def _preferred_blas_core():
    """The OpenBLAS kernels this CPU should use (as the CLI chooses them): SkylakeX with
    AVX-512, Haswell with AVX2 and FMA, else None."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    if "avx512f" in flags:
                        return "SkylakeX"
                    if "avx2" in flags and "fma" in flags:
                        return "Haswell"
                    return None
    except OSError:
        pass
    return None


# Debian's OpenBLAS does not recognise recent CPUs and falls back to slow generic kernels; it
# reads OPENBLAS_CORETYPE once, when it loads. The CLI re-executes itself with it set; a module
# cannot, so it sets it before numpy or LibTorch load OpenBLAS (a no-op if numpy came first).
if "OPENBLAS_CORETYPE" not in os.environ and not os.environ.get("OIAD_NO_REEXEC"):
    _core = _preferred_blas_core()
    if _core:
        os.environ["OPENBLAS_CORETYPE"] = _core

import numpy as np  # noqa: E402

from . import _oiad  # noqa: E402

Error = _oiad.Error
__version__ = _oiad.__version__
metric_names = _oiad.metric_names
rule_names = _oiad.rule_names
preset_names = _oiad.preset_names

# Defaults come from the library, where they are defined once (the CLI shows the same).
_TRAIN = _oiad.TrainArgs()
_DECISION = _oiad.preset_decision(_TRAIN.preset)


def blas_core():
    """The OpenBLAS kernel family in use ("SkylakeX", "Haswell", "Prescott", ...)."""
    return _oiad.blas_core()


def set_threads(n):
    """Sets the threads LibTorch and OpenBLAS use from now on (n <= 0: every core)."""
    _oiad.set_threads(int(n))


def threads():
    """The threads LibTorch and OpenBLAS use."""
    return _oiad.threads()


if _oiad.blas_core() == "Prescott" and _oiad.preferred_blas_core():
    warnings.warn(
        "oiad: OpenBLAS runs its slow generic kernels (it was loaded before oiad, e.g. by numpy); "
        "start Python with OPENBLAS_CORETYPE=%s for about 3x faster training" % _oiad.preferred_blas_core(),
        RuntimeWarning,
        stacklevel=2,
    )


def _threads_arg(threads):
    if threads is None:
        return 0
    if int(threads) < 1:
        raise ValueError("threads: %r (expected a positive number, or None for the current setting)" % (threads,))
    return int(threads)


def _refuse_sparse(x, what):
    if hasattr(x, "toarray") or type(x).__module__.startswith("scipy.sparse"):
        raise TypeError("%s: a sparse matrix (oiad takes dense arrays of images)" % what)


def _pixels(images, what):
    """images as uint8: integers in [0, 255] as they are, float in [0, 1] rounded as an image
    file would store it."""
    _refuse_sparse(images, what)
    a = np.asarray(images)
    if a.dtype == object:
        try:  # as numbers of the type their values have (integers stay integers)
            a = np.array(a.tolist())
            if a.dtype.kind not in "iuf":
                raise TypeError
        except (TypeError, ValueError):
            raise ValueError("%s: an object array whose values are not all numbers" % what) from None
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind == "f":
        if a.size and not np.all(np.isfinite(a)):
            raise ValueError("%s: NaN or infinite values" % what)
        if a.size and (a.min() < 0 or a.max() > 1):
            raise ValueError("%s: float values must lie in [0, 1] (found %g to %g)" % (what, a.min(), a.max()))
        return np.rint(a * 255.0).astype(np.uint8)
    if a.dtype.kind in "iu":
        if a.size and (a.min() < 0 or a.max() > 255):
            raise ValueError("%s: integer values must lie in [0, 255] (found %d to %d)" % (what, a.min(), a.max()))
        return a.astype(np.uint8)
    if a.dtype.kind == "c":
        raise ValueError("%s: Complex data not supported (dtype %s; expected uint8, or float in [0, 1])" % (what, a.dtype))
    raise ValueError("%s: dtype %s (expected integers in [0, 255], or float in [0, 1])" % (what, a.dtype))


def _as_nchw(images, what):
    """images as a C-contiguous (N, C, H, W) uint8 array. Accepts (N, H, W), (N, C, H, W) and
    (N, H, W, C) with C = 1 or 3 (a 4-D array whose axis 1 is 1 or 3 is read as channels
    first); uint8, or float in [0, 1] (rounded to uint8 as an image file would store it)."""
    a = _pixels(images, what)
    if a.ndim == 3:
        a = a[:, None, :, :]
    elif a.ndim == 4:
        if a.shape[1] in (1, 3):
            pass
        elif a.shape[3] in (1, 3):
            a = a.transpose(0, 3, 1, 2)
        else:
            raise ValueError("%s: shape %s has no axis of 1 or 3 channels (expected (N, C, H, W) or (N, H, W, C))"
                             % (what, a.shape))
    else:
        raise ValueError("%s: shape %s (expected (N, H, W), (N, C, H, W) or (N, H, W, C))" % (what, a.shape))
    if a.shape[0] == 0:
        raise ValueError("%s: no images" % what)
    return np.ascontiguousarray(a)


def _is_path(x):
    return isinstance(x, (str, bytes, os.PathLike))


def _check_file(path):
    path = os.fsdecode(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, "no such file", path)
    if not os.access(path, os.R_OK):
        raise PermissionError(errno.EACCES, "cannot read", path)
    return path


class Scores:
    """What Model.score returns, one entry per image (numpy arrays):
    score (larger = more anomalous), anomalous (bool: the decision), p_value (conformal, against
    the VAL images' scores), most_extreme_code, consistency (n x codes: the structure
    consistency of each scored code, for the metric); and the decision applied: metric, rule,
    alpha, fpr, threshold (anomalous <=> score > threshold), codes (the scored codes).
    maps: with score(..., maps=True), and always for a tiled model, one (H, W) float32 array
    per image at that image's own size: the change map (a detector's local metric, in VAL
    standard deviations; a VAE's or DCAE's per-pixel error), else None. oiad.overlay draws one
    over its image. A tiled model (trained with --tile) scores each image at its own size:
    score is its highest tile score, and `tiles` (tiles per image) and `worst_tile` (n x 2: y,
    x of the tile with the highest score) are set; they are None for other models."""

    def __init__(self, d):
        self.score = d["score"]
        self.anomalous = d["anomalous"]
        self.p_value = d["p_value"]
        self.most_extreme_code = d["most_extreme_code"]
        self.consistency = d["consistency"]
        self.codes = list(d["codes"])
        self.metric = d["metric"]
        self.rule = d["rule"]
        self.alpha = d["alpha"]
        self.fpr = d["fpr"]
        self.threshold = d["threshold"]
        self.tiles = d.get("tiles")
        self.worst_tile = d.get("worst_tile")
        self.maps = d.get("maps")

    def __len__(self):
        return len(self.score)

    def __repr__(self):
        level = "alpha=%g" % self.alpha if self.rule == "paper" else "fpr=%g" % self.fpr
        return "<oiad.Scores: %d images, %d anomalous (metric %s, rule %s, %s)>" % (
            len(self), int(self.anomalous.sum()), self.metric, self.rule, level)


class Model:
    """A trained (and usually calibrated) oiad model: oiad.load(path) or oiad.train(images)."""

    def __init__(self, native):
        self._m = native

    @property
    def info(self):
        """What `oiad model info` prints: kind, config, data set, class, training, calibration."""
        import json
        return json.loads(self._m.info_json())

    @property
    def calibrated(self):
        return self._m.calibrated

    @property
    def codes(self):
        """The latent codes scored (chosen by the calibration)."""
        return list(self._m.codes)

    @property
    def image_shape(self):
        """(channels, height, width) of the images the model was trained on."""
        return tuple(self._m.image_shape)

    def save(self, path):
        """Writes the model file (weights, split, calibration) atomically; the CLI reads it."""
        path = os.fsdecode(path)
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise FileNotFoundError(errno.ENOENT, "no such folder", folder)
        self._m.save(path)

    def score(self, images, metric=None, rule=None, fpr=None, alpha=None, resize=True, threads=None, progress=False,
              maps=False):
        """Scores images: an array ((N, H, W), (N, C, H, W) or (N, H, W, C); uint8, or float in
        [0, 1]) or a list of image file paths (PNG, JPEG, BMP). Images of another size or
        channel count than the model's are resized as `oiad score --resize` does (resize=False
        refuses them). A detector model scores by the structure-consistency `metric` (None:
        oiad.default_metric, "ssim"); a VAE or DCAE model by its reconstruction error, a recseg model by its
        segmentation score (give no metric for these). The decision
        is the model's stored one (`rule`, and its level `fpr` or `alpha`) unless given: fpr
        alone selects the one-sided rule, alpha alone the paper's. maps=True also returns each
        image's change map at its own size (Scores.maps), from the same pass as the scores."""
        args = (metric, rule, alpha, fpr, bool(resize), _threads_arg(threads), bool(progress), bool(maps))
        if isinstance(images, (list, tuple)) and images and all(_is_path(p) for p in images):
            return Scores(self._m.score_files([_check_file(p) for p in images], *args))
        if _is_path(images):
            raise ValueError("images: give a list of file paths, not one path")
        return Scores(self._m.score(_as_nchw(images, "images"), *args))

    def decision(self, metric=None, rule=None, fpr=None, alpha=None):
        """The decision score() applies with these arguments: {metric, rule, alpha, fpr, threshold}."""
        return dict(self._m.decision(metric, rule, alpha, fpr))

    def calibrate(self, val_images, preset=_TRAIN.preset, rule=None, fpr=None, alpha=None, morphs=None, seed=0,
                  resize=True, threads=None):
        """Calibrates on normal images (VAL; none of them used for training), as `oiad calibrate`:
        the preset's detector (N morphs, code selection), its default decision unless rule /
        fpr / alpha are given. Returns the model (calibrated in memory; save() writes it)."""
        self._m.calibrate(_as_nchw(val_images, "val_images"), preset, rule, alpha, fpr, morphs, int(seed), bool(resize),
                          _threads_arg(threads))
        return self

    def __reduce__(self):
        # Pickled as its model file's bytes (what save() writes), so that a fitted estimator
        # goes through joblib and multiprocessing.
        with tempfile.TemporaryDirectory(prefix="oiad-") as tmp:
            path = os.path.join(tmp, "model.oiad")
            self._m.save(path)
            with open(path, "rb") as f:
                return (_model_from_bytes, (f.read(), self._m.name))

    def __repr__(self):
        i = self.info
        return "<oiad.Model %s: %s on %s class %s, %s>" % (
            i.get("model"), i.get("kind"), i.get("dataset"), i.get("normal_class_name"),
            "calibrated" if i.get("calibrated") else "not calibrated")


def _model_from_bytes(data, name):
    with tempfile.TemporaryDirectory(prefix="oiad-") as tmp:
        path = os.path.join(tmp, "model.oiad")
        with open(path, "wb") as f:
            f.write(data)
        return Model(_oiad.Model.load(path, name))


def load(path):
    """Reads a model file written by the CLI, the C++ library or Model.save."""
    path = _check_file(path)
    return Model(_oiad.Model.load(path, path))


def train(images, epochs=_TRAIN.epochs, latent_dim=None, seed=0, val_fraction=_TRAIN.val_fraction,
          preset=_TRAIN.preset, gamma=None, batch_size=_TRAIN.batch_size, lr=None,
          kl_warmup_epochs=_TRAIN.kl_warmup_epochs, input_size=_TRAIN.input_size, rule=None, fpr=None, alpha=None,
          kind=_TRAIN.kind, out=None, threads=None, progress=True, name="arrays"):
    """Trains a Detector-VAE on normal images and calibrates it, as `oiad train` does: a seeded
    `val_fraction` of the images is held out as VAL for the calibration, the rest trains.
    `progress`: True prints the CLI's progress on stderr, False nothing, a callable gets a dict
    per epoch (epoch, epochs, losses, seconds). `out` also writes the model file there (and a
    checkpoint beside it during training). `kind` "vae" or "dcae" trains a baseline instead,
    calibrated to score by its reconstruction error. Returns a Model."""
    a = _oiad.TrainArgs()
    a.epochs = int(epochs)
    a.latent_dim = None if latent_dim is None else int(latent_dim)
    a.seed = int(seed)
    a.val_fraction = float(val_fraction)
    a.preset = preset
    a.gamma = None if gamma is None else float(gamma)
    a.batch_size = int(batch_size)
    a.lr = None if lr is None else float(lr)
    a.kl_warmup_epochs = int(kl_warmup_epochs)
    a.input_size = int(input_size)
    a.rule = rule
    a.fpr = None if fpr is None else float(fpr)
    a.alpha = None if alpha is None else float(alpha)
    a.kind = kind
    a.threads = _threads_arg(threads)
    a.name = name
    callback = progress if callable(progress) else None
    a.verbose = bool(progress) and callback is None
    x = _as_nchw(images, "images")
    if out is not None:
        out = os.fsdecode(out)
        folder = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(folder):
            raise FileNotFoundError(errno.ENOENT, "no such folder", folder)
        a.out = out
        return Model(_oiad.train(x, a, callback))
    with tempfile.TemporaryDirectory(prefix="oiad-") as tmp:
        a.out = os.path.join(tmp, "model.oiad")
        a.model_name = "(trained in Python, not saved)"
        return Model(_oiad.train(x, a, callback))


class Dataset:
    """A data set as numpy arrays: train_images / test_images (N, C, H, W) uint8, train_labels /
    test_labels (N,) int32 class indices into class_names; train_ids / test_ids: each image's
    file (image folders; empty for IDX and CIFAR-10 files)."""

    def __init__(self, d):
        self.name = d["name"]
        self.source = d["source"]
        self.class_names = list(d["class_names"])
        self.train_images = d["train_images"]
        self.train_labels = d["train_labels"]
        self.test_images = d["test_images"]
        self.test_labels = d["test_labels"]
        self.train_ids = list(d["train_ids"])
        self.test_ids = list(d["test_ids"])

    def __repr__(self):
        return "<oiad.Dataset %s: %d train, %d test images of %s, %d classes>" % (
            self.name, len(self.train_labels), len(self.test_labels), "x".join(map(str, self.train_images.shape[1:])),
            len(self.class_names))


def load_dataset(spec):
    """A data set by name (mnist, fashion-mnist, cifar10: found or fetched as `oiad data` does)
    or path (an IDX folder, an image folder, a .tar.gz of one)."""
    return Dataset(_oiad.load_dataset(os.fsdecode(spec)))


def read_image(path):
    """An image file (PNG, JPEG, BMP) as a (C, H, W) uint8 array (C = 1 or 3), decoded as the
    CLI decodes it."""
    return _oiad.read_image(_check_file(path))


def overlay(image, change_map, path=None, scale=1):
    """A change map drawn over its image, as `oiad inspect --map` and `oiad serve` draw it: the
    map's values from 0 to 4 (VAL standard deviations) go through the JET colour map (blue to
    red) and are blended over the image with weight 0.7 x value / 4 (values <= 0 leave the
    image as it is, values above 4 count as 4). image: an array ((H, W), (C, H, W) or (H, W,
    C); uint8, or float in [0, 1]) or an image file path; change_map: an (H, W) array of the
    same size, e.g. one of Scores.maps. Returns the picture, (H * scale, W * scale, 3) uint8
    RGB (scaled up by nearest neighbour); with `path`, also writes it there as PNG (through a
    temporary file, so that an existing file is replaced whole or not at all)."""
    if _is_path(image):
        image = read_image(image)
    x = _as_nchw(np.asarray(image)[None], "image")[0]
    m = np.asarray(change_map)
    if m.dtype.kind not in "fiub":
        raise ValueError("change_map: dtype %s (expected numbers)" % m.dtype)
    m = np.ascontiguousarray(m, dtype=np.float32)
    if m.shape != x.shape[1:]:
        raise ValueError("change_map: shape %s differs from the image's %s" % (m.shape, x.shape[1:]))
    scale = int(scale)
    if not 1 <= scale <= 64:
        raise ValueError("scale: %d (expected 1 to 64)" % scale)
    picture = _oiad.overlay(x, m, scale)
    if path is not None:
        path = os.fsdecode(path)
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise FileNotFoundError(errno.ENOENT, "no such folder", folder)
        _oiad.write_overlay(path, x, m, scale)
    return picture


def roc_auc(scores, labels):
    """ROC AUC of scores (larger = more anomalous) against labels (1 = anomalous, 0 = normal),
    ties counted as 1/2: the figure every oiad report gives."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    return _oiad.roc_auc(s.tolist(), [int(v) for v in y])


class NotFittedError(ValueError, AttributeError):
    """An estimator used before fit(): a ValueError and an AttributeError, as scikit-learn's
    NotFittedError is; with scikit-learn installed, what OIAD raises is also scikit-learn's."""


_not_fitted_class = None


def _not_fitted(message):
    """A NotFittedError that is scikit-learn's too when scikit-learn is installed (imported
    here, not with oiad: it takes a second)."""
    global _not_fitted_class
    if _not_fitted_class is None:
        try:
            from sklearn.exceptions import NotFittedError as theirs
            _not_fitted_class = type("NotFittedError", (NotFittedError, theirs), {"__module__": __name__})
        except ImportError:
            _not_fitted_class = NotFittedError
    return _not_fitted_class(message)


def _flat_image_shape(features, image_shape):
    """The image shape of rows of `features` values: image_shape when given, else a square
    grey image."""
    if image_shape is not None:
        shape = tuple(int(v) for v in image_shape)
        if len(shape) not in (2, 3) or int(np.prod(shape)) != features:
            raise ValueError("X: rows of %d values do not hold images of image_shape %s" % (features, image_shape))
        return shape
    side = math.isqrt(features)
    if side * side != features:
        raise ValueError("X: rows of %d values are not square grey images: give image_shape=(H, W), (C, H, W) or "
                         "(H, W, C)" % features)
    return (side, side)


# scikit-learn's estimator checks that OIAD does not pass, with the reason (docs/python.md).
# Each fits on scikit-learn's generic data: rows of 1 to 10 values (not square grey images),
# floats outside [0, 1]. python/tests/test_sklearn.py checks the same properties on images.
_TABULAR = "fits on tabular data (rows of 1 to 10 values, floats outside [0, 1]); OIAD takes images"
_XFAIL_CHECKS = {name: _TABULAR for name in (
    "check_classifier_data_not_an_array", "check_dict_unchanged", "check_dont_overwrite_parameters",
    "check_dtype_object", "check_estimators_dtypes", "check_estimators_fit_returns_self",
    "check_estimators_nan_inf", "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_fit2d_1feature", "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent",
    "check_fit_score_takes_y", "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_n_features_in", "check_pipeline_consistency")}
_XFAIL_CHECKS.update({name: _TABULAR + "; and predict gives PyOD's 1 = anomaly, 0 = normal, not scikit-learn's "
                      "-1 / 1, decision_function being larger for anomalies" for name in (
                          "check_outliers_fit_predict", "check_outliers_train")})


class OIAD:
    """A scikit-learn / PyOD-style detector. fit(X) trains and calibrates on normal images X
    (a `val_fraction` of them held out for the calibration) and scores X; then
    decision_function(X) (larger = more anomalous, PyOD's convention), score_samples(X) (its
    negative: larger = more normal, scikit-learn's), predict(X) (1 = anomaly, 0 = normal, as
    PyOD). X: images as Model.score takes them ((N, H, W), (N, C, H, W) or (N, H, W, C)), or
    rows of flattened images (N, D), reshaped to `image_shape` (None: square grey images of
    side sqrt(D)), as scikit-learn transformers in a Pipeline pass them on. After fit:
    decision_scores_ and labels_ (of the training images), threshold_ (anomalous <=> score >
    threshold_), model_ (an oiad.Model), n_features_in_ (values per image). Works with
    scikit-learn's clone, Pipeline and model selection; docs/python.md lists the estimator
    checks it does not pass and why."""

    _params = ("epochs", "latent_dim", "metric", "rule", "fpr", "alpha", "preset", "gamma", "val_fraction", "batch_size",
               "seed", "threads", "progress", "image_shape")
    _estimator_type = "outlier_detector"

    def __init__(self, epochs=_TRAIN.epochs, latent_dim=None, metric=_oiad.default_metric, rule=_DECISION["rule"],
                 fpr=_DECISION["fpr"], alpha=_DECISION["alpha"], preset=_TRAIN.preset, gamma=None,
                 val_fraction=_TRAIN.val_fraction, batch_size=_TRAIN.batch_size, seed=0, threads=None, progress=False,
                 image_shape=None):
        self.epochs = epochs
        self.latent_dim = latent_dim
        self.metric = metric
        self.rule = rule
        self.fpr = fpr
        self.alpha = alpha
        self.preset = preset
        self.gamma = gamma
        self.val_fraction = val_fraction
        self.batch_size = batch_size
        self.seed = seed
        self.threads = threads
        self.progress = progress
        self.image_shape = image_shape

    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in self._params}

    def set_params(self, **params):
        for k, v in params.items():
            if k not in self._params:
                raise ValueError("OIAD: unknown parameter %r (expected one of %s)" % (k, ", ".join(self._params)))
            setattr(self, k, v)
        return self

    def _levels(self):
        if self.rule == "paper":
            return {"rule": "paper", "alpha": self.alpha}
        if self.rule in ("one-sided", "relative"):
            return {"rule": self.rule, "fpr": self.fpr}
        raise ValueError("OIAD: rule %r (expected one-sided, relative or paper)" % (self.rule,))

    def _images(self, X, fitting):
        """X as an image array: rows of a 2-D array reshaped to images."""
        if _is_path(X) or (isinstance(X, (list, tuple)) and X and all(_is_path(p) for p in X)):
            raise ValueError("X: an array of images (read files with oiad.read_image, or score them with Model.score)")
        _refuse_sparse(X, "X")
        shape = np.asarray(X).shape
        if len(shape) >= 1 and fitting and shape[0] == 1:
            raise ValueError("X: n_samples = 1: one image is too few to train and calibrate on")
        if len(shape) == 2 and shape[1] == 0:
            raise ValueError("X: 0 feature(s) (shape=%s) while a minimum of 1 is required." % (shape,))
        a = _pixels(X, "X")
        if a.ndim == 2:
            if not fitting and a.shape[1] != self.n_features_in_:
                raise ValueError("X has %d features, but OIAD is expecting %d features as input" %
                                 (a.shape[1], self.n_features_in_))
            a = a.reshape((a.shape[0],) + _flat_image_shape(a.shape[1], self.image_shape))
        elif a.ndim not in (3, 4):
            raise ValueError("X: shape %s (expected (N, D) rows of flattened images, (N, H, W), (N, C, H, W) or "
                             "(N, H, W, C))" % (a.shape,))
        if fitting:
            self.n_features_in_ = int(np.prod(a.shape[1:]))
        return a

    def fit(self, X, y=None):
        levels = self._levels()
        x = self._images(X, fitting=True)
        self.model_ = train(x, epochs=self.epochs, latent_dim=self.latent_dim, seed=self.seed,
                            val_fraction=self.val_fraction, preset=self.preset, gamma=self.gamma,
                            batch_size=self.batch_size, threads=self.threads, progress=self.progress, **levels)
        s = self.model_.score(x, metric=self.metric, threads=self.threads, **levels)
        self.decision_scores_ = s.score
        self.labels_ = s.anomalous.astype(np.int64)
        self.threshold_ = s.threshold
        return self

    def _score(self, X):
        if not hasattr(self, "model_"):
            raise _not_fitted("This OIAD instance is not fitted yet: call fit(X) first")
        return self.model_.score(self._images(X, fitting=False), metric=self.metric, threads=self.threads,
                                 **self._levels())

    def decision_function(self, X):
        return self._score(X).score

    def score_samples(self, X):
        return -self.decision_function(X)

    def predict(self, X):
        return self._score(X).anomalous.astype(np.int64)

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_

    def __repr__(self):
        return "OIAD(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in self._params)

    def _more_tags(self):
        # scikit-learn's estimator checks (sklearn.utils.estimator_checks.check_estimator)
        # skip these by name; docs/python.md gives each reason at length.
        return {"X_types": ["2darray", "3darray"], "_xfail_checks": dict(_XFAIL_CHECKS)}


__all__ = ["Error", "NotFittedError", "Model", "Scores", "Dataset", "OIAD", "load", "train", "load_dataset",
           "read_image", "overlay", "roc_auc", "blas_core",
           "set_threads", "threads", "metric_names", "rule_names", "preset_names", "__version__"]

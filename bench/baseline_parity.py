#!/usr/bin/env python3
"""The GMM and OC-SVM baselines against scikit-learn on the same features: PCA features of the
normal class's training images (scikit-learn's PCA), the test images of every class scored
(anomalous = another class). For each data set and class: the library's GMM with the number
of components its BIC search picks (as an experiment picks it: 2..20 on at most 1,000 samples)
against scikit-learn's GaussianMixture with that number (full covariances, its defaults:
k-means start, tol 1e-3, reg_covar 1e-6), both seeded; test AUROC of each and the mean
training log-likelihood each EM ends at. The OC-SVM: the library's (libsvm) and
scikit-learn's OneClassSVM (libsvm too) at ν 0.1 and γ = scale, AUROC of each.

    bench/baseline_parity.py OUT.json [DATA:CLASSES ...]     (default mnist:0,1,2,3,4,5,6,7,8,9)

Environment: OIAD_PARITY (build/oiad_baseline_parity), PYTHONPATH=build/python (the oiad
module reads the data sets), PARITY_PCA (40), PARITY_SEEDS (0).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

PROGRAM = os.environ.get("OIAD_PARITY", "build/oiad_baseline_parity")


def write_features(folder, train, test):
    os.makedirs(folder, exist_ok=True)
    np.ascontiguousarray(train, dtype="<f8").tofile(os.path.join(folder, "train.f64"))
    np.ascontiguousarray(test, dtype="<f8").tofile(os.path.join(folder, "test.f64"))
    with open(os.path.join(folder, "shape.json"), "w") as f:
        json.dump({"n_train": len(train), "n_test": len(test), "d": train.shape[1]}, f)


def library(folder, *args):
    r = subprocess.run([PROGRAM, folder, *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s %s: %s" % (PROGRAM, " ".join(map(str, args)), r.stderr.strip()))
    return json.loads(r.stdout)


def auroc(scores, labels):
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(labels, scores))


def gmm_pair(train, test, labels, k, seed, folder):
    """The library's GMM and scikit-learn's with k components on the same features."""
    from sklearn.mixture import GaussianMixture
    write_features(folder, train, test)
    ours = library(folder, "gmm", k, seed)
    theirs = GaussianMixture(n_components=k, covariance_type="full", random_state=seed).fit(train)
    return {"k": k, "seed": seed,
            "auc_library": auroc(ours["scores"], labels), "auc_sklearn": auroc(-theirs.score_samples(test), labels),
            "train_ll_library": ours["train_mean_log_likelihood"], "train_ll_sklearn": float(theirs.score(train)),
            "iterations_library": ours["iterations"], "iterations_sklearn": int(theirs.n_iter_)}


def ocsvm_pair(train, test, labels, nu, gamma, folder):
    from sklearn.svm import OneClassSVM
    write_features(folder, train, test)
    ours = library(folder, "ocsvm", nu, gamma)
    theirs = OneClassSVM(nu=nu, gamma=gamma).fit(train)
    d_theirs = theirs.decision_function(test)
    return {"nu": nu, "gamma": gamma, "auc_library": auroc(ours["scores"], labels),
            "auc_sklearn": auroc(-d_theirs, labels),
            "max_decision_difference": float(np.max(np.abs(np.asarray(ours["decision"]) - d_theirs)))}


def main():
    import oiad
    from sklearn.decomposition import PCA
    out = sys.argv[1]
    specs = sys.argv[2:] or ["mnist:0,1,2,3,4,5,6,7,8,9"]
    dims = int(os.environ.get("PARITY_PCA", "40"))
    seeds = [int(s) for s in os.environ.get("PARITY_SEEDS", "0").split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs:
            name, _, classes = spec.partition(":")
            ds = oiad.load_dataset(name)
            xtr = ds.train_images.reshape(len(ds.train_images), -1) / 255.0
            xte = ds.test_images.reshape(len(ds.test_images), -1) / 255.0
            for c in [int(v) for v in classes.split(",")] if classes else range(len(ds.class_names)):
                normal = xtr[ds.train_labels == c]
                pca = PCA(n_components=dims, random_state=0).fit(normal)
                train, test = pca.transform(normal), pca.transform(xte)
                labels = (ds.test_labels != c).astype(int)
                for seed in seeds:
                    write_features(tmp, train, test)
                    k = library(tmp, "gmm-bic", 2, 20, seed, 1000)["components"]
                    row = {"data": name, "class": c, "pca": dims, **gmm_pair(train, test, labels, k, seed, tmp)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                g = 1.0 / (train.shape[1] * train.var())
                row = {"data": name, "class": c, "pca": dims, "method": "ocsvm",
                       **ocsvm_pair(train, test, labels, 0.1, g, tmp)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    with open(out + ".tmp", "w") as f:
        json.dump(rows, f, indent=1)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Prints Markdown tables from the JSON files bench/detector_results.sh and bench/variants.sh
write. Usage: bench/results_table.py detector OUTDIR | variants OUTDIR"""
import glob
import json
import os
import sys

PAPER_AUC = {("mnist", "1"): 1.0, ("mnist", "7"): 0.966, ("cifar10", "cat"): 0.814, ("cifar10", "dog"): 0.849}


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
        key = (r["dataset"], str(r["normal_class"]))
        paper = PAPER_AUC.get(key, "")
        print(f"| {r['dataset']} | {r['normal_class']} | {r['preset']} | {r['n_test']} | "
              f"{m['mse']['auc']:.4f} | {m['loss']['auc']:.4f} | {m['ssim']['auc']:.4f} | "
              f"{m['ssim']['tp']:.3f} / {m['ssim']['tn']:.3f} | {m['ssim']['auc_one_sided_mean']:.4f} | "
              f"{r['images_per_s']:.1f} | {paper} |")


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


if __name__ == "__main__":
    {"detector": detector, "variants": variants, "training": training}[sys.argv[1]](*sys.argv[2:])

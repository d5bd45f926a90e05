#!/usr/bin/env python3
"""A model on paper of data-parallel `oiad train` on N machines, from quantities measured on one.

Per step, every rank computes its share of the batch, then exchanges (src/train/trainer.cpp):
an all-gather of the batch's codes, an all-reduce of the TC statistics' derivatives
(2d + 1 floats), an all-reduce of the VAE's gradients, an all-gather of the second batch's
codes and an all-reduce of the discriminator's gradients. Costs, ring algorithms:
  all-reduce of B bytes:  2 (N - 1) / N * B / bandwidth + 2 (N - 1) * latency
  all-gather of S bytes in all: (N - 1) / N * S / bandwidth + (N - 1) * latency
Compute per step = rows per rank / (one machine's training images/s), with the machine as
fast as the one measured; no overlap of compute and communication (none is implemented).

  bench/dist_scaling.py --images-per-s 655 --bytes 21.33e6 --rows 64 --latent 20
"""
import argparse


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--images-per-s", type=float, required=True, help="one machine, one rank, all cores")
    p.add_argument("--bytes", type=float, required=True, help="gradient bytes all-reduced per step (measured)")
    p.add_argument("--rows", type=int, default=64, help="batch rows per rank (the batch grows with N)")
    p.add_argument("--latent", type=int, default=20, help="codes per image")
    p.add_argument("--latency-us", type=float, default=25.0, help="one message's latency, microseconds")
    p.add_argument("--machines", default="1,2,8,32,128")
    p.add_argument("--gbits", default="10,100")
    a = p.parse_args()
    compute = a.rows / a.images_per_s
    print("| machines | network | batch | compute ms | exchange ms | images/s | efficiency |")
    print("|---|---|---|---|---|---|---|")
    for gb in [float(g) for g in a.gbits.split(",")]:
        bw = gb * 1e9 / 8
        lat = a.latency_us * 1e-6
        for n in [int(m) for m in a.machines.split(",")]:
            if n == 1:
                comm = 0.0
            else:
                codes = n * a.rows * a.latent * 4  # one all-gather's bytes in all
                gather = (n - 1) / n * codes / bw + (n - 1) * lat
                reduce_bytes = 2 * (n - 1) / n * a.bytes / bw
                comm = 2 * gather + reduce_bytes + 3 * 2 * (n - 1) * lat
            step = compute + comm
            ips = n * a.rows / step
            print("| %d | %g Gbit/s | %d | %.1f | %.1f | %.0f | %.2f |"
                  % (n, gb, n * a.rows, 1000 * compute, 1000 * comm, ips, ips / (n * a.images_per_s)))


if __name__ == "__main__":
    main()

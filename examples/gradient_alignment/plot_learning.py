#!/usr/bin/python3
"""Plot learn_regression output: plot_learning.py OUT_DIR -> OUT_DIR/learning.png.

Left: training loss (mean over patterns of 1/2 sum_j (y_pj - V_pj)^2, rate model at the current
weights) of the spiking run (Eq. 1) and of the rate-based gradient ascent that takes the expected
step of each cycle, log axes.  Right: the relative distance ||W_spiking - W_rate|| / ||W_rate - W_0||,
and its parts inside the span of the input patterns (what the loss sees) and orthogonal to it.
Epoch 0 (equal losses, distance undefined) is left out of the log axes.
"""
import csv
import json
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    with open(os.path.join(out, "learning.csv")) as f:
        rows = list(csv.DictReader(f))
    col = lambda k: np.array([float(r[k]) for r in rows])  # float("nan") parses
    epoch = col("epoch")
    keep = epoch >= 1
    meta = {}
    try:
        with open(os.path.join(out, "learning.json")) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        pass

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    a1.plot(epoch[keep], col("loss_rate")[keep], color="C1", lw=2.5, label="rate model, expected step")
    a1.plot(epoch[keep], col("loss_spiking")[keep], color="C0", lw=1.0, label="spiking, Eq. 1")
    a1.set_xscale("log")
    a1.set_yscale("log")
    a1.set_xlabel("epoch (one cycle per pattern)")
    a1.set_ylabel("loss (mV$^2$)")
    title = "training loss"
    if "eta_ms" in meta:
        title += f" (eta = {meta['eta_ms']:g} ms, lambda = {meta['nudge_per_ms']:g}/ms)"
    a1.set_title(title)
    a1.legend()

    a2.plot(epoch[keep], col("rel_distance")[keep], color="k", lw=1.5, label="total")
    if "rel_distance_span" in rows[0]:
        a2.plot(epoch[keep], col("rel_distance_span")[keep], color="C2", lw=1.0, label="in span of patterns")
        a2.plot(epoch[keep], col("rel_distance_null")[keep], color="C3", lw=1.0, ls="--",
                label="orthogonal to patterns")
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("epoch")
    a2.set_ylabel("||W_spiking - W_rate|| / ||W_rate - W_0||")
    a2.set_title("distance between the trajectories")
    a2.legend()
    fig.tight_layout()
    png = os.path.join(out, "learning.png")
    tmp = png + ".tmp.png"
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, png)
    print(png)


if __name__ == "__main__":
    main()

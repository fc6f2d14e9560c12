#!/usr/bin/python3
"""Plot the outputs of `spikeem eq1-curve`: plot_eq1_curve.py OUT_DIR -> OUT_DIR/eq1_curve.png.

Left: the binned mean dW against dT = t_post - t_pre, from the stand-alone protocol and from the full
simulator, each normalised to its peak |mean dW|, with standard errors, over the Bi & Poo (1998)
exponential fit (tau+ 16.8 ms, tau- 33.7 ms) and the classic pair window of Song et al. (2000)
(tau+ = tau- = 20 ms, A-/A+ = 1.05), both normalised to peak.
Right: the parametric curve (mean dT, mean dW) per slope of the stand-alone protocol.
"""
import csv
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def read(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    fig, (ax, ap) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    x = np.linspace(-100, 100, 801)
    bipoo = np.where(x >= 0, np.exp(-np.abs(x) / 16.8), -np.exp(-np.abs(x) / 33.7))
    song = np.where(x >= 0, np.exp(-np.abs(x) / 20.0), -1.05 * np.exp(-np.abs(x) / 20.0)) / 1.05
    ax.plot(x, bipoo, "-", color="0.6", lw=2, label="Bi & Poo fit")
    ax.plot(x, song, ":", color="0.3", lw=1.5, label="pair window (Song et al.)")
    for name, label, color in (("eq1_curve.csv", "Eq. 1, stand-alone protocol", "C0"),
                               ("eq1_curve_network.csv", "Eq. 1, full simulator", "C3")):
        path = os.path.join(out, name)
        if not os.path.exists(path):
            continue
        d = read(path)
        ok = d["n"] > 1
        peak = np.nanmax(np.abs(d["mean_dw"][ok]))
        ax.errorbar(d["dT_ms"][ok], d["mean_dw"][ok] / peak, yerr=d["sem"][ok] / peak, fmt="o", ms=3,
                    color=color, label=f"{label} (peak {peak:.3g})")
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("dT = t_post - t_pre (ms)")
    ax.set_ylabel("mean dW, normalised to peak")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("STDP from dW = eta S_pre dV_post/dt")
    path = os.path.join(out, "eq1_parametric.csv")
    if os.path.exists(path):
        d = read(path)
        ap.plot(d["mean_dT_ms"], d["mean_dw"], "o-")
        for s, t, w in zip(d["slope_per_ms"], d["mean_dT_ms"], d["mean_dw"]):
            ap.annotate(f"{s:g}", (t, w), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ap.axhline(0, color="k", lw=0.5)
        ap.axvline(0, color="k", lw=0.5)
        ap.set_xlabel("mean dT (ms)")
        ap.set_ylabel("mean dW (eta = 1)")
        ap.set_title("per slope (labels: Vdot, 1/ms)")
    fig.tight_layout()
    png = os.path.join(out, "eq1_curve.png")
    fig.savefig(png + ".tmp.png", dpi=120)
    os.replace(png + ".tmp.png", png)
    print(png)


if __name__ == "__main__":
    main()

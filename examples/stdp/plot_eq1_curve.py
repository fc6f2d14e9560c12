#!/usr/bin/python3
"""Plot the outputs of `spikeem eq1-curve`: plot_eq1_curve.py OUT_DIR -> OUT_DIR/eq1_curve.png.

Left: the paper's Fig. 1 format: mean dW against mean dT, one point per slope of the grid (both signs),
from eq1_parametric.csv, with standard errors of mean dT (trials as replicates; dW = eta * slope is
exact per slope). Right: the binned mean dW against dT = t_post - t_pre, from the stand-alone protocol
and from the full simulator, each normalised to its peak |mean dW|, with standard errors from
independent replicates (trials; blocks of the network run).
Both panels overlay, for shape only, the Bi & Poo (1998) exponential window with the time constants of
Bi & Poo (2001) (tau+ = 16.8 ms, tau- = 33.7 ms), normalised to peak 1: a reference shape in ms,
not a fit, since the protocol's time scale is set by its slope distribution.
Firing mode and pairing are read from eq1_fit.json and named in the title.
"""
import csv
import json
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


def bi_poo(x):
    """Bi & Poo window, normalised to peak 1 on each side (shape only)."""
    return np.where(x >= 0, np.exp(-np.abs(x) / 16.8), -np.exp(-np.abs(x) / 33.7))


def parametric_panel(ax, out):
    path = os.path.join(out, "eq1_parametric.csv")
    if not os.path.exists(path):
        ax.set_visible(False)
        return
    d = read(path)
    peak = np.nanmax(np.abs(d["mean_dw"]))
    ok = d["pairs"] > 0
    x = np.linspace(-150, 150, 1201)
    ax.plot(x, bi_poo(x), "-", color="0.7", lw=2, label="Bi & Poo window, shape only (normalised)")
    for sign in (1, -1):  # one line per side, not joined across dT = 0
        side = ok & (np.sign(d["slope_per_ms"]) == sign)
        order = np.argsort(np.abs(d["slope_per_ms"][side]))
        ax.errorbar(d["mean_dT_ms"][side][order], d["mean_dw"][side][order] / peak,
                    xerr=d["sem_dT_ms"][side][order], fmt="o-", ms=4, color="C0", capsize=2,
                    label=f"Eq. 1, one point per slope (max |dW| = {peak:.3g} per ms)" if sign > 0 else None)
    for s, t, w in zip(d["slope_per_ms"][ok], d["mean_dT_ms"][ok], d["mean_dw"][ok] / peak):
        ax.annotate(f"{s:g}", (t, w), fontsize=7, xytext=(4, -8 if w > 0 else 4), textcoords="offset points")
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("mean dT = t_post - t_pre (ms)")
    ax.set_ylabel("mean dW / max |mean dW| (dimensionless; dW = eta Vdot, eta = 1)")
    ax.set_title("per slope (labels: Vdot in 1/ms; error bars: SE of mean dT)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")


def binned_panel(ax, out):
    x = np.linspace(-100, 100, 801)
    ax.plot(x, bi_poo(x), "-", color="0.7", lw=2, label="Bi & Poo window, shape only (normalised)")
    for name, label, color in (("eq1_curve.csv", "stand-alone protocol, dW in 1/ms", "C0"),
                               ("eq1_curve_network.csv", "full simulator, dW in mV/ms", "C3")):
        path = os.path.join(out, name)
        if not os.path.exists(path):
            continue
        d = read(path)
        ok = d["n"] > 1
        peak = np.nanmax(np.abs(d["mean_dw"][ok]))
        sem = d["sem"][ok]
        has_se = bool(np.all(np.isfinite(sem)))  # NaN: fewer than 2 replicates
        ax.errorbar(d["dT_ms"][ok], d["mean_dw"][ok] / peak, yerr=sem / peak if has_se else None, fmt="o", ms=3,
                    color=color, capsize=1.5,
                    label=f"Eq. 1, {label} (peak {peak:.3g})" + ("" if has_se else ", no SE: < 2 replicates"))
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("dT = t_post - t_pre (ms)")
    ax.set_ylabel("mean dW / peak |mean dW| (dimensionless)")
    ax.set_title("binned in dT (error bars: SE from independent replicates)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    firing, pairing = "?", "?"
    meta = os.path.join(out, "eq1_fit.json")
    if os.path.exists(meta):
        with open(meta) as f:
            j = json.load(f)
        firing, pairing = j.get("firing", "?"), j.get("pairing", "?")
    fig, (ap, ax) = plt.subplots(1, 2, figsize=(13, 5.2))
    parametric_panel(ap, out)
    binned_panel(ax, out)
    fig.suptitle(f"STDP from Eq. 1, dW = eta S_pre dV_post/dt: {pairing} pairing (both curves); "
                 f"stand-alone protocol with {firing} firing")
    fig.tight_layout()
    png = os.path.join(out, "eq1_curve.png")
    fig.savefig(png + ".tmp.png", dpi=120)
    os.replace(png + ".tmp.png", png)
    print(png)


if __name__ == "__main__":
    main()

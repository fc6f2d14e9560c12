#!/usr/bin/python3
"""Plot the outputs of `spikeem stdp-curve`: plot_stdp_curve.py OUT_DIR.

stdp_curve.csv -> stdp_curve.png: dw against dt, each side normalised to its
own peak, over the exponential fit to Bi & Poo (1998) used by Pfister &
Gerstner (2006): tau+ = 16.8 ms, tau- = 33.7 ms, also normalised to peak.
stdp_frequency.csv -> stdp_frequency.png: dw_rel against pairing frequency.
"""
import csv
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

TAU_PLUS_BI_POO, TAU_MINUS_BI_POO = 16.8, 33.7


def read(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def save(fig, path):
    tmp = path + ".tmp.png"  # renamed into place only when complete
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)
    print(path)


def curve(out):
    d = read(os.path.join(out, "stdp_curve.csv"))
    dt, dw = d["dt_ms"], d["dw"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    pos, neg = dt >= 0, dt < 0
    norm = np.zeros_like(dw)
    if pos.any() and np.abs(dw[pos]).max() > 0:
        norm[pos] = dw[pos] / np.abs(dw[pos]).max()
    if neg.any() and np.abs(dw[neg]).max() > 0:
        norm[neg] = dw[neg] / np.abs(dw[neg]).max()
    x = np.linspace(dt.min(), dt.max(), 801)
    fit = np.where(x >= 0, np.exp(-np.abs(x) / TAU_PLUS_BI_POO), -np.exp(-np.abs(x) / TAU_MINUS_BI_POO))
    ax.plot(x, fit, "-", color="0.6", lw=2, label="Bi & Poo fit (tau+ 16.8, tau- 33.7 ms)")
    ax.plot(dt, norm, ".", color="C0", ms=4, label="spikeem pairing protocol")
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("dt = t_post - t_pre at the synapse (ms)")
    ax.set_ylabel("dw, each side normalised to its peak")
    ax.legend(loc="upper left")
    peak = np.abs(dw).max()
    ax.set_title(f"STDP curve (peak |dw| = {peak:.3g} mV)")
    fig.tight_layout()
    save(fig, os.path.join(out, "stdp_curve.png"))


def frequency(out):
    d = read(os.path.join(out, "stdp_frequency.csv"))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for sign, style in ((1, "o-"), (-1, "s--")):
        sel = np.sign(d["dt_ms"]) == sign
        ax.plot(d["frequency_hz"][sel], 100 * d["dw_rel"][sel], style,
                label=f"dt = {d['dt_ms'][sel][0]:+g} ms")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("pairing frequency (Hz)")
    ax.set_ylabel("weight change (%)")
    ax.set_title("Pairing-frequency protocol (Sjostrom et al. 2001 style)")
    ax.legend()
    fig.tight_layout()
    save(fig, os.path.join(out, "stdp_frequency.png"))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    done = False
    if os.path.exists(os.path.join(out, "stdp_curve.csv")):
        curve(out)
        done = True
    if os.path.exists(os.path.join(out, "stdp_frequency.csv")):
        frequency(out)
        done = True
    if not done:
        sys.exit(f"{out}: neither stdp_curve.csv nor stdp_frequency.csv")


if __name__ == "__main__":
    main()

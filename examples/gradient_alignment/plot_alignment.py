#!/usr/bin/python3
"""Plot `spikeem gradcheck` output: plot_alignment.py OUT_DIR -> OUT_DIR/alignment.png.

From alignment_summary.csv and gradcheck.json: per layer (weight group), the cosine of the
accumulated spiking dW with dJ/dW against simulated time, mean and standard error over seeds, next
to the two baselines (the error-free null guess and dW with shuffled signs); the slope of dW on its
predicted E[dW] (1 = unbiased) with its standard error; and from dw.csv every weight's spiking dW
at the longest duration (mean over seeds, with its standard error) against its predicted E[dW], in
mV, with the identity line.  The title names the spec and the objective.
"""
import csv
import json
import os
import sys
from collections import defaultdict

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    meta = json.load(open(os.path.join(out, "gradcheck.json")))
    rows = list(csv.DictReader(open(os.path.join(out, "alignment_summary.csv"))))
    layers = []
    for r in rows:
        if r["layer"] not in layers:
            layers.append(r["layer"])
    col = {name: f"C{k}" for k, name in enumerate(layers)}

    def series(layer, key):
        rs = sorted((r for r in rows if r["layer"] == layer), key=lambda r: float(r["t_ms"]))
        t = np.array([float(r["t_ms"]) for r in rs]) / 1000.0
        return t, np.array([float(r[key + "_mean"]) for r in rs]), np.array([float(r[key + "_se"]) for r in rs])

    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(17, 4.8))
    for name in layers:
        t, m, se = series(name, "cosine")
        a1.errorbar(t, m, yerr=se, fmt="o-", color=col[name], label=f"{name}: spiking dW")
        _, n, _ = series(name, "null_cosine")
        a1.plot(t, n, ":", color=col[name], label=f"{name}: null guess")
        _, s, _ = series(name, "shuffled_cosine")
        a1.plot(t, s, "--", color=col[name], alpha=0.6, label=f"{name}: shuffled signs")
        t, m, se = series(name, "slope")
        a2.errorbar(t, m, yerr=se, fmt="o-", color=col[name], label=name)
    a1.set_xscale("log")
    a1.axhline(1.0, color="0.6", lw=0.8)
    a1.axhline(0.0, color="0.8", lw=0.8)
    a1.set_xlabel("simulated time (s)")
    a1.set_ylabel("cosine with dJ/dW")
    seeds = rows[0]["seeds"]
    a1.set_title(f"cosine per layer, mean +- SE over {seeds} seeds")
    a1.legend(fontsize=7, ncol=1 if len(layers) < 3 else 2)
    a2.set_xscale("log")
    a2.axhline(1.0, color="0.6", lw=0.8)
    a2.set_xlabel("simulated time (s)")
    a2.set_ylabel("slope of dW on predicted E[dW] (1 = unbiased)")
    a2.set_title("bias per layer, mean +- SE over seeds")
    lo, hi = a2.get_ylim()
    a2.set_ylim(max(lo, -1.0), min(hi, 3.0))
    a2.legend(fontsize=8)

    dw_rows = list(csv.DictReader(open(os.path.join(out, "dw.csv"))))
    by_w = defaultdict(list)
    layer_of = {}
    for r in dw_rows:
        q = int(r["index"])
        by_w[q].append((float(r["expected_dW"]), float(r["dW"])))
        layer_of[q] = r["layer"]
    idx = sorted(by_w)
    for name in layers:
        qs = [q for q in idx if layer_of[q] == name]
        if not qs:
            continue
        e = np.array([np.mean([p[0] for p in by_w[q]]) for q in qs])
        d = np.array([np.mean([p[1] for p in by_w[q]]) for q in qs])
        d_se = np.array([np.std([p[1] for p in by_w[q]], ddof=1) / np.sqrt(len(by_w[q]))
                         if len(by_w[q]) > 1 else 0.0 for q in qs])
        a3.errorbar(e, d, yerr=d_se, fmt="o", ms=3, alpha=0.7, color=col[name], label=name)
    allv = [p for q in idx for p in by_w[q]]
    lim = [min(min(p) for p in allv), max(max(p) for p in allv)]
    a3.plot(lim, lim, "--", color="0.5", label="dW = E[dW]")
    a3.set_xlabel("predicted E[dW] (mV)")
    a3.set_ylabel("spiking dW (mV), mean +- SE over seeds")
    tmax = max(float(r["t_ms"]) for r in rows) / 1000.0
    a3.set_title(f"per weight at {tmax:g} s")
    a3.legend(fontsize=8)
    fig.suptitle(f"{os.path.basename(meta['spec'])}: {meta['objective']} objective, Eq. 1 dW against dJ/dW "
                 f"(dW in mV, time in s of simulated time)", fontsize=11)
    fig.tight_layout()
    png = os.path.join(out, "alignment.png")
    fig.savefig(png + ".tmp.png", dpi=110)
    os.replace(png + ".tmp.png", png)
    print(png)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Plot `spikeem gradcheck` output: plot_alignment.py OUT_DIR -> OUT_DIR/alignment.png.

Cosine similarity between the accumulated spiking dW and dJ/dW, and the relative error
||dW - E[dW]|| / ||E[dW]||, against simulated time: mean and standard error over seeds, log axes,
with a 1/sqrt(T) reference line through the first relative-error point.  Third panel (from dw.csv):
every weight's spiking dW at the longest duration, mean over seeds with its standard error, against
its predicted expectation E[dW], with the identity line (when seeds draw different initial weights
both axes are averaged over them, which keeps E[dW] the expectation of the mean).
"""
import csv
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
    rows = list(csv.DictReader(open(os.path.join(out, "alignment.csv"))))
    by_t = defaultdict(list)
    for r in rows:
        by_t[float(r["t_ms"])].append(r)
    t = np.array(sorted(by_t)) / 1000.0

    def stat(key):
        m = np.array([np.mean([float(r[key]) for r in by_t[k]]) for k in sorted(by_t)])
        se = np.array([np.std([float(r[key]) for r in by_t[k]], ddof=1) / np.sqrt(len(by_t[k]))
                       if len(by_t[k]) > 1 else 0.0 for k in sorted(by_t)])
        return m, se

    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(16, 4.2))
    m, se = stat("cosine")
    a1.errorbar(t, m, yerr=se, fmt="o-")
    a1.set_xscale("log")
    a1.axhline(1.0, color="0.6", lw=0.8)
    a1.set_xlabel("simulated time (s)")
    a1.set_ylabel("cosine(dW, dJ/dW)")
    a1.set_title(f"alignment ({len(by_t[sorted(by_t)[0]])} seeds)")
    m, se = stat("rel_error")
    a2.errorbar(t, m, yerr=se, fmt="o-", label="||dW - E[dW]|| / ||E[dW]||")
    a2.plot(t, m[0] * np.sqrt(t[0] / t), "--", color="0.5", label="1/sqrt(T)")
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("simulated time (s)")
    a2.set_ylabel("relative error")
    a2.legend()
    dw_rows = list(csv.DictReader(open(os.path.join(out, "dw.csv"))))
    by_w = defaultdict(list)
    for r in dw_rows:
        by_w[int(r["index"])].append((float(r["expected_dW"]), float(r["dW"])))
    idx = sorted(by_w)
    e = np.array([np.mean([p[0] for p in by_w[q]]) for q in idx])
    d = np.array([np.mean([p[1] for p in by_w[q]]) for q in idx])
    d_se = np.array([np.std([p[1] for p in by_w[q]], ddof=1) / np.sqrt(len(by_w[q]))
                     if len(by_w[q]) > 1 else 0.0 for q in idx])
    a3.errorbar(e, d, yerr=d_se, fmt="o", ms=3, alpha=0.7)
    lim = [min(e.min(), d.min()), max(e.max(), d.max())]
    a3.plot(lim, lim, "--", color="0.5", label="dW = E[dW]")
    a3.set_xlabel("predicted E[dW] (from dJ/dW)")
    a3.set_ylabel("spiking dW (mean over seeds)")
    a3.set_title(f"per weight at {t[-1]:g} s")
    a3.legend()
    fig.tight_layout()
    png = os.path.join(out, "alignment.png")
    fig.savefig(png + ".tmp.png", dpi=120)
    os.replace(png + ".tmp.png", png)
    print(png)


if __name__ == "__main__":
    main()

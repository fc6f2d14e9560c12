#!/usr/bin/python3
"""Plot `spikeem gradcheck` output: plot_alignment.py OUT_DIR -> OUT_DIR/alignment.png.

Cosine similarity between the accumulated spiking dW and dJ/dW, and the relative error
||dW - E[dW]|| / ||E[dW]||, against simulated time: mean and standard error over seeds, log axes,
with a 1/sqrt(T) reference line through the first relative-error point.
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

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
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
    fig.tight_layout()
    png = os.path.join(out, "alignment.png")
    fig.savefig(png + ".tmp.png", dpi=120)
    os.replace(png + ".tmp.png", png)
    print(png)


if __name__ == "__main__":
    main()

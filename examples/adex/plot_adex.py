#!/usr/bin/python3
"""Plot the runs of the AdEx firing-pattern specs.

    for p in tonic adapting initial_burst bursting; do
        spikeem run examples/adex/$p.pbtxt --out out_$p
    done
    /usr/bin/python3 examples/adex/plot_adex.py out_tonic out_adapting out_initial_burst out_bursting [--png adex.png]

One panel per run folder: V (voltages.csv) with the spikes (spikes.csv) drawn
as ticks at 0 mV.  V is the model's own value at each sample (at most v_peak;
the spike itself is not a sample: a sample lands at the reset value after it).
"""
import csv
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt


def read(folder):
    t, v, spikes = [], [], []
    with open(os.path.join(folder, "voltages.csv")) as f:
        for row in csv.DictReader(f):
            t.append(float(row["t_ms"]))
            v.append(float(row["v_mV"]))
    with open(os.path.join(folder, "spikes.csv")) as f:
        spikes = [float(row["t_ms"]) for row in csv.DictReader(f)]
    return t, v, spikes


def main(argv):
    png = "adex.png"
    if "--png" in argv:
        k = argv.index("--png")
        png = argv[k + 1]
        argv = argv[:k] + argv[k + 2:]
    if not argv:
        sys.exit(__doc__)
    fig, axes = plt.subplots(len(argv), 1, figsize=(9, 2.2 * len(argv)), sharex=True, squeeze=False)
    for ax, folder in zip(axes[:, 0], argv):
        t, v, spikes = read(folder)
        ax.plot(t, v, lw=0.7)
        ax.plot(spikes, [0.0] * len(spikes), "|", color="k", ms=8)
        ax.set_ylabel("V (mV)")
        ax.set_title(f"{os.path.basename(os.path.normpath(folder))}: {len(spikes)} spikes", fontsize=9)
    axes[-1, 0].set_xlabel("t (ms)")
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    print(f"wrote {png}")


if __name__ == "__main__":
    main(sys.argv[1:])

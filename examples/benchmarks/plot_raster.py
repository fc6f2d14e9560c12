#!/usr/bin/python3
"""Raster and population rate of a spikeem run: plot_raster.py OUT_DIR [--png FILE] [--max-neurons N]."""
import argparse
import csv
import json
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out_dir")
    ap.add_argument("--png", default=None, help="output file (default OUT_DIR/raster.png)")
    ap.add_argument("--max-neurons", type=int, default=400, help="neurons shown per population")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "run.json")) as f:
        run = json.load(f)
    duration = float(run["duration_ms"])
    times, pops, idx = [], [], []
    with open(os.path.join(args.out_dir, "spikes.csv")) as f:
        for row in csv.DictReader(f):
            times.append(float(row["t_ms"]))
            pops.append(row["population"])
            idx.append(int(row["neuron"]))
    times, pops, idx = np.array(times), np.array(pops), np.array(idx)
    names = [p["name"] for p in run["populations"] if p["name"] in set(pops)]
    fig, (ax, ar) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    offset, subset = 0, False
    for name in names:
        n = next(p["neurons"] for p in run["populations"] if p["name"] == name)
        shown = min(n, args.max_neurons)
        subset = subset or shown < n
        sel = (pops == name) & (idx < shown)
        label = name if shown == n else f"{name} (neurons 0-{shown - 1} of {n})"
        ax.plot(times[sel], idx[sel] + offset, ".", ms=1, label=label)
        # The rate panel counts every neuron of the population, not only those shown above.
        counts, edges = np.histogram(times[pops == name], bins=np.arange(0, duration + 5, 5))
        ar.plot(edges[:-1], counts / n / 0.005, label=f"{name} (all {n})")
        offset += shown
    ax.set_ylabel("neuron (populations stacked)")
    ax.legend(loc="upper right", markerscale=8)
    what = "spikes of the recorded populations" + (f", at most {args.max_neurons} neurons each" if subset else "")
    ax.set_title(f"{run.get('spec_name') or run['spec']}, seed {run['seed']}: {what}", fontsize=10)
    ar.set_xlabel("t (ms)")
    ar.set_ylabel("population rate\n(Hz, 5 ms bins)")
    ar.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    png = args.png or os.path.join(args.out_dir, "raster.png")
    fig.savefig(png, dpi=120)
    print(png)


if __name__ == "__main__":
    main()

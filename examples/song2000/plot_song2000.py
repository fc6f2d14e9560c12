#!/usr/bin/python3
"""Weights and output rate of a song2000 run: plot_song2000.py OUT_DIR [--png FILE] [--w-max MV].

Reads OUT_DIR/weights.csv, OUT_DIR/spikes.csv and OUT_DIR/run.json, writes OUT_DIR/song2000.png (final weight
histogram, weight distribution over time, fractions near the bounds, output rate) and prints the bimodality
criterion: at least 80% of the final weights below 0.1 w_max or above 0.9 w_max, and at least 5% in each group.
w_max is read from the spec named in run.json (w_max_mV) unless --w-max is given. Exits 0 either way.
"""
import argparse
import csv
import json
import os
import re
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
from matplotlib.colors import LogNorm
import numpy as np

LOW, HIGH = 0.1, 0.9          # "near 0" and "near w_max", in units of w_max
MIN_TOGETHER, MIN_EACH = 0.8, 0.05
RATE_BIN_S = 10.0


def find_w_max(run, out_dir):
    """w_max_mV from the spec named in run.json (relative to the cwd or to OUT_DIR's parents)."""
    spec = run.get("spec", "")
    candidates = [spec, os.path.join(out_dir, spec), os.path.join(out_dir, "..", spec),
                  os.path.join(out_dir, "..", "..", spec)]
    for path in candidates:
        if spec and os.path.isfile(path):
            with open(path) as f:
                m = re.findall(r"w_max_mV\s*:\s*([-+0-9.eE]+)", f.read())
            if m:
                return float(m[0])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--png", default=None, help="output file (default OUT_DIR/song2000.png)")
    ap.add_argument("--w-max", type=float, default=None, help="upper weight bound in mV (default: from the spec)")
    args = ap.parse_args()

    with open(os.path.join(args.out_dir, "run.json")) as f:
        run = json.load(f)
    w_max = args.w_max if args.w_max is not None else find_w_max(run, args.out_dir)
    if w_max is None:
        sys.exit(f"cannot find w_max_mV in the spec {run.get('spec')!r}; pass --w-max")
    duration_s = float(run["duration_ms"]) / 1000.0

    # Weights: (t, pre, post) -> w; a later row for the same key replaces an earlier one.
    samples = {}
    with open(os.path.join(args.out_dir, "weights.csv")) as f:
        for row in csv.DictReader(f):
            samples.setdefault(float(row["t_ms"]), {})[(int(row["pre"]), int(row["post"]))] = float(row["w"])
    times_ms = np.array(sorted(samples))
    w_of = [np.array(list(samples[t].values())) / w_max for t in times_ms]
    final = w_of[-1]
    t_s = times_ms / 1000.0

    # Output spikes (the recorded neuron population: the target of the projection).
    post_pop = run["projections"][0]["target"] if run.get("projections") else None
    spikes = []
    spikes_path = os.path.join(args.out_dir, "spikes.csv")
    if os.path.isfile(spikes_path):
        with open(spikes_path) as f:
            for row in csv.DictReader(f):
                if post_pop is None or row["population"] == post_pop:
                    spikes.append(float(row["t_ms"]) / 1000.0)
    spikes = np.array(spikes)
    n_post = next((p["neurons"] for p in run["populations"] if p["name"] == post_pop), 1)
    edges = np.arange(0.0, duration_s + RATE_BIN_S / 2, RATE_BIN_S)
    if edges[-1] < duration_s:
        edges = np.append(edges, duration_s)
    counts, _ = np.histogram(spikes, bins=edges)
    rate = counts / n_post / np.diff(edges)
    last = min(100.0, duration_s / 10)  # the final state: the last 100 s, or the last tenth of a short run
    rate_last = np.sum(spikes >= duration_s - last) / n_post / last
    rate_all = len(spikes) / n_post / duration_s

    lo, hi = np.mean(final < LOW), np.mean(final > HIGH)
    bimodal = lo + hi >= MIN_TOGETHER and lo >= MIN_EACH and hi >= MIN_EACH
    lo_t = np.array([np.mean(w < LOW) for w in w_of])
    hi_t = np.array([np.mean(w > HIGH) for w in w_of])
    mean_t = np.array([w.mean() for w in w_of])

    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5))
    (ah, am), (af, ar) = axes
    bins = np.linspace(0.0, 1.0, 21)

    ah.hist(final, bins=bins, weights=np.full(len(final), 100.0 / len(final)), color="tab:blue", edgecolor="white")
    ah.axvspan(0, LOW, color="tab:green", alpha=0.12)
    ah.axvspan(HIGH, 1, color="tab:red", alpha=0.12)
    ah.set_xlim(0, 1)
    ah.set_xlabel("final weight / w_max")
    ah.set_ylabel("% of synapses")
    ah.set_title(f"final weights, t = {t_s[-1]:g} s")
    ah.text(0.5, 0.95, f"< {LOW:g} w_max: {100 * lo:.1f}%\n> {HIGH:g} w_max: {100 * hi:.1f}%\n"
            f"bimodal: {'yes' if bimodal else 'no'}", transform=ah.transAxes, ha="center", va="top",
            bbox=dict(boxstyle="round", fc="white", ec="0.7"))

    dist = np.array([np.histogram(w, bins=bins)[0] / len(w) for w in w_of]).T
    # Samples are instants; each column is centred on its sample time.
    t_edges = np.concatenate([[t_s[0]], (t_s[1:] + t_s[:-1]) / 2, [t_s[-1]]]) if len(t_s) > 1 else np.array([0, 1.0])
    mesh = am.pcolormesh(t_edges, bins, np.ma.masked_equal(dist, 0.0), norm=LogNorm(vmin=1e-3, vmax=1),
                         cmap="viridis", shading="flat")  # empty bins stay white
    fig.colorbar(mesh, ax=am, label="fraction of synapses")
    am.set_xlabel("t (s)")
    am.set_ylabel("weight / w_max")
    am.set_title("weight distribution over time")

    af.plot(t_s, 100 * lo_t, "-o", ms=3, color="tab:green", label=f"< {LOW:g} w_max")
    af.plot(t_s, 100 * hi_t, "-o", ms=3, color="tab:red", label=f"> {HIGH:g} w_max")
    af.plot(t_s, 100 * (lo_t + hi_t), "-", color="0.3", label="both")
    af.plot(t_s, 100 * mean_t, "--", color="tab:blue", label="mean weight (% of w_max)")
    af.axhline(100 * MIN_TOGETHER, color="0.5", lw=0.8, ls=":")
    af.axhline(100 * MIN_EACH, color="0.5", lw=0.8, ls=":")
    af.set_ylim(0, 100)
    af.set_xlabel("t (s)")
    af.set_ylabel("% of synapses")
    af.set_title("near the bounds (dotted: 80% and 5%)")
    af.legend(loc="center right", fontsize=8)

    ar.stairs(rate, edges, color="k", lw=1.5, baseline=None)
    ar.set_xlabel("t (s)")
    ar.set_ylabel(f"output rate (Hz, {RATE_BIN_S:g} s bins)")
    ar.set_title(f"output neuron: {rate_all:.1f} Hz overall, {rate_last:.1f} Hz in the last {last:g} s")
    if rate.size and rate.max() > 0 and rate.min() > 0:
        ar.set_yscale("log")  # the initial transient is ~7x the final rate
        ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if rate.min() / 1.5 <= t <= rate.max() * 1.5]
        ar.set_yticks(ticks)
        ar.set_yticklabels([f"{t:g}" for t in ticks])
        ar.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    for ax in (am, af, ar):
        ax.set_xlim(0, duration_s)

    fig.suptitle(f"{run.get('spec_name') or run['spec']}: seed {run['seed']}, w_max = {w_max:g} mV, "
                 f"{len(final)} synapses")
    fig.tight_layout()
    png = args.png or os.path.join(args.out_dir, "song2000.png")
    fig.savefig(png, dpi=110)

    print(f"final weights at t = {t_s[-1]:g} s ({len(final)} synapses, w_max = {w_max:g} mV, seed {run['seed']})")
    print(f"  below {LOW:g} w_max: {100 * lo:.1f}%   above {HIGH:g} w_max: {100 * hi:.1f}%   "
          f"together: {100 * (lo + hi):.1f}%   mean weight: {final.mean():.3f} w_max")
    print(f"  output rate: {rate_all:.2f} Hz over the run, {rate_last:.2f} Hz over the last {last:g} s")
    print(f"  bimodal (>= {100 * MIN_TOGETHER:g}% below {LOW:g} or above {HIGH:g} w_max, >= {100 * MIN_EACH:g}% in "
          f"each group): {'yes' if bimodal else 'no'}")
    print(png)


if __name__ == "__main__":
    main()

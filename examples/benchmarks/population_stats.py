"""Population statistics of finished runs: each population's rate and mean CV of ISIs (from run.json),
and the Fano factor and spectral peak of the population spike counts (from spikes.csv), and over several
runs (one per seed, say) their mean and standard deviation.  Used for the Brunel tables in README.md:

    for s in 1 2 3; do ./build/spikeem run examples/benchmarks/brunel_plastic.pbtxt --out out/bp_$s --seed $s; done
    /usr/bin/python3 examples/benchmarks/population_stats.py out/bp_1 out/bp_2 out/bp_3

The counts are of every spike in spikes.csv (all recorded populations together) in bins of --bin-ms from
--from-ms on (default 200 ms: the start-up transient left out) to the end of the run.  The Fano factor is
their variance over their mean (1 for independent Poisson neurons, larger when the population fires
together); the spectral peak is the frequency of the largest periodogram value above 0 Hz.
"""
import argparse
import csv
import json
import os
import statistics
import sys

import numpy as np


def run_stats(folder, from_ms, bin_ms):
    if not os.path.exists(os.path.join(folder, "run.json")):
        sys.exit(f"population_stats.py: {folder}: no run.json (not the output folder of a finished spikeem run)")
    with open(os.path.join(folder, "run.json")) as f:
        run = json.load(f)
    path = os.path.join(folder, "spikes.csv")
    if not os.path.exists(path):
        sys.exit(f"population_stats.py: {path} not found (a run with spikes recorded, in the csv format)")
    with open(path) as f:
        t = np.array([float(row["t_ms"]) for row in csv.DictReader(f)], dtype=float)
    end_ms = run["duration_ms"]
    if end_ms - from_ms < 2 * bin_ms:
        sys.exit(f"population_stats.py: {folder}: the run ({end_ms} ms) is too short for --from-ms {from_ms}")
    counts = np.histogram(t[t >= from_ms], bins=np.arange(from_ms, end_ms + 1e-9, bin_ms))[0]
    mean = counts.mean()
    fano = counts.var() / mean if mean > 0 else float("nan")
    power = np.abs(np.fft.rfft(counts - mean)) ** 2
    freq_hz = np.fft.rfftfreq(len(counts), bin_ms / 1000.0)
    peak_hz = freq_hz[1 + np.argmax(power[1:])] if mean > 0 else float("nan")
    row = {}
    for p in run["populations"]:
        row[p["name"] + " rate (Hz)"] = p["mean_rate_hz"]
        if p.get("mean_cv_isi") is not None:
            row[p["name"] + " CV ISI"] = p["mean_cv_isi"]
    row["Fano factor"] = fano
    row["spectral peak (Hz)"] = peak_hz
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="output folders of spikeem run (run.json and spikes.csv)")
    ap.add_argument("--from-ms", type=float, default=200.0, help="leave out spikes before this time (ms)")
    ap.add_argument("--bin-ms", type=float, default=1.0, help="bin of the population counts (ms)")
    args = ap.parse_args()
    rows = [run_stats(r, args.from_ms, args.bin_ms) for r in args.runs]
    keys = [k for k in rows[0] if all(k in r for r in rows)]
    for r, row in zip(args.runs, rows):
        print(r + ": " + ", ".join(f"{k} {row[k]:.3g}" for k in keys))
    if len(rows) > 1:
        print(f"over {len(rows)} runs (mean +- standard deviation):")
        for k in keys:
            v = [row[k] for row in rows]
            print(f"  {k}: {statistics.mean(v):.3f} +- {statistics.stdev(v):.3f} (range {min(v):.3g} to {max(v):.3g})")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Time two spikeem builds side by side: paired runs on a shared machine.

On a machine whose speed drifts from minute to minute, alternating runs of two
builds mix the drift into their ratio.  Here both builds run the same
benchmark at the same moment, one per core (taskset), and swap cores every
round; the ratio new/old of each pair's CPU time is then measured under the
same conditions.  Run it with the same binary twice first: the spread of that
ratio is the noise any difference must clear.

  /usr/bin/python3 examples/benchmarks/paired.py --old /tmp/spikeem.old --new build/spikeem \\
      --networks cuba_exp,cuba_stdp --rounds 8 --duration-ms 10000

--bench-args passes more arguments to `spikeem bench`: "--partitions 2 --threads 1" times the work
of two partitions, run one after the other on each build's core.

Prints, per network, the medians of both builds and the median, range and
quartiles of the per-pair ratios (new / old: below 1 means the new build is faster).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile


def bench_cmd(binary, network, duration_ms, core, extra):
    cmd = [binary, "bench", network, "--repeat", "1", "--duration-ms", str(duration_ms), "-q", "--json"] + extra
    if core is not None:
        cmd = ["taskset", "-c", str(core)] + cmd
    return cmd


def run_pair(old, new, network, duration_ms, round_index, pin, extra):
    """Both builds at once; returns (old cpu_s, new cpu_s)."""
    cores = (round_index % 2, 1 - round_index % 2) if pin else (None, None)
    with tempfile.TemporaryFile() as out_old, tempfile.TemporaryFile() as out_new:
        procs = [subprocess.Popen(bench_cmd(old, network, duration_ms, cores[0], extra), stdout=out_old),
                 subprocess.Popen(bench_cmd(new, network, duration_ms, cores[1], extra), stdout=out_new)]
        for p in procs:
            if p.wait() != 0:
                sys.exit(f"paired.py: {' '.join(p.args)} failed with status {p.returncode}")
        times = []
        for f in (out_old, out_new):
            f.seek(0)
            times.append(float(json.load(f)[0]["cpu_s"]))
    return times[0], times[1]


def quartiles(sorted_values):
    n = len(sorted_values)
    return sorted_values[n // 4], sorted_values[(3 * n) // 4]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="the baseline spikeem binary")
    ap.add_argument("--new", required=True, help="the spikeem binary to compare")
    ap.add_argument("--networks", default="cuba_exp", help="comma-separated benchmark names or spec paths")
    ap.add_argument("--rounds", type=int, default=8, help="pairs per network (default 8)")
    ap.add_argument("--duration-ms", type=float, default=10000.0, help="simulated time per run (default 10000)")
    ap.add_argument("--bench-args", default="",
                    help="more arguments for spikeem bench, e.g. \"--partitions 2 --threads 1\" (two partitions run "
                         "one after the other on one thread, so each build keeps to its core)")
    args = ap.parse_args()
    for b in (args.old, args.new):
        if not (os.path.isfile(b) and os.access(b, os.X_OK)):
            sys.exit(f"paired.py: {b}: not an executable file")
    if args.rounds < 1:
        sys.exit(f"paired.py: --rounds {args.rounds}: expected at least 1")
    pin = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    if not pin:
        print("paired.py: no taskset or fewer than 2 cores: runs are paired but not pinned", file=sys.stderr)
    for network in args.networks.split(","):
        olds, news = [], []
        for r in range(args.rounds):
            o, n = run_pair(args.old, args.new, network, args.duration_ms, r, pin, args.bench_args.split())
            olds.append(o)
            news.append(n)
            print(f"  {network} pair {r + 1}/{args.rounds}: old {o:.3f} s, new {n:.3f} s, ratio {n / o:.3f}",
                  file=sys.stderr, flush=True)
        ratios = sorted(n / o for o, n in zip(olds, news))
        q1, q3 = quartiles(ratios)
        print(f"{network}: CPU s old {statistics.median(olds):.4f}, new {statistics.median(news):.4f}; "
              f"new/old median {statistics.median(ratios):.3f}, range {ratios[0]:.3f}-{ratios[-1]:.3f}, "
              f"quartiles {q1:.3f}-{q3:.3f} ({len(ratios)} pairs)")


if __name__ == "__main__":
    main()

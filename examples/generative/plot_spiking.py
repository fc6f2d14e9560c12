#!/usr/bin/env python3
"""Figure of `spikeem em-spiking` from OUT/spiking_inference.csv -> OUT/spiking.png.

Per layer, the relative error ||h_spiking - h_rate|| / ||h_rate|| over the
INFERENCE iterations, one curve per simulated time per iteration (step_ms),
against simulated time.  Spiking: h1, h2 and the map populations feeding
them; not spiking: the rate-based reference.
"""
import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(out):
    rows = list(csv.DictReader(open(out / "spiking_inference.csv")))
    steps = sorted({r["step_ms"] for r in rows}, key=float)
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for a, layer in zip(ax, ("h1", "h2")):
        for step in steps:
            rs = [r for r in rows if r["step_ms"] == step and r["layer"] == layer and int(r["iteration"]) > 0]
            a.plot([float(r["t_ms"]) for r in rs], [float(r["rel_error"]) for r in rs], "-o", ms=3,
                   label=f"{step} ms per iteration")
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("simulated time (ms)")
        a.set_title(f"{layer}: ||h_spiking - h_rate|| / ||h_rate||", fontsize=9)
        a.legend(fontsize=7)
    fig.suptitle("spiking E-step (h1, h2 and the map populations spike) against rate-based INFERENCE", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "spiking.png", dpi=110)
    print(f"wrote {out / 'spiking.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

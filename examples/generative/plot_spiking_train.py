#!/usr/bin/env python3
"""Figure of `spikeem em-spiking-train`: OUT/spiking_train.csv -> OUT/spiking_train.png.

Left: the held-out loss of each spiking-M-step map against fixed targets, for
the rate-based run and the run whose M-step for that map is spiking.  Right:
per minibatch, the cosine between the spiking step and the rate step at the
same state.  Spiking: the chosen maps' weight change (Eq. 1 on their synapses
during spiking inference); not spiking: the teaching nudge, the other maps.
"""
import csv
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(out):
    rows = [r for r in csv.DictReader(open(out / "spiking_train.csv")) if r["spiking_m_step"] == "1"]
    maps = sorted({r["map"] for r in rows})
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for m in maps:
        rs = [r for r in rows if r["map"] == m]
        mb = [int(r["minibatch"]) for r in rs]
        ax[0].plot(mb, [float(r["fixed_loss_rate"]) for r in rs], "-o", ms=3, label=f"{m}: rate-based M-step")
        ax[0].plot(mb, [float(r["fixed_loss_spiking"]) for r in rs], "-s", ms=3, label=f"{m}: spiking M-step")
        pts = [(int(r["minibatch"]), float(r["cosine_same_state"])) for r in rs
               if not math.isnan(float(r["cosine_same_state"]))]
        ax[1].plot([p for p, _ in pts], [c for _, c in pts], "-o", ms=3, label=m)
    ax[0].set_title("held-out loss against fixed targets", fontsize=9)
    ax[1].set_title("cosine(spiking step, rate step at the same state)", fontsize=9)
    ax[1].set_ylim(0, 1)
    for a in ax:
        a.set_xlabel("minibatch")
        a.legend(fontsize=7)
    fig.suptitle("spiking M-step (Eq. 1 on the synapses during spiking inference) against the rate-based one",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "spiking_train.png", dpi=110)
    print(f"wrote {out / 'spiking_train.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

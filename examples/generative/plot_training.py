#!/usr/bin/env python3
"""Training curves of `spikeem em-train`: RUN/train.csv -> RUN/train.png.

Per epoch: the layer-local losses (reconstruction: decoder g_l against h_{l-1};
prediction: encoder f_l against h_l), the mean norms of the inferred h1 and
h2, log p(x, h) of the training digits, and the validation Parzen LL where
it was measured.  Rate-based model: nothing in this figure is spiking.
"""
import csv
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(run):
    rows = list(csv.DictReader(open(run / "train.csv")))
    by_layer = {l: [r for r in rows if r["layer"] == l] for l in ("1", "2")}
    ep = [int(r["epoch"]) for r in by_layer["1"]]
    fig, ax = plt.subplots(1, 4, figsize=(16, 3.6))
    for l, rs in by_layer.items():
        ax[0].plot(ep, [float(r["reconstruction_loss"]) for r in rs], "-o", ms=3, label=f"reconstruction, layer {l}")
        ax[0].plot(ep, [float(r["prediction_loss"]) for r in rs], "--s", ms=3, label=f"prediction, layer {l}")
        ax[1].plot(ep, [float(r["h_norm"]) for r in rs], "-o", ms=3, label=f"|h{l}|")
    ax[0].set_yscale("log")
    ax[0].set_title("layer-local losses (1/2 squared error)")
    ax[1].set_title("mean norm of the inferred h")
    lp = [(e, float(r["log_p_xh"])) for e, r in zip(ep, by_layer["1"]) if not math.isnan(float(r["log_p_xh"]))]
    ax[2].plot([e for e, _ in lp], [v for _, v in lp], "-o", ms=3)
    ax[2].set_title("log p(x, h), training digits")
    for key, label in (("val_ll_generate", "GENERATE"), ("val_ll_ancestral", "ancestral")):
        pts = [(e, float(r[key])) for e, r in zip(ep, by_layer["1"]) if not math.isnan(float(r[key]))]
        ax[3].plot([e for e, _ in pts], [v for _, v in pts], "-o", ms=4, label=label)
    ax[3].set_title("validation Parzen LL (1,000 samples)")
    for a in ax:
        a.set_xlabel("epoch")
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=7)
    fig.suptitle("spikeem em-train (rate-based E-step and M-step)", fontsize=10)
    fig.tight_layout()
    fig.savefig(run / "train.png", dpi=110)
    print(f"wrote {run / 'train.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

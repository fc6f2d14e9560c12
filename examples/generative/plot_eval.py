#!/usr/bin/env python3
"""Figures of `spikeem em-eval` from the files it wrote into EVAL:

- samples.png: ancestral samples (h2 -> h1 -> x) beside GENERATE samples
  (three INFERENCE-refined steps) from the same h2 draws;
- inference.png: log p(x, h) over INFERENCE iterations, mean and standard
  error over the scored digits, at the training alpha and at GENERATE's, with
  its three terms;
- inpaint.png: digits with their lower half unknown, in-painted round by round.
The E-step is rate-based unless parzen.json says "e_step": "spiking".
"""
import csv
import json
import struct
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def read_idx(path):
    data = path.read_bytes()
    zero, kind, ndim = struct.unpack(">HBB", data[:4])
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    dtype = {0x08: ">u1", 0x0D: ">f4", 0x0E: ">f8"}[kind]
    return np.frombuffer(data[4 + 4 * ndim:], dtype=dtype).reshape(dims).astype(float)


def tile(images, cols):
    n, h, w = images.shape
    rows = (n + cols - 1) // cols
    out = np.ones((rows * (h + 1), cols * (w + 1)))
    for k in range(n):
        r, c = divmod(k, cols)
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = images[k]
    return out


def samples_figure(ev, e_step):
    fig, ax = plt.subplots(1, 2, figsize=(10, 5.4))
    for a, name, title in ((ax[0], "samples_ancestral.idx", "ancestral: h2 ~ p(h2), h1 = g2(h2), x = g1(h1)"),
                           (ax[1], "samples_generate.idx", "GENERATE: 3 INFERENCE-refined steps (alpha 0.3)")):
        a.imshow(1 - tile(read_idx(ev / name), 10), cmap="gray", vmin=0, vmax=1)
        a.set_title(title, fontsize=9)
        a.axis("off")
    fig.suptitle(f"samples from the same h2 draws ({e_step} E-step)", fontsize=10)
    fig.tight_layout()
    fig.savefig(ev / "samples.png", dpi=110)


def inference_figure(ev, e_step):
    rows = list(csv.DictReader(open(ev / "inference.csv")))
    alphas = sorted({r["alpha"] for r in rows}, key=float)
    terms = ["log_p_xh", "log_p_x_given_h1", "log_p_h1_given_h2", "log_p_h2"]
    fig, ax = plt.subplots(1, len(terms), figsize=(16, 3.6))
    for a, term in zip(ax, terms):
        for alpha in alphas:
            rs = [r for r in rows if r["alpha"] == alpha and r["term"] == term]
            it = np.array([int(r["iteration"]) for r in rs])
            m = np.array([float(r["mean"]) for r in rs])
            se = np.array([float(r["se"]) for r in rs])
            a.plot(it, m, "-o", ms=3, label=f"alpha = {alpha}")
            a.fill_between(it, m - se, m + se, alpha=0.3)
        a.set_title(term.replace("_", " "), fontsize=9)
        a.set_xlabel("INFERENCE iteration")
        a.legend(fontsize=7)
    fig.suptitle(f"log p(x, h) over INFERENCE, mean +- standard error over the digits ({e_step} E-step)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(ev / "inference.png", dpi=110)


def inpaint_figure(ev):
    imgs = read_idx(ev / "inpaint.idx")
    digits = 10
    rounds = imgs.shape[0] // digits
    fig, ax = plt.subplots(1, 1, figsize=(1.0 * rounds + 1, 11))
    grid = np.concatenate([imgs[k * digits:(k + 1) * digits] for k in range(rounds)], axis=0)
    order = [k * digits + d for d in range(digits) for k in range(rounds)]
    ax.imshow(1 - tile(grid[order], rounds), cmap="gray", vmin=0, vmax=1)
    ax.set_title("original | lower half noise | in-painting rounds 1..", fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(ev / "inpaint.png", dpi=110)


def main(ev):
    e_step = json.load(open(ev / "parzen.json")).get("e_step", "rate")
    samples_figure(ev, e_step)
    inference_figure(ev, e_step)
    inpaint_figure(ev)
    print(f"wrote {ev / 'samples.png'}, {ev / 'inference.png'}, {ev / 'inpaint.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

#!/usr/bin/python3
"""Plot the outputs of `spikeem stdp-curve`: plot_stdp_curve.py OUT_DIR [--bi-poo].

stdp_curve.csv -> stdp_curve.png: dw (mV) against dt, with the rule's own
prediction for the protocol (the rule of stdp_curve.json applied to the
protocol's spike times: its window, pairing, weight dependence and bounds).
With --bi-poo, or "plot_bi_poo": true in stdp_curve.json (`spikeem stdp-curve
--plot-bi-poo`), also the exponential fit to the data of Bi & Poo (1998)
(tau+ = 16.8 ms, tau- = 33.7 ms, Bi & Poo 2001), scaled to the measured peak
of each side: experimental data for shape only.
stdp_frequency.csv -> stdp_frequency.png: dw_rel against pairing frequency.
stdp_frequency_presets.csv -> stdp_frequency_presets.png: the same for every
triplet preset, one panel each.
"""
import csv
import json
import math
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

TAU_PLUS_BI_POO, TAU_MINUS_BI_POO = 16.8, 33.7
PAIRING_NAMES = ["all-to-all", "nearest symmetric", "nearest presynaptic-centred"]


def read(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([r[k] if k == "preset" else float(r[k]) for r in rows]) for k in rows[0]}


def save(fig, path):
    tmp = path + ".tmp.png"  # renamed into place only when complete
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)
    print(path)


class Weight:
    """One synapse under hard bounds and Guetig weight dependence, as spikeem applies them."""

    def __init__(self, meta):
        self.w = meta["w0_mV"]
        self.lo = meta["w_min_mV"]
        self.hi = math.inf if meta["w_max_mV"] is None else meta["w_max_mV"]
        self.mu_plus, self.mu_minus = meta["mu_plus"], meta["mu_minus"]

    def potentiate(self, p):
        f = 1.0 if self.mu_plus == 0 else max(0.0, (self.hi - self.w) / (self.hi - self.lo)) ** self.mu_plus
        self.w = min(max(self.w + p * f, self.lo), self.hi)

    def depress(self, d):
        f = 1.0 if self.mu_minus == 0 else max(0.0, (self.w - self.lo) / (self.hi - self.lo)) ** self.mu_minus
        self.w = min(max(self.w - d * f, self.lo), self.hi)


def protocol_events(n, period, dt):
    """Pre at k * period, post at k * period + dt (times at the synapse, on spikeem's 1 ns grid, so that
    pairs that coincide in exact arithmetic coincide here too); pre first at equal times."""
    ns = lambda t: round(t * 1e6) / 1e6
    ev = [(ns(k * period), 0) for k in range(n)] + [(ns(k * period + dt), 1) for k in range(n)]
    return sorted(ev)


def predict(meta, dt):
    """dw (mV) of the protocol under the rule's equations (docs/science.md and plasticity/params.hpp)."""
    rule = meta["rule"]
    w = Weight(meta)
    w0 = w.w
    period = 1000.0 / meta["frequency_hz"]
    last = None
    if rule["rule"] == "pair_stdp":
        tp, tm, pairing = rule["tau_plus_ms"], rule["tau_minus_ms"], rule["pairing"]
        x = y = 0.0
        for t, kind in protocol_events(meta["pairings"], period, dt):
            if last is not None:
                x *= math.exp(-(t - last) / tp)
                y *= math.exp(-(t - last) / tm)
            last = t
            if kind == 0:
                w.depress(rule["a_minus_mV"] * y)
                x = 1.0 if pairing == 1 else x + 1.0
            else:
                w.potentiate(rule["a_plus_mV"] * x)
                if pairing == 2:
                    x = 0.0  # presynaptic-centred: each pre spike pairs with the first post spike after it
                y = y + 1.0 if pairing == 0 else 1.0
        return w.w - w0
    taus = (rule["tau_plus_ms"], rule["tau_x_ms"], rule["tau_minus_ms"], rule["tau_y_ms"])
    nearest = rule["nearest_spike"]
    tr = [0.0, 0.0, 0.0, 0.0]  # r1, r2, o1, o2
    for t, kind in protocol_events(meta["pairings"], period, dt):
        if last is not None:
            tr = [v * math.exp(-(t - last) / tau) for v, tau in zip(tr, taus)]
        last = t
        if kind == 0:
            w.depress(tr[2] * (rule["a2_minus_mV"] + rule["a3_minus_mV"] * tr[1]))
            tr[0], tr[1] = (1.0, 1.0) if nearest else (tr[0] + 1.0, tr[1] + 1.0)
        else:
            w.potentiate(tr[0] * (rule["a2_plus_mV"] + rule["a3_plus_mV"] * tr[3]))
            tr[2], tr[3] = (1.0, 1.0) if nearest else (tr[2] + 1.0, tr[3] + 1.0)
    return w.w - w0


def rule_label(meta):
    rule = meta["rule"]
    if rule["rule"] == "pair_stdp":
        return (f"pair STDP, {PAIRING_NAMES[rule['pairing']]}: A+ {rule['a_plus_mV']:g}, A- {rule['a_minus_mV']:g} mV, "
                f"tau+ {rule['tau_plus_ms']:g}, tau- {rule['tau_minus_ms']:g} ms")
    name = meta.get("preset") or "triplet STDP"
    return f"{name} ({'nearest spike' if rule['nearest_spike'] else 'all-to-all'})"


def curve(out, bi_poo):
    d = read(os.path.join(out, "stdp_curve.csv"))
    with open(os.path.join(out, "stdp_curve.json")) as f:
        meta = json.load(f)
    bi_poo = bi_poo or meta.get("plot_bi_poo", False)
    dt, dw = d["dt_ms"], d["dw"]
    fig, ax = plt.subplots(figsize=(8, 5))
    x = np.union1d(np.linspace(dt.min(), dt.max(), 801), dt)
    pred = np.array([predict(meta, v) for v in x])
    at_points = np.array([predict(meta, v) for v in dt])
    worst = np.abs(at_points - dw).max()
    split = np.where(x < 0, pred, np.nan), np.where(x >= 0, pred, np.nan)  # no line across the jump at dt = 0
    ax.plot(x, split[0], "-", color="0.55", lw=2,
            label=f"the rule's prediction for this protocol (max |measured - predicted| = {worst:.1e} mV)")
    ax.plot(x, split[1], "-", color="0.55", lw=2)
    ax.plot(dt, dw, ".", color="C0", ms=4, label="spikeem, full simulator")
    if bi_poo:
        pos, neg = dt >= 0, dt < 0
        peak_pos = dw[pos].max() if pos.any() else 0.0
        peak_neg = -dw[neg].min() if neg.any() else 0.0
        fit = np.where(x >= 0, peak_pos * np.exp(-np.abs(x) / TAU_PLUS_BI_POO),
                       -peak_neg * np.exp(-np.abs(x) / TAU_MINUS_BI_POO))
        ax.plot(x, fit, "--", color="C3", lw=1.2,
                label="Bi & Poo (1998) data, exponential fit (tau+ 16.8, tau- 33.7 ms; Bi & Poo 2001),\n"
                      "scaled to the measured peak of each side: shape only")
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("dt = t_post - t_pre at the synapse (ms)")
    ax.set_ylabel(f"dw after {meta['pairings']} pairings (mV; w0 = {meta['w0_mV']:g} mV)")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"STDP curve: {meta['pairings']} pairs at {meta['frequency_hz']:g} Hz\n{rule_label(meta)}",
                 fontsize=10)
    fig.tight_layout()
    save(fig, os.path.join(out, "stdp_curve.png"))


def frequency(out):
    d = read(os.path.join(out, "stdp_frequency.csv"))
    title = "Pairing-frequency protocol (Sjostrom et al. 2001)"
    meta_path = os.path.join(out, "stdp_curve.json")
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        title += f"\n{meta['pairings']} pairs, {rule_label(meta)}"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for sign, style in ((1, "o-"), (-1, "s--")):
        sel = np.sign(d["dt_ms"]) == sign
        ax.plot(d["frequency_hz"][sel], 100 * d["dw_rel"][sel], style,
                label=f"dt = {d['dt_ms'][sel][0]:+g} ms")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("pairing frequency (Hz)")
    ax.set_ylabel("weight change (% of w0)")
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    save(fig, os.path.join(out, "stdp_frequency.png"))


def presets(out):
    d = read(os.path.join(out, "stdp_frequency_presets.csv"))
    with open(os.path.join(out, "stdp_frequency_presets.json")) as f:
        metas = json.load(f)
    names = [m["preset"] for m in metas]
    cols = (len(names) + 1) // 2
    fig, axes = plt.subplots(2, cols, figsize=(3.4 * cols, 6.4), sharex=True)
    for ax, name in zip(axes.flat, names):
        for sign, style, colour in ((-1, "s--", "C3"), (1, "o-", "C0")):
            sel = (d["preset"] == name) & (np.sign(d["dt_ms"]) == sign)
            ax.plot(d["frequency_hz"][sel], 100 * d["dw_rel"][sel], style, color=colour, ms=4,
                    label=f"dt = {d['dt_ms'][sel][0]:+g} ms")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("pairing frequency (Hz)", fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("weight change (% of w0)", fontsize=9)
    axes.flat[0].legend(fontsize=8)
    m = metas[0]
    floor = 100 * (m["w_min_mV"] - m["w0_mV"]) / m["w0_mV"]
    fig.suptitle(f"Triplet presets (Pfister & Gerstner 2006; visual cortex: Table 3, hippocampus: Table 4): "
                 f"{m['pairings']} pairs per point,\ndt = t_post - t_pre at the synapse; "
                 f"w0 = {m['w0_mV']:g} mV, w_min = {m['w_min_mV']:g} mV (a change of {floor:g} % is the bound)",
                 fontsize=10)
    fig.tight_layout()
    save(fig, os.path.join(out, "stdp_frequency_presets.png"))


def main():
    args = [a for a in sys.argv[1:] if a != "--bi-poo"]
    if len(args) != 1:
        sys.exit(__doc__)
    out = args[0]
    done = False
    if os.path.exists(os.path.join(out, "stdp_curve.csv")):
        curve(out, "--bi-poo" in sys.argv[1:])
        done = True
    if os.path.exists(os.path.join(out, "stdp_frequency.csv")):
        frequency(out)
        done = True
    if os.path.exists(os.path.join(out, "stdp_frequency_presets.csv")):
        presets(out)
        done = True
    if not done:
        sys.exit(f"{out}: no stdp_curve.csv, stdp_frequency.csv or stdp_frequency_presets.csv")


if __name__ == "__main__":
    main()

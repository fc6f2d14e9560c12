#!/usr/bin/python3
"""The network of first_network.pbtxt, built and run from Python.

    /usr/bin/python3 examples/first_network/first_network.py [PNG]

Prints the rates, checks that the spec is the one in the .pbtxt file (same
hash), and draws the input raster, the neurons' raster and one membrane
voltage into PNG (default first_network.png in the current folder).
"""
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

import spikeem

spec = spikeem.Spec(
    name="first_network",
    run=dict(duration_ms=1000, seed=1),
    population=[
        dict(name="input", size=100, poisson=dict(rate_hz=20)),
        dict(name="neurons", size=50,
             lif_delta=dict(tau_m_ms=20, v_rest_mV=-70, v_reset_mV=-70, v_th_mV=-55, t_ref_ms=2)),
    ],
    projection=[
        dict(source="input", target="neurons", fixed_probability=dict(p=0.2),
             weight_mV=dict(constant=1.8), delay_ms=dict(constant=1.5)),
        dict(source="neurons", target="neurons", all_to_all={},
             weight_mV=dict(constant=-0.5), delay_ms=dict(constant=1.0)),
    ],
    record=dict(spikes=["input", "neurons"],
                voltage=[dict(population="neurons", neuron=[0], interval_ms=0.1)]),
)

# The same network as the text spec: the same hash, so the same spikes as `spikeem run`.
here = os.path.dirname(os.path.abspath(__file__))
assert spec.hash() == spikeem.Spec.from_file(os.path.join(here, "first_network.pbtxt")).hash()

sim = spikeem.Simulation(spec)
sim.run()
for name in sim.populations:
    s = sim.summary(name)
    print(f"{name:8s} {s['spikes']:6d} spikes, {s['mean_rate_hz']:6.2f} Hz")

fig, ax = plt.subplots(3, 1, figsize=(8, 6), sharex=True, gridspec_kw=dict(height_ratios=[2, 2, 1]))
for a, name in zip(ax, ["input", "neurons"]):
    t_ms, neuron = sim.spikes(name)
    a.plot(t_ms, neuron, "|", markersize=3, color="k")
    a.set_ylabel(f"{name}\nneuron")
v = sim.voltages("neurons")
ax[2].plot(v.t_ms, v.values[:, 0], lw=0.7)
ax[2].set_ylabel("V (mV)\nneuron 0")
ax[2].set_xlabel("t (ms)")
fig.tight_layout()
png = sys.argv[1] if len(sys.argv) > 1 else "first_network.png"
fig.savefig(png, dpi=100)
print(f"wrote {png}")

#!/usr/bin/python3
# %% [markdown]
# # A Brunel network, swept in Python
#
# Brunel (2000, J. Comput. Neurosci. 8:183) model A: N_E excitatory and
# N_I = N_E / 4 inhibitory leaky integrate-and-fire neurons with voltage-jump
# synapses, each receiving C_E = 0.1 N_E excitatory and C_I = 0.1 N_I
# inhibitory inputs (fixed in-degree), weight J and -g J, delay D, plus
# C_E external Poisson inputs at eta * nu_thr each: a `poisson_input` with
# `sources: C_E` per population, drawn exactly into each neuron without a
# source population.  The relative strength of inhibition g decides the state: below
# g = 4 excitation wins and the network fires fast and regularly; above it
# the network settles in the asynchronous irregular state at a low rate.
#
# Run it as a script (`/usr/bin/python3 examples/python/brunel_sweep.py`),
# or cell by cell in an editor that knows `# %%` cells (VS Code, Spyder,
# Jupyter with jupytext).  `--quick` runs a smaller, shorter sweep.

# %%
import sys

import numpy as np

import spikeem

quick = "--quick" in sys.argv
N_E = 400 if quick else 2000
N_I = N_E // 4
C_E, C_I = N_E // 10, N_I // 10
J_mV, D_ms, theta_mV, tau_ms = 0.2, 1.5, 20.0, 20.0
nu_thr_hz = theta_mV / (J_mV * C_E * tau_ms) * 1000.0  # the external rate that alone brings V to threshold
eta = 2.0
duration_ms = 200.0 if quick else 1000.0
gs = [3.0, 5.0] if quick else [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def brunel(g, seed=1):
    """The network for relative inhibition g, as a spikeem.Spec."""
    lif = dict(tau_m_ms=tau_ms, v_rest_mV=0.0, v_reset_mV=10.0, v_th_mV=theta_mV, t_ref_ms=2.0,
               v_init_mV=dict(uniform=dict(low=0.0, high=theta_mV)))
    delay = dict(constant=D_ms)
    return spikeem.Spec(
        name=f"brunel_g{g:g}",
        run=dict(duration_ms=duration_ms, seed=seed, resolution_ns=100),
        population=[dict(name="E", size=N_E, lif_delta=lif),
                    dict(name="I", size=N_I, lif_delta=lif)],
        projection=[
            dict(source="E", target="E", fixed_indegree=dict(indegree=C_E), weight_mV=dict(constant=J_mV), delay_ms=delay),
            dict(source="E", target="I", fixed_indegree=dict(indegree=C_E), weight_mV=dict(constant=J_mV), delay_ms=delay),
            dict(source="I", target="E", fixed_indegree=dict(indegree=C_I), weight_mV=dict(constant=-g * J_mV),
                 delay_ms=delay),
            dict(source="I", target="I", fixed_indegree=dict(indegree=C_I), weight_mV=dict(constant=-g * J_mV),
                 delay_ms=delay)],
        poisson_input=[dict(target=name, rate_hz=eta * nu_thr_hz, sources=C_E, weight_mV=J_mV) for name in ("E", "I")],
        record=dict(spikes=["E", "I"]))


# %% [markdown]
# One network first: its rates and the CV of its inter-spike intervals.

# %%
sim = spikeem.Simulation(brunel(5.0), threads=0).run()
for name in ("E", "I"):
    s = sim.summary(name)
    print(f"g = 5: {name} fires at {s['mean_rate_hz']:.2f} Hz, CV of ISIs {s['mean_cv_isi']:.2f}")

# %% [markdown]
# The sweep: the same network for each g (one simulation each; threads=0
# uses every core, and the result does not depend on it).

# %%
rates, cvs = [], []
for g in gs:
    sim = spikeem.Simulation(brunel(g), threads=0).run()
    s = sim.summary("E")
    rates.append(s["mean_rate_hz"])
    cvs.append(s["mean_cv_isi"] if s["mean_cv_isi"] is not None else np.nan)
    print(f"g = {g:g}: E at {rates[-1]:7.2f} Hz, CV {cvs[-1]:.2f} ({sim.wall_time_s:.1f} s wall)")

# %%
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
a.semilogy(gs, rates, "o-")
a.set_xlabel("g (relative inhibition)")
a.set_ylabel("E rate (Hz)")
b.plot(gs, cvs, "o-")
b.set_xlabel("g (relative inhibition)")
b.set_ylabel("CV of ISIs")
fig.suptitle(f"Brunel model A, N_E = {N_E}, eta = {eta:g}, {duration_ms:g} ms")
fig.tight_layout()
png = next((a for a in sys.argv[1:] if a.endswith(".png")), "brunel_sweep.png")
fig.savefig(png, dpi=100)
print(f"wrote {png}")

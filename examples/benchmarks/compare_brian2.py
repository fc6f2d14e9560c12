#!/usr/bin/python3
"""Time spikeem against Brian2 (C++ standalone, one thread) on the cuba_delta, cuba_exp, cuba_stdp and coba
benchmarks.

cuba_delta (examples/benchmarks/cuba_delta.pbtxt, Brette et al. 2007 benchmark 4): 4000 LIF neurons (3200 E,
800 I), connection probability 0.02 without autapses, tau_m = 20 ms, E_L = -49 mV, V_th = -50 mV,
V_reset = -60 mV, refractory 5 ms (inputs during it are lost, as in spikeem), delay 0.125 ms, jumps
+0.25 mV (E) and -2.25 mV (I), initial V uniform in [-60, -50) mV, and the kick: 50 Poisson sources
at 300 Hz from 1 to 51 ms onto the first 50 E neurons.  spikeem is event driven with exact spike
times; Brian2 is clock driven (exact integration of the linear ODE per step, threshold checked
every dt), so the two are the same network and statistically the same dynamics, not the same spikes.

cuba_exp (examples/benchmarks/cuba_exp.pbtxt, benchmark 2, Brian2's CUBA example): the same 4000
neurons and connectivity with exponential currents, tau_m dv/dt = (El - v) + ge + gi (unless refractory),
tau_e = 5 ms, tau_i = 10 ms, on_pre ge += 1.62 mV (E) / gi += -9 mV (I): inputs during refractoriness
still add to ge and gi (Brian2's example, and spikeem's rule); no kick (E_L above threshold starts it);
delay 0.125 ms (Brian2's example has none: one step).

cuba_stdp (examples/benchmarks/cuba_stdp.pbtxt): cuba_exp with additive all-to-all pair STDP on E->E
(event-driven traces apre/apost with tau 20 ms, A+ = 0.01 w_max, A- = 1.05 A+, w in [0, 2 x 1.62 mV],
transmit then update, as in spikeem), E->I static.

coba (examples/benchmarks/coba.pbtxt, Brette et al. 2007 benchmark 1, Vogels & Abbott's COBA network):
the same 4000 neurons and connectivity with exponential conductances in units of g_leak = 10 nS,
tau_m dv/dt = (El - v) + ge (Ee - v) + gi (Ei - v) (unless refractory), El = -60 mV, Vt = -50 mV,
Vr = -60 mV, Ee = 0 mV, Ei = -80 mV, tau_e = 5 ms, tau_i = 10 ms, on_pre ge += 0.6 (6 nS) / gi += 6.7
(67 nS), refractory 5 ms, initial v uniform in [-60, -50) mV, ge = gi = 0, the kick of the spec (200
Poisson sources at 100 Hz for t < 50 ms, each E neuron fed by one of them, chosen at random, 6 nS), delay
0.1 ms, Brian2's dt 0.1 ms by default (one step of delay) with method "exponential_euler" (exact for v
with the conductances frozen over a step; Brian2 cannot integrate this system exactly).

Recording, the same in both: spikes of all 4000 neurons, and V of E neurons 0, 1, 2 every 0.1 ms
(the specs' voltage probe; Brian2's StateMonitor with dt = 0.1 ms).

Timing, in one invocation and interleaved (spikeem, Brian2, spikeem, ...) so that both see the same
machine load:
  spikeem: `spikeem bench NETWORK --json --repeat 1` (simulation only: building the network is
           timed separately and excluded);
  Brian2:  the project is generated and compiled once (not timed), then the compiled binary is run
           --repeat times; "run" is Brian2's own timer around network.run() (results/last_run_info.txt),
           which excludes creating the synapses and writing results; "binary" is the whole process.
Medians over the repeats; the ratio is the median of the per-repeat ratios spikeem / Brian2 (run).
Wall times count waiting for a core on a loaded machine, so the load average is printed, and so is a
CPU-time ratio: spikeem's simulation CPU time over the CPU time of Brian2's whole binary (synapse
creation and output included), which can only understate Brian2's lead.

Needs python3-brian (Debian; `apt-get install python3-brian`) and a C++ compiler.

usage: /usr/bin/python3 examples/benchmarks/compare_brian2.py [--networks cuba_delta,cuba_exp,cuba_stdp,coba]
       [--duration-ms 10000] [--repeat 3] [--dt-ms DT] [--spikeem build/spikeem] [--workdir DIR]
       [--json-out FILE]
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

N_E, N_I, N_KICK = 3200, 800, 50
NETWORKS = ("cuba_delta", "cuba_exp", "cuba_stdp", "coba")
# Brian2's default time step per network (ms): one step of the network's delay.
DEFAULT_DT_MS = {"cuba_delta": 0.125, "cuba_exp": 0.125, "cuba_stdp": 0.125, "coba": 0.1}
N_COBA_KICK = 200


def cv_and_rates(spike_i, spike_t_s, n_e, n_i, duration_s):
    """Per population mean rate (Hz) and mean CV of ISIs: std/mean (ddof 0) per neuron with at
    least 2 intervals, averaged over those neurons (spikeem's definition)."""
    import numpy as np

    spike_i = np.asarray(spike_i, dtype=np.int64)
    spike_t_s = np.asarray(spike_t_s, dtype=np.float64)
    order = np.lexsort((spike_t_s, spike_i))
    spike_i, spike_t_s = spike_i[order], spike_t_s[order]
    out = {}
    for name, lo, hi in (("E", 0, n_e), ("I", n_e, n_e + n_i)):
        sel = (spike_i >= lo) & (spike_i < hi)
        ii, tt = spike_i[sel], spike_t_s[sel]
        cvs = []
        bounds = np.flatnonzero(np.diff(ii)) + 1
        for chunk in np.split(tt, bounds):
            if len(chunk) >= 3:
                isi = np.diff(chunk)
                if isi.mean() > 0:
                    cvs.append(isi.std() / isi.mean())
        out[name] = {
            "spikes": int(sel.sum()),
            "mean_rate_hz": float(sel.sum()) / (hi - lo) / duration_s,
            "mean_cv_isi": float(np.mean(cvs)) if cvs else float("nan"),
        }
    return out


class Brian2Cuba:
    """The cuba_delta network in Brian2's C++ standalone mode, compiled once, run many times."""

    def __init__(self, network, workdir, duration_ms, dt_ms, seed):
        import brian2 as b

        self.b = b
        self.network = network
        self.workdir = workdir
        self.duration_s = duration_ms / 1000.0
        b.device.reinit()  # a fresh standalone project per network in one process
        b.set_device("cpp_standalone", directory=workdir, build_on_run=False)
        b.prefs.devices.cpp_standalone.openmp_threads = 0  # one thread, no OpenMP
        b.defaultclock.dt = dt_ms * b.ms
        b.seed(seed)
        ms, mV = b.ms, b.mV
        objects = []
        delay = (0.1 if network == "coba" else 0.125) * ms
        if network == "coba":
            # Conductances in units of g_leak = 10 nS: 6 nS -> 0.6, 67 nS -> 6.7.
            ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, El=-60 * mV, Vt=-50 * mV, Vr=-60 * mV,
                      Ee=0 * mV, Ei=-80 * mV, we=0.6, wi=6.7)
            eqs = """
            dv/dt  = ((El - v) + ge * (Ee - v) + gi * (Ei - v)) / taum : volt (unless refractory)
            dge/dt = -ge / taue : 1
            dgi/dt = -gi / taui : 1
            """
            P = b.NeuronGroup(N_E + N_I, eqs, threshold="v > Vt", reset="v = Vr", refractory=5 * ms,
                              method="exponential_euler", namespace=ns, name="P")
            on_pre_e = "ge_post += we"
            on_pre_i = "gi_post += wi"
        elif network == "cuba_delta":
            ns = dict(taum=20 * ms, El=-49 * mV, Vt=-50 * mV, Vr=-60 * mV, we=0.25 * mV, wi=-2.25 * mV)
            P = b.NeuronGroup(N_E + N_I, "dv/dt = (El - v) / taum : volt (unless refractory)",
                              threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exact",
                              namespace=ns, name="P")
            # Inputs during refractoriness are lost (spikeem's rule); Brian2 would otherwise add them
            # to the clamped V.
            on_pre_e = "v_post += we * int(not_refractory_post)"
            on_pre_i = "v_post += wi * int(not_refractory_post)"
        else:
            ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, El=-49 * mV, Vt=-50 * mV, Vr=-60 * mV,
                      we=60 * 0.27 / 10 * mV, wi=-20 * 4.5 / 10 * mV)
            eqs = """
            dv/dt  = (ge + gi - (v - El)) / taum : volt (unless refractory)
            dge/dt = -ge / taue : volt
            dgi/dt = -gi / taui : volt
            """
            P = b.NeuronGroup(N_E + N_I, eqs, threshold="v > Vt", reset="v = Vr", refractory=5 * ms,
                              method="exact", namespace=ns, name="P")
            # Brian2's CUBA example: the currents integrate inputs also while V is held.
            on_pre_e = "ge_post += we"
            on_pre_i = "gi_post += wi"
        P.v = "Vr + rand() * (Vt - Vr)"
        Pe, Pi = P[:N_E], P[N_E:]
        # One delay for all synapses, 0.125 ms.
        Ci = b.Synapses(Pi, P, on_pre=on_pre_i, delay=delay, namespace=ns, name="Ci")
        Ci.connect(condition="j != i + %d" % N_E, p=0.02)
        if network == "cuba_stdp":
            # examples/benchmarks/cuba_stdp.pbtxt: additive all-to-all pair STDP on E->E, transmit then
            # update, hard bounds [0, w_max]; E->I static.
            ns.update(taupre=20 * ms, taupost=20 * ms, wmax=2 * 1.62 * mV, Aplus=0.01 * 2 * 1.62 * mV,
                      Aminus=1.05 * 0.01 * 2 * 1.62 * mV, w0=1.62 * mV)
            Cee = b.Synapses(Pe, Pe, model="""w : volt
                dapre/dt = -apre / taupre : volt (event-driven)
                dapost/dt = -apost / taupost : volt (event-driven)""",
                on_pre="ge_post += w\napre += Aplus\nw = clip(w - apost, 0 * mV, wmax)",
                on_post="apost += Aminus\nw = clip(w + apre, 0 * mV, wmax)",
                delay=0.125 * ms, namespace=ns, name="Cee")
            Cee.connect(condition="i != j", p=0.02)
            Cee.w = "w0"
            Cei = b.Synapses(Pe, Pi, on_pre=on_pre_e, delay=0.125 * ms, namespace=ns, name="Cei")
            Cei.connect(p=0.02)
            self.Ce = [Cee, Cei]
            objects += [P, Cee, Cei, Ci]
        else:
            Ce = b.Synapses(Pe, P, on_pre=on_pre_e, delay=delay, namespace=ns, name="Ce")
            Ce.connect(condition="i != j", p=0.02)  # subgroup indices: E neuron i is neuron i of P
            self.Ce = [Ce]
            objects += [P, Ce, Ci]
        self.Mk = None
        self.Ck = None
        if network == "coba":
            # The spec's kick: 200 Poisson sources at 100 Hz for t < 50 ms, each E neuron fed by one.
            import numpy as np
            kick = b.PoissonGroup(N_COBA_KICK, rates="100*Hz * int(t < 50*ms)", name="kick")
            self.Ck = b.Synapses(kick, Pe, on_pre=on_pre_e, delay=delay, namespace=ns, name="Ck")
            self.Ck.connect(i=np.random.RandomState(seed).randint(0, N_COBA_KICK, size=N_E), j=np.arange(N_E))
            self.Mk = b.SpikeMonitor(kick, name="Mk")
            objects += [kick, self.Ck, self.Mk]
        elif network == "cuba_delta":
            kick = b.PoissonGroup(N_KICK, rates="300*Hz * int(t >= 1*ms) * int(t < 51*ms)", name="kick")
            Ck = b.Synapses(kick, P[:N_KICK], on_pre=on_pre_e, delay=0.125 * ms, namespace=ns, name="Ck")
            Ck.connect(j="i")
            self.Mk = b.SpikeMonitor(kick, name="Mk")
            objects += [kick, Ck, self.Mk]
        self.M = b.SpikeMonitor(P, name="M")
        # The specs also record V of E neurons 0, 1, 2 every 0.1 ms: the same here, so that both
        # simulators do the same recording.
        self.V = b.StateMonitor(P, "v", record=[0, 1, 2], dt=0.1 * ms, name="V")
        self.Ci = Ci
        self.net = b.Network(*objects, self.M, self.V)
        self.net.run(self.duration_s * b.second, namespace=ns)
        t0 = time.perf_counter()
        b.device.build(directory=workdir, compile=True, run=False, with_output=False)
        self.compile_s = time.perf_counter() - t0

    def run_once(self):
        """Run the compiled binary; returns (Brian2's network-run time, binary wall, binary CPU)."""
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        self.b.device.run(self.workdir, with_output=False, run_args=[])
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        return float(self.b.device._last_run_time), wall, cpu

    def stats(self):
        import numpy as np

        i = np.asarray(self.M.i[:])
        t = np.asarray(self.M.t[:] / self.b.second)
        out = cv_and_rates(i, t, N_E, N_I, self.duration_s)
        # Synaptic events: every spike reaches each of its outgoing synapses.
        out_e = sum(np.bincount(np.asarray(c.i[:]), minlength=N_E) for c in self.Ce)
        out_i = np.bincount(np.asarray(self.Ci.i[:]), minlength=N_I)
        kick, kick_synapses = 0, 0
        if self.Ck is not None:  # coba: each kick spike reaches the E neurons its source feeds
            out_k = np.bincount(np.asarray(self.Ck.i[:]), minlength=N_COBA_KICK)
            kick, kick_synapses = int(out_k[np.asarray(self.Mk.i[:])].sum()), int(out_k.sum())
        elif self.Mk is not None:  # cuba_delta: one synapse per kick source
            kick, kick_synapses = len(self.Mk.i[:]), N_KICK
        syn = int(out_e[i[i < N_E]].sum() + out_i[i[i >= N_E] - N_E].sum()) + kick
        out["synaptic_events"] = syn
        out["synapses"] = int(sum(len(c.i[:]) for c in self.Ce) + len(self.Ci.i[:]) + kick_synapses)
        return out


def spikeem_once(binary, network, duration_ms, seed):
    cmd = [binary, "bench", network, "--json", "--repeat", "1", "-q", "--duration-ms", repr(duration_ms),
           "--seed", str(seed)]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(res.stdout)[0]


def fmt_cv(x):
    return "-" if x is None or x != x else f"{x:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration-ms", type=float, default=10000.0,
                    help="simulated time (ms); default 10000, the benchmark's length")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each simulator (medians are reported)")
    ap.add_argument("--dt-ms", type=float, default=None,
                    help="Brian2's time step (ms); default one step of the network's delay: 0.125 for the cuba "
                         "networks, 0.1 for coba")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--spikeem", default=os.path.join(REPO, "build", "spikeem"), help="spikeem binary")
    ap.add_argument("--workdir", help="Brian2 project folder (default: a temporary folder, removed)")
    ap.add_argument("--json-out", help="also write the results to this JSON file (a list when several networks)")
    ap.add_argument("--networks", default=",".join(NETWORKS),
                    help=f"comma-separated networks to compare, of {', '.join(NETWORKS)}; default all")
    args = ap.parse_args()
    networks = [n for n in args.networks.split(",") if n]
    for n in networks:
        if n not in NETWORKS:
            ap.error(f"--networks: unknown network {n!r} (known: {', '.join(NETWORKS)})")
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    if not os.access(args.spikeem, os.X_OK):
        sys.exit(f"compare_brian2: no spikeem binary at {args.spikeem} (build first, or --spikeem PATH)")
    import warnings
    warnings.filterwarnings("ignore", category=FutureWarning)  # numpy deprecations inside Debian's pythran
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        import brian2  # noqa: F401
    except ImportError:
        sys.exit("compare_brian2: Brian2 is not installed (Debian: apt-get install python3-brian)")
    import logging
    logging.getLogger("brian2").setLevel(logging.ERROR)
    brian2.prefs.logging.console_log_level = "ERROR"
    brian2.prefs.logging.file_log = False

    workdir = args.workdir or tempfile.mkdtemp(prefix="spikeem_brian2_")
    try:
        results = [compare(network, args, brian2, os.path.join(workdir, network)) for network in networks]
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump(results if len(results) > 1 else results[0], f, indent=1)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def compare(network, args, brian2, workdir):
    """Time one network in both simulators; print the side-by-side table; return the JSON record."""
    load0 = os.getloadavg()[0]
    dt_ms = args.dt_ms if args.dt_ms is not None else DEFAULT_DT_MS[network]
    print(f"{network}: {args.duration_ms / 1000:g} s simulated, seed {args.seed}, {args.repeat} runs each; "
          f"Brian2 {brian2.__version__} C++ standalone, 1 thread, dt {dt_ms:g} ms", flush=True)
    print("building the Brian2 project (not timed) ...", flush=True)
    brian = Brian2Cuba(network, workdir, args.duration_ms, dt_ms, args.seed)
    print(f"  generated and compiled in {brian.compile_s:.1f} s", flush=True)

    sp_wall, sp_cpu, sp_build, br_run, br_wall, br_cpu, ratios = [], [], [], [], [], [], []
    sp = None
    for r in range(args.repeat):
        sp = spikeem_once(args.spikeem, network, args.duration_ms, args.seed)
        run_s, wall_s, cpu_s = brian.run_once()
        sp_wall.append(sp["wall_s"])
        sp_cpu.append(sp["cpu_s"])
        sp_build.append(sp["build_s"])
        br_run.append(run_s)
        br_wall.append(wall_s)
        br_cpu.append(cpu_s)
        ratios.append(sp["wall_s"] / run_s)
        print(f"  run {r + 1}/{args.repeat}: spikeem {sp['wall_s']:.3f} s (CPU {sp['cpu_s']:.3f} s), "
              f"Brian2 {run_s:.3f} s (binary {wall_s:.3f} s, CPU {cpu_s:.3f} s), "
              f"ratio {ratios[-1]:.2f}", flush=True)
    load1 = os.getloadavg()[0]
    bs = brian.stats()
    med = statistics.median
    spop = {p["name"]: p for p in sp["populations"]}
    sp_ns = med(sp_wall) * 1e9 / sp["synaptic_events"]
    br_ns = med(br_run) * 1e9 / bs["synaptic_events"]

    rows = [
        ("wall time, simulation (s)", f"{med(sp_wall):.3f}", f"{med(br_run):.3f}"),
        ("  CPU time (s)", f"{med(sp_cpu):.3f}", f"{med(br_cpu):.3f} (binary)"),
        ("  building (s)", f"{med(sp_build):.3f}", f"{med(br_wall) - med(br_run):.3f} (binary - run)"),
        ("real-time factor", f"{med(sp_wall) / (args.duration_ms / 1000):.3f}",
         f"{med(br_run) / (args.duration_ms / 1000):.3f}"),
        ("E rate (Hz)", f"{spop['E']['mean_rate_hz']:.2f}", f"{bs['E']['mean_rate_hz']:.2f}"),
        ("I rate (Hz)", f"{spop['I']['mean_rate_hz']:.2f}", f"{bs['I']['mean_rate_hz']:.2f}"),
        ("E CV ISI", fmt_cv(spop["E"]["mean_cv_isi"]), fmt_cv(bs["E"]["mean_cv_isi"])),
        ("I CV ISI", fmt_cv(spop["I"]["mean_cv_isi"]), fmt_cv(bs["I"]["mean_cv_isi"])),
        ("synapses", f"{sp['synapses']}", f"{bs['synapses']}"),
        ("synaptic events", f"{sp['synaptic_events']}", f"{bs['synaptic_events']}"),
        ("ns per synaptic event", f"{sp_ns:.1f}", f"{br_ns:.1f}"),
    ]
    print()
    print(f"{network:<28} {'spikeem':>12}   {'Brian2':<12}")
    for name, a, c in rows:
        print(f"{name:<28} {a:>12}   {c}")
    ratio = med(ratios)
    print(f"ratio spikeem / Brian2 (wall, simulation only): {ratio:.2f} "
          f"(per run: {', '.join(f'{x:.2f}' for x in ratios)}); "
          f"{'spikeem' if ratio < 1 else 'Brian2'} is {max(ratio, 1 / ratio):.2f}x faster")
    cpu_ratio = med(sp_cpu) / med(br_cpu)
    print(f"ratio of CPU times, spikeem simulation / Brian2 whole binary: {cpu_ratio:.2f}; "
          f"load average {load0:.1f} at the start, {load1:.1f} at the end ({os.cpu_count()} CPUs)")
    print(flush=True)
    return {
        "network": network, "duration_ms": args.duration_ms, "seed": args.seed,
        "repeat": args.repeat, "brian2_version": brian2.__version__, "brian2_dt_ms": dt_ms,
        "brian2_compile_s": brian.compile_s,
        "spikeem": {"wall_s": sp_wall, "cpu_s": sp_cpu, "build_s": sp_build,
                    "synaptic_events": sp["synaptic_events"], "synapses": sp["synapses"],
                    "populations": sp["populations"]},
        "brian2": {"run_s": br_run, "binary_wall_s": br_wall, "binary_cpu_s": br_cpu, **bs},
        "ratios": ratios, "ratio_median": ratio, "cpu_ratio": cpu_ratio,
        "load_average": [load0, load1],
    }


if __name__ == "__main__":
    main()

"""Running a spec: ``Simulation``, and what it recorded as NumPy arrays."""

import os
import sys
import time
from collections import namedtuple

import numpy as np

from . import _core
from .spec import Spec


def _pandas():
    try:
        import pandas
    except ImportError as e:
        raise ImportError("to_pandas() needs pandas (Debian: apt-get install python3-pandas)") from e
    return pandas


class Spikes(namedtuple("Spikes", "t_ms neuron")):
    """Spikes of one population in time order (ties by neuron): t_ms (float64),
    neuron (uint32, index within the population)."""

    def to_pandas(self):
        return _pandas().DataFrame({"t_ms": self.t_ms, "neuron": self.neuron})


class Trace(namedtuple("Trace", "t_ms neurons values population")):
    """A voltage or rate probe: values[i, k] is the value at t_ms[i] of neuron
    neurons[k] of population (mV for voltages, Hz for rates)."""

    def to_pandas(self):
        """Long format: one row per sample (t_ms, neuron, value)."""
        n_t, n_k = self.values.shape
        return _pandas().DataFrame({"t_ms": np.repeat(self.t_ms, n_k), "neuron": np.tile(self.neurons, n_t),
                                    "value": self.values.reshape(-1)})


class WeightTrace(namedtuple("WeightTrace", "t_ms pre post w projection")):
    """A weight probe: w[i, k] (mV) is the weight at t_ms[i] of the synapse
    pre[k] -> post[k] of projection."""

    def to_pandas(self):
        n_t, n_k = self.w.shape
        return _pandas().DataFrame({"t_ms": np.repeat(self.t_ms, n_k), "pre": np.tile(self.pre, n_t),
                                    "post": np.tile(self.post, n_t), "w": self.w.reshape(-1)})


class PopulationRate(namedtuple("PopulationRate", "t_ms spikes rate_hz population")):
    """A population-rate monitor: bin i starts at t_ms[i]; spikes[i] of the
    watched neurons fell in it, rate_hz[i] = spikes * 1000 / (neurons * bin_ms)."""

    def to_pandas(self):
        return _pandas().DataFrame({"t_ms": self.t_ms, "spikes": self.spikes, "rate_hz": self.rate_hz})


class Weights(namedtuple("Weights", "pre post w")):
    """Every synapse of a projection now, in storage order (by pre, then delay,
    then post): pre, post (indices within the populations) and w (mV)."""

    def to_dense(self, shape):
        """A (source size, target size) matrix of the weights, summed over
        synapses that share a pair (several delays); 0 where there is none."""
        m = np.zeros(shape)
        np.add.at(m, (self.pre, self.post), self.w)
        return m

    def to_pandas(self):
        return _pandas().DataFrame({"pre": self.pre, "post": self.post, "w": self.w})


def _as_loaded(spec, seed, duration_ms):
    if isinstance(spec, (str, os.PathLike)):
        spec = Spec.from_file(spec)
    if not isinstance(spec, Spec):
        raise TypeError(f"Simulation: expected a spikeem.Spec or a spec file name, got {type(spec).__name__}")
    return spec.validate(seed=seed, duration_ms=duration_ms)


class Simulation:
    """One network, built from a spec and run in as many pieces as you like.

    ``Simulation(spec, seed=None, threads=1, duration_ms=None, partitions=None)``:
    spec is a ``Spec`` or a file name; seed and duration_ms replace the spec's
    own (as ``spikeem run --seed --duration-ms`` do).  Up to ``threads``
    partitions of the network run in parallel (0: all cores), fewer when its
    epochs hold too little work to gain from a thread each, as with
    ``spikeem run --threads``; ``partitions=P`` forces P (on P threads).  The
    ``partitions`` property says what it got.  Results never depend on either,
    and the same seed gives the same bits as ``spikeem run``.

    Runs release the GIL and go in pieces of at most ~0.2 s wall time, so
    Ctrl-C (KeyboardInterrupt) stops a long run between two pieces and leaves
    the simulation usable at ``t_ms``.  Between runs, set_rate, set_drive and
    set_plasticity_gain change the network from ``t_ms`` on.
    """

    def __init__(self, spec, seed=None, threads=1, duration_ms=None, partitions=None):
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0 or threads > 256:
            raise ValueError(f"threads = {threads!r}: expected 0 (all cores) to 256")
        exact = partitions is not None
        if exact and (isinstance(partitions, bool) or not isinstance(partitions, int)
                      or partitions < 1 or partitions > 256):
            raise ValueError(f"partitions = {partitions!r}: expected 1 to 256")
        self._loaded = _as_loaded(spec, seed, duration_ms)
        self._sim = _core.Simulation(self._loaded, partitions if exact else threads or _core.default_threads(),
                                     exact)
        self._pops = {self._sim.population_info(p)["name"]: p for p in range(self._sim.num_populations)}
        self._projs = {self._sim.projection_info(j)["name"]: j for j in range(self._sim.num_projections)}
        # What each probe watches: population names (voltages, rates), projection names (weights).
        self._record = _core.record_of(self._loaded)

    # ---- what it is

    @property
    def t_ms(self):
        """Simulated time so far (ms): everything before it has happened."""
        return self._sim.now_ticks / self._sim.ticks_per_ms

    @property
    def duration_ms(self):
        """The spec's run.duration_ms (after a duration_ms override)."""
        return self._sim.duration_ticks / self._sim.ticks_per_ms

    @property
    def seed(self):
        return self._loaded.seed

    @property
    def spec_hash(self):
        return self._loaded.hash

    @property
    def populations(self):
        """Population names in spec order."""
        return list(self._pops)

    @property
    def projections(self):
        """Projection names in spec order."""
        return list(self._projs)

    @property
    def partitions(self):
        """Partitions the network runs in (1 when its minimum delay is 0)."""
        return self._sim.partitions

    @property
    def wall_time_s(self):
        return self._sim.wall_s

    @property
    def events_processed(self):
        return self._sim.events_processed

    @property
    def synaptic_events(self):
        return self._sim.synaptic_events

    def population(self, name):
        """name, model, size of a population."""
        return self._sim.population_info(self._population_index(name))

    def projection(self, name):
        """name, source, target, synapses, learns of a projection."""
        return self._sim.projection_info(self._projection_index(name))

    def summary(self, name):
        """Spikes, mean rate (Hz) and mean CV of the ISIs of a population so far."""
        return self._sim.summary(self._population_index(name))

    # ---- running

    def run(self, duration_ms=None, progress=None):
        """Run ``duration_ms`` more milliseconds, or (None) up to the spec's duration."""
        if duration_ms is None:
            return self.run_until(self.duration_ms, progress)
        if not np.isfinite(duration_ms) or duration_ms < 0:
            raise ValueError(f"duration_ms = {duration_ms!r}: expected a finite number >= 0 (ms)")
        return self.run_until(self.t_ms + duration_ms, progress)

    def run_until(self, t_ms, progress=None):
        """Run until simulated time t_ms (ms, rounded to the spec's resolution; nothing
        happens if that is not after t_ms now).  progress: True prints progress on
        stderr, False never, None (default) once a run has taken more than 2 s."""
        if not np.isfinite(t_ms) or t_ms < 0:
            raise ValueError(f"t_ms = {t_ms!r}: expected a finite number >= 0 (ms)")
        per_ms = self._sim.ticks_per_ms
        # In whole ticks, so that a t_ms between two ticks cannot leave the loop waiting for it.
        end, start = round(t_ms * per_ms), self._sim.now_ticks
        step = max(1, min(per_ms, end - start))
        start_wall = last_print = time.monotonic()
        printed = False
        while self._sim.now_ticks < end:
            before = time.monotonic()
            self._sim.run_until_ms(min(end, self._sim.now_ticks + step) / per_ms)
            took = time.monotonic() - before
            # Pieces of about 0.1 s wall: short enough for Ctrl-C, long enough to cost nothing.
            step = step * 2 if took < 0.05 else max(1, step // 2) if took > 0.2 else step
            now = time.monotonic()
            # On a terminal one line, redrawn every second; elsewhere (a log) a line every 5 s.
            every = 1 if sys.stderr.isatty() else 5
            if (progress or (progress is None and now - start_wall > 2)) and now - last_print >= every:
                _print_progress(self.t_ms, start / per_ms, end / per_ms, now - start_wall)
                last_print, printed = now, True
        if printed:
            _print_progress(self.t_ms, start / per_ms, end / per_ms, time.monotonic() - start_wall, end="\n")
        return self

    # ---- saving and restoring

    def save_state(self):
        """The whole state of the simulation at ``t_ms`` as bytes: clock, queued
        events, neurons, random streams, weights and rule traces, inputs and what
        has been recorded.  ``load_state`` continues from it exactly."""
        return self._sim.save_state()

    def load_state(self, state):
        """Continue from bytes of ``save_state``: this simulation must be new (not
        run yet) and built from the same spec, seed and partitions as the one that
        saved them; it then runs on exactly as that one would have.  Raises
        ValueError for a state of another network (the simulation is then
        unusable)."""
        if not isinstance(state, (bytes, bytearray)):
            raise TypeError("state: expected the bytes of save_state()")
        self._sim.load_state(bytes(state))
        return self

    # ---- changing it between runs

    def set_rate(self, population, rate_hz, neurons=None):
        """The rate (Hz) of neurons (default: all) of a constant-rate Poisson source from t_ms on."""
        p = self._population_index(population)
        for n in self._neurons(p, neurons):
            self._sim.set_rate(p, int(n), float(rate_hz))

    def set_drive(self, population, drive_mV, neurons=None):
        """The drive (mV) of neurons (default: all) of a stochastic population from t_ms on."""
        p = self._population_index(population)
        for n in self._neurons(p, neurons):
            self._sim.set_drive(p, int(n), float(drive_mV))

    def set_plasticity_gain(self, projection, gain):
        """Scale the learning rate of a voltage_slope projection from t_ms on (0: learning off)."""
        j = self._projection_index(projection)
        if not self._sim.projection_info(j)["voltage_rule"]:
            raise ValueError(f'set_plasticity_gain: projection "{projection}" has no voltage_slope rule '
                             "(the gain applies to voltage_slope plasticity only)")
        self._sim.set_plasticity_gain(j, float(gain))

    # ---- what happened

    def spikes(self, population=None):
        """Recorded spikes: of one population as Spikes(t_ms, neuron), or (None)
        a dict of them by population name.  The populations listed in the
        spec's record.spikes are recorded, and the neurons of record.spike_probe."""
        cols = self._sim.spikes()
        t_ms = cols["t_ticks"] / self._sim.ticks_per_ms
        def of(p):
            mask = cols["population"] == p
            return Spikes(t_ms[mask], cols["neuron"][mask])
        if population is not None:
            p = self._population_index(population)
            name = self.populations[p]
            if name not in self._record["spikes"]:
                raise KeyError(f'population "{name}" records no spikes: add it to the spec\'s record.spikes')
            return of(p)
        return {name: of(self._pops[name]) for name in self.populations if name in self._record["spikes"]}

    def spike_table(self):
        """All recorded spikes as a pandas DataFrame (t_ms, population, neuron), in spikes.csv's order."""
        cols = self._sim.spikes()
        names = np.array(self.populations, dtype=object)
        return _pandas().DataFrame({"t_ms": cols["t_ticks"] / self._sim.ticks_per_ms,
                                    "population": names[cols["population"]], "neuron": cols["neuron"]})

    def voltages(self, probe=0):
        """The samples of voltage probe ``probe`` (its index in record.voltages,
        or a population name: the first probe on it) as a Trace (mV)."""
        k = self._probe_index("voltage", probe, self._record["voltages"])
        neurons = np.asarray(self._sim.probe_neurons("voltage", k), dtype=np.uint32)
        d = self._sim.voltage_trace(k)  # (values held sample-major: no copy in the reshape)
        t = d["t_ticks"] / self._sim.ticks_per_ms
        return Trace(t, neurons, d["values"].reshape(len(t), len(neurons)), self._record["voltages"][k])

    def rates(self, probe=0):
        """The samples of rate probe ``probe`` (index in record.rates, or a population name) as a Trace (Hz)."""
        k = self._probe_index("rate", probe, self._record["rates"])
        return self._trace("rate", k, self._sim.rates(), self._record["rates"][k])

    def population_rates(self, probe=0):
        """The bins of population-rate monitor ``probe`` (index in record.population_rate, or a
        population name) that have ended by t_ms, as a PopulationRate."""
        k = self._probe_index("population_rate", probe, self._record["population_rates"])
        cols = self._sim.population_rates()
        mask = cols["probe"] == k
        return PopulationRate(cols["t_ticks"][mask] / self._sim.ticks_per_ms, cols["spikes"][mask],
                              cols["rate_hz"][mask], self._record["population_rates"][k])

    def recorded_weights(self, probe=0):
        """The samples of weight probe ``probe`` (index in record.weights, or a projection name) as a WeightTrace."""
        k = self._probe_index("weight", probe, self._record["weights"])
        cols = self._sim.weight_samples()
        mask = cols["probe"] == k
        t, pre, post, w = cols["t_ticks"][mask], cols["key"][mask], cols["post"][mask], cols["value"][mask]
        n = int(np.count_nonzero(t == t[0])) if len(t) else 0
        shape = (len(t) // n if n else 0, n)
        return WeightTrace(t[::n] / self._sim.ticks_per_ms if n else np.zeros(0), pre[:n], post[:n],
                           w.reshape(shape), self._record["weights"][k])

    def weights(self, projection):
        """Every synapse of a projection now: Weights(pre, post, w)."""
        c = self._sim.weights_now(self._projection_index(projection))
        return Weights(c["pre"], c["post"], c["w"])

    def state(self, population, variable="v"):
        """A state variable of every neuron of a population now: "v" (membrane voltage, mV)."""
        if variable != "v":
            raise ValueError(f'state: variable "{variable}" is not known; expected "v" (membrane voltage, mV)')
        return self._sim.voltages_now(self._population_index(population))

    def write_outputs(self, out, format="csv"):
        """Write the command line's outputs (spikes, voltages, weights, rates,
        population_rates tables and run.json) into folder ``out``, as CSV or
        ("npy") NumPy files: the same bytes as ``spikeem run --format`` for the
        same spec and seed, run.json's wall time aside.  As with ``spikeem run``,
        ``out`` is replaced as a whole in one rename (an existing non-empty
        folder without run.json, or one another run is writing, raises
        RuntimeError; docs/commands.md)."""
        self._sim.write_outputs(os.fspath(out), format)

    def __repr__(self):
        return (f"<spikeem.Simulation t_ms={self.t_ms:g} of {self.duration_ms:g}, "
                f"{len(self._pops)} populations, {len(self._projs)} projections, {self.partitions} partitions>")

    # ---- helpers

    def _population_index(self, name):
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
            if not 0 <= name < len(self._pops):
                raise IndexError(f"population {name}: expected 0 to {len(self._pops) - 1}")
            return int(name)
        if name not in self._pops:
            raise KeyError(f'no population "{name}"; the spec has: {", ".join(self._pops)}')
        return self._pops[name]

    def _projection_index(self, name):
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
            if not 0 <= name < len(self._projs):
                raise IndexError(f"projection {name}: expected 0 to {len(self._projs) - 1}")
            return int(name)
        if name not in self._projs:
            raise KeyError(f'no projection "{name}"; the spec has: {", ".join(self._projs) or "none"}')
        return self._projs[name]

    def _neurons(self, p, neurons):
        size = self._sim.population_info(p)["size"]
        return range(size) if neurons is None else np.atleast_1d(np.asarray(neurons, dtype=np.int64))

    def _probe_index(self, kind, probe, owners):
        if isinstance(probe, str):
            if probe not in owners:
                raise KeyError(f'no {kind} probe on "{probe}"; the spec has {kind} probes on: '
                               f'{", ".join(owners) or "none"}')
            return owners.index(probe)
        if not 0 <= probe < len(owners):
            raise IndexError(f"{kind} probe {probe}: the spec has {len(owners)} {kind} probe(s)")
        return probe

    def _trace(self, kind, k, cols, population):
        neurons = np.asarray(self._sim.probe_neurons(kind, k), dtype=np.uint32)
        mask = cols["probe"] == k
        t, v = cols["t_ticks"][mask], cols["value"][mask]
        n = len(neurons)
        return Trace(t[::n] / self._sim.ticks_per_ms if n else np.zeros(0), neurons,
                     v.reshape(len(t) // n if n else 0, n), population)


def _print_progress(t_ms, start_ms, end_ms, wall_s, end=""):
    done = t_ms - start_ms
    frac = done / (end_ms - start_ms) if end_ms > start_ms else 1.0
    speed = done / 1000 / wall_s if wall_s > 0 else float("inf")
    eta = (end_ms - t_ms) / 1000 / speed if speed > 0 else float("inf")
    line = (f"\rspikeem: {t_ms:.1f} of {end_ms:.1f} ms ({100 * frac:.0f}%), "
            f"{speed:.3g} simulated s per wall s, ETA {eta:.0f} s")
    if not sys.stderr.isatty():
        line = line[1:] + "\n"
    print(line, end=end if sys.stderr.isatty() else "", file=sys.stderr, flush=True)

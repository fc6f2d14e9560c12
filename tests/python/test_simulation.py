"""spikeem.Simulation: the same bits as `spikeem run`, closed forms, controls, interrupts."""
import json
import math
import os
import signal

import numpy as np
import pytest

import spikeem
from conftest import example, format_ms, spikeem_cli

CUBA = example("benchmarks", "cuba_delta.pbtxt")


def spikes_csv(sim):
    """spikes.csv as `spikeem run` writes it, formatted here from the module's arrays
    (times back to integer ticks, then exact decimals)."""
    digits = round(math.log10(sim._sim.ticks_per_ms))
    rows = []
    for name, s in sim.spikes().items():
        ticks = np.rint(s.t_ms * 10 ** digits).astype(np.int64)
        rows += [(t, sim.populations.index(name), n, name) for t, n in zip(ticks, s.neuron)]
    rows.sort(key=lambda r: r[:3])  # the documented order: time, population (spec order), neuron
    return "t_ms,population,neuron\n" + "".join(f"{format_ms(t, digits)},{name},{n}\n" for t, _, n, name in rows)


def small_network(duration_ms=400.0, seed=5):
    """Poisson inputs -> two LIF neurons through plastic pair-STDP synapses, every probe kind."""
    return spikeem.Spec(
        name="small",
        run=dict(duration_ms=duration_ms, seed=seed),
        population=[dict(name="in", size=50, poisson=dict(rate_hz=30)),
                    dict(name="out", size=2, lif_delta=dict(tau_m_ms=20, v_th_mV=-60, t_ref_ms=1))],
        projection=[dict(source="in", target="out", all_to_all={}, weight_mV=dict(uniform=dict(low=0.5, high=1.5)),
                         delay_ms=dict(constant=1.0),
                         plasticity=dict(pair_stdp=dict(a_plus_mV=0.01, a_minus_mV=0.012, tau_plus_ms=20,
                                                        tau_minus_ms=20), w_max_mV=2.0))],
        record=dict(spikes=["in", "out"],
                    voltage=[dict(population="out", interval_ms=0.5)],
                    weights=[dict(projection="in->out", synapse=[dict(pre=0, post=0), dict(pre=3, post=1)],
                                  interval_ms=10)],
                    rate=[dict(population="in", neuron=[0, 1, 2], interval_ms=50, readout="COUNT",
                               window_ms=100)]))


def test_spikes_are_the_command_lines_bytes(tmp):
    spikeem_cli("run", CUBA, "--out", tmp / "cli", "--seed", 7, "--duration-ms", 300, "-q")
    expected = (tmp / "cli" / "spikes.csv").read_text()
    one = spikeem.Simulation(CUBA, seed=7, duration_ms=300).run()
    assert spikes_csv(one) == expected
    # cuba_delta's epochs are too small for a thread each: threads=2 keeps one
    # partition, partitions=2 splits it anyway.
    assert spikeem.Simulation(CUBA, threads=2).partitions == 1
    two = spikeem.Simulation(spikeem.Spec.from_file(CUBA), seed=7, duration_ms=300, partitions=2)
    assert two.partitions == 2
    for _ in range(6):  # in pieces of 50 ms, with another thread count
        two.run(50)
    assert two.t_ms == 300
    assert spikes_csv(two) == expected


def test_write_outputs_match_spikeem_run(tmp):
    path = tmp / "small.pbtxt"
    small_network().save(path)
    spikeem_cli("run", path, "--out", tmp / "cli", "-q")
    sim = spikeem.Simulation(path).run()
    sim.write_outputs(tmp / "py")
    for name in ("spikes.csv", "voltages.csv", "weights.csv", "rates.csv"):
        assert (tmp / "py" / name).read_bytes() == (tmp / "cli" / name).read_bytes(), name
    cli, py = (json.loads((tmp / d / "run.json").read_text()) for d in ("cli", "py"))
    for j in (cli, py):
        j.pop("wall_time_s")
    assert py == cli
    assert sim.spec_hash == cli["spec_hash"] == small_network().hash()


def test_probes_as_arrays(tmp):
    sim = spikeem.Simulation(small_network()).run()
    v = sim.voltages("out")
    assert v.values.shape == (800, 2) and list(v.neurons) == [0, 1] and v.population == "out"
    assert np.allclose(v.t_ms, np.arange(800) * 0.5)
    # The CLI's voltages.csv, reshaped by hand, holds the same numbers.
    sim.write_outputs(tmp)
    rows = [line.split(",") for line in (tmp / "voltages.csv").read_text().splitlines()[1:]]
    assert np.array_equal(np.array([float(r[3]) for r in rows]).reshape(800, 2), v.values)

    w = sim.recorded_weights("in->out")
    assert list(w.pre) == [0, 3] and list(w.post) == [0, 1] and w.w.shape == (40, 2)
    assert np.all((w.w >= 0) & (w.w <= 2.0))

    # COUNT read-out: spikes in [t - 100, t) / 0.1 s, counted here from the recorded spikes.
    r = sim.rates("in")
    s = sim.spikes("in")
    assert r.values.shape == (8, 3)
    for i, t in enumerate(r.t_ms):
        for k, n in enumerate(r.neurons):
            mine = s.t_ms[s.neuron == n]
            assert r.values[i, k] == pytest.approx(np.count_nonzero((mine >= t - 100) & (mine < t)) / 0.1)


def test_weights_now_and_dense():
    spec = small_network(duration_ms=10)
    spec.projection[0].ClearField("plasticity")
    spec.projection[0].weight_mV.constant = 0.75
    sim = spikeem.Simulation(spec).run()
    w = sim.weights("in->out")
    assert len(w.w) == 100 and np.all(w.w == 0.75)
    assert np.array_equal(w.to_dense((50, 2)), np.full((50, 2), 0.75))


def test_voltage_decays_in_closed_form():
    # One LIF neuron without input: V(t) = E_L + (V0 - E_L) exp(-t / tau_m), exactly.
    spec = spikeem.Spec(run=dict(duration_ms=50),
                        population=[dict(name="n", size=1,
                                         lif_delta=dict(tau_m_ms=20, v_rest_mV=-70, v_init_mV=dict(constant=-60)))],
                        record=dict(voltage=[dict(population="n", interval_ms=1)]))
    sim = spikeem.Simulation(spec)
    sim.run(37.5)
    assert sim.state("n", "v")[0] == pytest.approx(-70 + 10 * math.exp(-37.5 / 20), rel=1e-12)
    sim.run()
    v = sim.voltages(0)
    assert np.allclose(v.values[:, 0], -70 + 10 * np.exp(-v.t_ms / 20), rtol=1e-12, atol=0)


def test_set_rate_changes_the_poisson_count():
    # 200 neurons at 10 Hz for 1 s, then 40 Hz for 1 s: each count is Poisson with mean
    # 2000 and 8000.  Two-sided test at alpha = 1e-5 each: |z| < 4.42.
    spec = spikeem.Spec(run=dict(duration_ms=2000, seed=11),
                        population=[dict(name="src", size=200, poisson=dict(rate_hz=10))],
                        record=dict(spikes=["src"]))
    sim = spikeem.Simulation(spec)
    sim.run(1000)
    sim.set_rate("src", 40.0)
    sim.run()
    t = sim.spikes("src").t_ms
    for count, mean in ((np.count_nonzero(t < 1000), 2000), (np.count_nonzero(t >= 1000), 8000)):
        assert abs(count - mean) / math.sqrt(mean) < 4.42


def test_controls_refuse_what_they_cannot_do():
    sim = spikeem.Simulation(small_network(duration_ms=10))
    with pytest.raises(ValueError, match="no voltage_slope rule"):
        sim.set_plasticity_gain("in->out", 0.0)
    with pytest.raises(ValueError, match="not stochastic"):
        sim.set_drive("out", 1.0)
    with pytest.raises(ValueError, match="rate_hz"):
        sim.set_rate("in", -1.0)
    with pytest.raises(IndexError, match="expected 0 to 49"):
        sim.set_rate("in", 5.0, neurons=[50])
    with pytest.raises(KeyError, match="the spec has: in, out"):
        sim.spikes("nope")
    with pytest.raises(ValueError, match="expected"):
        sim.state("out", "w")
    with pytest.raises(ValueError, match="threads"):
        spikeem.Simulation(small_network(), threads=-1)
    with pytest.raises(ValueError, match="partitions"):
        spikeem.Simulation(small_network(), partitions=0)
    with pytest.raises(ValueError, match="duration_ms"):
        sim.run(-1)
    with pytest.raises(IndexError, match="1 voltage probe"):
        sim.voltages(1)


def test_ctrl_c_stops_between_pieces_and_the_run_can_go_on():
    full = spikeem.Simulation(CUBA, duration_ms=12000).run(progress=False)
    sim = spikeem.Simulation(CUBA, duration_ms=12000)
    core = sim._sim

    class InterruptAfterThirdPiece:
        """The engine, with a Ctrl-C (SIGINT) delivered during the third piece of
        the run: mid-run whatever the machine's speed, unlike a timer."""

        def __init__(self):
            self.pieces = 0

        def __getattr__(self, name):
            return getattr(core, name)

        def run_until_ms(self, t_ms):
            self.pieces += 1
            core.run_until_ms(t_ms)
            if self.pieces == 3:
                os.kill(os.getpid(), signal.SIGINT)

    sim._sim = InterruptAfterThirdPiece()
    try:
        with pytest.raises(KeyboardInterrupt):
            sim.run(progress=False)
    finally:
        sim._sim = core
    assert 0 < sim.t_ms < 12000
    sim.run(progress=False)
    assert spikes_csv(sim) == spikes_csv(full)


def test_pandas_views():
    pd = pytest.importorskip("pandas")
    sim = spikeem.Simulation(small_network(duration_ms=100)).run()
    table = sim.spike_table()
    assert list(table.columns) == ["t_ms", "population", "neuron"]
    assert len(table) == sum(len(s.t_ms) for s in sim.spikes().values())
    assert table["t_ms"].is_monotonic_increasing
    frame = sim.voltages("out").to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 200 * 2


def test_population_rates_spike_probes_and_npy(tmp):
    spec = small_network(duration_ms=300)
    spec.record.ClearField("spikes")
    spec.record.spikes.append("in")
    spec.record.spike_probe.add(population="out", neuron=[1])
    spec.record.population_rate.add(population="in", neuron=[0, 1, 2, 3], bin_ms=20)
    path = tmp / "net.pbtxt"
    spec.save(path)
    sim = spikeem.Simulation(path).run()
    # Bins against counts made here from the recorded spikes of the same neurons.
    pr = sim.population_rates("in")
    s = sim.spikes("in")
    assert len(pr.t_ms) == 15 and np.allclose(pr.t_ms, np.arange(15) * 20)
    for t, n, r in zip(pr.t_ms, pr.spikes, pr.rate_hz):
        mine = np.count_nonzero(np.isin(s.neuron, [0, 1, 2, 3]) & (s.t_ms >= t) & (s.t_ms < t + 20))
        assert n == mine and r == pytest.approx(mine * 1000 / (4 * 20))
    assert set(sim.spikes()) == {"in", "out"} and set(sim.spikes("out").neuron) <= {1}
    # npy files as `spikeem run --format npy` writes them.
    spikeem_cli("run", path, "--out", tmp / "cli", "--format", "npy", "-q")
    sim.write_outputs(tmp / "py", format="npy")
    for name in ("spikes.npy", "voltages.npy", "weights.npy", "rates.npy", "population_rates.npy"):
        assert (tmp / "py" / name).read_bytes() == (tmp / "cli" / name).read_bytes(), name
    assert np.array_equal(np.load(tmp / "py" / "population_rates.npy")["spikes"], pr.spikes)
    with pytest.raises(ValueError, match="csv"):
        sim.write_outputs(tmp / "x", format="parquet")


def test_run_until_rounds_to_the_tick_and_never_goes_back():
    sim = spikeem.Simulation(small_network(duration_ms=10))
    sim.run_until(2.0000004)  # 1 ns ticks: rounds to 2.000000 ms
    assert sim.t_ms == 2.0
    sim.run_until(2.0000001)  # rounds to the tick already reached: nothing to do
    sim.run_until(1.0)        # the past: nothing to do
    assert sim.t_ms == 2.0
    sim.run(0.0000004)
    assert sim.t_ms == 2.0


def test_currents_and_per_neuron_levels_from_python(tmp):
    """A spec with current_input and per_neuron built in Python runs as the command line runs its text;
    a DC current alone gives the closed-form firing period of each neuron's own levels."""
    spec = spikeem.Spec(
        name="currents",
        run=dict(duration_ms=200, seed=3),
        population=[dict(name="n", size=20, lif_delta=dict(tau_m_ms=10, v_rest_mV=-70, v_th_mV=-55,
                                                           v_reset_mV=-70, t_ref_ms=2),
                         per_neuron=[dict(parameter="t_ref_ms", value=dict(uniform=dict(low=1, high=3)))])],
        current_input=[dict(target="n", dc=dict(amplitude_mV=dict(constant=20))),
                       dict(target="n", ou=dict(mean_mV=0, sigma_mV=2, tau_ms=5, dt_ms=0.5), start_ms=100)],
        record=dict(spikes=["n"]))
    path = tmp / "currents.pbtxt"
    spec.save(path)
    spikeem_cli("run", path, "--out", tmp / "cli", "-q")
    sim = spikeem.Simulation(spec).run()
    assert spikes_csv(sim) == (tmp / "cli" / "spikes.csv").read_text()
    # Before the noise starts (100 ms) each neuron fires periodically: from rest, then every
    # t_ref + tau ln((mu - v_reset) / (mu - v_th)) with mu = -50 mV; its own t_ref in [1, 3) ms.
    s = sim.spikes("n")
    free = 10 * math.log(20 / 5)
    for i in range(20):
        t = s.t_ms[(s.neuron == i) & (s.t_ms < 100)]
        assert len(t) > 5
        assert abs(t[0] - free) < 1e-6
        isi = np.diff(t)
        assert np.ptp(isi) < 2e-6  # periodic to the tick
        assert 1 - 1e-6 < isi[0] - free < 3 + 1e-6


def test_save_state_and_load_state_continue_exactly():
    spec = example("benchmarks/cuba_stdp.pbtxt")
    whole = spikeem.Simulation(spec, duration_ms=300, partitions=2).run()
    first = spikeem.Simulation(spec, duration_ms=300, partitions=2).run_until(117.3)
    state = first.save_state()
    second = spikeem.Simulation(spec, duration_ms=300, partitions=2).load_state(state)
    assert second.t_ms == pytest.approx(117.3)
    second.run()
    a, b = whole.spikes("E"), second.spikes("E")
    assert len(a.t_ms) > 100
    assert np.array_equal(a.t_ms, b.t_ms) and np.array_equal(a.neuron, b.neuron)
    assert np.array_equal(whole.weights("E->E").w, second.weights("E->E").w)
    with pytest.raises(ValueError, match="partition count"):
        spikeem.Simulation(spec, duration_ms=300, threads=1).load_state(state)
    with pytest.raises(ValueError, match="has run already"):
        second.load_state(state)

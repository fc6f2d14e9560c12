"""spikeem.Spec: files, text, the schema's messages, and the command line's errors."""
import pytest

import spikeem
from spikeem import schema
from conftest import example, spikeem_cli

BAD = """run { duration_ms: -5 }
population { name: "E" size: 10 lif_delta { tau_m_ms: -20 } }
"""


def test_file_errors_read_as_the_command_lines(tmp):
    path = tmp / "bad.pbtxt"
    path.write_text(BAD)
    cli = spikeem_cli("validate", path, check=False)
    assert cli.returncode == 2
    with pytest.raises(spikeem.SpecError) as e:
        spikeem.Spec.from_file(path)
    assert str(e.value).splitlines() == cli.stderr.strip().splitlines()
    first, second = e.value.problems
    assert (first.line, first.column, first.path, first.value, first.rule) == (1, 7, "run.duration_ms", "-5",
                                                                           "must be > 0 (ms)")
    assert (second.line, second.path, second.value) == (2, 'population "E".lif_delta.tau_m_ms', "-20")
    assert isinstance(e.value, ValueError)


def test_specs_built_in_python_are_checked_by_the_same_loader():
    spec = spikeem.Spec(population=[dict(name="E", size=10, lif_delta=dict(tau_m_ms=-20))])
    with pytest.raises(spikeem.SpecError) as e:
        spec.validate()
    (p,) = e.value.problems
    assert (p.origin, p.line, p.path, p.value, p.rule) == ("<python spec>", None, 'population "E".lif_delta.tau_m_ms',
                                                         "-20", "must be > 0 (ms)")
    with pytest.raises(spikeem.SpecError, match=r"target = \"X\": no such population \(known: E\)"):
        spikeem.Simulation(spikeem.Spec(population=[dict(name="E", size=1, lif_delta={})],
                                        projection=[dict(source="E", target="X", one_to_one={},
                                                         weight_mV=dict(constant=1), delay_ms=dict(constant=1))]))


def test_unknown_fields_are_refused_when_written():
    with pytest.raises(ValueError, match='has no "tau_m"'):
        spikeem.Spec(population=[dict(name="E", size=1, lif_delta=dict(tau_m=20))])
    spec = spikeem.Spec()
    with pytest.raises(AttributeError):
        spec.run.durationms = 5
    with pytest.raises(TypeError):
        spikeem.Spec(run=dict(duration_ms="long"))


def test_text_binary_and_the_cli_agree(tmp):
    spec = spikeem.Spec.from_file(example("benchmarks", "cuba_delta.pbtxt"))
    assert spec.name == "cuba_delta" and [p.name for p in spec.population] == ["E", "I", "kick"]
    spec.save(tmp / "a.pbtxt")
    spec.save(tmp / "a.pb")
    again = spikeem.Spec.from_file(tmp / "a.pb")
    assert again.message == spec.message == spikeem.Spec.from_text((tmp / "a.pbtxt").read_text()).message
    out = spikeem_cli("validate", tmp / "a.pb").stdout
    assert spec.hash() in out and again.hash() == spec.hash()


def test_edited_specs_validate_as_edited():
    spec = spikeem.Spec.from_file(example("benchmarks", "cuba_delta.pbtxt"))
    assert spec.validate(duration_ms=5).duration_ms == 5
    spec.run.duration_ms = -3
    with pytest.raises(spikeem.SpecError, match=r"^<python spec>: run.duration_ms = -3: must be > 0 \(ms\)$"):
        spec.validate()
    copy = spec.copy()
    copy.run.duration_ms = 10
    assert spec.run.duration_ms == -3 and copy.validate().duration_ms == 10


def test_schema_messages_compose():
    pop = schema.Population(name="in", size=3, poisson=schema.PoissonSource(rate_hz=5))
    spec = spikeem.Spec(population=[pop], record=schema.Record(spikes=["in"]))
    spec.population.add(name="out", size=1, lif_delta=schema.LifDelta(tau_m_ms=10))
    assert [p.name for p in spec.population] == ["in", "out"]
    assert "lif_delta" in spec.to_text()
    sim = spikeem.Simulation(spec, duration_ms=100).run()
    assert sim.populations == ["in", "out"] and len(sim.spikes("in").t_ms) > 0
    with pytest.raises(KeyError, match="records no spikes"):
        sim.spikes("out")


def test_spike_files_relative_to_the_working_directory_or_the_spec_file(tmp, monkeypatch):
    import numpy as np

    # A spec built in Python reads a relative path from the working directory.
    (tmp / "in.csv").write_text("neuron,t_ms\n1,2.5\n0,4\n")
    np.save(tmp / "in.npy", np.array([[1.0, 2.5], [0.0, 4.0]]))
    monkeypatch.chdir(tmp)
    for name in ("in.csv", "in.npy"):
        spec = spikeem.Spec(run=dict(duration_ms=10),
                            population=[dict(name="S", size=2, spike_times=dict(file=name))],
                            record=dict(spikes=["S"]))
        sim = spikeem.Simulation(spec)
        sim.run()
        s = sim.spikes("S")
        assert list(s.t_ms) == [2.5, 4.0] and list(s.neuron) == [1, 0]
    # A spec read by from_file reads it from the spec file's folder, as the command line does.
    sub = tmp / "sub"
    sub.mkdir()
    (sub / "in.csv").write_text("neuron,t_ms\n0,1\n")
    (sub / "s.pbtxt").write_text('run { duration_ms: 10 }\n'
                                 'population { name: "S" size: 2 spike_times { file: "in.csv" } }\n'
                                 'record { spikes: "S" }\n')
    for spec in (spikeem.Spec.from_file("sub/s.pbtxt"), spikeem.Spec.from_file("sub/s.pbtxt").copy()):
        sim = spikeem.Simulation(spec)
        sim.run()
        assert list(sim.spikes("S").t_ms) == [1.0]
    cli = spikeem_cli("validate", sub / "s.pbtxt")
    assert cli.returncode == 0

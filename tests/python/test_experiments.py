"""spikeem's experiment functions against the command line: for the same small
settings each function returns exactly what its command writes (the CSV
numbers as printed, which round-trip; the JSON summaries key by key, wall
times aside), a bad argument raises ValueError naming it, and the Python
defaults are the command's (as its --help lists them)."""
import csv
import json
import math
import re
import struct

import numpy as np
import pytest

import spikeem
from conftest import example, spikeem_cli

# Fields that measure the machine, not the result.
TIMING = {"wall_time_s", "examples_per_s"}


def read_csv(path):
    """A CSV file as {column: list of str}."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [r[k] for r in rows] for k in rows[0]} if rows else {}


def check_columns(got, path, skip=()):
    """Every column of the CSV at `path` equals got[column]: numbers exactly (the CSV prints
    round-trip values; nan as nan), text as text."""
    table = read_csv(path)
    assert table, path
    for name, cells in table.items():
        if name in skip:
            continue
        assert name in got, f"{name} (of {path.name}) missing"
        values = got[name]
        assert len(values) == len(cells), name
        for k, (cell, v) in enumerate(zip(cells, values)):
            try:
                x = float(cell)
            except ValueError:
                assert str(v) == cell, f"{path.name} {name}[{k}]: {v!r} != {cell!r}"
                continue
            if math.isnan(x):
                assert math.isnan(float(v)), f"{path.name} {name}[{k}]: {v!r} != nan"
            else:  # in the column's own type (a float32 column prints float32's shortest digits)
                assert v == np.asarray(v).dtype.type(x), f"{path.name} {name}[{k}]: {v!r} != {cell!r}"


def without_timing(d):
    if isinstance(d, dict):
        return {k: without_timing(v) for k, v in d.items() if k not in TIMING}
    if isinstance(d, list):
        return [without_timing(v) for v in d]
    return d


def read_json(path):
    text = path.read_text()
    return json.loads(re.sub(r"(?<=[\s:\[,])nan(?=[\s,\]}])", "NaN", text))


def same_json(a, b):
    """Equal, NaN equal to NaN."""
    return json.dumps(without_timing(a), sort_keys=True) == json.dumps(without_timing(b), sort_keys=True)


def help_defaults(command):
    """{option: default text} from `spikeem COMMAND --help` ("--name arg (=value)")."""
    out = spikeem_cli(command, "--help").stdout
    return {m[1]: m[2] for m in re.finditer(r"--([\w-]+) arg \(=([^)]*)\)", out)}


def check_defaults(function, command, skip=()):
    """Every Python default that the command lists equals the command's default."""
    import inspect
    listed = help_defaults(command)
    assert listed
    params = inspect.signature(function).parameters
    for flag, text in listed.items():
        name = flag.replace("-", "_")
        if name in skip:
            continue
        assert name in params, f"{function.__name__} has no argument {name} (--{flag})"
        default = params[name].default
        if isinstance(default, (tuple, list)):
            assert [float(x) for x in text.split(",")] == [float(x) for x in default], name
        elif isinstance(default, str):
            assert default == text, name
        else:
            assert float(default) == float(text), f"{name}: {default} != {text}"


# ---- stdp_curve

def test_stdp_curve_equals_the_command(tmp_path):
    args = dict(dt_min_ms=-30, dt_max_ms=30, dt_step_ms=10, pairings=5)
    spikeem_cli("stdp-curve", "--out", tmp_path, "--dt-min-ms", -30, "--dt-max-ms", 30, "--dt-step-ms", 10,
                "--pairings", 5, "--no-plot")
    r = spikeem.stdp_curve(**args, threads=1)
    check_columns(r, tmp_path / "stdp_curve.csv")
    assert isinstance(r["dw"], np.ndarray) and r["dt_ms"].tolist() == [-30, -20, -10, 0, 10, 20, 30]
    assert same_json(r["settings"], read_json(tmp_path / "stdp_curve.json"))


def test_stdp_curve_frequency_protocol_of_a_triplet_preset(tmp_path):
    spikeem_cli("stdp-curve", "--out", tmp_path, "--rule", "triplet", "--protocol", "frequency",
                "--frequencies-hz", "1,20", "--pairings", 5, "--no-plot")
    r = spikeem.stdp_curve(rule="triplet", protocol="frequency", frequencies_hz=[1, 20], pairings=5)
    check_columns(r, tmp_path / "stdp_frequency.csv")
    assert r["settings"]["preset"] == "visual_all_to_all_full"
    assert same_json(r["settings"], read_json(tmp_path / "stdp_curve.json"))


def test_stdp_curve_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"pairings = 0: expected 1 to 100000"):
        spikeem.stdp_curve(pairings=0)
    with pytest.raises(ValueError, match=r"dt_min_ms 10 dt_max_ms -10 dt_step_ms 1"):
        spikeem.stdp_curve(dt_min_ms=10, dt_max_ms=-10)
    with pytest.raises(ValueError, match=r"w0_mV = 7: expected in \(0, 5\) mV"):
        spikeem.stdp_curve(w0_mV=7)
    with pytest.raises(ValueError, match=r"rule = \"quad\": expected pair or triplet"):
        spikeem.stdp_curve(rule="quad")


def test_stdp_curve_defaults_are_the_commands():
    check_defaults(spikeem.stdp_curve, "stdp-curve", skip=("w0_mV",))  # None: 1 mV, or the middle of a spec rule's bounds


# ---- eq1_curve and drift

def test_eq1_curve_equals_the_command(tmp_path):
    spikeem_cli("eq1-curve", "--out", tmp_path, "--trials", 2000, "--network-duration-ms", 2000,
                "--network-block-ms", 1000, "--no-plot")
    r = spikeem.eq1_curve(trials=2000, network_duration_ms=2000, network_block_ms=1000, progress=False)
    check_columns(r["curve"], tmp_path / "eq1_curve.csv")
    check_columns(r["network"], tmp_path / "eq1_curve_network.csv")
    check_columns(r["parametric"], tmp_path / "eq1_parametric.csv")
    assert same_json(r["fit"], read_json(tmp_path / "eq1_fit.json"))
    assert r["fit"]["network"]["blocks"] == 2


def test_eq1_curve_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"network_block_ms = 50: expected 100 to 1e7 \(ms\)"):
        spikeem.eq1_curve(network_block_ms=50)
    with pytest.raises(ValueError, match=r"pairing = \"closest\": expected nearest"):
        spikeem.eq1_curve(pairing="closest")


def test_eq1_curve_defaults_are_the_commands():
    check_defaults(spikeem.eq1_curve, "eq1-curve")


def test_drift_equals_the_command(tmp_path):
    spikeem_cli("drift", "--out", tmp_path, "--seeds", 2, "--zero-integral-seeds", 2, "--duration-ms", 1000,
                "--neurons", 3)
    r = spikeem.drift(seeds=2, zero_integral_seeds=2, duration_ms=1000, neurons=3, progress=False)
    check_columns(r["drift"], tmp_path / "drift.csv")
    check_columns(r["zero_integral"], tmp_path / "drift_zero_integral.csv")
    assert len(r["drift"]["pairing"]) == 18


def test_drift_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"seeds = 1: expected 2 to 10000"):
        spikeem.drift(seeds=1)
    with pytest.raises(ValueError, match=r"neurons = 0: expected 1 to 10000"):
        spikeem.drift(neurons=0)


def test_drift_defaults_are_the_commands():
    check_defaults(spikeem.drift, "drift")


# ---- gradcheck

def test_gradcheck_equals_the_command(tmp_path):
    spec = example("gradient_alignment", "supervised.pbtxt")
    spikeem_cli("gradcheck", spec, "--seeds", 2, "--duration-ms", 1500, "--no-plot", "--out", tmp_path)
    r = spikeem.gradcheck(str(spec), seeds=2, duration_ms=1500)
    check_columns(r["alignment"], tmp_path / "alignment.csv")
    check_columns({k: (v.astype(int) if v.dtype == bool else v) for k, v in r["summary"].items()},
                  tmp_path / "alignment_summary.csv")
    check_columns(r["dw"], tmp_path / "dw.csv")
    assert same_json(r["result"], read_json(tmp_path / "gradcheck.json"))
    # A Spec object gives the same numbers.
    again = spikeem.gradcheck(spikeem.Spec.from_file(spec), seeds=2, duration_ms=1500)
    np.testing.assert_array_equal(again["alignment"]["cosine"], r["alignment"]["cosine"])


def test_gradcheck_refuses_bad_arguments():
    spec = example("gradient_alignment", "supervised.pbtxt")
    with pytest.raises(ValueError, match=r"seeds = 0: expected 1 to 1000"):
        spikeem.gradcheck(spec, seeds=0)
    with pytest.raises(ValueError, match=r"duration_ms = 1: expected at least one cycle"):
        spikeem.gradcheck(spec, duration_ms=1)
    with pytest.raises(spikeem.SpecError, match="no objective"):
        spikeem.gradcheck(example("benchmarks", "cuba_delta.pbtxt"))


# ---- em_train and em_eval

def _idx(magic_type, dims, payload):
    return struct.pack(">HBB", 0, magic_type, len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + payload


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """120 stroke images of 28 x 28 in the layout of `spikeem data mnist`: 80 train, 20 validation, 20 test."""
    d = tmp_path_factory.mktemp("digits")
    rng = np.random.default_rng(1)
    n = 120
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    labels = np.zeros(n, dtype=np.uint8)
    for i in range(n):
        strokes = 1 + rng.integers(3)
        for _ in range(strokes):
            line = 4 + rng.integers(20)
            if rng.random() < 0.5:
                images[i, line, 4:24] = 255
            else:
                images[i, 4:24, line] = 255
        labels[i] = strokes
    (d / "images-idx3-ubyte").write_bytes(_idx(0x08, (n, 28, 28), images.tobytes()))
    (d / "labels-idx1-ubyte").write_bytes(_idx(0x08, (n,), labels.tobytes()))
    split = ["train"] * 80 + ["validation"] * 20 + ["test"] * 20
    (d / "split.csv").write_text("index,label,split\n" + "".join(f"{i},{labels[i]},{split[i]}\n" for i in range(n)))
    return d


def test_em_train_and_em_eval_equal_the_commands(digits, tmp_path):
    cli_run, py_run = tmp_path / "cli_run", tmp_path / "py_run"
    spikeem_cli("em-train", "--data", digits, "--out", cli_run, "--epochs", 2, "--eval-every", 2, "--quiet")
    r = spikeem.em_train(digits, py_run, epochs=2, eval_every=2, quiet=True)
    assert r["model"] == str(py_run / "model.pb") and r["epochs_done"] == 2
    check_columns(r["history"], cli_run / "train.csv", skip=("examples_per_s",))
    check_columns(r["history"], py_run / "train.csv")  # what it returns is what it wrote
    assert np.isfinite(r["history"]["val_ll_generate"][-1])

    cli_eval, py_eval = tmp_path / "cli_eval", tmp_path / "py_eval"
    spikeem_cli("em-eval", cli_run, "--data", digits, "--out", cli_eval, "--samples", 50, "--quiet")
    e = spikeem.em_eval(cli_run, digits, py_eval, samples=50, quiet=True)
    assert same_json(e["parzen"], read_json(cli_eval / "parzen.json"))
    assert e["parzen"]["n_samples"] == 50 and e["parzen"]["split"] == "test"
    check_columns(e["inference"], cli_eval / "inference.csv")
    assert (py_eval / "parzen.json").read_text() == (cli_eval / "parzen.json").read_text()


def test_em_train_and_em_eval_refuse_bad_arguments(digits, tmp_path):
    with pytest.raises(ValueError, match=r"epochs 0: expected 1 to 100000"):
        spikeem.em_train(digits, tmp_path / "run", epochs=0)
    with pytest.raises(ValueError, match=r"learning_rate -1: expected a finite number > 0"):
        spikeem.em_train(digits, tmp_path / "run", learning_rate=-1)
    with pytest.raises(ValueError, match=r"samples 1: expected 2 to 1000000"):
        spikeem.em_eval(tmp_path / "run", digits, tmp_path / "eval", samples=1)
    with pytest.raises(ValueError, match=r"split train: expected test or validation"):
        spikeem.em_eval(tmp_path / "run", digits, tmp_path / "eval", split="train")


def test_em_defaults_are_the_commands():
    check_defaults(spikeem.em_train, "em-train")
    check_defaults(spikeem.em_eval, "em-eval", skip=("samples",))  # None: 10000, or 20 with spiking


def test_every_function_has_a_docstring_with_units():
    for f in (spikeem.stdp_curve, spikeem.eq1_curve, spikeem.drift, spikeem.gradcheck, spikeem.em_train,
              spikeem.em_eval):
        assert f.__doc__ and f"spikeem {f.__name__.replace('_', '-')}" in f.__doc__

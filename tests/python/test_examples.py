"""The Python examples run as the docs say (small settings where they have them)."""
import subprocess
import sys

from conftest import example


def run(script, *args, cwd):
    r = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_first_network(tmp):
    # The script checks that its Python-built spec has the .pbtxt file's hash.
    out = run(example("first_network", "first_network.py"), str(tmp / "first.png"), cwd=tmp)
    assert "neurons " in out and (tmp / "first.png").stat().st_size > 0


def test_brunel_sweep_quick(tmp):
    out = run(example("python", "brunel_sweep.py"), "--quick", str(tmp / "sweep.png"), cwd=tmp)
    assert out.count("g = ") == 4 and (tmp / "sweep.png").stat().st_size > 0


def test_population_stats_on_counts_known_in_closed_form(tmp):
    # From 200 ms on, 1 ms bins alternate between k and 0 spikes (k = 4, then 2): mean k/2, variance
    # k^2/4, so the Fano factor is k/2, and the counts' only frequency is 1 / (2 ms) = 500 Hz.
    import json
    for name, k in (("a", 4), ("b", 2)):
        d = tmp / name
        d.mkdir()
        rows = ["t_ms,population,neuron"]
        rows += [f"{b + 0.5},E,{j}" for b in range(200, 1000, 2) for j in range(k)]
        rows.append("10.25,E,0")  # before --from-ms: left out
        (d / "spikes.csv").write_text("\n".join(rows) + "\n")
        (d / "run.json").write_text(json.dumps({"duration_ms": 1000.0, "populations": [
            {"name": "E", "mean_rate_hz": 1.0 + k, "mean_cv_isi": 0.5}]}))
    out = run(example("benchmarks", "population_stats.py"), str(tmp / "a"), str(tmp / "b"), cwd=tmp)
    lines = out.splitlines()
    assert "Fano factor 2," in lines[0] and "spectral peak (Hz) 500" in lines[0]
    assert "Fano factor 1," in lines[1] and "spectral peak (Hz) 500" in lines[1]
    assert "E rate (Hz): 4.000 +- 1.414" in out and "Fano factor: 1.500 +- 0.707" in out

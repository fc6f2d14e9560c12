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

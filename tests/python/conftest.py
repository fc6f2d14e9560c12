"""Shared fixtures: where the sources and the command-line binary are (set by ctest)."""
import os
import pathlib
import subprocess

import pytest

SOURCE = pathlib.Path(os.environ.get("SPIKEEM_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BINARY = os.environ.get("SPIKEEM_BINARY", str(SOURCE / "build" / "spikeem"))


def example(*parts):
    return SOURCE.joinpath("examples", *parts)


def spikeem_cli(*args, check=True):
    """Run the spikeem binary; returns the CompletedProcess (text)."""
    r = subprocess.run([BINARY, *map(str, args)], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"spikeem {' '.join(map(str, args))} exited {r.returncode}: {r.stderr}")
    return r


def format_ms(ticks, digits):
    """A tick count as the command line writes it: exact decimal ms with `digits` decimals."""
    per_ms = 10 ** digits
    sign = "-" if ticks < 0 else ""
    whole, frac = divmod(abs(ticks), per_ms)
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"


@pytest.fixture
def tmp(tmp_path):
    return tmp_path

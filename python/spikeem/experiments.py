"""The command line's experiments as functions that return data.

Each function runs the same code as its command (``spikeem stdp-curve``,
``eq1-curve``, ``drift``, ``gradcheck``, ``em-train``, ``em-eval``): keyword
arguments are the command's options with ``_`` for ``-``, with the same
defaults, ranges and checks.  A bad value raises ``ValueError`` naming the
argument, the value and what is allowed; a bad spec raises ``SpecError``.
Columns come back as NumPy arrays (the columns of the CSV files the command
writes, same names), summaries as plain dicts (the command's JSON files).
Nothing is plotted.  The GIL is released while the engine runs; ``threads``
caps the worker threads (0: all cores) and never changes a result.
"""

import json
import os
import re

import numpy as np

from . import _core
from .spec import Spec

__all__ = ["drift", "em_eval", "em_train", "eq1_curve", "gradcheck", "stdp_curve"]

_BARE_NUMBER = re.compile(r"(?<=[\s:\[,])(-?)(nan|inf)(?=[\s,\]}])")


def _parse_json(text):
    """The command's JSON text as a dict (a bare nan or inf, as fmt writes them, becomes a float)."""
    return json.loads(_BARE_NUMBER.sub(lambda m: f"{m[1]}{'NaN' if m[2] == 'nan' else 'Infinity'}", text))


def _columns(d):
    """Every list in a dict of columns as a NumPy array."""
    return {k: np.asarray(v) for k, v in d.items()}


def _threads(threads):
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise ValueError(f"threads = {threads!r}: expected 0 (all cores) to 256")
    return threads


def stdp_curve(*, rule="pair", a_plus_mV=0.01, a_minus_mV=0.005, tau_plus_ms=16.8, tau_minus_ms=33.7,
               pairing="all_to_all", preset="visual_all_to_all_full", dependence="additive", mu_plus=0.0,
               mu_minus=0.0, w_min_mV=0.0, w_max_mV=None, dendritic_delay_ms=0.0, spec=None, protocol="pairing",
               dt_min_ms=-100.0, dt_max_ms=100.0, dt_step_ms=1.0, frequency_hz=1.0,
               frequencies_hz=(0.1, 1, 5, 10, 20, 30, 40, 50), dt_ms=10.0, pairings=60, w0_mV=None,
               axonal_delay_ms=1.0, threads=0):
    """The STDP curve of a rule, measured on the full simulator (``spikeem stdp-curve``).

    One presynaptic source and one LIF neuron forced to fire at t_pre + dt
    (times at the synapse), ``pairings`` pairs per run; each point is an
    independent simulation.

    The rule: ``rule`` "pair" (``a_plus_mV``, ``a_minus_mV`` in mV,
    ``tau_plus_ms``, ``tau_minus_ms`` in ms, ``pairing`` all_to_all,
    nearest_symmetric or nearest_presynaptic_centred) or "triplet" (``preset``,
    a Pfister & Gerstner 2006 preset; "all": every preset, with
    protocol="frequency"); ``dependence`` additive, multiplicative or guetig
    (``mu_plus``, ``mu_minus``); weight bounds ``w_min_mV``, ``w_max_mV``
    (None: no upper bound); ``dendritic_delay_ms``.  Or ``spec``: a spec file
    whose first plastic projection gives the rule and dendritic delay.

    The protocol: "pairing" runs dt = ``dt_min_ms`` .. ``dt_max_ms`` by
    ``dt_step_ms`` (ms) at ``frequency_hz`` (Hz); "frequency" runs dt =
    -``dt_ms`` and +``dt_ms`` at each of ``frequencies_hz`` (Hz, each in
    (0, 500]).  ``pairings``: 1 to 100000.  ``w0_mV``: the initial weight, in
    (0, 5) mV and within the bounds (None: 1 mV, or the middle of a spec
    rule's bounds when 1 mV lies outside them).  ``axonal_delay_ms`` >= 0.001.

    Returns a dict: "dt_ms" (ms), "dw" (mV), "dw_rel" (dw / w0) as in
    stdp_curve.csv, "frequency_hz" (Hz; the column of stdp_frequency.csv),
    "preset" (the preset of each row, "" unless a named triplet preset),
    "settings": stdp_curve.json's content (for preset="all" a list, one per
    preset, as stdp_frequency_presets.json).
    """
    r = _core.stdp_curve(
        rule=rule, a_plus_mV=a_plus_mV, a_minus_mV=a_minus_mV, tau_plus_ms=tau_plus_ms, tau_minus_ms=tau_minus_ms,
        pairing=pairing, preset=preset, dependence=dependence, mu_plus=mu_plus, mu_minus=mu_minus,
        w_min_mV=w_min_mV, w_max_mV=w_max_mV, dendritic_delay_ms=dendritic_delay_ms,
        spec=None if spec is None else os.fspath(spec), protocol=protocol, dt_min_ms=dt_min_ms,
        dt_max_ms=dt_max_ms, dt_step_ms=dt_step_ms, frequency_hz=frequency_hz,
        frequencies_hz=[float(f) for f in frequencies_hz], dt_ms=dt_ms, pairings=pairings, w0_mV=w0_mV,
        axonal_delay_ms=axonal_delay_ms, threads=_threads(threads))
    settings = [_parse_json(j) for j in r["json"]]
    out = _columns({k: r[k] for k in ("dt_ms", "dw", "dw_rel", "frequency_hz", "preset")})
    out["protocol"] = r["protocol"]
    out["settings"] = settings if r["all_presets"] else settings[0]
    return out


def eq1_curve(*, trials=200000, firing="stochastic", reset=False, noise=0.0, slope_std=0.02,
              slope_grid=(-0.08, -0.04, -0.02, -0.01, -0.005, 0.005, 0.01, 0.02, 0.04, 0.08), bin_ms=5.0,
              window_ms=100.0, pairing="nearest", network_duration_ms=200000.0, network_estimate="forward",
              network_reset=False, network_block_ms=5000.0, seed=1, threads=0, progress=True):
    """The STDP curve that Eq. 1 produces (``spikeem eq1-curve``, paper Fig. 1).

    1. The stand-alone protocol: V(t) = V0 + Vdot t, V0 ~ U[0, 1), Vdot ~
       N(0, ``slope_std``) (1/ms), threshold 1, one pre spike at 0, dW = Vdot;
       ``trials`` trials, ``firing`` "stochastic" (with Brownian ``noise`` on V,
       1/sqrt(ms)) or "deterministic"; ``reset``: reset V after each post
       spike.  Each pre spike is paired by ``pairing`` (nearest, first_after,
       last_before or all) with post spikes within +-``window_ms`` (ms), binned
       by ``bin_ms`` (ms).  The per-slope (parametric) curve runs the slopes of
       ``slope_grid`` (1/ms, each |slope| >= 1e-4).
    2. The full simulator (skipped when ``network_duration_ms`` is 0; up to
       1e8 ms): a stochastic neuron under Poisson input with Eq. 1 at its
       synapses; ``network_estimate`` forward, central or analytic;
       ``network_reset``: reset V to 0 after each post spike; standard errors
       from blocks of ``network_block_ms`` (100 to 1e7 ms).

    ``seed``: the random seed.  ``progress``: a line on stderr saying what each
    part runs, and progress lines once a part has taken 2 s (False: silent).

    Returns a dict: "curve" and "network" (None when not run): columns of
    eq1_curve.csv / eq1_curve_network.csv, "dT_ms" (ms), "mean_dw", "sem"
    (NaN for an empty bin or one of a single pair), "n"; "parametric": the
    columns of eq1_parametric.csv ("slope_per_ms", "mean_dT_ms", "sem_dT_ms",
    "mean_dw", "pairs", "trials"); "fit": eq1_fit.json's content (the fits of
    both sides: exponential tau in ms against 1/dT).
    """
    if isinstance(trials, bool) or not isinstance(trials, int):
        raise ValueError(f"trials = {trials!r}: expected a count > 0")
    r = _core.eq1_curve(
        trials=trials, firing=firing, reset=bool(reset), noise=noise, slope_std=slope_std,
        slope_grid=[float(s) for s in slope_grid], bin_ms=bin_ms, window_ms=window_ms, pairing=pairing,
        network_duration_ms=network_duration_ms, network_estimate=network_estimate,
        network_reset=bool(network_reset), network_block_ms=network_block_ms, seed=seed,
        threads=_threads(threads), progress=bool(progress))
    return {"curve": _columns(r["curve"]), "network": None if r["network"] is None else _columns(r["network"]),
            "parametric": _columns(r["parametric"]), "fit": _parse_json(r["json"])}


def drift(*, seeds=8, zero_integral_seeds=16, duration_ms=100000.0, neurons=100, a_plus_mV=0.01, a_minus_mV=0.0105,
          tau_plus_ms=20.0, tau_minus_ms=20.0, threads=0, progress=True):
    """Pair STDP against its rate-form identity (``spikeem drift``).

    Pair STDP between independent Poisson trains, the post rate ramping
    linearly: the measured mean drift (mV/s) against r_pre (r_post int K +
    dr_post/dt int tau K) and against the exact expectation for the pairing
    scheme and duration.  First the window given (``a_plus_mV``, ``a_minus_mV``
    in mV >= 0, ``tau_plus_ms``, ``tau_minus_ms`` in ms > 0) for every pairing
    scheme, 3 rate pairs and 2 ramps, ``seeds`` runs per case (2 to 10000);
    then the same window with A- = A+ tau+ / tau- (zero integral), so that the
    drift is the Eq. 1 term alone, ``zero_integral_seeds`` runs per case (2 to
    10000).  ``duration_ms``: simulated time per run (1000 to 1e8 ms);
    ``neurons``: pre and post neurons, all to all (1 to 10000).
    ``progress``: progress lines on stderr once the runs have taken 2 s
    (False: silent).

    Returns a dict: "drift" (the columns of drift.csv: "pairing", "r_pre_hz",
    "r_post_hz", "r_post_slope_hz_per_s", "measured_mV_per_s",
    "sem_mV_per_s", "identity_mV_per_s", "expected_mV_per_s", "z_identity",
    "z_expected"), "zero_integral" (the columns of drift_zero_integral.csv,
    with "z_resolved" = measured / sem), "wall_time_s".
    """
    r = _core.drift(seeds=seeds, zero_integral_seeds=zero_integral_seeds, duration_ms=duration_ms, neurons=neurons,
                    a_plus_mV=a_plus_mV, a_minus_mV=a_minus_mV, tau_plus_ms=tau_plus_ms, tau_minus_ms=tau_minus_ms,
                    threads=_threads(threads), progress=bool(progress))
    return {"drift": _columns(r["drift"]), "zero_integral": _columns(r["zero_integral"]),
            "wall_time_s": r["wall_time_s"]}


def gradcheck(spec, *, seeds=5, duration_ms=None, threads=0):
    """Eq. 1's weight changes against the gradient of the spec's objective (``spikeem gradcheck``).

    ``spec``: a ``Spec`` or a spec file name; it must declare an objective.
    Runs the network for seeds 1..``seeds`` (1 to 1000), alternating free and
    nudged phases, and at log-spaced times up to ``duration_ms`` (ms; None: the
    spec's run.duration_ms; at least one cycle, at most 1e8) compares the
    accumulated dW with dJ/dW per layer.

    Returns a dict: "alignment" (the columns of alignment.csv: "t_ms", "seed",
    "layer", "cosine", "null_cosine", "shuffled_cosine",
    "cosine_beyond_null", "pearson", "slope" (1: unbiased), "rel_error"),
    "summary" (alignment_summary.csv: mean and standard error over seeds per
    time and layer, "expected_cosine", "aligned"), "dw" (dw.csv: per seed and
    weight at the longest time, "dJ_dW", "expected_dW", "null_guess", "dW"),
    and "result": gradcheck.json's content.
    """
    if isinstance(spec, (str, os.PathLike)):
        origin = os.fspath(spec)
        spec = Spec.from_file(spec)
    elif isinstance(spec, Spec):
        origin = None
    else:
        raise TypeError(f"gradcheck: expected a spikeem.Spec or a spec file name, got {type(spec).__name__}")
    loaded = spec.validate()
    if duration_ms is not None:
        duration_ms = float(duration_ms)
    r = _core.gradcheck(loaded, loaded.origin if origin is None else origin, seeds=seeds, duration_ms=duration_ms,
                        threads=_threads(threads))
    return {"alignment": _columns(r["alignment"]), "summary": _columns(r["summary"]), "dw": _columns(r["dw"]),
            "result": _parse_json(r["json"])}


def em_train(data, out, *, epochs=20, limit=0, seed=1, learning_rate=0.01, eval_every=5, resume=False, stop_after=0,
             quiet=False, threads=0):
    """Train the 784-1000-100 generative model by variational EM (``spikeem em-train``).

    ``data``: a digit set folder (``spikeem data mnist``'s, or the standard
    MNIST / Fashion-MNIST IDX files).  ``out``: the run folder, written as the
    command writes it: checkpoint.pb and train.csv after every epoch, model.pb
    when all epochs are done (no plot).  ``epochs`` (1 to 100000); ``limit``:
    the first N training digits only (0: all); ``seed``; ``learning_rate``
    (> 0, the SGD step); ``eval_every``: validation Parzen log-likelihood of
    1,000 samples every N epochs and at the end (0: never); ``resume``:
    continue the run in ``out`` from its checkpoint; ``stop_after``: stop after
    that epoch as if interrupted (0: never); ``quiet``: no progress on stderr.

    Returns a dict: "history" (the columns of train.csv, two rows per epoch:
    "epoch", "layer", "reconstruction_loss", "prediction_loss", "log_p_xh"
    (nats), "examples_per_s", "h_norm", "val_ll_generate", "val_ll_ancestral"
    (nats; NaN when not evaluated)), "run" (the folder), "model" (model.pb's
    path, None when stopped early), "epochs_done", "wall_time_s".
    """
    out = os.fspath(out)
    r = _core.em_train(os.fspath(data), out, epochs=epochs, limit=limit, seed=seed, learning_rate=learning_rate,
                       eval_every=eval_every, resume=bool(resume), stop_after=stop_after, quiet=bool(quiet),
                       threads=_threads(threads))
    return {"history": _columns(r["history"]), "run": out,
            "model": os.path.join(out, "model.pb") if r["finished"] else None, "epochs_done": r["epochs_done"],
            "wall_time_s": r["wall_time_s"]}


def em_eval(run, data, out, *, samples=None, split="test", seed=1, spiking=False, spiking_step_ms=5.0, quiet=False,
            threads=0):
    """Score a trained generative model (``spikeem em-eval``).

    ``run``: an em-train folder (its model.pb) or a model file; ``data``: the
    digit set; ``out``: the evaluation folder, written as the command writes it
    (parzen.json, inference.csv, samples and in-painting as IDX; no plots).
    ``samples``: generated samples, the Parzen centres (2 to 1000000; None:
    10000, or 20 with spiking, where at most 1000); ``split``: "test" or
    "validation", the digits scored (Parzen sigma is chosen on validation);
    ``seed``: h2 draws and in-painting noise; ``spiking``: GENERATE with the
    spiking E-step, ``spiking_step_ms`` simulated ms per INFERENCE iteration
    (>= 1); ``quiet``: no progress on stderr.

    Returns a dict: "parzen": parzen.json's content (log-likelihoods in nats
    per digit with standard errors, the chosen sigmas, the references);
    "inference": the columns of inference.csv ("alpha", "iteration", "term",
    "mean", "se": log p(x, h) and its terms in nats over INFERENCE); "out";
    "wall_time_s".
    """
    out = os.fspath(out)
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int)):
        raise ValueError(f"samples = {samples!r}: expected 2 to 1000000")
    r = _core.em_eval(os.fspath(run), os.fspath(data), out, samples=samples, split=split, seed=seed,
                      spiking=bool(spiking), spiking_step_ms=spiking_step_ms, quiet=bool(quiet),
                      threads=_threads(threads))
    return {"parzen": _parse_json(r["json"]), "inference": _columns(r["inference"]), "out": out,
            "wall_time_s": r["wall_time_s"]}

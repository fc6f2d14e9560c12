"""spikeem: an exact event-driven spiking network simulator, from Python.

    import spikeem
    sim = spikeem.Simulation("network.pbtxt", seed=1)
    sim.run()                      # to the spec's run.duration_ms
    t_ms, neuron = sim.spikes("E")

Specs: ``Spec`` (files, text, or built from the ``schema`` messages);
``Simulation`` runs one (in pieces, with controls between them) and returns
NumPy arrays; ``SpecError`` is what a refused spec raises.  The experiment
drivers of the command line are functions here too (``stdp_curve``,
``eq1_curve``, ``drift``, ``gradcheck``, ``em_train``, ``em_eval``).
"""

from . import _core
from .spec import Problem, Spec, SpecError, schema
from .simulation import PopulationRate, Simulation, Spikes, Trace, Weights, WeightTrace
from .experiments import drift, em_eval, em_train, eq1_curve, gradcheck, stdp_curve

__version__ = _core.version()

__all__ = ["PopulationRate", "Problem", "Simulation", "Spec", "SpecError", "Spikes", "Trace", "WeightTrace", "Weights", "schema",
           "__version__", "drift", "em_eval", "em_train", "eq1_curve", "gradcheck", "stdp_curve"]

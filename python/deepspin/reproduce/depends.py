"""The code each cached result depends on (:mod:`.code` hashes it into the cache keys).

Two levels, chosen so that the costly results survive edits that cannot change them:

- **Artefacts** (datasets, trained models, Monte Carlo runs: hours of CPU in the paper profile) depend
  on the code that computes their numbers only: the Hamiltonians, the samplers, the hash split, the
  network and its training loop, the Metropolis samplers. Input validation, file I/O, checkpointing
  and inference speed-ups are left out, so those edits elsewhere in the package keep them.
- **Stages** depend on their own function, the reproduce module that defines it and what draws
  their figures and computes their rows (exact references, metrics, plots). A stage is cheap once
  its artefacts exist, so these lists are generous.

Not covered: the compiled core (``csrc/``), reached only through the deepspin version; the inference
path of a saved network (``surrogate/operator.py``), whose values a learned Monte Carlo run depends
on only to rounding.
"""
from __future__ import annotations

_HAMILTONIANS = tuple(f"deepspin.hamiltonians:{name}" for name in (
    "Hamiltonian", "_NearestNeighbour", "Ising", "PlanarPotts", "PairPotential", "ScreenedCoulomb",
    "SinusoidalCoulomb", "hamiltonian"))
PHYSICS = (*_HAMILTONIANS, "deepspin.observables", "deepspin.enumeration", "deepspin.lattice")
SAMPLING = ("deepspin.sampling.common:seed_entropy", "deepspin.sampling.common:stream",
            "deepspin.sampling.common:label", "deepspin.sampling.simple", "deepspin.sampling.targeted",
            "deepspin.sampling.thermal", "deepspin.sampling.walkers", "deepspin.datasets.split")
DATA = (*PHYSICS, *SAMPLING, "deepspin.reproduce.stages:dataset")
_TRAIN_PARTS = ("TrainConfig", "validation_split", "epoch_order", "build_model", "compile_model", "fit", "fit_sizes",
                "_check_targets", "_initial_model", "_callbacks", "EpochShuffled", "EpochSetter", "MixedSizes")
TRAIN = ("deepspin.surrogate.architectures", "deepspin.surrogate.layers", "deepspin.surrogate.targets",
         *(f"deepspin.surrogate.train:{name}" for name in _TRAIN_PARTS))
MODEL = (*DATA, *TRAIN, "deepspin.reproduce.learned:trained_model", "deepspin.reproduce.learned:training_subset")
EXTENSIVE_MODEL = (*DATA, *TRAIN, "deepspin.surrogate.extensive", "deepspin.surrogate.pretrained")
#: The Monte Carlo core: operators, one acceptance, chain state, the rules (one module each), the sampler.
MC = (*PHYSICS, "deepspin.mc.metropolis", "deepspin.mc.acceptance", "deepspin.mc.operators", "deepspin.mc.philox",
      "deepspin.mc.state", "deepspin.mc.observables", "deepspin.mc.temperatures",
      *(f"deepspin.mc.rules.{rule}" for rule in ("base", "batch", "ising", "pair", "potts", "sublattice", "registry",
                                                 "multispin")),
      "deepspin.mc.multispin",
      "deepspin.reproduce.stages:mc_records")

DEMO_MODEL = (*PHYSICS, *(f"deepspin.surrogate.interpret:{name}" for name in (
    "DEMO_L", "DEMO_FILTERS", "DEMO_KERNEL", "DEMO_DENSE", "demo_model", "demo_data", "DemoRun", "train_demo")),
    "deepspin.reproduce.demonstration:demo_model")

#: Artefact kind (``Context.artefact``) -> the code its content depends on.
ARTEFACTS = {"dataset": DATA, "model": MODEL, "extensive-model": EXTENSIVE_MODEL, "mc": MC, "demo-model": DEMO_MODEL}

_REPORTING = ("deepspin.plots", "deepspin.reproduce.figures", "deepspin.reproduce.stage:Row",
              "deepspin.reproduce.stage:VERDICTS")
_EXACT = ("deepspin.mc.exact", "deepspin.mc.transfer")
_EVALUATE = ("deepspin.surrogate.evaluate", "deepspin.surrogate.operator")
#: What every stage of a reproduce module depends on besides the stage function itself.
MODULES = {
    "stages": ("deepspin.reproduce.stages", *DATA, *_EXACT, *_REPORTING),
    "learned": ("deepspin.reproduce.learned", "deepspin.reproduce.stages", *MODEL, *_EVALUATE, *_REPORTING,
                "deepspin.surrogate.baselines"),
    "learned_phases": ("deepspin.reproduce.learned_phases", "deepspin.reproduce.learned", "deepspin.reproduce.stages",
                       *MODEL, *MC, *_EXACT, *_EVALUATE, *_REPORTING),
    "demonstration": ("deepspin.reproduce.demonstration", *DEMO_MODEL, "deepspin.surrogate.interpret", *_REPORTING),
    "beyond": ("deepspin.reproduce.beyond", "deepspin.reproduce.stages", *EXTENSIVE_MODEL, *MC, *_EXACT,
               *_EVALUATE, *_REPORTING),
}


def stage_code(run) -> tuple:
    """The code a stage whose function is ``run`` depends on: ``run`` itself and its module's list
    (only ``run`` for a function outside :mod:`deepspin.reproduce`)."""
    module = run.__module__.rpartition(".")[2]
    if run.__module__.startswith("deepspin.reproduce.") and module in MODULES:
        return (run, *MODULES[module])
    return (run,)

"""Every stage of the reproduction, in report order, and the order a run takes them in."""
from __future__ import annotations

from . import beyond, demonstration, learned, learned_phases, stages
from .stage import Stage

STAGES = {stage.name: stage for stage in (
    Stage("hash-uniformity", "Uniformity of the SHA3 split (Fig. 15b)", stages.hash_uniformity),
    Stage("dos-4x4", "Density of states of the 4x4 Ising model (Fig. 5)", stages.density_of_states),
    Stage("sampling-4x4", "Uniform vs targeted sampling, 4x4 Ising (Figs. 2-3, histograms)", stages.sampling_4x4),
    Stage("classify-4x4", "4x4 classifiers trained on uniform vs targeted data, scored on all configurations (Figs. 2-3)",
          learned.classify_4x4),
    Stage("learning-curve-4x4", "4x4 accuracy against the targeted training-set size (Fig. 4)",
          learned.learning_curve_4x4),
    Stage("regression-4x4", "4x4 energy and magnetization regression, scored on all configurations (Sec. IV.B.2)",
          learned.regression_4x4),
    Stage("phase-4x4", "4x4 Ising phase transition, exact operator vs enumeration (Figs. 7-8)", stages.phase_ising),
    Stage("phase-4x4-learned", "4x4 Ising phase transition with the learned energy and magnetization operators "
          "(Figs. 7-8)", learned_phases.phase_4x4_learned),
    Stage("phase-8x8", "8x8 Ising phase transition, exact operator vs Kaufman (Fig. 9)", stages.phase_ising),
    Stage("ising-8x8", "8x8 Ising classification, energy and magnetization regression (Fig. 6, Sec. IV.B.2)",
          learned.ising_8x8),
    Stage("learning-curve-8x8", "8x8 classification accuracy against the training-set size (Fig. 6)",
          learned.learning_curve_8x8),
    Stage("phase-8x8-learned", "8x8 Ising phase transition with the learned classification and regression "
          "operators (Fig. 9)", learned_phases.phase_8x8_learned),
    Stage("baselines-8x8", "Kernel ridge regression and random forest against the CNN, 8x8 energy (Sec. IV.B.7)",
          learned.baselines_8x8),
    Stage("coulomb-regression", "Screened Coulomb 8x8 energy regression (Fig. 11a)", learned.uniform_regression),
    Stage("sinusoidal-regression", "Sinusoidal screened Coulomb 8x8 energy regression (Fig. 11b)",
          learned.uniform_regression),
    Stage("potts-regression", "Planar Potts 8x8 energy regression (Fig. 12)", learned.uniform_regression),
    Stage("coulomb-mc", "Screened Coulomb <|m|> against T, exact operator (Fig. 10)", stages.coulomb_magnetization),
    Stage("coulomb-learned", "Screened Coulomb: regressor fine-tuned on thermal samples, Metropolis with the exact "
          "and the learned operator (Fig. 10)", learned_phases.coulomb_learned),
    Stage("kernels-9x9", "The demonstration network: 512 kernels of 3x3, stride 3, on 9x9 Ising, 200,000 uniform "
          "examples; its kernels and activation maximisation (Figs. 13-14)", demonstration.kernels_9x9),
    Stage("adadelta-protocol", "The paper's training protocol (AdaDelta 1e-3, zero padding, until the loss converges), "
          "the same at Zeiler's unit rate, and ours (Adam 1e-3, periodic padding) for the 4x4 and 8x8 classifiers",
          learned.adadelta_protocol),
    Stage("extensive-ising", "Beyond the paper: extensive Ising surrogate trained on 8x8, per-site error up to 128x128",
          beyond.size_transfer),
    Stage("extensive-coulomb", "Beyond the paper: extensive screened-Coulomb surrogate trained on 8x8 + 16x16, "
          "per-site error up to 64x64", beyond.size_transfer),
    Stage("extensive-mc", "Beyond the paper: Metropolis at L = 16 and 32 with the extensive Ising surrogate "
          "trained on 8x8", beyond.extensive_metropolis),
)}

#: Stages a run takes last, in this order: Metropolis with a network operator and the long AdaDelta
#: trainings cost the most CPU time, so every other stage finishes (and reports) before them.
LAST = ("coulomb-learned", "phase-8x8-learned", "extensive-ising", "extensive-coulomb", "extensive-mc",
        "adadelta-protocol")


def run_order(names) -> list[str]:
    """``names`` in the order a run takes them: report order, with the stages of :data:`LAST` at the end."""
    names = list(names)
    return [n for n in names if n not in LAST] + [n for n in LAST if n in names]

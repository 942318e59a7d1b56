"""The published numbers of Mills & Tamblyn, PRE 97, 032119 (2018), in one table.

Every number in the report's paper column comes from :data:`PAPER`, each with the figure or section
that states it. ``value`` is ``None`` for a claim the paper makes without a number (the report then
shows the claim and no ratio).
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class PaperValue:
    """One published result: the number (or ``None``), how the paper states it, and where."""

    value: float | None
    text: str
    where: str


PAPER = {
    "ising4.levels": PaperValue(15, "15 energy levels", "Sec. IV.A"),
    "ising4.configurations": PaperValue(65_536, "65 536 configurations", "Sec. IV.A"),
    "ising4.E_min": PaperValue(-32, "-32 J", "Sec. IV.A"),
    "ising4.E_max": PaperValue(32, "32 J", "Sec. IV.A"),
    "ising4.uniform_size": PaperValue(12_500, "approximately 12 500", "Sec. III"),
    "ising4.uniform_distinct": PaperValue(10_343, "10 343 distinct", "Sec. III"),
    "ising4.uniform_distinct_fraction": PaperValue(16, "16 %", "Sec. III"),
    "ising4.uniform_extreme_examples": PaperValue(
        None, "very little probability of a high- or low-energy configuration", "Sec. III, Fig. 2"),
    "ising4.targeted_size": PaperValue(27_000, "27 000 (1800 per class)", "Sec. IV.A"),
    "ising4.targeted_distinct_fraction": PaperValue(20, "less than 20 %", "Sec. IV.A"),
    "ising4.uniform_accuracy": PaperValue(99.88, "99.88 %", "Sec. III, Fig. 2"),
    "ising4.uniform_extremes": PaperValue(
        None, "uniform: many configurations below -16 J and above 16 J misclassified", "Sec. III, Figs. 2-3"),
    "ising4.targeted_accuracy": PaperValue(None, "all but a handful of configurations, on average", "Sec. IV.A, Fig. 3"),
    "ising4.targeted_best_accuracy": PaperValue(100, "100 % on one of the three datasets", "Sec. IV.A"),
    "ising4.learning_curve": PaperValue(None, "27 000 examples (1800 per class) give almost perfect accuracy",
                                        "Sec. IV.A, Fig. 4"),
    "ising4.max_class_error": PaperValue(1, "every misclassification is off by one level", "Sec. IV.A"),
    "ising8.learning_curve": PaperValue(None, "more training examples lead to better accuracy; 99.922 % at 100 000",
                                        "Sec. IV.B.1, Fig. 6"),
    "ising8.accuracy": PaperValue(99.922, "99.922 % (100 000 training, 50 000 test)", "Sec. IV.B.1, Fig. 6"),
    "ising8.max_class_error": PaperValue(1, "predicted class correct or one level away", "Sec. IV.B.1"),
    "ising8.regression_median": PaperValue(1.782, "1.782 J", "Sec. IV.B.2"),
    "ising4.magnetization_median": PaperValue(4e-3, "4e-3 per spin", "Sec. IV.B.2"),
    "ising8.magnetization_median": PaperValue(2e-3, "2e-3 per spin", "Sec. IV.B.2"),
    "ising8.krr_median": PaperValue(60.3, "KRR: median absolute error 60.3 J", "Sec. IV.B.7"),
    "ising8.rf_mae": PaperValue(5.8, "RF: MAE 5.8 J", "Sec. IV.B.7"),
    "ising8.baselines_inferior": PaperValue(None, "KRR and RF far inferior to the deep neural network", "Sec. IV.B.7"),
    "coulomb.speedup": PaperValue(1600, "1600x faster than a CUDA-optimised exact calculation (Tesla K40)",
                                  "Abstract, Sec. IV.B.4"),
    "coulomb-regression.error": PaperValue(0.640, "median absolute error 0.640 J", "Sec. IV.B.4, Fig. 11a"),
    "coulomb-regression.train_size": PaperValue(100_000, "100 000 (and 20 000 test)", "Sec. IV.B.4"),
    "sinusoidal-regression.error": PaperValue(0.253, "an accuracy of 0.253 J", "Sec. IV.B.4, Fig. 11b"),
    "sinusoidal-regression.train_size": PaperValue(100_000, "an identical training procedure", "Sec. IV.B.4"),
    "potts-regression.error": PaperValue(0.542, "MAE 0.542 J", "Sec. IV.B.5, Fig. 12"),
    "potts-regression.train_size": PaperValue(500_000, "500 000 examples", "Sec. IV.B.5"),
    "ising.Tc": PaperValue(2.269, "Tc ≈ 2.269 (infinite lattice; finite tori peak at γTc)", "Sec. IV.B.3"),
    "ising.phase_match": PaperValue(None, "phase diagrams match exactly", "Sec. IV.B.3, Figs. 7-9"),
    "ising8.classification_phase": PaperValue(
        None, "classification replicates the phase transition", "Sec. IV.B.3, Fig. 9"),
    "ising8.regression_phase": PaperValue(
        None, "regression: transition still observed, at a slightly lower temperature", "Sec. IV.B.3, Fig. 9"),
    "demo.performance": PaperValue(
        None, "performs significantly more poorly than the network used throughout this work", "Sec. 8"),
    "demo.kernels": PaperValue(512, "all 512 kernels; weights close to zero, some negative, some positive",
                               "Sec. 8, Fig. 13"),
    "demo.maximize": PaperValue(
        None, "input images that maximise the first and last filters, lower-right block set by hand", "Sec. 8, Fig. 14"),
    "hash.uniform": PaperValue(None, "the 12 most significant bits are uniformly distributed", "Appendix, Fig. 15b"),
    "coulomb.high_T_absm": PaperValue(
        None, "<|m|> approaches the mean |m| of random spins at high T", "Sec. IV.B.4, Fig. 10"),
    "coulomb.learned_match": PaperValue(
        None, "the fine-tuned learned operator matches the numerical simulation well", "Sec. IV.B.4, Fig. 10"),
}

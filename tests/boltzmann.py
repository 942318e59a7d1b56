"""Exact Boltzmann probabilities of small lattices and a pooled chi-square, shared by the sampler tests."""
import numpy as np
import pytest

from deepspin.enumeration import configurations

stats = pytest.importorskip("scipy.stats", reason="scipy (test extra) is not installed")


def boltzmann(H, T):
    """``(p, energy, configs)`` for every configuration of ``H`` (N <= 16) in SPEC enumeration order:
    ``p = exp(-E/T) / Z``, ``configs`` of shape `(2^N, L, L)`."""
    configs = configurations(H.L)
    energy = H.energy(configs, backend="numpy")
    weights = np.exp(-(energy - energy.min()) / T)
    return weights / weights.sum(), energy, configs


def config_index(configs):
    """Index of each `(L, L)` configuration in SPEC enumeration order (bits of ``s > 0``, most significant first)."""
    bits = (np.asarray(configs).reshape(len(configs), -1) > 0).astype(np.int64)
    return bits @ (1 << np.arange(bits.shape[1] - 1, -1, -1))


def chi_square_p(counts, probabilities):
    """p-value of Pearson's chi-square of ``counts`` against ``probabilities``; bins expected below 5 pooled."""
    expected = probabilities * counts.sum()
    small = expected < 5
    observed = np.append(counts[~small], counts[small].sum())
    expected = np.append(expected[~small], expected[small].sum())
    if expected[-1] == 0:
        observed, expected = observed[:-1], expected[:-1]
    return stats.chisquare(observed, expected).pvalue

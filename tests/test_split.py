"""SHA3 train/test split (SPEC section 4): the literal recipe, two implementations, duplicates, fractions."""
import hashlib
import math

import numpy as np
import pytest

from deepspin import enumeration
from deepspin.datasets import config_bytes, distinct_count, hash_buckets, split_mask
from conftest import random_spins


def spec_bucket_spins(s):
    """SPEC section 4, verbatim."""
    data = np.packbits((s > 0).astype(np.uint8).ravel(order="C"), bitorder="big").tobytes()
    return int(hashlib.sha3_512(data).hexdigest()[:3], 16)


def spec_bucket_angles(theta):
    return int(hashlib.sha3_512(np.ascontiguousarray(theta, dtype="<f8").tobytes()).hexdigest()[:3], 16)


@pytest.mark.parametrize("L", [3, 4, 5, 8])
def test_buckets_follow_the_spec_recipe(L, rng):
    spins = random_spins(rng, 200, L)
    assert hash_buckets(spins).tolist() == [spec_bucket_spins(s) for s in spins]
    theta = rng.random((50, L, L)) * np.pi
    assert hash_buckets(theta).tolist() == [spec_bucket_angles(t) for t in theta]


def test_hashlib_and_pycryptodome_agree(rng):
    pytest.importorskip("Crypto.Hash.SHA3_512")
    spins = random_spins(rng, 2000, 8)
    np.testing.assert_array_equal(hash_buckets(spins), hash_buckets(spins, implementation="pycryptodome"))
    theta = rng.random((500, 4, 4)) * np.pi
    np.testing.assert_array_equal(hash_buckets(theta, kind="angles"),
                                  hash_buckets(theta, kind="angles", implementation="pycryptodome"))
    from Crypto.Hash import SHA3_512

    data = config_bytes(spins[:1])[0].tobytes()
    assert SHA3_512.new(data).hexdigest() == hashlib.sha3_512(data).hexdigest()


def test_duplicates_always_on_the_same_side(rng):
    base = random_spins(rng, 500, 6)
    batch = np.concatenate([base, base[::-1], base.astype(np.float64)])  # repeats, other order, other dtype
    mask = split_mask(batch, 0.3)
    np.testing.assert_array_equal(mask[:500], mask[500:1000][::-1])
    np.testing.assert_array_equal(mask[:500], mask[1000:])


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_test_fraction_within_binomial_bounds(fraction):
    """All 65,536 distinct 4x4 configurations: the test count is Binomial(n, round(4096 f) / 4096)."""
    spins = enumeration.configurations(4)
    mask = split_mask(spins, fraction)
    n, p = len(spins), round(fraction * 4096) / 4096
    assert abs(mask.sum() - n * p) < 5 * math.sqrt(n * p * (1 - p))


def test_buckets_are_uniform_chi_square():
    buckets = hash_buckets(enumeration.configurations(4))
    counts = np.bincount(buckets, minlength=4096)
    chi2 = ((counts - 16.0) ** 2 / 16.0).sum()
    dof = 4095
    assert abs(chi2 - dof) < 5 * math.sqrt(2 * dof)


def test_fraction_edges_and_validation(rng):
    spins = random_spins(rng, 100, 4)
    assert not split_mask(spins, 0.0).any() and split_mask(spins, 1.0).all()
    for bad in (-0.1, 1.5, True, "0.1", float("nan")):
        with pytest.raises(ValueError, match="test_fraction must be a number in \\[0, 1\\]"):
            split_mask(spins, bad)
    with pytest.raises(ValueError, match="expected \\(B, L, L\\)"):
        split_mask(np.ones(16), 0.1)


def test_distinct_count(rng):
    spins = random_spins(rng, 300, 5)
    assert distinct_count(np.concatenate([spins, spins[:100]])) == len(np.unique(spins.reshape(300, -1), axis=0))
    assert distinct_count(np.zeros((0, 5, 5), dtype=np.int8)) == 0

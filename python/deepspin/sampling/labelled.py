"""Training data spanning the whole energy range: uniform, thermal and staggered thermal configurations.

Used to train and test the extensive surrogates (``deepspin.surrogate.pretrained``) and by
``deepspin reproduce``; it needs no Keras.
"""
from __future__ import annotations

import numpy as np

from ..hamiltonians import Hamiltonian
from ..mc import run
from .common import check_count


def labelled_configs(H: Hamiltonian, n_uniform: int, temperatures, chains: int, sweeps: int, seed: int,
                     backend: str = "auto", staggered: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Uniform and thermal configurations of ``H`` with exact energies: ``(spins int8, energies float64)``.

    ``n_uniform`` uniform random +1/-1 configurations (SPEC section 5, from
    ``numpy.random.default_rng([seed, L])``), then the final configurations of ``chains``
    independent Metropolis chains (:func:`deepspin.mc.run`, random start, ``sweeps`` sweeps, Philox
    key ``seed``) at each temperature and, with ``staggered``, their images under
    ``s[r, c] -> (-1)^(r + c) s[r, c]`` (even L), all labelled by the exact engine (``backend``).
    Uniform spins rarely hold large ordered patches; the Metropolis states hold ferromagnetic ones
    and their staggered images antiferromagnetic ones (for the Ising model, the map sends E to -E),
    so the data span the whole energy range.
    """
    if H.spin_kind != "ising":
        raise ValueError(f"labelled_configs makes +1/-1 configurations; {H!r} takes angles")
    n_uniform = check_count("n_uniform", n_uniform, minimum=0)
    chains = check_count("chains", chains, minimum=0)
    rng = np.random.default_rng([seed, H.L])
    parts = [rng.choice(np.array([-1, 1], np.int8), size=(n_uniform, H.L, H.L))]
    if len(temperatures) and chains:
        result = run(H, temperatures, chains=chains, sweeps=sweeps, burn_in=0, seed=seed, start="random")
        thermal = result.configs.reshape(-1, H.L, H.L).astype(np.int8)
        parts.append(thermal)
        if staggered and H.L % 2 == 0:
            parts.append(thermal * np.where(np.indices((H.L, H.L)).sum(axis=0) % 2, -1, 1).astype(np.int8))
    spins = np.concatenate(parts)
    return spins, np.asarray(H.energy(spins, backend=backend), dtype=np.float64)

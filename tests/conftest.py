"""Shared fixtures: the exact-energy backends available here, and the ``gpu`` marker's skip."""
import numpy as np
import pytest

import deepspin
from deepspin.backends import backends

AVAILABLE = {name: reason for name, (ok, reason) in backends().items() if ok}
UNAVAILABLE = {name: reason for name, (ok, reason) in backends().items() if not ok}
GPU_BACKENDS = ("cuda", "cupy")
HAS_GPU = any(name in AVAILABLE for name in GPU_BACKENDS)


def pytest_collection_modifyitems(config, items):
    if HAS_GPU:
        return
    reason = "no CUDA device: " + "; ".join(f"{n}: {UNAVAILABLE.get(n, '')}" for n in GPU_BACKENDS)
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def _backend_params():
    params = []
    for name in deepspin.backends():
        marks = [pytest.mark.gpu] if name in GPU_BACKENDS else []
        if name not in AVAILABLE and name not in GPU_BACKENDS:
            marks.append(pytest.mark.skip(reason=f"backend {name} unavailable: {UNAVAILABLE[name]}"))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture(params=_backend_params())
def backend(request):
    """Every exact-energy backend; GPU ones are marked ``gpu`` and skipped with a reason when absent."""
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def random_spins(rng, batch, L):
    """Uniform random +1/-1 configurations, int8 (B, L, L)."""
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=(batch, L, L))

"""CuPy backend: the NumPy reference formulas run on a GPU with CuPy (cuBLAS, cuFFT).

Used when the extension was built without CUDA but CuPy and a device are present. NumPy input is
moved to the device and the result brought back; CuPy input stays on the device.
"""
from __future__ import annotations

import functools

import numpy as np

from ..validation import is_cupy_array
from . import numpy_backend as ref
from .base import Backend


@functools.cache
def cupy_status() -> tuple[bool, str]:
    """Whether CuPy imports and sees a usable device, and why not."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install raising at import
        return False, f"cupy is not importable ({type(exc).__name__}: {exc}); pip install 'deepspin[cuda]'"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # cudaErrorInsufficientDriver and friends: treated as no device
        return False, f"cupy sees no CUDA device ({exc})"
    return (True, "") if count > 0 else (False, "cupy sees no CUDA device")


class CupyBackend(Backend):
    name = "cupy"
    accepts_device_arrays = True

    def status(self):
        return cupy_status()

    @staticmethod
    def _run(fn, configs, *args):
        import cupy

        on_device = is_cupy_array(configs)
        result = fn(cupy, cupy.asarray(configs), *args)
        return result if on_device else cupy.asnumpy(result)

    def ising(self, spins, J):
        return self._run(ref.ising_energy, spins, J)

    def potts(self, theta, J):
        return self._run(ref.potts_energy, theta, J)

    def pair_kernel(self, spins, kernel, J, fp32):
        return self._run(ref.pair_kernel_energy, spins, kernel, J, np.float32 if fp32 else np.float64)

    def pair_explicit(self, spins, vectors, weights, model, k, J, fp32):
        return self._run(ref.pair_explicit_energy, spins, vectors, weights, J, np.float32 if fp32 else np.float64)

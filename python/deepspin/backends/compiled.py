"""Backends of the compiled core ``deepspin._core``: ``cpu`` (C++/OpenMP) and ``cuda``."""
from __future__ import annotations

import functools
import os

import numpy as np

from ..validation import is_cupy_array
from .base import Backend

try:
    from .. import _core
    _IMPORT_ERROR = ""
except ImportError as exc:  # pragma: no cover - only when the extension was not built
    _core = None
    _IMPORT_ERROR = f"deepspin._core is not built ({exc}); run `pip install -e .` or `python setup.py build_ext --inplace`"


def num_threads() -> int:
    """Threads for CPU kernels: ``DEEPSPIN_NUM_THREADS`` (default 0 = all cores)."""
    value = os.environ.get("DEEPSPIN_NUM_THREADS", "0").strip() or "0"
    try:
        threads = int(value)
    except ValueError:
        raise ValueError(f"DEEPSPIN_NUM_THREADS must be an integer, got {value!r}") from None
    if threads < 0:
        raise ValueError(f"DEEPSPIN_NUM_THREADS must be >= 0 (0 = all cores), got {threads}")
    return threads


class CpuBackend(Backend):
    """C++ kernels with OpenMP; the kernel method is a dense quadratic form (blocked, SIMD)."""

    name = "cpu"

    def status(self):
        return (True, "") if _core is not None else (False, _IMPORT_ERROR)

    def ising(self, spins, J):
        return _core.ising_energy_cpu(spins, J, num_threads())

    def potts(self, theta, J):
        return _core.potts_energy_cpu(theta, J, num_threads())

    def pair_kernel(self, spins, kernel, J, fp32):
        return _core.pair_kernel_energy_cpu(spins, np.ascontiguousarray(kernel, np.float64), J, fp32, num_threads())

    def pair_explicit(self, spins, vectors, weights, model, k, J, fp32):
        return _core.pair_explicit_energy_cpu(
            spins, np.ascontiguousarray(vectors, np.int32), np.ascontiguousarray(weights, np.float64),
            model, k, J, fp32, num_threads(),
        )


@functools.cache
def cuda_status() -> tuple[bool, str]:
    """Whether our CUDA kernels can run here, and why not."""
    if _core is None:
        return False, _IMPORT_ERROR
    if not _core.built_with_cuda:
        return False, "deepspin._core was built without CUDA (DEEPSPIN_CUDA=0 or no nvcc at build time)"
    count, reason = _core.cuda_device_count()
    return (True, "") if count > 0 else (False, reason)


class CudaBackend(Backend):
    """Our CUDA kernels. NumPy input is copied to the device in bounded chunks; CuPy input stays there."""

    name = "cuda"
    accepts_device_arrays = True

    def status(self):
        return cuda_status()

    def ising(self, spins, J):
        if is_cupy_array(spins):
            return self._on_device(spins, lambda out, stream: _core.ising_energy_cuda_ptr(
                spins.data.ptr, spins.shape[0], spins.shape[1], J, out, stream))
        return _core.ising_energy_cuda(spins, J)

    def potts(self, theta, J):
        if is_cupy_array(theta):
            return self._on_device(theta, lambda out, stream: _core.potts_energy_cuda_ptr(
                theta.data.ptr, theta.shape[0], theta.shape[1], J, out, stream))
        return _core.potts_energy_cuda(theta, J)

    def pair_kernel(self, spins, kernel, J, fp32):
        kernel = np.ascontiguousarray(kernel, np.float64)
        if is_cupy_array(spins):
            import cupy

            k_dev = cupy.asarray(kernel)
            return self._on_device(spins, lambda out, stream: _core.pair_kernel_energy_cuda_ptr(
                spins.data.ptr, spins.shape[0], spins.shape[1], k_dev.data.ptr, J, fp32, out, stream))
        return _core.pair_kernel_energy_cuda(spins, kernel, J, fp32)

    def pair_explicit(self, spins, vectors, weights, model, k, J, fp32):
        vectors = np.ascontiguousarray(vectors, np.int32)
        weights = np.ascontiguousarray(weights, np.float64)
        if is_cupy_array(spins):
            import cupy

            v_dev, w_dev = cupy.asarray(vectors), cupy.asarray(weights)
            return self._on_device(spins, lambda out, stream: _core.pair_explicit_energy_cuda_ptr(
                spins.data.ptr, spins.shape[0], spins.shape[1], v_dev.data.ptr, w_dev.data.ptr, len(vectors),
                model, k, J, fp32, out, stream))
        return _core.pair_explicit_energy_cuda(spins, vectors, weights, model, k, J, fp32)

    @staticmethod
    def _on_device(configs, launch):
        """Run ``launch(out_ptr, stream_ptr)`` into a new CuPy float64 array on CuPy's current stream."""
        import cupy

        out = cupy.empty(configs.shape[0], dtype=cupy.float64)
        launch(out.data.ptr, cupy.cuda.get_current_stream().ptr)
        return out

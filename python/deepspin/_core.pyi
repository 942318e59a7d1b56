"""Type stub of the compiled core (csrc/bindings.cpp)."""
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__version__: str
#: SHA-256 of csrc/ and CMakeLists.txt at build time (deepspin.provenance.csrc_tree_hash).
CSRC_SHA256: str
built_with_cuda: bool
RADIAL_SCREENED_COULOMB: int
RADIAL_SINUSOIDAL_COULOMB: int
RADIAL_TABULATED: int

def cuda_device_count() -> tuple[int, str]: ...
def first_invalid_spin_cpu(spins: npt.NDArray[np.int8], threads: int) -> int: ...
def first_invalid_spin_cuda_ptr(spins: int, count: int, stream: int) -> int: ...
def ising_energy_cpu(spins: npt.NDArray[np.int8], J: float, threads: int) -> npt.NDArray[np.float64]: ...
def potts_energy_cpu(theta: npt.NDArray[np.float64], J: float, threads: int) -> npt.NDArray[np.float64]: ...
def pair_kernel_energy_cpu(spins: npt.NDArray[np.int8], kernel: npt.NDArray[np.float64], J: float, fp32: bool,
                           threads: int) -> npt.NDArray[np.float64]: ...
def pair_explicit_energy_cpu(spins: npt.NDArray[np.int8], vectors: npt.NDArray[np.int32],
                             weights: npt.NDArray[np.float64], model: int, k: float, J: float, fp32: bool,
                             threads: int) -> npt.NDArray[np.float64]: ...
def ising_energy_cuda(spins: npt.NDArray[np.int8], J: float) -> npt.NDArray[np.float64]: ...
def potts_energy_cuda(theta: npt.NDArray[np.float64], J: float) -> npt.NDArray[np.float64]: ...
def pair_kernel_energy_cuda(spins: npt.NDArray[np.int8], kernel: npt.NDArray[np.float64], J: float,
                            fp32: bool) -> npt.NDArray[np.float64]: ...
def pair_explicit_energy_cuda(spins: npt.NDArray[np.int8], vectors: npt.NDArray[np.int32],
                              weights: npt.NDArray[np.float64], model: int, k: float, J: float,
                              fp32: bool) -> npt.NDArray[np.float64]: ...
def ising_energy_cuda_ptr(spins: int, batch: int, L: int, J: float, out: int, stream: int) -> None: ...
def potts_energy_cuda_ptr(theta: int, batch: int, L: int, J: float, out: int, stream: int) -> None: ...
def pair_kernel_energy_cuda_ptr(spins: int, batch: int, L: int, kernel: int, J: float, fp32: bool, out: int,
                                stream: int) -> None: ...
def pair_explicit_energy_cuda_ptr(spins: int, batch: int, L: int, vectors: int, weights: int, n_vectors: int,
                                  model: int, k: float, J: float, fp32: bool, out: int, stream: int) -> None: ...

# ---- Monte Carlo (csrc/metropolis.hpp); state arrays are updated in place ----
def philox_words(seed: int, chains: npt.NDArray[np.int64], purpose: int, first_block: int,
                 n_blocks: int) -> npt.NDArray[np.uint32]: ...
def pair_local_fields_cpu(spins: npt.NDArray[np.int8], matrix: npt.NDArray[np.float64], J: float,
                          threads: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
SWEEP_STREAM: int
INITIAL_STREAM: int
LOCAL_STREAM: int
ANGLE_STREAM: int

class SweepPlan:
    """Which sweeps a Metropolis call runs and when it measures."""
    seed: int
    sweep_start: int
    n_sweeps: int
    burn_in: int
    interval: int
    def __init__(self, *, seed: int, sweep_start: int, n_sweeps: int, burn_in: int, interval: int) -> None: ...

class _ChainState(Protocol):
    """deepspin.mc.state.ChainState: the arrays a kernel advances in place."""
    spins: npt.NDArray[Any]
    energy: npt.NDArray[Any]
    magnet: npt.NDArray[Any]
    moments: npt.NDArray[np.float64]
    accepted: npt.NDArray[np.int64]
    series_energy: npt.NDArray[np.float64] | None
    series_magnet: npt.NDArray[np.float64] | None

def metropolis_ising(state: _ChainState, plan: SweepPlan, *, thresholds: npt.NDArray[np.uint64], J: float,
                     chains_per_temperature: int, device: str = "cpu", threads: int = 0) -> None: ...
def metropolis_pair(state: _ChainState, plan: SweepPlan, *, fields: npt.NDArray[np.float64],
                    matrix: npt.NDArray[np.float64], betas: npt.NDArray[np.float64], J: float,
                    chains_per_temperature: int, device: str = "cpu", threads: int = 0) -> None: ...
def metropolis_potts(state: _ChainState, plan: SweepPlan, *, betas: npt.NDArray[np.float64], J: float,
                     chains_per_temperature: int, device: str = "cpu", threads: int = 0) -> None: ...
def multispin_simd_supported(simd: int) -> bool: ...
def multispin_ising(words: npt.NDArray[np.uint64], L: int, masks: npt.NDArray[np.uint64], J: float, plan: SweepPlan,
                    *, moments: npt.NDArray[np.int64], accepted: npt.NDArray[np.int64],
                    series_energy: npt.NDArray[np.float64] | None = None,
                    series_magnet: npt.NDArray[np.float64] | None = None, device: str = "cpu", threads: int = 0,
                    simd: int = 0) -> None: ...

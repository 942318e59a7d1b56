// Exact-energy kernels. csrc/cpu/energy_cpu.cpp and csrc/cuda/energy_cuda.cu implement the same
// signatures (suffix _cpu / _cuda); bindings.cpp is the only file that talks to Python.
//
// Conventions (SPEC): spins are int8 +1/-1, configurations are C-ordered (batch, L, L), energies
// are float64. Pair models take either the folded periodic kernel K (L x L, method "kernel") or
// the list of image vectors (dx, dy) with 0 < dx^2 + dy^2 <= rcut^2 (method "explicit").
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

namespace deepspin {

// ---- CPU: host pointers; threads <= 0 means the OpenMP default ----
void ising_energy_cpu(const int8_t* spins, int64_t batch, int L, double J, double* out, int threads);
void potts_energy_cpu(const double* theta, int64_t batch, int L, double J, double* out, int threads);
// `cancel` (may be null): polled by the long loops (at least every ~1e8 operations); once it is
// set the call returns early with `out` incomplete (bindings.cpp then raises KeyboardInterrupt).
void pair_kernel_energy_cpu(const int8_t* spins, int64_t batch, int L, const double* kernel, double J,
                            bool fp32, double* out, int threads, const std::atomic<bool>* cancel = nullptr);
// vectors: (n_vectors, 2) int32 (dx, dy). When model == kTabulated, weights[i] = f(|v_i|);
// otherwise f is evaluated for every term, as in the paper's explicit method.
void pair_explicit_energy_cpu(const int8_t* spins, int64_t batch, int L, const int32_t* vectors,
                              const double* weights, int64_t n_vectors, int model, double k, double J,
                              bool fp32, double* out, int threads, const std::atomic<bool>* cancel = nullptr);

// Flat index of the first int8 value that is neither +1 nor -1, or -1 if all are valid.
int64_t first_invalid_spin_cpu(const int8_t* spins, int64_t count, int threads);

// ---- CUDA: device pointers, launched on `stream` (0 = default stream), asynchronous ----
std::pair<int, std::string> cuda_device_count();
void ising_energy_cuda(const int8_t* spins, int64_t batch, int L, double J, double* out, std::uintptr_t stream);
void potts_energy_cuda(const double* theta, int64_t batch, int L, double J, double* out, std::uintptr_t stream);
void pair_kernel_energy_cuda(const int8_t* spins, int64_t batch, int L, const double* kernel, double J,
                             bool fp32, double* out, std::uintptr_t stream);
// first_invalid_spin_cpu on device memory; waits for `stream` and returns the index to the host.
int64_t first_invalid_spin_cuda(const int8_t* spins, int64_t count, std::uintptr_t stream);
void pair_explicit_energy_cuda(const int8_t* spins, int64_t batch, int L, const int32_t* vectors,
                               const double* weights, int64_t n_vectors, int model, double k, double J,
                               bool fp32, double* out, std::uintptr_t stream);

// Minimal device-memory helpers so that host (NumPy) arrays can use the CUDA kernels without CuPy.
void* cuda_malloc(std::size_t bytes);
void cuda_free(void* ptr);
void cuda_copy_to_device(void* dst, const void* src, std::size_t bytes);
void cuda_copy_to_host(void* dst, const void* src, std::size_t bytes);
void cuda_synchronize();

}  // namespace deepspin

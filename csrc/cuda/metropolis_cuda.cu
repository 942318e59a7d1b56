// CUDA Metropolis: one thread per chain running the per-chain code shared with the CPU
// (metropolis_chain.hpp), so a chain's trajectory equals the CPU one. Ising chains with N <= 64
// hold their lattice in one 64-bit register; the acceptance table of the block's temperatures is read
// through the read-only cache. All pointers are device pointers.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "metropolis.hpp"
#include "metropolis_chain.hpp"

namespace deepspin {
namespace {

constexpr int kThreads = 128;

void check_launch(const char* what) {
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

unsigned blocks_for(int64_t chains) { return static_cast<unsigned>((chains + kThreads - 1) / kThreads); }

template <class Lattice>
__global__ void ising_kernel(int8_t* spins, int64_t* energy, int64_t* magnet, int64_t chains, int L,
                             int64_t chains_per_temperature, const uint64_t* __restrict__ thresholds, double J,
                             SweepPlan plan, Measurements out) {
    const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= chains) return;
    const uint64_t* t = thresholds + 5 * (g / chains_per_temperature);
    const uint64_t thr[5] = {__ldg(t), __ldg(t + 1), __ldg(t + 2), __ldg(t + 3), __ldg(t + 4)};
    const int N = L * L;
    ising_chain<Lattice>(spins + g * N, energy + g, magnet + g, g, L, thr, J, plan, out);
}

__global__ void pair_kernel(int8_t* spins, double* fields, double* energy, int64_t* magnet, int64_t chains, int L,
                            int64_t chains_per_temperature, const double* __restrict__ matrix,
                            const double* __restrict__ betas, double J, SweepPlan plan, Measurements out) {
    const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= chains) return;
    const int N = L * L;
    pair_chain(spins + g * N, fields + g * N, energy + g, magnet + g, g, L, matrix,
               betas[g / chains_per_temperature], J, plan, out);
}

}  // namespace

void metropolis_ising_cuda(int8_t* spins, int64_t* energy, int64_t* magnet, int64_t chains, int L,
                           int64_t chains_per_temperature, const uint64_t* thresholds, double J,
                           const SweepPlan& plan, const Measurements& out, std::uintptr_t stream) {
    if (chains == 0) return;
    auto s = reinterpret_cast<cudaStream_t>(stream);
    if (L * L <= 64)
        ising_kernel<BitLattice><<<blocks_for(chains), kThreads, 0, s>>>(spins, energy, magnet, chains, L,
                                                                          chains_per_temperature, thresholds, J,
                                                                          plan, out);
    else
        ising_kernel<ByteLattice><<<blocks_for(chains), kThreads, 0, s>>>(spins, energy, magnet, chains, L,
                                                                           chains_per_temperature, thresholds, J,
                                                                           plan, out);
    check_launch("metropolis_ising_cuda");
}

void metropolis_pair_cuda(int8_t* spins, double* fields, double* energy, int64_t* magnet, int64_t chains, int L,
                          int64_t chains_per_temperature, const double* matrix, const double* betas, double J,
                          const SweepPlan& plan, const Measurements& out, std::uintptr_t stream) {
    if (chains == 0) return;
    pair_kernel<<<blocks_for(chains), kThreads, 0, reinterpret_cast<cudaStream_t>(stream)>>>(
        spins, fields, energy, magnet, chains, L, chains_per_temperature, matrix, betas, J, plan, out);
    check_launch("metropolis_pair_cuda");
}

}  // namespace deepspin

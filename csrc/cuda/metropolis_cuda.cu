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
__global__ void ising_kernel(Ensemble ens, IsingChains state, const uint64_t* __restrict__ thresholds, double J,
                             SweepPlan plan, Measurements out) {
    const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= ens.chains) return;
    const uint64_t* t = thresholds + 5 * (g / ens.chains_per_temperature);
    const uint64_t thr[5] = {__ldg(t), __ldg(t + 1), __ldg(t + 2), __ldg(t + 3), __ldg(t + 4)};
    const int N = ens.L * ens.L;
    ising_chain<Lattice>(state.spins + g * N, state.energy + g, state.magnet + g, g, ens.L, thr, J, plan, out);
}

__global__ void pair_kernel(Ensemble ens, PairChains state, const double* __restrict__ matrix,
                            const double* __restrict__ betas, double J, SweepPlan plan, Measurements out) {
    const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= ens.chains) return;
    const int N = ens.L * ens.L;
    pair_chain(state.spins + g * N, state.fields + g * N, state.energy + g, state.magnet + g, g, ens.L, matrix,
               betas[g / ens.chains_per_temperature], J, plan, out);
}

__global__ void potts_kernel(Ensemble ens, PottsChains state, const double* __restrict__ betas, double J,
                             SweepPlan plan, Measurements out) {
    const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= ens.chains) return;
    const int N = ens.L * ens.L;
    potts_chain(state.theta + g * N, state.energy + g, state.magnet + g, g, ens.L,
                betas[g / ens.chains_per_temperature], J, plan, out);
}

}  // namespace

void metropolis_ising_cuda(const Ensemble& ens, const IsingChains& state, const IsingModel& model,
                           const SweepPlan& plan, const Measurements& out, std::uintptr_t stream) {
    if (ens.chains == 0) return;
    auto s = reinterpret_cast<cudaStream_t>(stream);
    if (ens.L * ens.L <= 64)
        ising_kernel<BitLattice><<<blocks_for(ens.chains), kThreads, 0, s>>>(ens, state, model.thresholds, model.J,
                                                                              plan, out);
    else
        ising_kernel<ByteLattice><<<blocks_for(ens.chains), kThreads, 0, s>>>(ens, state, model.thresholds, model.J,
                                                                               plan, out);
    check_launch("metropolis_ising_cuda");
}

void metropolis_pair_cuda(const Ensemble& ens, const PairChains& state, const PairModel& model,
                          const SweepPlan& plan, const Measurements& out, std::uintptr_t stream) {
    if (ens.chains == 0) return;
    pair_kernel<<<blocks_for(ens.chains), kThreads, 0, reinterpret_cast<cudaStream_t>(stream)>>>(
        ens, state, model.matrix, model.betas, model.J, plan, out);
    check_launch("metropolis_pair_cuda");
}

void metropolis_potts_cuda(const Ensemble& ens, const PottsChains& state, const PottsModel& model,
                           const SweepPlan& plan, const Measurements& out, std::uintptr_t stream) {
    if (ens.chains == 0) return;
    potts_kernel<<<blocks_for(ens.chains), kThreads, 0, reinterpret_cast<cudaStream_t>(stream)>>>(
        ens, state, model.betas, model.J, plan, out);
    check_launch("metropolis_potts_cuda");
}

}  // namespace deepspin

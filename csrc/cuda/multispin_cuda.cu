// CUDA multispin Metropolis: one thread per 64-replica word running the per-word code of
// multispin.hpp (V = 1), the same arithmetic and Philox streams as the CPU, hence the same replicas
// bit for bit. Words are site-major (N, W), so the threads of a warp read consecutive words of a site.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "multispin.hpp"

namespace deepspin {
namespace {

constexpr int kThreads = 128;

__global__ void multispin_kernel(uint64_t* words, int64_t W, int L, const uint64_t* __restrict__ masks, double J,
                                 SweepPlan plan, MultispinOut out) {
    const int64_t w = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (w >= W) return;
    multispin_block<1>(words + w, masks + w, W, L, w, J, plan, out);
}

}  // namespace

void multispin_ising_cuda(uint64_t* words, int64_t W, int L, const uint64_t* masks, double J,
                          const SweepPlan& plan, const MultispinOut& out, std::uintptr_t stream) {
    if (W == 0) return;
    const unsigned blocks = static_cast<unsigned>((W + kThreads - 1) / kThreads);
    multispin_kernel<<<blocks, kThreads, 0, reinterpret_cast<cudaStream_t>(stream)>>>(words, W, L, masks, J, plan,
                                                                                       out);
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) throw std::runtime_error(std::string("multispin_ising_cuda: ") + cudaGetErrorString(err));
}

}  // namespace deepspin

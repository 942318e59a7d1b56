// Stand-ins for the CUDA entry points when the extension is built without CUDA
// (DEEPSPIN_CUDA=0 or no nvcc at build time): they report why and never run.
#include <stdexcept>

#include "engine.hpp"
#include "metropolis.hpp"
#include "multispin.hpp"

namespace deepspin {
namespace {
[[noreturn]] void no_cuda() {
    throw std::runtime_error("deepspin._core was built without CUDA (DEEPSPIN_CUDA=0 or no nvcc at build time)");
}
}  // namespace

std::pair<int, std::string> cuda_device_count() {
    return {0, "deepspin._core was built without CUDA (DEEPSPIN_CUDA=0 or no nvcc at build time)"};
}
void ising_energy_cuda(const int8_t*, int64_t, int, double, double*, std::uintptr_t) { no_cuda(); }
void potts_energy_cuda(const double*, int64_t, int, double, double*, std::uintptr_t) { no_cuda(); }
void pair_kernel_energy_cuda(const int8_t*, int64_t, int, const double*, double, bool, double*, std::uintptr_t) {
    no_cuda();
}
void pair_explicit_energy_cuda(const int8_t*, int64_t, int, const int32_t*, const double*, int64_t, int, double,
                               double, bool, double*, std::uintptr_t) {
    no_cuda();
}
int64_t first_invalid_spin_cuda(const int8_t*, int64_t, std::uintptr_t) { no_cuda(); }
void* cuda_malloc(std::size_t) { no_cuda(); }
void cuda_free(void*) {}
void cuda_copy_to_device(void*, const void*, std::size_t) { no_cuda(); }
void cuda_copy_to_host(void*, const void*, std::size_t) { no_cuda(); }
void cuda_synchronize() { no_cuda(); }
void metropolis_ising_cuda(const Ensemble&, const IsingChains&, const IsingModel&, const SweepPlan&,
                           const Measurements&, std::uintptr_t) {
    no_cuda();
}
void metropolis_pair_cuda(const Ensemble&, const PairChains&, const PairModel&, const SweepPlan&, const Measurements&,
                          std::uintptr_t) {
    no_cuda();
}
void metropolis_potts_cuda(const Ensemble&, const PottsChains&, const PottsModel&, const SweepPlan&,
                           const Measurements&, std::uintptr_t) {
    no_cuda();
}
void multispin_ising_cuda(uint64_t*, int64_t, int, const uint64_t*, double, const SweepPlan&,
                          const MultispinOut&, std::uintptr_t) {
    no_cuda();
}

}  // namespace deepspin

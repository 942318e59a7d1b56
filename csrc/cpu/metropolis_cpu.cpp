// CPU (OpenMP) Metropolis: chains are independent, so they are split across threads; each chain runs
// the shared per-chain code of metropolis_chain.hpp, which makes the result independent of the
// thread count and equal to the CUDA kernels' result.
#include <omp.h>

#include "metropolis.hpp"
#include "metropolis_chain.hpp"

namespace deepspin {
namespace {
int thread_count(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

// One chain per call, compiled for AVX2 as well where the CPU has it (the OpenMP-outlined loop
// bodies would not inherit target_clones, so the chains are run through these functions).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DS_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DS_CLONES
#endif

DS_CLONES void ising_chain_cpu(int8_t* spins, int64_t* energy, int64_t* magnet, int64_t g, int L,
                               const uint64_t* thr, double J, const SweepPlan& plan, const Measurements& out) {
    if (L * L <= 64)
        ising_chain<BitLattice>(spins, energy, magnet, g, L, thr, J, plan, out);
    else
        ising_chain<ByteLattice>(spins, energy, magnet, g, L, thr, J, plan, out);
}

DS_CLONES void pair_chain_cpu(int8_t* s, double* h, double* energy, int64_t* magnet, int64_t g, int L,
                              const double* M, double beta, double J, const SweepPlan& plan, const Measurements& out) {
    pair_chain(s, h, energy, magnet, g, L, M, beta, J, plan, out);
}
}  // namespace

void metropolis_ising_cpu(int8_t* spins, int64_t* energy, int64_t* magnet, int64_t chains, int L,
                          int64_t chains_per_temperature, const uint64_t* thresholds, double J,
                          const SweepPlan& plan, const Measurements& out, int threads) {
    const int N = L * L;
#pragma omp parallel for schedule(dynamic, 16) num_threads(thread_count(threads))
    for (int64_t g = 0; g < chains; ++g) {
        ising_chain_cpu(spins + g * N, energy + g, magnet + g, g, L, thresholds + 5 * (g / chains_per_temperature), J,
                        plan, out);
    }
}

void metropolis_pair_cpu(int8_t* spins, double* fields, double* energy, int64_t* magnet, int64_t chains, int L,
                         int64_t chains_per_temperature, const double* matrix, const double* betas, double J,
                         const SweepPlan& plan, const Measurements& out, int threads) {
    const int N = L * L;
#pragma omp parallel for schedule(dynamic, 4) num_threads(thread_count(threads))
    for (int64_t g = 0; g < chains; ++g)
        pair_chain_cpu(spins + g * N, fields + g * N, energy + g, magnet + g, g, L, matrix,
                       betas[g / chains_per_temperature], J, plan, out);
}

void pair_local_fields_cpu(const int8_t* spins, int64_t chains, int N, const double* matrix, double J,
                           double* fields, double* energy, int threads) {
#pragma omp parallel for schedule(static) num_threads(thread_count(threads))
    for (int64_t g = 0; g < chains; ++g) {
        const int8_t* s = spins + g * N;
        double* h = fields + g * N;
        double e = 0.0;
        for (int a = 0; a < N; ++a) {
            double sum = 0.0;
            for (int b = 0; b < N; ++b) sum += matrix[static_cast<int64_t>(a) * N + b] * s[b];
            h[a] = sum;
            e += s[a] * sum;
        }
        energy[g] = 0.5 * J * e;
    }
}

}  // namespace deepspin

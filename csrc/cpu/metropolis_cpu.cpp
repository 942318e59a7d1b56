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
#define DS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
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

// kLanes chains of one block at once, lattices of N <= 64 sites in one word each: the same
// arithmetic as ising_chain<BitLattice>, written lane by lane so that the compiler vectorises Philox
// and the bit operations across chains. Results equal the one-chain code bit for bit.
constexpr int kLanes = 16;

// philox_block(seed, g0 + l, kSweepStream, block) for the kLanes chains, rounds outermost so that the
// lanes vectorise (the same arithmetic as philox4x32_10 in philox.hpp).
inline void philox_lanes(uint64_t block, int64_t g0, uint32_t key0, uint32_t key1, uint32_t r[4][kLanes]) {
    for (int l = 0; l < kLanes; ++l) {
        r[0][l] = static_cast<uint32_t>(block);
        r[1][l] = static_cast<uint32_t>(block >> 32);
        r[2][l] = static_cast<uint32_t>(g0 + l);
        r[3][l] = kSweepStream;
    }
    for (int round = 0; round < 10; ++round) {
#pragma omp simd
        for (int l = 0; l < kLanes; ++l) {
            const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * r[0][l];
            const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * r[2][l];
            const uint32_t c0 = static_cast<uint32_t>(p1 >> 32) ^ r[1][l] ^ key0;
            const uint32_t c2 = static_cast<uint32_t>(p0 >> 32) ^ r[3][l] ^ key1;
            r[0][l] = c0;
            r[1][l] = static_cast<uint32_t>(p1);
            r[2][l] = c2;
            r[3][l] = static_cast<uint32_t>(p0);
        }
        key0 += 0x9E3779B9u;
        key1 += 0xBB67AE85u;
    }
}

DS_CLONES void ising_lanes_cpu(int8_t* spins, int64_t* energy, int64_t* magnet, int64_t g0, int L,
                               const uint64_t* thresholds, int64_t chains_per_temperature, double J,
                               const SweepPlan& plan, const Measurements& out) {
    const int N = L * L;
    uint64_t bits[kLanes];
    int64_t e[kLanes], mag[kLanes], acc[kLanes], thr[5][kLanes];
    for (int l = 0; l < kLanes; ++l) {
        BitLattice lattice(spins + (g0 + l) * N, N);
        bits[l] = lattice.bits;
        e[l] = energy[g0 + l];
        mag[l] = magnet[g0 + l];
        acc[l] = 0;
        const uint64_t* table = thresholds + 5 * ((g0 + l) / chains_per_temperature);
        for (int k = 0; k < 5; ++k) thr[k][l] = static_cast<int64_t>(table[k]);
    }
    const uint32_t key0 = static_cast<uint32_t>(plan.seed), key1 = static_cast<uint32_t>(plan.seed >> 32);
    for (int64_t sweep = plan.sweep_start; sweep < plan.sweep_start + plan.n_sweeps; ++sweep) {
        const uint64_t first_block = static_cast<uint64_t>(sweep) * blocks_per_sweep(N);
        for (int i = 0; i < N; i += 2) {
            uint32_t r[4][kLanes];
            const uint64_t block = first_block + (i >> 1);
            philox_lanes(block, g0, key0, key1, r);
            for (int half = 0; half < 2 && i + half < N; ++half) {
#pragma omp simd
                for (int l = 0; l < kLanes; ++l) {
                    const Site site = random_site(r[2 * half][l], L);
                    const int srow = site.row, col = site.col;
                    const int row = srow * L;
                    const int above = srow == 0 ? N - L : row - L, below = srow == L - 1 ? 0 : row + L;
                    const int left = row + (col == 0 ? L - 1 : col - 1), right = row + (col == L - 1 ? 0 : col + 1);
                    const int a = row + col;
                    const uint64_t x = bits[l];
                    const int u = static_cast<int>(((x >> (above + col)) & 1u) + ((x >> (below + col)) & 1u) +
                                                   ((x >> left) & 1u) + ((x >> right) & 1u));
                    const int b = static_cast<int>((x >> a) & 1u);
                    const int k = b ? u : 4 - u;
                    const int64_t t = k == 0   ? thr[0][l]
                                      : k == 1 ? thr[1][l]
                                      : k == 2 ? thr[2][l]
                                      : k == 3 ? thr[3][l]
                                               : thr[4][l];
                    const bool accept = static_cast<int64_t>(r[2 * half + 1][l]) < t;
                    bits[l] = x ^ (static_cast<uint64_t>(accept) << a);
                    e[l] += accept ? 4 * k - 8 : 0;
                    mag[l] += accept ? 2 - 4 * b : 0;
                    acc[l] += accept;
                }
            }
        }
        if (is_measurement(sweep + 1, plan.burn_in, plan.interval))
            for (int l = 0; l < kLanes; ++l)
                record(out, g0 + l, sweep + 1, plan, J * e[l], static_cast<double>(mag[l]) / N);
    }
    for (int l = 0; l < kLanes; ++l) {
        BitLattice lattice(spins + (g0 + l) * N, N);
        lattice.bits = bits[l];
        lattice.store();
        energy[g0 + l] = e[l];
        magnet[g0 + l] = mag[l];
        out.accepted[g0 + l] += acc[l];
    }
}

DS_CLONES void pair_chain_cpu(int8_t* s, double* h, double* energy, int64_t* magnet, int64_t g, int L,
                              const double* M, double beta, double J, const SweepPlan& plan, const Measurements& out) {
    pair_chain(s, h, energy, magnet, g, L, M, beta, J, plan, out);
}

DS_CLONES void potts_chain_cpu(double* t, double* energy, double* magnet, int64_t g, int L, double beta, double J,
                               const SweepPlan& plan, const Measurements& out) {
    potts_chain(t, energy, magnet, g, L, beta, J, plan, out);
}
}  // namespace

void metropolis_ising_cpu(const Ensemble& ens, const IsingChains& state, const IsingModel& model,
                          const SweepPlan& plan, const Measurements& out, int threads) {
    const int L = ens.L, N = L * L;
    const int64_t chains = ens.chains, per_t = ens.chains_per_temperature;
    const int64_t lane_blocks = N <= 64 ? chains / kLanes : 0;  // the rest run one chain at a time
#pragma omp parallel num_threads(thread_count(threads))
    {
#pragma omp for schedule(dynamic, 2) nowait
        for (int64_t blk = 0; blk < lane_blocks; ++blk)
            ising_lanes_cpu(state.spins, state.energy, state.magnet, blk * kLanes, L, model.thresholds, per_t,
                            model.J, plan, out);
#pragma omp for schedule(dynamic, 16)
        for (int64_t g = lane_blocks * kLanes; g < chains; ++g)
            ising_chain_cpu(state.spins + g * N, state.energy + g, state.magnet + g, g, L,
                            model.thresholds + 5 * (g / per_t), model.J, plan, out);
    }
}

void metropolis_pair_cpu(const Ensemble& ens, const PairChains& state, const PairModel& model,
                         const SweepPlan& plan, const Measurements& out, int threads) {
    const int N = ens.L * ens.L;
#pragma omp parallel for schedule(dynamic, 4) num_threads(thread_count(threads))
    for (int64_t g = 0; g < ens.chains; ++g)
        pair_chain_cpu(state.spins + g * N, state.fields + g * N, state.energy + g, state.magnet + g, g, ens.L,
                       model.matrix, model.betas[g / ens.chains_per_temperature], model.J, plan, out);
}

void metropolis_potts_cpu(const Ensemble& ens, const PottsChains& state, const PottsModel& model,
                          const SweepPlan& plan, const Measurements& out, int threads) {
    const int N = ens.L * ens.L;
#pragma omp parallel for schedule(dynamic, 4) num_threads(thread_count(threads))
    for (int64_t g = 0; g < ens.chains; ++g)
        potts_chain_cpu(state.theta + g * N, state.energy + g, state.magnet + g, g, ens.L,
                        model.betas[g / ens.chains_per_temperature], model.J, plan, out);
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

// CPU (OpenMP) exact energies: Ising, planar Potts, and pair-kernel models by the folded-kernel
// and the explicit image-sum methods. Every configuration is independent, so the batch is split
// across threads; sums over sites and images are accumulated in double (or float for fp32).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine.hpp"
#include "lattice.hpp"

// Hot loops get an AVX2/FMA/POPCNT clone (x86-64-v3) picked at run time, and a portable default.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DS_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DS_SIMD_CLONES
#endif

namespace deepspin {
namespace {

inline bool cancelled(const std::atomic<bool>* cancel) {
    return cancel != nullptr && cancel->load(std::memory_order_relaxed);
}

// Threads for a call of about `work` inner operations: one for small calls, where waking a team
// costs more than it saves (and much more on a loaded machine), else `threads` (<= 0: all cores).
constexpr int64_t kMinParallelWork = 1 << 16;
int thread_count(int threads, int64_t work) {
    if (work < kMinParallelWork) return 1;
    return threads > 0 ? threads : omp_get_max_threads();
}

// L <= 8: one packed word per configuration and N popcounts (see packed_kernel_sum).
template <typename Real>
DS_SIMD_CLONES
void packed_range(const int8_t* spins, int64_t first, int64_t last, int L, const Real* k, double half_J,
                  double* out) {
    const int N = L * L;
    uint64_t words[kPackedMaxL];
    for (int64_t c = first; c < last; ++c) {
        uint64_t x;
        if (N % 8 == 0) {
            std::memcpy(words, spins + c * N, N);
            x = pack_spin_words(words, N);
        } else {
            x = pack_spins(spins + c * N, N);
        }
        out[c] = half_J * static_cast<double>(packed_kernel_sum<Real>(x, L, k));
    }
}

template <typename Real>
void pair_kernel_packed(const int8_t* spins, int64_t batch, int L, const double* K, double J, double* out,
                        int threads) {
    std::vector<Real> k(K, K + L * L);
    constexpr int64_t kGrain = 4096;
    const int64_t pieces = (batch + kGrain - 1) / kGrain;
#pragma omp parallel for schedule(static) num_threads(thread_count(threads, batch * int64_t(L) * L * 4))
    for (int64_t p = 0; p < pieces; ++p)
        packed_range<Real>(spins, p * kGrain, std::min(batch, (p + 1) * kGrain), L, k.data(), 0.5 * J, out);
}

// 8 < L <= 64: one packed word per row and L^3 popcounts (see row_packed_kernel_sum).
template <typename Real>
DS_SIMD_CLONES
void row_packed_range(const int8_t* spins, int64_t first, int64_t last, int L, const Real* k, double half_J,
                      double* out) {
    uint64_t rows[kRowPackedMaxL], rotated[kRowPackedMaxL];
    for (int64_t c = first; c < last; ++c) {
        const int8_t* s = spins + c * L * L;
        for (int r = 0; r < L; ++r) rows[r] = pack_spins(s + r * L, L);
        out[c] = half_J * static_cast<double>(row_packed_kernel_sum<Real>(rows, rotated, L, k));
    }
}

template <typename Real>
void pair_kernel_row_packed(const int8_t* spins, int64_t batch, int L, const double* K, double J, double* out,
                            int threads, const std::atomic<bool>* cancel) {
    std::vector<Real> k(K, K + L * L);
#pragma omp parallel for schedule(dynamic, 16) num_threads(thread_count(threads, batch * int64_t(L) * L * L))
    for (int64_t c = 0; c < batch; ++c) {
        if (cancelled(cancel)) continue;
        row_packed_range<Real>(spins, c, c + 1, L, k.data(), 0.5 * J, out);
    }
}

// Large lattices: E = (J/2) sum_a s_a sum_d K[d] s_{a+d}, the displacement split into two
// contiguous column runs so that the inner loop has no modulo (memory O(N), work O(N^2)).
template <typename Real>
void pair_kernel_convolution(const int8_t* spins, int64_t batch, int L, const double* K, double J, double* out,
                             int threads, const std::atomic<bool>* cancel) {
    const int N = L * L;
    std::vector<Real> k(K, K + N);
#pragma omp parallel for schedule(dynamic, 1) num_threads(thread_count(threads, batch * int64_t(N) * N))
    for (int64_t c = 0; c < batch; ++c) {
        const int8_t* s = spins + c * N;
        Real total = 0;
        for (int ra = 0; ra < L; ++ra)
            for (int ca = 0; ca < L; ++ca) {
                if (cancelled(cancel)) { ra = L; break; }  // one check per N multiply-adds
                Real field = 0;
                for (int dr = 0; dr < L; ++dr) {
                    const int8_t* srow = s + wrap_add(ra, dr, L) * L;
                    const Real* krow = k.data() + dr * L;
                    const int run = L - ca;
                    for (int dc = 0; dc < run; ++dc) field += krow[dc] * srow[ca + dc];
                    for (int dc = run; dc < L; ++dc) field += krow[dc] * srow[ca + dc - L];
                }
                total += s[ra * L + ca] * field;
            }
        out[c] = 0.5 * J * static_cast<double>(total);
    }
}

template <typename Real>
void pair_explicit(const int8_t* spins, int64_t batch, int L, const int32_t* vectors, const double* weights,
                   int64_t n_vectors, int model, double k, double J, double* out, int threads,
                   const std::atomic<bool>* cancel) {
    const int N = L * L;
    // Image vectors reduced into [0, L) once; the weight of each term is still f(|v|) of the raw vector.
    std::vector<int32_t> wrapped(2 * n_vectors);
    for (int64_t i = 0; i < 2 * n_vectors; ++i) wrapped[i] = ((vectors[i] % L) + L) % L;
#pragma omp parallel for schedule(static) num_threads(thread_count(threads, batch * int64_t(N) * n_vectors))
    for (int64_t c = 0; c < batch; ++c) {
        const int8_t* s = spins + c * N;
        double energy = 0.0;
        for (int a = 0; a < N; ++a) {
            if (cancelled(cancel)) break;  // one check per n_vectors terms
            const int ra = a / L, ca = a % L;
            Real field = 0;
            for (int64_t i = 0; i < n_vectors; ++i) {
                Real w;
                if (model == kTabulated) {
                    w = static_cast<Real>(weights[i]);
                } else {
                    const Real dx = static_cast<Real>(vectors[2 * i]), dy = static_cast<Real>(vectors[2 * i + 1]);
                    w = radial<Real>(model, static_cast<Real>(k), std::sqrt(dx * dx + dy * dy));
                }
                field += w * s[wrap_add(ra, wrapped[2 * i], L) * L + wrap_add(ca, wrapped[2 * i + 1], L)];
            }
            energy += s[a] * static_cast<double>(field);
        }
        out[c] = 0.5 * J * energy;
    }
}

}  // namespace

void ising_energy_cpu(const int8_t* spins, int64_t batch, int L, double J, double* out, int threads) {
    const int N = L * L;
#pragma omp parallel for schedule(static) num_threads(thread_count(threads, batch * int64_t(N)))
    for (int64_t c = 0; c < batch; ++c) {
        const int8_t* s = spins + c * N;
        int64_t bonds = 0;
        for (int r = 0; r < L; ++r) {
            const int8_t* row = s + r * L;
            const int8_t* below = s + wrap_add(r, 1, L) * L;
            for (int col = 0; col < L; ++col) bonds += row[col] * (below[col] + row[wrap_add(col, 1, L)]);
        }
        out[c] = -J * static_cast<double>(bonds);
    }
}

void potts_energy_cpu(const double* theta, int64_t batch, int L, double J, double* out, int threads) {
    const int N = L * L;
#pragma omp parallel for schedule(static) num_threads(thread_count(threads, batch * int64_t(N) * 8))
    for (int64_t c = 0; c < batch; ++c) {
        const double* t = theta + c * N;
        double sum = 0.0;
        for (int r = 0; r < L; ++r)
            for (int col = 0; col < L; ++col) {
                const double here = t[r * L + col];
                sum += std::cos(here - t[wrap_add(r, 1, L) * L + col]) + std::cos(here - t[r * L + wrap_add(col, 1, L)]);
            }
        out[c] = J * sum;
    }
}

void pair_kernel_energy_cpu(const int8_t* spins, int64_t batch, int L, const double* kernel, double J, bool fp32,
                            double* out, int threads, const std::atomic<bool>* cancel) {
    // Fastest exact form for each size (all equal to the quadratic form (J/2) s^T M s).
    if (L <= kPackedMaxL) {
        fp32 ? pair_kernel_packed<float>(spins, batch, L, kernel, J, out, threads)
             : pair_kernel_packed<double>(spins, batch, L, kernel, J, out, threads);
    } else if (L <= kRowPackedMaxL) {
        fp32 ? pair_kernel_row_packed<float>(spins, batch, L, kernel, J, out, threads, cancel)
             : pair_kernel_row_packed<double>(spins, batch, L, kernel, J, out, threads, cancel);
    } else {
        fp32 ? pair_kernel_convolution<float>(spins, batch, L, kernel, J, out, threads, cancel)
             : pair_kernel_convolution<double>(spins, batch, L, kernel, J, out, threads, cancel);
    }
}

void pair_explicit_energy_cpu(const int8_t* spins, int64_t batch, int L, const int32_t* vectors,
                              const double* weights, int64_t n_vectors, int model, double k, double J, bool fp32,
                              double* out, int threads, const std::atomic<bool>* cancel) {
    if (fp32)
        pair_explicit<float>(spins, batch, L, vectors, weights, n_vectors, model, k, J, out, threads, cancel);
    else
        pair_explicit<double>(spins, batch, L, vectors, weights, n_vectors, model, k, J, out, threads, cancel);
}

}  // namespace deepspin

// Multispin-coded Metropolis for nearest-neighbour Ising: 64 replicas per 64-bit word, written once
// for host and device. csrc/cpu/multispin_cpu.cpp (OpenMP over words, SIMD over words with runtime
// dispatch) and csrc/cuda/multispin_cuda.cu (one thread per word) run this very code, so they draw the
// same Philox streams and produce the same replicas bit for bit.
//
// Layout. words (N, W) uint64, site-major (a = row * L + col): bit r of words[a * W + w] is set iff
// spin a of replica g = 64 w + r is -1. Consecutive words of one site are contiguous, so SIMD lanes
// (CPU) and neighbouring threads (CUDA) read consecutive words.
//
// A sweep is N attempts; attempt i of sweep t updates site a = (x * (N + 1)) >> 32, x = word i % 4 of
// Philox block t * ceil(N / 4) + i / 4 of the stream (seed, 0, kMultispinSiteStream), and does nothing
// when a = N (probability 1 / (N + 1), about one attempt per sweep): the same site in every word, so
// all replicas share the site sequence (drawn independently of the state, so every attempt satisfies
// detailed balance; SIMD lanes read the same sites). The empty slot makes the chain aperiodic: at
// acceptance 1 (T -> inf) a sweep of exactly N flips would keep the parity of the down spins at every
// measurement, so that a replica never left the parity class of its start. A fixed sweep order would not do:
// Metropolis flips every spin with dE <= 0 that it visits, and row-major sweeps then reach only 504
// of the 512 configurations of the 3x3 torus from all-up (12 of 16 on 2x2). At the site, with s the
// site's word and n_b its four neighbours:
//   bad_b = s ^ n_b ^ flip          (flip = ~0 for J > 0: a bit counts aligned neighbours;
//                                     flip = 0 for J < 0: anti-aligned ones)
//   c = bad_0 + ... + bad_3         (a bit-sliced counter: half adders across the four words)
//   dE = 4 |J| (c - 2), accepted outright when c <= 2;
//   c = 3, 4: accepted iff U < thr_c / 2^32, thr_c = round(2^32 exp(-4 beta |J| (c - 2))), one
//   uniform U per replica compared bit-sliced with its own threshold, most significant bit first.
// Bit-sliced comparison: the random word u_j holds bit j (MSB first) of every replica's U; P_j holds
// bit j of every replica's threshold (from the per-word mask table below). A replica is decided at
// the first j with u_j != P_j: it accepts iff P_j = 1 there. The loop stops as soon as all replicas of
// the word (of all words of a SIMD block on the CPU) are decided, after at most 32 words; a replica
// still undecided then has U's 32 bits equal to thr's and rejects. So P(accept) = thr_c / 2^32
// exactly, within 2^-32 of exp(-beta dE) (rounding plus the clip of thr to 2^32 - 1 when beta J = 0).
// Extra words drawn for a replica that is already decided do not change it, so the result does not
// depend on how many words are processed together.
//
// Random streams: Philox4x32-10 (philox.hpp), key = seed, counter = (block low, block high, word w,
// kMultispinSweepStream); block = (sweep * N + i) * 16 + j / 2 gives the words u_j, u_{j+1} of
// attempt i of sweep `sweep` (u_j = out[0] | out[1] << 32, u_{j+1} = out[2] | out[3] << 32).
// Streams depend on (seed, word, sweep, attempt, j) only: not on threads, SIMD width or device.
//
// Masks (64, W) uint64: bit r of masks[(k * 32 + j) * W + w] is bit 31 - j of thr_{3+k} of replica
// 64 w + r (k = 0: c = 3, dE = 4|J|; k = 1: c = 4, dE = 8|J|). A word may mix temperatures.
//
// Measurements after sweep number `done` (1-based) when done > burn_in and (done - burn_in) % interval
// == 0, per replica g: the bond sum B = sum s s' = 2N - 2 * (anti-aligned bonds), E = -J B, and
// M = N - 2 * (down spins), counted from the words by 64x64 bit transposes. Exact integer sums, for
// the replicas g < replicas (MultispinOut): moments[k * replicas + g] += B, B^2, |M|, M^2 for
// k = 0..3; series (when not null) E and M / N at [g * series_count + q] for
// measurement q (0-based); accepted[g] += accepted flips.
#pragma once
#include <cstdint>

#include "lattice.hpp"
#include "metropolis.hpp"
#include "philox.hpp"

#ifdef __CUDACC__
#define DS_MSI __host__ __device__ __forceinline__
#else
#define DS_MSI __attribute__((always_inline)) inline
#endif
#if defined(_OPENMP) && !defined(__CUDACC__)
#define DS_SIMD_LOOP _Pragma("omp simd")
#else
#define DS_SIMD_LOOP
#endif
// The measurement's 64-word matrices stay in (cached) local memory on the GPU instead of being
// unrolled into registers, which would cap the sweep loop's occupancy.
#ifdef __CUDA_ARCH__
#define DS_DEVICE_ROLLED _Pragma("unroll 1")
#else
#define DS_DEVICE_ROLLED
#endif

namespace deepspin {

constexpr int kMultispinBits = 32;             // random words per decision at most (thresholds are 32-bit)
// Philox purpose words of the acceptance and site streams ("MS" in the high half, apart from
// philox.hpp's small RandomPurpose values; a run starts from the configurations of kInitialStream).
constexpr uint32_t kMultispinSweepStream = 0x4D530001u;
constexpr uint32_t kMultispinSiteStream = 0x4D530003u;  // the sites of the attempts, shared by all words

// Per-replica outputs of the first `replicas` replicas (<= 64 W; the lanes past them run unrecorded).
struct MultispinOut {
    int64_t replicas;
    int64_t* moments;       // (4, replicas)
    int64_t* accepted;      // (replicas,)
    double* series_energy;  // (replicas, series_count) or null
    double* series_magnet;
    int64_t series_count;
};

// Replicas of word w that are recorded: 64, or fewer in the last word.
DS_MSI int recorded_lanes(int64_t w, int64_t replicas) {
    const int64_t left = replicas - 64 * w;
    return left <= 0 ? 0 : (left >= 64 ? 64 : static_cast<int>(left));
}

DS_MSI bool multispin_is_measurement(int64_t done, int64_t burn_in, int64_t interval) {
    return done > burn_in && (done - burn_in) % interval == 0;
}

// In-place transposes of V 64x64 bit matrices a[.][l]: afterwards bit i of a[r][l] is bit r of the
// old a[i][l] (the lanes are independent matrices, transposed together so that they vectorise).
template <int V>
DS_MSI void transpose64_lanes(uint64_t a[64][V]) {
    uint64_t m = 0x00000000FFFFFFFFull;
    DS_DEVICE_ROLLED
    for (int j = 32; j != 0; j >>= 1, m ^= (m << j)) {
        DS_DEVICE_ROLLED
        for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
            DS_SIMD_LOOP
            for (int l = 0; l < V; ++l) {
                const uint64_t t = ((a[k][l] >> j) ^ a[k | j][l]) & m;
                a[k][l] ^= t << j;
                a[k | j][l] ^= t;
            }
        }
    }
}

// counts[l][r] += number of the 64 words m[i][l] with bit r set (m is overwritten).
template <int V>
DS_MSI void add_bit_counts(uint64_t m[64][V], int counts[V][64]) {
    transpose64_lanes<V>(m);
    DS_DEVICE_ROLLED
    for (int r = 0; r < 64; ++r)
        for (int l = 0; l < V; ++l) counts[l][r] += popcount64(m[r][l]);
}

// Measure the replicas of words w0 .. w0 + V - 1 (s = &words[w0], sites strided by W) after sweep `done`.
template <int V>
DS_MSI void multispin_measure(const uint64_t* s, int64_t W, int L, int64_t w0, double J, int64_t done,
                              const SweepPlan& plan, const MultispinOut& out) {
    const int N = L * L;
    int down[V][64], anti[V][64];
    for (int l = 0; l < V; ++l)
        for (int r = 0; r < 64; ++r) down[l][r] = anti[l][r] = 0;
    uint64_t m[64][V];
    if (N <= 64) {
        // One transpose gives every replica's configuration as an N-bit word x (bit a: site a down);
        // its right and lower neighbours' words are shifts of x, so both bond counts are popcounts.
        DS_DEVICE_ROLLED
        for (int i = 0; i < 64; ++i) {
            const uint64_t* site = s + static_cast<int64_t>(i) * W;
            DS_SIMD_LOOP
            for (int l = 0; l < V; ++l) m[i][l] = i < N ? site[l] : 0;
        }
        transpose64_lanes<V>(m);
        uint64_t last_col = 0;  // the bits of column L - 1
        for (int row = 0; row < L; ++row) last_col |= uint64_t(1) << (row * L + L - 1);
        const uint64_t all = N == 64 ? ~uint64_t(0) : (uint64_t(1) << N) - 1;
        for (int l = 0; l < V; ++l)
            DS_DEVICE_ROLLED
            for (int r = 0; r < 64; ++r) {
                const uint64_t x = m[r][l];
                const uint64_t right = ((x >> 1) & ~last_col) | ((x << (L - 1)) & last_col);
                const uint64_t below = ((x >> L) | (x << (N - L))) & all;
                down[l][r] = popcount64(x);
                anti[l][r] = popcount64(x ^ right) + popcount64(x ^ below);
            }
    } else {
        for (int first = 0; first < N; first += 64) {  // down spins: the site words
            DS_DEVICE_ROLLED
            for (int i = 0; i < 64; ++i) {
                const uint64_t* site = s + static_cast<int64_t>(first + i) * W;
                DS_SIMD_LOOP
                for (int l = 0; l < V; ++l) m[i][l] = first + i < N ? site[l] : 0;
            }
            add_bit_counts<V>(m, down);
        }
        for (int first = 0; first < 2 * N; first += 64) {  // anti-aligned bonds: 2a to the right, 2a + 1 below
            DS_DEVICE_ROLLED
            for (int i = 0; i < 64; i += 2) {
                const int a = (first + i) >> 1, row = a / L, col = a - row * L;
                const uint64_t* site = s + static_cast<int64_t>(a) * W;
                const uint64_t* right = s + static_cast<int64_t>(col == L - 1 ? a - col : a + 1) * W;
                const uint64_t* below = s + static_cast<int64_t>(row == L - 1 ? col : a + L) * W;
                DS_SIMD_LOOP
                for (int l = 0; l < V; ++l) {
                    m[i][l] = a < N ? site[l] ^ right[l] : 0;
                    m[i + 1][l] = a < N ? site[l] ^ below[l] : 0;
                }
            }
            add_bit_counts<V>(m, anti);
        }
    }
    const int64_t R = out.replicas, q = (done - plan.burn_in) / plan.interval - 1;
    const bool series = out.series_energy != nullptr && q < out.series_count;
    for (int l = 0; l < V; ++l) {
        const int64_t g0 = 64 * (w0 + l);
        const int lanes = recorded_lanes(w0 + l, R);
        DS_SIMD_LOOP
        for (int r = 0; r < lanes; ++r) {
            // |B| <= 2N and |M| <= N fit 32 bits: the squares are 32 x 32 -> 64-bit products
            const int32_t bonds = 2 * N - 2 * anti[l][r], M = N - 2 * down[l][r];
            out.moments[g0 + r] += bonds;
            out.moments[R + g0 + r] += static_cast<int64_t>(bonds) * bonds;
            out.moments[2 * R + g0 + r] += M < 0 ? -M : M;
            out.moments[3 * R + g0 + r] += static_cast<int64_t>(M) * M;
        }
        if (series)
            for (int r = 0; r < lanes; ++r) {
                const int64_t at = (g0 + r) * out.series_count + q;
                out.series_energy[at] = -J * static_cast<double>(2 * N - 2 * anti[l][r]);
                out.series_magnet[at] = static_cast<double>(N - 2 * down[l][r]) / N;
            }
    }
}

// Philox4x32-10 block `block` of the streams (seed, word w0 + l, kMultispinSweepStream), l < V, as the
// two random words u[0][l] = out0 | out1 << 32 and u[1][l] = out2 | out3 << 32. The lanes keep the
// 32-bit Philox words in 64-bit integers whose upper halves are ignored (every word is masked before
// it is multiplied or output), so that the multiplications map onto 32x32 -> 64-bit SIMD multiplies;
// the values are those of philox4x32_10 in philox.hpp.
template <int V>
DS_MSI void philox_words_lanes(uint64_t block, int64_t w0, uint32_t key0, uint32_t key1, uint64_t u[2][V]) {
#ifdef __CUDA_ARCH__
    for (int l = 0; l < V; ++l) {
        uint32_t r[4];
        philox_block(static_cast<uint64_t>(key0) | static_cast<uint64_t>(key1) << 32,
                     static_cast<uint32_t>(w0 + l), kMultispinSweepStream, block, r);
        u[0][l] = r[0] | static_cast<uint64_t>(r[1]) << 32;
        u[1][l] = r[2] | static_cast<uint64_t>(r[3]) << 32;
    }
#else
    constexpr uint64_t low = 0xFFFFFFFFull;
    uint64_t r0[V], r1[V], r2[V], r3[V];
    DS_SIMD_LOOP
    for (int l = 0; l < V; ++l) {
        r0[l] = block & low;
        r1[l] = block >> 32;
        r2[l] = static_cast<uint64_t>(w0 + l) & low;
        r3[l] = kMultispinSweepStream;
    }
    for (int round = 0; round < 10; ++round) {
        const uint64_t k0 = key0, k1 = key1;
        DS_SIMD_LOOP
        for (int l = 0; l < V; ++l) {
            const uint64_t p0 = (r0[l] & low) * 0xD2511F53ull;
            const uint64_t p1 = (r2[l] & low) * 0xCD9E8D57ull;
            r0[l] = (p1 >> 32) ^ r1[l] ^ k0;
            r1[l] = p1;
            r2[l] = (p0 >> 32) ^ r3[l] ^ k1;
            r3[l] = p0;
        }
        key0 += 0x9E3779B9u;
        key1 += 0xBB67AE85u;
    }
    DS_SIMD_LOOP
    for (int l = 0; l < V; ++l) {
        u[0][l] = (r0[l] & low) | r1[l] << 32;
        u[1][l] = (r2[l] & low) | r3[l] << 32;
    }
#endif
}

// The bit-sliced comparisons of one attempt for V words: on entry `undecided` marks the replicas with
// c >= 3 (e3: c == 3, e4: c == 4) and `accept` the others; on exit `accept` holds the accepted flips.
// Random words are drawn two at a time (Philox block first_block + j / 2) until no replica of the V
// words is undecided (at most kMultispinBits words); multispin_cpu.cpp has AVX2 / AVX-512 versions.
template <int V>
struct BitslicedDecide {
    DS_MSI static void run(uint64_t first_block, int64_t w0, uint32_t key0, uint32_t key1, const uint64_t* mask,
                           int64_t W, const uint64_t e3[V], const uint64_t e4[V], uint64_t undecided[V],
                           uint64_t accept[V]) {
        uint64_t any = 1;
        DS_DEVICE_ROLLED
        for (int j = 0; j < kMultispinBits && any != 0; j += 2) {
            uint64_t u[2][V];
            philox_words_lanes<V>(first_block + (j >> 1), w0, key0, key1, u);
            any = 0;
            DS_SIMD_LOOP
            for (int l = 0; l < V; ++l) {
                const uint64_t u0 = u[0][l], u1 = u[1][l];
                const uint64_t p0 = (e3[l] & mask[j * W + l]) | (e4[l] & mask[(32 + j) * W + l]);
                uint64_t und = undecided[l], acc = accept[l];
                acc |= und & p0 & ~u0;
                und &= ~(p0 ^ u0);
                const uint64_t p1 = (e3[l] & mask[(j + 1) * W + l]) | (e4[l] & mask[(33 + j) * W + l]);
                acc |= und & p1 & ~u1;
                und &= ~(p1 ^ u1);
                undecided[l] = und;
                accept[l] = acc;
                any |= und;
            }
        }
    }
};

// Accepted-flip counts per replica as a bit-sliced (vertical) counter of 8 planes per word, added
// into accepted[] every 255 updates so that no plane overflows.
template <int V>
struct AcceptCounter {
    uint64_t plane[8][V];
    int pending = 0;
    DS_MSI AcceptCounter() {
        for (int p = 0; p < 8; ++p)
            for (int l = 0; l < V; ++l) plane[p][l] = 0;
    }
    DS_MSI void add(const uint64_t acc[V]) {
        for (int l = 0; l < V; ++l) {
            uint64_t carry = acc[l];
            for (int p = 0; p < 8; ++p) {
                const uint64_t t = plane[p][l] & carry;
                plane[p][l] ^= carry;
                carry = t;
            }
        }
    }
    DS_MSI void flush(int64_t w0, int64_t replicas, int64_t* accepted) {
        for (int l = 0; l < V; ++l) {
            const int lanes = recorded_lanes(w0 + l, replicas);
            for (int r = 0; r < lanes; ++r) {
                int64_t count = 0;
                for (int p = 0; p < 8; ++p) count |= static_cast<int64_t>((plane[p][l] >> r) & 1u) << p;
                accepted[64 * (w0 + l) + r] += count;
            }
            for (int p = 0; p < 8; ++p) plane[p][l] = 0;
        }
        pending = 0;
    }
};

// Advance the V consecutive words w0 .. w0 + V - 1 by plan.n_sweeps sweeps, with their measurements.
// base: their words, base[a * W + l] for site a and lane l; mask: their threshold table, mask[k * W + l]
// (W: the row stride of both, the run's word count or a scratch block's). V = 1 is the per-word code
// of the CUDA kernel and of the scalar CPU path; V > 1 does the same arithmetic lane by lane, for the
// compiler to vectorise across words. Decide is BitslicedDecide<V> or a SIMD version with the same
// result. Lanes with w0 + l >= the run's word count may pad a block: they draw streams no word uses
// and record nothing (recorded_lanes).
template <int V, class Decide = BitslicedDecide<V>>
DS_MSI void multispin_block(uint64_t* base, const uint64_t* mask, int64_t W, int L, int64_t w0, double J,
                            const SweepPlan& plan, const MultispinOut& out) {
    const int N = L * L;
    const uint64_t flip = J >= 0 ? ~uint64_t(0) : 0;
    const uint32_t key0 = static_cast<uint32_t>(plan.seed), key1 = static_cast<uint32_t>(plan.seed >> 32);
    AcceptCounter<V> counter;
    for (int64_t sweep = plan.sweep_start; sweep < plan.sweep_start + plan.n_sweeps; ++sweep) {
        uint32_t sites[4];
        for (int i = 0; i < N; ++i) {
            if ((i & 3) == 0)
                philox_block(plan.seed, 0, kMultispinSiteStream,
                             static_cast<uint64_t>(sweep) * ((N + 3) / 4) + (i >> 2), sites);
            const int a = static_cast<int>((static_cast<uint64_t>(sites[i & 3]) * (N + 1)) >> 32);
            if (a == N) continue;  // the lazy slot: no site this attempt (see the header)
            const int row = a / L, col = a - row * L;
            const int up = (row == 0 ? L - 1 : row - 1) * L + col, down = (row == L - 1 ? 0 : row + 1) * L + col;
            const int left = row * L + (col == 0 ? L - 1 : col - 1), right = row * L + (col == L - 1 ? 0 : col + 1);
            uint64_t* s = base + static_cast<int64_t>(a) * W;
            const uint64_t* nu = base + static_cast<int64_t>(up) * W;
            const uint64_t* nd = base + static_cast<int64_t>(down) * W;
            const uint64_t* nl = base + static_cast<int64_t>(left) * W;
            const uint64_t* nr = base + static_cast<int64_t>(right) * W;
            uint64_t e3[V], e4[V], undecided[V], accept[V];
            uint64_t any = 0;
            DS_SIMD_LOOP
            for (int l = 0; l < V; ++l) {
                const uint64_t x = s[l] ^ flip;
                const uint64_t b0 = x ^ nu[l], b1 = x ^ nd[l], b2 = x ^ nl[l], b3 = x ^ nr[l];
                // c = b0 + b1 + b2 + b3, bit-sliced: half adders, then the twos and fours places
                const uint64_t s1 = b0 ^ b1, c1 = b0 & b1, s2 = b2 ^ b3, c2 = b2 & b3;
                const uint64_t ones = s1 ^ s2, carry = s1 & s2;
                const uint64_t twos = c1 ^ c2 ^ carry, fours = (c1 & c2) | (carry & (c1 ^ c2));
                e4[l] = fours;          // c == 4
                e3[l] = twos & ones;    // c == 3
                undecided[l] = e3[l] | e4[l];
                accept[l] = ~undecided[l];
                any |= undecided[l];
            }
            if (any != 0)
                Decide::run((static_cast<uint64_t>(sweep) * N + i) * (kMultispinBits / 2), w0, key0, key1, mask, W,
                            e3, e4, undecided, accept);
            for (int l = 0; l < V; ++l) s[l] ^= accept[l];  // still undecided: U = thr, rejected
            counter.add(accept);
            if (++counter.pending == 255) counter.flush(w0, out.replicas, out.accepted);
        }
        if (multispin_is_measurement(sweep + 1, plan.burn_in, plan.interval))
            multispin_measure<V>(base, W, L, w0, J, sweep + 1, plan, out);
    }
    counter.flush(w0, out.replicas, out.accepted);
}

// ---- entry points (host pointers for _cpu, device pointers for _cuda) ----
// simd: 0 scalar, 1 AVX2, 2 AVX-512 (the caller checks that the CPU has it: multispin_simd_supported).
void multispin_ising_cpu(uint64_t* words, int64_t W, int L, const uint64_t* masks, double J,
                         const SweepPlan& plan, const MultispinOut& out, int threads, int simd);
bool multispin_simd_supported(int simd);
void multispin_ising_cuda(uint64_t* words, int64_t W, int L, const uint64_t* masks, double J,
                          const SweepPlan& plan, const MultispinOut& out, std::uintptr_t stream);

}  // namespace deepspin

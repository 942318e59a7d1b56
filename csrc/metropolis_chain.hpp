// One Metropolis chain, written once for the CPU (a loop over chains) and CUDA (a thread per chain).
// See metropolis.hpp for the conventions; every function here is deterministic given the plan.
//
// Bit-for-bit equality of CPU and CUDA chains needs the same floating-point operations on both:
// the two files that include this header are compiled without contraction into fused multiply-adds
// (-ffp-contract=off, --fmad=false; CMakeLists.txt), and exp and cos are the polynomials below rather
// than the (differently rounded) host and device libraries.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "lattice.hpp"
#include "metropolis.hpp"
#include "philox.hpp"

namespace deepspin {

// 2^k for -1022 <= k <= 1023, from its bits.
DS_HD double pow2i(int k) {
    const uint64_t bits = static_cast<uint64_t>(k + 1023) << 52;
    double out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

// 2^(j/32), j = 0..31, correctly rounded: the table of det_exp, one copy for the host and one in the
// GPU's constant memory (the same numbers).
#define DS_EXP2_TABLE                                                                              \
    {1.0, 1.0218971486541166, 1.0442737824274138, 1.0671404006768237, 1.0905077326652577,          \
     1.1143867425958924, 1.1387886347566916, 1.1637248587775775, 1.189207115002721,                \
     1.215247359980469, 1.241857812073484, 1.2690509571917332, 1.2968395546510096,                 \
     1.3252366431597413, 1.3542555469368927, 1.383909881963832, 1.4142135623730951,                \
     1.4451808069770467, 1.4768261459394993, 1.5091644275934228, 1.5422108254079407,               \
     1.5759808451078865, 1.6104903319492543, 1.645755478153965, 1.681792830507429,                 \
     1.718619298122478, 1.7562521603732995, 1.7947090750031072, 1.8340080864093424,                \
     1.8741676341103, 1.9152065613971474, 1.9571441241754002}
constexpr double kExp2Host[32] = DS_EXP2_TABLE;
#ifdef __CUDACC__
__constant__ double kExp2Device[32] = DS_EXP2_TABLE;
#endif

// exp(x): x = (32 k + j) ln2 / 32 + r with |r| <= ln2 / 64 (Cody-Waite, two-part ln2 / 32), then
// 2^k 2^(j/32) times the Taylor polynomial of degree 6 in r (truncation < 4e-18 relative), rounded
// like ldexp where the result is subnormal; 0 below -745.
DS_HD double det_exp(double x) {
    if (x < -745.0) return 0.0;
    if (x > 709.0) return HUGE_VAL;
    const double m = rint(x * 46.16624130844683);
    const double r = (x - m * (6.93147180369123816490e-01 / 32.0)) - m * (1.90821492927058770002e-10 / 32.0);
    const int n = static_cast<int>(m), j = n & 31, k = n >> 5;  // n = 32 k + j (arithmetic shift)
#ifdef __CUDA_ARCH__
    const double scale = kExp2Device[j];
#else
    const double scale = kExp2Host[j];
#endif
    const double r2 = r * r;
    const double p = ((1.0 + r) + (0.5 + 0.16666666666666666 * r) * r2) +
                     (0.041666666666666664 + 0.008333333333333333 * r + 0.001388888888888889 * r2) * (r2 * r2);
    const double v = scale * p;
    // v 2^k, rounded once (as ldexp): directly where it is normal, through 2^(k + 600) 2^-600 below.
    return k >= -1021 ? v * pow2i(k) : (v * pow2i(k + 600)) * pow2i(-600);
}

// cos(x + quarter * pi / 2) for |x| < 2^20: reduction x = k pi/2 + r, |r| <= pi/4, then on the quadrant
// q = (k + quarter) mod 4 the Taylor polynomial of cos (to r^18, q even) or sin (to r^19, q odd).
DS_HD double det_cos_shifted(double x, int quarter) {
    const double k = rint(x * 0.63661977236758134308);
    const double r = (x - k * 1.57079632673412561417e+00) - k * 6.07710050650619224932e-11;
    const double z = r * r;
    const int q = static_cast<int>((static_cast<int64_t>(k) + quarter) & 3);
    double v;
    if ((q & 1) == 0) {
        double c = 1.5619206968586225e-16;
        c = c * z - 4.779477332387385e-14;
        c = c * z + 1.1470745597729725e-11;
        c = c * z - 2.08767569878681e-09;
        c = c * z + 2.755731922398589e-07;
        c = c * z - 2.48015873015873e-05;
        c = c * z + 0.001388888888888889;
        c = c * z - 0.041666666666666664;
        c = c * z + 0.5;
        v = 1.0 - c * z;  // cos r
    } else {
        double t = 8.22063524662433e-18;
        t = t * z - 2.8114572543455206e-15;
        t = t * z + 7.647163731819816e-13;
        t = t * z - 1.6059043836821613e-10;
        t = t * z + 2.505210838544172e-08;
        t = t * z - 2.7557319223985893e-06;
        t = t * z + 0.0001984126984126984;
        t = t * z - 0.008333333333333333;
        t = t * z + 0.16666666666666666;
        v = r - (t * z) * r;  // sin r
    }
    // cos(r + q pi/2) = cos r, -sin r, -cos r, sin r for q = 0, 1, 2, 3
    return (q == 1 || q == 2) ? -v : v;
}

DS_HD double det_cos(double x) { return det_cos_shifted(x, 0); }
DS_HD double det_sin(double x) { return det_cos_shifted(x, 3); }  // cos(x - pi/2) = cos(x + 3 pi/2)

// The Metropolis acceptance of every floating-point rule: a move changing the energy by dE is
// accepted iff r + 0.5 < (2^32 - 2^24) min(1, exp(-beta dE)) for the attempt's uniform word r (the
// same rule as deepspin/mc/acceptance.py; the Ising table is this rule evaluated once per temperature
// and class). The factor 1 - 2^-8 makes the chain lazy: without it, a sweep at acceptance 1 (T -> inf)
// flips exactly N spins, so the parity of the down spins never changes between measurements and
// <|m|> of an ordered start is biased (0.183 instead of 0.196 on the 4x4 torus).
constexpr double kAcceptScale = 4278190080.0;  // 2^32 - 2^24
DS_HD bool metropolis_accept(uint32_t r, double beta, double dE) {
    return static_cast<double>(r) + 0.5 < kAcceptScale * (dE <= 0.0 ? 1.0 : det_exp(-beta * dE));
}

DS_HD int64_t measurements_before(int64_t sweeps_done, int64_t burn_in, int64_t interval) {
    return sweeps_done <= burn_in ? 0 : (sweeps_done - burn_in) / interval;
}

DS_HD bool is_measurement(int64_t sweeps_done, int64_t burn_in, int64_t interval) {
    return sweeps_done > burn_in && (sweeps_done - burn_in) % interval == 0;
}

// One measurement of chain g with energy E and magnetization per site m.
DS_HD void record(const Measurements& out, int64_t g, int64_t sweeps_done, const SweepPlan& plan, double energy,
                  double m) {
    out.moments[3 * g + 0] += energy;
    out.moments[3 * g + 1] += energy * energy;
    out.moments[3 * g + 2] += fabs(m);
    if (out.series_energy != nullptr) {
        const int64_t q = measurements_before(sweeps_done, plan.burn_in, plan.interval) - 1;
        out.series_energy[g * out.series_count + q] = energy;
        out.series_magnet[g * out.series_count + q] = m;
    }
}

// N <= 64 spins held in one 64-bit word (bit a set = spin +1): the chain lives in registers.
struct BitLattice {
    uint64_t bits;
    int8_t* home;
    int N;
    DS_HD BitLattice(int8_t* spins, int n) : bits(0), home(spins), N(n) {
        for (int a = 0; a < N; ++a) bits |= static_cast<uint64_t>(spins[a] > 0) << a;
    }
    DS_HD int up(int a) const { return static_cast<int>((bits >> a) & 1u); }
    DS_HD void flip_if(int a, bool accept) { bits ^= static_cast<uint64_t>(accept) << a; }
    DS_HD void store() const {
        for (int a = 0; a < N; ++a) home[a] = ((bits >> a) & 1u) ? 1 : -1;
    }
};

// Any N: the chain's own int8 spins, in place.
struct ByteLattice {
    int8_t* spins;
    DS_HD ByteLattice(int8_t* s, int) : spins(s) {}
    DS_HD int up(int a) const { return spins[a] > 0; }
    DS_HD void flip_if(int a, bool accept) { spins[a] = accept ? static_cast<int8_t>(-spins[a]) : spins[a]; }
    DS_HD void store() const {}
};

// Random-site proposals. Attempt i of sweep t uses the words 2(i mod 2) (site) and 2(i mod 2) + 1
// (acceptance) of Philox block t * ceil(N / 2) + i / 2. The site word w picks row (w >> 16) * L >> 16
// and column (w & 0xffff) * L >> 16: every site has a positive probability that does not depend on the
// configuration, so each attempt satisfies detailed balance and the chain is irreducible. (A fixed
// sweep order is not: it can lock into cycles of zero-energy flips, which Metropolis accepts with
// probability one, and then keeps a memory of its start; this is visible on a 3x3 Ising torus.)
struct Site {
    int row, col;
};

DS_HD Site random_site(uint32_t w, int L) {
    return Site{static_cast<int>(((w >> 16) * static_cast<uint32_t>(L)) >> 16),
                static_cast<int>(((w & 0xFFFFu) * static_cast<uint32_t>(L)) >> 16)};
}

DS_HD uint64_t blocks_per_sweep(int N) { return (static_cast<uint64_t>(N) + 1) / 2; }

// Attempt i of a sweep whose first Philox block is `first_block`: its site and acceptance word.
// `r` holds the current block; it is refilled on even i (two attempts per block).
struct Proposal {
    Site site;
    uint32_t uniform;
};

DS_HD Proposal propose(uint32_t* r, uint64_t seed, int64_t g, uint64_t first_block, int i, int L) {
    if ((i & 1) == 0) philox_block(seed, static_cast<uint32_t>(g), kSweepStream, first_block + (i >> 1), r);
    return Proposal{random_site(r[2 * (i & 1)], L), r[2 * (i & 1) + 1]};
}

// Nearest-neighbour Ising chain g. A site with spin up-bit b and u up neighbours has
// s_a * sum(neighbours) = 2k - 4 with k = b ? u : 4 - u, and flipping it changes -sum s s' by 4k - 8.
template <class Lattice>
DS_HD void ising_chain(int8_t* spins, int64_t* energy, int64_t* magnet, int64_t g, int L, const uint64_t* thr,
                       double J, const SweepPlan& plan, const Measurements& out) {
    const int N = L * L;
    Lattice s(spins, N);
    int64_t e = *energy, mag = *magnet, accepted = 0;
    uint32_t r[4];
    for (int64_t sweep = plan.sweep_start; sweep < plan.sweep_start + plan.n_sweeps; ++sweep) {
        const uint64_t first_block = static_cast<uint64_t>(sweep) * blocks_per_sweep(N);
        for (int i = 0; i < N; ++i) {
            const Proposal p = propose(r, plan.seed, g, first_block, i, L);
            const Site site = p.site;
            const int row = site.row * L, col = site.col;
            const int above = (site.row == 0 ? N - L : row - L), below = (site.row == L - 1 ? 0 : row + L);
            const int left = row + (col == 0 ? L - 1 : col - 1), right = row + (col == L - 1 ? 0 : col + 1);
            const int a = row + col;
            const int u = s.up(above + col) + s.up(below + col) + s.up(left) + s.up(right);
            const int b = s.up(a);
            const int k = b ? u : 4 - u;
            const bool accept = p.uniform < thr[k];
            s.flip_if(a, accept);
            e += accept ? 4 * k - 8 : 0;
            mag += accept ? 2 - 4 * b : 0;
            accepted += accept;
        }
        if (is_measurement(sweep + 1, plan.burn_in, plan.interval))
            record(out, g, sweep + 1, plan, J * e, static_cast<double>(mag) / N);
    }
    s.store();
    *energy = e;
    *magnet = mag;
    out.accepted[g] += accepted;
}

// Pair-kernel chain g: O(1) energy change from the local fields, O(N) field update per accepted flip.
DS_HD void pair_chain(int8_t* s, double* h, double* energy, int64_t* magnet, int64_t g, int L, const double* M,
                      double beta, double J, const SweepPlan& plan, const Measurements& out) {
    const int N = L * L;
    double e = *energy;
    int64_t mag = *magnet, accepted = 0;
    uint32_t r[4];
    for (int64_t sweep = plan.sweep_start; sweep < plan.sweep_start + plan.n_sweeps; ++sweep) {
        const uint64_t first_block = static_cast<uint64_t>(sweep) * blocks_per_sweep(N);
        for (int i = 0; i < N; ++i) {
            const Proposal p = propose(r, plan.seed, g, first_block, i, L);
            const int a = p.site.row * L + p.site.col;
            const int sa = s[a];
            const double* row = M + static_cast<int64_t>(a) * N;
            const double dE = -2.0 * J * sa * (h[a] - row[a] * sa);
            if (metropolis_accept(p.uniform, beta, dE)) {
                const double c = -2.0 * sa;
                for (int b = 0; b < N; ++b) h[b] += c * row[b];
                s[a] = static_cast<int8_t>(-sa);
                e += dE;
                mag -= 2 * sa;
                ++accepted;
            }
        }
        if (is_measurement(sweep + 1, plan.burn_in, plan.interval))
            record(out, g, sweep + 1, plan, e, static_cast<double>(mag) / N);
    }
    *energy = e;
    *magnet = mag;
    out.accepted[g] += accepted;
}

// ---- planar Potts ----

// A uniform angle in [0, pi) from two words: pi times the 53-bit fraction (hi >> 5) 2^-27 + (lo >> 6) 2^-53.
DS_HD double uniform_angle(uint32_t hi, uint32_t lo) {
    const double u = (static_cast<double>(hi >> 5) * 67108864.0 + static_cast<double>(lo >> 6)) *
                     1.1102230246251565e-16;
    return 3.141592653589793 * u;
}

// The 4 neighbours of site (row, col): above, below, left, right.
DS_HD void neighbours(int row, int col, int L, int nb[4]) {
    const int N = L * L, base = row * L;
    nb[0] = (row == 0 ? N - L : base - L) + col;
    nb[1] = (row == L - 1 ? 0 : base + L) + col;
    nb[2] = base + (col == 0 ? L - 1 : col - 1);
    nb[3] = base + (col == L - 1 ? 0 : col + 1);
}

// E / J = sum_a [cos(t_a - t_right) + cos(t_a - t_down)] in site order, and |sum_a exp(i t_a)|.
DS_HD void potts_observe(const double* t, int L, double* bond_sum, double* magnet) {
    double e = 0.0, c = 0.0, s = 0.0;
    for (int row = 0; row < L; ++row)
        for (int col = 0; col < L; ++col) {
            const int a = row * L + col;
            e += det_cos(t[a] - t[row * L + (col == L - 1 ? 0 : col + 1)]);
            e += det_cos(t[a] - t[(row == L - 1 ? 0 : row + 1) * L + col]);
            c += det_cos(t[a]);
            s += det_sin(t[a]);
        }
    *bond_sum = e;
    *magnet = sqrt(c * c + s * s);
}

// Potts chain g. Attempt i of sweep t uses Philox block t * N + i of stream (seed, g, kAngleStream):
// word 0 picks the site (random_site), words 1 and 2 the new angle (uniform_angle), word 3 is the
// acceptance word. The proposal is symmetric (site and angle uniform), so Metropolis is exact.
DS_HD void potts_chain(double* t, double* energy, double* magnet, int64_t g, int L, double beta, double J,
                       const SweepPlan& plan, const Measurements& out) {
    const int N = L * L;
    int64_t accepted = 0;
    uint32_t r[4];
    int nb[4];
    for (int64_t sweep = plan.sweep_start; sweep < plan.sweep_start + plan.n_sweeps; ++sweep) {
        const uint64_t first_block = static_cast<uint64_t>(sweep) * N;
        for (int i = 0; i < N; ++i) {
            philox_block(plan.seed, static_cast<uint32_t>(g), kAngleStream, first_block + i, r);
            const Site site = random_site(r[0], L);
            const int a = site.row * L + site.col;
            neighbours(site.row, site.col, L, nb);
            const double proposed = uniform_angle(r[1], r[2]), old = t[a];
            double change = 0.0;
            for (int j = 0; j < 4; ++j) change += det_cos(proposed - t[nb[j]]) - det_cos(old - t[nb[j]]);
            if (metropolis_accept(r[3], beta, J * change)) {
                t[a] = proposed;
                ++accepted;
            }
        }
        if (is_measurement(sweep + 1, plan.burn_in, plan.interval)) {
            double bonds, m;
            potts_observe(t, L, &bonds, &m);
            record(out, g, sweep + 1, plan, J * bonds, m / N);
        }
    }
    double bonds, m;
    potts_observe(t, L, &bonds, &m);
    *energy = J * bonds;
    *magnet = m;
    out.accepted[g] += accepted;
}

}  // namespace deepspin

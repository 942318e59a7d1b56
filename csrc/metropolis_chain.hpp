// One Metropolis chain, written once for the CPU (a loop over chains) and CUDA (a thread per chain).
// See metropolis.hpp for the conventions; every function here is deterministic given the plan.
#pragma once
#include <cmath>
#include <cstdint>

#include "lattice.hpp"
#include "metropolis.hpp"
#include "philox.hpp"

namespace deepspin {

DS_HD int64_t measurements_before(int64_t sweeps_done, int64_t burn_in, int64_t interval) {
    return sweeps_done <= burn_in ? 0 : (sweeps_done - burn_in) / interval;
}

DS_HD bool is_measurement(int64_t sweeps_done, int64_t burn_in, int64_t interval) {
    return sweeps_done > burn_in && (sweeps_done - burn_in) % interval == 0;
}

DS_HD void record(const Measurements& out, int64_t g, int64_t sweeps_done, const SweepPlan& plan, double energy,
                  int64_t magnet, int N) {
    const double m = static_cast<double>(magnet) / N;
    out.moments[3 * g + 0] += energy;
    out.moments[3 * g + 1] += energy * energy;
    out.moments[3 * g + 2] += fabs(m);
    if (out.series_energy != nullptr) {
        const int64_t q = measurements_before(sweeps_done, plan.burn_in, plan.interval) - 1 - out.series_first;
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
        if (is_measurement(sweep + 1, plan.burn_in, plan.interval)) record(out, g, sweep + 1, plan, J * e, mag, N);
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
            if (dE <= 0.0 || static_cast<double>(p.uniform) + 0.5 < 4294967296.0 * exp(-beta * dE)) {
                const double c = -2.0 * sa;
                for (int b = 0; b < N; ++b) h[b] += c * row[b];
                s[a] = static_cast<int8_t>(-sa);
                e += dE;
                mag -= 2 * sa;
                ++accepted;
            }
        }
        if (is_measurement(sweep + 1, plan.burn_in, plan.interval)) record(out, g, sweep + 1, plan, e, mag, N);
    }
    *energy = e;
    *magnet = mag;
    out.accepted[g] += accepted;
}

}  // namespace deepspin

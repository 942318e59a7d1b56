// Metropolis for many independent chains x many temperatures in one call, one function per proposal
// rule: single flips of +-1 spins (Ising: acceptance table; pair models: local fields) and new angles
// for the planar Potts model. csrc/cpu/metropolis_cpu.cpp and csrc/cuda/metropolis_cuda.cu implement
// the same signatures (suffix _cpu / _cuda) with the same per-chain code (metropolis_chain.hpp), so
// both draw the same Philox streams and produce the same chains.
//
// Layout: chain g = t * chains_per_temperature + c runs at temperature index t. Spins are (G, N)
// C-ordered (site a = row * L + col): int8 +-1 or float64 angles. A call advances every chain from
// sweep `sweep_start` by `n_sweeps` sweeps; a sweep is N attempted moves at randomly chosen sites
// (metropolis_chain.hpp). After sweep number `done` (1-based) a measurement is taken when
// done > burn_in and (done - burn_in) % interval == 0. The _cuda versions take device pointers and
// run on `stream`; the _cpu ones take host pointers, threads <= 0 means the OpenMP default.
#pragma once
#include <cstdint>

namespace deepspin {

struct SweepPlan {
    uint64_t seed;
    int64_t sweep_start;  // sweeps already done by every chain (the random streams' position)
    int64_t n_sweeps;     // sweeps to do in this call
    int64_t burn_in;      // sweeps before the first measurement
    int64_t interval;     // sweeps between measurements
};

// The ensemble: G = chains chains of L x L sites, chains_per_temperature consecutive chains per temperature.
struct Ensemble {
    int64_t chains;
    int L;
    int64_t chains_per_temperature;
};

// Accumulated per chain, in double, in the order of the sweeps (so independent of thread count):
// moments[3g + 0] += E, moments[3g + 1] += E^2, moments[3g + 2] += |m|; accepted[g] += accepted moves.
// When series_energy is not null, measurement q of chain g (0-based over the whole run) is written to
// series_energy[g * series_count + q] (E) and series_magnet[...] (m).
struct Measurements {
    double* moments;
    int64_t* accepted;
    double* series_energy;
    double* series_magnet;
    int64_t series_count;
};

// Ising: energy[g] = -sum_<ab> s_a s_b (the energy in units of J, an exact integer), magnet[g] = sum_a s_a,
// m = magnet / N. thresholds: (n_temperatures, 5); a flip with s_a * (sum of the 4 neighbours) = 2k - 4
// is accepted iff the chain's next random word r < thresholds[t * 5 + k] (deepspin/mc/acceptance.py).
struct IsingChains {
    int8_t* spins;
    int64_t* energy;
    int64_t* magnet;
};
struct IsingModel {
    const uint64_t* thresholds;
    double J;
};
void metropolis_ising_cpu(const Ensemble& ens, const IsingChains& state, const IsingModel& model,
                          const SweepPlan& plan, const Measurements& out, int threads);
void metropolis_ising_cuda(const Ensemble& ens, const IsingChains& state, const IsingModel& model,
                           const SweepPlan& plan, const Measurements& out, std::uintptr_t stream);

// Pair-kernel models, E = (J/2) s^T M s with the dense (N, N) matrix M[a, b] = K[r_b - r_a mod L]:
// fields[g * N + a] = h_a = sum_b M[a, b] s_b, energy[g] = E (float64). Flipping a changes the energy
// by dE = -2 J s_a (h_a - M[a, a] s_a) (the self-image term M[a, a] s_a^2 does not change); the flip is
// accepted by metropolis_accept (metropolis_chain.hpp); on acceptance h_b -= 2 s_a M[b, a] for all b.
struct PairChains {
    int8_t* spins;
    double* fields;
    double* energy;
    int64_t* magnet;
};
struct PairModel {
    const double* matrix;
    const double* betas;  // (n_temperatures,)
    double J;
};
void metropolis_pair_cpu(const Ensemble& ens, const PairChains& state, const PairModel& model,
                         const SweepPlan& plan, const Measurements& out, int threads);
void metropolis_pair_cuda(const Ensemble& ens, const PairChains& state, const PairModel& model,
                          const SweepPlan& plan, const Measurements& out, std::uintptr_t stream);

// Planar Potts, E = J sum_a [cos(t_a - t_right) + cos(t_a - t_down)], angles in [0, pi). A move gives a
// random site a new angle uniform in [0, pi); dE = J sum_{b nn a} [cos(t'_a - t_b) - cos(t_a - t_b)].
// energy[g] (E) and magnet[g] (|sum_a exp(i t_a)|, so m = magnet / N in [0, 1]) are recomputed from the
// angles at every measurement and at the end of a call (no accumulated rounding).
struct PottsChains {
    double* theta;
    double* energy;
    double* magnet;
};
struct PottsModel {
    const double* betas;  // (n_temperatures,)
    double J;
};
void metropolis_potts_cpu(const Ensemble& ens, const PottsChains& state, const PottsModel& model,
                          const SweepPlan& plan, const Measurements& out, int threads);
void metropolis_potts_cuda(const Ensemble& ens, const PottsChains& state, const PottsModel& model,
                           const SweepPlan& plan, const Measurements& out, std::uintptr_t stream);

// The local fields h = M s and the energy (J/2) s.h of every configuration (host, exact summation order).
void pair_local_fields_cpu(const int8_t* spins, int64_t chains, int N, const double* matrix, double J,
                           double* fields, double* energy, int threads);

}  // namespace deepspin

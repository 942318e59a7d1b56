// Single-spin-flip Metropolis for many independent chains x many temperatures in one call.
// csrc/cpu/metropolis_cpu.cpp and csrc/cuda/metropolis_cuda.cu implement the same signatures
// (suffix _cpu / _cuda) with the same per-chain code (metropolis_chain.hpp), so both draw the same
// Philox streams and produce the same chains.
//
// Layout: chain g = t * chains_per_temperature + c runs at temperature index t. Spins are int8
// (G, N) C-ordered (site a = row * L + col), the state of a chain is its spins, its energy and its
// magnetization sum M = sum_a s_a (plus, for pair models, the local fields h = M s). A call advances
// every chain from sweep `sweep_start` by `n_sweeps` sweeps; a sweep is N attempted flips of randomly
// chosen sites (metropolis_chain.hpp). After sweep number `done` (1-based) a measurement is taken
// when done > burn_in and (done - burn_in) % interval == 0. The _cuda versions take device pointers
// and run on `stream`; the _cpu ones take host pointers, threads <= 0 means the OpenMP default.
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

// Accumulated per chain, in double, in the order of the sweeps (so independent of thread count):
// moments[3g + 0] += E, moments[3g + 1] += E^2, moments[3g + 2] += |M| / N; accepted[g] += flips.
// When series_energy is not null, measurement q of chain g (0-based over the whole run) is written to
// series_energy[g * series_count + q - series_first] (E) and series_magnet[...] (M / N).
struct Measurements {
    double* moments;
    int64_t* accepted;
    double* series_energy;
    double* series_magnet;
    int64_t series_first;
    int64_t series_count;
};

// Ising: energy[g] = -sum_<ab> s_a s_b (the energy in units of J, an exact integer).
// thresholds: (n_temperatures, 5); a flip with s_a * (sum of the 4 neighbours) = 2k - 4 is accepted
// iff the chain's next random word r < thresholds[t * 5 + k] (see deepspin/mc/metropolis.py).
void metropolis_ising_cpu(int8_t* spins, int64_t* energy, int64_t* magnet, int64_t chains, int L,
                          int64_t chains_per_temperature, const uint64_t* thresholds, double J,
                          const SweepPlan& plan, const Measurements& out, int threads);
void metropolis_ising_cuda(int8_t* spins, int64_t* energy, int64_t* magnet, int64_t chains, int L,
                           int64_t chains_per_temperature, const uint64_t* thresholds, double J,
                           const SweepPlan& plan, const Measurements& out, std::uintptr_t stream);

// Pair-kernel models, E = (J/2) s^T M s with the dense (N, N) matrix M[a, b] = K[r_b - r_a mod L]:
// fields[g * N + a] = h_a = sum_b M[a, b] s_b, energy[g] = E (float64). Flipping a changes the energy
// by dE = -2 J s_a (h_a - M[a, a] s_a) (the self-image term M[a, a] s_a^2 does not change); a flip is
// accepted iff dE <= 0 or r + 0.5 < 2^32 exp(-beta dE); on acceptance h_b -= 2 s_a M[b, a] for all b.
void metropolis_pair_cpu(int8_t* spins, double* fields, double* energy, int64_t* magnet, int64_t chains, int L,
                         int64_t chains_per_temperature, const double* matrix, const double* betas, double J,
                         const SweepPlan& plan, const Measurements& out, int threads);
void metropolis_pair_cuda(int8_t* spins, double* fields, double* energy, int64_t* magnet, int64_t chains, int L,
                          int64_t chains_per_temperature, const double* matrix, const double* betas, double J,
                          const SweepPlan& plan, const Measurements& out, std::uintptr_t stream);

// The local fields h = M s and the energy (J/2) s.h of every configuration (host, exact summation order).
void pair_local_fields_cpu(const int8_t* spins, int64_t chains, int N, const double* matrix, double J,
                           double* fields, double* energy, int threads);

}  // namespace deepspin

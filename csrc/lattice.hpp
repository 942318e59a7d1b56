// Shared helpers for the CPU and CUDA kernels: radial interactions and periodic indexing.
#pragma once
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define DS_HD __host__ __device__ __forceinline__
#else
#define DS_HD inline
#endif

namespace deepspin {

// Built-in radial interactions f(d) of the pair-kernel models (SPEC section 2).
enum Radial : int {
    kScreenedCoulomb = 0,    // f(d) = exp(-k d) / d
    kSinusoidalCoulomb = 1,  // f(d) = exp(-k d) sin(d) / d
    kTabulated = 2,          // f given per lattice vector by the caller (user-defined PairPotential)
};

template <typename Real>
DS_HD Real radial(int model, Real k, Real d) {
    Real screened = exp(-k * d) / d;
    return model == kSinusoidalCoulomb ? screened * sin(d) : screened;
}

// (x + dx) on a ring of length L, for 0 <= x < L and 0 <= dx < L: no modulo in inner loops.
DS_HD int wrap_add(int x, int dx, int L) {
    int y = x + dx;
    return y >= L ? y - L : y;
}

}  // namespace deepspin

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

// ---- Packed small lattices (L <= 8, N <= 64 sites in one 64-bit word) ----
//
// For the folded-kernel method, sum_{a,b} s_a s_b K[b - a] = sum_d K[d] C(d) with the periodic
// autocorrelation C(d) = sum_a s_a s_{a+d} = N - 2 * popcount(x XOR shift_d(x)), where x holds one
// bit per site. This regroups the N^2 terms of the quadratic form by displacement: N popcounts
// instead of N^2 multiply-adds, with the same value.

constexpr int kPackedMaxL = 8;

DS_HD int popcount64(uint64_t v) {
#ifdef __CUDA_ARCH__
    return __popcll(v);
#else
    return __builtin_popcountll(v);
#endif
}

// Bit r * L + c of the result is set iff s[r, c] == -1 (any consistent mapping works for C(d)).
DS_HD uint64_t pack_spins(const int8_t* s, int N) {
    uint64_t x = 0;
    for (int i = 0; i < N; ++i) x |= static_cast<uint64_t>(s[i] < 0) << i;
    return x;
}

// The same packing from N / 8 little-endian words of int8 spins (N % 8 == 0): the sign bit of
// each byte is moved to bit 8w + i by a multiply that gathers eight byte-wise bits into one byte.
DS_HD uint64_t pack_spin_words(const uint64_t* words, int N) {
    uint64_t x = 0;
    for (int w = 0; w < N / 8; ++w) {
        const uint64_t signs = (words[w] >> 7) & 0x0101010101010101ull;
        x |= ((signs * 0x0102040810204080ull) >> 56) << (8 * w);
    }
    return x;
}

// sum_d K[d] C(d) for a packed configuration x; K is the folded kernel, row-major (L, L).
template <typename Real>
DS_HD Real packed_kernel_sum(uint64_t x, int L, const Real* K) {
    const int N = L * L;
    const uint64_t all = N == 64 ? ~uint64_t(0) : ((uint64_t(1) << N) - 1);
    Real total = 0;
    for (int dc = 0; dc < L; ++dc) {
        // Column shift by dc inside every row of L bits: bit (r, c) <- bit (r, (c + dc) mod L).
        uint64_t low = 0, high = 0;
        for (int r = 0; r < L; ++r) {
            low |= ((uint64_t(1) << (L - dc)) - 1) << (r * L);
            high |= ((uint64_t(1) << dc) - 1) << (r * L + L - dc);
        }
        const uint64_t xc = dc == 0 ? x : (((x >> dc) & low) | ((x << (L - dc)) & high));
        for (int dr = 0; dr < L; ++dr) {
            // Row shift by dr: bit (r, c) <- bit ((r + dr) mod L, c), a rotation of the N-bit word.
            const uint64_t y = dr == 0 ? xc : (((xc >> (L * dr)) | (xc << (N - L * dr))) & all);
            total += K[dr * L + dc] * static_cast<Real>(N - 2 * popcount64(x ^ y));
        }
    }
    return total;
}

// Larger lattices (L <= 64): one word per row, bit c set iff s[r, c] == -1. The same sum
// sum_d K[d] C(d), with C(dr, dc) = N - 2 sum_r popcount(row_r XOR rot_dc(row_{r+dr})): L^3 popcounts
// per configuration instead of N^2 = L^4 multiply-adds. `rotated` is scratch space for L words.
constexpr int kRowPackedMaxL = 64;

template <typename Real>
DS_HD Real row_packed_kernel_sum(const uint64_t* rows, uint64_t* rotated, int L, const Real* K) {
    const int N = L * L;
    const uint64_t all = L == 64 ? ~uint64_t(0) : ((uint64_t(1) << L) - 1);
    Real total = 0;
    for (int dc = 0; dc < L; ++dc) {
        // Column shift by dc: bit c <- bit (c + dc) mod L of the same row.
        for (int r = 0; r < L; ++r)
            rotated[r] = dc == 0 ? rows[r] : (((rows[r] >> dc) | (rows[r] << (L - dc))) & all);
        for (int dr = 0; dr < L; ++dr) {
            int differ = 0;
            for (int r = 0; r < L - dr; ++r) differ += popcount64(rows[r] ^ rotated[r + dr]);
            for (int r = L - dr; r < L; ++r) differ += popcount64(rows[r] ^ rotated[r + dr - L]);
            total += K[dr * L + dc] * static_cast<Real>(N - 2 * differ);
        }
    }
    return total;
}

}  // namespace deepspin

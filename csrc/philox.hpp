// Philox4x32-10 counter-based random numbers (Salmon, Moraes, Dror and Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC11), written once for host and device so that the CPU and CUDA
// Monte Carlo kernels draw the very same streams.
//
// Stream convention of deepspin's Metropolis engine: key = (seed low 32 bits, seed high 32 bits),
// counter = (block low, block high, chain, purpose). One block gives four 32-bit words.
#pragma once
#include <cstdint>

#include "lattice.hpp"

namespace deepspin {

// What a stream is used for: the fourth counter word, so that streams never overlap.
enum RandomPurpose : uint32_t {
    kSweepStream = 0,    // two words (site, acceptance) per attempt i: block = sweep * ceil(N / 2) + i / 2
    kInitialStream = 1,  // the initial configuration: spin a is +1 iff the top bit of word a is set
    kLocalStream = 2,    // sublattice rule (Python): acceptance word of site a in sweep t = word a of block t ceil(N/4)
    kAngleStream = 3,    // Potts angle moves: one block (site, angle hi, angle lo, acceptance) per attempt
};

DS_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
    const uint64_t product = static_cast<uint64_t>(a) * b;
    *hi = static_cast<uint32_t>(product >> 32);
    return static_cast<uint32_t>(product);
}

// Ten Philox rounds of `counter` under `key`; the result overwrites `counter`.
DS_HD void philox4x32_10(uint32_t counter[4], uint32_t key0, uint32_t key1) {
    for (int round = 0; round < 10; ++round) {
        uint32_t hi0, hi1;
        const uint32_t lo0 = mulhilo32(0xD2511F53u, counter[0], &hi0);
        const uint32_t lo1 = mulhilo32(0xCD9E8D57u, counter[2], &hi1);
        const uint32_t c0 = hi1 ^ counter[1] ^ key0, c2 = hi0 ^ counter[3] ^ key1;
        counter[0] = c0;
        counter[1] = lo1;
        counter[2] = c2;
        counter[3] = lo0;
        key0 += 0x9E3779B9u;
        key1 += 0xBB67AE85u;
    }
}

// Words 4*block .. 4*block+3 of stream (seed, chain, purpose).
DS_HD void philox_block(uint64_t seed, uint32_t chain, uint32_t purpose, uint64_t block, uint32_t out[4]) {
    out[0] = static_cast<uint32_t>(block);
    out[1] = static_cast<uint32_t>(block >> 32);
    out[2] = chain;
    out[3] = purpose;
    philox4x32_10(out, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

}  // namespace deepspin

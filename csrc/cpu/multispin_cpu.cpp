// CPU multispin Metropolis: blocks of V consecutive words run the shared code of multispin.hpp,
// compiled three times (scalar V = 1, AVX2 V = 8, AVX-512 V = 16) and chosen at run time; the blocks
// are split across OpenMP threads, and a partial last block runs padded to V words. Every word's
// result depends only on its own Philox streams, so threads and SIMD level do not change a bit of
// it. The SIMD levels replace the attempt's Philox and bit-sliced comparisons (BitslicedDecide,
// where the compiler would emulate 64-bit multiplies) by intrinsics: Philox's 32x32 -> 64-bit
// products are vpmuludq on 64-bit lanes holding 32-bit words.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "multispin.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

namespace deepspin {
namespace {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DS_MS_X86 1
#define DS_TARGET_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))
#define DS_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx2,bmi,bmi2,popcnt")))
#endif

// Advance words w0 .. w0 + lanes - 1 (base = &words[0, w0], mask = &masks[0, w0], row stride W).
using BlockFn = void (*)(uint64_t*, const uint64_t*, int64_t, int, int64_t, double, const SweepPlan&,
                         const MultispinOut&);

void block_scalar(uint64_t* base, const uint64_t* mask, int64_t W, int L, int64_t w0, double J,
                  const SweepPlan& plan, const MultispinOut& out) {
    multispin_block<1>(base, mask, W, L, w0, J, plan, out);
}

#ifdef DS_MS_X86
constexpr int kAvx2Lanes = 8, kAvx512Lanes = 16;
constexpr uint64_t kLow = 0xFFFFFFFFull, kM0 = 0xD2511F53ull, kM1 = 0xCD9E8D57ull;

// BitslicedDecide<16> with two AVX-512 vectors of 8 words each.
struct Avx512Decide {
    DS_TARGET_AVX512 static void run(uint64_t first_block, int64_t w0, uint32_t key0, uint32_t key1,
                                     const uint64_t* mask, int64_t W, const uint64_t e3[16], const uint64_t e4[16],
                                     uint64_t undecided[16], uint64_t accept[16]) {
        const __m512i low = _mm512_set1_epi64(kLow), m0 = _mm512_set1_epi64(kM0), m1 = _mm512_set1_epi64(kM1);
        const __m512i stream = _mm512_set1_epi64(kMultispinSweepStream);
        const __m512i iota = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
        const __m512i wa = _mm512_and_si512(_mm512_add_epi64(_mm512_set1_epi64(w0), iota), low);
        const __m512i wb = _mm512_and_si512(_mm512_add_epi64(_mm512_set1_epi64(w0 + 8), iota), low);
        const __m512i e3a = _mm512_loadu_si512(e3), e3b = _mm512_loadu_si512(e3 + 8);
        const __m512i e4a = _mm512_loadu_si512(e4), e4b = _mm512_loadu_si512(e4 + 8);
        __m512i ua = _mm512_loadu_si512(undecided), ub = _mm512_loadu_si512(undecided + 8);
        __m512i aa = _mm512_loadu_si512(accept), ab = _mm512_loadu_si512(accept + 8);
        for (int j = 0; j < kMultispinBits; j += 2) {
            const uint64_t block = first_block + (j >> 1);
            __m512i a0 = _mm512_set1_epi64(block & kLow), a1 = _mm512_set1_epi64(block >> 32), a2 = wa, a3 = stream;
            __m512i b0 = a0, b1 = a1, b2 = wb, b3 = stream;
            uint32_t k0 = key0, k1 = key1;
            for (int round = 0; round < 10; ++round) {
                const __m512i K0 = _mm512_set1_epi64(k0), K1 = _mm512_set1_epi64(k1);
                const __m512i pa0 = _mm512_mul_epu32(a0, m0), pa1 = _mm512_mul_epu32(a2, m1);
                const __m512i pb0 = _mm512_mul_epu32(b0, m0), pb1 = _mm512_mul_epu32(b2, m1);
                a0 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(pa1, 32), a1, K0, 0x96);
                a2 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(pa0, 32), a3, K1, 0x96);
                b0 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(pb1, 32), b1, K0, 0x96);
                b2 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(pb0, 32), b3, K1, 0x96);
                a1 = pa1, a3 = pa0, b1 = pb1, b3 = pb0;
                k0 += 0x9E3779B9u;
                k1 += 0xBB67AE85u;
            }
            // u_j = out0 | out1 << 32, u_{j+1} = out2 | out3 << 32 (upper halves of a0, a2 are not Philox's)
            const __m512i ua0 = _mm512_or_si512(_mm512_and_si512(a0, low), _mm512_slli_epi64(a1, 32));
            const __m512i ua1 = _mm512_or_si512(_mm512_and_si512(a2, low), _mm512_slli_epi64(a3, 32));
            const __m512i ub0 = _mm512_or_si512(_mm512_and_si512(b0, low), _mm512_slli_epi64(b1, 32));
            const __m512i ub1 = _mm512_or_si512(_mm512_and_si512(b2, low), _mm512_slli_epi64(b3, 32));
            const uint64_t* p3 = mask + j * W;
            const uint64_t* p4 = mask + (32 + j) * W;
            const __m512i pa = _mm512_or_si512(_mm512_and_si512(e3a, _mm512_loadu_si512(p3)),
                                               _mm512_and_si512(e4a, _mm512_loadu_si512(p4)));
            const __m512i pb = _mm512_or_si512(_mm512_and_si512(e3b, _mm512_loadu_si512(p3 + 8)),
                                               _mm512_and_si512(e4b, _mm512_loadu_si512(p4 + 8)));
            const __m512i qa = _mm512_or_si512(_mm512_and_si512(e3a, _mm512_loadu_si512(p3 + W)),
                                               _mm512_and_si512(e4a, _mm512_loadu_si512(p4 + W)));
            const __m512i qb = _mm512_or_si512(_mm512_and_si512(e3b, _mm512_loadu_si512(p3 + W + 8)),
                                               _mm512_and_si512(e4b, _mm512_loadu_si512(p4 + W + 8)));
            // accept |= undecided & p & ~u; undecided &= ~(p ^ u)
            aa = _mm512_or_si512(aa, _mm512_and_si512(ua, _mm512_andnot_si512(ua0, pa)));
            ua = _mm512_andnot_si512(_mm512_xor_si512(pa, ua0), ua);
            ab = _mm512_or_si512(ab, _mm512_and_si512(ub, _mm512_andnot_si512(ub0, pb)));
            ub = _mm512_andnot_si512(_mm512_xor_si512(pb, ub0), ub);
            aa = _mm512_or_si512(aa, _mm512_and_si512(ua, _mm512_andnot_si512(ua1, qa)));
            ua = _mm512_andnot_si512(_mm512_xor_si512(qa, ua1), ua);
            ab = _mm512_or_si512(ab, _mm512_and_si512(ub, _mm512_andnot_si512(ub1, qb)));
            ub = _mm512_andnot_si512(_mm512_xor_si512(qb, ub1), ub);
            const __m512i either = _mm512_or_si512(ua, ub);
            if (_mm512_test_epi64_mask(either, either) == 0) break;
        }
        _mm512_storeu_si512(undecided, ua);
        _mm512_storeu_si512(undecided + 8, ub);
        _mm512_storeu_si512(accept, aa);
        _mm512_storeu_si512(accept + 8, ab);
    }
};

using V4 = __m256i;
DS_TARGET_AVX2 inline V4 load(const uint64_t* p) { return _mm256_loadu_si256(reinterpret_cast<const V4*>(p)); }
DS_TARGET_AVX2 inline void store(uint64_t* p, V4 v) { _mm256_storeu_si256(reinterpret_cast<V4*>(p), v); }

// BitslicedDecide<8> with two AVX2 vectors of 4 words each.
struct Avx2Decide {
    DS_TARGET_AVX2 static void run(uint64_t first_block, int64_t w0, uint32_t key0, uint32_t key1,
                                   const uint64_t* mask, int64_t W, const uint64_t e3[8], const uint64_t e4[8],
                                   uint64_t undecided[8], uint64_t accept[8]) {
        const V4 low = _mm256_set1_epi64x(kLow), m0 = _mm256_set1_epi64x(kM0), m1 = _mm256_set1_epi64x(kM1);
        const V4 stream = _mm256_set1_epi64x(kMultispinSweepStream), iota = _mm256_set_epi64x(3, 2, 1, 0);
        const V4 wa = _mm256_and_si256(_mm256_add_epi64(_mm256_set1_epi64x(w0), iota), low);
        const V4 wb = _mm256_and_si256(_mm256_add_epi64(_mm256_set1_epi64x(w0 + 4), iota), low);
        const V4 e3a = load(e3), e3b = load(e3 + 4), e4a = load(e4), e4b = load(e4 + 4);
        V4 ua = load(undecided), ub = load(undecided + 4), aa = load(accept), ab = load(accept + 4);
        for (int j = 0; j < kMultispinBits; j += 2) {
            const uint64_t block = first_block + (j >> 1);
            V4 a0 = _mm256_set1_epi64x(block & kLow), a1 = _mm256_set1_epi64x(block >> 32), a2 = wa, a3 = stream;
            V4 b0 = a0, b1 = a1, b2 = wb, b3 = stream;
            uint32_t k0 = key0, k1 = key1;
            for (int round = 0; round < 10; ++round) {
                const V4 K0 = _mm256_set1_epi64x(k0), K1 = _mm256_set1_epi64x(k1);
                const V4 pa0 = _mm256_mul_epu32(a0, m0), pa1 = _mm256_mul_epu32(a2, m1);
                const V4 pb0 = _mm256_mul_epu32(b0, m0), pb1 = _mm256_mul_epu32(b2, m1);
                a0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pa1, 32), a1), K0);
                a2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pa0, 32), a3), K1);
                b0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pb1, 32), b1), K0);
                b2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pb0, 32), b3), K1);
                a1 = pa1, a3 = pa0, b1 = pb1, b3 = pb0;
                k0 += 0x9E3779B9u;
                k1 += 0xBB67AE85u;
            }
            const V4 ua0 = _mm256_or_si256(_mm256_and_si256(a0, low), _mm256_slli_epi64(a1, 32));
            const V4 ua1 = _mm256_or_si256(_mm256_and_si256(a2, low), _mm256_slli_epi64(a3, 32));
            const V4 ub0 = _mm256_or_si256(_mm256_and_si256(b0, low), _mm256_slli_epi64(b1, 32));
            const V4 ub1 = _mm256_or_si256(_mm256_and_si256(b2, low), _mm256_slli_epi64(b3, 32));
            const uint64_t* p3 = mask + j * W;
            const uint64_t* p4 = mask + (32 + j) * W;
            const V4 pa = _mm256_or_si256(_mm256_and_si256(e3a, load(p3)), _mm256_and_si256(e4a, load(p4)));
            const V4 pb = _mm256_or_si256(_mm256_and_si256(e3b, load(p3 + 4)), _mm256_and_si256(e4b, load(p4 + 4)));
            const V4 qa = _mm256_or_si256(_mm256_and_si256(e3a, load(p3 + W)), _mm256_and_si256(e4a, load(p4 + W)));
            const V4 qb =
                _mm256_or_si256(_mm256_and_si256(e3b, load(p3 + W + 4)), _mm256_and_si256(e4b, load(p4 + W + 4)));
            aa = _mm256_or_si256(aa, _mm256_and_si256(ua, _mm256_andnot_si256(ua0, pa)));
            ua = _mm256_andnot_si256(_mm256_xor_si256(pa, ua0), ua);
            ab = _mm256_or_si256(ab, _mm256_and_si256(ub, _mm256_andnot_si256(ub0, pb)));
            ub = _mm256_andnot_si256(_mm256_xor_si256(pb, ub0), ub);
            aa = _mm256_or_si256(aa, _mm256_and_si256(ua, _mm256_andnot_si256(ua1, qa)));
            ua = _mm256_andnot_si256(_mm256_xor_si256(qa, ua1), ua);
            ab = _mm256_or_si256(ab, _mm256_and_si256(ub, _mm256_andnot_si256(ub1, qb)));
            ub = _mm256_andnot_si256(_mm256_xor_si256(qb, ub1), ub);
            const V4 either = _mm256_or_si256(ua, ub);
            if (_mm256_testz_si256(either, either)) break;
        }
        store(undecided, ua);
        store(undecided + 4, ub);
        store(accept, aa);
        store(accept + 4, ab);
    }
};

DS_TARGET_AVX2 void block_avx2(uint64_t* base, const uint64_t* mask, int64_t W, int L, int64_t w0, double J,
                               const SweepPlan& plan, const MultispinOut& out) {
    multispin_block<kAvx2Lanes, Avx2Decide>(base, mask, W, L, w0, J, plan, out);
}

DS_TARGET_AVX512 void block_avx512(uint64_t* base, const uint64_t* mask, int64_t W, int L, int64_t w0, double J,
                                   const SweepPlan& plan, const MultispinOut& out) {
    multispin_block<kAvx512Lanes, Avx512Decide>(base, mask, W, L, w0, J, plan, out);
}
#endif

}  // namespace

bool multispin_simd_supported(int simd) {
    if (simd == 0) return true;
#ifdef DS_MS_X86
    __builtin_cpu_init();
    if (simd == 1) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2");
    if (simd == 2)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw");
#endif
    return false;
}

void multispin_ising_cpu(uint64_t* words, int64_t W, int L, const uint64_t* masks, double J,
                         const SweepPlan& plan, const MultispinOut& out, int threads, int simd) {
    int lanes = 1;
    BlockFn wide = block_scalar;
#ifdef DS_MS_X86
    if (simd == 2) {
        lanes = kAvx512Lanes;
        wide = block_avx512;
    } else if (simd == 1) {
        lanes = kAvx2Lanes;
        wide = block_avx2;
    }
#endif
    const int64_t N = int64_t(L) * L, blocks = (W + lanes - 1) / lanes;
    const int n_threads = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (int64_t i = 0; i < blocks; ++i) {
        const int64_t w0 = i * lanes, used = std::min<int64_t>(lanes, W - w0);
        if (used == lanes) {
            wide(words + w0, masks + w0, W, L, w0, J, plan, out);
            continue;
        }
        // The last, partial block runs padded in scratch copies (stride `lanes`); its padding lanes
        // have threshold 0, streams of word indices >= W, and are not recorded.
        std::vector<uint64_t> base(N * lanes, 0), mask(2 * kMultispinBits * lanes, 0);
        for (int64_t a = 0; a < N; ++a) std::copy_n(words + a * W + w0, used, base.data() + a * lanes);
        for (int k = 0; k < 2 * kMultispinBits; ++k) std::copy_n(masks + k * W + w0, used, mask.data() + k * lanes);
        wide(base.data(), mask.data(), lanes, L, w0, J, plan, out);
        for (int64_t a = 0; a < N; ++a) std::copy_n(base.data() + a * lanes, used, words + a * W + w0);
    }
}

}  // namespace deepspin

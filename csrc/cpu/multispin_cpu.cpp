// CPU multispin Metropolis: blocks of V consecutive words run the shared code of multispin.hpp,
// compiled three times (scalar V = 1, AVX2 V = 8, AVX-512 V = 16) and chosen at run time; the blocks
// are split across OpenMP threads. Every word's result depends only on its own Philox streams, so
// threads and SIMD level do not change a bit of it.
#include <omp.h>

#include <algorithm>

#include "multispin.hpp"

namespace deepspin {
namespace {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DS_MS_X86 1
#define DS_TARGET_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))
#define DS_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx2,bmi,bmi2,popcnt")))
#endif

using BlockFn = void (*)(uint64_t*, int64_t, int, int64_t, const uint64_t*, double, const MultispinPlan&,
                         const MultispinOut&);

void block_scalar(uint64_t* words, int64_t W, int L, int64_t w0, const uint64_t* masks, double J,
                  const MultispinPlan& plan, const MultispinOut& out) {
    multispin_block<1>(words, W, L, w0, masks, J, plan, out);
}

#ifdef DS_MS_X86
constexpr int kAvx2Lanes = 8, kAvx512Lanes = 16;

DS_TARGET_AVX2 void block_avx2(uint64_t* words, int64_t W, int L, int64_t w0, const uint64_t* masks, double J,
                               const MultispinPlan& plan, const MultispinOut& out) {
    multispin_block<kAvx2Lanes>(words, W, L, w0, masks, J, plan, out);
}

DS_TARGET_AVX512 void block_avx512(uint64_t* words, int64_t W, int L, int64_t w0, const uint64_t* masks,
                                   double J, const MultispinPlan& plan, const MultispinOut& out) {
    multispin_block<kAvx512Lanes>(words, W, L, w0, masks, J, plan, out);
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
                         const MultispinPlan& plan, const MultispinOut& out, int threads, int simd) {
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
    const int64_t blocks = W / lanes, tail = W - blocks * lanes;  // tail words run one at a time
    const int n_threads = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (int64_t i = 0; i < blocks + tail; ++i) {
        if (i < blocks)
            wide(words, W, L, i * lanes, masks, J, plan, out);
        else
            block_scalar(words, W, L, blocks * lanes + (i - blocks), masks, J, plan, out);
    }
}

}  // namespace deepspin

// Fast scan used by Python's check_spins on int8 input: where is the first value that is not +-1?
#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "engine.hpp"

namespace deepspin {

int64_t first_invalid_spin_cpu(const int8_t* spins, int64_t count, int threads) {
    constexpr int64_t kBlock = 1 << 16;
    const int64_t blocks = (count + kBlock - 1) / kBlock;
    int64_t first = count;
#pragma omp parallel for schedule(static) reduction(min : first) num_threads(count < (1 << 20) ? 1 : (threads > 0 ? threads : omp_get_max_threads()))
    for (int64_t b = 0; b < blocks; ++b) {
        const int64_t begin = b * kBlock, end = std::min(count, begin + kBlock);
        uint8_t bad = 0;  // (s + 1) & 0xFD is 0 iff s is +1 or -1
        for (int64_t i = begin; i < end; ++i) bad |= static_cast<uint8_t>(static_cast<uint8_t>(spins[i]) + 1) & 0xFD;
        if (bad)
            for (int64_t i = begin; i < end; ++i)
                if (static_cast<uint8_t>(spins[i] + 1) & 0xFD) {
                    first = std::min(first, i);
                    break;
                }
    }
    return first < count ? first : -1;
}

}  // namespace deepspin

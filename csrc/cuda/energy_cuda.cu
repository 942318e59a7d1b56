// CUDA exact energies. Ising and Potts: one thread per configuration. Folded-kernel method: one
// thread per configuration for L <= 8 (one 64-bit word holds the lattice), one warp per
// configuration for L <= 64 (one word per row, lanes share the displacements), and one thread per
// (configuration, site) beyond. Explicit method: one thread per (configuration, site), as in the
// paper's CUDA code. Per-site terms are reduced within a warp before one atomic add per warp and
// configuration.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "engine.hpp"
#include "lattice.hpp"

namespace deepspin {
namespace {

constexpr int kThreads = 256;

void check(cudaError_t status, const char* what) {
    if (status != cudaSuccess) {
        cudaGetLastError();  // clear a sticky launch error so later calls report their own
        throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(status));
    }
}

cudaStream_t as_stream(std::uintptr_t stream) { return reinterpret_cast<cudaStream_t>(stream); }

unsigned grid_for(int64_t work) {
    const int64_t blocks = (work + kThreads - 1) / kThreads;
    return static_cast<unsigned>(blocks < 65535 * 16 ? blocks : 65535 * 16);
}

// Lets `kernel` take `bytes` of dynamic shared memory (above 48 KiB needs an explicit opt-in).
template <typename Kernel>
void set_shared_limit(Kernel kernel, size_t bytes) {
    if (bytes > 48 * 1024)
        check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
              "cudaFuncSetAttribute");
}

// Adds `value` to out[config]; when every lane of the warp holds the same config (N % 32 == 0,
// full warps), the warp reduces first and one lane adds.
__device__ void add_site_term(double* out, int64_t config, double value, bool warp_uniform) {
    if (warp_uniform) {
        for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_down_sync(0xffffffffu, value, offset);
        if ((threadIdx.x & 31) == 0) atomicAdd(out + config, value);
    } else {
        atomicAdd(out + config, value);
    }
}

__global__ void ising_kernel(const int8_t* __restrict__ spins, int64_t batch, int L, double J, double* out) {
    const int N = L * L;
    for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < batch; c += int64_t(gridDim.x) * blockDim.x) {
        const int8_t* s = spins + c * N;
        int bonds = 0;
        for (int r = 0; r < L; ++r)
            for (int col = 0; col < L; ++col)
                bonds += s[r * L + col] * (s[wrap_add(r, 1, L) * L + col] + s[r * L + wrap_add(col, 1, L)]);
        out[c] = -J * bonds;
    }
}

__global__ void potts_kernel(const double* __restrict__ theta, int64_t batch, int L, double J, double* out) {
    const int N = L * L;
    for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < batch; c += int64_t(gridDim.x) * blockDim.x) {
        const double* t = theta + c * N;
        double sum = 0.0;
        for (int r = 0; r < L; ++r)
            for (int col = 0; col < L; ++col) {
                const double here = t[r * L + col];
                sum += cos(here - t[wrap_add(r, 1, L) * L + col]) + cos(here - t[r * L + wrap_add(col, 1, L)]);
            }
        out[c] = J * sum;
    }
}

// One thread per (config, site a): adds (J/2) s_a field(s, r_a, c_a) to out[config]. The loop bound is
// rounded up to whole grid strides so that every lane of a warp reaches the warp reduction.
template <typename Real, typename Field>
__device__ void accumulate_site_terms(const int8_t* __restrict__ spins, int64_t batch, int L, double half_J,
                                      double* out, const Field& field) {
    const int N = L * L;
    const bool warp_uniform = (N % 32) == 0;
    const int64_t work = batch * N;
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    const int64_t rounded = ((work + stride - 1) / stride) * stride;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < rounded; i += stride) {
        double term = 0.0;
        int64_t c = 0;
        if (i < work) {
            c = i / N;
            const int a = static_cast<int>(i - c * N);
            const int8_t* s = spins + c * N;
            term = half_J * s[a] * static_cast<double>(field(s, a / L, a % L));
        }
        if (warp_uniform || i < work) add_site_term(out, c, term, warp_uniform);
    }
}

// Folded-kernel field sum_d K[d] s_{a+d}, K in shared memory.
template <typename Real>
struct KernelField {
    const Real* k;
    int L;
    __device__ Real operator()(const int8_t* s, int ra, int ca) const {
        Real field = 0;
        for (int dr = 0; dr < L; ++dr) {
            const int8_t* srow = s + wrap_add(ra, dr, L) * L;
            const Real* krow = k + dr * L;
            for (int dc = 0; dc < L; ++dc) field += krow[dc] * srow[wrap_add(ca, dc, L)];
        }
        return field;
    }
};

// Explicit field sum_v f(|v|) s_{a+v} over the image vectors, f evaluated for every term.
template <typename Real>
struct ExplicitField {
    const int32_t* vectors;
    const double* weights;
    int64_t n_vectors;
    int model;
    Real k;
    int L;
    __device__ Real operator()(const int8_t* s, int ra, int ca) const {
        Real field = 0;
        for (int64_t v = 0; v < n_vectors; ++v) {
            const int dx = vectors[2 * v], dy = vectors[2 * v + 1];
            const Real w = model == kTabulated ? static_cast<Real>(weights[v])
                                               : radial<Real>(model, k, sqrt(static_cast<Real>(dx * dx + dy * dy)));
            field += w * s[((ra + dx) % L + L) % L * L + ((ca + dy) % L + L) % L];
        }
        return field;
    }
};

// Folded-kernel method for L > 64, one thread per (config, site).
template <typename Real>
__global__ void pair_kernel_kernel(const int8_t* __restrict__ spins, int64_t batch, int L,
                                   const double* __restrict__ K, double half_J, double* out) {
    extern __shared__ unsigned char shared_raw[];
    Real* k = reinterpret_cast<Real*>(shared_raw);
    for (int i = threadIdx.x; i < L * L; i += blockDim.x) k[i] = static_cast<Real>(K[i]);
    __syncthreads();
    accumulate_site_terms<Real>(spins, batch, L, half_J, out, KernelField<Real>{k, L});
}

// Folded-kernel method for L <= 8, one thread per configuration: pack the spins into one word and
// sum K[d] C(d) over the N displacements with popcounts (see packed_kernel_sum in lattice.hpp).
template <typename Real>
__global__ void pair_kernel_packed_kernel(const int8_t* __restrict__ spins, int64_t batch, int L,
                                          const double* __restrict__ K, double half_J, bool word_loads,
                                          double* out) {
    __shared__ Real k[kPackedMaxL * kPackedMaxL];
    const int N = L * L;
    for (int i = threadIdx.x; i < N; i += blockDim.x) k[i] = static_cast<Real>(K[i]);
    __syncthreads();
    for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < batch; c += int64_t(gridDim.x) * blockDim.x) {
        const int8_t* s = spins + c * N;
        const uint64_t x = word_loads ? pack_spin_words(reinterpret_cast<const uint64_t*>(s), N) : pack_spins(s, N);
        out[c] = half_J * static_cast<double>(packed_kernel_sum<Real>(x, L, k));
    }
}

// Folded-kernel method for 8 < L <= 64, one warp per configuration. The warp packs the rows into
// shared memory (bit c of word r set iff s[r, c] == -1), then lane l takes the displacements
// d = l, l + 32, ...: C(dr, dc) = N - 2 sum_r popcount(row_r XOR rot_dc(row_{r+dr})), as in
// row_packed_kernel_sum (lattice.hpp), and the warp reduces sum_d K[d] C(d).
template <typename Real>
__global__ void pair_kernel_rows_kernel(const int8_t* __restrict__ spins, int64_t batch, int L,
                                        const double* __restrict__ K, double half_J, double* out) {
    extern __shared__ unsigned char shared_raw[];
    Real* k = reinterpret_cast<Real*>(shared_raw);
    const int N = L * L;
    uint64_t* rows = reinterpret_cast<uint64_t*>(shared_raw + ((sizeof(Real) * N + 7) / 8) * 8) +
                     (threadIdx.x / 32) * kRowPackedMaxL;
    for (int i = threadIdx.x; i < N; i += blockDim.x) k[i] = static_cast<Real>(K[i]);
    __syncthreads();
    const int lane = threadIdx.x & 31;
    const uint64_t all = L == 64 ? ~uint64_t(0) : ((uint64_t(1) << L) - 1);
    const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
    for (int64_t c = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32; c < batch; c += warps) {
        const int8_t* s = spins + c * N;
        for (int r = lane; r < L; r += 32) {
            uint64_t word = 0;
            for (int col = 0; col < L; ++col) word |= uint64_t(s[r * L + col] < 0) << col;
            rows[r] = word;
        }
        __syncwarp();
        Real total = 0;
        for (int d = lane; d < N; d += 32) {
            const int dr = d / L, dc = d - dr * L;
            int differ = 0;
            for (int r = 0; r < L; ++r) {
                const uint64_t other = rows[wrap_add(r, dr, L)];
                const uint64_t rotated = dc == 0 ? other : (((other >> dc) | (other << (L - dc))) & all);
                differ += __popcll(rows[r] ^ rotated);
            }
            total += k[d] * static_cast<Real>(N - 2 * differ);
        }
        for (int offset = 16; offset > 0; offset >>= 1) total += __shfl_down_sync(0xffffffffu, total, offset);
        if (lane == 0) out[c] = half_J * static_cast<double>(total);
        __syncwarp();  // rows are rewritten for the next configuration only after every lane is done
    }
}

// Explicit method, one thread per (config, site), as in the paper's CUDA code.
template <typename Real>
__global__ void pair_explicit_kernel(const int8_t* __restrict__ spins, int64_t batch, int L,
                                     const int32_t* __restrict__ vectors, const double* __restrict__ weights,
                                     int64_t n_vectors, int model, double k, double half_J, double* out) {
    accumulate_site_terms<Real>(spins, batch, L, half_J, out,
                                ExplicitField<Real>{vectors, weights, n_vectors, model, static_cast<Real>(k), L});
}

// Smallest flat index i with spins[i] not in {+1, -1} ((s + 1) & 0xFD is 0 iff s = +-1), by atomicMin.
__global__ void first_invalid_spin_kernel(const int8_t* __restrict__ spins, int64_t count,
                                          unsigned long long* first) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        if (static_cast<uint8_t>(spins[i] + 1) & 0xFD) atomicMin(first, static_cast<unsigned long long>(i));
}

}  // namespace

std::pair<int, std::string> cuda_device_count() {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        cudaGetLastError();
        return {0, std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(status)};
    }
    if (count == 0) return {0, "no CUDA device present"};
    return {count, ""};
}

int64_t first_invalid_spin_cuda(const int8_t* spins, int64_t count, std::uintptr_t stream) {
    if (count == 0) return -1;
    const cudaStream_t st = as_stream(stream);
    unsigned long long* first = nullptr;
    unsigned long long host = 0;
    check(cudaMallocAsync(reinterpret_cast<void**>(&first), sizeof(host), st), "cudaMallocAsync");
    check(cudaMemsetAsync(first, 0xFF, sizeof(host), st), "cudaMemsetAsync");
    first_invalid_spin_kernel<<<grid_for(count), kThreads, 0, st>>>(spins, count, first);
    const cudaError_t launched = cudaGetLastError();
    const cudaError_t copied = cudaMemcpyAsync(&host, first, sizeof(host), cudaMemcpyDeviceToHost, st);
    cudaFreeAsync(first, st);
    check(launched, "first_invalid_spin_kernel launch");
    check(copied, "cudaMemcpyAsync to host");
    check(cudaStreamSynchronize(st), "cudaStreamSynchronize");
    return host == ~0ull ? -1 : static_cast<int64_t>(host);
}

void ising_energy_cuda(const int8_t* spins, int64_t batch, int L, double J, double* out, std::uintptr_t stream) {
    if (batch == 0) return;
    ising_kernel<<<grid_for(batch), kThreads, 0, as_stream(stream)>>>(spins, batch, L, J, out);
    check(cudaGetLastError(), "ising_kernel launch");
}

void potts_energy_cuda(const double* theta, int64_t batch, int L, double J, double* out, std::uintptr_t stream) {
    if (batch == 0) return;
    potts_kernel<<<grid_for(batch), kThreads, 0, as_stream(stream)>>>(theta, batch, L, J, out);
    check(cudaGetLastError(), "potts_kernel launch");
}

void pair_kernel_energy_cuda(const int8_t* spins, int64_t batch, int L, const double* kernel, double J, bool fp32,
                             double* out, std::uintptr_t stream) {
    if (batch == 0) return;
    if (L <= kPackedMaxL) {
        // 8-byte loads need N % 8 == 0 and an 8-byte aligned batch (CuPy and NumPy allocations are).
        const bool word_loads = (L * L) % 8 == 0 && reinterpret_cast<std::uintptr_t>(spins) % 8 == 0;
        if (fp32)
            pair_kernel_packed_kernel<float><<<grid_for(batch), kThreads, 0, as_stream(stream)>>>(
                spins, batch, L, kernel, 0.5 * J, word_loads, out);
        else
            pair_kernel_packed_kernel<double><<<grid_for(batch), kThreads, 0, as_stream(stream)>>>(
                spins, batch, L, kernel, 0.5 * J, word_loads, out);
        check(cudaGetLastError(), "pair_kernel_packed_kernel launch");
        return;
    }
    if (L <= kRowPackedMaxL) {
        const size_t kernel_bytes = ((size_t(L) * L * (fp32 ? sizeof(float) : sizeof(double)) + 7) / 8) * 8;
        const size_t shared = kernel_bytes + sizeof(uint64_t) * kRowPackedMaxL * (kThreads / 32);
        const unsigned grid = grid_for(batch * 32);
        if (fp32) {
            set_shared_limit(pair_kernel_rows_kernel<float>, shared);
            pair_kernel_rows_kernel<float><<<grid, kThreads, shared, as_stream(stream)>>>(spins, batch, L, kernel,
                                                                                           0.5 * J, out);
        } else {
            set_shared_limit(pair_kernel_rows_kernel<double>, shared);
            pair_kernel_rows_kernel<double><<<grid, kThreads, shared, as_stream(stream)>>>(spins, batch, L, kernel,
                                                                                            0.5 * J, out);
        }
        check(cudaGetLastError(), "pair_kernel_rows_kernel launch");
        return;
    }
    const int64_t work = batch * L * L;
    check(cudaMemsetAsync(out, 0, sizeof(double) * batch, as_stream(stream)), "cudaMemsetAsync");
    const size_t shared = size_t(L) * L * (fp32 ? sizeof(float) : sizeof(double));
    if (fp32) {
        set_shared_limit(pair_kernel_kernel<float>, shared);
        pair_kernel_kernel<float><<<grid_for(work), kThreads, shared, as_stream(stream)>>>(spins, batch, L, kernel,
                                                                                            0.5 * J, out);
    } else {
        set_shared_limit(pair_kernel_kernel<double>, shared);
        pair_kernel_kernel<double><<<grid_for(work), kThreads, shared, as_stream(stream)>>>(spins, batch, L, kernel,
                                                                                             0.5 * J, out);
    }
    check(cudaGetLastError(), "pair_kernel_kernel launch");
}

void pair_explicit_energy_cuda(const int8_t* spins, int64_t batch, int L, const int32_t* vectors,
                               const double* weights, int64_t n_vectors, int model, double k, double J, bool fp32,
                               double* out, std::uintptr_t stream) {
    if (batch == 0) return;
    const int64_t work = batch * L * L;
    check(cudaMemsetAsync(out, 0, sizeof(double) * batch, as_stream(stream)), "cudaMemsetAsync");
    if (fp32)
        pair_explicit_kernel<float><<<grid_for(work), kThreads, 0, as_stream(stream)>>>(
            spins, batch, L, vectors, weights, n_vectors, model, k, 0.5 * J, out);
    else
        pair_explicit_kernel<double><<<grid_for(work), kThreads, 0, as_stream(stream)>>>(
            spins, batch, L, vectors, weights, n_vectors, model, k, 0.5 * J, out);
    check(cudaGetLastError(), "pair_explicit_kernel launch");
}

void* cuda_malloc(std::size_t bytes) {
    void* ptr = nullptr;
    check(cudaMalloc(&ptr, bytes ? bytes : 1), "cudaMalloc");
    return ptr;
}
void cuda_free(void* ptr) { cudaFree(ptr); }
void cuda_copy_to_device(void* dst, const void* src, std::size_t bytes) {
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to device");
}
void cuda_copy_to_host(void* dst, const void* src, std::size_t bytes) {
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy to host");
}
void cuda_synchronize() { check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

}  // namespace deepspin

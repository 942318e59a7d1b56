// The only pybind11 file: thin wrappers that check shapes, release the GIL and call the kernels.
// Physics validation (spin values, parameters) happens in Python, at the public boundary.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "engine.hpp"
#include "lattice.hpp"

namespace py = pybind11;
using namespace deepspin;

namespace {

template <typename T>
using CArray = py::array_t<T, py::array::c_style>;

#ifdef DEEPSPIN_WITH_CUDA
constexpr bool kBuiltWithCuda = true;
#else
constexpr bool kBuiltWithCuda = false;
#endif

// Batch size and L of a (B, L, L) array.
std::pair<int64_t, int> batch_shape(const py::array& configs) {
    if (configs.ndim() != 3 || configs.shape(1) != configs.shape(2))
        throw std::invalid_argument("expected a C-contiguous (B, L, L) array");
    return {configs.shape(0), static_cast<int>(configs.shape(1))};
}

CArray<double> empty_result(int64_t batch) { return CArray<double>(batch); }

// Owns a device allocation for the host-array CUDA wrappers.
class DeviceArray {
   public:
    explicit DeviceArray(std::size_t bytes) : ptr_(cuda_malloc(bytes)) {}
    DeviceArray(const void* host, std::size_t bytes) : ptr_(cuda_malloc(bytes)) {
        if (bytes) cuda_copy_to_device(ptr_, host, bytes);
    }
    ~DeviceArray() { cuda_free(ptr_); }
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
    template <typename T>
    T* get() const { return static_cast<T*>(ptr_); }

   private:
    void* ptr_;
};

// Runs `launch(device_in, count, device_out)` over host configurations in chunks of bounded size.
template <typename In, typename Launch>
void cuda_chunked(const In* host_in, int64_t batch, int64_t per_config, double* host_out, Launch launch) {
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(batch, (int64_t(1) << 28) / (per_config * sizeof(In))));
    DeviceArray in(sizeof(In) * chunk * per_config), out(sizeof(double) * chunk);
    for (int64_t first = 0; first < batch; first += chunk) {
        const int64_t count = std::min(chunk, batch - first);
        cuda_copy_to_device(in.get<void>(), host_in + first * per_config, sizeof(In) * count * per_config);
        launch(in.get<In>(), count, out.get<double>());
        cuda_copy_to_host(host_out + first, out.get<double>(), sizeof(double) * count);
    }
}

int64_t vector_count(const CArray<int32_t>& vectors) {
    if (vectors.ndim() != 2 || vectors.shape(1) != 2) throw std::invalid_argument("vectors must be (n, 2) int32");
    return vectors.shape(0);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "deepspin compiled core: exact energies of 2-D lattice spin models (CPU/OpenMP and CUDA)";
    m.attr("__version__") = DEEPSPIN_VERSION;
    m.attr("built_with_cuda") = kBuiltWithCuda;
    m.attr("RADIAL_SCREENED_COULOMB") = int(kScreenedCoulomb);
    m.attr("RADIAL_SINUSOIDAL_COULOMB") = int(kSinusoidalCoulomb);
    m.attr("RADIAL_TABULATED") = int(kTabulated);
    m.def("cuda_device_count", &cuda_device_count,
          "(count, reason): CUDA devices usable now; reason says why when count is 0");

    // ---- CPU ----
    m.def("first_invalid_spin_cpu", [](const CArray<int8_t>& spins, int threads) {
        const int8_t* s = spins.data();
        const int64_t n = spins.size();
        py::gil_scoped_release release;
        return first_invalid_spin_cpu(s, n, threads);
    }, py::arg("spins"), py::arg("threads"), "flat index of the first value that is not +-1, or -1");

    m.def("ising_energy_cpu", [](const CArray<int8_t>& spins, double J, int threads) {
        auto [batch, L] = batch_shape(spins);
        auto out = empty_result(batch);
        const int8_t* s = spins.data();
        double* o = out.mutable_data();
        py::gil_scoped_release release;
        ising_energy_cpu(s, batch, L, J, o, threads);
        return out;
    }, py::arg("spins"), py::arg("J"), py::arg("threads"));

    m.def("potts_energy_cpu", [](const CArray<double>& theta, double J, int threads) {
        auto [batch, L] = batch_shape(theta);
        auto out = empty_result(batch);
        const double* t = theta.data();
        double* o = out.mutable_data();
        py::gil_scoped_release release;
        potts_energy_cpu(t, batch, L, J, o, threads);
        return out;
    }, py::arg("theta"), py::arg("J"), py::arg("threads"));

    m.def("pair_kernel_energy_cpu", [](const CArray<int8_t>& spins, const CArray<double>& kernel, double J, bool fp32,
                                       int threads) {
        auto [batch, L] = batch_shape(spins);
        if (kernel.ndim() != 2 || kernel.shape(0) != L || kernel.shape(1) != L)
            throw std::invalid_argument("kernel must be (L, L) float64");
        auto out = empty_result(batch);
        const int8_t* s = spins.data();
        const double* k = kernel.data();
        double* o = out.mutable_data();
        py::gil_scoped_release release;
        pair_kernel_energy_cpu(s, batch, L, k, J, fp32, o, threads);
        return out;
    }, py::arg("spins"), py::arg("kernel"), py::arg("J"), py::arg("fp32"), py::arg("threads"));

    m.def("pair_explicit_energy_cpu", [](const CArray<int8_t>& spins, const CArray<int32_t>& vectors,
                                         const CArray<double>& weights, int model, double k, double J, bool fp32,
                                         int threads) {
        auto [batch, L] = batch_shape(spins);
        const int64_t nv = vector_count(vectors);
        if (model == kTabulated && weights.size() != nv) throw std::invalid_argument("weights must be (n,) float64");
        auto out = empty_result(batch);
        const int8_t* s = spins.data();
        const int32_t* v = vectors.data();
        const double* w = weights.data();
        double* o = out.mutable_data();
        py::gil_scoped_release release;
        pair_explicit_energy_cpu(s, batch, L, v, w, nv, model, k, J, fp32, o, threads);
        return out;
    }, py::arg("spins"), py::arg("vectors"), py::arg("weights"), py::arg("model"), py::arg("k"), py::arg("J"),
       py::arg("fp32"), py::arg("threads"));

    // ---- CUDA, host (NumPy) arrays: copied to the device in bounded chunks ----
    m.def("ising_energy_cuda", [](const CArray<int8_t>& spins, double J) {
        auto [batch, L] = batch_shape(spins);
        auto out = empty_result(batch);
        const int8_t* s = spins.data();
        double* o = out.mutable_data();
        py::gil_scoped_release release;
        cuda_chunked(s, batch, int64_t(L) * L, o, [&](const int8_t* in, int64_t count, double* dout) {
            ising_energy_cuda(in, count, L, J, dout, 0);
        });
        return out;
    }, py::arg("spins"), py::arg("J"));

    m.def("potts_energy_cuda", [](const CArray<double>& theta, double J) {
        auto [batch, L] = batch_shape(theta);
        auto out = empty_result(batch);
        const double* t = theta.data();
        double* o = out.mutable_data();
        py::gil_scoped_release release;
        cuda_chunked(t, batch, int64_t(L) * L, o, [&](const double* in, int64_t count, double* dout) {
            potts_energy_cuda(in, count, L, J, dout, 0);
        });
        return out;
    }, py::arg("theta"), py::arg("J"));

    m.def("pair_kernel_energy_cuda", [](const CArray<int8_t>& spins, const CArray<double>& kernel, double J,
                                        bool fp32) {
        auto [batch, L] = batch_shape(spins);
        if (kernel.ndim() != 2 || kernel.shape(0) != L || kernel.shape(1) != L)
            throw std::invalid_argument("kernel must be (L, L) float64");
        auto out = empty_result(batch);
        const int8_t* s = spins.data();
        const double* k = kernel.data();
        double* o = out.mutable_data();
        py::gil_scoped_release release;
        DeviceArray dk(k, sizeof(double) * L * L);
        cuda_chunked(s, batch, int64_t(L) * L, o, [&](const int8_t* in, int64_t count, double* dout) {
            pair_kernel_energy_cuda(in, count, L, dk.get<double>(), J, fp32, dout, 0);
        });
        return out;
    }, py::arg("spins"), py::arg("kernel"), py::arg("J"), py::arg("fp32"));

    m.def("pair_explicit_energy_cuda", [](const CArray<int8_t>& spins, const CArray<int32_t>& vectors,
                                          const CArray<double>& weights, int model, double k, double J, bool fp32) {
        auto [batch, L] = batch_shape(spins);
        const int64_t nv = vector_count(vectors);
        if (model == kTabulated && weights.size() != nv) throw std::invalid_argument("weights must be (n,) float64");
        auto out = empty_result(batch);
        const int8_t* s = spins.data();
        const int32_t* v = vectors.data();
        const double* w = weights.data();
        double* o = out.mutable_data();
        py::gil_scoped_release release;
        DeviceArray dv(v, sizeof(int32_t) * 2 * nv), dw(w, sizeof(double) * weights.size());
        cuda_chunked(s, batch, int64_t(L) * L, o, [&](const int8_t* in, int64_t count, double* dout) {
            pair_explicit_energy_cuda(in, count, L, dv.get<int32_t>(), dw.get<double>(), nv, model, k, J, fp32, dout, 0);
        });
        return out;
    }, py::arg("spins"), py::arg("vectors"), py::arg("weights"), py::arg("model"), py::arg("k"), py::arg("J"),
       py::arg("fp32"));

    // ---- CUDA, device pointers (CuPy arrays, no host round trip); launches on `stream` ----
    m.def("ising_energy_cuda_ptr", [](std::uintptr_t spins, int64_t batch, int L, double J, std::uintptr_t out,
                                      std::uintptr_t stream) {
        py::gil_scoped_release release;
        ising_energy_cuda(reinterpret_cast<const int8_t*>(spins), batch, L, J, reinterpret_cast<double*>(out), stream);
    });
    m.def("potts_energy_cuda_ptr", [](std::uintptr_t theta, int64_t batch, int L, double J, std::uintptr_t out,
                                      std::uintptr_t stream) {
        py::gil_scoped_release release;
        potts_energy_cuda(reinterpret_cast<const double*>(theta), batch, L, J, reinterpret_cast<double*>(out), stream);
    });
    m.def("pair_kernel_energy_cuda_ptr", [](std::uintptr_t spins, int64_t batch, int L, std::uintptr_t kernel, double J,
                                            bool fp32, std::uintptr_t out, std::uintptr_t stream) {
        py::gil_scoped_release release;
        pair_kernel_energy_cuda(reinterpret_cast<const int8_t*>(spins), batch, L,
                                reinterpret_cast<const double*>(kernel), J, fp32, reinterpret_cast<double*>(out),
                                stream);
    });
    m.def("pair_explicit_energy_cuda_ptr", [](std::uintptr_t spins, int64_t batch, int L, std::uintptr_t vectors,
                                              std::uintptr_t weights, int64_t n_vectors, int model, double k, double J,
                                              bool fp32, std::uintptr_t out, std::uintptr_t stream) {
        py::gil_scoped_release release;
        pair_explicit_energy_cuda(reinterpret_cast<const int8_t*>(spins), batch, L,
                                  reinterpret_cast<const int32_t*>(vectors), reinterpret_cast<const double*>(weights),
                                  n_vectors, model, k, J, fp32, reinterpret_cast<double*>(out), stream);
    });
}

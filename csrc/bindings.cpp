// The only pybind11 file: thin wrappers that check shapes, release the GIL and call the kernels.
// Physics validation (spin values, parameters) happens in Python, at the public boundary.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "engine.hpp"
#include "lattice.hpp"
#include "metropolis.hpp"
#include "multispin.hpp"
#include "philox.hpp"

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

// Calls of at least this many inner operations (~0.1 s) run interruptibly.
constexpr double kInterruptibleWork = 2e8;

// Runs `work(cancel)` with the GIL released. A long call (`operations` >= kInterruptibleWork) runs
// on a helper thread while this thread wakes every 50 ms, takes the GIL and runs Python's signal
// handlers: on Ctrl-C it sets `cancel`, waits for the kernel to stop at its next check (well
// under a second) and raises the KeyboardInterrupt here. Short calls run inline, without a thread.
template <typename Work>
void run_interruptible(double operations, Work&& work) {
    if (operations < kInterruptibleWork) {
        py::gil_scoped_release release;
        work(nullptr);
        return;
    }
    std::atomic<bool> cancel{false};
    bool interrupted = false;
    {
        py::gil_scoped_release release;
        std::packaged_task<void()> task([&] { work(&cancel); });
        auto finished = task.get_future();
        std::thread worker(std::move(task));
        while (finished.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
            py::gil_scoped_acquire acquire;
            if (PyErr_CheckSignals() != 0) {  // a handler raised (KeyboardInterrupt): stop the kernel
                cancel.store(true);
                interrupted = true;
                break;
            }
        }
        worker.join();
        if (!interrupted) finished.get();  // rethrows an exception of the kernel
    }
    if (interrupted) throw py::error_already_set();
}

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

// (B,) energies of a host (B, L, L) array: `launch(device_in, count, L, device_out)` runs per chunk
// with the GIL released.
template <typename T, typename Launch>
CArray<double> cuda_host_energies(const CArray<T>& configs, Launch launch) {
    auto [batch, L] = batch_shape(configs);
    auto out = empty_result(batch);
    const T* in = configs.data();
    double* o = out.mutable_data();
    py::gil_scoped_release release;
    cuda_chunked(in, batch, int64_t(L) * L, o,
                 [&, L = L](const T* d_in, int64_t count, double* d_out) { launch(d_in, count, L, d_out); });
    return out;
}

int64_t vector_count(const CArray<int32_t>& vectors) {
    if (vectors.ndim() != 2 || vectors.shape(1) != 2) throw std::invalid_argument("vectors must be (n, 2) int32");
    return vectors.shape(0);
}

}  // namespace


// ---- Monte Carlo helpers: the state arrays are updated in place, so they must arrive exactly as the
// kernels need them (no silent conversion into a temporary copy). ----
namespace {

template <typename T>
T* inout(const py::array& a, const char* name, std::initializer_list<int64_t> shape) {
    if (!a.dtype().is(py::dtype::of<T>()) || !(a.flags() & py::array::c_style) || !a.writeable())
        throw std::invalid_argument(std::string(name) + ": expected a writeable C-contiguous array of " +
                                    std::string(py::str(py::dtype::of<T>())) + ", got " +
                                    std::string(py::str(a.dtype())));
    if (a.ndim() != static_cast<py::ssize_t>(shape.size()))
        throw std::invalid_argument(std::string(name) + ": wrong number of dimensions");
    int i = 0;
    for (int64_t n : shape)
        if (a.shape(i++) != n) throw std::invalid_argument(std::string(name) + ": wrong shape");
    return static_cast<T*>(const_cast<void*>(a.data()));
}

py::array state_array(const py::object& state, const char* name) {
    py::object value = state.attr(name);
    if (!py::isinstance<py::array>(value))
        throw std::invalid_argument(std::string("state.") + name + ": expected an array");
    return value.cast<py::array>();
}

// Host-side view of a ChainState (deepspin/mc/state.py): spins of type Spin, energy of type Energy,
// magnet of type Magnet, the accumulators and the optional series. Every array is checked in place.
template <typename Spin, typename Energy, typename Magnet>
struct McArrays {
    Ensemble ens{};
    Spin* spins = nullptr;
    Energy* energy = nullptr;
    Magnet* magnet = nullptr;
    Measurements out{};

    McArrays(const py::object& state, int64_t chains_per_temperature) {
        const py::array s = state_array(state, "spins");
        if (s.ndim() != 3 || s.shape(1) != s.shape(2))
            throw std::invalid_argument("state.spins: expected a (chains, L, L) array");
        ens = Ensemble{s.shape(0), static_cast<int>(s.shape(1)), chains_per_temperature};
        if (chains_per_temperature < 1 || ens.chains % chains_per_temperature != 0)
            throw std::invalid_argument("chains must be a multiple of chains_per_temperature >= 1");
        const int64_t G = ens.chains;
        spins = inout<Spin>(s, "state.spins", {G, ens.L, ens.L});
        energy = inout<Energy>(state_array(state, "energy"), "state.energy", {G});
        magnet = inout<Magnet>(state_array(state, "magnet"), "state.magnet", {G});
        out.moments = inout<double>(state_array(state, "moments"), "state.moments", {G, 3});
        out.accepted = inout<int64_t>(state_array(state, "accepted"), "state.accepted", {G});
        const py::object se = state.attr("series_energy"), sm = state.attr("series_magnet");
        if (se.is_none() != sm.is_none())
            throw std::invalid_argument("state.series_energy and state.series_magnet: set both or neither");
        if (!se.is_none()) {
            const py::array e = se.cast<py::array>(), m = sm.cast<py::array>();
            if (e.ndim() != 2) throw std::invalid_argument("state.series_energy: expected (chains, count)");
            out.series_count = e.shape(1);
            out.series_energy = inout<double>(e, "state.series_energy", {G, out.series_count});
            out.series_magnet = inout<double>(m, "state.series_magnet", {G, out.series_count});
        }
    }
    int64_t temperatures() const { return ens.chains / ens.chains_per_temperature; }
    int64_t sites() const { return int64_t(ens.L) * ens.L; }
};

// Device copies of a call's arrays; `finish()` copies the updated ones back to the host.
template <typename Spin, typename Energy, typename Magnet>
struct DeviceMc {
    const McArrays<Spin, Energy, Magnet>& host;
    int64_t G, N;
    DeviceArray spins, energy, magnet, moments, accepted, series_energy, series_magnet;
    explicit DeviceMc(const McArrays<Spin, Energy, Magnet>& m)
        : host(m), G(m.ens.chains), N(m.sites()),
          spins(m.spins, sizeof(Spin) * G * N), energy(m.energy, sizeof(Energy) * G),
          magnet(m.magnet, sizeof(Magnet) * G), moments(m.out.moments, sizeof(double) * 3 * G),
          accepted(m.out.accepted, sizeof(int64_t) * G),
          // the whole series goes in and out: a call writes only its own measurements
          series_energy(m.out.series_energy, sizeof(double) * G * m.out.series_count),
          series_magnet(m.out.series_magnet, sizeof(double) * G * m.out.series_count) {}
    Measurements measurements() const {
        const bool series = host.out.series_energy != nullptr;
        return Measurements{moments.get<double>(), accepted.get<int64_t>(),
                            series ? series_energy.get<double>() : nullptr,
                            series ? series_magnet.get<double>() : nullptr, host.out.series_count};
    }
    void finish() const {
        cuda_copy_to_host(host.spins, spins.get<void>(), sizeof(Spin) * G * N);
        cuda_copy_to_host(host.energy, energy.get<void>(), sizeof(Energy) * G);
        cuda_copy_to_host(host.magnet, magnet.get<void>(), sizeof(Magnet) * G);
        cuda_copy_to_host(host.out.moments, moments.get<void>(), sizeof(double) * 3 * G);
        cuda_copy_to_host(host.out.accepted, accepted.get<void>(), sizeof(int64_t) * G);
        if (host.out.series_energy != nullptr) {
            const std::size_t bytes = sizeof(double) * G * host.out.series_count;
            cuda_copy_to_host(host.out.series_energy, series_energy.get<void>(), bytes);
            cuda_copy_to_host(host.out.series_magnet, series_magnet.get<void>(), bytes);
        }
    }
};

// Runs `on_host()` with the host arrays, or `on_device(d)` with device copies d of the state's arrays
// (copied back afterwards), with the GIL released.
template <typename Spin, typename Energy, typename Magnet, typename Host, typename Device>
void run_chains(bool cuda, const McArrays<Spin, Energy, Magnet>& a, Host on_host, Device on_device) {
    py::gil_scoped_release release;
    if (!cuda) {
        on_host();
        return;
    }
    const DeviceMc<Spin, Energy, Magnet> d(a);
    on_device(d);
    d.finish();
}

bool on_cuda(const std::string& device) {
    if (device != "cpu" && device != "cuda")
        throw std::invalid_argument("device must be 'cpu' or 'cuda', got '" + device + "'");
    return device == "cuda";
}

void check_betas(const CArray<double>& betas, int64_t T) {
    if (betas.ndim() != 1 || betas.shape(0) != T) throw std::invalid_argument("betas must be (n_temperatures,)");
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "deepspin compiled core: exact energies of 2-D lattice spin models (CPU/OpenMP and CUDA)";
    m.attr("__version__") = DEEPSPIN_VERSION;
    m.attr("CSRC_SHA256") = DEEPSPIN_CSRC_SHA256;
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
        const int64_t N = int64_t(L) * L;
        const double work = double(batch) * (L <= 64 ? double(N) * L : double(N) * N);
        run_interruptible(work, [&](const std::atomic<bool>* cancel) {
            pair_kernel_energy_cpu(s, batch, L, k, J, fp32, o, threads, cancel);
        });
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
        run_interruptible(double(batch) * L * L * nv, [&](const std::atomic<bool>* cancel) {
            pair_explicit_energy_cpu(s, batch, L, v, w, nv, model, k, J, fp32, o, threads, cancel);
        });
        return out;
    }, py::arg("spins"), py::arg("vectors"), py::arg("weights"), py::arg("model"), py::arg("k"), py::arg("J"),
       py::arg("fp32"), py::arg("threads"));

    // ---- CUDA, host (NumPy) arrays: copied to the device in bounded chunks ----
    m.def("ising_energy_cuda", [](const CArray<int8_t>& spins, double J) {
        return cuda_host_energies(spins, [&](const int8_t* in, int64_t count, int L, double* out) {
            ising_energy_cuda(in, count, L, J, out, 0);
        });
    }, py::arg("spins"), py::arg("J"));

    m.def("potts_energy_cuda", [](const CArray<double>& theta, double J) {
        return cuda_host_energies(theta, [&](const double* in, int64_t count, int L, double* out) {
            potts_energy_cuda(in, count, L, J, out, 0);
        });
    }, py::arg("theta"), py::arg("J"));

    m.def("pair_kernel_energy_cuda", [](const CArray<int8_t>& spins, const CArray<double>& kernel, double J,
                                        bool fp32) {
        const int L = batch_shape(spins).second;
        if (kernel.ndim() != 2 || kernel.shape(0) != L || kernel.shape(1) != L)
            throw std::invalid_argument("kernel must be (L, L) float64");
        DeviceArray dk(kernel.data(), sizeof(double) * L * L);
        return cuda_host_energies(spins, [&](const int8_t* in, int64_t count, int L_, double* out) {
            pair_kernel_energy_cuda(in, count, L_, dk.get<double>(), J, fp32, out, 0);
        });
    }, py::arg("spins"), py::arg("kernel"), py::arg("J"), py::arg("fp32"));

    m.def("pair_explicit_energy_cuda", [](const CArray<int8_t>& spins, const CArray<int32_t>& vectors,
                                          const CArray<double>& weights, int model, double k, double J, bool fp32) {
        const int64_t nv = vector_count(vectors);
        if (model == kTabulated && weights.size() != nv) throw std::invalid_argument("weights must be (n,) float64");
        DeviceArray dv(vectors.data(), sizeof(int32_t) * 2 * nv), dw(weights.data(), sizeof(double) * weights.size());
        return cuda_host_energies(spins, [&](const int8_t* in, int64_t count, int L, double* out) {
            pair_explicit_energy_cuda(in, count, L, dv.get<int32_t>(), dw.get<double>(), nv, model, k, J, fp32, out, 0);
        });
    }, py::arg("spins"), py::arg("vectors"), py::arg("weights"), py::arg("model"), py::arg("k"), py::arg("J"),
       py::arg("fp32"));

    // ---- CUDA, device pointers (CuPy arrays, no host round trip); launches on `stream` ----
    m.def("first_invalid_spin_cuda_ptr", [](std::uintptr_t spins, int64_t count, std::uintptr_t stream) {
        py::gil_scoped_release release;
        return first_invalid_spin_cuda(reinterpret_cast<const int8_t*>(spins), count, stream);
    }, py::arg("spins"), py::arg("count"), py::arg("stream"),
       "flat index of the first value that is not +-1 in device memory, or -1 (waits for the stream)");
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

    // ==== Monte Carlo (csrc/metropolis.hpp): Philox streams and the compiled proposal rules ====
    // Each rule advances a ChainState (deepspin/mc/state.py: spins, energy, magnet, moments, accepted,
    // series_energy, series_magnet) in place by plan.n_sweeps sweeps; rule caches come as keywords.
    m.def("philox_words", [](uint64_t seed, const CArray<int64_t>& chains, uint32_t purpose, uint64_t first_block,
                             int64_t n_blocks) {
        const int64_t G = chains.size();
        CArray<uint32_t> out({G, 4 * n_blocks});
        const int64_t* c = chains.data();
        uint32_t* o = out.mutable_data();
        py::gil_scoped_release release;
        for (int64_t g = 0; g < G; ++g)
            for (int64_t b = 0; b < n_blocks; ++b)
                philox_block(seed, static_cast<uint32_t>(c[g]), purpose, first_block + b, o + (g * n_blocks + b) * 4);
        return out;
    }, py::arg("seed"), py::arg("chains"), py::arg("purpose"), py::arg("first_block"), py::arg("n_blocks"),
       "Philox4x32-10 words of the streams (seed, chain, purpose): (len(chains), 4 * n_blocks) uint32");
    m.attr("SWEEP_STREAM") = int(kSweepStream);
    m.attr("INITIAL_STREAM") = int(kInitialStream);
    m.attr("LOCAL_STREAM") = int(kLocalStream);
    m.attr("ANGLE_STREAM") = int(kAngleStream);

    py::class_<SweepPlan>(m, "SweepPlan", "Which sweeps a Metropolis call runs and when it measures")
        .def(py::init([](uint64_t seed, int64_t sweep_start, int64_t n_sweeps, int64_t burn_in, int64_t interval) {
                 if (sweep_start < 0 || n_sweeps < 0 || burn_in < 0 || interval < 1)
                     throw std::invalid_argument(
                         "SweepPlan needs sweep_start >= 0, n_sweeps >= 0, burn_in >= 0, interval >= 1");
                 return SweepPlan{seed, sweep_start, n_sweeps, burn_in, interval};
             }),
             py::kw_only(), py::arg("seed"), py::arg("sweep_start"), py::arg("n_sweeps"), py::arg("burn_in"),
             py::arg("interval"))
        .def_readonly("seed", &SweepPlan::seed)
        .def_readonly("sweep_start", &SweepPlan::sweep_start)
        .def_readonly("n_sweeps", &SweepPlan::n_sweeps)
        .def_readonly("burn_in", &SweepPlan::burn_in)
        .def_readonly("interval", &SweepPlan::interval);

    m.def("pair_local_fields_cpu", [](const CArray<int8_t>& spins, const CArray<double>& matrix, double J,
                                      int threads) {
        auto [G, L] = batch_shape(spins);
        const int64_t N = int64_t(L) * L;
        if (matrix.ndim() != 2 || matrix.shape(0) != N || matrix.shape(1) != N)
            throw std::invalid_argument("matrix must be (N, N) float64");
        CArray<double> fields({G, N}), energy(G);  // fields(G, N), energy(G)
        const int8_t* s = spins.data();
        const double* mat = matrix.data();
        double* f = fields.mutable_data();
        double* e = energy.mutable_data();
        {
            py::gil_scoped_release release;
            pair_local_fields_cpu(s, G, static_cast<int>(N), mat, J, f, e, threads);
        }
        return py::make_tuple(fields, energy);
    }, py::arg("spins"), py::arg("matrix"), py::arg("J"), py::arg("threads"));

    m.def("metropolis_ising", [](const py::object& state, const SweepPlan& plan, const CArray<uint64_t>& thresholds,
                                 double J, int64_t chains_per_temperature, const std::string& device, int threads) {
        const McArrays<int8_t, int64_t, int64_t> a(state, chains_per_temperature);
        const int64_t T = a.temperatures();
        if (thresholds.ndim() != 2 || thresholds.shape(0) != T || thresholds.shape(1) != 5)
            throw std::invalid_argument("thresholds must be (n_temperatures, 5) uint64");
        const uint64_t* thr = thresholds.data();
        run_chains(on_cuda(device), a, [&] {
            metropolis_ising_cpu(a.ens, IsingChains{a.spins, a.energy, a.magnet}, IsingModel{thr, J}, plan, a.out,
                                 threads);
        }, [&](const auto& d) {
            const DeviceArray dthr(thr, sizeof(uint64_t) * 5 * T);
            metropolis_ising_cuda(a.ens, IsingChains{d.spins.template get<int8_t>(), d.energy.template get<int64_t>(),
                                                     d.magnet.template get<int64_t>()},
                                  IsingModel{dthr.get<uint64_t>(), J}, plan, d.measurements(), 0);
        });
    }, "Advance Ising chains in place by plan.n_sweeps sweeps (csrc/metropolis.hpp)", py::arg("state"),
       py::arg("plan"), py::kw_only(), py::arg("thresholds"), py::arg("J"), py::arg("chains_per_temperature"),
       py::arg("device") = "cpu", py::arg("threads") = 0);

    m.def("metropolis_pair", [](const py::object& state, const SweepPlan& plan, const py::array& fields,
                                const CArray<double>& matrix, const CArray<double>& betas, double J,
                                int64_t chains_per_temperature, const std::string& device, int threads) {
        const McArrays<int8_t, double, int64_t> a(state, chains_per_temperature);
        const int64_t N = a.sites(), G = a.ens.chains, T = a.temperatures();
        double* f = inout<double>(fields, "fields", {G, N});
        if (matrix.ndim() != 2 || matrix.shape(0) != N || matrix.shape(1) != N)
            throw std::invalid_argument("matrix must be (N, N) float64");
        check_betas(betas, T);
        const double* mat = matrix.data();
        const double* b = betas.data();
        run_chains(on_cuda(device), a, [&] {
            metropolis_pair_cpu(a.ens, PairChains{a.spins, f, a.energy, a.magnet}, PairModel{mat, b, J}, plan, a.out,
                                threads);
        }, [&](const auto& d) {
            const DeviceArray df(f, sizeof(double) * G * N), dmat(mat, sizeof(double) * N * N),
                dbeta(b, sizeof(double) * T);
            metropolis_pair_cuda(a.ens, PairChains{d.spins.template get<int8_t>(), df.get<double>(),
                                                   d.energy.template get<double>(), d.magnet.template get<int64_t>()},
                                 PairModel{dmat.get<double>(), dbeta.get<double>(), J}, plan, d.measurements(), 0);
            cuda_copy_to_host(f, df.get<void>(), sizeof(double) * G * N);
        });
    }, "Advance pair-kernel chains and their local fields in place (csrc/metropolis.hpp)", py::arg("state"),
       py::arg("plan"), py::kw_only(), py::arg("fields"), py::arg("matrix"), py::arg("betas"), py::arg("J"),
       py::arg("chains_per_temperature"), py::arg("device") = "cpu", py::arg("threads") = 0);

    m.def("metropolis_potts", [](const py::object& state, const SweepPlan& plan, const CArray<double>& betas,
                                 double J, int64_t chains_per_temperature, const std::string& device, int threads) {
        const McArrays<double, double, double> a(state, chains_per_temperature);
        const int64_t T = a.temperatures();
        check_betas(betas, T);
        const double* b = betas.data();
        run_chains(on_cuda(device), a, [&] {
            metropolis_potts_cpu(a.ens, PottsChains{a.spins, a.energy, a.magnet}, PottsModel{b, J}, plan, a.out,
                                 threads);
        }, [&](const auto& d) {
            const DeviceArray dbeta(b, sizeof(double) * T);
            metropolis_potts_cuda(a.ens, PottsChains{d.spins.template get<double>(), d.energy.template get<double>(),
                                                     d.magnet.template get<double>()},
                                  PottsModel{dbeta.get<double>(), J}, plan, d.measurements(), 0);
        });
    }, "Advance planar Potts chains (angles) in place by plan.n_sweeps sweeps (csrc/metropolis.hpp)",
       py::arg("state"), py::arg("plan"), py::kw_only(), py::arg("betas"), py::arg("J"),
       py::arg("chains_per_temperature"), py::arg("device") = "cpu", py::arg("threads") = 0);

    // ==== Multispin Ising Metropolis (csrc/multispin.hpp): 64 replicas per uint64 word ====
    m.def("multispin_simd_supported", &multispin_simd_supported, py::arg("simd"),
          "Whether this CPU runs multispin SIMD level `simd` (0 scalar, 1 AVX2, 2 AVX-512)");
    m.def("multispin_ising", [](py::array words, int L, const CArray<uint64_t>& masks, double J,
                                const SweepPlan& plan, py::array moments, py::array accepted,
                                py::object series_energy, py::object series_magnet, const std::string& device,
                                int threads, int simd) {
        if (words.ndim() != 2 || L < 2 || words.shape(0) != int64_t(L) * L)
            throw std::invalid_argument("words: expected an (L * L, W) uint64 array with L >= 2");
        if (accepted.ndim() != 1) throw std::invalid_argument("accepted: expected (replicas,) int64");
        const int64_t W = words.shape(1), R = accepted.shape(0), N = int64_t(L) * L;
        if (R > 64 * W || R <= 64 * (W - 1)) throw std::invalid_argument("words: W must be ceil(replicas / 64)");
        uint64_t* w = inout<uint64_t>(words, "words", {N, W});
        int64_t* mom = inout<int64_t>(moments, "moments", {4, R});
        int64_t* acc = inout<int64_t>(accepted, "accepted", {R});
        if (masks.ndim() != 2 || masks.shape(0) != 2 * kMultispinBits || masks.shape(1) != W)
            throw std::invalid_argument("masks must be (64, W) uint64");
        if (series_energy.is_none() != series_magnet.is_none())
            throw std::invalid_argument("series_energy and series_magnet: pass both or neither");
        double *se = nullptr, *sm = nullptr;
        int64_t count = 0;
        if (!series_energy.is_none()) {
            auto e = series_energy.cast<py::array>(), mg = series_magnet.cast<py::array>();
            if (e.ndim() != 2) throw std::invalid_argument("series_energy: expected (replicas, count)");
            count = e.shape(1);
            se = inout<double>(e, "series_energy", {R, count});
            sm = inout<double>(mg, "series_magnet", {R, count});
        }
        const bool cuda = on_cuda(device);
        if (!cuda && !multispin_simd_supported(simd))
            throw std::invalid_argument("this CPU does not support the requested multispin SIMD level");
        const uint64_t* mk = masks.data();
        py::gil_scoped_release release;
        if (!cuda) {
            multispin_ising_cpu(w, W, L, mk, J, plan, MultispinOut{R, mom, acc, se, sm, count}, threads, simd);
            return;
        }
        const DeviceArray dw(w, sizeof(uint64_t) * N * W), dm(mk, sizeof(uint64_t) * 2 * kMultispinBits * W),
            dmom(mom, sizeof(int64_t) * 4 * R), dacc(acc, sizeof(int64_t) * R), dse(se, sizeof(double) * R * count),
            dsm(sm, sizeof(double) * R * count);
        multispin_ising_cuda(dw.get<uint64_t>(), W, L, dm.get<uint64_t>(), J, plan,
                             MultispinOut{R, dmom.get<int64_t>(), dacc.get<int64_t>(), se ? dse.get<double>() : nullptr,
                                          sm ? dsm.get<double>() : nullptr, count},
                             0);
        cuda_copy_to_host(w, dw.get<void>(), sizeof(uint64_t) * N * W);
        cuda_copy_to_host(mom, dmom.get<void>(), sizeof(int64_t) * 4 * R);
        cuda_copy_to_host(acc, dacc.get<void>(), sizeof(int64_t) * R);
        if (se != nullptr) {
            cuda_copy_to_host(se, dse.get<void>(), sizeof(double) * R * count);
            cuda_copy_to_host(sm, dsm.get<void>(), sizeof(double) * R * count);
        }
    }, "Advance multispin Ising words and their per-replica sums in place by plan.n_sweeps sweeps "
       "(csrc/multispin.hpp); simd: 0 scalar, 1 AVX2, 2 AVX-512 (CPU)", py::arg("words"), py::arg("L"),
       py::arg("masks"), py::arg("J"), py::arg("plan"), py::kw_only(), py::arg("moments"), py::arg("accepted"),
       py::arg("series_energy") = py::none(), py::arg("series_magnet") = py::none(), py::arg("device") = "cpu",
       py::arg("threads") = 0, py::arg("simd") = 0);
}

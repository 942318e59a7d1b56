"""Fast batch inference of a surrogate: one compiled function per input size, int8 spins in.

:class:`Predictor` is what :func:`deepspin.surrogate.load` runs behind ``energy(configs)``. It

- builds, once per lattice size ``L``, a Keras model that takes the spins as stored (``int8``
  ``(B, L, L)``; the cast to float happens inside the compiled graph, not on the host);
- for an extensive model (:mod:`.extensive`) *lowers* it first (:func:`lower_extensive`): on a
  fixed ``L x L`` torus a circularly padded convolution is a linear map of the flattened
  ``(L * L * C_in)`` input, i.e. a dense matrix with circulant blocks, and for small ``L`` one
  matrix product (GEMM) with that matrix is far cheaper to run than a one-channel convolution
  with its padding copies. The lowered model computes the same function with the same weights
  (float32 round-off only);
- runs it in ONNX Runtime, or in the compiled prediction of the active Keras backend (TensorFlow: a traced graph, reused
  for every call of any batch size; JAX: ``jax.jit`` of the stateless call, batches padded to
  a power of two so that at most ``log2(batch)`` shapes are ever traced) in chunks of
  ``batch_size`` configurations;
- on the GPU under JAX, takes CuPy or JAX device arrays and returns a device array of the same
  library, without a host round trip (DLPack);
- optionally runs in ``bfloat16`` (``precision="bfloat16"``): weights and activations in bf16,
  the lattice sum in float32. Use it only where a test shows the median error staying within
  1 % of the float32 model's.

Runtimes (``runtime=``): ONNX Runtime on the CPU (the lowered extensive graph is written
directly with ``onnx``, other models are exported by Keras through ``tf2onnx``), or the Keras
backend's compiled predict. ``"auto"`` takes ONNX Runtime for lowered extensive models, the
Keras backend otherwise (and always under JAX on the GPU machine, where device arrays stay on
the device); ``bench/speedup.py`` measures both runtimes for every shipped surrogate.
"""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from .extensive import PAIR_LAYER, is_extensive
from .layers import PeriodicPad2D

RUNTIMES = ("auto", "onnxruntime", "keras")
PRECISIONS = ("float32", "bfloat16")

#: IR version of the ONNX graphs built here (:func:`lowered_onnx`): 8, that of ONNX 1.12, which brought
#: opset 17. The onnx library's own default is newer than some ONNX Runtime builds read (onnx 1.23 writes
#: IR 14; the H200 machine's ONNX Runtime 1.30 reads up to 13).
ONNX_IR_VERSION = 8

#: Lattices up to this many sites are lowered to dense matrices (the matrix of one layer has
#: ``(N * C_in) x (N * C_out)`` entries, so the cost grows as ``N^2``; beyond it the
#: convolutions run as they are).
MAX_LOWERED_SITES = 256


def lowered_stages(model, L: int) -> dict:
    """The matrices of :func:`lower_extensive`: ``{"convs", "head", "pair"}`` (float32 NumPy arrays).

    ``convs``: ``[(matrix (N*C_in, N*C_out), bias (N*C_out,), activation name)]`` of the
    circularly padded convolutions on the flattened map; ``head``: ``[(kernel (C_in, C_out),
    bias (C_out,), activation name)]`` of the 1x1 layers (the last is ``field``, width 1);
    ``pair``: the ``(N, N)`` matrix of the linear pair convolution.
    """
    if not is_extensive(model):
        raise ValueError(f"lower_extensive: model {model.name!r} is not an extensive surrogate")
    N = L * L
    pad_before = _paddings(model)
    stages = {"convs": [], "head": [], "pair": None}
    for layer in model.layers:
        if not isinstance(layer, keras.layers.Conv2D):
            continue
        kernel, *bias = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
        activation = keras.activations.serialize(layer.activation)
        activation = activation if isinstance(activation, str) else activation.get("config", {}).get("name", "?")
        if layer.name == PAIR_LAYER:
            stages["pair"] = _circulant_matrix(kernel, layer.dilation_rate[0], pad_before[layer.name], L)
        elif layer.kernel_size == (1, 1):
            stages["head"].append((kernel[0, 0], bias[0], activation))
        else:
            matrix = _circulant_matrix(kernel, layer.dilation_rate[0], pad_before[layer.name], L)
            stages["convs"].append((matrix, np.tile(bias[0], N), activation))
    return stages


def lower_extensive(model, L: int, dtype: str = "float32", sites: bool = False, name: str | None = None) -> keras.Model:
    """The extensive model ``model`` on a fixed ``L x L`` torus as dense layers: ``int8 (B, L, L) -> (B, 1)``.

    With ``sites=True`` the output is the per-site energies ``(B, L * L)`` (row-major) instead of their sum.

    Layer by layer (names of :func:`.extensive.build_extensive`): every circularly padded
    convolution ``conv{i}`` (and the linear ``pair`` convolution) becomes a ``Dense`` layer on
    the flattened map, with matrix ``M[(r', c', ci), (r, c, co)] = sum W[a, b, ci, co]`` over
    the kernel taps ``(a, b)`` that land on ``(r', c') = (r + a d - p, c + b d - p) mod L``; the
    1x1 convolutions (``site_dense{j}``, ``field``) become per-site ``Dense`` layers. Then, as in
    the original, ``e = s * (pair + field)`` and ``E = sum_sites e`` (accumulated in float32).
    """
    stages = lowered_stages(model, L)
    N = L * L
    inputs = keras.Input(shape=(L, L), dtype="int8", name="spins")
    spins = keras.layers.Reshape((N,), name="flat")(ops.cast(inputs, dtype))
    x = spins
    for i, (matrix, bias, activation) in enumerate(stages["convs"]):
        dense = keras.layers.Dense(matrix.shape[1], activation=activation, dtype=dtype, name=f"lowered_conv{i}")
        x = dense(x)
        dense.set_weights([matrix, bias])
    x = keras.layers.Reshape((N, stages["head"][0][0].shape[0]), name="sites")(x)
    for j, (kernel, bias, activation) in enumerate(stages["head"]):
        dense = keras.layers.Dense(kernel.shape[1], activation=activation, dtype=dtype, name=f"lowered_head{j}")
        x = dense(x)
        dense.set_weights([kernel, bias])
    correction = keras.layers.Reshape((N,), name="field_flat")(x)
    pair = keras.layers.Dense(N, use_bias=False, dtype=dtype, name=f"lowered_{PAIR_LAYER}")
    phi = pair(spins) + correction
    pair.set_weights([stages["pair"]])
    site_energies = ops.cast(spins * phi, "float32")
    outputs = site_energies if sites else ops.sum(site_energies, axis=-1, keepdims=True)
    return keras.Model(inputs, outputs, name=name or f"{model.name}_lowered_L{L}{'_sites' if sites else ''}")


def lowered_onnx(model, L: int, sites: bool = False) -> bytes:
    """The lowered extensive model (:func:`lowered_stages`) as a serialized ONNX graph, ``int8 (B, L, L) -> (B, 1)``.

    With ``sites=True`` the output is the per-site energies ``(B, L * L)`` instead of their sum.

    Built node by node (Cast, Reshape, MatMul, Add, Relu, Mul, ReduceSum; opset 17), so it
    needs only the ``onnx`` package, under any Keras backend. Raises ``ValueError`` for an
    activation other than ReLU or linear.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    stages = lowered_stages(model, L)
    N = L * L
    nodes, inits = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def dense(x, matrix, bias, activation, tag):
        if activation not in ("relu", "linear"):
            raise ValueError(f"lowered_onnx: activation {activation!r} has no ONNX lowering here (relu or linear)")
        nodes.append(helper.make_node("MatMul", [x, const(f"{tag}_w", matrix)], [f"{tag}_mm"]))
        out = f"{tag}_mm"
        if bias is not None:
            nodes.append(helper.make_node("Add", [out, const(f"{tag}_b", bias)], [f"{tag}_add"]))
            out = f"{tag}_add"
        if activation == "relu":
            nodes.append(helper.make_node("Relu", [out], [f"{tag}_relu"]))
            out = f"{tag}_relu"
        return out

    nodes.append(helper.make_node("Cast", ["spins"], ["spins_f"], to=TensorProto.FLOAT))
    nodes.append(helper.make_node("Reshape", ["spins_f", const("flat_shape", np.array([-1, N], np.int64))], ["s"]))
    x = "s"
    for i, (matrix, bias, activation) in enumerate(stages["convs"]):
        x = dense(x, matrix, bias, activation, f"conv{i}")
    channels = stages["head"][0][0].shape[0]
    nodes.append(helper.make_node("Reshape", [x, const("site_shape", np.array([-1, channels], np.int64))], ["sites"]))
    x = "sites"
    for j, (kernel, bias, activation) in enumerate(stages["head"]):
        x = dense(x, kernel, bias, activation, f"head{j}")
    nodes.append(helper.make_node("Reshape", [x, "flat_shape"], ["correction"]))
    pair = dense("s", stages["pair"], None, "linear", "pair")
    nodes.append(helper.make_node("Add", [pair, "correction"], ["phi"]))
    if sites:
        nodes.append(helper.make_node("Mul", ["s", "phi"], ["energy"]))
    else:
        nodes.append(helper.make_node("Mul", ["s", "phi"], ["e"]))
        nodes.append(helper.make_node("ReduceSum", ["e", const("axes", np.array([1], np.int64))], ["energy"],
                                      keepdims=1))
    graph = helper.make_graph(
        nodes, f"{model.name}_lowered_L{L}",
        [helper.make_tensor_value_info("spins", TensorProto.INT8, ["B", L, L])],
        [helper.make_tensor_value_info("energy", TensorProto.FLOAT, ["B", N if sites else 1])], inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="deepspin",
                              ir_version=ONNX_IR_VERSION)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def _paddings(model) -> dict:
    """Leading circular padding (rows = columns) that precedes each convolution of ``model``."""
    pads = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            source = layer.input._keras_history.operation if hasattr(layer.input, "_keras_history") else None
            if isinstance(source, PeriodicPad2D):
                (top, _), (left, _) = source.padding
                if top != left:
                    raise ValueError(f"lower_extensive: padding of {source.name} is not square ({source.padding})")
                pads[layer.name] = top
            else:
                pads[layer.name] = 0
    return pads


def _circulant_matrix(kernel: np.ndarray, dilation: int, pad: int, L: int) -> np.ndarray:
    """Dense matrix ``(L*L*C_in, L*L*C_out)`` of a circularly padded ``valid`` convolution on an ``L x L`` torus.

    Output site ``(r, c)`` reads input site ``((r + a * dilation - pad) mod L, (c + b * dilation - pad) mod L)``
    through tap ``kernel[a, b]``; taps that wrap onto the same input site add up.
    """
    kh, kw, c_in, c_out = kernel.shape
    matrix = np.zeros((L, L, c_in, L, L, c_out), dtype=np.float64)
    rows = np.arange(L)
    for a in range(kh):
        src_r = (rows + a * dilation - pad) % L
        for b in range(kw):
            src_c = (rows + b * dilation - pad) % L
            # matrix[src_r[r], src_c[c], :, r, c, :] += kernel[a, b] for every output site (r, c)
            np.add.at(matrix, (src_r[:, None], src_c[None, :], slice(None), rows[:, None], rows[None, :], slice(None)),
                      kernel[a, b].astype(np.float64))
    return matrix.reshape(L * L * c_in, L * L * c_out).astype(np.float32)


def with_int8_input(model, L: int, dtype: str = "float32") -> keras.Model:
    """``model`` (float ``(B, L, L)`` input) behind an ``int8`` input cast inside the graph."""
    inputs = keras.Input(shape=(L, L), dtype="int8", name="spins")
    x = ops.cast(inputs, dtype)
    if dtype != "float32":
        model = _clone_in(model, dtype)
    return keras.Model(inputs, ops.cast(model(x), "float32"), name=f"{model.name}_int8")


def _clone_in(model, dtype: str) -> keras.Model:
    """A copy of ``model`` whose layers compute in ``dtype`` (weights cast), for reduced precision."""
    def clone(layer):
        config = layer.get_config()
        config["dtype"] = dtype
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


class Predictor:
    """Compiled batch prediction of ``model`` on ``int8`` spins: ``predictor(spins) -> float32 (B, out)``.

    Args:
        model: a Keras surrogate taking ``(B, L, L)`` (extensive models: any ``L``).
        batch_size: configurations per compiled call (8x8 lattices; larger ones in batches of equal work).
        runtime: ``"onnxruntime"`` (CPU), ``"keras"`` (the Keras backend's compiled predict: a
            TensorFlow graph, or ``jax.jit``) or ``"auto"``: ONNX Runtime for a lowered extensive
            model where ``onnxruntime`` is installed (its graph is built directly, in
            milliseconds), the Keras backend otherwise (a model that Keras must export through
            ``tf2onnx``, seconds per lattice size, runs in ONNX Runtime only when asked for).
            ``runtime_for(L)`` says which one runs.
        precision: ``"float32"`` or ``"bfloat16"`` (Keras runtime only; see the module docstring).
        lower: lower extensive models to dense layers for ``L * L <= MAX_LOWERED_SITES`` (default True).
        output: ``"model"`` (the model's output ``(B, out)``) or ``"sites"`` (an extensive model's
            per-site energies ``(B, L, L)``, for the sublattice Monte Carlo rule).
    """

    def __init__(self, model, batch_size: int = 65536, runtime: str = "auto", precision: str = "float32",
                 lower: bool = True, output: str = "model") -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if output not in ("model", "sites") or (output == "sites" and not is_extensive(model)):
            raise ValueError(f"output must be 'model' or, for an extensive model, 'sites'; got {output!r}")
        if precision != "float32" and runtime == "onnxruntime":
            raise ValueError("precision='bfloat16' runs on the Keras runtime only; pass runtime='keras'")
        self.model, self.batch_size, self.precision, self.lower = model, batch_size, precision, bool(lower)
        self.requested_runtime, self.output = runtime, output
        self.backend = keras.backend.backend()
        self._compiled: dict = {}

    def __repr__(self) -> str:
        return (f"Predictor(model={self.model.name!r}, runtime={self.requested_runtime!r}, backend={self.backend!r}, "
                f"precision={self.precision!r}, batch_size={self.batch_size})")

    def step(self, L: int) -> int:
        """Configurations per compiled call at lattice size ``L`` (equal work: ``batch_size * 64 / L^2``)."""
        return max(1, self.batch_size * 64 // (L * L))

    def lowered(self, L: int) -> bool:
        """Whether size ``L`` runs the dense lowering of an extensive model."""
        return self.lower and is_extensive(self.model) and L * L <= MAX_LOWERED_SITES

    def fixed_model(self, L: int) -> keras.Model:
        """The Keras model that runs for size ``L``: lowered (extensive, small ``L``) or the original, int8 in."""
        sites = self.output == "sites"
        if self.lowered(L):
            return lower_extensive(self.model, L, dtype=self.precision, sites=sites)
        if sites:
            from .extensive import site_model

            return with_int8_input(site_model(self.model), L, dtype=self.precision)
        return with_int8_input(self.model, L, dtype=self.precision)

    def runtime_for(self, L: int) -> str:
        """The runtime that serves size ``L`` (``"onnxruntime"`` or ``"keras"``), compiling it if needed."""
        return self._function(L)[0]

    def __call__(self, spins) -> np.ndarray:
        """Predictions for validated ``int8`` spins ``(B, L, L)`` (NumPy, CuPy or JAX): float32 ``(B, out)``,
        or ``(B, L, L)`` per-site energies with ``output="sites"``."""
        B, L = int(spins.shape[0]), int(spins.shape[1])
        device = _device_kind(spins)
        if device != "numpy":
            return self._device_call(spins, device, L)
        if B == 0:
            return np.zeros(self._shape(0, L), np.float32)
        _, fn = self._function(L)
        step = self.step(L)
        parts = [np.asarray(fn(spins[start:start + step])) for start in range(0, B, step)]
        return np.concatenate(parts).astype(np.float32, copy=False).reshape(self._shape(B, L))

    def _shape(self, B: int, L: int) -> tuple:
        return (B, L, L) if self.output == "sites" else (B, int(self.model.output_shape[-1]))

    @property
    def traces(self) -> int:
        """Graphs traced or built so far, over all sizes (one per size: repeated calls of any batch add none)."""
        total = 0
        for entry in self._compiled.values():
            fn = entry[1] if isinstance(entry, tuple) else entry
            total += fn.traces()
        return total

    def _function(self, L: int):
        entry = self._compiled.get(L)
        if entry is None:
            entry = self._compiled[L] = self._compile(L)
        return entry

    def _compile(self, L: int):
        runtime = self.requested_runtime
        if runtime == "auto":
            runtime = "onnxruntime" if self.precision == "float32" and self.lowered(L) and _onnx_ready() \
                and not _on_gpu() else "keras"
        if runtime == "onnxruntime":
            return runtime, _OnnxFunction(self._onnx_bytes(L))
        model = self.fixed_model(L)
        if self.backend == "jax":
            return runtime, _JaxFunction(model)
        if self.backend == "tensorflow":
            return runtime, _TensorFlowFunction(model, L)
        return runtime, _KerasFunction(model)

    def _onnx_bytes(self, L: int) -> bytes:
        if self.lowered(L):
            return lowered_onnx(self.model, L, sites=self.output == "sites")
        if self.backend != "tensorflow":
            raise ValueError(f"runtime='onnxruntime' for {self.model.name!r} needs Keras' ONNX export (tf2onnx), i.e. "
                             f"KERAS_BACKEND=tensorflow; this process runs {self.backend}. Use runtime='keras' (or "
                             "'auto'); only lowered extensive models build their ONNX graph without TensorFlow")
        return keras_to_onnx(self.fixed_model(L))

    def _device_call(self, spins, device: str, L: int):
        if self.backend != "jax":
            raise ValueError(f"device arrays ({device}) need KERAS_BACKEND=jax; this process runs {self.backend}. "
                             "Pass a NumPy array, or run under JAX")
        import jax.dlpack
        import jax.numpy as jnp

        entry = self._compiled.get(("device", L))
        if entry is None:
            entry = self._compiled[("device", L)] = _JaxFunction(self.fixed_model(L))
        x = jax.dlpack.from_dlpack(spins) if device == "cupy" else spins
        step = self.step(L)
        parts = [entry.device(x[start:start + step]) for start in range(0, int(x.shape[0]), step)]
        out = jnp.concatenate(parts) if parts else jnp.zeros((0,), jnp.float32)
        out = out.reshape(self._shape(int(x.shape[0]), L))
        if device == "cupy":
            import cupy

            return cupy.from_dlpack(out)
        return out


def keras_to_onnx(model) -> bytes:
    """``model`` exported to ONNX by Keras (TensorFlow backend, ``tf2onnx``), as bytes."""
    import tempfile
    import warnings
    from pathlib import Path

    # Keras exports only a model that has been called.
    model.predict_on_batch(np.ones((1, *model.input_shape[1:]), dtype=model.inputs[0].dtype))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tf2onnx's NumPy 2 deprecations are not ours to fix
            model.export(str(path), format="onnx", verbose=False)
        return path.read_bytes()


def _onnx_ready() -> bool:
    """Whether ONNX Runtime and ``onnx`` (to build the lowered graph) are installed."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def _on_gpu() -> bool:
    """Whether the Keras backend computes on a GPU here (then its compiled predict serves, not ONNX Runtime's CPU).

    JAX is asked directly; for TensorFlow and PyTorch a CUDA device counted by deepspin's own
    core stands in (asking TensorFlow would initialise CUDA and print driver errors on a CPU-only
    machine).
    """
    if keras.backend.backend() == "jax":
        import jax

        return jax.default_backend() != "cpu"
    from deepspin.backends.compiled import cuda_status

    return cuda_status()[0]


class _OnnxFunction:
    """An ONNX Runtime CPU session of one graph (``int8 (B, L, L)`` in, ``float32 (B, out)`` out).

    Data-parallel over the cores: the session runs single-threaded and without spin-waiting, and a
    thread pool (one worker per core, ``DEEPSPIN_NUM_THREADS`` if set) runs pieces of
    ``PIECE`` configurations concurrently (ONNX Runtime releases the GIL). Measured on the
    shared 2-core Xeon, this used 1.4-1.6M configurations per CPU-second on the fast model where
    ONNX Runtime's own two spinning intra-op threads used 0.6-0.9M and TensorFlow 0.9-1.1M.
    """

    PIECE = 2048

    def __init__(self, graph: bytes) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: no optimizer notes in benchmark output
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.workers = _worker_count()
        self._pool = None

    def traces(self) -> int:
        return 1

    def _run(self, x):
        return self.session.run(None, {self.input: x})[0]

    def __call__(self, x):
        x = np.ascontiguousarray(x, dtype=np.int8)
        pieces = [x[i:i + self.PIECE] for i in range(0, len(x), self.PIECE)]
        if self.workers == 1 or len(pieces) == 1:
            return np.concatenate([self._run(p) for p in pieces])
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="deepspin-onnx")
        return np.concatenate(list(self._pool.map(self._run, pieces)))


def _worker_count() -> int:
    """Threads for data-parallel inference: ``DEEPSPIN_NUM_THREADS`` if set (a positive integer), else the cores."""
    import os

    value = os.environ.get("DEEPSPIN_NUM_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"DEEPSPIN_NUM_THREADS must be a positive integer, got {value!r}")
        return int(value)
    return os.cpu_count() or 1

class _KerasFunction:
    """Keras' ``predict_on_batch`` of a fixed model (the PyTorch backend, which traces nothing)."""

    def __init__(self, model) -> None:
        self.model = model

    def traces(self) -> int:
        return 1

    def __call__(self, x):
        return np.asarray(self.model.predict_on_batch(x))


class _TensorFlowFunction:
    """One TensorFlow graph of the model's forward pass with input signature ``int8 (None, L, L)``.

    Keras' own ``predict_on_batch`` retraces for every new batch shape (a Monte Carlo loop or
    the last partial chunk triggers TensorFlow's retracing warnings); a fixed signature with an
    unknown batch dimension is traced exactly once.
    """

    def __init__(self, model, L: int) -> None:
        import tensorflow as tf

        self.model = model
        self._fn = tf.function(lambda x: model(x, training=False),
                               input_signature=[tf.TensorSpec([None, L, L], tf.int8)])

    def traces(self) -> int:
        return int(self._fn.experimental_get_tracing_count())

    def __call__(self, x):
        return self._fn(x).numpy()


class _JaxFunction:
    """``jax.jit`` of the model's stateless call; batches padded to a power of two (bounded retracing).

    Traced at float32 matrix precision: XLA's default on NVIDIA GPUs (TF32 tensor cores, a 10-bit
    mantissa) moved the fast model's energies by up to 6e-4 relative on an H200 (0.017 J at -22 J,
    for a model exact to 2.5e-6 J) and changed with the batch size; the operator must be the float32
    model on every device.
    """

    def __init__(self, model) -> None:
        import jax

        self.model = model
        # Copies: under JAX, model.predict may invalidate the variables' buffers (FACTS.md).
        self.trainable = [jax.numpy.array(v.value) for v in model.trainable_variables]
        self.non_trainable = [jax.numpy.array(v.value) for v in model.non_trainable_variables]

        def call(trainable, non_trainable, x):
            y, _ = model.stateless_call(trainable, non_trainable, x, training=False)
            return y

        self._jit = jax.jit(call)
        self._shapes: set = set()

    def traces(self) -> int:
        return len(self._shapes)

    def device(self, x):
        import jax
        import jax.numpy as jnp

        n = int(x.shape[0])
        size = 1 << max(0, math.ceil(math.log2(max(n, 1))))
        if size != n:
            x = jnp.concatenate([x, jnp.ones((size - n, *x.shape[1:]), x.dtype)])
        self._shapes.add(size)
        with jax.default_matmul_precision("float32"):
            return self._jit(self.trainable, self.non_trainable, x)[:n]

    def __call__(self, x):
        return np.asarray(self.device(x))


def _device_kind(array) -> str:
    """``"numpy"``, ``"cupy"`` or ``"jax"`` from the array's type (without importing either library)."""
    module = type(array).__module__.split(".")[0]
    if module == "cupy":
        return "cupy"
    if module in ("jax", "jaxlib"):
        return "jax"
    return "numpy"

"""A trained surrogate as an energy operator: ``energy(configs) -> float64 (B,)``.

The object maps a ``(B, L, L)`` batch (or one ``(L, L)`` configuration) to energies in units of
J, like :meth:`deepspin.Hamiltonian.energy`, so the Monte Carlo engine's generic path and the
benchmarks accept it in place of an exact Hamiltonian. A classifier returns the energy level of
its most probable class (``deepspin.class_to_energy``); a regressor its output.

Inference goes through :class:`.inference.Predictor` (the fast path): spins are validated once
at this boundary (exactly +1/-1 for every model but the planar Potts one, SPEC section 1; the
first bad index is named), passed on as ``int8`` and run by a compiled function per lattice size
(ONNX Runtime on the CPU, the Keras backend's compiled predict otherwise). Planar-Potts models
take validated float angles through Keras' ``predict_on_batch``.
"""
from __future__ import annotations

import numpy as np

from deepspin.observables import class_to_energy

from deepspin.validation import check_angles, check_spins

from . import model_io
from .inference import Predictor
from .targets import TARGETS, angles_in_domain


class SurrogateOperator:
    """A ``.keras`` surrogate with its metadata (target, L, Hamiltonian, training data).

    Base of :class:`EnergySurrogate` and :class:`MagnetizationSurrogate`; :func:`load` picks one.
    """

    def __init__(self, model, metadata: dict, batch_size: int = 8192, runtime: str = "auto",
                 precision: str = "float32") -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        shape = tuple(model.input_shape[1:])
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"a surrogate takes (B, L, L) inputs; this model takes {model.input_shape}")
        # L is None for a size-agnostic (extensive) model: it takes any L.
        self.model, self.batch_size, self.L = model, batch_size, None if shape[0] is None else int(shape[0])
        self.metadata = dict(metadata)
        self.target = self.metadata.get("target") or ("class" if model.output_shape[-1] > 1 else None)
        if self.target not in TARGETS:
            raise ValueError("the model file carries no deepspin metadata saying what it predicts; "
                             "pass target='energy' or 'magnetization' to deepspin.surrogate.load")
        if self.L is not None and int(self.metadata.get("L", self.L)) != self.L:
            raise ValueError(f"metadata says L={self.metadata['L']} but the model takes {shape} inputs")
        self.predictor = Predictor(model, batch_size=batch_size, runtime=runtime, precision=precision)
        if precision != "float32":
            self._check_reduced_precision()

    @property
    def hamiltonian(self) -> str | None:
        """Name of the Hamiltonian whose data trained the model (``None`` if unknown)."""
        return self.metadata.get("hamiltonian")

    def __repr__(self) -> str:
        return f"SurrogateOperator(target={self.target!r}, L={self.L}, hamiltonian={self.hamiltonian!r})"

    #: Reduced precision is accepted when its median |error| is at most this factor of float32's.
    PRECISION_TOLERANCE = 1.01

    def _check_reduced_precision(self, n: int = 4096, seed: int = 0) -> None:
        """Refuse reduced precision unless the median |error| stays within 1 % of the float32 model's.

        Both are measured against the exact energies (the Hamiltonian named in the metadata) of
        ``n`` uniform random configurations; a ``ValueError`` gives both medians.
        """
        from deepspin.hamiltonians import hamiltonian

        name, params = self.hamiltonian, dict(self.metadata.get("params") or {})
        L = self.L or int(self.metadata.get("L") or 0)
        if self.target != "energy" or name is None or name == "potts" or not L:
            raise ValueError(f"precision={self.predictor.precision!r} needs an energy model of a named +-1 "
                             f"Hamiltonian to check its accuracy against; this model has target {self.target!r}, "
                             f"hamiltonian {name!r}, L {L}")
        spins = np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), size=(n, L, L))
        exact = np.asarray(hamiltonian(name, L, **params).energy(spins), dtype=np.float64)
        reference = Predictor(self.model, batch_size=self.predictor.batch_size, runtime="keras")
        full = float(np.median(np.abs(reference(spins)[:, 0] - exact)))
        reduced = float(np.median(np.abs(self.predictor(spins)[:, 0] - exact)))
        self.precision_check = {"n": n, "float32_median_abs_error": full, "reduced_median_abs_error": reduced}
        if reduced > self.PRECISION_TOLERANCE * full:
            raise ValueError(f"precision={self.predictor.precision!r} raises this model's median |error| from "
                             f"{full:.4g} J (float32) to {reduced:.4g} J on {n} uniform configurations, more than "
                             f"1 %; use precision='float32'")

    @property
    def takes_angles(self) -> bool:
        """Whether inputs are planar-Potts angles (a ``potts`` model) rather than +1/-1 spins."""
        return self.hamiltonian == "potts"

    def predict(self, configs) -> np.ndarray:
        """The model's prediction for each configuration: int64 classes or float64 values ``(B,)``.

        Spins must be exactly +1/-1 (any integer or float dtype) unless the model is a planar-Potts
        one, which takes finite angles, brought into its training domain ``[0, pi)`` by the changes that
        leave the exact energy unchanged or refused (:func:`.targets.angles_in_domain`); anything else
        is a ``ValueError`` naming the first bad index.
        """
        if self.takes_angles:
            x, _ = check_angles(configs)
            self._check_size(x.shape[1])
            x = angles_in_domain(x).astype(np.float32)
            step = self._step(x.shape[1])
            parts = [np.asarray(self.model.predict_on_batch(x[i:i + step])) for i in range(0, len(x), step)]
            y = np.concatenate(parts) if parts else np.zeros((0, self.model.output_shape[-1]), np.float32)
        else:
            x, _ = check_spins(configs)
            self._check_size(x.shape[1])
            y = self.predictor(x)
        if self.target == "class":
            return y.argmax(axis=-1).astype(np.int64)
        return y.reshape(-1).astype(np.float64)

    def _check_size(self, L: int) -> None:
        if L != self.L:
            raise ValueError(f"this surrogate has L={self.L} and takes only its training size "
                             f"({self.metadata.get('arch', 'paper')} architecture); got configurations with L={L}. "
                             "Another L needs retraining, or an extensive model (deepspin train --arch extensive)")

    def _step(self, L: int) -> int:
        return self.batch_size

    def _scalar_or_batch(self, values, configs):
        return float(values[0]) if np.ndim(configs) == 2 else values


class EnergySurrogate(SurrogateOperator):
    """A classifier or energy regressor: ``energy(configs)`` and ``op(configs)`` in units of J.

    It has no ``magnetization`` method, so the Monte Carlo engine measures ``|m|`` from the spins.
    """

    def energy(self, configs):
        """Predicted energies (units of J): float64 ``(B,)``, or a float for one ``(L, L)`` configuration."""
        y = self.predict(configs)
        return self._scalar_or_batch(class_to_energy(y, self.L) if self.target == "class" else y, configs)

    __call__ = energy


class MagnetizationSurrogate(SurrogateOperator):
    """A magnetization regressor: ``magnetization(configs)`` per site (not an energy operator)."""

    def magnetization(self, configs):
        """Predicted magnetization per site: float64 ``(B,)``, or a float for one configuration."""
        return self._scalar_or_batch(self.predict(configs), configs)


class ExtensiveSurrogate(EnergySurrogate):
    """An extensive energy model (:mod:`.extensive`): any ``L``, per-site energies, a receptive radius.

    ``L`` is ``None``; ``train_sizes`` (from the metadata) are the sizes it was trained on.
    ``batch_size`` counts 8x8 lattices: larger ones go in batches of equal work (sites).
    """

    def __init__(self, model, metadata: dict, batch_size: int = 8192, runtime: str = "auto",
                 precision: str = "float32") -> None:
        from .extensive import min_lattice, receptive_radius

        super().__init__(model, metadata, batch_size, runtime, precision)
        if self.target != "energy":
            raise ValueError(f"an extensive model predicts energies; its metadata says target {self.target!r}")
        self.receptive_radius = receptive_radius(model)
        self.site_predictor = Predictor(model, batch_size=batch_size, runtime=runtime, precision=precision,
                                        output="sites")
        self.min_L = min_lattice(model)
        self.train_sizes = list(self.metadata.get("train_sizes") or [self.metadata.get("L")])

    def __repr__(self) -> str:
        return (f"ExtensiveSurrogate(hamiltonian={self.hamiltonian!r}, receptive_radius={self.receptive_radius}, "
                f"train_sizes={self.train_sizes})")

    def site_energies(self, configs) -> np.ndarray:
        """Per-site energies float64 ``(B, L, L)`` (or ``(L, L)``); they sum to :meth:`energy` (fast path)."""
        spins, single = check_spins(configs)
        self._check_size(spins.shape[1])
        out = self.site_predictor(spins).astype(np.float64)
        return out[0] if single else out

    def _check_size(self, L: int) -> None:
        from .extensive import check_size

        check_size(self.model, L)

    def _step(self, L: int) -> int:
        return max(1, self.batch_size * 64 // (L * L))


def operator(model, metadata: dict, batch_size: int = 8192, runtime: str = "auto",
             precision: str = "float32") -> SurrogateOperator:
    """Wrap a Keras model: an :class:`ExtensiveSurrogate`, :class:`EnergySurrogate` or
    :class:`MagnetizationSurrogate`."""
    from .extensive import is_extensive

    target = metadata.get("target")
    if is_extensive(model):
        return ExtensiveSurrogate(model, {**metadata, "target": target or "energy"}, batch_size, runtime, precision)
    cls = MagnetizationSurrogate if target == "magnetization" else EnergySurrogate
    return cls(model, metadata, batch_size, runtime, precision)


def load(path, batch_size: int = 8192, target: str | None = None, runtime: str = "auto",
         precision: str = "float32") -> SurrogateOperator:
    """Load a ``.keras`` surrogate as an operator on the fast path (``target`` overrides missing metadata).

    Classifiers and energy regressors give an :class:`EnergySurrogate` (``energy``, callable);
    magnetization regressors a :class:`MagnetizationSurrogate` (``magnetization``). ``batch_size``
    is the number of configurations per compiled call; ``runtime`` picks the inference runtime
    (:class:`.inference.Predictor`: ``"auto"``, ``"onnxruntime"`` or ``"keras"``); ``precision``
    ``"bfloat16"`` (Keras runtime) is accepted only if the median |error| on uniform
    configurations stays within 1 % of float32's (checked at load, else ``ValueError``).
    """
    model, metadata = model_io.load(path)
    if target is not None:
        metadata = {**metadata, "target": target}
    return operator(model, metadata, batch_size, runtime, precision)

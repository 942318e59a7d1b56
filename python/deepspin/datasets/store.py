"""Dataset files: HDF5 with exact labels, the hash split and self-describing metadata.

Layout (``schema_version`` 1):

- datasets ``spins`` (``(B, L, L)`` int8 +1/-1, or float64 angles), ``energy`` (float64),
  ``magnetization`` (float64), ``test`` (bool, SPEC section 4 split), ``class`` (int64, the Ising
  energy class of SPEC section 3; only for the Ising model on an even lattice), and any per-sample
  extras of the sampler (``temperature``, ``chain``, ``bin``);
- root attributes ``schema_version`` (int) and ``meta`` (a JSON string): Hamiltonian name and
  parameters (the import path of a user energy function), ``L``, sampler and its parameters, seed,
  shards, counts, package version, creation time, ``magnetization_definition`` and ``checksum``.

Magnetization: for +1/-1 spins ``m = mean(s)`` (SPEC section 1, signed). For angles (planar
Potts) ``m = |mean(exp(i theta))|``, the planar (XY) order parameter in ``[0, 1]``, 1 when all
angles are equal.

The checksum is SHA-256 over every dataset's name, dtype, shape and bytes, in name order, so any
change of content is detected on reading. Datasets are chunked and gzip-compressed; writes go to
a temporary file renamed into place (:func:`deepspin.io.atomic_path`). A truncated, foreign or
corrupted file, or an unknown schema, raises :class:`deepspin.errors.DatasetError`.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import DatasetError
from ..io import atomic_path
from ..observables import ising_class
from .split import split_mask, test_threshold

#: 2: thermal samples come from the Monte Carlo core (Philox streams); 1 (NumPy walkers) stays readable.
SCHEMA_VERSION = 2
READABLE_SCHEMA_VERSIONS = (1, 2)
#: Datasets every file has.
REQUIRED = ("spins", "energy", "magnetization", "test")
SPLITS = ("train", "test", "all")
MAGNETIZATION = {
    "spins": "m = mean(s) per configuration (signed, +1/-1 spins)",
    "angles": "m = |mean(exp(i theta))| per configuration (planar order parameter, 0..1)",
}


def magnetization(spins: np.ndarray, kind: str) -> np.ndarray:
    """Per-configuration magnetization as defined in the module docstring, ``(B,)`` float64."""
    flat = spins.reshape(spins.shape[0], int(np.prod(spins.shape[1:])))
    if kind == "angles":
        return np.abs(np.exp(1j * flat.astype(np.float64)).mean(axis=1))
    return flat.mean(axis=1, dtype=np.float64)


def spin_kind_of(meta: dict) -> str:
    """``"angles"`` for angle-valued Hamiltonians, ``"spins"`` otherwise, from a sample/dataset meta."""
    ham = meta["hamiltonian"]
    angle = ham["name"] == "potts" or ham.get("params", {}).get("spin_kind") == "angle"
    return "angles" if angle else "spins"


def has_classes(meta: dict) -> bool:
    """True for the Ising model on an even lattice (SPEC section 3 classes)."""
    ham = meta["hamiltonian"]
    return ham["name"] == "ising" and ham["L"] % 2 == 0


def checksum(arrays: dict) -> str:
    """``sha256:<hex>`` over each array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return "sha256:" + digest.hexdigest()


def build(samples, test_fraction: float) -> tuple[dict, dict]:
    """Arrays and metadata of a dataset made from a :class:`~deepspin.sampling.SampleSet`."""
    test_threshold(test_fraction)
    meta = dict(samples.meta)
    kind = spin_kind_of(meta)
    spins = np.ascontiguousarray(samples.spins, dtype=np.float64 if kind == "angles" else np.int8)
    arrays = {
        "spins": spins,
        "energy": np.asarray(samples.energy, dtype=np.float64),
        "magnetization": magnetization(spins, kind),
        "test": split_mask(spins, test_fraction, kind="angles" if kind == "angles" else "spins"),
    }
    if has_classes(meta):
        arrays["class"] = ising_class(spins) if len(spins) else np.zeros(0, dtype=np.int64)
    for name, values in samples.extras.items():
        arrays[name] = np.asarray(values)
    meta.update(test_fraction=float(test_fraction), magnetization_definition=MAGNETIZATION[kind])
    return arrays, meta


def write(path, arrays: dict, meta: dict) -> Path:
    """Write a dataset atomically; fills in counts, version, creation time and the checksum."""
    import h5py

    missing = [name for name in REQUIRED if name not in arrays]
    if missing:
        raise ValueError(f"a dataset needs the arrays {REQUIRED}; missing {missing}")
    sizes = {name: len(a) for name, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"all dataset arrays must have one entry per configuration; got lengths {sizes}")
    meta = dict(meta)
    meta.update(
        schema_version=SCHEMA_VERSION,
        deepspin_version=__version__,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        size={"total": int(len(arrays["test"])), "test": int(arrays["test"].sum()),
              "train": int((~arrays["test"]).sum())},
        checksum=checksum(arrays),
    )
    path = Path(path)
    # HDF5 builds the file in memory and Python writes its bytes: a full disk is then a plain OSError
    # (ENOSPC) of that write. HDF5 writing to disk itself would fail inside its close, and the
    # half-closed file, freed later with the exception's traceback, crashed the process (exit 139).
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["meta"] = json.dumps(meta, sort_keys=True)
        for name, array in arrays.items():
            options = {"chunks": True, "compression": "gzip", "compression_opts": 4, "shuffle": True} if array.size else {}
            f.create_dataset(name, data=array, **options)
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            handle.write(buffer.getbuffer())
    except OSError as exc:  # e.g. ENOSPC: say which file and how large (nothing is left behind)
        raise OSError(exc.errno, f"cannot write {path} ({buffer.getbuffer().nbytes / 1e6:.1f} MB): "
                                 f"{exc.strerror}") from None
    return path


def save(path, samples, test_fraction: float = 0.1) -> Path:
    """Build and write the dataset of a :class:`~deepspin.sampling.SampleSet` (see :func:`build`)."""
    return write(path, *build(samples, test_fraction))


def read_meta(path) -> dict:
    """Metadata of a dataset file (schema checked; data and checksum not read)."""
    with _open(path) as f:
        return _meta(f, path)


def read(path) -> tuple[dict, dict]:
    """All arrays and the metadata of a dataset file, checksum verified."""
    with _open(path) as f:
        meta = _meta(f, path)
        missing = [name for name in REQUIRED if name not in f]
        if missing:
            raise DatasetError(f"{path}: not a complete deepspin dataset, missing datasets {missing}")
        try:
            arrays = {name: f[name][()] for name in f.keys()}
        except (OSError, KeyError, ValueError) as exc:
            raise DatasetError(f"{path}: cannot read the data (truncated or corrupted file?): {exc}") from None
    if checksum(arrays) != meta.get("checksum"):
        raise DatasetError(f"{path}: content checksum mismatch (file corrupted or modified after writing)")
    check_arrays(arrays, meta, path)
    return arrays, meta


#: dtype kind and shape after the batch axis of every array a dataset may hold (``"L"``: the lattice size).
ARRAY_LAYOUT = {"energy": ("f", ()), "magnetization": ("f", ()), "test": ("b", ()), "class": ("i", ()),
                "temperature": ("f", ()), "chain": ("iu", ()), "bin": ("iu", ())}


def _rows(mask) -> str:
    rows = np.flatnonzero(mask)
    return f"{len(rows)} rows, the first {rows[:5].tolist()}"


def check_arrays(arrays: dict, meta: dict, path) -> None:
    """Raise :class:`DatasetError` unless every array agrees with the metadata and with each other.

    The checksum only says the file is as some writer left it (anyone can recompute it); this checks
    what the content must be: ``spins`` ``(B, L, L)`` of the metadata's ``L`` (int8 +1/-1, or finite
    float64 angles); each other array one value per configuration with its dtype; ``size`` equal to
    the counts; ``magnetization`` and ``class`` equal to their definitions on the spins; and ``test``
    equal to the SHA3 split re-derived from the stored configurations (SPEC section 4), so a hand-
    edited split that would put test configurations into training is refused, naming the rows.
    """
    def fail(message):
        raise DatasetError(f"{path}: {message} (the file was edited or written by other code; regenerate it)")

    spins = arrays["spins"]
    L = meta["hamiltonian"]["L"]
    kind = spin_kind_of(meta)
    if spins.ndim != 3 or spins.shape[1:] != (L, L):
        fail(f"spins have shape {spins.shape}, the metadata says L = {L}: expected (B, {L}, {L})")
    B = spins.shape[0]
    if kind == "angles":
        if spins.dtype != np.float64 or not np.isfinite(spins).all():
            fail(f"angle configurations must be finite float64; got {spins.dtype}")
    elif spins.dtype != np.int8 or not np.isin(spins, (-1, 1)).all():
        bad = ~np.isin(spins, (-1, 1)).reshape(B, -1).any(axis=1) if spins.dtype == np.int8 else None
        fail(f"spins must be int8 +1/-1; got {spins.dtype}" + (f" with other values in {_rows(bad)}" if bad is not None
                                                                 else ""))
    for name, array in arrays.items():
        if name == "spins":
            continue
        kinds, tail = ARRAY_LAYOUT.get(name, (None, None))
        if array.shape[:1] != (B,) or (tail is not None and array.shape[1:] != tail):
            fail(f"array {name!r} has shape {array.shape}; expected ({B},) (one value per configuration)")
        if kinds is not None and array.dtype.kind not in kinds:
            fail(f"array {name!r} has dtype {array.dtype}; expected {'bool' if kinds == 'b' else kinds}")
    for name in ("energy", "magnetization"):
        bad = ~np.isfinite(arrays[name])
        if bad.any():
            fail(f"{name} is not finite in {_rows(bad)}")
    size = meta.get("size")
    counts = {"total": B, "test": int(arrays["test"].sum()), "train": int((~arrays["test"]).sum())}
    if size is not None and size != counts:
        fail(f"the metadata's size {size} disagrees with the arrays {counts}")
    try:
        split = split_mask(spins, meta["test_fraction"], kind="angles" if kind == "angles" else "spins")
    except ValueError as exc:
        fail(f"the metadata's {exc}")
    wrong = split != arrays["test"]
    if wrong.any():
        fail(f"the stored train/test split disagrees with the SHA3 split of the stored configurations at "
             f"test_fraction {meta['test_fraction']} in {_rows(wrong)}")
    wrong = ~np.isclose(arrays["magnetization"], magnetization(spins, kind), rtol=0, atol=1e-12)
    if wrong.any():
        fail(f"the stored magnetization is not that of the stored configurations in {_rows(wrong)}")
    if "class" in arrays and has_classes(meta) and B:
        wrong = arrays["class"] != ising_class(spins)
        if wrong.any():
            fail(f"the stored Ising class is not that of the stored configurations in {_rows(wrong)}")


def load(path, split: str = "train") -> dict:
    """A dataset ready for training: ``spins``, ``energy``, ``magnetization``, ``test``, ``class`` (when
    defined), the sampler's extras, and ``meta`` (dict), restricted to ``split``.

    ``split`` is ``"train"`` (``test == False``), ``"test"`` or ``"all"``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    arrays, meta = read(path)
    if split != "all":
        keep = arrays["test"] if split == "test" else ~arrays["test"]
        arrays = {name: array[keep] for name, array in arrays.items()}
    arrays["meta"] = meta
    return arrays


def _open(path):
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such dataset file: {path}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DatasetError(f"{path}: not a readable HDF5 file (truncated or foreign?): {exc}") from None


def _meta(f, path) -> dict:
    if "schema_version" not in f.attrs or "meta" not in f.attrs:
        raise DatasetError(f"{path}: not a deepspin dataset (no schema_version/meta attributes)")
    version = f.attrs["schema_version"]
    if isinstance(version, (bytes, np.bytes_)):
        version = version.decode(errors="replace")
    try:
        number = int(version)
        if number != float(version):
            raise ValueError
    except (TypeError, ValueError):
        raise DatasetError(f"{path}: schema_version must be an integer, got {version!r} (not a deepspin dataset, "
                           "or a damaged one)") from None
    if number not in READABLE_SCHEMA_VERSIONS:
        raise DatasetError(
            f"{path}: dataset schema version {number}, this deepspin {__version__} reads versions "
            f"{', '.join(map(str, READABLE_SCHEMA_VERSIONS))}; regenerate it or use a matching deepspin"
        )
    try:
        meta = json.loads(f.attrs["meta"])
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: metadata is not valid JSON: {exc}") from None
    check_meta(meta, path)
    return meta


#: Metadata entries every dataset file has, with their JSON types.
META_TYPES = {"hamiltonian": dict, "sampler": str, "sampler_params": dict, "checksum": str, "shards": int,
              "test_fraction": (int, float), "magnetization_definition": str, "created": str,
              "deepspin_version": str}
HAMILTONIAN_TYPES = {"name": str, "L": int, "params": dict}


def check_meta(meta, path) -> None:
    """Raise :class:`DatasetError` unless ``meta`` has every entry of :data:`META_TYPES` with its type."""
    def describe(where, mapping, types):
        if not isinstance(mapping, dict):
            raise DatasetError(f"{path}: {where} must be a JSON object, got {type(mapping).__name__} "
                               f"{json.dumps(mapping)[:80]} (not a deepspin dataset, or its metadata was edited)")
        missing = [k for k in types if k not in mapping]
        wrong = [k for k, t in types.items() if k in mapping and
                 (not isinstance(mapping[k], t) or isinstance(mapping[k], bool))]
        if missing or wrong:
            problems = ([f"lacks {', '.join(missing)}"] if missing else []) + \
                       ([f"has {', '.join(wrong)} of the wrong type"] if wrong else [])
            raise DatasetError(f"{path}: {where} {' and '.join(problems)} "
                               "(not a deepspin dataset, or its metadata was edited)")

    describe("the metadata", meta, META_TYPES)
    describe("the metadata's hamiltonian", meta["hamiltonian"], HAMILTONIAN_TYPES)
    if "shard_index" in meta and meta["shard_index"] is not None and not isinstance(meta["shard_index"], int):
        raise DatasetError(f"{path}: shard_index must be an integer or null, got {meta['shard_index']!r}")

"""Tasks of a campaign: pure functions of a spec and a seed, each writing one self-validating file.

A :class:`Task` computes ``function(spec, seed, *args)`` and writes what it returns (a dict of NumPy
arrays and JSON values) to its ``output`` file atomically (:func:`deepspin.io.atomic_path`). The
file's header holds the task's key, the SHA-256 of its spec (:func:`spec_hash`), the spec itself,
the deepspin version, the seed and a checksum over everything, so a later run knows, without
recomputing, whether the file is this task's finished result (:meth:`Task.done`).

Seeds come from the campaign seed and the task's identity alone (:func:`derive_seed`), never from
the worker that runs the task or the order in which tasks run: a task gives the same result
wherever and whenever it runs.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from .._version import __version__
from ..io import atomic_path

#: Format tag of a task's result file (an ``.npz`` whose ``__header__`` entry is JSON).
FORMAT = "deepspin-campaign-result-1"
HEADER = "__header__"


def derive_seed(seed: int, *identity: int) -> int:
    """A 64-bit seed for the task ``identity`` (integers) of a campaign seeded with ``seed``.

    ``SeedSequence(seed, spawn_key=identity)``: independent streams for distinct identities, and a
    function of nothing else (not the worker, not the order of execution).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"a campaign seed must be a non-negative integer, got {seed!r}")
    if any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 0 for i in identity):
        raise ValueError(f"a task identity is a tuple of non-negative integers, got {identity!r}")
    state = np.random.SeedSequence(int(seed), spawn_key=tuple(int(i) for i in identity)).generate_state(1, np.uint64)
    return int(state[0])


def spec_hash(spec: dict) -> str:
    """``sha256:<hex>`` of the spec as canonical JSON plus the deepspin version (the code that runs it)."""
    payload = json.dumps({"spec": spec, "deepspin_version": __version__}, sort_keys=True)
    return "sha256:" + hashlib.sha256(payload.encode()).hexdigest()


def _checksum(header: dict, arrays: dict) -> str:
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return "sha256:" + digest.hexdigest()


def write_result(path, key: str, spec: dict, seed: int | None, result: dict) -> Path:
    """Write ``result`` (arrays and JSON values by name) as the finished output of task ``key``."""
    if not isinstance(result, dict):
        raise TypeError(f"task {key}: its function must return a dict of arrays and JSON values, "
                        f"got {type(result).__name__}")
    arrays = {k: np.asarray(v) for k, v in result.items() if isinstance(v, np.ndarray)}
    values = {k: v for k, v in result.items() if k not in arrays}
    if HEADER in result:
        raise ValueError(f"task {key}: {HEADER!r} is reserved; rename that entry of the result")
    header = {"format": FORMAT, "key": key, "spec_hash": spec_hash(spec), "spec": spec, "seed": seed,
              "deepspin_version": __version__, "values": values}
    header["checksum"] = _checksum(header, arrays)
    path = Path(path)
    with atomic_path(path, suffix=".npz.tmp") as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays, **{HEADER: np.array(json.dumps(header, sort_keys=True))})
    return path


def read_result(path) -> tuple[dict, dict]:
    """``(header, result)`` of a result file, its checksum verified; ValueError if damaged or foreign."""
    path = Path(path)
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:  # closed on errors too
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable campaign result ({exc})") from None
    try:
        header = json.loads(str(arrays.pop(HEADER)))
    except (KeyError, ValueError):
        raise ValueError(f"{path}: not a campaign result (no {HEADER} entry)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file")
    saved = header.pop("checksum", None)
    if saved != _checksum(header, arrays):
        raise ValueError(f"{path}: checksum mismatch (truncated, or modified after writing)")
    return header, {**arrays, **header["values"]}


@dataclasses.dataclass(frozen=True)
class Task:
    """One unit of a campaign: ``function(spec, seed, *args)`` written to ``output``.

    Parameters
    ----------
    key : str
        The task's name, unique in its campaign (it names the task in progress, errors and summaries).
    output : path
        The one file the task writes (made absolute: workers elsewhere run in other folders).
    function : callable
        ``function(spec, seed, *args) -> dict`` of NumPy arrays and JSON values; a module-level
        function (or anything picklable) so that Dask can ship it to a worker.
    spec : dict
        JSON description of everything the result depends on; its hash validates the output.
    seed : int or None
        The task's own seed (:func:`derive_seed`), recorded in the output.
    args : tuple
        Further inputs that the spec already describes (e.g. the Hamiltonian object whose
        fingerprint is in ``spec``); shipped to the worker, not hashed.
    """

    key: str
    output: Path
    function: Callable[..., dict]
    spec: dict
    seed: int | None = None
    args: tuple = ()

    def __post_init__(self):
        # absolute: a worker on another host runs in another folder (the file system must be shared)
        object.__setattr__(self, "output", Path(self.output).absolute())

    def compute(self) -> Path:
        """Run the function and write its result; returns ``output``."""
        result = self.function(self.spec, self.seed, *self.args)
        return write_result(self.output, self.key, self.spec, self.seed, result)

    def done(self) -> bool:
        """True if ``output`` holds this task's finished result; False if absent or damaged.

        A valid result of another spec is a ValueError: a campaign never overwrites the outputs of
        a different one.
        """
        if not Path(self.output).exists():
            return False
        try:
            header, _ = read_result(self.output)
        except ValueError:
            return False  # truncated or damaged: computed again
        if header["spec_hash"] != spec_hash(self.spec) or header["key"] != self.key or header["seed"] != self.seed:
            raise ValueError(f"{self.output} holds task {header['key']} of another campaign (other model, "
                             "parameters, seed or deepspin version); delete it or write to another folder")
        return True

    def load(self) -> dict:
        """The result written by :meth:`compute` (arrays and values by name)."""
        return read_result(self.output)[1]


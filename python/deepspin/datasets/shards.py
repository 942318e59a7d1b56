"""Dataset generation in one command: sampling, labelling, splitting, sharding, resuming, merging.

A large run is cut into ``shards``; shard ``i`` draws from its own seed stream (key ``1 + i`` of
the seed, :func:`deepspin.sampling.common.stream`) and makes its share of the requested amount, so
the shards are independent and can run anywhere, in any order. Without ``shard_index``,
:func:`generate` runs every shard into ``<output>.shards/``, skips the shards already finished
there (a complete file of the same run: resume after an interruption) and merges them into
``output`` in shard order. The merged file is the same whether or not the run was interrupted.
"""
from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np

from .. import sampling
from ..errors import DatasetError
from ..hamiltonians import Hamiltonian
from ..sampling.common import check_shard, describe_hamiltonian
from ..encoding import distinct_count
from .store import SCHEMA_VERSION, build, read, read_meta, write

#: Keywords every sampler takes from :func:`sample` itself.
SHARED = ("seed", "backend", "shards", "shard_index", "progress")
#: Metadata that must agree between the shards of one run.
RUN_KEYS = ("hamiltonian", "sampler", "sampler_params", "seed", "shards", "test_fraction", "run")


def sample(H: Hamiltonian, sampler: str, *, seed=None, backend: str = "auto", shards: int = 1, shard_index: int = 0,
           progress: bool = False, **params):
    """Run the sampler called ``sampler`` (``uniform``, ``targeted``, ``thermal``, ``enumerate``)."""
    functions = {"uniform": sampling.uniform, "targeted": sampling.targeted, "thermal": sampling.thermal,
                 "enumerate": sampling.enumerate_all}
    if sampler not in functions:
        raise ValueError(f"sampler must be one of {', '.join(functions)}, got {sampler!r}")
    if getattr(H, "thermal", False) and sampler != "thermal":
        raise ValueError(f"{H!r}'s energy E(s; T) depends on the temperature, which the {sampler} sampler does not "
                         "have: use --sampler thermal (each configuration is labelled at its sampling temperature)")
    function = functions[sampler]
    allowed = [name for name in inspect.signature(function).parameters if name not in ("H", *SHARED)]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"sampler {sampler} takes {allowed}; got unexpected {unknown}")
    common = {"backend": backend, "shards": shards, "shard_index": shard_index, "progress": progress}
    if sampler != "enumerate":
        common["seed"] = seed
    return function(H, **params, **common)


def shard_path(output, shard_index: int, shards: int) -> Path:
    """Where shard ``shard_index`` of a run writing ``output`` lives: ``<output>.shards/shard-IIIII-of-NNNNN.h5``."""
    output = Path(output)
    return output.with_name(output.name + ".shards") / f"shard-{shard_index:05d}-of-{shards:05d}.h5"


def generate(H: Hamiltonian, sampler: str, output, *, test_fraction: float = 0.1, seed=None, shards: int = 1,
             shard_index: int | None = None, backend: str = "auto", progress: bool = False, **params) -> Path:
    """Sample, label, split and write a dataset; returns the path written.

    ``shards > 1`` needs an explicit ``seed`` (every shard and every resumed run must share it).
    With ``shard_index`` only that shard is made (into :func:`shard_path`); without it every shard
    not yet finished is made and all are merged into ``output``.
    """
    check_shard(shards, 0 if shard_index is None else shard_index)
    run = describe_run(H, sampler, params, seed, shards, test_fraction)
    if shards == 1 and shard_index is None:
        samples = sample(H, sampler, seed=seed, backend=backend, progress=progress, **params)
        return _write(output, samples, test_fraction, run)
    if seed is None and sampler != "enumerate":
        raise ValueError("a sharded run needs an explicit seed (--seed) so that its shards share one seed stream")
    todo = range(shards) if shard_index is None else [shard_index]
    for i in todo:
        if not shard_finished(output, i, shards, run):
            make_shard(H, sampler, output, i, shards, run, seed=seed, test_fraction=test_fraction, backend=backend,
                       progress=progress, **params)
    if shard_index is not None:
        return shard_path(output, shard_index, shards)
    return merge([shard_path(output, i, shards) for i in range(shards)], output)


def describe_run(H: Hamiltonian, sampler: str, params: dict, seed, shards: int, test_fraction: float) -> dict:
    """The ``run`` metadata that every shard of one run shares (and that tells runs apart)."""
    return json.loads(json.dumps({"hamiltonian": describe_hamiltonian(H), "sampler": sampler, "params": params,
                                  "seed": seed, "shards": shards, "test_fraction": test_fraction}, default=repr))


def make_shard(H: Hamiltonian, sampler: str, output, index: int, shards: int, run: dict, *, seed, test_fraction: float,
               backend: str = "auto", progress: bool = False, **params) -> Path:
    """Sample, label and write shard ``index`` of the run described by ``run`` (:func:`describe_run`).

    The shard draws from stream ``1 + index`` of ``seed`` alone, so it is the same file content
    wherever and whenever it is made. Returns its :func:`shard_path`.
    """
    samples = sample(H, sampler, seed=seed, backend=backend, shards=shards, shard_index=index, progress=progress,
                     **params)
    return _write(shard_path(output, index, shards), samples, test_fraction, run)


def shard_finished(output, index: int, shards: int, run: dict) -> bool:
    """True if shard ``index`` of ``run`` is already complete on disk (a shard of another run is an error)."""
    path = shard_path(output, index, shards)
    return path.exists() and _finished(path, run, index)


def _write(path, samples, test_fraction, run) -> Path:
    arrays, meta = build(samples, test_fraction)
    meta["run"] = run
    return write(path, arrays, meta)


def _finished(path, run: dict, index: int) -> bool:
    """True if ``path`` is a complete shard of this very run; a shard of another run is an error."""
    try:
        meta = read_meta(path)
        read(path)
    except DatasetError:
        return False  # a damaged shard is simply made again
    if meta.get("schema_version") != SCHEMA_VERSION:
        return False  # made by an older deepspin (e.g. schema 1 thermal streams): made again, never mixed
    if meta.get("run") != run or meta.get("shard_index") != index:
        raise ValueError(f"{path} belongs to a different run (other model, sampler, seed or parameters); "
                         "delete it or write to another output")
    return True


def merge(paths, output) -> Path:
    """Merge the shard files of one run (all shard indices exactly once) into ``output``, in shard order."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("merge needs at least one dataset file")
    parts = [read(p) for p in paths]
    first = parts[0][1]
    for path, (_, meta) in zip(paths, parts):
        differing = [k for k in RUN_KEYS if meta.get(k) != first.get(k)]
        if differing:
            raise ValueError(f"{path} is not a shard of the same run as {paths[0]}: {', '.join(differing)} differ")
    indices = sorted(meta["shard_index"] for _, meta in parts)
    if indices != list(range(first["shards"])):
        raise ValueError(f"merge needs shards 0..{first['shards'] - 1} exactly once; got shard indices {indices}")
    parts.sort(key=lambda part: part[1]["shard_index"])
    names = parts[0][0].keys()
    arrays = {name: np.concatenate([a[name] for a, _ in parts]) for name in names}
    meta = {k: v for k, v in first.items() if k in RUN_KEYS or k in ("targets", "magnetization_definition")}
    meta["shard_index"] = None
    metas = [m for _, m in parts]
    for key in ("counts", "quota"):
        if key in first:
            meta[key] = np.sum([m[key] for m in metas], axis=0).tolist()
    if "steps" in first:
        meta["steps"] = int(sum(m["steps"] for m in metas))
    if "complete" in first:
        meta["complete"] = all(m["complete"] for m in metas)
    if "distinct" in first:
        meta["distinct"] = [distinct_count(arrays["spins"][arrays["bin"] == t]) for t in range(len(first["distinct"]))]
    if "range" in first:
        meta["range"] = [min(m["range"][0] for m in metas), max(m["range"][1] for m in metas)]
    return write(output, arrays, meta)

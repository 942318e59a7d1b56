"""Labelled datasets: the SHA3 hash split (SPEC section 4), HDF5 files, sharded generation.

- :func:`split_mask`: True where a configuration belongs to the test set.
- :func:`load`: a dataset file as numpy arrays (``spins``, ``energy``, ``magnetization``, ``test``,
  ``class`` where defined, sampler extras) plus ``meta``, for one split.
- :func:`generate`: sample, label, split and write (sharded, resumable); :func:`merge`: join shards.
- :func:`save` / :func:`read` / :func:`write`: the file format (:mod:`deepspin.datasets.store`).
"""
from .shards import generate, merge, sample, shard_path
from .split import BUCKETS, config_bytes, distinct_count, hash_buckets, split_mask
from .store import SCHEMA_VERSION, load, read, read_meta, save, write
from .summary import summary

__all__ = [
    "BUCKETS",
    "SCHEMA_VERSION",
    "config_bytes",
    "distinct_count",
    "generate",
    "hash_buckets",
    "load",
    "merge",
    "read",
    "read_meta",
    "sample",
    "save",
    "shard_path",
    "split_mask",
    "summary",
    "write",
]

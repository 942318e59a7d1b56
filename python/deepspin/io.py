"""Atomic file writes and configuration loading shared by the CLI commands."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path, suffix: str = ""):
    """Yield a temporary path beside ``path``; on success rename it over ``path``, else delete it.

    Readers never see a half-written file, and an interrupted write leaves the old file intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix + ".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the final file gets the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_npy(path, array) -> None:
    """Write ``array`` as ``.npy`` atomically."""
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, array)


def write_text(path, text: str) -> None:
    """Write ``text`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def load_configs(path, key: str | None = None) -> np.ndarray:
    """Read configurations from ``.npy`` or ``.npz`` (``key`` or the only/``configs``/``spins`` array)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path} is not a readable .npy/.npz file ({exc})") from None
    if isinstance(data, np.ndarray):
        return data
    with data:
        names = list(data.keys())
        if key is None:
            for candidate in ("configs", "spins"):
                if candidate in names:
                    key = candidate
                    break
            else:
                if len(names) != 1:
                    raise ValueError(f"{path} holds {names}; choose one with --key")
                key = names[0]
        if key not in names:
            raise ValueError(f"{path} has no array {key!r}; it holds {names}")
        return data[key]

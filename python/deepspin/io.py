"""Atomic file writes, output-path checks and configuration loading shared by the CLI commands."""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

#: Temporary files are named ``.<name>.<pid>.<random><suffix>`` beside their target (see :func:`atomic_path`).


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(path) -> list[Path]:
    """Delete the temporary files that a killed writer of ``path`` left beside it; return them.

    A temporary file of :func:`atomic_path` carries its writer's process id, so only files of
    processes that no longer run are removed (a concurrent writer's file is left alone).
    """
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    prefix = f".{path.name}."
    for candidate in path.parent.iterdir():
        name = candidate.name
        if not name.startswith(prefix):
            continue
        pid_text, dot, _ = name[len(prefix):].partition(".")
        if dot and pid_text.isdigit() and not _pid_alive(int(pid_text)) and int(pid_text) != os.getpid():
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
                candidate.unlink()
                removed.append(candidate)
    return removed


@contextlib.contextmanager
def atomic_path(path, suffix: str = ""):
    """Yield a temporary path beside ``path``; on success rename it over ``path``, else delete it.

    Readers never see a half-written file, and an interrupted write leaves the old file intact.
    The temporary name holds the writer's process id, so the file a ``kill -9`` leaves behind is
    removed by the next write of the same path (:func:`remove_stale_temporaries`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=suffix or path.suffix + ".tmp",
                               dir=path.parent)
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


class FolderInUse(OSError):
    """Another live process holds the folder's lock (:func:`folder_lock`)."""


@contextlib.contextmanager
def folder_lock(folder, what: str = "this folder"):
    """Hold an exclusive lock on ``folder`` (its ``.lock`` file, created) for the block's duration.

    A second process asking for the same folder gets :class:`FolderInUse` at once, naming the holder's
    pid, instead of writing beside it (two runs resuming the same training would overwrite each other's
    checkpoints). The lock is the kernel's (``flock``), so a killed holder releases it with its death.
    """
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / ".lock", "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise FolderInUse(f"{folder} is in use by {what} (pid {holder}); wait for it to end or stop it "
                              f"first") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield folder
    finally:
        handle.close()


class OutputInUse(FileExistsError):
    """Another live process is writing the same output (:func:`output_lock`)."""


def lock_path(path) -> Path:
    """The lock file of output ``path``: ``.<name>.lock`` beside it (a folder's beside the folder)."""
    path = Path(os.path.abspath(path))
    return path.with_name(f".{path.name}.lock")


def _read_holder(lock: Path) -> tuple[int | None, str]:
    try:
        pid_text, _, host = lock.read_text().strip().partition(" ")
    except (FileNotFoundError, UnicodeDecodeError):
        return None, ""
    return (int(pid_text) if pid_text.isdigit() else None), host


def acquire_output_lock(path, what: str = "another deepspin command") -> Path:
    """Create ``path``'s lock file (``O_CREAT | O_EXCL``) holding ``"<pid> <host>"``; return it.

    A lock whose holder is a process of this host that no longer runs (killed, crashed) is stale:
    it is replaced. A live holder, or one on another host (whose liveness cannot be checked here),
    raises :class:`OutputInUse` naming the pid and host, so two runs never write one output and
    both report success. Release with :func:`release_output_lock`.
    """
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    me = socket.gethostname()
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid, host = _read_holder(lock)
            stale = pid is not None and host == me and (pid == os.getpid() or not _pid_alive(pid))
            if not stale:
                holder = f"pid {pid} on {host}" if pid is not None else "a process that is starting"
                raise OutputInUse(f"{path} is being written by {what} ({holder}, lock file {lock}); wait for it "
                                  f"to end or stop it first (if that process no longer exists, delete {lock})") from None
            with contextlib.suppress(FileNotFoundError):
                if _read_holder(lock) == (pid, host):  # still the dead holder's lock, not a fresh one
                    lock.unlink()
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()} {me}\n")
        return lock
    raise OutputInUse(f"{path}: could not take its lock file {lock} (other processes keep taking it)")


def release_output_lock(lock) -> None:
    """Remove a lock file this process holds (another holder's is left alone)."""
    lock = Path(lock)
    if _read_holder(lock)[0] == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


@contextlib.contextmanager
def output_lock(*paths, what: str = "another deepspin command"):
    """Hold the lock of every output in ``paths`` for the block's duration (:func:`acquire_output_lock`)."""
    locks = []
    try:
        for path in paths:
            locks.append(acquire_output_lock(path, what))
        yield
    finally:
        for lock in locks:
            release_output_lock(lock)


#: Locks taken by :func:`claim_outputs`, released by :func:`release_outputs` or at exit.
_CLAIMED: list[Path] = []


def release_outputs() -> None:
    """Release every lock :func:`claim_outputs` took (the CLI calls it when a command ends)."""
    while _CLAIMED:
        release_output_lock(_CLAIMED.pop())


atexit.register(release_outputs)


def same_file(a, b) -> bool:
    """True if paths ``a`` and ``b`` name one file: the same resolved path, or one inode (a hard link)."""
    a, b = Path(a), Path(b)
    if Path(os.path.abspath(a)) == Path(os.path.abspath(b)) or a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def check_not_inputs(inputs: dict, outputs: dict) -> None:
    """Refuse an output that names one of the inputs (same path, a symbolic or a hard link).

    ``inputs`` and ``outputs`` map option names to paths (``None``: not given). Writing the output
    would replace the input the command is reading, e.g. ``deepspin energy X.npy -o X.npy``.
    """
    for out_name, out in outputs.items():
        for in_name, source in inputs.items():
            if out is not None and source is not None and same_file(out, source):
                raise ValueError(f"--{out_name} {out} is the input {in_name} ({source}): writing it would replace "
                                 "the file being read; give the output another path")


def claim_outputs(inputs: dict | None = None, what: str = "another deepspin command", lock: bool = True,
                  **outputs) -> None:
    """Before any computation: check the outputs (:func:`check_output_paths`), refuse one that is an
    input (:func:`check_not_inputs`), then lock each (:func:`acquire_output_lock`) until
    :func:`release_outputs` or the process ends, so a concurrent run of the same outputs is refused
    with its holder named. ``lock=False``: check only (a process that computes beside the writer,
    e.g. a non-chief worker of a multi-worker training, which never writes the outputs)."""
    check_output_paths(**outputs)
    check_not_inputs(inputs or {}, outputs)
    if not lock:
        return
    for path in outputs.values():
        if path is not None:
            _CLAIMED.append(acquire_output_lock(path, what))


def check_output_paths(**paths) -> None:
    """Before any computation: every output path given is writable and no two name the same file.

    ``paths`` maps an option name (``output``, ``json``, ...) to a path or ``None`` (not asked
    for). Raises :class:`ValueError` naming the options that collide, or the option whose folder
    cannot be created or written, or that names an existing folder.
    """
    given = {name: Path(p) for name, p in paths.items() if p is not None}
    seen: dict[Path, str] = {}
    for name, path in given.items():
        key = Path(os.path.abspath(path))
        for other, other_name in seen.items():
            if key == other or same_file(key, other):
                raise ValueError(f"--{other_name} and --{name} name the same file {path}; give each output its own path")
        seen[key] = name
    for name, path in given.items():
        if path.is_dir():
            raise ValueError(f"--{name} {path} is a folder; give a file name")
        parent = path.parent
        existing = parent
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise ValueError(f"--{name} {path}: {existing} is a file, not a folder")
        if path.exists() and not os.access(path, os.W_OK):
            raise ValueError(f"--{name} {path}: the file is not writable (checked before computing anything)")
        try:  # the only reliable test (root ignores permission bits; read-only file systems do not)
            fd, probe = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".probe", dir=existing)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ValueError(f"--{name} {path}: cannot write into {existing} ({exc.strerror}; checked before "
                             "computing anything)") from None


@contextlib.contextmanager
def _naming_failed_writes(path):
    """Re-raise an OSError of the block (a full disk, a quota) as one that names ``path``."""
    try:
        yield
    except OSError as exc:
        if exc.errno is None:  # e.g. NumPy's "20000 requested and 12484 written" on a full disk
            raise OSError(f"cannot write {path}: {exc} (is the disk full?)") from None
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror}") from None


def save_npy(path, array) -> None:
    """Write ``array`` as ``.npy`` atomically (a failed write names ``path`` and leaves no file)."""
    with _naming_failed_writes(path), atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, array)


def write_text(path, text: str) -> None:
    """Write ``text`` atomically (a failed write names ``path`` and leaves no file)."""
    with _naming_failed_writes(path), atomic_path(path) as tmp:
        tmp.write_text(text)


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def load_configs(path, key: str | None = None) -> np.ndarray:
    """Read configurations from ``.npy`` or ``.npz`` (``key`` or the only/``configs``/``spins`` array)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_file():
        with open(path, "rb") as f:
            if f.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE:
                raise ValueError(f"{path} is an HDF5 file, not .npy/.npz; for a deepspin dataset the spins are "
                                 "`deepspin.datasets.load(path)['spins']` (save them with numpy.save)")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
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
        try:
            return data[key]
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"{path}: array {key!r} is not readable ({exc})") from None


@contextlib.contextmanager
def waiting_lock(path: Path):
    """Hold an exclusive ``flock`` on ``path``, waiting for another holder to finish."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def build_clock(timing: Path, every: float = 30.0):
    """Time an artefact's build over all its attempts, and write the total to ``timing`` when it succeeds.

    A training killed after hours resumes from its checkpoint; its build time is the sum of the
    attempts. ``<timing>.partial`` holds the seconds spent so far (rewritten every ``every`` seconds by
    a daemon thread, and on a failure), a resumed build starts from it, a finished one removes it. A
    kill loses at most ``every`` seconds of the count."""
    partial = timing.with_name(timing.name + ".partial")
    try:
        before = float(partial.read_text())
    except (OSError, ValueError):
        before = 0.0
    start = time.perf_counter()
    stop = threading.Event()

    def spent() -> str:
        return f"{before + time.perf_counter() - start:.3f}\n"

    def beat():
        while not stop.wait(every):
            write_text(partial, spent())

    thread = threading.Thread(target=beat, name="build-clock", daemon=True)
    thread.start()
    finished = False
    try:
        yield
        finished = True
    finally:
        stop.set()
        thread.join()  # before the last write, so the heartbeat cannot rewrite .partial after it
        if finished:
            write_text(timing, spent())
            partial.unlink(missing_ok=True)
        else:
            write_text(partial, spent())

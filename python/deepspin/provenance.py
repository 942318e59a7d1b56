"""What a cached result was computed with: the deepspin code it can reach, the compiled core, the libraries.

A cache key must change whenever the code behind a result changes, without anyone keeping a list of that
code by hand. :func:`code_key` finds it by reading the import statements of the modules a result starts
from (:func:`module_closure`, static: nothing is imported, so naming a module of ``deepspin.surrogate``
does not load Keras), hashes each module's syntax tree (:func:`source_hashes`) and hashes those hashes.
The compiled core ``deepspin._core`` enters as the hash of ``csrc/`` and ``CMakeLists.txt`` that
``setup.py`` stored in the module when it was built (:func:`core_source_hash`); in a source tree a core
built from other sources raises :class:`StaleCoreError` instead of giving a key it does not match.
Library versions (:func:`numerical_versions`) are recorded beside the key and only warned about
(:func:`version_changes`): a new NumPy changes results by rounding, not by meaning.

Which modules count (the rules of :func:`module_closure`)
----------------------------------------------------------
Every import statement of a module counts, at module level or inside a function (lazy imports are
common here) or under ``if TYPE_CHECKING``:

- ``import deepspin.a.b`` counts ``deepspin.a.b``;
- ``from deepspin.a import b`` counts ``deepspin.a.b`` when that is a module (a file, a package or the
  compiled core), else ``deepspin.a`` (the name is defined in ``deepspin/a.py`` or ``deepspin/a/__init__.py``);
  a name that the package loads lazily through an ``_EXPORTS = {"name": "submodule"}`` table of its
  ``__init__.py`` (PEP 562, as :mod:`deepspin.surrogate` does) also counts ``deepspin.a.submodule``, and
  such a package imported as a whole (``import deepspin.a``, ``from deepspin import a``, ``from deepspin.a
  import *``) counts every module of its table;
- relative imports (``from . import a``, ``from ..mc import run``, ``from .x import y``) resolve against
  the importing module's package, then follow the two rules above;
- ``importlib.import_module("literal")`` with a string literal counts that module (a name built at run
  time, as the command registry of :mod:`deepspin.cli` does, is not seen).

Parent packages: importing ``deepspin.a.b`` runs ``deepspin/__init__.py`` and ``deepspin/a/__init__.py``
too, but they do not count unless named (``from deepspin.a import name`` with ``name`` not a submodule,
``import deepspin.a``): a package's ``__init__`` only gathers names for users, and counting it would make
every module depend on the whole package. Imports of other packages are left out (their versions are
recorded by :func:`numerical_versions`). The roots are part of their closure.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.metadata
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent  # the deepspin package folder (python/deepspin in a source tree)
#: The compiled modules of deepspin (no Python source; hashed by :func:`core_source_hash`).
_COMPILED = frozenset({"_core"})
_REBUILD = "rebuild it: `pip install -e .` or `python setup.py build_ext --inplace` in the source tree"


class StaleCoreError(RuntimeError):
    """The compiled core was built from other sources than the ``csrc/`` next to the package."""


class MissingCoreError(RuntimeError):
    """The compiled core ``deepspin._core`` cannot be imported."""


@dataclass(frozen=True)
class Sources:
    """Where the modules of a package are: ``package`` (its import name) in the folder ``root``.

    Parameters
    ----------
    package : str
        Import name of the package, e.g. ``"deepspin"``.
    root : Path or None
        Its folder (holding ``__init__.py``); None means the folder of the installed deepspin package
        (subpackages reached through symbolic links, as ``surrogate/`` in the source tree, resolve as usual).
    compiled : frozenset of str
        Names (relative to the package) of compiled modules without Python source: they are modules of the
        closure and hash as :func:`core_source_hash`.
    overrides : Mapping of str to str
        Source text to use instead of a module's file (module name -> text), e.g. to see what an edit does.
    """

    package: str = "deepspin"
    root: Path | None = None
    compiled: frozenset = _COMPILED
    overrides: Mapping = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return _PACKAGE_DIR if self.root is None else Path(self.root)

    def kind(self, module: str) -> str | None:
        """``"module"`` (a ``.py`` file), ``"package"`` (a folder with ``__init__.py``), ``"compiled"``
        or None when ``module`` is not one of this package."""
        parts = module.split(".")
        if parts[0] != self.package or not all(part.isidentifier() for part in parts):
            return None
        if module in self.overrides:
            return "module"
        relative = ".".join(parts[1:])
        if relative in self.compiled:
            return "compiled"
        base = self.folder.joinpath(*parts[1:])
        if (base / "__init__.py").is_file():
            return "package"
        if len(parts) > 1 and base.with_suffix(".py").is_file():
            return "module"
        return None

    def path(self, module: str) -> Path:
        """The source file of ``module`` (``__init__.py`` for a package)."""
        kind = self.kind(module)
        base = self.folder.joinpath(*module.split(".")[1:])
        if kind == "package":
            return base / "__init__.py"
        if kind == "module":
            return base.with_suffix(".py")
        raise ValueError(f"{module!r} has no Python source under {self.folder} (package {self.package!r})")


_DEFAULT = Sources()


# ---------------------------------------------------------------------------------------------------------
# Reading a module: its normalised syntax tree and its import statements (cached per file and version).

def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


#: Fields that Pythons newer than 3.11 add to nodes (3.12: PEP 695 type parameters); left out of the normal
#: form while empty, so that code without that syntax hashes the same on every Python.
_NEWER_FIELDS = frozenset({"type_params"})
_MISSING = object()


def _dump(node) -> str:
    """``ast.dump(node)`` exactly as Python 3.11 writes it (fields by name, no positions, optional fields
    that are ``None`` left out), on any Python: 3.12 adds ``type_params=[]`` to every function and class
    and 3.13 leaves empty lists out, so ``ast.dump`` itself gave every cache key a Python version."""
    if isinstance(node, ast.AST):
        fields = []
        for name in node._fields:
            value = getattr(node, name, _MISSING)
            if value is _MISSING or (name in _NEWER_FIELDS and not value):
                continue
            if value is None and getattr(type(node), name, ...) is None:
                continue
            fields.append(f"{name}={_dump(value)}")
        return f"{type(node).__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return f"[{', '.join(_dump(item) for item in node)}]"
    return repr(node)


@dataclass(frozen=True)
class _Module:
    """What :func:`module_closure` and :func:`source_hashes` need of one source file."""

    sha256: str  # of the normalised syntax tree
    #: (level, module, names): ``import a.b`` is (0, "a.b", None), ``from ..x import y, z`` is (2, "x", ("y", "z")),
    #: ``importlib.import_module(".x")`` is (1, "x", None).
    imports: tuple
    exports: tuple  # the (name, submodule) pairs of a top-level ``_EXPORTS`` dict of string literals


def _is_import_module(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return name == "import_module" and bool(call.args) and isinstance(call.args[0], ast.Constant) \
        and isinstance(call.args[0].value, str)


@functools.lru_cache(maxsize=4096)
def _analyse(text: str, filename: str) -> _Module:
    tree = ast.parse(text, filename=filename)
    imports = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.extend((0, alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imports.append((node.level, node.module or "", tuple(alias.name for alias in node.names)))
        elif isinstance(node, ast.Call) and _is_import_module(node):
            target = node.args[0].value
            level = len(target) - len(target.lstrip("."))
            imports.append((level, target[level:], None))
    exports = ()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets) \
                and isinstance(node.value, ast.Dict):
            pairs = zip(node.value.keys, node.value.values)
            exports = tuple((k.value, v.value) for k, v in pairs if isinstance(k, ast.Constant) and isinstance(
                k.value, str) and isinstance(v, ast.Constant) and isinstance(v.value, str))
    digest = hashlib.sha256(_dump(_strip_docstrings(tree)).encode()).hexdigest()
    return _Module(digest, tuple(imports), exports)


def _module(module: str, sources: Sources) -> _Module:
    """The analysis of ``module``: its file is read on every call (a few milliseconds for the package) and
    parsed only when its text is new, so an edit is never missed (no modification-time granularity)."""
    if module in sources.overrides:
        return _analyse(sources.overrides[module], f"<override of {module}>")
    path = sources.path(module)
    return _analyse(path.read_text(encoding="utf-8"), str(path))


def clear_cache() -> None:
    """Forget parsed sources (memory only: a changed file is parsed again anyway)."""
    _analyse.cache_clear()


# ---------------------------------------------------------------------------------------------------------
# The closure.

def _resolve_relative(module: str, kind: str, level: int, name: str) -> str | None:
    """The absolute name of ``from <level dots><name> import ...`` in ``module`` (None if above the top)."""
    if not level:
        return name
    package = module.split(".") if kind == "package" else module.split(".")[:-1]
    if level - 1 >= len(package):
        return None
    base = package[: len(package) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _existing(name: str, sources: Sources, importer: str) -> str:
    if sources.kind(name) is None:
        raise ValueError(f"{importer} imports {name!r}, which is no module of {sources.package!r} under "
                         f"{sources.folder} (a stale import, or a module whose file is missing)")
    return name


def _dependencies(module: str, sources: Sources) -> set:
    kind = sources.kind(module)
    if kind == "compiled":
        return set()
    found = set()
    for level, name, names in _module(module, sources).imports:
        target = _resolve_relative(module, kind, level, name)
        if target is None or target.split(".")[0] != sources.package:
            continue
        if names is None:  # import a.b.c / import_module("a.b.c")
            found |= _as_module(_existing(target, sources, module), sources)
            continue
        for imported in names:
            submodule = f"{target}.{imported}"
            if imported != "*" and sources.kind(submodule) is not None:
                found |= _as_module(submodule, sources)
                continue
            found.add(_existing(target, sources, module))
            exports = _exports(target, sources)
            if imported == "*":
                found.update(exports.values())
            elif imported in exports:
                found.add(exports[imported])
    return found


def _exports(package: str, sources: Sources) -> dict:
    """Name -> module of the lazy-export table (``_EXPORTS``) of ``package``'s ``__init__.py`` ({} if none)."""
    if sources.kind(package) != "package":
        return {}
    return {name: _existing(f"{package}.{target}", sources, package)
            for name, target in _module(package, sources).exports}


def _as_module(name: str, sources: Sources) -> set:
    """A module imported as an object: with a lazy-export table, any of its names may be used later
    (``import deepspin.surrogate as s; s.fit(...)``), so every module of the table counts."""
    return {name, *_exports(name, sources).values()}


def _check_roots(roots, sources: Sources) -> list:
    if isinstance(roots, str):
        raise ValueError(f"roots is a list of module names, got the string {roots!r} (write [{roots!r}])")
    roots = list(roots)
    for root in roots:
        if not isinstance(root, str) or sources.kind(root) is None:
            raise ValueError(f"{root!r} is not a module of {sources.package!r} under {sources.folder} "
                             f"(name it as Python imports it, e.g. '{sources.package}.module')")
    return roots


def module_closure(roots: Iterable[str], *, sources: Sources | None = None) -> tuple[str, ...]:
    """The modules of the package that ``roots`` can reach through import statements, roots included.

    Parameters
    ----------
    roots : iterable of str
        Module names, e.g. ``["deepspin.reproduce.stages"]``.
    sources : Sources, optional
        Where the modules are (default: the installed deepspin package).

    Returns
    -------
    tuple of str
        Sorted module names; the compiled core appears as ``"deepspin._core"``. The rules (relative
        imports, imports inside functions, parent packages) are in the module docstring.
    """
    sources = _DEFAULT if sources is None else sources
    seen = set()
    todo = _check_roots(roots, sources)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(_dependencies(module, sources) - seen)
    return tuple(sorted(seen))


def source_hashes(modules: Iterable[str], *, sources: Sources | None = None) -> dict[str, str]:
    """Module name -> SHA-256 (hex) of its syntax tree without docstrings or positions.

    Comments, docstrings and formatting leave a hash alone, any change to the code changes it, and it is
    the same on Python 3.10 to 3.13. A compiled module maps to :func:`core_source_hash`.
    """
    sources = _DEFAULT if sources is None else sources
    hashes = {}
    for module in _check_roots(modules, sources):
        if sources.kind(module) == "compiled":
            hashes[module] = core_source_hash()
        else:
            hashes[module] = _module(module, sources).sha256
    return hashes


def code_key(roots: Iterable[str], *, sources: Sources | None = None) -> str:
    """16 hex digits of SHA-256 over ``sorted(source_hashes(module_closure(roots)).items())``."""
    hashes = source_hashes(module_closure(roots, sources=sources), sources=sources)
    digest = hashlib.sha256()
    for module, value in sorted(hashes.items()):
        digest.update(f"{module}={value}\n".encode())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------------
# The compiled core.

def csrc_tree_hash(root: Path) -> str:
    """SHA-256 (hex) of every file under ``root/csrc`` and of ``root/CMakeLists.txt``: sorted relative paths
    (``/``-separated), each followed by its size and bytes. ``setup.py`` loads this file by path and stores
    the value in the built core (``deepspin._core.CSRC_SHA256``); standard library only, for that reason."""
    root = Path(root)
    csrc, cmake = root / "csrc", root / "CMakeLists.txt"
    if not csrc.is_dir() or not cmake.is_file():
        raise ValueError(f"{root} is no deepspin source tree (needs csrc/ and CMakeLists.txt)")
    files = {path.relative_to(root).as_posix(): path for path in csrc.rglob("*") if path.is_file()}
    files["CMakeLists.txt"] = cmake
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name].read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def source_tree() -> Path | None:
    """The source tree the deepspin package sits in (an editable install: ``python/deepspin`` next to
    ``csrc/`` and ``CMakeLists.txt``), or None for an installed package."""
    root = _PACKAGE_DIR.parent.parent
    return root if (root / "csrc").is_dir() and (root / "CMakeLists.txt").is_file() else None


def core_source_hash() -> str:
    """The hash of the sources the compiled core was built from (``deepspin._core.CSRC_SHA256``).

    Raises
    ------
    MissingCoreError
        The core cannot be imported (not built).
    StaleCoreError
        The core predates this hash, or the package sits in a source tree whose ``csrc/`` hashes to
        something else (edited since the build).
    """
    try:
        _core = importlib.import_module("deepspin._core")
    except ImportError as exc:
        raise MissingCoreError(f"the compiled core deepspin._core cannot be imported ({exc}); cached results "
                               f"name the sources it was built from, so it is needed: {_REBUILD}") from exc
    built = getattr(_core, "CSRC_SHA256", "")
    if not built:
        raise StaleCoreError(f"the compiled core deepspin._core ({_core.__file__}) was built without the hash "
                             f"of its sources (before deepspin.provenance, or by CMake alone); {_REBUILD}")
    tree = source_tree()
    if tree is not None:
        current = csrc_tree_hash(tree)
        if current != built:
            raise StaleCoreError(f"the compiled core deepspin._core ({_core.__file__}) was built from other "
                                 f"sources than {tree / 'csrc'} (built {built[:12]}, tree now {current[:12]}); "
                                 f"{_REBUILD}")
    return built


# ---------------------------------------------------------------------------------------------------------
# Library versions (recorded and warned about, never part of a key).

#: Key -> distributions that provide it (the first installed one counts).
_DISTRIBUTIONS = {
    "numpy": ("numpy",), "keras": ("keras",), "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-gpu"),
    "jax": ("jax",), "torch": ("torch",), "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "scikit-learn": ("scikit-learn",), "h5py": ("h5py",),
}
_BACKEND_KEYS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy"}


def _version(key: str) -> str | None:
    for distribution in _DISTRIBUTIONS.get(key, (key,)):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def numerical_versions() -> dict[str, str | None]:
    """Versions of Python and of the libraries that compute numbers (None: not installed), read from the
    installed distributions' metadata (nothing is imported). ``keras_backend`` is the backend Keras
    would use (``KERAS_BACKEND``, default ``tensorflow``) and that package's version, e.g.
    ``"tensorflow 2.21.0"``."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    versions.update({key: _version(key) for key in _DISTRIBUTIONS})
    backend = os.environ.get("KERAS_BACKEND", "tensorflow").strip().lower() or "tensorflow"
    backend_version = _version(_BACKEND_KEYS.get(backend, backend))
    versions["keras_backend"] = backend if backend_version is None else f"{backend} {backend_version}"
    return versions


def version_changes(recorded: Mapping, current: Mapping | None = None) -> list[str]:
    """One line per key whose version differs between ``recorded`` and ``current`` (default: the versions
    installed now), e.g. ``"numpy 2.1.0 -> 2.2.1"``; a missing key or None reads ``not installed``."""
    current = numerical_versions() if current is None else current
    lines = []
    for key in sorted(set(recorded) | set(current)):
        old, new = recorded.get(key), current.get(key)
        if old != new:
            lines.append(f"{key} {old or 'not installed'} -> {new or 'not installed'}")
    return lines

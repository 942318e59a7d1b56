"""Hashes of the code a stage runs, so a cached result of older code is never reused.

A stage or artefact declares the code its result depends on as a tuple of names:

- ``"deepspin.hamiltonians"``: a whole module (its file under the deepspin package);
- ``"deepspin.surrogate.train:fit"``: one top-level function, class or assigned name of a module
  (``Class.method`` also works);
- a function object (the stage's own ``run``), hashed from its source.

Each is hashed as its syntax tree with docstrings removed (Python 3.11's ``ast.dump`` without line
numbers, written the same way on every Python), so comments, docstrings, formatting, edits elsewhere
in the file and the Python version leave the hash alone and any change to the code itself changes it.
Files are read without importing them (naming a module of ``deepspin.surrogate`` does not import
Keras). The compiled core (``csrc/``) is not hashed: a change there reaches cached results only
through the deepspin version.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import inspect
import textwrap
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # the deepspin package folder


def module_path(module: str) -> Path:
    """The source file of ``module``: under the deepspin package for ``deepspin.*`` (without importing
    it), else where the import system finds it."""
    parts = module.split(".")
    if parts[0] == "deepspin":
        base = _PACKAGE.joinpath(*parts[1:])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        raise ValueError(f"no source file for module {module!r} under {_PACKAGE}")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ValueError(f"no Python source for module {module!r}")
    return Path(spec.origin)


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


def _normal_form(tree: ast.AST) -> str:
    return _dump(_strip_docstrings(tree))


def _find(tree: ast.Module, qualname: str, where: str) -> ast.AST:
    node: ast.AST = tree
    for part in qualname.split("."):
        matches = [child for child in getattr(node, "body", []) if part in _defined_names(child)]
        if not matches:
            raise ValueError(f"{where} defines no function, class or name {qualname!r}")
        node = matches[-1]  # the last definition wins, as at import
    return node


def _defined_names(node: ast.AST) -> tuple[str, ...]:
    """The names a top-level statement defines: a function, a class, or the targets of an assignment."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (node.name,)
    if isinstance(node, ast.Assign):
        return tuple(t.id for t in node.targets if isinstance(t, ast.Name))
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return (node.target.id,)
    return ()


@functools.cache
def _named_hash(name: str) -> str:
    module, _, qualname = name.partition(":")
    path = module_path(module)
    tree = ast.parse(path.read_text(), filename=str(path))
    node = _find(tree, qualname, f"module {module!r}") if qualname else tree
    return hashlib.sha256(_normal_form(node).encode()).hexdigest()


def _function_hash(function) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return hashlib.sha256(_normal_form(tree).encode()).hexdigest()


def code_hash(code) -> str:
    """16 hex digits of SHA-256 over the normalised source of every entry of ``code`` (names or functions)."""
    digest = hashlib.sha256()
    for entry in code:
        if callable(entry):
            label, value = f"{entry.__module__}:{entry.__qualname__}", _function_hash(entry)
        elif isinstance(entry, str):
            label, value = entry, _named_hash(entry)
        else:
            raise ValueError(f"code entries are 'module' or 'module:name' strings or functions, got {entry!r}")
        digest.update(f"{label}={value}\n".encode())
    return digest.hexdigest()[:16]


def clear_cache() -> None:
    """Forget the hashes of named modules (read again from disk on next use)."""
    _named_hash.cache_clear()

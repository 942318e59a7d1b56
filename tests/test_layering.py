"""Package layering: no import cycles, no deep-learning framework behind any public module but the
surrogates, and a Monte Carlo core that works where the compiled core is missing."""
import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np

import deepspin

PACKAGE = Path(deepspin.__file__).parent
FRAMEWORKS = ("keras", "tensorflow", "jax")


def public_modules():
    """Every module of deepspin but the surrogate package, the compiled core and __main__."""
    names = []
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="deepspin."):
        leaf = info.name.rsplit(".", 1)[-1]
        if info.name.startswith("deepspin.surrogate") or leaf.startswith("_"):
            continue
        names.append(info.name)
    return names


def test_no_public_module_loads_a_framework():
    modules = public_modules()
    assert "deepspin.mc.rules.registry" in modules and "deepspin.sampling.labelled" in modules
    code = ("import importlib, json, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict:
    """Module-level imports between deepspin modules: importing ``a.b.c`` also runs ``a`` and ``a.b``,
    except the importer's own ancestors (already being imported)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)} | {name}
        targets = set()
        for node in ast.parse(path.read_text()).body:  # top level only: lazy imports are not cycles
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                found = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in found:
                parts = target.split(".")
                for i in range(1, len(parts) + 1):
                    prefix = ".".join(parts[:i])
                    if prefix in modules and prefix not in ancestors:
                        targets.add(prefix)
        graph[name] = targets
    return graph


def test_no_import_cycles():
    graph = import_graph()
    assert "deepspin.encoding" in graph["deepspin.sampling.targeted"]
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_library_does_not_import_the_application_layer():
    """cli.py, commands/ and reproduce/ are the application layer: nothing below imports them, and
    reproduce/ (a library of stages) does not import the command-line code either."""
    graph = import_graph()
    application = ("deepspin.cli", "deepspin.commands", "deepspin.reproduce")
    for name, targets in graph.items():
        if not name.startswith(application) and name != "deepspin.__main__":
            assert not [t for t in targets if t.startswith(application)], name
        if name.startswith("deepspin.reproduce"):
            assert not [t for t in targets if t.startswith(("deepspin.cli", "deepspin.commands"))], name


NO_CORE = r"""
import importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "deepspin._core":
            raise ImportError("blocked for the test")
sys.meta_path.insert(0, Block())
import numpy as np
import deepspin, deepspin.mc
from deepspin.mc.philox import philox_words
assert deepspin.mc.philox._core is None
words = philox_words(0x299F31D0A4093822, [0x13198A2E], 0x03707344, 0x85A308D3243F6A88, 1)
r = deepspin.mc.run(deepspin.Ising(3), [1.0, 2.5], chains=5, sweeps=6, burn_in=2, seed=8, start="random",
                    timeseries=True)
print(json.dumps({"words": [int(w) for w in words[0]], "rule": r.rule, "moments": r.moments.tolist(),
                  "configs": r.configs.tolist()}))
"""


def test_mc_runs_without_the_compiled_core():
    """``import deepspin.mc`` degrades like ``import deepspin``: the NumPy rules on NumPy Philox streams,
    which give Random123's known answer and the compiled kernels' very chains."""
    out = subprocess.run([sys.executable, "-c", NO_CORE], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    assert got["words"] == [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]
    assert got["rule"] == "batch"
    compiled = deepspin.mc.run(deepspin.Ising(3), [1.0, 2.5], chains=5, sweeps=6, burn_in=2, seed=8, start="random",
                               backend="cpu", timeseries=True)
    np.testing.assert_array_equal(np.array(got["moments"]), compiled.moments)
    np.testing.assert_array_equal(np.array(got["configs"]), compiled.configs)


def test_numpy_philox_equals_the_compiled_streams():
    from deepspin import _core
    from deepspin.mc.philox import _numpy_words

    chains = np.array([0, 1, 7, 2**32 - 1], dtype=np.int64)
    for seed, purpose, first in [(0, 0, 0), (2**64 - 1, 3, 2**40 + 5), (12345, 1, 17)]:
        np.testing.assert_array_equal(_numpy_words(seed, chains, purpose, first, 5),
                                      _core.philox_words(seed, chains, purpose, first, 5))

"""Cache keys by construction (deepspin.provenance): the import closure found from the source, the hash of
each module's code, the compiled core's build-time hash of csrc/, and the library versions."""
import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from deepspin import provenance
from deepspin.provenance import Sources, StaleCoreError, code_key, module_closure, source_hashes

REPO = Path(__file__).resolve().parents[1]
FAKE_CORE = "f" * 64


def write(folder: Path, files: dict) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


C_SOURCE = '''\
    """Module c: the far end of a -> b -> c."""


    def g(x):
        """Twice x."""
        return 2 * x  # the factor
    '''


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A package ``fakepkg``: a -> b (module level), b -> c (relative import inside a function), d alone,
    a subpackage ``sub`` for the parent rule, a lazy-export package ``lazy``, a compiled ``_core``."""
    root = tmp_path / "fakepkg"
    write(root, {
        "__init__.py": "from . import a\n",
        "a.py": "from .b import f\n\n\ndef h():\n    return f(1)\n",
        "b.py": "import os\n\n\ndef f(x):\n    from .c import g\n    return g(x) + len(os.sep)\n",
        "c.py": C_SOURCE,
        "d.py": "import numpy as np\n\nVALUE = np.pi\n",
        "sub/__init__.py": "NAME = 1\n",
        "sub/x.py": "Y = 2\n",
        "sub/w.py": "from .. import d\nfrom ..sub import x\n",
        "uses_submodule.py": "from fakepkg.sub import x\n",
        "uses_name.py": "from fakepkg.sub import NAME\n",
        "uses_dotted.py": "import fakepkg.sub.x\n",
        "uses_dynamic.py": "import importlib\n\n\ndef load():\n    return importlib.import_module('fakepkg.d')\n",
        "lazy/__init__.py": "_EXPORTS = {'fit': 'train', 'load': 'load'}\n\n\ndef __getattr__(name):\n    raise "
                            "AttributeError(name)\n",
        "lazy/train.py": "def fit():\n    return 0\n",
        "lazy/load.py": "def load():\n    return 1\n",
        "uses_lazy.py": "def run():\n    from .lazy import fit\n    return fit()\n",
        "uses_lazy_package.py": "from . import lazy\n\n\ndef run():\n    return lazy.fit()\n",
        "uses_core.py": "from ._core import energy\n",
        "broken.py": "from .missing import thing\n",
    })
    monkeypatch.setattr(provenance, "core_source_hash", lambda: FAKE_CORE)
    return Sources(package="fakepkg", root=root)


def test_fake_closure_follows_imports_inside_functions_and_relative(fake):
    assert module_closure(["fakepkg.a"], sources=fake) == ("fakepkg.a", "fakepkg.b", "fakepkg.c")
    assert module_closure(["fakepkg.d"], sources=fake) == ("fakepkg.d",)
    assert module_closure(["fakepkg.sub.w"], sources=fake) == ("fakepkg.d", "fakepkg.sub.w", "fakepkg.sub.x")
    assert module_closure(["fakepkg.uses_dynamic"], sources=fake) == ("fakepkg.d", "fakepkg.uses_dynamic")
    assert module_closure(["fakepkg.d", "fakepkg.a"], sources=fake) == (
        "fakepkg.a", "fakepkg.b", "fakepkg.c", "fakepkg.d")


def test_fake_code_edit_changes_only_the_keys_that_reach_it(fake):
    key_a, key_d = code_key(["fakepkg.a"], sources=fake), code_key(["fakepkg.d"], sources=fake)
    hash_c = source_hashes(["fakepkg.c"], sources=fake)["fakepkg.c"]
    c = fake.root / "c.py"
    c.write_text(c.read_text().replace("2 * x", "3 * x"))
    assert code_key(["fakepkg.a"], sources=fake) != key_a
    assert source_hashes(["fakepkg.c"], sources=fake)["fakepkg.c"] != hash_c
    assert code_key(["fakepkg.d"], sources=fake) == key_d


def test_fake_docstring_comment_and_layout_edits_change_nothing(fake):
    key_a = code_key(["fakepkg.a"], sources=fake)
    c = fake.root / "c.py"
    edited = c.read_text().replace("Twice x.", "Two times x, as the paper writes it.").replace(
        "# the factor", "# the factor of the doubling").replace("return 2 * x", "return (2\n            * x)")
    c.write_text("# a new comment\n" + edited.replace("far end", "last module"))
    assert code_key(["fakepkg.a"], sources=fake) == key_a


def test_fake_parent_package_counts_only_when_a_name_of_it_is_imported(fake):
    # a submodule named in `from pkg.sub import x` or `import pkg.sub.x`: pkg.sub/__init__ does not count
    assert module_closure(["fakepkg.uses_submodule"], sources=fake) == ("fakepkg.sub.x", "fakepkg.uses_submodule")
    assert module_closure(["fakepkg.uses_dotted"], sources=fake) == ("fakepkg.sub.x", "fakepkg.uses_dotted")
    # a name defined in pkg/sub/__init__.py: that file counts
    assert module_closure(["fakepkg.uses_name"], sources=fake) == ("fakepkg.sub", "fakepkg.uses_name")
    key = code_key(["fakepkg.uses_name"], sources=fake)
    (fake.root / "sub" / "__init__.py").write_text("NAME = 3\n")
    assert code_key(["fakepkg.uses_name"], sources=fake) != key


def test_fake_lazy_exports_count_the_module_that_defines_the_name(fake):
    assert module_closure(["fakepkg.uses_lazy"], sources=fake) == (
        "fakepkg.lazy", "fakepkg.lazy.train", "fakepkg.uses_lazy")
    # the package as a whole: any name of its table may be used
    assert module_closure(["fakepkg.uses_lazy_package"], sources=fake) == (
        "fakepkg.lazy", "fakepkg.lazy.load", "fakepkg.lazy.train", "fakepkg.uses_lazy_package")


def test_fake_core_entry_hashes_as_the_core(fake, monkeypatch):
    assert module_closure(["fakepkg.uses_core"], sources=fake) == ("fakepkg._core", "fakepkg.uses_core")
    assert source_hashes(["fakepkg._core"], sources=fake) == {"fakepkg._core": FAKE_CORE}
    key = code_key(["fakepkg.uses_core"], sources=fake)
    monkeypatch.setattr(provenance, "core_source_hash", lambda: "0" * 64)
    assert code_key(["fakepkg.uses_core"], sources=fake) != key


def test_bad_names_are_refused_with_the_reason(fake):
    with pytest.raises(ValueError, match="no module of 'fakepkg'"):
        module_closure(["fakepkg.broken"], sources=fake)
    with pytest.raises(ValueError, match="is not a module of 'fakepkg'"):
        module_closure(["fakepkg.nothing"], sources=fake)
    with pytest.raises(ValueError, match="list of module names"):
        module_closure("fakepkg.a", sources=fake)


def test_key_is_sha256_over_sorted_module_hashes(fake):
    import hashlib

    hashes = {"fakepkg.a": None, "fakepkg.b": None, "fakepkg.c": None}
    for name in hashes:  # each module hashed here from its own parse, independently of the cache
        tree = provenance._strip_docstrings(__import__("ast").parse((fake.root / f"{name[8:]}.py").read_text()))
        hashes[name] = hashlib.sha256(provenance._dump(tree).encode()).hexdigest()
    text = "".join(f"{name}={value}\n" for name, value in sorted(hashes.items()))
    assert code_key(["fakepkg.a"], sources=fake) == hashlib.sha256(text.encode()).hexdigest()[:16]


# ---- the real package --------------------------------------------------------------------------------

INFERENCE = "deepspin.surrogate.inference"


@pytest.fixture
def fixed_core(monkeypatch):
    """Keys of the real package without depending on the state of the local build."""
    monkeypatch.setattr(provenance, "core_source_hash", lambda: FAKE_CORE)


def test_real_closures_find_lazy_and_function_level_imports():
    operator = module_closure(["deepspin.surrogate.operator"])
    assert INFERENCE in operator and "deepspin._core" in operator
    learned = module_closure(["deepspin.reproduce.learned"])
    # `from ..surrogate import TrainConfig, fit` inside a function reaches train.py through surrogate/_EXPORTS
    assert {"deepspin.surrogate.train", "deepspin.surrogate.operator", INFERENCE} <= set(learned)
    # split.py imports `..encoding` (and numpy, hashlib, Crypto); encoding.py imports numpy only
    assert module_closure(["deepspin.datasets.split"]) == ("deepspin.datasets.split", "deepspin.encoding")


def test_real_key_follows_an_edit_of_inference(fixed_core):
    assert INFERENCE not in module_closure(["deepspin.sampling.simple"])
    text = Sources().path(INFERENCE).read_text()
    edited = Sources(overrides={INFERENCE: text + "\nEXTRA = 1\n"})
    docstring_only = Sources(overrides={INFERENCE: text.replace('"""', '""" Edited.', 1)})
    for root in ("deepspin.surrogate.operator", "deepspin.reproduce.learned"):
        assert code_key([root], sources=edited) != code_key([root])
        assert code_key([root], sources=docstring_only) == code_key([root])
    for root in ("deepspin.sampling.simple", "deepspin.datasets.split"):
        assert code_key([root], sources=edited) == code_key([root])


def test_real_key_follows_the_core_hash(monkeypatch):
    assert "deepspin._core" in module_closure(["deepspin.sampling.simple"])
    assert "deepspin._core" not in module_closure(["deepspin.datasets.split"])
    keys = []
    for value in ("a" * 64, "b" * 64):
        monkeypatch.setattr(provenance, "core_source_hash", lambda value=value: value)
        keys.append((code_key(["deepspin.sampling.simple"]), code_key(["deepspin.datasets.split"])))
    assert keys[0][0] != keys[1][0] and keys[0][1] == keys[1][1]


def test_naming_surrogate_modules_imports_no_framework():
    code = ("import json, sys\nfrom deepspin import provenance\n"
            "provenance.core_source_hash = lambda: '0' * 64\n"
            "provenance.code_key(['deepspin.reproduce.learned', 'deepspin.surrogate.train'])\n"
            "provenance.numerical_versions()\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('keras', 'tensorflow', 'jax', 'torch', 'onnxruntime', 'sklearn'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# ---- the compiled core -------------------------------------------------------------------------------

def _built_core():
    if provenance.source_tree() is None:
        pytest.skip("deepspin is not installed from a source tree (no csrc/ next to the package)")
    try:
        from deepspin import _core
    except ImportError as exc:
        pytest.skip(f"the compiled core is not built here ({exc})")
    return _core


def test_built_core_carries_the_hash_of_its_sources():
    core = _built_core()
    assert provenance.source_tree() == REPO
    assert core.CSRC_SHA256 == provenance.csrc_tree_hash(REPO)
    assert provenance.core_source_hash() == core.CSRC_SHA256


def test_tree_hash_sees_every_byte_and_file(tmp_path):
    shutil.copytree(REPO / "csrc", tmp_path / "csrc")
    shutil.copy(REPO / "CMakeLists.txt", tmp_path / "CMakeLists.txt")
    original = provenance.csrc_tree_hash(tmp_path)
    assert original == provenance.csrc_tree_hash(REPO)
    target = tmp_path / "csrc" / "philox.hpp"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 1
    target.write_bytes(bytes(data))
    flipped = provenance.csrc_tree_hash(tmp_path)
    (tmp_path / "csrc" / "cpu" / "new.cpp").write_text("")
    added = provenance.csrc_tree_hash(tmp_path)
    (tmp_path / "CMakeLists.txt").write_text((tmp_path / "CMakeLists.txt").read_text() + "\n")
    assert len({original, flipped, added, provenance.csrc_tree_hash(tmp_path)}) == 4
    with pytest.raises(ValueError, match="no deepspin source tree"):
        provenance.csrc_tree_hash(tmp_path / "csrc")


def test_setup_loads_the_same_hash_function_by_path():
    spec = importlib.util.spec_from_file_location("_provenance_by_path", REPO / "python" / "deepspin" / "provenance.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        assert module.csrc_tree_hash(REPO) == provenance.csrc_tree_hash(REPO)
    finally:
        del sys.modules[spec.name]
    assert "csrc_hash()" in (REPO / "setup.py").read_text()


def test_stale_core_is_refused(tmp_path, monkeypatch):
    core = _built_core()
    shutil.copytree(REPO / "csrc", tmp_path / "csrc")
    shutil.copy(REPO / "CMakeLists.txt", tmp_path / "CMakeLists.txt")
    monkeypatch.setattr(provenance, "source_tree", lambda: tmp_path)
    assert provenance.core_source_hash() == core.CSRC_SHA256
    with (tmp_path / "csrc" / "lattice.hpp").open("a") as handle:
        handle.write("// edited\n")
    with pytest.raises(StaleCoreError, match=r"other sources.*pip install -e \."):
        provenance.core_source_hash()
    monkeypatch.setattr(core, "CSRC_SHA256", "")
    with pytest.raises(StaleCoreError, match="without the hash"):
        provenance.core_source_hash()


def test_missing_core_is_refused(monkeypatch):
    monkeypatch.setitem(sys.modules, "deepspin._core", None)
    with pytest.raises(provenance.MissingCoreError, match="cannot be imported"):
        provenance.core_source_hash()


# ---- library versions --------------------------------------------------------------------------------

def test_version_changes_lists_each_difference():
    recorded = {"python": "3.11.7", "numpy": "2.1.0", "jax": None, "torch": "2.5.0"}
    current = {"python": "3.11.7", "numpy": "2.2.1", "jax": "0.4.30", "torch": None}
    assert provenance.version_changes(recorded, current) == [
        "jax not installed -> 0.4.30", "numpy 2.1.0 -> 2.2.1", "torch 2.5.0 -> not installed"]
    assert provenance.version_changes(current, dict(current)) == []


def test_numerical_versions_read_the_installed_distributions(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    versions = provenance.numerical_versions()
    assert versions["numpy"] == np.__version__
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert versions["keras_backend"] == f"numpy {np.__version__}"
    assert set(versions) == {"python", "numpy", "keras", "keras_backend", "tensorflow", "jax", "torch",
                             "onnxruntime", "scikit-learn", "h5py"}
    monkeypatch.delenv("KERAS_BACKEND")
    assert provenance.numerical_versions()["keras_backend"].split()[0] == "tensorflow"
    assert provenance.version_changes(provenance.numerical_versions()) == []


def _other_pythons():
    """Other CPython interpreters on this machine (pyenv's, or python3.X on the PATH), by version."""
    import shutil

    found = {}
    for minor in range(10, 15):
        if minor == sys.version_info[1]:
            continue
        path = shutil.which(f"python3.{minor}")
        for candidate in sorted(Path.home().glob(f".pyenv/versions/3.{minor}.*/bin/python3")) + ([Path(path)] if path else []):
            found.setdefault(f"3.{minor}", str(candidate))
    return found


_HASH_SCRIPT = (
    "import importlib.util, json, sys\n"
    "from pathlib import Path\n"
    "spec = importlib.util.spec_from_file_location('provenance', sys.argv[1])\n"
    "p = importlib.util.module_from_spec(spec); sys.modules['provenance'] = p; spec.loader.exec_module(p)\n"
    "S = p.Sources(root=Path(sys.argv[2]))\n"
    "names = [m for m in p.module_closure(sys.argv[3:], sources=S) if m != 'deepspin._core']\n"
    "print(json.dumps(p.source_hashes(names, sources=S), sort_keys=True))\n"
)


def test_module_hashes_are_the_same_on_every_python():
    """The keys hash a normal form of the syntax tree (Python 3.11's ``ast.dump``, written the same way on
    3.12, which adds ``type_params=[]``, and 3.13, which drops empty lists), so a GPU machine's Python finds
    the models trained here. Other interpreters are used where this machine has them."""
    import ast
    import json
    import subprocess

    package = Path(provenance.__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        if sys.version_info[:2] == (3, 11):
            assert provenance._dump(tree) == ast.dump(tree), path
    roots = ["deepspin.reproduce.learned", "deepspin.reproduce.learned_phases"]
    here = json.dumps(provenance.source_hashes([m for m in provenance.module_closure(roots) if m != "deepspin._core"]),
                      sort_keys=True)
    others = _other_pythons()
    for version, python in others.items():
        out = subprocess.run([python, "-c", _HASH_SCRIPT, provenance.__file__, str(package), *roots],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip() == here, f"Python {version} hashes the code differently"
    if not others:
        pytest.skip("no other Python interpreter on this machine to compare with (the 3.11 format was checked)")

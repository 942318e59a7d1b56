"""Build deepspin: a CMake-built pybind11 core (``deepspin._core``) plus pure-Python packages.

Environment variables read at build time:

- ``DEEPSPIN_CUDA``: ``1`` to require CUDA kernels, ``0`` to build without them; unset means
  "build CUDA kernels if a CUDA compiler is found".
- ``DEEPSPIN_CUDA_ARCHS``: CMake CUDA architectures, default ``80-real;90`` (sm_80 and sm_90
  SASS plus compute_90 PTX for newer GPUs).
- ``DEEPSPIN_BUILD_TYPE``: CMake build type, default ``Release``.

The CUDA choice, the architectures and the hash of the core's sources (``csrc/`` and
``CMakeLists.txt``, :func:`deepspin.provenance.csrc_tree_hash`, stored in the module as
``deepspin._core.CSRC_SHA256``) are passed to CMake on *every* configure, so a stale CMake cache in
``build/`` never decides the build and cached results name the sources the core was built from.
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def read_version() -> str:
    text = (ROOT / "python" / "deepspin" / "_version.py").read_text()
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def csrc_hash() -> str:
    """SHA-256 of csrc/ and CMakeLists.txt by deepspin.provenance.csrc_tree_hash (that file loaded by
    path: the package itself is not importable before it is built)."""
    path = ROOT / "python" / "deepspin" / "provenance.py"
    spec = importlib.util.spec_from_file_location("_deepspin_provenance", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.csrc_tree_hash(ROOT)


def find_nvcc() -> str | None:
    for candidate in (os.environ.get("CUDACXX"), shutil.which("nvcc"), "/usr/local/cuda/bin/nvcc"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def cuda_choice() -> tuple[bool, str | None]:
    """Return (build_cuda, nvcc_path) from DEEPSPIN_CUDA and the compilers present."""
    wanted = os.environ.get("DEEPSPIN_CUDA", "auto").strip().lower()
    nvcc = find_nvcc()
    if wanted in ("0", "off", "false", "no"):
        return False, None
    if wanted in ("1", "on", "true", "yes") and nvcc is None:
        raise RuntimeError("DEEPSPIN_CUDA=1 but no nvcc was found (set CUDACXX or put nvcc on PATH)")
    return nvcc is not None, nvcc


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: CMakeExtension) -> None:
        import pybind11

        out_dir = Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build_dir = Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        with_cuda, nvcc = cuda_choice()
        archs = os.environ.get("DEEPSPIN_CUDA_ARCHS", "80-real;90")
        args = [
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={out_dir}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            f"-DCMAKE_BUILD_TYPE={os.environ.get('DEEPSPIN_BUILD_TYPE', 'Release')}",
            f"-DDEEPSPIN_VERSION={read_version()}",
            f"-DDEEPSPIN_CSRC_SHA256={csrc_hash()}",
            f"-DDEEPSPIN_CUDA={'ON' if with_cuda else 'OFF'}",
            f"-DCMAKE_CUDA_ARCHITECTURES={archs}",
        ]
        if with_cuda:
            args.append(f"-DCMAKE_CUDA_COMPILER={nvcc}")
        if shutil.which("ninja") and not (build_dir / "Makefile").exists():
            args.append("-GNinja")
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), *args], check=True)
        jobs = str(os.cpu_count() or 2)
        subprocess.run(["cmake", "--build", str(build_dir), "--parallel", jobs], check=True)


setup(
    name="deepspin",
    version=read_version(),
    description="Exact energies of 2-D lattice spin models (CUDA/C++/NumPy) and neural-network surrogates",
    long_description=(ROOT / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    package_dir={"": "python", "deepspin.surrogate": "surrogate"},
    packages=find_packages(where="python", exclude=["deepspin.surrogate*"])
    + ["deepspin.surrogate"] + [f"deepspin.surrogate.{p}" for p in find_packages(where="surrogate")],
    package_data={"deepspin": ["py.typed", "_core.pyi"], "deepspin.reproduce": ["paper.json", "claims.json", "profiles_data/*.json"]},
    ext_modules=[CMakeExtension("deepspin._core")],
    cmdclass={"build_ext": CMakeBuild},
    install_requires=["numpy>=1.24", "h5py>=3.8", "tqdm>=4.60", "matplotlib>=3.6", "threadpoolctl>=3.1",
                      "dask[distributed]>=2024.8"],
    extras_require={
        "cuda": ["cupy-cuda13x>=13"],
        # Keras 3 comes with TensorFlow; TensorBoard for the training logs; scikit-learn for the baselines;
        # ONNX Runtime (+ onnx to build graphs) is the fast CPU inference runtime of deepspin.surrogate.inference,
        # tf2onnx what Keras needs for `deepspin export --format onnx` and ONNX Runtime rows of other models.
        "surrogate": ["tensorflow>=2.21", "keras>=3", "tensorboard>=2.21", "scikit-learn>=1.4",
                      "onnxruntime>=1.18", "onnx>=1.16", "tf2onnx>=1.16"],
        # pytest-xdist runs the suite in two processes (README): 555 s -> 418 s on 2 cores.
        "test": ["pytest>=7", "pytest-xdist>=3.5", "hypothesis>=6", "pycryptodome>=3.15", "tensorflow>=2.21",
                 "keras>=3", "tensorboard>=2.21", "scipy>=1.9", "scikit-learn>=1.4", "jax>=0.4.30",
                 "onnxruntime>=1.18", "onnx>=1.16", "tf2onnx>=1.16"],
    },
    entry_points={"console_scripts": ["deepspin = deepspin.cli:main"]},
    zip_safe=False,
)

"""The ``deepspin`` command line (also ``python -m deepspin``).

Each command group lives in a module of :mod:`deepspin.commands` exposing ``register(subparsers)``;
a command's handler takes the parsed arguments and returns an exit code. Bad input ends with a
one-line message on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from ._version import __version__
from .campaign.engine import CampaignError
from .errors import BackendUnavailableError
from .io import release_outputs

#: Modules of deepspin.commands that add subcommands, in --help order.
COMMAND_MODULES = ("engine", "datasets", "mc", "surrogate", "interpret", "reproduce")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepspin",
        description="Exact energies of 2-D lattice spin models, datasets, Monte Carlo and NN surrogates.",
    )
    parser.add_argument("--version", action="version", version=f"deepspin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"deepspin.commands.{name}").register(sub)
    return parser


def has_nvidia_device() -> bool:
    """True where the NVIDIA driver exposes a device (``/dev/nvidia0`` or ``/proc/driver/nvidia``)."""
    return os.path.exists("/dev/nvidia0") or os.path.exists("/proc/driver/nvidia/version")


def quiet_tensorflow() -> None:
    """Hide TensorFlow's start-up chatter if a command loads it (set before TensorFlow is imported).

    Warnings are hidden everywhere (level 2). On a machine without an NVIDIA device TensorFlow's CUDA
    probe still logs ``failed call to cuInit ... (303)`` as an error, so there its C++ errors are hidden
    too (level 3); with a GPU they stay visible. A value the user set is kept.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if has_nvidia_device() else "3")


def main(argv: list[str] | None = None) -> int:
    quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:  # e.g. `deepspin energy ... | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, BackendUnavailableError, OSError, CampaignError) as exc:  # OSError: missing file, disk full
        print(f"deepspin {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"deepspin {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        release_outputs()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Train the extensive surrogates shipped in models/ (Ising on 8x8; screened Coulomb on 8x8 + 16x16).

See :func:`deepspin.surrogate.pretrained.train_extensive_model` for data and settings. Writes
``models/<hamiltonian>_extensive.keras`` and its JSON card.

    PYTHONPATH=python python bench/train_extensive.py [--hamiltonian ising|screened-coulomb] [--epochs N]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

from deepspin.surrogate.pretrained import EXTENSIVE_MODELS, train_extensive_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hamiltonian", default="ising", choices=tuple(EXTENSIVE_MODELS))
    parser.add_argument("--uniform", type=int, help="uniform configurations per training size (default: the shipped model's)")
    parser.add_argument("--chains", type=int, help="Metropolis chains per temperature and size (default: the shipped model's)")
    parser.add_argument("--epochs", type=int, help="default: the shipped model's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", help="default models/<hamiltonian>_extensive.keras")
    args = parser.parse_args()
    output = args.output or ROOT / "models" / f"{args.hamiltonian.replace('-', '_')}_extensive.keras"
    command = harness.rerun_command(__file__, sys.argv[1:])
    card = train_extensive_model(args.hamiltonian, output, n_uniform=args.uniform, chains=args.chains,
                                 epochs=args.epochs, seed=args.seed, command=command)
    print(json.dumps(card["test_fresh_configs"], indent=2))


if __name__ == "__main__":
    main()

"""Train the small pretrained surrogate shipped in models/: screened Coulomb, 8x8, energy regression.

See :func:`deepspin.surrogate.pretrained.train_speedup_model` for the data and the training
setting. Writes ``models/screened_coulomb_L8.keras`` and its card
``models/screened_coulomb_L8.json`` (command, sizes, epochs, test median |error|).

    PYTHONPATH=python python bench/train_screened_coulomb_L8.py [--train 100000 --test 20000 --epochs 40]
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

from deepspin.surrogate.pretrained import train_speedup_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hamiltonian", default="screened-coulomb", choices=("screened-coulomb", "sinusoidal-coulomb"))
    parser.add_argument("--train", type=int, default=100_000)
    parser.add_argument("--test", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", help="default models/<hamiltonian>_L8.keras")
    args = parser.parse_args()
    output = args.output or ROOT / "models" / f"{args.hamiltonian.replace('-', '_')}_L8.keras"
    command = harness.rerun_command(__file__, sys.argv[1:])
    card = train_speedup_model(args.hamiltonian, output, args.train, args.test, args.epochs, args.patience,
                               args.seed, command=command)
    print(json.dumps(card["test"], indent=2))


if __name__ == "__main__":
    main()

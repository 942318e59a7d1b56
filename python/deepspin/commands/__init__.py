"""Subcommands of the ``deepspin`` CLI, one module per area, each with ``register(subparsers)``."""

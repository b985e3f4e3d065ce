"""CLI sub-commands; each module defines ``register(subparsers)`` (see :mod:`riskscore.cli`)."""

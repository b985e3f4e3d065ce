"""Command-line entry point ``riskscore``.

Sub-commands live in :mod:`riskscore.commands`: each module there defines
``register(subparsers)`` which adds its parser and sets ``func`` (a callable taking the
parsed ``argparse.Namespace`` and returning an exit code). They are discovered
automatically, so adding a command means adding one module.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from riskscore import __version__
from riskscore.errors import RiskscoreError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskscore",
        description=(
            "医保基金监管风险评分与“双随机、一公开”抽查工具 — risk scores, tiers, a verifiable "
            "random inspection draw and post-inspection estimates for medical-insurance "
            "fund supervision."
        ),
    )
    parser.add_argument("--version", action="version", version=f"riskscore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import riskscore.commands as commands_pkg

    for info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"riskscore.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = args.func(args)
    except RiskscoreError as exc:
        print(f"riskscore {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"riskscore {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if type(exc).__name__ != "OutOfMemoryException":
            raise
        # DuckDB could not stay within --memory (an operator that cannot spill)
        limit = getattr(args, "memory", None) or "default"
        print(
            f"riskscore {args.command}: error: the engine ran out of memory (--memory "
            f"{limit}): {str(exc).splitlines()[0]}; expected a larger --memory (e.g. "
            "--memory 8GB or 40%) for data of this size",
            file=sys.stderr,
        )
        return 2
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

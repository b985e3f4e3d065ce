"""``riskscore contract``: print the data contract."""

from __future__ import annotations

import argparse
import sys

from riskscore.contract import contract_markdown


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("contract", help="print the data contract (数据契约) as Markdown")
    p.add_argument("--markdown", action="store_true", help="Markdown output (default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(contract_markdown())
    return 0

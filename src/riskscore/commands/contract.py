"""``riskscore contract``: print the data contract."""

from __future__ import annotations

import argparse
import sys

from riskscore.contract import contract_markdown


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "contract",
        help="输出数据契约（Markdown） / print the data contract as Markdown",
        description=(
            "输出数据契约：每张输入表及其字段、中文名、类型、代码取值和必填要求（Markdown，"
            "docs/data_contract.md 即由此生成）。 / Print the data contract: every input table, "
            "its columns with Chinese names, types, codes and requirements, as Markdown (the "
            "source of docs/data_contract.md)."
        ),
    )
    p.add_argument(
        "--markdown", action="store_true", help="Markdown格式（默认） / Markdown output (default)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(contract_markdown())
    return 0

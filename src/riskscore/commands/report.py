"""``riskscore report NAME [-p KEY VALUE …] [--out reports/]``: run a report template."""

from __future__ import annotations

import argparse

from riskscore.reports.runner import TEMPLATES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="run a report notebook and render HTML (报告：年度计划/机构画像/结果分析/结果公告)",
        description=(
            "Execute a report template with papermill into a new dated notebook "
            "(<out>/<name>_<YYYYmmdd_HHMMSS>.ipynb) and render HTML without code cells next to "
            "it; public_notice also writes the notice CSV. Templates: "
            + ", ".join(TEMPLATES)
            + ". List a template's parameters with --list-params."
        ),
    )
    p.add_argument("name", choices=TEMPLATES, help="report template")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("KEY", "VALUE"),
        default=[],
        help="set a template parameter (repeatable), e.g. -p lang en -p score_dir out/score",
    )
    p.add_argument("--out", default="reports", help="output folder (default: reports/)")
    p.add_argument("--list-params", action="store_true", help="print the parameters and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from riskscore.reports.runner import run_report, template_parameters

    if args.list_params:
        for key, value in template_parameters(args.name).items():
            print(f"{key} = {value!r}")
        return 0
    params: dict[str, str] = {}
    for key, value in args.parameter:
        params[key] = value
    res = run_report(args.name, params, args.out, progress=not args.no_progress)
    for f in res.files:
        print(f)
    return 0

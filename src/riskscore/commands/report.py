"""``riskscore report NAME [-p KEY VALUE …] [--out reports/]``: run a report template."""

from __future__ import annotations

import argparse

from riskscore.reports.runner import TEMPLATES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="报告：年度计划/机构画像/结果分析/结果公告 / run a report notebook and render HTML",
        description=(
            "运行报告模板，生成带日期的笔记本和不含代码的HTML报告；结果公告另生成CSV。 / "
            "Execute a report template with papermill into a new dated notebook "
            "(<out>/<name>_<YYYYmmdd_HHMMSS>.ipynb) and render HTML without code cells next to "
            "it; public_notice also writes the notice CSV. Templates: "
            + ", ".join(TEMPLATES)
            + ". List a template's parameters with --list-params."
        ),
    )
    p.add_argument("name", choices=TEMPLATES, help="报告模板 / report template")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("KEY", "VALUE"),
        default=[],
        help="设置报告参数（可重复） / set a template parameter (repeatable), e.g. -p lang en",
    )
    p.add_argument("--out", default="reports", help="输出目录 / output folder (default: reports/)")
    p.add_argument(
        "--list-params", action="store_true", help="列出参数后退出 / print the parameters and exit"
    )
    p.add_argument("--no-progress", action="store_true", help="不显示进度条 / no progress bar")
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

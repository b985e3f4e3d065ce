"""``riskscore notice``: public notices for 一公开 (plan notice, draw/task notice)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "notice",
        help="一公开：抽查计划公告和抽查任务公告（CSV与HTML，不含个人信息） / plan and draw "
        "notices as CSV and HTML, no personal data",
        description=(
            "生成抽查计划公告（--plan）和抽查任务公告（--draw），CSV（带BOM，Excel可直接打开）和HTML各一份；"
            "不含参保人信息，检查人员仅公布人数（政策允许时公布姓名），任务公告附核验方法。 / Write "
            "the plan notice (--plan) and the draw notice (--draw) as CSV (with BOM) and HTML; no "
            "personal data, inspectors as a count (names only when the policy allows), the draw "
            "notice carries the verification steps."
        ),
    )
    p.add_argument(
        "--plan", type=Path, default=None, help="计划目录（计划公告） / PLAN_DIR (plan notice)"
    )
    p.add_argument(
        "--draw", type=Path, default=None, help="抽取目录（任务公告） / DRAW_DIR (draw notice)"
    )
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="数据目录（机构名称） / data folder (institution names)",
    )
    p.add_argument("--out", type=Path, required=True, help="输出目录 / output folder")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="公告语言 / notice language")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from riskscore.draw.notices import draw_notice, plan_notice
    from riskscore.errors import RiskscoreError

    if args.plan is None and args.draw is None:
        raise RiskscoreError("give --plan PLAN_DIR and/or --draw DRAW_DIR")
    made = []
    if args.plan is not None:
        made += plan_notice(args.plan, args.out, lang=args.lang)
    if args.draw is not None:
        made += draw_notice(args.draw, args.out, lang=args.lang, data_dir=args.data)
    for p in made:
        print(p)
    return 0

"""``riskscore notice``: public notices for 一公开 (plan notice, draw/task notice)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "notice",
        help="plan and draw notices as CSV and HTML (一公开), no personal data",
    )
    p.add_argument("--plan", type=Path, default=None, help="PLAN_DIR (plan notice)")
    p.add_argument("--draw", type=Path, default=None, help="DRAW_DIR (draw notice)")
    p.add_argument("--data", type=Path, default=None, help="data folder (institution names)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
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

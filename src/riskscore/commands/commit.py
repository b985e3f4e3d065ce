"""``riskscore commit``: publish the commitment before the randomness is known (公布承诺)."""

from __future__ import annotations

import argparse
from pathlib import Path

from riskscore.commands.draw import add_draw_input_options

DEFAULT_FALLBACK = (
    "若指定开奖未按期公布，则使用其后第一期同一彩票的开奖号码 / if the named result is not "
    "published on time, the next draw of the same lottery"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "commit",
        help="公布承诺：抽取输入的SHA-256和事先指定的随机数来源 / publish the commitment (SHA-256 of "
        "the inputs) and the future randomness",
        description=(
            "在开奖前公布：把抽取输入（机构名单及等级和概率、检查人员、回避名单、政策、程序版本）复制到 "
            "DRAW_DIR/inputs/，并在 DRAW_DIR/commitment.json 中写入其SHA-256和指定的未来公开随机数。 / "
            "Copy the canonical inputs (targets with tiers and π, inspector pool, conflicts, "
            "policy, code version) into DRAW_DIR/inputs/ and write DRAW_DIR/commitment.json with "
            "their SHA-256 (conflicts salted) and the named future public randomness."
        ),
    )
    p.add_argument("--plan", type=Path, required=True, help="计划目录 / plan folder (PLAN_DIR)")
    p.add_argument(
        "--data", type=Path, default=None, help="数据目录 / data folder (default: the plan's)"
    )
    p.add_argument("--out", type=Path, required=True, help="抽取目录 / draw folder (DRAW_DIR)")
    p.add_argument(
        "--randomness-source",
        required=True,
        help="未来的公开随机数来源，如 '福利彩票双色球 2025-03-30 开奖号码' / the future public "
        "randomness, e.g. a named lottery draw or 'drand round N'",
    )
    p.add_argument(
        "--fallback", default=DEFAULT_FALLBACK, help="备用随机数来源 / fallback randomness source"
    )
    p.add_argument(
        "--round",
        default=None,
        help="批次序号或名称（默认1） / round index (1-based) or name; default 1",
    )
    add_draw_input_options(p)
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="提示语言 / message language")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from riskscore.draw.bundle import build_inputs, write_commitment
    from riskscore.outputs import check_out_dir

    check_out_dir(args.out, "--out", ("commitment.json",))
    inputs = build_inputs(
        args.plan, args.data, args.round, args.draw_date, args.previous, args.salt
    )
    rec = write_commitment(args.out, inputs, args.randomness_source, args.fallback)
    path = args.out / "commitment.json"
    if getattr(args, "lang", "zh") == "zh":
        print(f"承诺哈希：{rec['commitment_sha256']}")
        print(f"随机数来源：{rec['randomness_source']}")
        print(f"已写入 {path}；请在开奖前公布承诺哈希和随机数来源。")
    else:
        print(f"commitment sha256: {rec['commitment_sha256']}")
        print(f"randomness source: {rec['randomness_source']}")
        print(f"written {path}; publish it before the randomness is known.")
    return 0

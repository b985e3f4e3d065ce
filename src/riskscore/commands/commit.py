"""``riskscore commit``: publish the commitment before the randomness is known (公布承诺)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_FALLBACK = (
    "若指定开奖未按期公布，则使用其后第一期同一彩票的开奖号码 / if the named result is not "
    "published on time, the next draw of the same lottery"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "commit",
        help="publish the commitment (SHA-256 of the canonical inputs) and the future randomness",
        description=(
            "Copy the canonical inputs (targets with tiers and π, inspector pool, conflicts, "
            "policy, code version) into DRAW_DIR/inputs/ and write DRAW_DIR/commitment.json with "
            "their SHA-256 (conflicts salted) and the named future public randomness."
        ),
    )
    p.add_argument("--plan", type=Path, required=True, help="PLAN_DIR")
    p.add_argument("--data", type=Path, default=None, help="data folder (default: the plan's)")
    p.add_argument("--out", type=Path, required=True, help="DRAW_DIR")
    p.add_argument(
        "--randomness-source",
        required=True,
        help="the future public randomness, e.g. '福利彩票双色球 2026-01-15 开奖号码' or 'drand round N'",
    )
    p.add_argument("--fallback", default=DEFAULT_FALLBACK, help="fallback randomness source")
    p.add_argument("--round", default=None, help="round index (1-based) or name; default 1")
    p.add_argument(
        "--draw-date", default=None, help="date for certificate validity (default: round start)"
    )
    p.add_argument(
        "--previous", type=Path, nargs="*", default=None, help="earlier rounds' DRAW_DIRs"
    )
    p.add_argument("--salt", default=None, help="salt for the conflicts hash (default: random)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from riskscore.draw.bundle import build_inputs, write_commitment
    from riskscore.outputs import check_out_dir

    check_out_dir(args.out, "--out", ("commitment.json",))
    inputs = build_inputs(
        args.plan, args.data, args.round, args.draw_date, args.previous, args.salt
    )
    rec = write_commitment(args.out, inputs, args.randomness_source, args.fallback)
    print(f"承诺 commitment sha256: {rec['commitment_sha256']}")
    print(f"随机数来源 randomness source: {rec['randomness_source']}")
    print(f"→ {args.out / 'commitment.json'} (publish it before the randomness is known)")
    return 0

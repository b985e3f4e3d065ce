"""``riskscore amend``: replace an unavailable inspector from the reserve list (递补), logged."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from riskscore.draw.amend import REASON_CODES

    p = sub.add_parser(
        "amend",
        help="replace a drawn inspector by the next eligible reserve entry (递补), logged",
        description=(
            "Append a hash-chained amendment to DRAW_DIR/amendments.jsonl; the locked outputs are "
            "never edited. Reason codes: "
            + "; ".join(f"{k} = {v}" for k, v in REASON_CODES.items())
        ),
    )
    p.add_argument("draw_dir", type=Path, help="DRAW_DIR")
    p.add_argument("--unavailable", required=True, help="inspector_id who cannot attend")
    p.add_argument("--target", required=True, help="fixmedins_code of the target")
    p.add_argument("--reason", required=True, help="reason (internal log, not published)")
    p.add_argument("--reason-code", default="unavailable", choices=sorted(REASON_CODES))
    p.add_argument(
        "--timestamp",
        default=None,
        help="ISO 8601 time with UTC offset, not before the draw date nor the previous "
        "amendment (default: now, UTC)",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="unused: DRAW_DIR/notices is re-written from the draw's own inputs (kept for old scripts)",
    )
    p.add_argument(
        "--lang",
        choices=("zh", "en"),
        default=None,
        help="unused: the notice keeps its language (kept for old scripts)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from riskscore.draw.amend import amend

    e = amend(
        args.draw_dir, args.unavailable, args.target, args.reason, args.reason_code, args.timestamp
    )
    print(
        f"递补 amendment #{e['seq']}: {e['fixmedins_code']} {e['removed']} → {e['added']} "
        f"(reserve rank {e['reserve_rank']}, {e['reason_code']}); hash {e['hash'][:16]}…"
    )
    if (args.draw_dir / "notices").is_dir():
        print(
            f"公告已更新 notice re-written: {args.draw_dir / 'notices'} "
            f"(变更记录 {e['seq']} 条, chain head {e['hash']})"
        )
    return 0

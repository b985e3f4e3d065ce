"""``riskscore amend``: replace an unavailable inspector from the reserve list (递补), logged."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from riskscore.draw.amend import REASON_CODES

    p = sub.add_parser(
        "amend",
        help="递补：以递补名单中下一位合格人员替换无法参加的检查人员并留痕 / replace a drawn inspector "
        "by the next eligible reserve entry, logged",
        description=(
            "递补：在 DRAW_DIR/amendments.jsonl 追加一条哈希链记录，已锁定的抽取结果不改动，公告随之重写。 / "
            "Append a hash-chained amendment to DRAW_DIR/amendments.jsonl; the locked outputs are "
            "never edited. Reason codes: "
            + "; ".join(f"{k} = {v}" for k, v in REASON_CODES.items())
        ),
    )
    p.add_argument("draw_dir", type=Path, help="抽取目录 / draw folder (DRAW_DIR)")
    p.add_argument(
        "--unavailable",
        required=True,
        help="无法参加的检查人员编号 / inspector_id who cannot attend",
    )
    p.add_argument(
        "--target", required=True, help="检查对象机构编号 / fixmedins_code of the target"
    )
    p.add_argument(
        "--reason",
        required=True,
        help="原因（内部记录，不公开） / reason (internal log, not published)",
    )
    p.add_argument(
        "--reason-code",
        default="unavailable",
        choices=sorted(REASON_CODES),
        help="原因类别 / reason code",
    )
    p.add_argument(
        "--timestamp",
        default=None,
        help="时间（ISO 8601，含时区，不早于抽取日和上一条记录） / ISO 8601 time with UTC offset, "
        "not before the draw date nor the previous amendment (default: now, UTC)",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="不再使用：公告按抽取目录自身的输入重写 / unused: DRAW_DIR/notices is re-written "
        "from the draw's own inputs (kept for old scripts)",
    )
    p.add_argument(
        "--lang",
        choices=("zh", "en"),
        default=None,
        help="提示语言（公告保持原语言） / message language (the notice keeps its language)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from riskscore.draw.amend import amend

    e = amend(
        args.draw_dir, args.unavailable, args.target, args.reason, args.reason_code, args.timestamp
    )
    zh = args.lang != "en"
    if zh:
        print(
            f"递补第{e['seq']}号：{e['fixmedins_code']} {e['removed']} → {e['added']}"
            f"（递补名单第{e['reserve_rank']}位，{e['reason_code']}）；哈希 {e['hash'][:16]}…"
        )
    else:
        print(
            f"amendment #{e['seq']}: {e['fixmedins_code']} {e['removed']} → {e['added']} "
            f"(reserve rank {e['reserve_rank']}, {e['reason_code']}); hash {e['hash'][:16]}…"
        )
    if (args.draw_dir / "notices").is_dir():
        print(
            f"公告已更新：{args.draw_dir / 'notices'}（变更记录 {e['seq']} 条，最新哈希 {e['hash']}）"
            if zh
            else f"notice re-written: {args.draw_dir / 'notices'} ({e['seq']} amendment(s), "
            f"chain head {e['hash']})"
        )
    return 0

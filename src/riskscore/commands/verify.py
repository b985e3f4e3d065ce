"""``riskscore verify``: re-run a draw from its recorded inputs and randomness (独立核验)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="独立核验：按公开的输入重新抽取并逐字节比对 / re-run a draw and compare every byte",
        description=(
            "Exit 0 when inputs, commitment, randomness, outputs, manifest, amendments and the "
            "public notices all match and the folder holds no other file; otherwise exit 1 "
            "with one line naming the file that differs. A draw without commitment.json fails "
            "unless --allow-uncommitted is given. A public copy without inputs/conflicts.csv "
            "and inputs/conflicts_salt.txt is checked except the teams. "
            "/ 核验输入、承诺、随机数、结果、清单、变更记录和公告的每个字节；未事先公布承诺的抽取默认不通过。"
        ),
    )
    p.add_argument("draw_dir", type=Path, help="抽取目录 / draw folder (DRAW_DIR)")
    p.add_argument(
        "--allow-uncommitted",
        action="store_true",
        help="check a draw that has no commitment.json (prints a warning) / 允许无承诺的抽取（给出警告）",
    )
    p.add_argument(
        "--head",
        default=None,
        help="amendment-chain head hash from the published notice; the folder must end there "
        "/ 公告中的变更记录最新哈希",
    )
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="提示语言 / message language")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import hashlib
    import sys

    from riskscore.draw.amend import chain_head
    from riskscore.draw.bundle import verify_draw
    from riskscore.errors import VerificationError

    try:
        m = verify_draw(args.draw_dir, allow_uncommitted=args.allow_uncommitted, head=args.head)
    except VerificationError as exc:
        zh = getattr(args, "lang", "zh") == "zh"
        print(f"核验失败：{exc}" if zh else f"verification FAILED: {exc}", file=sys.stderr)
        return 1
    n_am, head = chain_head(args.draw_dir)
    h = hashlib.sha256((args.draw_dir / "manifest.json").read_bytes()).hexdigest()
    zh = getattr(args, "lang", "zh") == "zh"
    if not m.get("commitment_sha256"):
        print(
            "警告：此次抽取没有事先公布的承诺（commitment.json），无法证明输入在随机数公布前已固定"
            "（--allow-uncommitted）"
            if zh
            else "WARNING: no commitment was published before the randomness: nothing shows the "
            "inputs were fixed before it was known (--allow-uncommitted)"
        )
    if not (args.draw_dir / "inputs" / "conflicts.csv").exists():
        print(
            "公开副本：已核对抽中对象、抽样框、各文件哈希、承诺和变更记录链；利害关系回避名单不公开，"
            "因此检查组和递补名单未重新抽取。"
            if zh
            else "public copy: targets, frame, hashes, commitment and amendment chain checked; "
            "teams and reserve lists were not re-drawn (the conflict-of-interest list is private)"
        )
    rd = m["round"]
    print(
        f"核验通过：第{rd['index']}批次（{rd['name']}），抽中{m['counts']['selected']}家，"
        f"清单哈希 {h}，变更记录{n_am}条，最新哈希 {head}"
        if zh
        else f"verified: round {rd['index']} ({rd['name']}), {m['counts']['selected']} targets, "
        f"manifest sha256 {h}, {n_am} amendment(s), chain head {head}"
    )
    return 0

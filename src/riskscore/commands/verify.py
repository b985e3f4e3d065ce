"""``riskscore verify``: re-run a draw from its recorded inputs and randomness (独立核验)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="re-run a draw from DRAW_DIR/inputs and compare every byte (独立核验)",
        description=(
            "Exit 0 when inputs, commitment, randomness, outputs, manifest and amendments all "
            "match; otherwise exit 1 with one line naming what differs. A public copy without "
            "inputs/conflicts.csv and inputs/conflicts_salt.txt is checked except the teams."
        ),
    )
    p.add_argument("draw_dir", type=Path, help="DRAW_DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import hashlib
    import sys

    from riskscore.draw.amend import verify_amendments
    from riskscore.draw.bundle import verify_draw
    from riskscore.errors import VerificationError

    try:
        m = verify_draw(args.draw_dir)
    except VerificationError as exc:
        print(f"核验失败 verification FAILED: {exc}", file=sys.stderr)
        return 1
    n_am = verify_amendments(args.draw_dir)
    h = hashlib.sha256((args.draw_dir / "manifest.json").read_bytes()).hexdigest()
    if not (args.draw_dir / "inputs" / "conflicts.csv").exists():
        print(
            "公开副本 public copy: targets, frame, hashes, commitment and amendment chain checked; "
            "teams and reserve lists were not re-drawn (the conflict-of-interest list is private)"
        )
    print(
        f"核验通过 verified: round {m['round']['index']} ({m['round']['name']}), "
        f"{m['counts']['selected']} targets, manifest sha256 {h}, {n_am} amendment(s)"
    )
    return 0

"""``riskscore draw``: the 双随机 draw from SHA-256 tickets (随机抽取检查对象和检查人员)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "draw",
        help="随机抽取检查对象和检查人员 / draw targets and inspectors from the public randomness",
        description=(
            "按风险等级分层随机抽取检查对象，随机选派合格检查人员（回避、联合检查、工作量上限）并随机匹配，"
            "生成有序递补名单和任务公告。 / Stratified random draw of targets, random teams of qualified inspectors (recusal, "
            "joint quotas, workload caps), random matching and ordered reserve lists. Writes "
            "DRAW_DIR/manifest.json, frame.csv, targets.csv, assignments.csv, reserve.csv and "
            "the draw notice. If DRAW_DIR/commitment.json exists, the inputs must still hash the same."
        ),
    )
    p.add_argument("--plan", type=Path, required=True, help="计划目录 / plan folder (PLAN_DIR)")
    p.add_argument(
        "--randomness",
        required=True,
        help="已公布的随机数（开奖号码原文） / the published randomness text",
    )
    p.add_argument("--out", type=Path, required=True, help="抽取目录 / draw folder (DRAW_DIR)")
    p.add_argument(
        "--round",
        default=None,
        help="批次序号或名称（默认1） / round index (1-based) or name; default 1",
    )
    p.add_argument(
        "--data", type=Path, default=None, help="数据目录 / data folder (default: the plan's)"
    )
    add_draw_input_options(p)
    p.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="公告和提示语言 / notice and message language",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from riskscore.draw.bundle import build_inputs, check_commitment, read_inputs, write_draw
    from riskscore.errors import RiskscoreError
    from riskscore.outputs import check_out_dir

    out: Path = args.out
    check_out_dir(out, "--out", ("manifest.json", "targets.csv", "frame.csv"))
    commitment = None
    cp = out / "commitment.json"
    data = args.data
    if data is None:
        summary = (
            json.loads((args.plan / "plan.json").read_text(encoding="utf-8"))
            if (args.plan / "plan.json").exists()
            else {}
        )
        d = summary.get("data_dir")
        data = Path(d) if d and Path(d).exists() else None
    if cp.exists():
        commitment = json.loads(cp.read_text(encoding="utf-8"))
        committed = read_inputs(out)
        params = json.loads(committed.files["params.json"].decode("utf-8"))
        if args.round is not None and str(args.round) not in (
            str(params["round_index"]),
            params["round_name"],
        ):
            raise RiskscoreError(
                f"--round {args.round}: the commitment in {cp} is for round {params['round_index']} ({params['round_name']})"
            )
        if data is not None:
            fresh = build_inputs(
                args.plan,
                data,
                params["round_index"],
                args.draw_date or params["draw_date"],
                args.previous,
                committed.salt,
            )
            if args.previous is None:  # earlier rounds as committed
                fresh.files["previous.csv"] = committed.files["previous.csv"]
            check_commitment(commitment, fresh, str(cp))
        check_commitment(commitment, committed, str(cp))
        inputs = committed
    else:
        if data is None:
            raise RiskscoreError(
                "--data: no data folder (inspectors, conflicts) given or recorded in plan.json"
            )
        inputs = build_inputs(args.plan, data, args.round, args.draw_date, args.previous, args.salt)
    m = write_draw(out, inputs, args.randomness, commitment, lang=args.lang)
    rd, c, seed = m["round"], m["counts"], m["randomness"]["seed_sha256"][:16]
    if args.lang == "zh":
        print(
            f"随机抽取完成：第{rd['index']}批次（{rd['name']}），从{c['frame']}家机构中抽中"
            f"{c['selected']}家；种子 {seed}… → {out}"
        )
    else:
        print(
            f"Draw: round {rd['index']} ({rd['name']}), {c['selected']} of {c['frame']} "
            f"institutions drawn; seed {seed}… → {out}"
        )
    return 0


def add_draw_input_options(p: argparse.ArgumentParser) -> None:
    """Options that fix a round's canonical inputs, shared by ``commit`` and ``draw``."""
    p.add_argument(
        "--draw-date",
        default=None,
        help="抽取日期（核对执法证有效期，默认批次开始日） / draw date (default: round start)",
    )
    p.add_argument(
        "--previous",
        type=Path,
        nargs="*",
        default=None,
        help="此前批次的抽取目录 / earlier rounds' DRAW_DIRs",
    )
    p.add_argument(
        "--salt",
        default=None,
        help="回避名单哈希的盐（默认随机） / salt for the conflicts hash (default: random)",
    )

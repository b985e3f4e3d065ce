"""``riskscore inspect-sim``: simulated inspection results for a draw (synthetic data only)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect-sim",
        help="模拟检查：为抽中对象生成检查结果（仅限合成数据） / simulated inspection results "
        "(synthetic province only)",
        description=(
            "按合成数据的真值模拟抽中机构的检查结果，并另加K条投诉举报检查，写入 results.csv。 / "
            "Simulate inspections of the drawn institutions from the synthetic province's "
            "truth_outcomes.csv and write RESULTS_DIR/results.csv (contract table "
            "inspection_results), plus K complaint-driven inspections outside the draw."
        ),
    )
    p.add_argument(
        "--draw", required=True, metavar="DRAW_DIR", help="抽取目录 / draw folder (frame.csv)"
    )
    p.add_argument(
        "--data",
        required=True,
        metavar="DIR",
        help="含真值文件的合成数据目录 / synthetic data folder with truth_outcomes.csv",
    )
    p.add_argument("--out", required=True, metavar="RESULTS_DIR", help="输出目录 / output folder")
    p.add_argument("--seed", type=int, default=0, help="随机种子 / random seed (default 0)")
    p.add_argument(
        "--complaints",
        type=int,
        default=10,
        metavar="K",
        help="随机抽查以外的投诉举报检查数 / complaint-driven inspections outside the draw",
    )
    p.add_argument(
        "--deadline",
        default=None,
        metavar="YYYY-MM-DD",
        help="检查完成期限 / inspections finish before this date (default: the draw's)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from riskscore.inspect_sim import run_inspect_sim

    res = run_inspect_sim(
        args.draw,
        args.data,
        args.out,
        seed=args.seed,
        complaints=args.complaints,
        deadline=args.deadline,
    )
    n_draw = int((res["origin"] == "draw").sum())
    found = int(res.loc[res["origin"] == "draw", "violation_found"].sum())
    print(
        f"模拟检查完成：抽查 {n_draw} 家（发现违规 {found} 家），投诉举报检查 "
        f"{len(res) - n_draw} 家 → {args.out}/results.csv"
    )
    return 0

"""``riskscore plan``: annual sampling plan (年度抽查计划) from scores and a policy."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help="annual plan: inclusion probabilities, floor and capacity checks (年度抽查计划)",
        description=(
            "Per-institution inclusion probabilities for the year and per round from SCORES.csv "
            "and a policy file; checks the floor and the inspector capacity; writes "
            "PLAN_DIR/plan.json, PLAN_DIR/inclusion.csv, PLAN_DIR/policy.yaml and the plan notice."
        ),
    )
    p.add_argument("--scores", type=Path, required=True, help="scores.csv from `riskscore score`")
    p.add_argument("--data", type=Path, default=None, help="data folder (institutions, inspectors)")
    p.add_argument(
        "--policy", default=None, help="policy YAML or shipped policy id (default: floor10_2025)"
    )
    p.add_argument("--out", type=Path, required=True, help="PLAN_DIR")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="notice language")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from riskscore.draw.notices import plan_notice
    from riskscore.outputs import OutputLock, check_out_dir
    from riskscore.plan import run_plan

    check_out_dir(args.out, "--out", ("plan.json", "inclusion.csv", "policy.yaml"))
    with OutputLock(args.out, "riskscore plan"):
        return _run(args, run_plan, plan_notice)


def _run(args, run_plan, plan_notice) -> int:
    plan = run_plan(args.scores, args.data, args.policy, args.out)
    plan_notice(args.out, args.out / "notices", lang=args.lang)
    s = plan.summary
    fl = s["floor"]
    print(
        f"计划 plan: {fl['planned_inspections']} inspections of {s['frame']['institutions']} "
        f"institutions ({fl['planned_ratio']:.1%}, floor {fl['overall_floor']:.0%}"
        + (f", rates scaled ×{fl['scaled_by']:.3f}" if fl["scaled_by"] != 1 else "")
        + f") → {args.out}"
    )
    counts = fl.get("counts", "inspections")
    print(
        f"  floor counts {counts} (下限按{'机构数（家）' if counts == 'institutions' else '检查家次'}"
        f"计); expected distinct institutions {fl['expected_distinct_institutions']:.1f} "
        f"({fl['expected_distinct_ratio']:.1%})"
    )
    for t, st in s["strata"].items():
        print(
            f"  tier {t}: N={st['N_h']} n={st['n_h']} rounds={st['n_h_rounds']} pi={st['pi_annual']:.4f}"
            f" expected_loss={st.get('expected_loss', 0.0):,.0f} 元"
        )
    return 0

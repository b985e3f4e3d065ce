"""``riskscore plan``: annual sampling plan (年度抽查计划) from scores and a policy."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help="年度抽查计划：抽中概率、比例下限和检查力量核对 / annual plan: inclusion probabilities, "
        "floor and capacity checks",
        description=(
            "按评分结果和政策文件计算每家机构的年度和分批次抽中概率，核对抽查比例下限和检查力量，"
            "生成计划文件和计划公告。 / Per-institution inclusion probabilities for the year and per round from SCORES.csv "
            "and a policy file; checks the floor and the inspector capacity; writes "
            "PLAN_DIR/plan.json, PLAN_DIR/inclusion.csv, PLAN_DIR/policy.yaml and the plan notice."
        ),
    )
    p.add_argument(
        "--scores", type=Path, required=True, help="评分结果 / scores.csv from `riskscore score`"
    )
    p.add_argument(
        "--data", type=Path, default=None, help="数据目录（名录库、检查人员） / data folder"
    )
    p.add_argument(
        "--policy",
        default=None,
        help="政策文件或内置政策编号 / policy YAML or shipped policy id (default: floor10_2025)",
    )
    p.add_argument("--out", type=Path, required=True, help="计划目录 / plan folder (PLAN_DIR)")
    p.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="公告和提示语言 / notice and message language",
    )
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
    n, big_n = fl["planned_inspections"], s["frame"]["institutions"]
    scaled = fl["scaled_by"] != 1
    if args.lang == "zh":
        print(
            f"年度抽查计划：{big_n}家机构中预期抽查{n}家次（{fl['planned_ratio']:.1%}，"
            f"下限{fl['overall_floor']:.0%}"
            + (f"，各等级比例已统一乘以{fl['scaled_by']:.3f}以达到下限" if scaled else "")
            + f"）→ {args.out}"
        )
    else:
        print(
            f"Annual plan: {n} inspections of {big_n} institutions ({fl['planned_ratio']:.1%}, "
            f"floor {fl['overall_floor']:.0%}"
            + (f"; tier rates scaled by {fl['scaled_by']:.3f} to meet it" if scaled else "")
            + f") → {args.out}"
        )
    counts = fl.get("counts", "inspections")
    if "expected_distinct_institutions" in fl:
        if args.lang == "zh":
            print(
                f"  下限按{'机构数（家）' if counts == 'institutions' else '检查家次'}计；"
                f"预期抽查不同机构{fl['expected_distinct_institutions']:.1f}家"
                f"（{fl['expected_distinct_ratio']:.1%}）"
            )
        else:
            print(
                f"  the floor counts {counts}; expected distinct institutions "
                f"{fl['expected_distinct_institutions']:.1f} ({fl['expected_distinct_ratio']:.1%})"
            )
    for t, st in s["strata"].items():
        rounds = ("、" if args.lang == "zh" else ", ").join(str(k) for k in st["n_h_rounds"])
        # pips: π varies within the tier (proportional to expected loss): show its range
        pi_txt = (
            f"{st['pi_min']:.4f}–{st['pi_max']:.4f}" if "pi_min" in st else f"{st['pi_annual']:.4f}"
        )
        if args.lang == "zh":
            print(
                f"  {t}级：{st['N_h']}家，计划抽查{st['n_h']}家次（各批次 {rounds}），"
                f"年度抽中概率{pi_txt}，预期违规金额{st.get('expected_loss', 0.0):,.0f}元"
            )
        else:
            print(
                f"  tier {t}: {st['N_h']} institutions, {st['n_h']} inspections (by round "
                f"{rounds}), annual inclusion probability {pi_txt}, expected "
                f"improper amount {st.get('expected_loss', 0.0):,.0f} CNY"
            )
    ef = s.get("expected_findings", {})
    if "expected_loss_covered_stratified_srs" in ef:
        a, b = ef["expected_loss_covered_targeted"], ef["expected_loss_covered_stratified_srs"]
        if args.lang == "zh":
            print(
                f"  层内按预期违规金额成比例抽取：预期覆盖违规金额{a:,.0f}元，"
                f"同样分配的分层简单随机抽查为{b:,.0f}元"
            )
        else:
            print(
                f"  within tiers proportional to expected loss: expected improper amount "
                f"covered {a:,.0f} CNY against {b:,.0f} CNY for stratified simple random sampling"
            )
    return 0

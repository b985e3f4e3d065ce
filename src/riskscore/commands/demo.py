"""``riskscore demo``: the whole yearly cycle on the bundled synthetic province.

validate → score → plan → commit → draw → verify → simulated inspections → analysis → reports.
Every step is the same sub-command an analyst would run by hand; the demo only chains them
and lists what it made.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

from riskscore.errors import RiskscoreError
from riskscore.paths import repo_root

DEMO_RANDOMNESS = "DEMO 双色球 2025-03-30 开奖 红球 03 07 12 19 25 31 蓝球 09"
"""Stand-in for a public lottery result; a real draw names one before it is known. Its date
(2025-03-30, a 双色球 draw day) falls before the first round of the shipped 2025 policy
(2025-04-01), as it must: the commitment names a draw that comes before the round starts."""
DEMO_RANDOMNESS_SOURCE = "中国福利彩票双色球 2025年3月30日开奖号码（演示）"

LABELS = {
    "validate": ("校验数据", "validate"),
    "score": ("风险评分", "score"),
    "plan": ("年度计划", "plan"),
    "commit": ("公布承诺", "commit"),
    "draw": ("随机抽取", "draw"),
    "verify": ("独立核验", "verify"),
    "inspect-sim": ("模拟检查", "simulated inspections"),
    "analyze": ("结果分析", "analysis"),
    "report": ("报告", "report"),
}
REPORT_NAMES = {
    "annual_plan": ("年度抽查计划", "annual plan"),
    "institution_profile": ("机构风险画像", "institution profile"),
    "post_inspection": ("抽查结果分析", "post-inspection analysis"),
    "public_notice": ("结果公告", "public notice"),
}
AS_OF = "{plan deadline}"
"""Placeholder for the plan's deadline, the status date of the demo's analysis."""

REPORTS = ("annual_plan", "institution_profile", "post_inspection", "public_notice")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="演示：在样例数据上运行全年流程 / run the whole cycle on data_samples/",
        description=(
            "演示：在自带的合成样例数据上依次运行 校验→评分→计划→承诺→抽取→核验→模拟检查→分析→"
            "四份报告，每次写入一个新的带日期的文件夹。 / Run the yearly cycle on the bundled "
            "synthetic province: validate, score, plan, commit, draw, verify, simulated "
            "inspections, analysis and all four reports. Writes a new dated folder each run."
        ),
    )
    p.add_argument(
        "--data", type=Path, default=None, help="数据目录 / data folder (default: data_samples/)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="输出目录 / output folder (default: reports/demo_<YYYYmmdd_HHMMSS>)",
    )
    p.add_argument(
        "--engine", choices=("duckdb", "spark"), default="duckdb", help="计算引擎 / engine"
    )
    p.add_argument(
        "--lang", choices=("zh", "en"), default="zh", help="报告和提示语言 / report language"
    )
    p.add_argument("--no-reports", action="store_true", help="不生成报告 / skip the reports")
    p.set_defaults(func=run)


def _default_data() -> Path:
    root = repo_root()
    if root is None or not (root / "data_samples" / "institutions.csv").exists():
        raise RiskscoreError(
            "data_samples/ not found next to the package (installed without the source tree?); "
            "pass --data DIR or create one with: riskscore synth --out DIR --institutions 300 --seed 7"
        )
    return root / "data_samples"


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from riskscore.cli import main as cli_main

    data = args.data or _default_data()
    stamp = _dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    root = repo_root()
    out = args.out or ((root / "reports") if root else Path("reports")) / f"demo_{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    score_dir, plan_dir, draw_dir = out / "score", out / "plan", out / "draw"
    results_dir, analysis_dir, report_dir = out / "results", out / "analysis", out / "reports"
    lang = ["--lang", args.lang]
    zh = args.lang == "zh"

    def label(cmd: str, extra: str = "") -> str:
        text = LABELS[cmd][0 if zh else 1]
        return f"{text} {extra}".strip()

    steps: list[tuple[str, list[str]]] = [
        (
            label("validate"),
            ["validate", "--data", str(data), "--quarantine-out", str(out / "quarantine")],
        ),
        (
            label("score"),
            ["score", "--data", str(data), "--out", str(score_dir), "--engine", args.engine, *lang],
        ),
        (
            label("plan"),
            [
                "plan",
                "--scores",
                str(score_dir / "scores.csv"),
                "--data",
                str(data),
                "--out",
                str(plan_dir),
                *lang,
            ],
        ),
        (
            label("commit"),
            [
                "commit",
                "--plan",
                str(plan_dir),
                "--data",
                str(data),
                "--out",
                str(draw_dir),
                "--randomness-source",
                DEMO_RANDOMNESS_SOURCE,
                *lang,
            ],
        ),
        (
            label("draw"),
            [
                "draw",
                "--plan",
                str(plan_dir),
                "--randomness",
                DEMO_RANDOMNESS,
                "--out",
                str(draw_dir),
                *lang,
            ],
        ),
        (label("verify"), ["verify", str(draw_dir), *lang]),
        (
            label("inspect-sim"),
            [
                "inspect-sim",
                "--draw",
                str(draw_dir),
                "--data",
                str(data),
                "--out",
                str(results_dir),
            ],
        ),
        (
            label("analyze"),
            [
                "analyze",
                "--draw",
                str(draw_dir),
                "--results",
                str(results_dir / "results.csv"),
                "--scores",
                str(score_dir / "scores.csv"),
                "--data",
                str(data),
                "--out",
                str(analysis_dir),
                "--as-of",
                AS_OF,
                *lang,
            ],
        ),
    ]
    if not args.no_reports:
        common = {
            "data_dir": data,
            "score_dir": score_dir,
            "plan_dir": plan_dir,
            "draw_dir": draw_dir,
            "results_dir": results_dir,
            "analysis_dir": analysis_dir,
            "lang": args.lang,
        }
        for name in REPORTS:
            params: list[str] = []
            for key, value in common.items():
                params += ["-p", key, str(value)]
            steps.append(
                (
                    label("report", REPORT_NAMES[name][0 if zh else 1]),
                    ["report", name, *params, "--out", str(report_dir)],
                )
            )

    bar = tqdm(steps, desc="demo", unit="step", file=sys.stderr)
    for step, argv in bar:
        bar.set_postfix_str(step)
        if AS_OF in argv:  # the analysis is dated at the plan's deadline, not today
            deadline = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))["deadline"]
            argv = [str(deadline) if a == AS_OF else a for a in argv]
        code = cli_main(argv)
        if code != 0:
            what = "演示步骤" if zh else "demo step"
            raise RiskscoreError(
                f"{what} '{step}' failed (exit {code}): riskscore {' '.join(argv)}"
            )
    bar.close()

    made = sorted(p for p in out.rglob("*") if p.is_file())
    main = [p for p in made if _is_main_output(p, out)]
    if zh:
        print(
            f"\n演示完成：{out} 中共生成 {len(made)} 个文件，主要文件 {len(main)} 个如下"
            f"（另有 {len(made) - len(main)} 个：已执行的报告笔记本 .ipynb、隔离行、抽取输入副本等）："
        )
    else:
        print(
            f"\nDemo finished: {len(made)} files in {out}; the {len(main)} main ones below "
            f"(the other {len(made) - len(main)}: executed report notebooks, quarantined rows, "
            "copies of the draw inputs, …):"
        )
    for p in main:
        print(f"  {p.relative_to(out)}")
    return 0


def _is_main_output(p: Path, out: Path) -> bool:
    """Files an analyst opens: tables, records, notices and reports (not the executed
    notebooks, quarantined rows or the draw's input copies)."""
    parts = p.relative_to(out).parts
    return (
        p.suffix in {".csv", ".json", ".html", ".jsonl"}
        and "quarantine" not in parts
        and "inputs" not in parts
    )

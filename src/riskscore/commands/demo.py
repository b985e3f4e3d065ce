"""``riskscore demo``: the whole yearly cycle on the bundled synthetic province.

validate → score → plan → commit → draw → verify → simulated inspections → analysis → reports.
Every step is the same sub-command an analyst would run by hand; the demo only chains them
and lists what it made.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

from riskscore.errors import RiskscoreError
from riskscore.paths import repo_root

DEMO_RANDOMNESS = "DEMO 2026-01-15 双色球 第2026006期 红球 03 07 12 19 25 31 蓝球 09"
"""Stand-in for a future public lottery result; a real draw names one before it is known."""

REPORTS = ("annual_plan", "institution_profile", "post_inspection", "public_notice")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole cycle on data_samples/ (演示：校验→评分→计划→抽取→核验→检查→分析→报告)",
        description=(
            "Run the yearly cycle on the bundled synthetic province: validate, score, plan, "
            "commit, draw, verify, simulated inspections, analysis and all four reports. "
            "Writes a new dated folder each run."
        ),
    )
    p.add_argument("--data", type=Path, default=None, help="data folder (default: data_samples/)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: reports/demo_<YYYYmmdd_HHMMSS>)",
    )
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--no-reports", action="store_true", help="skip the notebook reports")
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
    steps: list[tuple[str, list[str]]] = [
        (
            "校验数据 validate",
            ["validate", "--data", str(data), "--quarantine-out", str(out / "quarantine")],
        ),
        (
            "风险评分 score",
            ["score", "--data", str(data), "--out", str(score_dir), "--engine", args.engine, *lang],
        ),
        (
            "年度计划 plan",
            [
                "plan",
                "--scores",
                str(score_dir / "scores.csv"),
                "--data",
                str(data),
                "--out",
                str(plan_dir),
            ],
        ),
        (
            "公布承诺 commit",
            [
                "commit",
                "--plan",
                str(plan_dir),
                "--data",
                str(data),
                "--out",
                str(draw_dir),
                "--randomness-source",
                "中国福利彩票双色球 2026年1月15日开奖号码（演示）",
            ],
        ),
        (
            "随机抽取 draw",
            [
                "draw",
                "--plan",
                str(plan_dir),
                "--randomness",
                DEMO_RANDOMNESS,
                "--out",
                str(draw_dir),
            ],
        ),
        ("独立核验 verify", ["verify", str(draw_dir)]),
        (
            "模拟检查 inspect-sim",
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
            "结果分析 analyze",
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
                (f"报告 report {name}", ["report", name, *params, "--out", str(report_dir)])
            )

    bar = tqdm(steps, desc="demo", unit="step", file=sys.stderr)
    for label, argv in bar:
        bar.set_postfix_str(label)
        code = cli_main(argv)
        if code != 0:
            raise RiskscoreError(
                f"demo step '{label}' failed (exit {code}): riskscore {' '.join(argv)}"
            )
    bar.close()

    made = sorted(p for p in out.rglob("*") if p.is_file())
    print(f"\n演示完成 demo finished — {len(made)} files in {out}")
    for p in made:
        if p.suffix in {".csv", ".json", ".html", ".jsonl"} and "quarantine" not in p.parts:
            print(f"  {p.relative_to(out)}")
    return 0

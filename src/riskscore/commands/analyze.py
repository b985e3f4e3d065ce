"""``riskscore analyze``: design-based estimates and follow-up tables after the inspections."""

from __future__ import annotations

import argparse
import datetime as dt

from riskscore.errors import RiskscoreError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="抽查结果分析：违规率估计、提升倍数、指标精确率、整改跟踪、下年度信用等级 / post-inspection "
        "estimates, lift, precision, tracker, next year's credit",
        description=(
            "按抽中概率加权（Horvitz–Thompson/Hájek）估计全市违规率和违规金额，并计算提升倍数、指标精确率、"
            "校准、整改跟踪和下年度信用等级；只有双随机抽查结果参与估计。 / "
            "Unbiased (Horvitz–Thompson / Hájek) province-wide estimates from the draw's "
            "inclusion probabilities, lift over a uniform draw, indicator precision, "
            "calibration, rectification tracker and next year's credit ratings. Only "
            "origin=draw inspections enter the estimators; the rest are counted."
        ),
    )
    p.add_argument(
        "--draw",
        required=True,
        nargs="+",
        metavar="DRAW_DIR",
        help="抽取目录；多个目录 = 全年各批次合并 / draw folder(s); several = the year's rounds",
    )
    p.add_argument(
        "--results",
        required=True,
        metavar="RESULTS.csv",
        help="检查结果 / inspection results (contract table inspection_results)",
    )
    p.add_argument("--out", required=True, metavar="OUT", help="输出目录 / output folder")
    p.add_argument(
        "--scores",
        metavar="SCORES.csv",
        help="评分结果（指标精确率和校准需要） / scores.csv from `riskscore score`",
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        help="数据目录（上年信用等级） / data folder (credit_ratings for the credit rule)",
    )
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="提示语言 / summary language")
    p.add_argument(
        "--as-of",
        dest="as_of",
        metavar="YYYY-MM-DD",
        help="统计日期（整改跟踪、信用规则） / status date for the tracker and credit rule (default today)",
    )
    p.add_argument(
        "--round", dest="round_", metavar="R", help="只分析一个批次 / analyse one round only"
    )
    p.add_argument(
        "--ci",
        choices=("auto", "normal", "t", "wilson", "kg", "beta", "logt"),
        default="auto",
        help="置信区间方法 / confidence interval: auto (default: stratified Jeffreys 'beta' for rates, "
        "log-t for amounts, t for lift), normal, t, wilson, kg (Korn–Graubard), beta, logt",
    )
    p.add_argument(
        "--singleton",
        choices=("collapse", "nan"),
        default="collapse",
        help="仅检查1家的层：合并估计方差或报告缺失 / strata with one inspected unit: collapse or NaN",
    )
    p.add_argument(
        "--flag-quantile",
        dest="flag_quantile",
        type=float,
        default=0.8,
        help="评分高于该分位数视为标记 / a score flags an institution above this quantile",
    )
    p.add_argument(
        "--d-amount",
        dest="d_amount",
        type=float,
        default=100_000.0,
        help="违规金额达到该值（元）评为D级 / improper amount (CNY) at or above which a violation rates D",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from riskscore.analyze import analyze, summary_text
    from riskscore.tracking import CreditRule

    as_of = None
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise RiskscoreError(f"--as-of {args.as_of!r}: expected a date YYYY-MM-DD") from None
    if not 0 < args.flag_quantile < 1:
        raise RiskscoreError(f"--flag-quantile must be in (0, 1), got {args.flag_quantile}")
    summary = analyze(
        args.draw,
        args.results,
        args.out,
        scores_path=args.scores,
        data_dir=args.data,
        as_of=as_of,
        round_=args.round_,
        ci=args.ci,
        singleton=args.singleton,
        flag_quantile=args.flag_quantile,
        credit_rule=CreditRule(d_amount=args.d_amount),
    )
    print(summary_text(summary, args.lang))
    return 0

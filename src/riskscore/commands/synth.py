"""``riskscore synth``: generate a synthetic province with planted violations."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="生成合成省份数据（含植入违规与真值）generate a synthetic province with planted violations",
        description=(
            "生成一个合成省份：定点医药机构、参保人员、就诊/结算/费用明细、集采与进销存、"
            "一单两库与信用评级，并按机构植入12类违规；真值写入 truth*.csv。相同种子生成逐字节相同的文件。 "
            "Generate a synthetic province (institutions, insured persons, encounters, settlements, "
            "fee lines, procurement and stock, the 一单两库 registries, credit ratings) with "
            "institution-level planted violations of the 12 families; the truth goes to truth*.csv. "
            "The same seed gives byte-identical files."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="输出目录 output folder (created if missing)"
    )
    p.add_argument(
        "--institutions",
        type=int,
        default=300,
        metavar="N",
        help="定点医药机构数 number of designated institutions (≥ 20)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=7,
        metavar="S",
        help="随机种子 master seed; same seed → identical files",
    )
    p.add_argument(
        "--fee-lines",
        type=int,
        default=None,
        metavar="TARGET",
        help="费用明细目标条数 approximate number of fee lines (default 1,500 per institution)",
    )
    p.add_argument(
        "--persons",
        type=int,
        default=None,
        metavar="P",
        help="参保人数 insured persons (default fee lines / 8, at least 3,000)",
    )
    p.add_argument("--year", type=int, default=2025, help="结算年度 claims year")
    p.add_argument(
        "--prevalence",
        type=float,
        default=0.08,
        help="每类违规的机构占比 share of eligible institutions planted with each family",
    )
    p.add_argument(
        "--format",
        dest="fmt",
        choices=("parquet", "csv"),
        default="parquet",
        help="大表格式 format of claims and other large tables (registries are always CSV)",
    )
    p.add_argument(
        "--tables",
        choices=("all", "first-extract"),
        default="all",
        help=(
            "写出的表 tables written: all, or first-extract = 仅 mdtrt_d, setl_d, setl_list_diag_d, "
            "institutions, credit_ratings (医保部门首批数据的形态; 只植入异常诊疗与费用 "
            "only the utilisation abuses are planted)"
        ),
    )
    p.add_argument(
        "--intensity",
        dest="strength",
        choices=("default", "subtle"),
        default="default",
        help=(
            "异常诊疗与费用的植入强度 strength of the planted utilisation abuses: subtle = "
            "违规机构在同类机构的1.5–2倍以内 violators within 1.5–2× of their peers"
        ),
    )
    p.add_argument(
        "--utilization-abuses",
        dest="utilization",
        action="store_true",
        default=None,
        help=(
            "在完整数据中也植入异常诊疗与费用 also plant the utilisation abuses with --tables all "
            "(always planted with first-extract)"
        ),
    )
    p.add_argument(
        "--no-progress", action="store_true", help="不显示进度条 hide the progress bar (stderr)"
    )
    p.add_argument("--json", action="store_true", help="以JSON输出摘要 print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from riskscore.outputs import check_out_dir
    from riskscore.synth import SynthConfig, generate

    check_out_dir(args.out, "--out")
    cfg = SynthConfig(
        institutions=args.institutions,
        seed=args.seed,
        fee_lines=args.fee_lines,
        persons=args.persons,
        year=args.year,
        prevalence=args.prevalence,
        fmt=args.fmt,
        progress=not args.no_progress,
        tables=args.tables,
        utilization=args.utilization,
        strength=args.strength,
    )
    s = generate(args.out, cfg)
    if args.json:
        print(
            json.dumps(
                {"out": str(s.out), "rows": s.rows, "violators": s.violators, "decoys": s.decoys},
                ensure_ascii=False,
                sort_keys=True,
            )
        )
        return 0
    w = sys.stdout.write
    w(f"合成省份已生成 synthetic province written to {s.out}\n")
    for t, n in s.rows.items():
        w(f"  {t}: {n:,} 行 rows\n")
    w(
        "  违规机构数 violators per family: "
        + ", ".join(f"{f}={n}" for f, n in s.violators.items())
        + "\n"
    )
    w("  诚实特殊机构 decoys: " + ", ".join(f"{k}={n}" for k, n in s.decoys.items()) + "\n")
    return 0

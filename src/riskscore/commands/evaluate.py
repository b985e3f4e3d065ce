"""``riskscore evaluate``: how well the scores rank past findings (评分效果检验)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="评分效果检验：用往年检查结果评价风险分的排序能力 (ROC-AUC, AP, precision@k)",
        description=(
            "Compare scores.csv with past findings (an earlier results.csv, or any table "
            "fixmedins_code,label[,amount]): ROC-AUC, average precision, precision and "
            "recall at k, lift over random, AUC within size deciles, with bootstrap "
            "intervals, for risk_score, expected_loss, iforest_score and each family. "
            "用往年检查结果检验风险分：ROC-AUC、平均精度、前k家命中率与召回率、提升度、按规模分层的AUC。"
        ),
    )
    p.add_argument("--scores", type=Path, required=True, help="OUT/scores.csv (风险评分结果)")
    p.add_argument(
        "--labels",
        type=Path,
        required=True,
        help="past findings: results.csv or fixmedins_code,label[,amount] (往年检查结果)",
    )
    p.add_argument(
        "--k",
        type=int,
        action="append",
        default=None,
        help="前k家的精确率/召回率中的k（可重复） / sample size k for precision/recall at k (repeatable; 10%% is always added)",
    )
    p.add_argument(
        "--plan",
        type=Path,
        default=None,
        help="计划目录：k取计划检查家次 / plan folder: k = its planned inspections",
    )
    p.add_argument(
        "--by-size", action="store_true", help="AUC within deciles of fund_paid (按规模分层)"
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        help="自助法重复次数 / bootstrap replicates (default 1000)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="自助法随机种子 / bootstrap seed (default 0)"
    )
    p.add_argument("--json", action="store_true", help="以JSON输出 / print the result as JSON")
    p.add_argument(
        "--out", type=Path, default=None, help="输出目录 / write evaluation.json and .csv here"
    )
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="提示语言 / summary language")
    p.set_defaults(func=run)


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.3f}"


def summary_text(res: dict, lang: str = "zh") -> str:
    zh = lang == "zh"
    lines = [
        (
            f"评分效果检验：机构 {res['n']} 家，其中检查发现违规 {res['positives']} 家"
            f"（{res['prevalence']:.1%}）；未匹配：评分 {res['unmatched_scores']} 家，"
            f"检查结果 {res['unmatched_labels']} 家；bootstrap {res['n_boot']} 次 (seed={res['seed']})"
        )
        if zh
        else (
            f"Evaluated {res['n']} institutions, {res['positives']} with violations "
            f"({res['prevalence']:.1%}); unmatched: {res['unmatched_scores']} in scores, "
            f"{res['unmatched_labels']} in labels; bootstrap {res['n_boot']} (seed={res['seed']})"
        )
    ]
    k = res["k"]
    head = ["column", "ROC-AUC", "AP"] + [f"P@{x}" for x in k] + [f"lift@{x}" for x in k]
    if any("by_size" in m for m in res["metrics"].values()):
        head.append("AUC|size")
    lines.append("  ".join(f"{h:>22s}" if i == 0 else f"{h:>16s}" for i, h in enumerate(head)))
    for col, m in res["metrics"].items():
        ci = m.get("ci", {})

        def cell(key, m=m, ci=ci):
            v = m.get(key)
            if key in ci and v is not None:
                return f"{v:.3f} [{ci[key][0]:.2f},{ci[key][1]:.2f}]"
            return _fmt(v)

        row = [cell("roc_auc"), cell("average_precision")]
        row += [cell(f"precision_at_{x}") for x in k] + [_fmt(m.get(f"lift_at_{x}")) for x in k]
        if "by_size" in m:
            row.append(_fmt(m["by_size"]["within_size_deciles_roc_auc"]))
        lines.append(f"{col:>22s}  " + "  ".join(f"{c:>16s}" for c in row))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from riskscore.errors import RiskscoreError
    from riskscore.evaluate import (
        evaluate,
        evaluation_table,
        plan_sample_size,
        read_labels,
        read_scores,
    )

    if args.bootstrap < 0:
        raise RiskscoreError("--bootstrap: expected a number >= 0")
    ks = list(args.k or [])
    if args.plan is not None:
        ks.append(plan_sample_size(args.plan))
    res = evaluate(
        read_scores(args.scores),
        read_labels(args.labels),
        k=ks,
        by_size=args.by_size,
        n_boot=args.bootstrap,
        seed=args.seed,
    )
    res["scores_file"] = str(args.scores)
    res["labels_file"] = str(args.labels)
    if args.out is not None:
        from riskscore.outputs import frame_csv_bytes

        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "evaluation.json").write_text(
            json.dumps(res, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        (args.out / "evaluation.csv").write_bytes(
            frame_csv_bytes(evaluation_table(res), float_format="%.6g")
        )
    if args.json:
        sys.stdout.write(json.dumps(res, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(summary_text(res, args.lang))
        if args.out is not None:
            sys.stdout.write(("输出：" if args.lang == "zh" else "Wrote: ") + f"{args.out}\n")
    return 0

"""``riskscore score``: institution risk scores, tiers and evidence (机构风险评分).

Loads a data folder, computes every indicator (DuckDB by default, Spark on request), fits
:class:`riskscore.scoring.RiskScorer` on a reference period (``--reference``, else the same
data), scores, and writes

``OUT/scores.csv``      one row per institution of the registry (检查对象名录库)
``OUT/evidence.csv``    claims to take on site, top N per institution and flagged indicator
``OUT/indicators.csv``  raw and shrunken rates per institution and indicator
``OUT/score_meta.json`` seed, parameters, policy, skipped indicators (for reproduction)
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.contract import FAMILIES, TABLES
from riskscore.errors import ContractError, RiskscoreError

FLOAT_FORMAT = "%.10g"
"""Float format of every CSV written (deterministic text)."""

PII_COLUMNS = sorted({c for t in TABLES.values() for c in t.pii_columns})


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="机构风险评分：风险分、等级、各类违规评分、疑点记录 / score institutions: risk score, tier, "
        "family scores, evidence",
        description=(
            "Compute the risk indicators of a data folder, compare institutions with their "
            "peers (type × level) after empirical-Bayes shrinkage, and write OUT/scores.csv "
            "(one row per institution), OUT/evidence.csv and OUT/indicators.csv. "
            "计算风险指标、同类比较与收缩估计，输出机构风险分、风险等级和现场核查线索。 / "
        ),
    )
    p.add_argument("--data", type=Path, required=True, help="数据目录 / data folder")
    p.add_argument("--out", type=Path, required=True, help="输出目录 / output folder")
    p.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="计算引擎 / compute engine (default duckdb)",
    )
    p.add_argument(
        "--policy",
        default=None,
        help="政策文件或内置政策编号（其 tiers 部分决定等级划分） / policy YAML or shipped policy id; "
        "its 'tiers' section sets the tier cut-offs "
        "(default: the shipped default policy)",
    )
    p.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="参照期数据目录 / data folder of the reference period for the peer priors (default: --data)",
    )
    p.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="提示语言 / summary language (default zh)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="孤立森林随机种子 / IsolationForest seed (default 0)"
    )
    p.add_argument(
        "--evidence-per-indicator",
        type=int,
        default=20,
        help="每家机构每项指标保留的疑点记录数 / evidence records kept per institution and indicator",
    )
    p.add_argument(
        "--by-region", action="store_true", help="同类比较也按区划分组 / peer groups also by region"
    )
    p.add_argument("--quiet", action="store_true", help="不显示进度条 / no progress bar")
    from riskscore.commands.validate import add_engine_options

    add_engine_options(p, spark=True)
    p.set_defaults(func=run)


_SESSION: dict = {}
"""Engine options of the current run (``--engine``, ``--memory``, ``--spill-dir``,
``--spark-master``), set by :func:`run`; every folder loaded gets its own session."""
_OPEN: list = []


def _load(data_dir: Path):
    """Load a data folder through the engine: claims stay in DuckDB/Spark (Ibis tables),
    the registry and the other small tables are pandas frames."""
    from riskscore.indicators.engine import USED_TABLES
    from riskscore.io.engine import ENGINE_TABLES, EngineSession, load_folder_engine

    if not data_dir.is_dir():
        raise ContractError(f"{data_dir}: data folder not found")
    es = EngineSession(**_SESSION)
    _OPEN.append(es)
    ds = load_folder_engine(data_dir, es)
    from riskscore.commands.validate import verdict

    problem = verdict(ds.report())  # the folder validate calls unusable is refused here too
    if problem is not None:
        raise ContractError(f"{data_dir}: {problem}")
    if "institutions" not in ds.tables:
        raise ContractError(
            f"{data_dir}: required table institutions absent; expected institutions.csv"
        )
    claims = [n for n in ds.tables if n in ENGINE_TABLES and n in USED_TABLES]
    tables = dict(ds.ibis_tables(claims))
    for name in ds.tables:
        if name not in ENGINE_TABLES:
            tables[name] = ds.frame(name)
    return ds, tables


def _indicators(tables: dict, data_dir: Path, engine: str, progress: bool):
    from riskscore.indicators import compute_indicators

    rules_dir = data_dir / "nhsa_liangku_rules"
    return compute_indicators(
        tables,
        engine=engine,
        rules_dir=rules_dir if rules_dir.is_dir() else None,
        progress=progress,
    )


def _tiers(policy: str | None):
    from riskscore.policy import load_policy

    pol = load_policy(policy)
    return pol.get("tiers"), pol.get("_path"), pol.get("_sha256")


SCORE_FILES = ("scores.csv", "indicators.csv", "evidence.csv")
"""Outputs listed with their SHA-256 in the completion record ``score_meta.json``."""


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """A CSV for people (UTF-8 with BOM, text cells neutralised), written atomically."""
    from riskscore.outputs import atomic_write_bytes, frame_csv_bytes

    drop = [c for c in df.columns if c in PII_COLUMNS]
    atomic_write_bytes(path, frame_csv_bytes(df.drop(columns=drop), float_format=FLOAT_FORMAT))


def _evidence(res, detail: pd.DataFrame, names: dict, n: int) -> pd.DataFrame:
    cols = [
        "fixmedins_code",
        "indicator_id",
        "family",
        "indicator_zh",
        "indicator_en",
        "indicator_score",
        "rank",
        "record_table",
        "record_id",
        "detail",
    ]
    ev = res.evidence
    if ev is None or len(ev) == 0:
        return pd.DataFrame(columns=cols)
    ev = ev.copy()
    if "detail" not in ev.columns:
        ev["detail"] = ""
    for c in ("fixmedins_code", "indicator_id", "record_table", "record_id"):
        ev[c] = ev[c].astype(str)
    flagged = detail.loc[
        detail["excess"] > 0, ["fixmedins_code", "indicator_id", "indicator_score"]
    ]
    ev = ev.merge(flagged, on=["fixmedins_code", "indicator_id"], how="inner")
    ev = ev.sort_values(
        ["fixmedins_code", "indicator_id", "record_table", "record_id"], kind="mergesort"
    ).drop_duplicates(["fixmedins_code", "indicator_id", "record_table", "record_id"])
    ev["rank"] = ev.groupby(["fixmedins_code", "indicator_id"]).cumcount() + 1
    ev = ev[ev["rank"] <= n]
    ev["indicator_zh"] = ev["indicator_id"].map(lambda i: names.get(i, (i, i))[0])
    ev["indicator_en"] = ev["indicator_id"].map(lambda i: names.get(i, (i, i))[1])
    return ev[cols].reset_index(drop=True)


def _summary(lang, scores, res, skipped_extra, warn_lines, out, seed, ref_dir, names) -> str:
    zh = lang == "zh"
    n_inst = len(scores)
    n_ind = (
        len(res.computed)
        if getattr(res, "computed", None)
        else res.values["indicator_id"].nunique()
    )
    tiers = scores["tier"].value_counts().reindex(list("ABCD"), fill_value=0)
    n_adj = (
        int((scores["tier"].astype(str) != scores["tier_score"].astype(str)).sum())
        if "tier_score" in scores.columns
        else 0
    )
    lines = []
    if zh:
        lines.append(
            f"风险评分完成：机构 {n_inst} 家；计算指标 {n_ind} 项，跳过 {len(res.skipped)} 项；"
            f"参照期：{ref_dir or '本期数据'}；随机种子：{seed}"
        )
        lines.append(
            "风险等级（A 低 … D 高）：" + "，".join(f"{t} {tiers[t]} 家" for t in tiers.index)
        )
        if n_adj:
            lines.append(
                f"其中 {n_adj} 家的风险等级（tier）与仅按评分的等级（tier_score）不同："
                "已按上年信用等级调整（信用好下调、信用差上调，见 credit_rating 列）。"
            )
    else:
        lines.append(
            f"Scored {n_inst} institutions; {n_ind} indicators computed, {len(res.skipped)} "
            f"skipped; reference: {ref_dir or 'same data'}; seed={seed}"
        )
        lines.append("Tiers (A low … D high): " + ", ".join(f"{t} {tiers[t]}" for t in tiers.index))
        if n_adj:
            lines.append(
                f"{n_adj} institutions have a tier different from the score-only tier "
                "(tier_score): adjusted by last year's credit rating (good credit one tier "
                "down, poor credit up; see credit_rating)."
            )
    if res.skipped:
        lines.append("跳过的指标及原因：" if zh else "Skipped indicators and why:")
        for ind_id, reason in sorted(res.skipped):
            nm = names.get(ind_id, (ind_id, ind_id))[0 if zh else 1]
            lines.append(
                f"  - {ind_id}（{nm}）：{reason}" if zh else f"  - {ind_id} ({nm}): {reason}"
            )
    for w in skipped_extra + warn_lines:
        lines.append(("  注意：" if zh else "  Note: ") + w)
    top = scores.sort_values(["risk_log_excess", "fixmedins_code"], ascending=[False, True]).head(5)
    lines.append("风险最高的 5 家机构：" if zh else "Five highest-risk institutions:")
    for r in top.itertuples(index=False):
        reason = r.top_reasons_zh if zh else r.top_reasons_en
        lines.append(
            f"  {r.fixmedins_code}  {r.tier}  {r.risk_score:.4f} (L={r.risk_log_excess:.3f})  "
            f"{reason}"
        )
    files = ", ".join(str(out / f) for f in ("scores.csv", "evidence.csv", "indicators.csv"))
    lines.append(("输出：" if zh else "Wrote: ") + files)
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:

    _SESSION.clear()
    _SESSION.update(
        engine=args.engine,
        memory=getattr(args, "memory", None),
        spill_dir=getattr(args, "spill_dir", None),
        spark_master=getattr(args, "spark_master", None),
    )
    try:
        return _run_locked(args)
    finally:
        while _OPEN:
            _OPEN.pop().close()


def _run_locked(args: argparse.Namespace) -> int:
    from riskscore.outputs import OutputLock, check_out_dir

    if args.evidence_per_indicator < 0:
        raise RiskscoreError("--evidence-per-indicator: expected a number >= 0")
    # output-path problems are one line before any computation; the lock refuses a second run
    check_out_dir(args.out, "--out", (*SCORE_FILES, "score_meta.json"))
    with OutputLock(args.out, "riskscore score"):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from riskscore.outputs import begin_outputs, write_completion
    from riskscore.scoring import RiskScorer, indicator_names

    tiers, policy_path, policy_sha = _tiers(args.policy)
    progress = not args.quiet and sys.stderr.isatty()

    ds, tables = _load(args.data)
    res = _indicators(tables, args.data, args.engine, progress)
    institutions = tables["institutions"]
    credit = tables.get("credit_ratings")
    if args.reference is not None:
        _, ref_tables = _load(args.reference)
        ref_res = _indicators(ref_tables, args.reference, args.engine, progress)
        ref_values, ref_inst = ref_res.values, ref_tables["institutions"]
    else:
        ref_values, ref_inst = res.values, institutions

    names = {k: (v.zh, v.en) for k, v in indicator_names().items()}
    scorer = RiskScorer(
        by_region=args.by_region, tiers=tiers, random_state=args.seed, names=names or None
    )
    warn_lines: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scorer.fit(ref_values, ref_inst)
        scores, detail = scorer.score_details(res.values, institutions, res.exposure, credit)
    for w in caught:
        if issubclass(w.category, UserWarning):
            warn_lines.append(str(w.message))
    from riskscore.scoring import score_information

    info = score_information(scores)
    if info["low_information"]:
        warn_lines.append(_low_information_text(info, args.lang))

    out: Path = args.out
    # the old set is invalid from here on: score_meta.json says "incomplete" until the end
    begin_outputs(out, "score_meta.json", "riskscore score")
    _write_csv(scores, out / "scores.csv")
    ind = detail.copy()
    ind["indicator_zh"] = ind["indicator_id"].map(lambda i: names.get(i, (i, i))[0])
    ind["indicator_en"] = ind["indicator_id"].map(lambda i: names.get(i, (i, i))[1])
    _write_csv(ind, out / "indicators.csv")
    _write_csv(_evidence(res, detail, names, args.evidence_per_indicator), out / "evidence.csv")
    meta = {
        "command": "riskscore score",
        "data": str(args.data),
        "reference": str(args.reference) if args.reference else None,
        "engine": args.engine,
        "seed": args.seed,
        "policy": policy_path,
        "policy_sha256": policy_sha,
        "scorer_params": {k: v for k, v in scorer.get_params().items() if k != "names"},
        "tier_cutoffs_log_excess": scorer.tier_cutoffs_,
        "tier_method": "rank of risk_log_excess in this period; counts by the policy shares "
        "(largest remainder, no empty tier with >= 4 institutions); ties: larger fund_paid, "
        "then larger code, higher",
        "tier_min_log_excess": {
            t: float(g.min()) for t, g in scores.groupby("tier_score")["risk_log_excess"]
        },
        "information": info,
        "indicators_computed": sorted(set(res.values["indicator_id"])),
        "indicators_skipped": [{"indicator_id": i, "reason": r} for i, r in sorted(res.skipped)],
        "families": list(FAMILIES),
        "n_institutions": int(len(scores)),
        "tiers": {t: int(v) for t, v in scores["tier"].value_counts().sort_index().items()},
        "rules_version": (getattr(res, "rules", {}) or {}).get("_version"),
        "warnings": warn_lines,
        "quarantined_rows": {
            name: int(c["quarantined"]) for name, c in ds.report()["tables"].items()
        },
    }
    meta["status"] = "complete"
    write_completion(
        out, "score_meta.json", SCORE_FILES, json.loads(json.dumps(meta, default=_json_default))
    )
    notes = []
    quarantined = {k: v for k, v in meta["quarantined_rows"].items() if v}
    if quarantined:
        listing = ", ".join(f"{k} {v}" for k, v in sorted(quarantined.items()))
        notes.append(
            f"不合格行已隔离、未参与计算（riskscore validate 查看原因）：{listing}"
            if args.lang == "zh"
            else f"rows quarantined and not used (see riskscore validate): {listing}"
        )
    sys.stdout.write(
        _summary(args.lang, scores, res, notes, warn_lines, out, args.seed, args.reference, names)
    )
    return 0


def _low_information_text(info: dict, lang: str) -> str:
    no_ex = info.get("share_without_excess")
    if lang == "zh":
        msg = f"评分信息量低：{info['share_in_band']:.0%} 的机构风险分落在中位数 ±{info['band']:g} 以内"
        if no_ex is not None:
            msg += f"，{no_ex:.0%} 的机构没有任何指标可信地高于同类机构常态"
        return msg + "；等级主要由微小差异决定，差异化抽查的依据较弱。"
    msg = (
        f"low-information scores: {info['share_in_band']:.0%} of institutions lie within "
        f"±{info['band']:g} of the median risk_score"
    )
    if no_ex is not None:
        msg += f", {no_ex:.0%} have no indicator credibly above their peers' norm"
    return msg + "; tiers rest on small differences, the risk-differentiated draw has a weak basis."


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)

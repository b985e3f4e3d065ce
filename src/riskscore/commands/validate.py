"""``riskscore validate``: check a data folder against the data contract (数据校验)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from riskscore.contract import TABLES
from riskscore.errors import ContractError

MAX_REGISTRY_QUARANTINE = 0.5
"""Default largest share of quarantined rows in ``institutions`` for a usable folder: above it
the registry's codes are not understood (e.g. labels no dictionary maps) and every later step
would run on a fraction of the institutions."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="数据校验：按数据契约检查数据目录 / validate a data folder against the data contract",
        description=(
            "读取数据目录中的各表（CSV UTF-8/BOM/GB18030、XLSX、Parquet），按数据契约校验，"
            "问题行隔离并说明原因。 / Read every contract table in DIR, validate it and account "
            "for every row. Exit 0 when the folder is usable (required tables present and "
            "readable), 2 otherwise."
        ),
    )
    p.add_argument("--data", required=True, metavar="DIR", help="数据目录 / data folder")
    p.add_argument(
        "--json",
        action="store_true",
        help="以JSON输出各表的读取、接受、隔离行数及原因 / print the counts as JSON",
    )
    p.add_argument(
        "--quarantine-out",
        metavar="DIR",
        help="隔离行及原因写入 DIR/<表名>.csv（不含个人信息列） / write quarantined rows with "
        "their reason to DIR/<table>.csv (personal-data columns left out)",
    )
    p.add_argument(
        "--clean-out",
        metavar="DIR",
        help="接受的行写入 DIR/<表名>.parquet / write accepted rows to DIR/<table>.parquet",
    )
    p.add_argument(
        "--dictionaries",
        metavar="FILE",
        default=None,
        help="本局代码字典映射（YAML，补充内置字典） / bureau code dictionaries (YAML) extending the "
        "shipped ones (DIR/dictionaries.yaml is also read when present)",
    )
    p.add_argument(
        "--max-registry-quarantine",
        type=float,
        default=MAX_REGISTRY_QUARANTINE,
        metavar="SHARE",
        help="名录库隔离行占比超过该值时退出码为2 / exit 2 when the institution registry "
        f"quarantines more than this share of its rows (default {MAX_REGISTRY_QUARANTINE:g})",
    )
    p.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="提示语言 / summary language (default zh)",
    )
    add_engine_options(p, spark=False)
    p.add_argument(
        "--batch-rows",
        type=int,
        default=None,
        metavar="N",
        help="分批读取的行数（大文件限内存） / rows per batch when reading big files",
    )
    p.set_defaults(func=run)


def add_engine_options(p: argparse.ArgumentParser, spark: bool = True) -> None:
    """``--memory`` and ``--spill-dir`` (and, for score, ``--spark-master``)."""
    p.add_argument(
        "--memory",
        default=None,
        metavar="SIZE",
        help="engine memory limit, e.g. 4GB or 30%% (default: a quarter of the machine's RAM, "
        "at least 1GB); "
        "beyond it DuckDB spills to --spill-dir (内存上限)",
    )
    p.add_argument(
        "--spill-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for the engine's spill files (default: a temporary "
        "folder, removed at the end) (溢写目录)",
    )
    if spark:
        p.add_argument(
            "--spark-master",
            default=None,
            metavar="URL",
            help="Spark 集群地址 / Spark master URL with --engine spark, e.g. spark://host:7077 (default: "
            "RISKSCORE_SPARK_MASTER or local[2])",
        )


def run(args: argparse.Namespace) -> int:
    from riskscore.io import DEFAULT_BATCH_ROWS
    from riskscore.io.engine import EngineSession, load_folder_engine
    from riskscore.outputs import check_out_dir

    # unusable output folders are one line before anything is read
    if args.quarantine_out is not None:
        check_out_dir(args.quarantine_out, "--quarantine-out")
    if args.clean_out is not None:
        check_out_dir(args.clean_out, "--clean-out")
    with EngineSession(memory=args.memory, spill_dir=args.spill_dir) as es:
        ds = load_folder_engine(
            Path(args.data),
            es,
            quarantine_dir=args.quarantine_out,
            clean_dir=args.clean_out,
            batch_rows=args.batch_rows or DEFAULT_BATCH_ROWS,
            dictionaries=args.dictionaries,
            keep_data=False,  # counts and quarantine only: key and reference columns
        )
        report = ds.report()
    problem = verdict(report, args.max_registry_quarantine)
    if args.json:
        report["usable"] = problem is None
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    else:
        text = summary(report, Path(args.data), args.lang, args.quarantine_out, args.clean_out)
        if problem is not None:
            text = text.replace(_T[args.lang]["ok"] + "\n", "")
        sys.stdout.write(text)
    if problem is not None:
        raise ContractError(f"{Path(args.data)}: {problem}")
    return 0


def verdict(report: dict, max_registry_quarantine: float = MAX_REGISTRY_QUARANTINE) -> str | None:
    """``None`` when the folder is usable, else one line saying why not.

    Unusable: a required table with no accepted rows, or an institution registry quarantining
    more than ``max_registry_quarantine`` of its rows (the reasons with most rows are named).
    """
    for name, c in report["tables"].items():
        spec = TABLES[name]
        if spec.required and c["accepted"] == 0:
            why = _top_reasons(c)
            return (
                f"required table {name} ({spec.zh}) has no accepted rows "
                f"({c['read']} read, {c['quarantined']} quarantined{why}); expected at least "
                "one valid row — see validate --quarantine-out for the rows and reasons"
            )
    reg = report["tables"].get("institutions")
    if reg and reg["read"] and reg["quarantined"] > max_registry_quarantine * reg["read"]:
        return (
            f"institutions quarantines {reg['quarantined']} of {reg['read']} rows "
            f"({reg['quarantined'] / reg['read']:.0%}{_top_reasons(reg)}), more than the "
            f"allowed {max_registry_quarantine:.0%}; expected registry codes the data "
            "contract or a dictionary knows (riskscore contract; --dictionaries FILE)"
        )
    return None


def _top_reasons(c: dict) -> str:
    top = sorted(c["reasons"].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    return (": " + ", ".join(f"{r} {n}" for r, n in top)) if top else ""


_T = {
    "zh": {
        "title": "数据目录：{dir}",
        "head": ("表", "读取", "接受", "隔离", "隔离原因（行数）"),
        "none": "—",
        "missing": "缺少的可选表（依赖它们的步骤将跳过）：{x}",
        "extra": "未识别、已忽略的文件：{x}",
        "extra_cols": "{t}：非契约字段（保留为文本）：{x}",
        "ignored_cols": "{t}：忽略的平台字段（指标不使用，{n} 个）：{x}",
        "dict": "字典映射：版本 {v}；已映射 {n} 个单元格（明细见 --json 的 dictionaries.applied）",
        "skipped": "{t}：未执行的检查：{x}",
        "qout": "隔离行已写入：{x}",
        "cout": "接受行已写入：{x}",
        "total": "合计：读取 {read} 行，接受 {acc} 行，隔离 {q} 行。",
        "ok": "结论：数据目录可用（必需表齐全且可读）。",
        "legend": "原因说明：",
        "rule": "计数规则：一行有多个问题只隔离一次（读取 = 接受 + 隔离）；原因按行计数，"
        "同一行可计入多个原因。",
    },
    "en": {
        "title": "Data folder: {dir}",
        "head": ("table", "read", "accepted", "quarantined", "reasons (rows)"),
        "none": "-",
        "missing": "Optional tables not present (steps needing them are skipped): {x}",
        "extra": "Unrecognised files (ignored): {x}",
        "extra_cols": "{t}: columns not in the contract (kept as text): {x}",
        "ignored_cols": "{t}: platform fields ignored (not used by the indicators, {n}): {x}",
        "dict": "Code dictionaries: version {v}; {n} cells mapped (details: --json, "
        "dictionaries.applied)",
        "skipped": "{t}: checks not run: {x}",
        "qout": "Quarantined rows written to: {x}",
        "cout": "Accepted rows written to: {x}",
        "total": "Total: {read} rows read, {acc} accepted, {q} quarantined.",
        "ok": "Result: the folder is usable (required tables present and readable).",
        "legend": "Reason codes:",
        "rule": "Counting rule: a row with several problems is quarantined once (read = "
        "accepted + quarantined); reasons count rows per reason, so one row can count "
        "under several reasons.",
    },
}


def summary(
    report: dict, data_dir: Path, lang: str = "zh", quarantine_out=None, clean_out=None
) -> str:
    """Human-readable summary of :meth:`riskscore.io.Dataset.report` (Chinese by default).

    Only counts, table, column and reason names are printed, never cell values, so no
    personal data reaches the summary.
    """
    t = _T[lang]
    lines = [t["title"].format(dir=data_dir), ""]
    rows = [t["head"]]
    tot = {"read": 0, "acc": 0, "q": 0}
    for name, c in report["tables"].items():
        label = f"{name} {TABLES[name].zh}" if lang == "zh" else name
        reasons = "; ".join(
            f"{r} {n}" for r, n in sorted(c["reasons"].items(), key=lambda kv: (-kv[1], kv[0]))
        )
        rows.append(
            (label, str(c["read"]), str(c["accepted"]), str(c["quarantined"]), reasons or t["none"])
        )
        tot["read"] += c["read"]
        tot["acc"] += c["accepted"]
        tot["q"] += c["quarantined"]
    widths = [max(_width(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        cells = [_ljust(r[0], widths[0])] + [_rjust(r[i], widths[i]) for i in (1, 2, 3)]
        lines.append("  ".join(cells) + "  " + r[4])
    lines += ["", t["total"].format(**tot), t["rule"]]
    legend = _legend(report, lang)
    if legend:
        lines.append(t["legend"])
        lines += [f"  {code}: {text}" for code, text in legend]
    if report.get("missing_optional"):
        names = [
            f"{n}（{TABLES[n].zh}）" if lang == "zh" else n for n in report["missing_optional"]
        ]
        lines.append(t["missing"].format(x=", ".join(names)))
    if report.get("extra_files"):
        lines.append(t["extra"].format(x=", ".join(report["extra_files"])))
    for name, f in report.get("files", {}).items():
        if f.get("extra_columns"):
            lines.append(t["extra_cols"].format(t=name, x=", ".join(f["extra_columns"])))
        if f.get("ignored_columns"):
            ig = f["ignored_columns"]
            lines.append(t["ignored_cols"].format(t=name, n=len(ig), x=", ".join(ig)))
        if f.get("skipped_checks"):
            lines.append(t["skipped"].format(t=name, x=", ".join(f["skipped_checks"])))
    d = report.get("dictionaries") or {}
    n_mapped = sum(
        n for tab in d.get("applied", {}).values() for col in tab.values() for n in col.values()
    )
    if n_mapped:
        lines.append(t["dict"].format(v=d.get("version", "?"), n=n_mapped))
    if quarantine_out:
        lines.append(t["qout"].format(x=quarantine_out))
    if clean_out:
        lines.append(t["cout"].format(x=clean_out))
    lines.append(t["ok"])
    return "\n".join(lines) + "\n"


def _legend(report: dict, lang: str) -> list[tuple[str, str]]:
    """Meaning of every reason code in the report (``kind`` or ``kind:column``)."""
    from riskscore.io import REASONS_DOC
    from riskscore.io.dictionaries import default_dictionaries

    out = []
    seen = set()
    for name, c in report["tables"].items():
        for code in sorted(c["reasons"]):
            if code in seen:
                continue
            seen.add(code)
            kind, _, col = code.partition(":")
            zh, en = REASONS_DOC.get(kind, (kind, kind))
            text = zh if lang == "zh" else en
            if col:
                spec = TABLES[name]
                label = f"{col}（{spec.column(col).zh}）" if col in spec.column_names else col
                text = f"{label} {text}" if lang == "zh" else f"{col}: {text}"
                if kind == "not_allowed" and col in spec.column_names:
                    allowed = default_dictionaries().allowed_text(
                        name, col, spec.column(col).allowed
                    )
                    if allowed:
                        text += ("；允许：" if lang == "zh" else "; allowed: ") + allowed
                    elif lang == "zh":
                        text += "；允许：代码（字母数字），或字典中的中文名称"
                    else:
                        text += "; allowed: a code (letters/digits) or a label a dictionary maps"
            out.append((code, text))
    return out


def _width(s: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _ljust(s: str, w: int) -> str:
    return s + " " * (w - _width(s))


def _rjust(s: str, w: int) -> str:
    return " " * (w - _width(s)) + s

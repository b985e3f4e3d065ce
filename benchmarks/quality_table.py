"""Detection quality of ``riskscore score`` on generated provinces (检出效果表).

For each seed: ``riskscore synth`` makes a province with planted violations (truth.csv) and
honest-but-unusual decoys (truth_decoys.csv); ``riskscore score`` scores it; this script
reports the ROC-AUC of every family score against the planted family, the composite's
ROC-AUC for "any violation", the precision in the top decile and the decoys' mean
risk-score percentile among institutions without violations.

Usage::

    .venv/bin/python benchmarks/quality_table.py --seeds 1 2 3 --institutions 300 \\
        [--engine duckdb] [--update-doc docs/scoring.md] [--json OUT.json]

With ``--update-doc`` the table between the markers ``<!-- quality-table:start -->`` and
``<!-- quality-table:end -->`` of that file is replaced.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.cli import main as cli_main
from riskscore.contract import FAMILIES
from riskscore.scoring import family_auc

START, END = "<!-- quality-table:start -->", "<!-- quality-table:end -->"


def evaluate(seed: int, institutions: int, engine: str, work: Path, extra: list[str]) -> dict:
    data = work / f"prov{seed}"
    out = work / f"score{seed}"
    log = io.StringIO()
    t0 = time.perf_counter()
    synth = ["synth", "--out", str(data), "--institutions", str(institutions)]
    synth += ["--seed", str(seed), "--no-progress", *extra]
    with contextlib.redirect_stdout(log):
        code = cli_main(synth)
    if code:
        raise SystemExit(f"riskscore synth failed for seed {seed}")
    t1 = time.perf_counter()
    score = ["score", "--data", str(data), "--out", str(out), "--engine", engine]
    with contextlib.redirect_stdout(log):
        code = cli_main([*score, "--quiet", "--lang", "en"])
    if code:
        raise SystemExit(f"riskscore score failed for seed {seed}")
    t2 = time.perf_counter()
    scores = pd.read_csv(out / "scores.csv", dtype={"fixmedins_code": str})
    truth = pd.read_csv(data / "truth.csv", dtype={"fixmedins_code": str})
    decoy_path = data / "truth_decoys.csv"
    decoys = pd.read_csv(decoy_path, dtype={"fixmedins_code": str}) if decoy_path.exists() else None
    res = family_auc(scores, truth, decoys)
    res["seed"] = seed
    res["synth_seconds"] = round(t1 - t0, 1)
    res["score_seconds"] = round(t2 - t1, 1)
    return res


def _fmt(v) -> str:
    return "—" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.3f}"


def markdown(results: list[dict], institutions: int, engine: str) -> str:
    seeds = [r["seed"] for r in results]
    head = "| family | " + " | ".join(f"seed {s}" for s in seeds) + " | min | violators per seed |"
    lines = [
        f"Generated provinces of {institutions} institutions, engine `{engine}`, "
        f"`riskscore score` defaults; produced by `benchmarks/quality_table.py "
        f"--seeds {' '.join(map(str, seeds))} --institutions {institutions}`.",
        "",
        head,
        "|---|" + "---|" * (len(seeds) + 2),
    ]
    for f in FAMILIES:
        vals = [r[f] for r in results]
        ok = [v for v in vals if v is not None]
        pos = "/".join(str(r["positives"][f]) for r in results)
        lines.append(
            f"| `{f}` ROC-AUC | "
            + " | ".join(_fmt(v) for v in vals)
            + f" | {_fmt(min(ok) if ok else None)} | {pos} |"
        )
    for key, label in [
        ("any", "composite `risk_score` ROC-AUC (any violation)"),
        ("iforest_any", "`iforest_score` ROC-AUC (any violation)"),
        ("top_decile_precision", "precision in the top decile of `risk_score`"),
        ("prevalence", "share of violators"),
        ("decoy_percentile", "decoys' mean `risk_score` percentile among non-violators"),
    ]:
        vals = [r.get(key) for r in results]
        ok = [v for v in vals if v is not None]
        agg = (max(ok) if key == "decoy_percentile" else min(ok)) if ok else None
        lines.append(f"| {label} | " + " | ".join(_fmt(v) for v in vals) + f" | {_fmt(agg)} | |")
    lines.append("")
    lines.append(
        "Floors held by `tests/test_scoring.py` (slow): family ROC-AUC ≥ 0.95, composite ≥ 0.90, "
        "decoy percentile ≤ 0.70 (the last column of the decoy row is the worst seed)."
    )
    return "\n".join(lines)


def update_doc(path: Path, table: str) -> None:
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{path}: markers {START} / {END} not found")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + START + "\n" + table + "\n" + END + tail, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--institutions", type=int, default=300)
    ap.add_argument("--engine", default="duckdb", choices=("duckdb", "spark"))
    ap.add_argument("--update-doc", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--keep", type=Path, default=None, help="keep provinces and scores in this folder"
    )
    ap.add_argument(
        "--synth-arg",
        action="append",
        default=[],
        help="extra argument passed to riskscore synth (repeatable)",
    )
    args = ap.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        results = [
            evaluate(s, args.institutions, args.engine, args.keep, args.synth_arg)
            for s in args.seeds
        ]
    else:
        with tempfile.TemporaryDirectory(prefix="rs_quality_") as tmp:
            results = [
                evaluate(s, args.institutions, args.engine, Path(tmp), args.synth_arg)
                for s in args.seeds
            ]
    table = markdown(results, args.institutions, args.engine)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if args.update_doc:
        update_doc(args.update_doc, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

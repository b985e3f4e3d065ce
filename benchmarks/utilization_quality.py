"""Detection quality on first-extract provinces (首批数据形态的检出效果).

For each seed and intensity: ``riskscore synth --tables first-extract`` writes only
``mdtrt_d, setl_d, setl_list_diag_d, institutions, credit_ratings`` with the planted
utilisation abuses (truth.csv family ``abnormal_utilization``, truth_utilization.csv the
abuse), ``riskscore score`` scores it, and this script reports the ROC-AUC of the
``abnormal_utilization`` family score and of ``risk_score`` for the violators (per abuse too,
each abuse's violators against the honest institutions), ``iforest_score``, the share of
institutions with claims that tie on ``risk_score``, the tier counts and whether
``expected_loss`` is positive for every institution with claims.

Usage::

    .venv/bin/python benchmarks/utilization_quality.py --seeds 11 23 37 \\
        --intensity default subtle [--institutions 300] [--extra-synth ...] [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

from riskscore.cli import main as cli_main

ABUSES = ("long_stay", "readmission_churning", "phantom_patients", "inflated_cost")


POLICY_SHARES = {"A": 0.50, "B": 0.30, "C": 0.15, "D": 0.05}  # the shipped default policy


def tiers_within_one(tier: pd.Series) -> bool:
    """Every tier's count within one institution of its policy share (``|count − share·n| < 1``)."""
    n = len(tier)
    counts = tier.value_counts()
    return all(abs(int(counts.get(t, 0)) - sh * n) < 1 for t, sh in POLICY_SHARES.items())


def evaluate(seed: int, intensity: str, institutions: int, work: Path, extra: list[str]) -> dict:
    data, out = work / f"d{seed}{intensity}", work / f"o{seed}{intensity}"
    args = ["synth", "--out", str(data), "--institutions", str(institutions), "--seed", str(seed)]
    args += ["--tables", "first-extract", "--intensity", intensity, "--no-progress", *extra]
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli_main(args) == 0
        assert cli_main(["score", "--data", str(data), "--out", str(out), "--quiet"]) == 0
    s = pd.read_csv(out / "scores.csv", dtype={"fixmedins_code": str})
    truth = pd.read_csv(data / "truth.csv", dtype={"fixmedins_code": str})
    ut = pd.read_csv(data / "truth_utilization.csv", dtype={"fixmedins_code": str})
    m = pd.read_parquet(data / "mdtrt_d.parquet", columns=["fixmedins_code"])
    with_claims = s.fixmedins_code.isin(set(m.fixmedins_code))
    y = s.fixmedins_code.isin(truth.fixmedins_code)
    rank = s["risk_log_excess"] if "risk_log_excess" in s else s["risk_score"]
    res = {
        "seed": seed,
        "intensity": intensity,
        "n": int(len(s)),
        "violators": int(y.sum()),
        "family_auc": roc_auc_score(y, s["abnormal_utilization"]),
        "risk_auc": roc_auc_score(y, rank),
        "iforest_auc": roc_auc_score(y, s["iforest_score"]),
        "ties": float(s.loc[with_claims, "risk_score"].duplicated(keep=False).mean()),
        "tiers": s["tier"].value_counts().sort_index().to_dict(),
        "tiers_within_one": tiers_within_one(s["tier"]),
        "expected_loss_positive": bool((s.loc[with_claims, "expected_loss"] > 0).all()),
    }
    honest = ~y
    for a in ABUSES:
        ya = s.fixmedins_code.isin(ut.fixmedins_code[ut.abuse == a])
        keep = ya | honest
        if ya.sum():
            res[f"family_auc_{a}"] = roc_auc_score(ya[keep], s.loc[keep, "abnormal_utilization"])
            res[f"risk_auc_{a}"] = roc_auc_score(ya[keep], rank[keep])
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 23, 37])
    ap.add_argument("--intensity", nargs="+", default=["default", "subtle"])
    ap.add_argument("--institutions", type=int, default=300)
    ap.add_argument("--extra-synth", nargs="*", default=[])
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for inten in a.intensity:
            for seed in a.seeds:
                r = evaluate(seed, inten, a.institutions, Path(tmp), a.extra_synth)
                rows.append(r)
                print(json.dumps(r, default=float), flush=True)
    df = pd.DataFrame(rows)
    cols = ["intensity", "seed", "violators", "family_auc", "risk_auc", "iforest_auc", "ties"]
    cols += [c for c in df.columns if c.startswith(("family_auc_", "risk_auc_"))]
    print(df[cols].round(3).to_string(index=False))
    if a.json:
        Path(a.json).write_text(json.dumps(rows, default=float, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

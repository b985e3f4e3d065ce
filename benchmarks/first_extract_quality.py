"""Scores on a first extract (首批数据): encounters, settlements, diagnoses, registry, credit.

For each seed and intensity: ``riskscore synth --tables first-extract [--intensity subtle]``
writes a province with planted utilisation abuses (``truth.csv``); ``riskscore score``
scores it; this script reports the share of institutions with claims that tie on
``risk_score``, the tier counts against the policy shares (50/30/15/5 %), whether
``expected_loss`` > 0 for every institution with claims, the ROC-AUC of ``risk_score``,
``expected_loss``, ``iforest_score`` and ``abnormal_utilization`` for "any planted
violation" (``riskscore.evaluate``), the ROC-AUC within fund-paid deciles, and the
low-information flag of ``score_meta.json``.

Usage::

    .venv/bin/python benchmarks/first_extract_quality.py --seeds 1 2 3 --institutions 300 \\
        [--intensity default subtle] [--json OUT.json] [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
from pathlib import Path

import pandas as pd

from riskscore.cli import main as cli_main
from riskscore.evaluate import evaluate
from riskscore.scoring import tier_counts

SHARES = {"B": 0.50, "C": 0.80, "D": 0.95}


def run_one(seed: int, institutions: int, intensity: str, work: Path) -> dict:
    data, out = work / f"fe{seed}{intensity}", work / f"sc{seed}{intensity}"
    log = io.StringIO()
    synth = ["synth", "--out", str(data), "--institutions", str(institutions), "--seed", str(seed)]
    synth += ["--no-progress", "--tables", "first-extract"]
    if intensity != "default":
        synth += ["--intensity", intensity]
    with contextlib.redirect_stdout(log):
        if cli_main(synth):
            raise SystemExit(f"riskscore synth failed for seed {seed}")
        if cli_main(["score", "--data", str(data), "--out", str(out), "--quiet", "--lang", "en"]):
            raise SystemExit(f"riskscore score failed for seed {seed}")
    scores = pd.read_csv(out / "scores.csv", dtype={"fixmedins_code": str}, encoding="utf-8-sig")
    meta = json.loads((out / "score_meta.json").read_text(encoding="utf-8"))
    truth = pd.read_csv(data / "truth.csv", dtype={"fixmedins_code": str})
    claims = scores["fund_paid"] > 0
    rs = scores.loc[claims, "risk_score"]
    counts = scores["tier"].value_counts().reindex(list("ABCD"), fill_value=0)
    n = len(scores)
    policy = [0.50 * n, 0.30 * n, 0.15 * n, 0.05 * n]
    labels = pd.DataFrame(
        {
            "fixmedins_code": scores["fixmedins_code"],
            "label": scores["fixmedins_code"].isin(truth["fixmedins_code"]).astype(int),
        }
    )
    cols = [
        c
        for c in ("risk_score", "expected_loss", "iforest_score", "abnormal_utilization")
        if c in scores
    ]
    ev = evaluate(scores, labels, columns=cols, by_size=True, n_boot=200, seed=seed)
    return {
        "seed": seed,
        "intensity": intensity,
        "institutions": n,
        "with_claims": int(claims.sum()),
        "violators": int(labels["label"].sum()),
        "ties": float(rs.duplicated(keep=False).mean()),
        "tiers": {t: int(counts[t]) for t in "ABCD"},
        "tiers_within_one": bool(all(abs(c - p) < 1 for c, p in zip(counts, policy, strict=True))),
        "tiers_policy": tier_counts(n, SHARES),
        "expected_loss_positive": bool((scores.loc[claims, "expected_loss"] > 0).all()),
        "auc": {c: ev["metrics"][c]["roc_auc"] for c in cols},
        "auc_ci": {c: ev["metrics"][c]["ci"]["roc_auc"] for c in cols},
        "auc_within_size": {
            c: ev["metrics"][c]["by_size"]["within_size_deciles_roc_auc"] for c in cols
        },
        "low_information": meta.get("information", {}).get("low_information"),
    }


def markdown(rows: list[dict]) -> str:
    head = (
        "| intensity | seed | with claims | violators | ties on `risk_score` | tiers A/B/C/D "
        "(policy) | `expected_loss` > 0 | ROC-AUC `risk_score` [95 % CI] | within size deciles "
        "| `expected_loss` | `iforest_score` | `abnormal_utilization` | low-information warning |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        a, ci = r["auc"], r["auc_ci"]
        t = "/".join(str(r["tiers"][k]) for k in "ABCD")
        p = "/".join(str(x) for x in r["tiers_policy"])

        def f(c, a=a):
            return f"{a[c]:.3f}" if a.get(c) is not None else "—"

        lines.append(
            f"| {r['intensity']} | {r['seed']} | {r['with_claims']} | {r['violators']} | "
            f"{r['ties']:.1%} | {t} ({p}) | {'yes' if r['expected_loss_positive'] else 'no'} | "
            f"{f('risk_score')} [{ci['risk_score'][0]:.2f}, {ci['risk_score'][1]:.2f}] | "
            f"{r['auc_within_size']['risk_score']:.3f} | {f('expected_loss')} | "
            f"{f('iforest_score')} | {f('abnormal_utilization')} | "
            f"{'yes' if r['low_information'] else 'no'} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--institutions", type=int, default=300)
    ap.add_argument("--intensity", nargs="+", default=["default", "subtle"])
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for intensity in args.intensity:
            for seed in args.seeds:
                r = run_one(seed, args.institutions, intensity, Path(tmp))
                rows.append(r)
                print(json.dumps(r), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

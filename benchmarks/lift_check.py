"""Lift check: do targeted draws find at least twice the violations of a uniform draw?

Runs the yearly cycle on a synthetic province and compares the violations found by the
risk-targeted draw with those a uniform draw of the same size would find, using the truth
the generator records (``truth_outcomes.csv``: what an inspection of each institution would
find).

Three figures per round:

* ``expected_lift`` — exact over all draws of the recorded design:
  ``Σ_i π_i y_i / (n · ȳ)`` (π from frame.csv, y and ȳ from truth_outcomes.csv);
* ``realised_lift`` — this draw's findings / (n · ȳ);
* ``estimated_lift`` — what ``riskscore analyze`` estimates from the results alone
  (``lift_vs_uniform`` row, with its 95 % interval).

Usage::

    # the synthetic province (needs `riskscore synth`, `score`, `plan`, `draw`)
    .venv/bin/python benchmarks/lift_check.py --institutions 300 --seed 7 --work /tmp/lift
    # an existing synthetic data folder
    .venv/bin/python benchmarks/lift_check.py --data DIR --work /tmp/lift
    # a constructed frame (no generator needed; tier-dependent rates set below)
    .venv/bin/python benchmarks/lift_check.py --constructed --work /tmp/lift

Prints a Markdown table and writes ``WORK/lift_check.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.cli import main as cli

RANDOMNESS = "lift-check 2025: 03 11 19 24 28 33 + 07"


def run(argv: list[str]) -> None:
    code = cli(argv)
    if code != 0:
        sys.exit(f"riskscore {' '.join(argv)} failed with exit code {code}")


def constructed(work: Path, seed: int, n: int = 2000) -> tuple[Path, list[Path]]:
    """A constructed province: tiers A–D from a noisy risk score, violation probability
    rising with the latent risk; stratified SRS draw with the default policy's tier
    probabilities (4/10/20/40 %)."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    score = latent + rng.normal(scale=0.8, size=n)  # the score sees the risk with noise
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.4 + 1.2 * latent)))).astype(int)
    q = pd.Series(score).rank(pct=True).to_numpy()
    tier = np.select([q > 0.95, q > 0.80, q > 0.50], ["D", "C", "B"], default="A")
    p = {"A": 0.04, "B": 0.10, "C": 0.20, "D": 0.40}
    codes = [f"K{i:05d}" for i in range(n)]
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    amount = np.where(y == 1, np.round(rng.lognormal(10.5, 1.0, n), 2), 0.0)
    pd.DataFrame({"fixmedins_code": codes, "violation_found": y, "improper_amount": amount}).to_csv(
        data / "truth_outcomes.csv", index=False
    )
    frame = pd.DataFrame({"fixmedins_code": codes, "tier": tier, "stratum": tier})
    frame["N_h"] = frame.groupby("stratum")["fixmedins_code"].transform("size")
    frame["n_h"] = [max(2, round(p[t] * N)) for t, N in zip(tier, frame["N_h"], strict=True)]
    frame["pi"] = frame["n_h"] / frame["N_h"]
    frame["selected"] = 0
    for _, part in frame.groupby("stratum"):
        pick = rng.choice(part.index.to_numpy(), int(part["n_h"].iloc[0]), replace=False)
        frame.loc[pick, "selected"] = 1
    frame["round"] = "1"
    draw = work / "draw1"
    draw.mkdir(parents=True, exist_ok=True)
    frame.to_csv(draw / "frame.csv", index=False)
    return data, [draw]


def synthetic(
    work: Path,
    data: Path | None,
    institutions: int,
    seed: int,
    rounds: int,
    prevalence: float | None = None,
) -> tuple[Path, list[Path], Path]:
    if data is None:
        data = work / "data"
        prev = ["--prevalence", str(prevalence)] if prevalence is not None else []
        run(
            [
                "synth",
                "--out",
                str(data),
                "--institutions",
                str(institutions),
                "--seed",
                str(seed),
                "--no-progress",
                *prev,
            ]
        )
    score, plan = work / "score", work / "plan"
    run(["score", "--data", str(data), "--out", str(score)])
    run(["plan", "--scores", str(score / "scores.csv"), "--data", str(data), "--out", str(plan)])
    draws: list[Path] = []
    for r in range(1, rounds + 1):
        d = work / f"draw{r}"
        prev = ["--previous", *map(str, draws)] if draws else []
        run(
            [
                "draw",
                "--plan",
                str(plan),
                "--randomness",
                f"{RANDOMNESS} round {r}",
                "--out",
                str(d),
                "--round",
                str(r),
                *prev,
            ]
        )
        draws.append(d)
    return data, draws, score / "scores.csv"


def simulate_coverage(draw: Path, y: pd.Series, n_draws: int, seed: int) -> dict:
    """Redraw the recorded design (same strata, N_h, n_h) many times with the generator's
    truth as y; bias and interval coverage of the Hájek rate, mean naive rate."""
    from riskscore.estimate import StratifiedSample, hajek_rate, naive_rate

    frame = pd.read_csv(draw / "frame.csv", dtype={"fixmedins_code": str, "stratum": str})
    frame = frame[frame["pi"] > 0].reset_index(drop=True)
    yy = y.reindex(frame["fixmedins_code"]).fillna(0).to_numpy(float)
    strata = frame.groupby("stratum").agg(N_h=("N_h", "first"), n_h=("n_h", "first"))
    groups = {h: np.flatnonzero(frame["stratum"].to_numpy() == h) for h in strata.index}
    rng = np.random.default_rng(seed)
    true = float(yy.mean())
    est, cov, cov_w, cov_kg, naive = [], 0, 0, 0, []
    for _ in range(n_draws):
        pos = np.concatenate(
            [rng.choice(groups[h], int(strata.loc[h, "n_h"]), replace=False) for h in groups]
        )
        s = StratifiedSample(
            stratum=frame["stratum"].to_numpy()[pos],
            N_h=strata["N_h"].to_dict(),
            n_h=strata["n_h"].to_dict(),
        )
        e = hajek_rate(s, yy[pos])
        w = hajek_rate(s, yy[pos], ci="wilson")
        kg = hajek_rate(s, yy[pos], ci="kg")
        est.append(e.estimate)
        cov += int(e.ci_low <= true <= e.ci_high)
        cov_w += int(w.ci_low <= true <= w.ci_high)
        cov_kg += int(kg.ci_low <= true <= kg.ci_high)
        naive.append(naive_rate(yy[pos]).estimate)
    est = np.array(est)
    return {
        "draws": n_draws,
        "true_rate": true,
        "mean_hajek": float(est.mean()),
        "mc_se": float(est.std(ddof=1) / np.sqrt(n_draws)),
        "coverage": cov / n_draws,
        "coverage_wilson": cov_w / n_draws,
        "coverage_kg": cov_kg / n_draws,
        "mean_naive": float(np.mean(naive)),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--data", type=Path, help="existing synthetic data folder")
    ap.add_argument("--constructed", action="store_true", help="use a constructed frame")
    ap.add_argument("--institutions", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--prevalence", type=float, help="passed to riskscore synth")
    ap.add_argument(
        "--coverage-draws",
        type=int,
        default=2000,
        help="redraws of the first round's design to check bias and coverage (0 = skip)",
    )
    ap.add_argument(
        "--learning",
        action="store_true",
        help="also synthesise year 2 (seed + 1), refit on year 1 (IPW) and compare hit rates",
    )
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    scores = None
    if a.constructed:
        data, draws = constructed(a.work, a.seed)
        mode = "constructed frame (2,000 institutions)"
    else:
        data, draws, scores = synthetic(
            a.work, a.data, a.institutions, a.seed, a.rounds, a.prevalence
        )
        pv = f" --prevalence {a.prevalence}" if a.prevalence is not None else ""
        mode = (
            "synthetic province ("
            + (
                str(a.data)
                if a.data
                else f"synth --institutions {a.institutions} --seed {a.seed}{pv}"
            )
            + ")"
        )
    truth = pd.read_csv(data / "truth_outcomes.csv", dtype={"fixmedins_code": str})
    y = truth.set_index("fixmedins_code")["violation_found"].astype(int)
    ybar = float(y.mean())
    rows = []
    for d in draws:
        res = a.work / f"results_{d.name}"
        run(
            [
                "inspect-sim",
                "--draw",
                str(d),
                "--data",
                str(data),
                "--out",
                str(res),
                "--seed",
                str(a.seed),
                "--complaints",
                "10",
            ]
        )
        out = a.work / f"analysis_{d.name}"
        extra = ["--scores", str(scores)] if scores else []
        run(
            [
                "analyze",
                "--draw",
                str(d),
                "--results",
                str(res / "results.csv"),
                "--out",
                str(out),
                "--as-of",
                "2025-12-31",
                *extra,
            ]
        )
        frame = pd.read_csv(d / "frame.csv", dtype={"fixmedins_code": str})
        yi = y.reindex(frame["fixmedins_code"]).fillna(0).to_numpy()
        ybar = float(yi.mean())  # the frame's own rate (closed institutions are not in it)
        n = int(frame["selected"].sum())
        expected = float(np.sum(frame["pi"].to_numpy() * yi))
        found = float(np.sum(frame["selected"].to_numpy() * yi))
        # ceiling: the same strata sizes and π, institutions ranked by the truth itself
        pis = np.sort(frame["pi"].to_numpy())[::-1]
        oracle = float(np.sum(pis * np.sort(yi)[::-1]))
        est = pd.read_csv(out / "estimates.csv").set_index(["scope", "measure"])
        lift = est.loc[("overall", "lift_vs_uniform")]
        vr = est.loc[("overall", "violation_rate")]
        rows.append(
            {
                "draw": d.name,
                "N": int(len(frame)),
                "n": n,
                "true_rate": ybar,
                "uniform_expected_findings": n * ybar,
                "design_expected_findings": expected,
                "expected_lift": expected / (n * ybar),
                "oracle_lift": oracle / (n * ybar),
                "realised_findings": found,
                "realised_lift": found / (n * ybar),
                "estimated_lift": float(lift["estimate"]),
                "estimated_lift_ci": [float(lift["ci_low"]), float(lift["ci_high"])],
                "estimated_rate": float(vr["estimate"]),
                "estimated_rate_ci": [float(vr["ci_low"]), float(vr["ci_high"])],
                "naive_rate": float(est.loc[("overall", "naive_hit_rate"), "estimate"]),
                "set_aside": int(est.loc[("overall", "excluded_non_draw"), "estimate"]),
            }
        )
    combined = None
    if len(draws) > 1:
        parts = [
            pd.read_csv(a.work / f"results_{d.name}" / "results.csv", dtype=str) for d in draws
        ]
        pd.concat(parts).to_csv(a.work / "results_all.csv", index=False)
        out = a.work / "analysis_all"
        run(
            [
                "analyze",
                "--draw",
                *map(str, draws),
                "--results",
                str(a.work / "results_all.csv"),
                "--out",
                str(out),
                "--as-of",
                "2025-12-31",
            ]
        )
        est = pd.read_csv(out / "estimates.csv").set_index(["scope", "measure"])
        combined = {
            m: [float(est.loc[("overall", m), c]) for c in ("estimate", "ci_low", "ci_high")]
            for m in ("violation_rate", "lift_vs_uniform", "naive_hit_rate")
        }
    coverage = (
        simulate_coverage(draws[0], y, a.coverage_draws, a.seed) if a.coverage_draws else None
    )
    learning = None
    if a.learning and scores is not None and not a.data:
        from riskscore.learning import learning_comparison_files

        data2 = a.work / "data_year2"
        prev = ["--prevalence", str(a.prevalence)] if a.prevalence is not None else []
        run(
            [
                "synth",
                "--out",
                str(data2),
                "--institutions",
                str(a.institutions),
                "--seed",
                str(a.seed + 1),
                "--no-progress",
                *prev,
            ]
        )
        run(["score", "--data", str(data2), "--out", str(a.work / "score_year2")])
        table, model = learning_comparison_files(
            scores,
            draws,
            a.work / "results_all.csv",
            a.work / "score_year2" / "scores.csv",
            data2,
        )
        table.to_csv(a.work / "learning_comparison.csv", index=False)
        learning = {
            "table": table.to_dict(orient="records"),
            "weights": model.weights_.round(4).to_dict(),
        }
    report = {
        "mode": mode,
        "rounds": rows,
        "combined": combined,
        "coverage": coverage,
        "learning": learning,
    }
    (a.work / "lift_check.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"Mode: {mode}\n")
    print(
        "| draw | N | n | true rate | uniform E[findings] | targeted E[findings] | expected lift "
        "| ceiling (oracle) lift | realised findings | realised lift | estimated lift (95% CI) "
        "| estimated rate (95% CI) | naive rate | set aside |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['draw']} | {r['N']} | {r['n']} | {r['true_rate']:.3f} | "
            f"{r['uniform_expected_findings']:.1f} | {r['design_expected_findings']:.1f} | "
            f"{r['expected_lift']:.2f} | {r['oracle_lift']:.2f} | {r['realised_findings']:.0f} | "
            f"{r['realised_lift']:.2f} | {r['estimated_lift']:.2f} "
            f"({r['estimated_lift_ci'][0]:.2f}–{r['estimated_lift_ci'][1]:.2f}) | "
            f"{r['estimated_rate']:.3f} ({r['estimated_rate_ci'][0]:.3f}–"
            f"{r['estimated_rate_ci'][1]:.3f}) | {r['naive_rate']:.3f} | {r['set_aside']} |"
        )
    if combined:
        print(
            "\nRounds combined (riskscore analyze --draw "
            + " ".join(d.name for d in draws)
            + "): "
            + "; ".join(f"{m} {v[0]:.3f} ({v[1]:.3f}–{v[2]:.3f})" for m, v in combined.items())
        )
    if coverage:
        print(
            f"\nRedraws of {draws[0].name}'s design ({coverage['draws']} stratified SRS draws, "
            f"true rate {coverage['true_rate']:.3f}): mean Hájek {coverage['mean_hajek']:.3f} "
            f"(MC s.e. {coverage['mc_se']:.3f}), 95% coverage {coverage['coverage']:.3f} "
            f"(Wilson {coverage['coverage_wilson']:.3f}, Korn–Graubard {coverage['coverage_kg']:.3f}), "
            f"mean naive {coverage['mean_naive']:.3f}"
        )
    if learning:
        print("\nLearning loop (refit on year 1, all rounds; evaluated on year 2):\n")
        print(pd.DataFrame(learning["table"]).to_string(index=False, float_format="%.3f"))
    return report


if __name__ == "__main__":
    main()

"""Coverage of the interval methods at a bureau's size (issue 12): violation rate and total
improper amount, per round and for the year, on the bundled province (``data_samples``,
300 institutions, 15–16 inspections a round) and on a 3,000-institution synthetic province.

The province's tiers and per-round sample sizes come from the real pipeline (``riskscore
score`` → ``plan`` with the default policy). Each redraw is a stratified simple random sample
by tier for every round (the distribution of ``riskscore draw``'s SHA-256-ticket selection;
rounds independent, as with the default cap of 2), y and the amount come from
``truth_outcomes.csv``, and the estimates are made with the production code: a
:class:`riskscore.estimate.StratifiedSample` per round, :func:`~riskscore.estimate.hajek_rate`
and :func:`~riskscore.estimate.ht_total` with each interval method, rounds combined by
``riskscore.analyze._combine`` (what ``riskscore analyze --draw R1 R2`` does).

Usage::

    .venv/bin/python benchmarks/coverage_intervals.py --work /tmp/covi --draws 1000

Prints the Markdown table of docs/estimation.md ("Interval coverage at a bureau's size").
``tests/test_estimate_coverage.py`` (slow) runs the same functions and asserts it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.analyze import _combine, _row
from riskscore.cli import main as cli
from riskscore.estimate import StratifiedSample, hajek_rate, ht_total

ROOT = Path(__file__).resolve().parents[1]
RATE_METHODS = ("auto", "normal", "kg")
AMOUNT_METHODS = ("auto", "normal", "t")


def _run(argv: list[str]) -> None:
    if cli(argv) != 0:
        raise RuntimeError(f"riskscore {' '.join(argv)} failed")


def bundled(work: Path) -> tuple[Path, Path]:
    """Score and plan the bundled province (cached in ``work``)."""
    work = Path(work)
    data = ROOT / "data_samples"
    plan = work / "ds_plan"
    if not (plan / "plan.json").exists():
        _run(["score", "--data", str(data), "--out", str(work / "ds_score")])
        scores = str(work / "ds_score" / "scores.csv")
        _run(["plan", "--scores", scores, "--data", str(data), "--out", str(plan)])
    return plan, data


def province3000(work: Path) -> tuple[Path, Path]:
    """The 3,000-institution province of ``coverage_province.py`` (cached in ``work``)."""
    import importlib.util

    work = Path(work) / "p3000"
    if not (work / "plan" / "plan.json").exists():
        spec = importlib.util.spec_from_file_location(
            "coverage_province", ROOT / "benchmarks" / "coverage_province.py"
        )
        cp = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cp)
        cp.build_province(work)
    return work / "plan", work / "data"


def load(plan: Path, data: Path) -> dict:
    """Frame tiers, per-round n_h and the truth (violation_found, improper_amount)."""
    inc = pd.read_csv(Path(plan) / "inclusion.csv", dtype={"fixmedins_code": str})
    inc = inc[inc["in_frame"] == 1]
    meta = json.loads((Path(plan) / "plan.json").read_text(encoding="utf-8"))
    truth = pd.read_csv(Path(data) / "truth_outcomes.csv", dtype={"fixmedins_code": str})
    inc = inc.merge(truth, on="fixmedins_code", how="left", validate="one_to_one")
    if inc["violation_found"].isna().any():
        raise RuntimeError("truth_outcomes.csv lacks frame institutions")
    tiers = sorted(inc["tier"].unique())
    rounds = len(meta["strata"][tiers[0]]["n_h_rounds"])
    return {
        "tiers": tiers,
        "y": {t: inc.loc[inc["tier"] == t, "violation_found"].to_numpy(float) for t in tiers},
        "a": {t: inc.loc[inc["tier"] == t, "improper_amount"].to_numpy(float) for t in tiers},
        "n": [{t: int(meta["strata"][t]["n_h_rounds"][r]) for t in tiers} for r in range(rounds)],
        "true_rate": float(inc["violation_found"].mean()),
        "true_total": float(inc["improper_amount"].sum()),
    }


def simulate(pop: dict, draws: int, seed: int = 12) -> dict:
    """Coverage of every method per round and for the year over ``draws`` redraws."""
    rng = np.random.default_rng(seed)
    tiers = pop["tiers"]
    N_h = {t: len(pop["y"][t]) for t in tiers}
    rounds = [str(r + 1) for r in range(len(pop["n"]))]
    # vectorised redraws: positions of the sampled institutions per (round, tier)
    picks = {}
    for r, n_r in zip(rounds, pop["n"], strict=True):
        for t in tiers:
            m = n_r[t]
            if m:
                u = rng.random((draws, N_h[t]))
                picks[r, t] = np.argpartition(u, m - 1, axis=1)[:, :m]
    cover: dict = {}
    widths: dict = {}
    t0 = time.perf_counter()
    for k in range(draws):
        per_round, n_by = {}, {}
        for r, n_r in zip(rounds, pop["n"], strict=True):
            strata, y, a = [], [], []
            for t in tiers:
                if (r, t) in picks:
                    idx = picks[r, t][k]
                    strata += [t] * len(idx)
                    y.append(pop["y"][t][idx])
                    a.append(pop["a"][t][idx])
            y, a = np.concatenate(y), np.concatenate(a)
            s = StratifiedSample(stratum=np.array(strata), N_h=N_h, n_h=n_r)
            rows = []
            for ci in RATE_METHODS:
                rows.append(
                    {**_row("overall", "violation_rate", hajek_rate(s, y, ci=ci)), "ci": ci}
                )
            for ci in AMOUNT_METHODS:
                rows.append(
                    {**_row("overall", "improper_amount_total", ht_total(s, a, ci=ci)), "ci": ci}
                )
            per_round[r], n_by[r] = rows, s.n
        designs = {f"round {r}": per_round[r] for r in rounds}
        year = []
        for ci in sorted(set(RATE_METHODS) | set(AMOUNT_METHODS)):
            part = {r: [x for x in rows if x["ci"] == ci] for r, rows in per_round.items()}
            if all(part.values()):
                year += [{**x, "ci": ci} for x in _combine(part, n_by, ci)]
        designs["year"] = year
        for key, rows in designs.items():
            for x in rows:
                if x["measure"] not in ("violation_rate", "improper_amount_total"):
                    continue
                true = pop["true_rate"] if x["measure"] == "violation_rate" else pop["true_total"]
                c = (key, x["measure"], x["ci"], x.get("method", ""))
                cover.setdefault(c, []).append(x["ci_low"] <= true <= x["ci_high"])
                widths.setdefault(c, []).append((x["ci_high"] - x["ci_low"]) / true)
    out = {
        "draws": draws,
        "seconds": time.perf_counter() - t0,
        "true_rate": pop["true_rate"],
        "true_total": pop["true_total"],
        "n": pop["n"],
        "N_h": N_h,
        "rows": [
            {
                "design": c[0],
                "measure": c[1],
                "ci": c[2],
                "coverage": float(np.mean(v)),
                "median_width_rel": float(np.median(widths[c])),
            }
            for c, v in sorted(cover.items())
        ],
    }
    return out


def table(results: dict) -> str:
    """Markdown: one line per (province, measure, --ci), columns round 1 / 2 / year."""
    lines = [
        "| province | measure | `--ci` (method) | round 1 | round 2 | year | median width / truth (year) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        df = pd.DataFrame(res["rows"])
        for (measure, ci), part in df.groupby(["measure", "ci"], sort=False):
            by = part.set_index("design")
            cells = [
                f"{by.loc[d, 'coverage']:.3f}" if d in by.index else "—"
                for d in ("round 1", "round 2", "year")
            ]
            w = by.loc["year", "median_width_rel"] if "year" in by.index else float("nan")
            lines.append(f"| {name} | {measure} | {ci} | " + " | ".join(cells) + f" | {w:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=12)
    a = ap.parse_args(argv)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, build in (("bundled (300)", bundled), ("synthetic 3,000", province3000)):
        pop = load(*build(work))
        results[name] = simulate(pop, a.draws, a.seed)
        print(f"{name}: {a.draws} redraws in {results[name]['seconds']:.0f} s", file=sys.stderr)
    print(table(results))
    (work / "coverage_intervals.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

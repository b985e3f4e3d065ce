"""Coverage on a synthetic province: bias and 95 % interval coverage of the design-based
violation-rate estimators over many redraws of one synthetic province.

The province, its scores, tiers and inclusion probabilities all come from the real
pipeline (``riskscore synth`` → ``score`` → ``plan`` with the default policy). Each redraw
then runs the project's own target selection (:func:`riskscore.draw.core.select_targets`,
SHA-256 tickets, stratified SRS by tier) for every round of the plan with a different
randomness text, takes the outcome y from ``truth_outcomes.csv`` (``violation_found``) and
estimates exactly as ``riskscore analyze --draw R1 R2 …`` does:

* per round: :func:`riskscore.estimate.sample_from_frame` on the round's frame
  (π = n_hr / N_h), :func:`~riskscore.estimate.hajek_rate` and
  :func:`~riskscore.estimate.ht_rate` (stratified variance, normal 95 % interval) and
  :func:`~riskscore.estimate.naive_rate`;
* the year: the rounds combined with fixed weights n_r / n, variance Σ (n_r/n)² V̂_r
  (``riskscore.analyze._combine``, the function ``analyze`` uses for several draw folders).

The annual (combined) estimate is the design a bureau analyses at the end of the year and
the one whose sample (≈ 10 % of the province) supports the normal approximation; each
round's own coverage is reported as well.

Usage::

    .venv/bin/python benchmarks/coverage_province.py --work /tmp/cov --draws 2000

Prints a Markdown table and writes ``WORK/coverage_province.json``. ``tests/
test_estimate_province.py`` (slow) runs the same functions and asserts the Done-when.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.analyze import _combine, _row
from riskscore.cli import main as cli
from riskscore.draw.bundle import build_inputs, parse_inputs
from riskscore.draw.core import DrawInputs, select_targets
from riskscore.draw.tickets import seed_from_randomness
from riskscore.errors import RiskscoreError
from riskscore.estimate import (
    check_frame,
    hajek_rate,
    ht_rate,
    naive_rate,
    sample_from_frame,
)

#: the province of the test and of the figures in docs/estimation.md
PROVINCE = {"institutions": 3000, "fee_lines": 600_000, "seed": 5, "prevalence": 0.03}
MEASURES = ("violation_rate", "violation_rate_ht", "naive_hit_rate")


def _run(argv: list[str]) -> None:
    code = cli(argv)
    if code != 0:
        raise RuntimeError(f"riskscore {' '.join(argv)} failed with exit code {code}")


def build_province(
    work: Path,
    *,
    institutions: int = PROVINCE["institutions"],
    fee_lines: int = PROVINCE["fee_lines"],
    seed: int = PROVINCE["seed"],
    prevalence: float = PROVINCE["prevalence"],
) -> dict:
    """``riskscore synth`` → ``score`` → ``plan`` (default policy) into ``work``.

    Returns
    -------
    dict
        Paths (``data``, ``plan``) and wall-clock seconds per step.
    """
    work = Path(work)
    data, score, plan = work / "data", work / "score", work / "plan"
    timing = {}
    t0 = time.perf_counter()
    _run(
        [
            "synth",
            "--out",
            str(data),
            "--institutions",
            str(institutions),
            "--fee-lines",
            str(fee_lines),
            "--seed",
            str(seed),
            "--prevalence",
            str(prevalence),
            "--no-progress",
        ]
    )
    timing["synth_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _run(["score", "--data", str(data), "--out", str(score)])
    timing["score_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _run(["plan", "--scores", str(score / "scores.csv"), "--data", str(data), "--out", str(plan)])
    timing["plan_s"] = time.perf_counter() - t0
    return {"data": data, "plan": plan, "timing": timing}


def round_inputs(plan: Path, data: Path) -> list[DrawInputs]:
    """The draw inputs of every round of the plan, as ``riskscore draw`` builds them."""
    import yaml

    policy = yaml.safe_load((Path(plan) / "policy.yaml").read_text(encoding="utf-8"))
    out = []
    for r in range(1, len(policy["rounds"]) + 1):
        files = build_inputs(plan, data, round_arg=r, salt="coverage-province")
        inp, _params, _policy = parse_inputs(files)
        out.append(inp)
    return out


def round_frame(inp: DrawInputs) -> pd.DataFrame:
    """The round's ``frame.csv`` content (without ``selected``): π = n_hr / N_h."""
    f = pd.DataFrame(
        {"fixmedins_code": sorted(inp.frame), "tier": [inp.frame[c] for c in sorted(inp.frame)]}
    )
    f["stratum"] = f["tier"]
    f["N_h"] = f.groupby("stratum")["fixmedins_code"].transform("size")
    f["n_h"] = f["tier"].map(lambda t: int(inp.n_round.get(t, 0)))
    f["pi"] = f["n_h"] / f["N_h"]
    f["selected"] = 0
    return check_frame(f, source="round frame")


def truth_y(data: Path, codes) -> np.ndarray:
    """``violation_found`` of ``truth_outcomes.csv`` for ``codes`` (every code must be there)."""
    path = Path(data) / "truth_outcomes.csv"
    t = pd.read_csv(path, dtype={"fixmedins_code": str})
    y = t.set_index("fixmedins_code")["violation_found"].astype(int)
    missing = pd.Index(codes).difference(y.index)
    if len(missing):
        raise RiskscoreError(f"{path}: no violation_found for frame institution {missing[0]!r}")
    return y.reindex(codes).to_numpy(dtype=float)


def simulate(inputs: list[DrawInputs], data: Path, n_draws: int, *, label: str = "cov") -> dict:
    """Redraw every round ``n_draws`` times and estimate as ``riskscore analyze`` does.

    Parameters
    ----------
    inputs : list of DrawInputs
        One per round (:func:`round_inputs`).
    data : path
        Folder with ``truth_outcomes.csv``.
    n_draws : int
    label : str
        Randomness text prefix; redraw k uses ``"<label>; redraw <k>"``.

    Returns
    -------
    dict
        True rate, mean estimates, Monte Carlo standard errors, coverage, naive mean, per
        round and for the year (rounds combined).
    """
    frames = [round_frame(inp) for inp in inputs]
    frames = [f[f["pi"] > 0].reset_index(drop=True) for f in frames]
    codes = frames[0]["fixmedins_code"].tolist()
    ymap = dict(zip(codes, truth_y(data, codes), strict=True))
    true = float(np.mean(list(ymap.values())))
    all_truth = pd.read_csv(Path(data) / "truth_outcomes.csv")["violation_found"]
    keys = ["year"] + [f"round:{i.round_index}" for i in inputs]
    rec = {k: {m: [] for m in MEASURES} | {f"cover_{m}": [] for m in MEASURES[:2]} for k in keys}
    zero_width = 0
    t0 = time.perf_counter()
    for k in range(n_draws):
        seed = seed_from_randomness(f"{label}; redraw {k}")
        previous: dict[str, int] = {}
        per_round, n_by_round = {}, {}
        for inp, frame in zip(inputs, frames, strict=True):
            inp_k = dataclasses.replace(inp, previous=dict(previous))
            _strata, selected, _tix = select_targets(seed, inp_k)
            drawn = [c for t in sorted(selected) for c in selected[t]]
            for c in drawn:
                previous[c] = previous.get(c, 0) + 1
            s = sample_from_frame(frame, drawn)
            y = np.array([ymap[c] for c in drawn])
            rows = [
                _row("overall", "violation_rate", hajek_rate(s, y)),
                _row("overall", "violation_rate_ht", ht_rate(s, y)),
                _row("overall", "naive_hit_rate", naive_rate(y)),
            ]
            r = str(inp.round_index)
            per_round[r], n_by_round[r] = rows, s.n
        combined = _combine(per_round, n_by_round)
        for key, rows in [("year", combined)] + [(f"round:{r}", v) for r, v in per_round.items()]:
            by = {row["measure"]: row for row in rows}
            for m in MEASURES:
                rec[key][m].append(by[m]["estimate"])
            for m in MEASURES[:2]:
                lo, hi = by[m]["ci_low"], by[m]["ci_high"]
                rec[key][f"cover_{m}"].append(lo <= true <= hi)
                if key == "year" and m == "violation_rate" and hi - lo <= 0:
                    zero_width += 1
    elapsed = time.perf_counter() - t0
    out = {
        "draws": n_draws,
        "frame_N": len(codes),
        "province_institutions": int(len(all_truth)),
        "true_rate": true,
        "true_rate_all_institutions": float(all_truth.mean()),
        "n_per_round": {f"round:{i.round_index}": dict(sorted(i.n_round.items())) for i in inputs},
        "N_h": frames[0].groupby("tier").size().to_dict(),
        "zero_width_intervals_year": zero_width,
        "simulate_s": elapsed,
    }
    for key in keys:
        d = rec[key]
        res = {}
        for m in MEASURES:
            v = np.asarray(d[m], dtype=float)
            res[m] = {
                "mean": float(v.mean()),
                "mc_se": float(v.std(ddof=1) / math.sqrt(len(v))),
                "sd": float(v.std(ddof=1)),
            }
        for m in MEASURES[:2]:
            res[m]["coverage"] = float(np.mean(d[f"cover_{m}"]))
        out[key] = res
    return out


def markdown(r: dict, province: dict, timing: dict | None = None) -> str:
    """The table of docs/estimation.md."""
    lines = [
        f"Province: `riskscore synth --institutions {province['institutions']} --fee-lines "
        f"{province['fee_lines']} --seed {province['seed']} --prevalence "
        f"{province['prevalence']}` → `score` → `plan` (default policy); frame N = "
        f"{r['frame_N']} (of {r['province_institutions']} institutions), tiers "
        + ", ".join(f"{t} {n}" for t, n in r["N_h"].items())
        + "; per-round n_h "
        + "; ".join(
            f"{k} " + "/".join(str(v) for v in n.values()) for k, n in r["n_per_round"].items()
        )
        + f". True rate (frame, truth_outcomes.csv) {r['true_rate']:.4f}; {r['draws']} redraws.",
        "",
        "| design | measure | mean estimate | MC s.e. | bias / MC s.e. | 95 % coverage |",
        "|---|---|---|---|---|---|",
    ]
    for key in [k for k in r if k == "year" or k.startswith("round:")]:
        for m in MEASURES:
            e = r[key][m]
            cov = f"{e['coverage']:.3f}" if "coverage" in e else "—"
            z = (e["mean"] - r["true_rate"]) / e["mc_se"]
            lines.append(f"| {key} | {m} | {e['mean']:.4f} | {e['mc_se']:.4f} | {z:+.1f} | {cov} |")
    t = f"redraws + estimation {r['simulate_s']:.0f} s"
    if timing:
        t = ", ".join(f"{k[:-2]} {v:.0f} s" for k, v in timing.items()) + ", " + t
    lines += ["", f"Timing (2 cores, shared): {t}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--reuse", action="store_true", help="reuse WORK/data and WORK/plan")
    for k, v in PROVINCE.items():
        ap.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
    a = ap.parse_args(argv)
    province = {k: getattr(a, k) for k in PROVINCE}
    a.work.mkdir(parents=True, exist_ok=True)
    if a.reuse and (a.work / "plan" / "plan.json").exists():
        built = {"data": a.work / "data", "plan": a.work / "plan", "timing": None}
    else:
        built = build_province(a.work, **province)
    res = simulate(round_inputs(built["plan"], built["data"]), built["data"], a.draws)
    res["province"] = province
    res["timing"] = built["timing"]
    (a.work / "coverage_province.json").write_text(json.dumps(res, indent=2))
    print(markdown(res, province, built["timing"]))
    return res


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

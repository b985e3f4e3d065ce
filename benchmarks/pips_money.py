"""Money-aware targeting (sampling.design: pips) against stratified SRS on the bundled province.

Scores ``data_samples`` with the default policy, plans it twice with the same allocation —
the default policy (stratified SRS) and the same policy with ``design: pips`` (size
``expected_loss``, floor 0.2) — and compares, with the generator's truth
(``truth_outcomes.csv``):

* expected improper money found (Σ_i E[inspections_i] × amount_i, exact) and expected
  violations found, under each design;
* realised over Monte Carlo redraws with the real ticket-driven selection functions
  (``cps_select`` for pips, lowest tickets for SRS), one randomness text per redraw;
* the inclusion test: per round, selection counts over R redraws against R·π (χ² and the largest
  |π̂ − π| in Monte Carlo standard errors), and the HT totals' Monte Carlo mean against the truth.

    .venv/bin/python benchmarks/pips_money.py --work /tmp/pips --draws 20000

``tests/test_pps_montecarlo.py`` (slow) runs :func:`run` and asserts on its result.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from riskscore.cli import main as cli
from riskscore.draw.core import cps_select, select_lowest, target_purpose
from riskscore.draw.tickets import seed_from_randomness
from riskscore.paths import POLICIES_DIR
from riskscore.pips import design_stratum

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data_samples"


def _run(argv: list[str]) -> None:
    if cli(argv) != 0:
        raise RuntimeError(f"riskscore {' '.join(argv)} failed")


def pips_policy(path: Path) -> Path:
    """The default policy with ``design: pips`` (written to ``path``)."""
    raw = yaml.safe_load((POLICIES_DIR / "floor10_2025.yaml").read_text(encoding="utf-8"))
    raw["policy_id"] = "floor10_2025_pips"
    raw["default"] = False
    raw["sampling"].update({"design": "pips", "size_measure": "expected_loss", "size_floor": 0.2})
    raw["sources"]["sampling.size_floor"] = (
        "riskscore default: size floor 20 % of the tier's mean expected loss (every π > 0)"
    )
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def setup(work: Path) -> tuple[Path, Path]:
    """Score the bundled province and plan it with SRS and pips (cached in ``work``)."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    scores = work / "ds_score" / "scores.csv"
    if not scores.exists():
        _run(["score", "--data", str(DATA), "--out", str(work / "ds_score")])
    plans = []
    for name, pol in (("srs", None), ("pips", pips_policy(work / "pips.yaml"))):
        out = work / f"plan_{name}"
        if not (out / "plan.json").exists():
            argv = ["plan", "--scores", str(scores), "--data", str(DATA), "--out", str(out)]
            _run(argv + (["--policy", str(pol)] if pol else []))
        plans.append(out)
    return plans[0], plans[1]


def run(work: Path, draws: int = 20000) -> dict:
    """Expected and realised money found under both designs, inclusion test, HT bias."""
    srs_dir, pips_dir = setup(work)
    plan = json.loads((pips_dir / "plan.json").read_text(encoding="utf-8"))
    inc = pd.read_csv(pips_dir / "inclusion.csv", dtype={"fixmedins_code": str, "tier": str})
    inc = inc[inc["in_frame"] == 1].sort_values("fixmedins_code").reset_index(drop=True)
    truth = pd.read_csv(DATA / "truth_outcomes.csv", dtype={"fixmedins_code": str})
    truth = truth.set_index("fixmedins_code").reindex(inc["fixmedins_code"]).fillna(0)
    amount = truth["improper_amount"].to_numpy(float)
    viol = truth["violation_found"].to_numpy(float)
    codes = inc["fixmedins_code"].tolist()
    pos = {c: i for i, c in enumerate(codes)}
    year = int(plan["year"])
    n_rounds = len(plan["rounds"])
    out: dict = {"draws": draws, "N": len(codes), "rounds": []}
    exp_money = {"pips": 0.0, "srs": 0.0}
    exp_viol = {"pips": 0.0, "srs": 0.0}
    real_money = {"pips": np.zeros(draws), "srs": np.zeros(draws)}
    real_viol = {"pips": np.zeros(draws), "srs": np.zeros(draws)}
    for r in range(1, n_rounds + 1):
        designs = {}
        pi = np.zeros(len(codes))
        pi_srs = np.zeros(len(codes))
        for t, st in sorted(plan["strata"].items()):
            sub = inc[inc["tier"] == t]
            if not len(sub):
                continue
            n = int(st["n_h_rounds"][r - 1])
            p_pi, p_work = design_stratum(sub["size"].to_numpy(float), n)
            idx = sub.index.to_numpy()
            pi[idx] = p_pi
            pi_srs[idx] = n / len(sub)
            designs[t] = (sub["fixmedins_code"].tolist(), list(p_work), n)
        assert np.allclose(pi, inc[f"pi_round_{r}"].to_numpy(float), atol=1e-9)
        counts = np.zeros(len(codes))
        ht_money = np.zeros(draws)
        ht_viol = np.zeros(draws)
        attempts = 0
        for k in range(draws):
            seed = seed_from_randomness(f"pips monte carlo round {r} draw {k}")
            sel_p, sel_s = [], []
            for t, (ids, p_work, n) in designs.items():
                purpose = target_purpose(year, r, t)
                chosen, _, a = cps_select(seed, purpose, ids, p_work, n)
                attempts += a
                sel_p += [pos[c] for c in chosen]
                sel_s += [pos[c] for c in select_lowest(seed, purpose, ids, n)]
            sel_p = np.array(sel_p)
            sel_s = np.array(sel_s)
            counts[sel_p] += 1
            ht_money[k] = float(np.sum(amount[sel_p] / pi[sel_p]))
            ht_viol[k] = float(np.sum(viol[sel_p] / pi[sel_p]))
            real_money["pips"][k] += amount[sel_p].sum()
            real_money["srs"][k] += amount[sel_s].sum()
            real_viol["pips"][k] += viol[sel_p].sum()
            real_viol["srs"][k] += viol[sel_s].sum()
        exp_money["pips"] += float(pi @ amount)
        exp_money["srs"] += float(pi_srs @ amount)
        exp_viol["pips"] += float(pi @ viol)
        exp_viol["srs"] += float(pi_srs @ viol)
        rnd = pi < 1
        e = draws * pi[rnd]
        chi2 = float(np.sum((counts[rnd] - e) ** 2 / (e * (1 - pi[rnd]))))
        df = int(rnd.sum()) - len(designs)
        pihat = counts / draws
        se = np.sqrt(pi * (1 - pi) / draws)
        z = np.where(se > 0, np.abs(pihat - pi) / np.where(se > 0, se, 1), 0.0)
        out["rounds"].append(
            {
                "round": r,
                "inspections": int(sum(d[2] for d in designs.values())),
                "take_all": int((pi >= 1).sum()),
                "pi_min": float(pi.min()),
                "chi2": chi2,
                "df": df,
                "chi2_p": float(stats.chi2.sf(chi2, df)),
                "max_abs_pihat_minus_pi": float(np.max(np.abs(pihat - pi))),
                "max_z": float(z.max()),
                "take_all_always": bool(np.all(counts[pi >= 1] == draws)),
                "mean_attempts_per_tier": attempts / (draws * len(designs)),
                "ht_amount_mean": float(ht_money.mean()),
                "ht_amount_mc_se": float(ht_money.std(ddof=1) / np.sqrt(draws)),
                "ht_violations_mean": float(ht_viol.mean()),
                "ht_violations_mc_se": float(ht_viol.std(ddof=1) / np.sqrt(draws)),
            }
        )
    out["truth_amount"] = float(amount.sum())
    out["truth_violations"] = float(viol.sum())
    out["expected_money"] = exp_money
    out["expected_violations"] = exp_viol
    out["realised_money_mean"] = {k: float(v.mean()) for k, v in real_money.items()}
    out["realised_money_mc_se"] = {
        k: float(v.std(ddof=1) / np.sqrt(draws)) for k, v in real_money.items()
    }
    out["realised_violations_mean"] = {k: float(v.mean()) for k, v in real_viol.items()}
    out["plan_expected_loss_covered"] = {
        "pips": plan["expected_findings"]["expected_loss_covered_targeted"],
        "srs": plan["expected_findings"]["expected_loss_covered_stratified_srs"],
    }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--draws", type=int, default=20000)
    a = ap.parse_args(argv)
    json.dump(run(a.work, a.draws), sys.stdout, indent=1, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

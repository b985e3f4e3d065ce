"""Issue 12 bugs, each with a test that failed on the shipped estimators.

Reference numbers come from R where R computes the same thing (``binom.test`` for the
Clopper–Pearson interval of k/m, ``svytotal``/``svyby`` for textbook standard errors; R is
not available on the test machine, so the R values are reproduced by their closed-form
formulas written out in each test, and the ``api`` data check is in
``test_estimate_reference.py``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from riskscore.analyze import analyze
from riskscore.estimate import (
    Z95,
    StratifiedSample,
    domain_total,
    hajek_rate,
    ht_total,
    lift_vs_uniform,
)


def _tiers(n_each=4, N=(100, 50, 30, 20)):
    strata = np.repeat(list("ABCD"), n_each)
    return StratifiedSample(
        stratum=strata,
        N_h=dict(zip("ABCD", N, strict=True)),
        n_h=dict.fromkeys("ABCD", n_each),
    )


def test_bug1_tier_interval_at_0_or_1_uses_the_tiers_n():
    """Tier C found 4 of 4: Clopper–Pearson on 4/4 (R: ``binom.test(4, 4)`` →
    [0.3976, 1]) — not on the whole sample's 16/16 ([0.794, 1], what was shipped)."""
    s = _tiers()
    y = np.array([0, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0], float)
    c = s.stratum == "C"
    kg = hajek_rate(s, y, domain=c, ci="kg")
    assert kg.estimate == 1.0
    assert kg.ci_low == pytest.approx(0.025 ** (1 / 4), abs=1e-9)  # 0.39764
    assert kg.ci_low == pytest.approx(0.398, abs=5e-4)
    assert kg.ci_high == 1.0
    # Wilson at p = 1 on m = 4: lower bound m / (m + z²)
    w = hajek_rate(s, y, domain=c, ci="wilson")
    assert w.ci_low == pytest.approx(4 / (4 + Z95**2), rel=1e-9)
    # a tier with no finding: [0, 1 − 0.025^(1/m)]
    zero = hajek_rate(s, np.where(c, 0.0, y), domain=c, ci="kg")
    assert zero.ci_low == 0.0
    assert zero.ci_high == pytest.approx(1 - 0.025 ** (1 / 4), abs=1e-9)


def test_bug2_adjustment_by_design_not_value_and_never_outside_the_domain():
    """A domain total of an indicator: strata outside the domain (y·d ≡ 0) get no
    all-equal term, and the se is R's textbook one (``svyby(~y, ~tier, svytotal)``:
    sqrt(N_h² (1 − f_h) s_h² / n_h)). Amounts never get the term, even when a tier's
    amounts are all 0 (0/1-valued)."""
    s = _tiers(n_each=6, N=(120, 60, 30, 24))
    y = np.zeros(24)
    y[s.stratum == "B"] = [1, 0, 0, 1, 0, 0]
    b = s.stratum == "B"
    e = domain_total(s, y, b, indicator=True)
    textbook = math.sqrt(60**2 * (1 - 6 / 60) * np.var(y[b], ddof=1) / 6)
    assert e.se == pytest.approx(textbook, rel=1e-12)
    assert e.ci_high - e.estimate == pytest.approx(Z95 * textbook, rel=1e-9)
    assert "small-sample adjustment" not in e.note
    # amounts: tier A with no finding has amount total 0 and se 0, no invented spread
    amount = np.where(b, y * 5000.0, 0.0)
    a = domain_total(s, amount, s.stratum == "A")
    assert a.estimate == 0.0 and a.se == 0.0 and a.ci_high == 0.0
    tot = ht_total(s, amount)
    assert tot.ci_high - tot.estimate == pytest.approx(Z95 * tot.se, rel=1e-9)
    assert "small-sample adjustment" not in tot.note
    # the same 0/1 values declared as an indicator do get the term in the interval only
    ind = ht_total(s, y, indicator=True)
    assert ind.se == pytest.approx(ht_total(s, y).se, rel=1e-12)
    assert ind.ci_high - ind.estimate > Z95 * ind.se
    assert "small-sample adjustment" in ind.note


def _two_rounds(tmp_path, n_by_round=((30, 30), (20, 10)), seed=0):
    rng = np.random.default_rng(seed)
    rows, results = [], []
    codes = [f"M{i:04d}" for i in range(400)]
    tiers = np.where(np.arange(400) < 300, "low", "high")
    y = (rng.random(400) < np.where(tiers == "low", 0.1, 0.4)).astype(int)
    amount = y * rng.lognormal(9, 1.5, 400)
    for r, ns in zip(("1", "2"), n_by_round, strict=True):
        for t, n in zip(("low", "high"), ns, strict=True):
            idx = np.flatnonzero(tiers == t)
            pick = set(rng.choice(idx, n, replace=False).tolist())
            for i in idx:
                rows.append(
                    {
                        "fixmedins_code": codes[i],
                        "tier": t,
                        "stratum": t,
                        "N_h": len(idx),
                        "n_h": n,
                        "pi": n / len(idx),
                        "selected": int(i in pick),
                        "round": r,
                    }
                )
                if i in pick:
                    results.append(
                        {
                            "result_id": f"{r}-{i}",
                            "fixmedins_code": codes[i],
                            "origin": "draw",
                            "draw_round": r,
                            "inspect_date": "2025-06-01",
                            "violation_found": y[i],
                            "improper_amount": float(amount[i]),
                        }
                    )
    (tmp_path / "draw").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "draw" / "frame.csv", index=False)
    pd.DataFrame(results).to_csv(tmp_path / "r.csv", index=False)
    return pd.DataFrame(results)


def _analyze(tmp_path, ci, out="o"):
    s = analyze(
        tmp_path / "draw",
        tmp_path / "r.csv",
        tmp_path / out,
        ci=ci,
        as_of=pd.Timestamp("2025-12-31").date(),
    )
    return s["estimates"].set_index(["scope", "measure"])


def test_bug3_combined_rounds(tmp_path):
    res = _two_rounds(tmp_path)
    e = _analyze(tmp_path, "t")
    n1, n2 = 60, 30
    rate = e.loc[("overall", "violation_rate")]
    r1 = e.loc[("round:1", "violation_rate"), "estimate"]
    r2 = e.loc[("round:2", "violation_rate"), "estimate"]
    assert rate["estimate"] == pytest.approx((n1 * r1 + n2 * r2) / (n1 + n2))
    # --ci honoured: Student t with the rounds' df added (n1 − 2) + (n2 − 2)
    assert rate["method"] == "t"
    half = (rate["ci_high"] - rate["ci_low"]) / 2
    assert half == pytest.approx(stats.t.ppf(0.975, 58 + 28) * rate["se"], rel=1e-9)
    for m in ("improper_amount_total", "lift_vs_uniform", "violating_institutions_total"):
        assert e.loc[("round:1", m), "method"] == "t", m
        assert e.loc[("overall", m), "method"] == "t", m
    # expected findings of a uniform draw of the year's size: n × R̂ (not Σ (n_r/n) n_r R̂_r)
    efu = e.loc[("overall", "expected_findings_uniform"), "estimate"]
    assert efu == pytest.approx((n1 + n2) * rate["estimate"])
    # tier inspected-only rates pooled over the rounds
    for t in ("low", "high"):
        codes = {f"M{i:04d}" for i in (range(300) if t == "low" else range(300, 400))}
        part = res[res["fixmedins_code"].isin(codes)]
        got = e.loc[(f"tier:{t}", "naive_hit_rate"), "estimate"]
        assert got == pytest.approx(part["violation_found"].mean())
    # amount intervals clipped at 0 and --ci kg named per row
    k = _analyze(tmp_path, "kg", out="k")
    assert k.loc[("overall", "violation_rate"), "method"] == "kg"
    assert k.loc[("overall", "improper_amount_total"), "method"] == "t"
    amt = k.xs("improper_amount_total", level="measure")
    assert (amt["ci_low"] >= 0).all()
    written = pd.read_csv(tmp_path / "k" / "estimates.csv")
    assert list(written.columns)[-1] == "method"


def test_bug4_korn_graubard_scales_by_t_n_minus_1_over_t_df():
    """(t_{n−1}/t_df)², Korn & Graubard (1998) / R's ``svyciprop(method="beta")``: with
    one stratum df = n − 1 and the factor is 1 — Clopper–Pearson on n_eff = p(1−p)/v."""
    s = StratifiedSample(stratum=["a"] * 10, N_h={"a": 10_000}, n_h={"a": 10})
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], float)
    e = hajek_rate(s, y, ci="kg")
    n_eff = 0.3 * 0.7 / e.se**2
    lo = stats.beta.ppf(0.025, 0.3 * n_eff, 0.7 * n_eff + 1)
    hi = stats.beta.ppf(0.975, 0.3 * n_eff + 1, 0.7 * n_eff)
    assert (e.ci_low, e.ci_high) == pytest.approx((lo, hi), rel=1e-9)
    # several strata: df = n − H and the factor (t_{n−1} / t_{n−H})² < 1
    s4 = _tiers()
    y4 = np.array([0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0], float)
    e4 = hajek_rate(s4, y4, ci="kg")
    p = e4.estimate
    n_eff = p * (1 - p) / e4.se**2 * (stats.t.ppf(0.975, 15) / stats.t.ppf(0.975, 12)) ** 2
    lo = stats.beta.ppf(0.025, p * n_eff, (1 - p) * n_eff + 1)
    assert e4.ci_low == pytest.approx(lo, rel=1e-9)


def test_bug5_collapsed_singleton_is_conservative():
    """Tier D inspected once (N = 10, half violators) collapsed with tier C (N = 20,
    18 inspected, no violator). Exact expectation over D's 10 possible draws: the true
    variance of the total is N_D² σ_D² = 100 × 0.25 = 25; the shipped pooled estimator
    (f = 19/30) expected 18.3 (not conservative); the collapsed term is conservative."""
    yD = np.array([0, 1] * 5, float)
    true_var = 10**2 * yD.var()  # C contributes 0: all its units equal
    vals = []
    for yd in yD:
        s = StratifiedSample(
            stratum=["C"] * 18 + ["D"], N_h={"C": 20, "D": 10}, n_h={"C": 18, "D": 1}
        )
        e = ht_total(s, np.r_[np.zeros(18), yd])
        assert "collapsed" in e.note
        vals.append(e.se**2)
    assert true_var == pytest.approx(25.0)
    assert np.mean(vals) >= true_var


def test_bug6_ci_t_honoured_for_totals_and_lift():
    s = _tiers(n_each=5)
    y = np.array([0, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1], float)
    q = stats.t.ppf(0.975, s.df())
    for e in (ht_total(s, y * 1000.0, ci="t"), lift_vs_uniform(s, y, ci="t")):
        assert e.method == "t"
        assert e.ci_high - e.estimate == pytest.approx(q * e.se, rel=1e-9)

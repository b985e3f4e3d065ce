"""Done-when of issue 5 on ONE SYNTHETIC PROVINCE (slow, ~3 minutes on 2 cores).

The province comes from the real pipeline: ``riskscore synth`` (3,000 institutions, seed 5,
prevalence 0.03) → ``riskscore score`` → ``riskscore plan`` (default policy, two rounds).
It is then redrawn 2,000 times with the project's own SHA-256-ticket target selection
(:func:`riskscore.draw.core.select_targets`, round 2 seeing round 1's inspections as
``riskscore draw --previous`` does), y is ``violation_found`` of ``truth_outcomes.csv``, and
the estimates are made as ``riskscore analyze --draw R1 R2`` makes them: Hájek and HT rates
with the stratified variance and 95 % normal interval per round, rounds combined with
weights n_r / n (the annual design: ≈ 300 inspections; one round's ≈ 150 is reported too).

Shared code: ``benchmarks/coverage_province.py`` (which writes the figures of
docs/estimation.md, "Coverage on a synthetic province").
"""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
N_DRAWS = 2000


def _bench():
    spec = importlib.util.spec_from_file_location(
        "coverage_province", ROOT / "benchmarks" / "coverage_province.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def province_coverage(tmp_path_factory):
    cp = _bench()
    work = tmp_path_factory.mktemp("province")
    t0 = time.perf_counter()
    built = cp.build_province(work)
    inputs = cp.round_inputs(built["plan"], built["data"])
    res = cp.simulate(inputs, built["data"], N_DRAWS)
    res["total_s"] = time.perf_counter() - t0
    print("\n" + cp.markdown(res, cp.PROVINCE, built["timing"]))
    return res


@pytest.mark.slow
def test_province_rate_estimators_unbiased_and_cover(province_coverage):
    r = province_coverage
    true = r["true_rate"]
    assert r["draws"] == N_DRAWS
    assert r["frame_N"] >= 2900  # the province's frame, not a toy
    assert 0 < true < 0.5
    for m in ("violation_rate", "violation_rate_ht"):
        e = r["year"][m]
        assert abs(e["mean"] - true) <= 3 * e["mc_se"], (m, e, true)
        assert 0.93 <= e["coverage"] <= 0.97, (m, e["coverage"])
    # no zero-width interval in any draw (all-equal strata get the small-sample term)
    assert r["zero_width_intervals_year"] == 0


@pytest.mark.slow
def test_province_naive_rate_biased_upward_on_same_draws(province_coverage):
    r = province_coverage
    naive = r["year"]["naive_hit_rate"]
    assert naive["mean"] - r["true_rate"] > 5 * naive["mc_se"], naive
    # and it is no small-sample accident: each round alone shows the same bias
    for key in [k for k in r if k.startswith("round:")]:
        e = r[key]["naive_hit_rate"]
        assert e["mean"] - r["true_rate"] > 5 * e["mc_se"]
    assert math.isfinite(r["total_s"])


def test_all_equal_strata_get_small_sample_variance_not_a_point_interval():
    """Fast check of the adjustment the province test relies on (riskscore.estimate)."""
    import numpy as np

    from riskscore.estimate import StratifiedSample, hajek_rate, ht_rate, ht_total

    s = StratifiedSample(
        stratum=["A"] * 10 + ["B"] * 10, N_h={"A": 200, "B": 50}, n_h={"A": 10, "B": 10}
    )
    y = np.array([0] * 10 + [1] * 10)
    pa, pb = 0.5 / 11, 10.5 / 11
    var_total = (1 - 10 / 200) * 10 / 9 * 10 * 20**2 * pa * (1 - pa) + (
        1 - 10 / 50
    ) * 10 / 9 * 10 * 5**2 * pb * (1 - pb)
    for e in (hajek_rate(s, y), ht_rate(s, y)):
        assert e.estimate == pytest.approx(50 / 250)
        assert e.se == pytest.approx(
            0, abs=1e-12
        )  # the textbook se (what R reports); the interval gets the term
        assert e.var_ci == pytest.approx(var_total / 250**2, rel=1e-12)
        assert e.ci_low < e.estimate < e.ci_high
        assert "small-sample adjustment" in e.note and "A (0/10)" in e.note
    assert ht_total(s, y, indicator=True).var_ci == pytest.approx(var_total, rel=1e-12)
    assert ht_total(s, y).var_ci == 0  # not declared an indicator: no adjustment
    # a tier without any finding: [0, >0] instead of [0, 0]
    dom = hajek_rate(s, y, domain=s.stratum == "A")
    assert dom.estimate == 0 and dom.ci_low == 0 and dom.ci_high > 0
    # strata with varying outcomes keep the textbook variance; only B is adjusted
    y2 = np.array([0] * 9 + [1] + [1] * 10)
    e2 = ht_total(s, y2, indicator=True)
    textbook_a = 200**2 * (1 - 10 / 200) * np.var(y2[:10], ddof=1) / 10
    adj_b = (1 - 10 / 50) * 10 / 9 * 10 * 5**2 * pb * (1 - pb)
    assert e2.se == pytest.approx(math.sqrt(textbook_a), rel=1e-12)
    assert e2.var_ci == pytest.approx(textbook_a + adj_b, rel=1e-12)
    assert "B (10/10)" in e2.note and "A (" not in e2.note
    # a census stratum (n_h = N_h) is known exactly: no adjustment
    c = StratifiedSample(stratum=["A"] * 3, N_h={"A": 3}, n_h={"A": 3})
    assert ht_total(c, [1, 1, 1], indicator=True).var_ci == 0
    # non-binary outcomes are untouched (zero variance stays zero)
    assert ht_total(s, np.full(20, 2.5)).se == 0

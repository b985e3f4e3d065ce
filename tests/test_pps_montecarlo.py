"""Monte Carlo of the pips design on the bundled province (slow): 20,000 redraws per round with
the real ticket-driven selection (``benchmarks/pips_money.py``).

(a) inclusion test: χ² over institutions of the selection counts against 20,000·π, and the
largest |π̂ − π| within 4.5 Monte Carlo standard errors; take-all institutions always drawn;
(b) more improper money found than stratified SRS of the same size, in expectation (exact, from
``truth_outcomes.csv``) and realised over the redraws;
(c) HT totals (amount and violating institutions) unbiased: |mean − truth| ≤ 3 MC s.e.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location(
        "pips_money", ROOT / "benchmarks" / "pips_money.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_pips_inclusion_money_and_unbiasedness(tmp_path):
    res = _bench().run(tmp_path, draws=20000)
    for r in res["rounds"]:
        # (a) χ²: p > 1e-4 (fails with probability 1e-4 when π is right)
        assert r["chi2_p"] > 1e-4, r
        assert r["max_z"] < 4.5, r
        assert r["take_all_always"]
        assert r["pi_min"] > 0
        # (c) HT unbiased for the total improper amount and the number of violators
        assert abs(r["ht_amount_mean"] - res["truth_amount"]) <= 3 * r["ht_amount_mc_se"], r
        assert (
            abs(r["ht_violations_mean"] - res["truth_violations"]) <= 3 * r["ht_violations_mc_se"]
        ), r
    # (b) more improper money than stratified SRS of the same size
    assert res["expected_money"]["pips"] > 1.5 * res["expected_money"]["srs"]
    gap = res["realised_money_mean"]["pips"] - res["realised_money_mean"]["srs"]
    se = (res["realised_money_mc_se"]["pips"] ** 2 + res["realised_money_mc_se"]["srs"] ** 2) ** 0.5
    assert gap > 10 * se
    # the realised means agree with the exact expectations
    for k in ("pips", "srs"):
        assert (
            abs(res["realised_money_mean"][k] - res["expected_money"][k])
            <= 4 * (res["realised_money_mc_se"][k])
        )

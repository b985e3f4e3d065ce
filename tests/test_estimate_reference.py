"""Reference test on R's ``api`` data (``survey`` package, stratified sample ``apistrat``).

``../shared/reference/survey_api/expected_R_survey.csv`` holds what R's ``survey`` 4.1
computes with ``svydesign(id=~1, strata=~stype, fpc=~fpc, data=apistrat)``: totals, Hájek
means, a ratio, domain means (``svyby``), per-stratum totals, the design degrees of freedom,
a t interval and the Korn–Graubard (``svyciprop(method="beta")``) interval. Every estimate
and textbook standard error of :mod:`riskscore.estimate` must agree to 1e-6 (relative).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from riskscore.estimate import (
    StratifiedSample,
    domain_total,
    hajek_rate,
    hajek_ratio,
    ht_total,
)

REF = Path(__file__).resolve().parents[2] / "shared" / "reference" / "survey_api"

pytestmark = pytest.mark.skipif(
    not (REF / "apistrat.csv").exists(), reason=f"R reference data not found at {REF}"
)


@pytest.fixture(scope="module")
def api():
    d = pd.read_csv(REF / "apistrat.csv")
    exp = pd.read_csv(REF / "expected_R_survey.csv").set_index("quantity")
    n_h = d["stype"].value_counts().to_dict()
    N_h = d.groupby("stype")["fpc"].first().to_dict()
    s = StratifiedSample(stratum=d["stype"], N_h=N_h, n_h=n_h, pi=1.0 / d["pw"].to_numpy())
    return d, exp, s


def _estimates(d, s, ci="normal"):
    sw = (d["sch.wide"] == "Yes").to_numpy(dtype=float)
    out = {
        "total_enroll": ht_total(s, d["enroll"], ci=ci),
        "mean_api00": hajek_ratio(s, d["api00"], ci=ci),
        "total_sch_wide_yes": ht_total(s, sw, ci=ci, indicator=True),
        "mean_sch_wide_yes": hajek_rate(s, sw, ci=ci),
        "ratio_api00_api99": hajek_ratio(s, d["api00"], d["api99"], ci=ci),
    }
    for a in ("No", "Yes"):
        out[f"mean_api00_awards_{a}"] = hajek_rate(
            s, d["api00"], domain=d["awards"] == a, ci=ci, indicator=False
        )
    for t in ("E", "H", "M"):
        out[f"total_enroll_stype_{t}"] = domain_total(s, d["enroll"], d["stype"] == t, ci=ci)
    return out


def test_every_estimate_and_se_matches_R_survey(api):
    d, exp, s = api
    got = _estimates(d, s)
    expected = exp[exp["se"].notna()]
    assert set(expected.index) == set(got)
    for q, row in expected.iterrows():
        assert got[q].estimate == pytest.approx(row["estimate"], rel=1e-6), q
        assert got[q].se == pytest.approx(row["se"], rel=1e-6), q
    # the textbook se does not depend on the interval method
    for ci in ("t", "wilson", "kg"):
        for q, e in _estimates(d, s, ci).items():
            assert e.se == pytest.approx(got[q].se, rel=1e-12), (q, ci)


def test_degrees_of_freedom_t_and_korn_graubard_intervals_match_R(api):
    d, exp, s = api
    assert s.df() == int(exp.loc["degrees_of_freedom", "estimate"])
    t = hajek_ratio(s, d["api00"], ci="t")
    assert t.method == "t"
    assert t.ci_low == pytest.approx(exp.loc["mean_api00_ci95_t_low", "estimate"], rel=1e-6)
    assert t.ci_high == pytest.approx(exp.loc["mean_api00_ci95_t_high", "estimate"], rel=1e-6)
    sw = (d["sch.wide"] == "Yes").to_numpy(dtype=float)
    kg = hajek_rate(s, sw, ci="kg")
    assert kg.method == "kg"
    assert kg.ci_low == pytest.approx(exp.loc["prop_sch_wide_kg_low", "estimate"], rel=1e-6)
    assert kg.ci_high == pytest.approx(exp.loc["prop_sch_wide_kg_high", "estimate"], rel=1e-6)

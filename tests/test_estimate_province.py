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

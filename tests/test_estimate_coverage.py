"""Issue 12 (slow): coverage of the interval methods at a bureau's size.

2,000 redraws (≥ 500 asked) of the bundled province (``data_samples``: 300 institutions,
15–16 inspections a round) and of a 3,000-institution province (``riskscore synth`` with the
parameters of ``benchmarks/coverage_province.py``, built once into a tmp folder), outcomes
from ``truth_outcomes.csv``, estimates with the production estimators and
``analyze._combine`` for the year (``benchmarks/coverage_intervals.py``; the redraws are
vectorised, ~12 s per province). The table is printed and is the one in docs/estimation.md.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DRAWS = 2000


def _bench():
    spec = importlib.util.spec_from_file_location(
        "coverage_intervals", ROOT / "benchmarks" / "coverage_intervals.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def coverage(tmp_path_factory):
    ci = _bench()
    work = tmp_path_factory.mktemp("coverage_intervals")
    out = {}
    for name, build in (("bundled", ci.bundled), ("p3000", ci.province3000)):
        out[name] = ci.simulate(ci.load(*build(work)), DRAWS)
    print("\n" + ci.table(out))
    return {
        k: pd.DataFrame(v["rows"]).set_index(["design", "measure", "ci"])["coverage"]
        for k, v in out.items()
    }


DESIGNS = ("round 1", "round 2", "year")


@pytest.mark.slow
def test_rate_interval_coverage(coverage):
    for prov, cov in coverage.items():
        for d in DESIGNS:
            auto = cov[d, "violation_rate", "auto"]
            normal = cov[d, "violation_rate", "normal"]
            # measured: bundled 0.967–0.972, 3,000: 0.955–0.970 (docs/estimation.md)
            assert 0.93 <= auto <= 0.975, (prov, d, auto)
            # Where the shipped normal interval misses the band (1.5× too wide on the bundled
            # province, ≈ 100 %) the beta interval is closer to 95 %. Where both are in the
            # band they may differ by Monte Carlo noise: one coverage over 2,000 redraws has
            # a s.e. of 0.005, so closeness is only compared outside the band.
            if not 0.93 <= normal <= 0.97:
                assert abs(auto - 0.95) < abs(normal - 0.95), (prov, d, auto, normal)


@pytest.mark.slow
def test_amount_interval_coverage(coverage):
    for prov, cov in coverage.items():
        for d in DESIGNS:
            auto = cov[d, "improper_amount_total", "auto"]
            normal = cov[d, "improper_amount_total", "normal"]
            # measured: bundled 0.973–0.988, 3,000: 0.919–0.936 (normal: 0.63–0.72 / 0.84–0.88)
            assert 0.90 <= auto <= 0.995, (prov, d, auto)
            assert auto >= normal + 0.04, (prov, d, auto, normal)

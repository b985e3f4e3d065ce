"""DuckDB and PySpark give the same indicator values and evidence (Spark local mode)."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("pyspark")

from indicator_world import combined_world  # noqa: E402
from riskscore.indicators import compute_indicators  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_spark_matches_duckdb_on_hand_made_worlds():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    tables = combined_world()
    d = compute_indicators(tables, engine="duckdb", progress=False)
    s = compute_indicators(tables, engine="spark", progress=False)
    assert d.skipped == s.skipped == []
    key = ["indicator_id", "fixmedins_code"]
    dv = d.values.sort_values(key).reset_index(drop=True)
    sv = s.values.sort_values(key).reset_index(drop=True)
    assert dv[key].equals(sv[key])
    np.testing.assert_allclose(dv.numerator, sv.numerator, rtol=0, atol=1e-9)
    np.testing.assert_allclose(dv.denominator, sv.denominator, rtol=0, atol=1e-9)
    ecols = ["indicator_id", "fixmedins_code", "record_table", "record_id"]
    de = d.evidence[ecols].sort_values(ecols).reset_index(drop=True)
    se = s.evidence[ecols].sort_values(ecols).reset_index(drop=True)
    assert de.equals(se)
    dx = d.exposure.set_index("fixmedins_code").sort_index()
    sx = s.exposure.set_index("fixmedins_code").sort_index()
    np.testing.assert_allclose(dx.fund_paid, sx.fund_paid, atol=1e-9)
    assert (dx.n_encounters == sx.n_encounters).all()


def test_spark_matches_duckdb_on_a_small_generated_province(tmp_path):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from riskscore.synth import SynthConfig, generate

    generate(tmp_path, SynthConfig(institutions=40, seed=5, fee_lines=40_000, progress=False))
    d = compute_indicators(tmp_path, engine="duckdb", progress=False, read_parquet_direct=True)
    s = compute_indicators(tmp_path, engine="spark", progress=False, read_parquet_direct=True)
    assert d.skipped == s.skipped
    key = ["indicator_id", "fixmedins_code"]
    m = d.values.merge(s.values, on=key, how="outer", suffixes=("_d", "_s"), indicator=True)
    assert (m["_merge"] == "both").all()
    np.testing.assert_allclose(m.numerator_d, m.numerator_s, rtol=0, atol=1e-9)
    np.testing.assert_allclose(m.denominator_d, m.denominator_s, rtol=1e-12, atol=1e-9)
    ecols = ["indicator_id", "fixmedins_code", "record_table", "record_id"]
    de = d.evidence[ecols].sort_values(ecols).reset_index(drop=True)
    se = s.evidence[ecols].sort_values(ecols).reset_index(drop=True)
    assert de.equals(se)

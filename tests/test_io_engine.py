"""The engine load path (riskscore.io.engine): same reasons and counts as the pandas loaders,
several files per table, GB18030 CSV transcoded once, quarantine as Parquet."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskscore.contract import TABLES
from riskscore.errors import ContractError
from riskscore.io import load_folder
from riskscore.io.checks import Check, checks_for, java_format, register_rule
from riskscore.io.engine import (
    EngineSession,
    load_folder_engine,
    parse_memory,
    scan_sources,
)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKSCORE_CACHE", str(tmp_path / "cache"))


def institutions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "fixmedins_code": ["H00001", "H00002", " H00003 ", "H00002"],
            "fixmedins_name": ["一院", "二院", "三院", "重复"],
            "medins_type": ["hospital", "clinic", "pharmacy", "clinic"],
            "hosp_lv": ["3", "1", "0", "1"],
            "ownership": ["public", "private", "private", "private"],
            "region": ["110101"] * 4,
        }
    )


def encounters() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mdtrt_id": ["M1", "M2", "M3", "M4", "M4", "0005.0", "NULL"],
            "psn_no": ["P1", "P2", "P3", "P1", "P1", "P5", "P6"],
            "fixmedins_code": ["H00001", "H00001", "H00002", "H00003", "H00003", "H9", "H00001"],
            "med_type": ["21", "普通门诊", "11", "41", "41", "11", "门诊挂号x"],
            "begntime": [
                "2025-03-01 08:00:00",
                "2025/3/2 9:30",
                "20250303",
                "20250304101500",
                "2025年3月4日",
                "45717",
                "2025-02-30",
            ],
            "endtime": [
                "2025-03-05 10:00:00",
                "2025/3/2 10:00",
                "20250302",
                "20250304101500",
                "",
                "99991231",
                "2025-03-01",
            ],
            "gend": ["1", "2", "5", "9", "1", "", "1"],
            "age": ["30", "-1", "abc", "1,234.5", " 7 ", "inf", "1e1"],
            "psn_name": ["张三"] * 7,
        }
    )


def fee_lines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bkkp_sn": ["F1", "F2", "F3", "F4", "F5", "F5", "F7"],
            "mdtrt_id": ["M1", "M1", "M2", "M3", "M9", "M1", "M2"],
            "psn_no": ["P1", "P1", "P2", "P3", "P1", "P1", "P2"],
            "fixmedins_code": ["H00001", "H00001", "H00001", "H00002", "H00001", "H7", "H00001"],
            "fee_ocur_time": ["2025-03-01 09:00:00"] * 6 + ["bad"],
            "med_chrgitm_type": ["01", "9", "09.0", "04", "1", "99", "03"],
            "hilist_code": [
                "1102000040000.0",
                "XA01AAA",
                "1.102000040000E+12",
                "250101001",
                "1.5E+0",
                "x",
                "y",
            ],
            "medins_list_codg": ["a", "b", "c", "d", "e", "f", "g"],
            "cnt": ["1", "2", "1", "-1", "1", "1", "1"],
            "pric": ["120", "3.5", "1,234.50", "10", "-1", "1", "1"],
            "det_item_fee_sumamt": ["120", "7", "1,234.50", "-10", "1", "1", "1"],
        }
    )


def _folder(d: Path, fmt: str = "csv", encoding: str = "utf-8") -> Path:
    d.mkdir(parents=True, exist_ok=True)
    institutions().to_csv(d / "institutions.csv", index=False)
    for name, df in (("mdtrt_d", encounters()), ("fee_list_d", fee_lines())):
        if fmt == "parquet":
            df.to_parquet(d / f"{name}.parquet", index=False)
        else:
            df.to_csv(d / f"{name}.csv", index=False, encoding=encoding)
    return d


def _engine(d: Path, **kw):
    with EngineSession(memory="1GB") as es:
        ds = load_folder_engine(d, es, **kw)
        rep = ds.report()
        data = {
            n: es.con.execute(f'SELECT * FROM "{t.view}"').df()
            for n, t in ds.tables.items()
            if hasattr(t, "view")
        }
    return rep, data


@pytest.mark.parametrize("fmt,encoding", [("csv", "utf-8"), ("csv", "gb18030"), ("parquet", "")])
def test_same_reasons_counts_and_rows_as_the_pandas_loaders(tmp_path, fmt, encoding):
    d = _folder(tmp_path / "data", fmt, encoding or "utf-8")
    want = load_folder(d)
    rep, data = _engine(d)
    assert rep["tables"] == want.report()["tables"]
    assert rep["dictionaries"]["applied"] == want.report()["dictionaries"]["applied"]
    for name in ("mdtrt_d", "fee_list_d"):
        exp = want.tables[name].data
        got = data[name][exp.columns.tolist()]
        for c in exp.columns:
            a = exp[c].astype(object).where(exp[c].notna(), None).tolist()
            b = got[c].astype(object).where(got[c].notna(), None).tolist()
            if TABLES[name].column(c).dtype in ("date", "datetime"):
                a = [None if x is None else pd.Timestamp(x) for x in a]
                b = [None if x is None else pd.Timestamp(x) for x in b]
            assert a == b, (name, c)


def test_quarantine_is_parquet_with_reason_row_and_file_without_personal_data(tmp_path):
    d = _folder(tmp_path / "data")
    q = tmp_path / "q"
    rep, _ = _engine(d, quarantine_dir=q)
    md = pd.read_parquet(q / "mdtrt_d.parquet")
    want = load_folder(d).tables["mdtrt_d"].quarantine
    assert md["reason"].tolist() == want["reason"].tolist()
    assert md["source_row"].tolist() == want["source_row"].tolist()
    assert set(md["source_file"]) == {"mdtrt_d.csv"}
    assert "psn_name" not in md.columns
    assert len(md) == rep["tables"]["mdtrt_d"]["quarantined"]
    # institutions stays a pandas table: CSV as before
    assert (q / "institutions.csv").exists()


def _monthly_encounters(many: Path, first: int) -> Path:
    """The registry and mdtrt_d as two GB18030 files (the first ``first`` rows, the rest)."""
    many.mkdir()
    institutions().to_csv(many / "institutions.csv", index=False)
    enc = encounters()
    enc.iloc[:first].to_csv(many / "mdtrt_d_202501.csv", index=False, encoding="gb18030")
    enc.iloc[first:].to_csv(many / "mdtrt_d_202502.csv", index=False, encoding="gb18030")
    return many


def test_monthly_gb18030_files_equal_one_parquet(tmp_path):
    one = _folder(tmp_path / "one", "parquet")
    many = _monthly_encounters(tmp_path / "many", 3)
    (many / "fee_list_d").mkdir()
    fee = fee_lines()
    for k, part in enumerate((fee.iloc[:2], fee.iloc[2:5], fee.iloc[5:])):
        part.to_csv(many / "fee_list_d" / f"2025{k + 1:02d}.csv", index=False, encoding="gb18030")
    a, _ = _engine(one)
    b, _ = _engine(many)
    assert a["tables"] == b["tables"]
    assert b["files"]["fee_list_d"]["files"] == 3
    # the two files with Chinese text are GB18030 (the fee files are plain ASCII, read as
    # UTF-8): transcoded once into the cache, keyed by content
    cached = sorted((tmp_path / "cache" / "csv-utf8").iterdir())
    assert len(cached) == 2
    stamp = [p.stat().st_mtime_ns for p in cached]
    _engine(many)
    assert [p.stat().st_mtime_ns for p in sorted(cached)] == stamp


def test_hive_partitions_and_file_naming(tmp_path):
    d = _folder(tmp_path / "data", "parquet")
    fee = fee_lines()
    (d / "fee_list_d.parquet").unlink()
    for k, part in enumerate((fee.iloc[:4], fee.iloc[4:])):
        p = d / "fee_list_d" / "year=2025" / f"month={k + 1:02d}"
        p.mkdir(parents=True)
        part.to_parquet(p / "part-0.parquet", index=False)
    src = scan_sources(d)
    assert len(src.files["fee_list_d"]) == 2
    rep, _ = _engine(d)
    assert (
        rep["tables"]["fee_list_d"]
        == load_folder(_folder(tmp_path / "ref")).report()["tables"]["fee_list_d"]
    )
    # setl_list_diag_d is not a part of setl_d; two formats for one table are refused
    fee.to_csv(d / "fee_list_d_202503.csv", index=False)
    with pytest.raises(ContractError, match="fee_list_d"):
        scan_sources(d)


def test_a_registered_rule_adds_a_reason(tmp_path):
    d = _folder(tmp_path / "data")
    rule = register_rule(
        lambda spec: (
            [Check("placeholder", "psn_no", lambda c: f"{c.v} = 'P6'")]
            if spec.name == "mdtrt_d"
            else []
        )
    )
    try:
        assert any(c.kind == "placeholder" for c in checks_for(TABLES["mdtrt_d"]))
        rep, _ = _engine(d)
    finally:
        from riskscore.io import checks

        checks.RULES.remove(rule)
    assert rep["tables"]["mdtrt_d"]["reasons"]["placeholder:psn_no"] == 1


def test_memory_sizes_and_java_formats():
    assert parse_memory("4gb") == "4GB"
    assert parse_memory("512MB") == "512MB"
    assert parse_memory("50%").endswith("GB")
    with pytest.raises(Exception, match="--memory"):
        parse_memory("lots")
    assert java_format("%Y-%m-%d %H:%M:%S") == "yyyy-M-d H:m:s"
    assert java_format("%Y年%m月%d日") == "yyyy年M月d日"
    assert java_format("%Y-%m-%dT%H:%M:%S") == "yyyy-M-d'T'H:m:s"


CELLS = {
    "mdtrt_id": st.sampled_from(["M1", "M2", " M3", "12.0", "1.2E+1", "NULL", "", "M1"]),
    "fixmedins_code": st.sampled_from(["H00001", "H00002", "H9", "", "H00001.0"]),
    "begntime": st.sampled_from(
        ["2025-03-01", "2025/3/1 8:00", "20250301", "45717.5", "x", "", "1800-01-01"]
    ),
    "endtime": st.sampled_from(["2025-03-02", "2025-02-01", "2025-03-01 00:00:00", "N/A"]),
    "gend": st.sampled_from(["1", "2", "9", "3", " 1 ", ""]),
    "age": st.sampled_from(["1", "-1", "1,000", "1e2", "abc", "inf", ".5", "", "1_0"]),
    "ipt_days": st.sampled_from(["0", "3", "-2", "x", "1.5"]),
}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.fixed_dictionaries(CELLS), min_size=1, max_size=12))
def test_property_engine_reasons_equal_pandas_reasons(rows):
    df = pd.DataFrame(rows)
    df.insert(1, "psn_no", "P1")
    df.insert(3, "med_type", "11")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        institutions().to_csv(d / "institutions.csv", index=False)
        df.to_csv(d / "mdtrt_d.csv", index=False)
        want = load_folder(d).tables["mdtrt_d"]
        with EngineSession(memory="1GB", spill_dir=d / "spill") as es:
            ds = load_folder_engine(d, es, quarantine_dir=d / "q")
            got = ds.tables["mdtrt_d"]
            q = pd.read_parquet(d / "q" / "mdtrt_d.parquet")
    assert got.counts() == want.counts()
    assert q["reason"].tolist() == want.quarantine["reason"].tolist()
    assert q["source_row"].tolist() == want.quarantine["source_row"].tolist()


@pytest.mark.slow
def test_small_province_as_monthly_gb18030_csv_scores_like_parquet(tmp_path):
    """The same province as Parquet and as monthly GB18030 CSV files (one folder per claims
    table) gives identical validate counts and an identical scores.csv."""
    import importlib.util
    import json
    import subprocess
    import sys

    from riskscore.cli import main

    repo = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("bench_cli", repo / "benchmarks/bench_cli.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    pq_dir, csv_dir = tmp_path / "parquet", tmp_path / "csv"
    assert (
        main(
            ["synth", "--out", str(pq_dir), "--institutions", "30", "--seed", "4", "--no-progress"]
        )
        == 0
    )
    bench.write_monthly_gb18030(pq_dir, csv_dir)
    months = sorted(p.name for p in (csv_dir / "fee_list_d").iterdir())
    assert len(months) >= 12
    raw = (csv_dir / "mdtrt_d" / months[0]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really GB18030 (Chinese diagnosis names)
    exe = str(Path(sys.executable).with_name("riskscore"))
    reports, scores = {}, {}
    for name, d in (("parquet", pq_dir), ("csv", csv_dir)):
        r = subprocess.run(
            [exe, "validate", "--data", str(d), "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        reports[name] = json.loads(r.stdout)["tables"]
        out = tmp_path / f"out_{name}"
        subprocess.run(
            [exe, "score", "--data", str(d), "--out", str(out), "--quiet"],
            check=True,
            capture_output=True,
        )
        scores[name] = (out / "scores.csv").read_bytes()
    assert reports["parquet"] == reports["csv"]
    assert scores["parquet"] == scores["csv"]


def test_quarantined_cells_of_monthly_files_are_the_files_text(tmp_path):
    """The narrow stage reads the quarantined rows' text again from their own file."""
    one = _folder(tmp_path / "one")
    many = _monthly_encounters(tmp_path / "many", 2)
    q1, qn = tmp_path / "q1", tmp_path / "qn"
    _engine(one, quarantine_dir=q1)
    _engine(many, quarantine_dir=qn)
    want = load_folder(one).tables["mdtrt_d"].quarantine
    a = pd.read_parquet(q1 / "mdtrt_d.parquet")
    b = pd.read_parquet(qn / "mdtrt_d.parquet")
    assert len(a) == len(want) >= 2
    cols = [c for c in a.columns if c not in ("source_row", "source_file")]
    assert a[cols].equals(b[cols])
    # rows numbered within their own file (data rows from 1)
    files = ["mdtrt_d_202501.csv" if r <= 2 else "mdtrt_d_202502.csv" for r in a.source_row]
    rows = [r if r <= 2 else r - 2 for r in a.source_row]
    assert len(set(files)) == 2
    assert b["source_file"].tolist() == files
    assert b["source_row"].tolist() == rows
    for c in cols:
        if c in want.columns and c != "reason":
            w = want[c].astype(object).where(want[c].notna(), None).tolist()
            g = a[c].astype(object).where(a[c].notna(), None).tolist()
            assert [None if x is None else str(x) for x in w] == g, c


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_validate_without_data_counts_and_quarantines_the_same(tmp_path, fmt):
    """``keep_data=False`` (riskscore validate) keeps key and reference columns only: the
    same report and the same quarantine as a full load."""
    d = _folder(tmp_path / "data", fmt)
    qa, qb = tmp_path / "qa", tmp_path / "qb"
    with EngineSession(memory="1GB") as es:
        a = load_folder_engine(d, es, quarantine_dir=qa).report()
    with EngineSession(memory="1GB") as es:
        ds = load_folder_engine(d, es, quarantine_dir=qb, keep_data=False)
        b = ds.report()
        kept = ds.tables["fee_list_d"].typed_columns
    assert a == b
    assert {"mdtrt_id", "setl_id", "fixmedins_code"} <= set(kept)
    assert "det_item_fee_sumamt" not in kept
    for name in ("mdtrt_d", "fee_list_d"):
        x, y = pd.read_parquet(qa / f"{name}.parquet"), pd.read_parquet(qb / f"{name}.parquet")
        assert len(x) > 0 and x.equals(y), name

"""Loaders (riskscore.io): encodings, formats, code normalisation, quarantine accounting."""

from __future__ import annotations

import codecs
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskscore.contract import TABLES, contract_markdown
from riskscore.errors import ContractError, RiskscoreError
from riskscore.io import (
    SOURCE_ROW_COLUMN,
    detect_encoding,
    load_folder,
    load_table,
    load_table_result,
    normalize_codes,
    parse_datetimes,
    parse_numbers,
)
from riskscore.io._load import PLACEHOLDER_IDS

REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- fixtures
def institutions(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "fixmedins_code": [f"H{i:05d}" for i in range(1, n + 1)],
            "fixmedins_name": [f"第{i}人民医院" for i in range(1, n + 1)],
            "medins_type": ["hospital", "clinic", "pharmacy"][:n] + ["hospital"] * max(0, n - 3),
            "hosp_lv": ["3", "1", "0"][:n] + ["2"] * max(0, n - 3),
            "ownership": ["public", "private", "private"][:n] + ["public"] * max(0, n - 3),
            "region": ["110101"] * n,
        }
    )


def encounters() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mdtrt_id": ["M1", "M2", "M3", "M4"],
            "psn_no": ["P1", "P2", "P3", "P1"],
            "fixmedins_code": ["H00001", "H00001", "H00002", "H00003"],
            "med_type": ["21", "11", "11", "41"],
            "begntime": ["2025-03-01 08:00:00", "2025/3/2 9:30", "20250303", "20250304101500"],
            "endtime": ["2025-03-05 10:00:00", "2025/3/2 10:00", "20250303", "20250304101500"],
            "psn_name": ["张三", "李四", "王五", "张三"],
            "certno": ["110101199001011234", "110101199001011235", "x", "110101199001011234"],
        }
    )


def fee_lines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bkkp_sn": ["F1", "F2", "F3", "F4"],
            "mdtrt_id": ["M1", "M1", "M2", "M3"],
            "psn_no": ["P1", "P1", "P2", "P3"],
            "fixmedins_code": ["H00001", "H00001", "H00001", "H00002"],
            "fee_ocur_time": ["2025-03-01 09:00:00"] * 4,
            "med_chrgitm_type": ["01", "9", "09.0", "04"],
            "hilist_code": ["1102000040000.0", "XA01AAA", "1.102000040000E+12", "250101001"],
            "medins_list_codg": ["a", "b", "c", "d"],
            "cnt": ["1", "2", "1", "-1"],
            "pric": ["120", "3.5", "1,234.50", "10"],
            "det_item_fee_sumamt": ["120", "7", "1,234.50", "-10"],
        }
    )


def write(df: pd.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    elif path.suffix == ".xlsx":
        df.to_excel(path, index=False)
    else:
        df.to_csv(path, index=False, encoding=encoding)
    return path


def folder(tmp_path: Path, **tables: pd.DataFrame) -> Path:
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    base = {"institutions": institutions(), "mdtrt_d": encounters()}
    base.update(tables)
    for name, df in base.items():
        if df is not None:
            write(df, d / f"{name}.csv")
    return d


def accounted(ds) -> None:
    for name, t in ds.tables.items():
        assert t.read == t.accepted + t.quarantined, name
        assert len(t.data) == t.accepted, name
        assert len(t.quarantine) == t.quarantined, name
        if t.quarantined:
            assert sum(t.reasons.values()) >= t.quarantined
            assert t.quarantine[t.reason_column].str.len().gt(0).all()


# ----------------------------------------------------------------------------- happy path
def test_clean_folder_loads_with_contract_dtypes(tmp_path):
    ds = load_folder(folder(tmp_path, fee_list_d=fee_lines()))
    accounted(ds)
    md = ds["mdtrt_d"]
    assert ds.tables["mdtrt_d"].quarantined == 0
    assert str(md["mdtrt_id"].dtype) == "str"
    assert md["begntime"].dtype == "datetime64[ns]"
    assert list(md["begntime"]) == [
        pd.Timestamp("2025-03-01 08:00"),
        pd.Timestamp("2025-03-02 09:30"),
        pd.Timestamp("2025-03-03"),
        pd.Timestamp("2025-03-04 10:15"),
    ]
    assert md["age"].dtype == "float64" and md["age"].isna().all()  # optional column, absent
    assert "age" in ds.tables["mdtrt_d"].missing_columns
    assert "setl_d" in ds.missing_optional and "institutions" not in ds.missing_optional
    rep = ds.report()
    assert set(rep["tables"]["mdtrt_d"]) == {"read", "accepted", "quarantined", "reasons"}


def test_float_formatted_codes_are_normalised(tmp_path):
    ds = load_folder(folder(tmp_path, fee_list_d=fee_lines()))
    fee = ds["fee_list_d"].set_index("bkkp_sn")
    assert fee.loc["F1", "hilist_code"] == "1102000040000"
    assert fee.loc["F3", "hilist_code"] == "1102000040000"
    assert fee.loc["F2", "med_chrgitm_type"] == "09"  # zero-padded to 2
    assert fee.loc["F3", "med_chrgitm_type"] == "09"
    assert fee.loc["F3", "pric"] == pytest.approx(1234.5)  # thousands separator
    assert fee.loc["F4", "det_item_fee_sumamt"] == -10  # refunds are legitimate
    assert ds.tables["fee_list_d"].quarantined == 0


def test_normalize_codes_examples():
    s = pd.Series(
        [
            " 0101 ",
            "1102000040000.0",
            "1.102000040000E+12",
            "12.50",
            "1.5E+1",
            "1.05E+0",
            "",
            "NULL",
            None,
            7,
            "\u30000042\u3000",
        ]
    )
    out = normalize_codes(s, zfill=None)
    assert out[:6].tolist() == ["0101", "1102000040000", "1102000040000", "12.50", "15", "1.05E+0"]
    assert out[6:9].isna().all()
    assert out[9] == "7" and out[10] == "0042"
    assert normalize_codes(pd.Series(["1", "1.0", "10", "abc"]), zfill=2).tolist() == [
        "01",
        "01",
        "10",
        "abc",
    ]
    floats = normalize_codes(pd.Series([1102000040000.0, np.nan, 3.0]))
    assert floats[0] == "1102000040000" and pd.isna(floats[1]) and floats[2] == "3"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-03-01 08:00:00", "2025-03-01 08:00:00"),
        ("2025/3/1 8:00", "2025-03-01 08:00:00"),
        ("2025/03/01", "2025-03-01"),
        ("20250301", "2025-03-01"),
        ("20250301080000", "2025-03-01 08:00:00"),
        ("2025-03-01T08:00:00", "2025-03-01 08:00:00"),
        ("2025年3月1日", "2025-03-01"),
        (" 2025-03-01 ", "2025-03-01"),
        ("45717", "2025-03-01"),  # Excel serial day
        ("45717.5", "2025-03-01 12:00:00"),
    ],
)
def test_datetime_layouts(text, expected):
    v, bad = parse_datetimes(pd.Series([text]))
    assert not bad[0]
    assert v[0] == pd.Timestamp(expected)


@pytest.mark.parametrize(
    "text", ["2025-13-01", "yesterday", "2025-02-30", "99991231", "3/1/25x", "12345", "123456"]
)
def test_bad_datetimes_are_flagged(text):
    v, bad = parse_datetimes(pd.Series([text]))
    assert bad[0] and pd.isna(v[0])


def test_numbers():
    v, bad = parse_numbers(pd.Series(["1,234.50", "-3", "abc", "1,2x", "", "1e3", "inf", " 7 "]))
    assert bad.tolist() == [False, False, True, True, False, False, True, False]
    assert v[0] == 1234.5 and v[1] == -3 and v[5] == 1000 and v[7] == 7 and pd.isna(v[4])


# ----------------------------------------------------------------------------- encodings
def test_gb18030_csv(tmp_path):
    d = folder(tmp_path)
    write(institutions(), d / "institutions.csv", encoding="gb18030")
    ds = load_folder(d)
    accounted(ds)
    assert ds.tables["institutions"].info["encoding"] == "gb18030"
    assert ds["institutions"]["fixmedins_name"].tolist()[0] == "第1人民医院"


def test_gbk_csv_reads_through_gb18030(tmp_path):
    d = folder(tmp_path)
    write(institutions(), d / "institutions.csv", encoding="gbk")
    assert load_table(d, "institutions")["fixmedins_name"].tolist()[1] == "第2人民医院"


def test_utf8_bom_csv(tmp_path):
    d = folder(tmp_path)
    write(institutions(), d / "institutions.csv", encoding="utf-8-sig")
    assert (d / "institutions.csv").read_bytes().startswith(codecs.BOM_UTF8)
    res = load_table_result(d, "institutions")
    assert res.quarantined == 0 and res.accepted == 3
    assert res.data["fixmedins_code"].tolist()[0] == "H00001"  # BOM not glued to the header


@pytest.mark.parametrize(
    "payload, looks",
    [
        ("fixmedins_code,fixmedins_name\nH1,H\n".encode("utf-16-le"), "NUL"),
        ("fixmedins_code,fixmedins_name\nH1,医院\n".encode("utf-16-le"), "utf_16"),
        ("fixmedins_code,fixmedins_name\nH1,医院\n".encode("utf-16"), "UTF-16"),
        (bytes(np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8)), "encoding"),
    ],
    ids=["utf16-ascii-no-bom", "utf16-no-bom", "utf16-bom", "random-bytes"],
)
def test_unknown_encoding_is_refused_with_one_line(tmp_path, payload, looks):
    d = folder(tmp_path)
    (d / "institutions.csv").write_bytes(payload)
    with pytest.raises(ContractError) as exc:
        load_folder(d)
    msg = str(exc.value)
    assert "institutions.csv" in msg and looks in msg and "\n" not in msg
    assert msg.count("institutions.csv") == 1
    assert "UTF-8" in msg and "GB18030" in msg
    with pytest.raises(RiskscoreError):
        detect_encoding(d / "institutions.csv")


# ----------------------------------------------------------------------------- formats
def test_xlsx_input_with_numeric_codes_and_excel_dates(tmp_path):
    d = folder(tmp_path, mdtrt_d=None)
    (d / "mdtrt_d.csv").unlink(missing_ok=True)
    md = encounters()
    md["mdtrt_id"] = [1102000040001, 1102000040002, 1102000040003, 1102000040004]  # numbers
    md["begntime"] = pd.to_datetime(
        ["2025-03-01 08:00", "2025-03-02 00:00", "2025-03-03 00:00", "2025-03-04 00:00"]
    )
    md["endtime"] = pd.to_datetime(["2025-03-05", "2025-03-02", "2025-03-02", "2025-03-04"])
    md["med_type"] = [21, 11, 11, 41]
    write(md, d / "mdtrt_d.xlsx")
    res = load_folder(d).tables["mdtrt_d"]
    assert res.info["format"] == "xlsx"
    assert res.read == 4 and res.accepted == 3 and res.quarantined == 1
    assert res.reasons == {"end_before_begin": 1}
    assert res.data["mdtrt_id"].tolist() == ["1102000040001", "1102000040002", "1102000040004"]
    assert res.data["med_type"].tolist() == ["21", "11", "41"]
    assert res.data["begntime"][0] == pd.Timestamp("2025-03-01 08:00")


def test_csv_gz_and_tab_separated(tmp_path):
    d = folder(tmp_path, institutions=None)
    institutions().to_csv(d / "institutions.csv.gz", index=False, sep="\t", compression="gzip")
    res = load_table_result(d, "institutions")
    assert res.info["sep"] == "\t" and res.accepted == 3


def test_parquet_typed_columns_in_small_batches_match_one_batch(tmp_path):
    d = folder(tmp_path, mdtrt_d=None)
    n = 50
    md = pd.DataFrame(
        {
            "mdtrt_id": np.arange(n) % 40 + 1,  # integers: ids 1..10 appear twice (0 = placeholder)
            "psn_no": ["P"] * n,
            "fixmedins_code": ["H00001"] * n,
            "med_type": ["11"] * n,
            "begntime": pd.date_range("2025-01-01", periods=n, freq="h"),
            "endtime": pd.date_range("2025-01-01", periods=n, freq="h") + pd.Timedelta("1h"),
            "age": np.linspace(-1, 80, n),
        }
    )
    md.to_parquet(d / "mdtrt_d.parquet", row_group_size=7, index=False)
    big = load_folder(d).tables["mdtrt_d"]
    small = load_folder(d, batch_rows=6).tables["mdtrt_d"]
    assert big.reasons == small.reasons == {"duplicate_key": 10, "below_min:age": 1}
    assert big.read == n and big.quarantined == 11
    pd.testing.assert_frame_equal(big.data, small.data)
    # the first occurrence is kept, later ones quarantined, in source order
    assert small.quarantine[SOURCE_ROW_COLUMN].tolist() == [1] + list(range(41, 51))


def test_two_formats_for_one_table_is_an_error(tmp_path):
    d = folder(tmp_path)
    write(institutions(), d / "institutions.parquet")
    with pytest.raises(
        ContractError, match=r"institutions.*institutions\.csv.*institutions\.parquet"
    ):
        load_folder(d)


def test_extra_files_are_listed_and_ignored(tmp_path):
    d = folder(tmp_path)
    (d / "README.txt").write_text("notes")
    write(institutions(), d / "old_institutions.csv")
    ds = load_folder(d)
    assert ds.extra_files == ["README.txt", "old_institutions.csv"]
    assert ds.report()["extra_files"] == ds.extra_files


def test_headers_in_upper_case_or_chinese(tmp_path):
    inst = institutions().rename(
        columns={
            "fixmedins_code": "FIXMEDINS_CODE",
            "fixmedins_name": "机构名称",
            "region": " Region ",
        }
    )
    d = folder(tmp_path, institutions=inst)
    data = load_table(d, "institutions")
    assert data["fixmedins_name"].tolist()[0] == "第1人民医院"
    assert data["region"].tolist() == ["110101"] * 3


# ----------------------------------------------------------------------------- refusals
def test_missing_required_column_refuses_the_file(tmp_path):
    md = encounters().drop(columns=["begntime"])
    d = folder(tmp_path, mdtrt_d=md)
    with pytest.raises(ContractError) as exc:
        load_folder(d)
    msg = str(exc.value)
    assert msg.startswith(
        "mdtrt_d.csv: missing required column 'begntime' (开始时间); expected columns: "
    )
    assert "mdtrt_id" in msg and "\n" not in msg


def test_all_refused_files_are_reported_together(tmp_path):
    d = folder(
        tmp_path,
        mdtrt_d=encounters().drop(columns=["endtime"]),
        institutions=institutions().drop(columns=["region"]),
    )
    with pytest.raises(ContractError) as exc:
        load_folder(d)
    assert "'endtime'" in str(exc.value) and "'region'" in str(exc.value)


def test_missing_required_table(tmp_path):
    d = folder(tmp_path)
    (d / "institutions.csv").unlink()
    with pytest.raises(ContractError, match="missing required table 'institutions'"):
        load_folder(d)
    # a single optional table can still be loaded on its own; absent tables give None
    assert load_table(d, "setl_d") is None
    assert load_table(d, "mdtrt_d").shape[0] == 4
    assert (
        "unknown_institution (institutions absent)"
        in load_table_result(d, "mdtrt_d").skipped_checks
    )


def test_unknown_table_name(tmp_path):
    with pytest.raises(ContractError, match="unknown table 'nope'"):
        load_table(folder(tmp_path), "nope")


def test_missing_folder(tmp_path):
    with pytest.raises(ContractError, match="data folder not found"):
        load_folder(tmp_path / "nope")


# ----------------------------------------------------------------------------- quarantine
def test_end_before_begin_is_quarantined(tmp_path):
    md = encounters()
    md.loc[1, "endtime"] = "2025-03-01 00:00:00"  # before 2025-03-02 09:30
    ds = load_folder(folder(tmp_path, mdtrt_d=md))
    t = ds.tables["mdtrt_d"]
    accounted(ds)
    assert (t.read, t.accepted, t.quarantined) == (4, 3, 1)
    assert t.reasons == {"end_before_begin": 1}
    assert t.quarantine.loc[0, "mdtrt_id"] == "M2" and t.quarantine.loc[0, SOURCE_ROW_COLUMN] == 2


def test_duplicate_keys_keep_the_first_occurrence(tmp_path):
    md = pd.concat([encounters(), encounters().iloc[[0, 0, 2]]], ignore_index=True)
    md.loc[4, "psn_no"] = "changed"
    ds = load_folder(folder(tmp_path, mdtrt_d=md))
    t = ds.tables["mdtrt_d"]
    accounted(ds)
    assert (t.read, t.accepted, t.quarantined) == (7, 4, 3)
    assert t.reasons == {"duplicate_key": 3}
    assert t.data["psn_no"].tolist()[0] == "P1"  # the first M1 survives
    assert t.quarantine[SOURCE_ROW_COLUMN].tolist() == [5, 6, 7]


def test_non_numeric_amounts_are_quarantined(tmp_path):
    fee = fee_lines()
    fee.loc[0, "det_item_fee_sumamt"] = "abc"
    fee.loc[1, "pric"] = "1,2x"
    fee.loc[1, "det_item_fee_sumamt"] = "??"
    fee.loc[2, "cnt"] = ""  # required, non-empty
    ds = load_folder(folder(tmp_path, fee_list_d=fee))
    t = ds.tables["fee_list_d"]
    accounted(ds)
    assert (t.read, t.accepted, t.quarantined) == (4, 1, 3)
    assert t.reasons == {
        "not_numeric:det_item_fee_sumamt": 2,
        "not_numeric:pric": 1,
        "null:cnt": 1,
    }
    q = t.quarantine.set_index("bkkp_sn")
    assert q.loc["F2", "reason"] == "not_numeric:pric;not_numeric:det_item_fee_sumamt"
    assert q.loc["F1", "det_item_fee_sumamt"] == "abc"  # quarantine keeps the text as read


def test_codes_allowed_and_min_value(tmp_path):
    fee = fee_lines()
    fee.loc[0, "med_chrgitm_type"] = "99"
    fee.loc[1, "pric"] = "-1"
    fee.loc[2, "fee_ocur_time"] = "not a time"
    ds = load_folder(folder(tmp_path, fee_list_d=fee))
    t = ds.tables["fee_list_d"]
    accounted(ds)
    assert t.reasons == {
        "not_allowed:med_chrgitm_type": 1,
        "below_min:pric": 1,
        "bad_date:fee_ocur_time": 1,
    }


def test_referential_checks(tmp_path):
    md = encounters()
    md.loc[3, "fixmedins_code"] = "H99999"
    fee = fee_lines()
    fee.loc[0, "mdtrt_id"] = "M404"
    fee.loc[1, "fixmedins_code"] = "H77777"
    ds = load_folder(folder(tmp_path, mdtrt_d=md, fee_list_d=fee))
    accounted(ds)
    assert ds.tables["mdtrt_d"].reasons == {"unknown_institution": 1}
    assert ds.tables["fee_list_d"].reasons == {"orphan_encounter": 1, "unknown_institution": 1}
    # an encounter quarantined for its institution still exists: its fee lines are not orphans
    assert "M4" not in set(ds["mdtrt_d"]["mdtrt_id"])
    # load_table applies the same checks as load_folder
    pd.testing.assert_frame_equal(load_table(ds.root, "fee_list_d"), ds["fee_list_d"])


def test_conflicts_table_keeps_its_own_reason_column(tmp_path):
    conf = pd.DataFrame(
        {
            "inspector_id": ["I1", "I1", ""],
            "fixmedins_code": ["H00001"] * 3,
            "reason": ["亲属任职", "dup", "x"],
        }
    )
    t = load_folder(folder(tmp_path, conflicts=conf)).tables["conflicts"]
    assert t.reason_column == "quarantine_reason"
    assert t.quarantine["reason"].tolist() == ["dup", "x"]
    assert t.quarantine["quarantine_reason"].tolist() == ["duplicate_key", "null:inspector_id"]


def test_empty_table_with_header_only(tmp_path):
    d = folder(tmp_path, setl_d=pd.DataFrame(columns=TABLES["setl_d"].required_columns))
    t = load_folder(d).tables["setl_d"]
    assert (t.read, t.accepted, t.quarantined) == (0, 0, 0)
    assert t.data.shape == (0, len(TABLES["setl_d"].columns))


def test_empty_file_is_refused(tmp_path):
    d = folder(tmp_path)
    (d / "setl_d.csv").write_bytes(b"")
    with pytest.raises(ContractError, match="setl_d.csv: empty file"):
        load_folder(d)


# ----------------------------------------------------------------------------- outputs
def test_write_clean_parquet_is_readable_by_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    ds = load_folder(folder(tmp_path, fee_list_d=fee_lines()))
    written = ds.write_clean_parquet(tmp_path / "clean")
    assert set(written) == {"institutions", "mdtrt_d", "fee_list_d"}
    con = duckdb.connect()
    n, total = con.execute(
        f"select count(*), sum(det_item_fee_sumamt) from '{written['fee_list_d']}'"
    ).fetchone()
    assert n == 4 and total == pytest.approx(120 + 7 + 1234.5 - 10)
    kind = con.execute(f"select typeof(begntime) from '{written['mdtrt_d']}' limit 1").fetchone()[0]
    assert kind == "TIMESTAMP"


def test_streamed_out_dir_equals_in_memory(tmp_path):
    d = folder(tmp_path, fee_list_d=fee_lines())
    mem = load_folder(d)
    streamed = load_folder(d, out_dir=tmp_path / "clean", batch_rows=2)
    for name in mem.tables:
        pd.testing.assert_frame_equal(mem[name], streamed[name], check_dtype=True)
    assert (tmp_path / "clean" / "mdtrt_d.parquet").exists()
    counted = load_folder(d, keep_data=False)
    assert counted.report()["tables"] == mem.report()["tables"]
    with pytest.raises(ContractError, match="not kept"):
        counted["mdtrt_d"]


def test_quarantine_files_leave_out_personal_data(tmp_path):
    md = encounters()
    md.loc[0, "endtime"] = "2020-01-01"
    ds = load_folder(folder(tmp_path, mdtrt_d=md), quarantine_dir=tmp_path / "qs")
    assert "psn_name" in ds.tables["mdtrt_d"].quarantine  # in memory, for the analyst
    for out in (tmp_path / "qs", tmp_path / "q2"):
        if out.name == "q2":
            ds.write_quarantine(out)
        text = (out / "mdtrt_d.csv").read_text(encoding="utf-8-sig")
        assert "张三" not in text and "110101199001011234" not in text
        assert "end_before_begin" in text and "M1" in text


def test_committed_data_contract_doc_is_generated():
    doc = REPO / "docs" / "data_contract.md"
    assert doc.read_text(encoding="utf-8") == contract_markdown()


def test_io_docstring_documents_the_public_api():
    import riskscore.io as rio

    for name in ("load_table", "load_folder", "report", "missing_optional", "write_clean_parquet"):
        assert name in rio.__doc__
    assert os.path.basename(rio.__file__) == "__init__.py"


# ----------------------------------------------------------------------------- properties
import tempfile  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=18)


@given(
    digits=DIGITS,
    suffix=st.sampled_from(["", ".0", ".00", ".", ".000000"]),
    pad=st.sampled_from(["", " ", "\t", "\u3000"]),
)
def test_property_float_formatted_digit_codes_normalise_to_the_digits(digits, suffix, pad):
    out = normalize_codes(pd.Series([pad + digits + suffix + pad]))
    assert out[0] == digits


@given(digits=DIGITS, width=st.integers(1, 20))
def test_property_zero_padding_only_pads(digits, width):
    out = normalize_codes(pd.Series([digits + ".0"]), zfill=width)[0]
    assert out == digits.zfill(width)
    assert out.lstrip("0") == digits.lstrip("0")


@given(n=st.integers(1, 10**15))
def test_property_scientific_notation_is_exact(n):
    text = f"{n:.15E}"  # exact for n < 10**16
    assert normalize_codes(pd.Series([text]))[0] == str(n)


NAME = st.text(
    alphabet="医院诊所药店第一二三人民中心社区卫生服务站康复肿瘤ABCxyz0123,-（）",
    min_size=1,
    max_size=12,
)
CODE = st.text(alphabet="0123456789ABCDEFH", min_size=1, max_size=14).filter(
    lambda c: c.lower() not in PLACEHOLDER_IDS  # "0", "00": placeholders, quarantined
)
FORMAT = st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gz", "xlsx", "parquet"])


def _write_any(df: pd.DataFrame, d: Path, name: str, fmt: str) -> None:
    if fmt == "xlsx":
        df.to_excel(d / f"{name}.xlsx", index=False)
    elif fmt == "parquet":
        df.to_parquet(d / f"{name}.parquet", index=False)
    elif fmt == "gz":
        df.to_csv(d / f"{name}.csv.gz", index=False, compression="gzip")
    else:
        df.to_csv(d / f"{name}.csv", index=False, encoding=fmt)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            CODE,
            NAME,
            st.sampled_from(["0", "1", "2", "3"]),
            st.sampled_from(["public", "private"]),
        ),
        min_size=0,
        max_size=15,
        unique_by=lambda r: r[0],
    ),
    fmt=FORMAT,
)
def test_property_tables_round_trip_through_any_encoding_and_format(rows, fmt):
    df = pd.DataFrame(rows, columns=["fixmedins_code", "fixmedins_name", "hosp_lv", "ownership"])
    df["medins_type"] = "hospital"
    df["region"] = "440300"
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _write_any(df, d, "institutions", fmt)
        encounters().iloc[:0].to_csv(d / "mdtrt_d.csv", index=False)
        t = load_folder(d).tables["institutions"]
    assert (t.read, t.accepted, t.quarantined) == (len(df), len(df), 0)
    got = t.data[list(df.columns)].astype(object)
    pd.testing.assert_frame_equal(got, df.astype(object), check_index_type=False)


CORRUPTIONS = {
    "age": ("age", "abc", "not_numeric:age"),
    "negative_age": ("age", "-3", "below_min:age"),
    "date": ("begntime", "2025-02-30", "bad_date:begntime"),
    "empty": ("psn_no", "", "null:psn_no"),
    "gend": ("gend", "5", "not_allowed:gend"),
    "end": ("endtime", "2024-01-01", "end_before_begin"),
    "inst": ("fixmedins_code", "H99999", "unknown_institution"),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 40),
    data=st.data(),
    fmt=st.sampled_from(["utf-8", "gb18030", "parquet"]),
    batch_rows=st.sampled_from([8, 1000]),
)
def test_property_random_corruption_is_always_accounted_for(n, data, fmt, batch_rows):
    base = pd.DataFrame(
        {
            "mdtrt_id": [f"{i:06d}" for i in range(n)],
            "psn_no": [f"P{i}" for i in range(n)],
            "fixmedins_code": ["H00001"] * n,
            "med_type": ["11"] * n,
            "begntime": ["2025-03-01 08:00:00"] * n,
            "endtime": ["2025-03-01 09:00:00"] * n,
            "gend": ["1"] * n,
            "age": [str(30 + i % 50) for i in range(n)],
            "psn_name": ["张三"] * n,
        }
    )
    bad = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n), label="rows")
    corrupt = base.copy()
    expected: dict[int, set[str]] = {}
    rekeyed: set[int] = set()
    for i in sorted(bad):
        kinds = data.draw(
            st.lists(
                st.sampled_from([*CORRUPTIONS, "dup"]),
                min_size=1,
                max_size=3,
                unique_by=lambda k: CORRUPTIONS[k][0] if k in CORRUPTIONS else "mdtrt_id",
            ),
            label=f"kinds{i}",
        )
        # a duplicate copies the key of an earlier row that keeps its own key
        targets = [j for j in range(i) if j not in rekeyed]
        if "dup" in kinds and not targets:
            kinds.remove("dup")
            if not kinds:
                kinds = ["age"]
        for k in kinds:
            if k == "dup":
                j = data.draw(st.sampled_from(targets), label=f"dup{i}")
                corrupt.loc[i, "mdtrt_id"] = base.loc[j, "mdtrt_id"]
                rekeyed.add(i)
                expected.setdefault(i, set()).add("duplicate_key")
            else:
                col, value, reason = CORRUPTIONS[k]
                corrupt.loc[i, col] = value
                expected.setdefault(i, set()).add(reason)
        if "date" in kinds and "end" in kinds:  # no order check against an unreadable begin
            expected[i].discard("end_before_begin")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        institutions().to_csv(d / "institutions.csv", index=False)
        _write_any(corrupt, d, "mdtrt_d", fmt)
        t = load_folder(d, batch_rows=batch_rows).tables["mdtrt_d"]
    assert t.read == n == t.accepted + t.quarantined
    assert t.quarantined == len(expected)
    q = t.quarantine
    got = {
        int(r - 1): set(s.split(";"))
        for r, s in zip(q[SOURCE_ROW_COLUMN], q["reason"], strict=True)
    }
    assert got == expected
    want = Counter(r for rs in expected.values() for r in rs)
    assert t.reasons == dict(want)
    kept = [i for i in range(n) if i not in expected]
    assert t.data["mdtrt_id"].tolist() == base.loc[kept, "mdtrt_id"].tolist()


def test_ragged_csv_is_refused_naming_the_file(tmp_path):
    d = folder(tmp_path)
    text = (d / "institutions.csv").read_text(encoding="utf-8")
    (d / "institutions.csv").write_text(text + "H9,多,一,列,x,y,z,w\n", encoding="utf-8")
    with pytest.raises(ContractError, match=r"institutions\.csv: unreadable \.csv file"):
        load_folder(d)


def test_parquet_dates_timezones_and_dictionaries(tmp_path):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    d = folder(tmp_path)
    table = pa.table(
        {
            "fixmedins_code": pa.array(["H00001", "H00002"]).dictionary_encode(),
            "rating": pa.array(["A", "E"]).dictionary_encode(),
            "rating_date": pa.array([dt.date(2024, 12, 31), dt.date(2025, 1, 1)], pa.date32()),
        }
    )
    pq.write_table(table, d / "credit_ratings.parquet")
    md = encounters().iloc[:2].copy()
    md["begntime"] = pd.to_datetime(["2025-03-01 00:30", "2025-03-02 00:00"]).tz_localize("UTC")
    md["endtime"] = pd.to_datetime(["2025-03-01 12:00", "2025-03-02 12:00"]).tz_localize("UTC")
    md.to_parquet(d / "mdtrt_d.parquet", index=False)
    (d / "mdtrt_d.csv").unlink()
    ds = load_folder(d)
    cr = ds.tables["credit_ratings"]
    assert cr.reasons == {"not_allowed:rating": 1}
    assert cr.data["rating_date"].tolist() == [pd.Timestamp("2024-12-31")]
    # UTC → China local time (UTC+8), naive
    assert ds["mdtrt_d"]["begntime"].tolist()[0] == pd.Timestamp("2025-03-01 08:30")


def test_xlsx_with_a_title_row_and_chinese_headers(tmp_path):
    from openpyxl import Workbook

    d = folder(tmp_path, institutions=None)
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["2025年定点医药机构名录"])
    ws.append(["定点医药机构编号", "机构名称", "机构类型", "医院等级", "所有制", "所在区划", None])
    ws.append(["H00001", "第一医院", "hospital", 3, "public", 110101, None])
    ws.append(["H00002", "第二医院", "clinic", 1.0, "private", "110102", None])
    ws.append(["H00003", "第三药店", "pharmacy", 0, "private", 110101.0, None])
    wb.save(d / "institutions.xlsx")
    res = load_table_result(d, "institutions")
    assert (res.read, res.accepted, res.quarantined) == (3, 3, 0)
    assert res.data["hosp_lv"].tolist() == ["3", "1", "0"]
    assert res.data["region"].tolist() == ["110101", "110102", "110101"]
    assert "known" not in res.info and res.extra_columns == []


def test_load_file_checks_one_file_as_a_table(tmp_path):
    from riskscore.io import load_file

    p = write(
        pd.DataFrame(
            {
                "result_id": ["R1", "R2"],
                "fixmedins_code": ["H1", "H2"],
                "origin": ["draw", "rumour"],
                "inspect_date": ["2025-05-01", "2025-05-02"],
                "violation_found": ["1", "0"],
                "improper_amount": ["1,000", "0"],
            }
        ),
        tmp_path / "results.csv",
    )
    res = load_file(p, "inspection_results")
    assert (res.read, res.accepted, res.quarantined) == (2, 1, 1)
    assert res.reasons == {"not_allowed:origin": 1}
    assert res.data["violation_found"].dtype == "Int64"
    assert res.data["improper_amount"].tolist() == [1000.0]
    with pytest.raises(ContractError, match="file not found"):
        load_file(tmp_path / "nope.csv", "inspection_results")
    (tmp_path / "x.txt").write_text("a")
    with pytest.raises(ContractError, match="unsupported file type"):
        load_file(tmp_path / "x.txt", "inspection_results")


def test_extra_columns_named_like_quarantine_columns_do_not_clash(tmp_path):
    md = encounters()
    md["reason"] = ["a", "b", "c", "d"]
    md["source_row"] = ["x"] * 4
    md.loc[0, "endtime"] = "2020-01-01"
    t = load_folder(folder(tmp_path, mdtrt_d=md)).tables["mdtrt_d"]
    assert t.data["reason"].tolist() == ["b", "c", "d"]  # kept as an extra column
    q = t.quarantine
    assert q["reason"].tolist() == ["end_before_begin"]
    assert q["file_reason"].tolist() == ["a"] and q["source_row"].tolist() == [1]


def test_utf8_file_with_one_corrupt_byte_is_refused_not_read_as_gb18030(tmp_path):
    d = folder(tmp_path)
    inst = institutions(40)
    raw = inst.to_csv(index=False).encode("utf-8")
    lines = raw.split(b"\n")
    lines[30] = lines[30].replace("医院".encode(), b"\xff\xfe")
    (d / "institutions.csv").write_bytes(b"\n".join(lines))
    with pytest.raises(ContractError, match=r"invalid UTF-8 byte at line 31 \(byte \d+\)"):
        load_folder(d)


def test_large_gb18030_file_with_late_chinese_text(tmp_path):
    d = folder(tmp_path)
    inst = institutions(3000)
    inst["fixmedins_name"] = "Hospital"
    inst.loc[2999, "fixmedins_name"] = "最后一家医院"
    write(inst, d / "institutions.csv", encoding="gb18030")
    assert (d / "institutions.csv").stat().st_size > 100_000
    data = load_table(d, "institutions")
    assert data["fixmedins_name"].iloc[-1] == "最后一家医院"


def test_load_folder_subset_of_tables(tmp_path):
    d = folder(tmp_path, fee_list_d=fee_lines())
    ds = load_folder(d, tables=["fee_list_d"])
    assert list(ds.tables) == ["fee_list_d"]
    # referential checks still use the other files of the folder; setl_d is absent, so the
    # settlement check is skipped and listed
    assert ds.tables["fee_list_d"].skipped_checks == ["unknown_settlement (setl_d absent)"]
    assert "fee_list_d" in ds and "mdtrt_d" not in ds

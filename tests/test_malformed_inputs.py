"""The malformed-input corpus of issue 14 with its expected outcome (quarantined with a
reason, or refused in one line); read = accepted + quarantined for every accepted folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from riskscore.cli import main as cli  # noqa: E402
from riskscore.io import load_folder  # noqa: E402
from test_io import accounted, encounters, fee_lines, folder  # noqa: E402


def _reasons(ds, table):
    return dict(ds.tables[table].reasons)


def test_full_width_digits_are_normalised(tmp_path):
    md = encounters()
    md.loc[1, "med_type"] = "１１"  # full-width
    md.loc[2, "fixmedins_code"] = "Ｈ００００２"
    ds = load_folder(folder(tmp_path, mdtrt_d=md))
    accounted(ds)
    data = ds.tables["mdtrt_d"].data
    assert set(data["med_type"]) <= {"11", "21", "41"} and "H00002" in set(data["fixmedins_code"])
    assert ds.tables["mdtrt_d"].quarantined == 0


@pytest.mark.parametrize("value", ["-", "0", "null", "NULL", "无", "N/A"])
def test_placeholder_ids_are_quarantined(tmp_path, value):
    md = encounters()
    md.loc[0, "psn_no"] = value
    ds = load_folder(folder(tmp_path, mdtrt_d=md))
    accounted(ds)
    r = _reasons(ds, "mdtrt_d")
    # "null"/"N/A" are read as empty already (null:psn_no); the others as placeholders
    assert r.get("placeholder_id:psn_no", 0) + r.get("null:psn_no", 0) == 1, r
    assert ds.tables["mdtrt_d"].quarantined == 1


def test_fee_lines_with_unknown_setl_id(tmp_path):
    fl = fee_lines()
    fl["setl_id"] = ["S1", "S1", "S2", "S9"]
    setl = pd.DataFrame(
        {
            "setl_id": ["S1", "S2"],
            "mdtrt_id": ["M1", "M2"],
            "psn_no": ["P1", "P2"],
            "fixmedins_code": ["H00001", "H00001"],
            "setl_time": ["2025-03-05 10:00:00", "2025-03-02 10:00:00"],
            "medfee_sumamt": ["100", "50"],
            "hifp_pay": ["60", "30"],
            "fund_pay_sumamt": ["60", "30"],
        }
    )
    ds = load_folder(folder(tmp_path, fee_list_d=fl, setl_d=setl))
    accounted(ds)
    assert _reasons(ds, "fee_list_d").get("unknown_settlement") == 1
    # without setl_d the check is skipped and listed, never silent
    (tmp_path / "b").mkdir()
    ds2 = load_folder(folder(tmp_path / "b", fee_list_d=fl))
    assert "unknown_settlement (setl_d absent)" in ds2.tables["fee_list_d"].skipped_checks


def test_quarantine_file_has_no_personal_columns(tmp_path, capsys):
    md = encounters()
    md["身份证号"] = ["110101199001011234"] * 4
    md["患者电话"] = ["13800138000"] * 4
    md["家庭住址"] = ["某路1号"] * 4
    md["备注x"] = ["13912345678", "110101199001011235", "13800000000", ""]  # by value
    md.loc[:, "begntime"] = "garbage"  # bad_date: every row quarantined
    d = folder(tmp_path, mdtrt_d=md)
    q = tmp_path / "q"
    cli(["validate", "--data", str(d), "--quarantine-out", str(q)])
    qp = q / "mdtrt_d.parquet"  # claims tables: the engine writes Parquet
    text = pd.read_parquet(qp).to_csv(index=False)
    head = text.splitlines()[0]
    for col in ("身份证号", "患者电话", "家庭住址", "备注x", "psn_name", "certno"):
        assert col not in head, col
    for value in ("110101199001011234", "13800138000", "某路1号", "张三"):
        assert value not in text, value
    assert "mdtrt_id" in head and "reason" in head


def test_quarantine_file_neutralises_formulas(tmp_path):
    """Registries are quarantined to CSV (opened in Excel): formulas are neutralised."""
    from test_io import institutions

    inst = institutions()
    inst.loc[1, "fixmedins_code"] = "H00001"  # duplicate key → quarantined
    inst.loc[1, "fixmedins_name"] = '=HYPERLINK("http://x","y")'
    inst["联系电话"] = ["13800138000"] * 3
    d = folder(tmp_path, institutions=inst)
    q = tmp_path / "q"
    cli(["validate", "--data", str(d), "--quarantine-out", str(q)])
    text = (q / "institutions.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    assert "13800138000" not in text and "联系电话" not in text


def test_duplicated_column_is_refused_in_one_line(tmp_path, capsys):
    d = folder(tmp_path)
    p = d / "mdtrt_d.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",med_type"] + [r + ",11" for r in lines[1:]]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["validate", "--data", str(d)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "med_type" in err[0] and "twice" in err[0]


def test_engine_path_placeholders_and_full_width(tmp_path, capsys):
    """validate runs the engine load path: the same outcomes as the pandas loaders."""
    import json

    md = encounters()
    md.loc[0, "psn_no"] = "-"
    md.loc[1, "med_type"] = "１１"
    md.loc[2, "fixmedins_code"] = "Ｈ００００２"
    d = folder(tmp_path, mdtrt_d=md)
    capsys.readouterr()
    cli(["validate", "--data", str(d), "--json"])
    rep = json.loads(capsys.readouterr().out)["tables"]["mdtrt_d"]
    assert rep["read"] == rep["accepted"] + rep["quarantined"] == 4
    assert rep["quarantined"] == 1 and rep["reasons"] == {"placeholder_id:psn_no": 1}


def test_xlsx_registry_over_two_sheets(tmp_path, capsys):
    from test_io import institutions

    inst = institutions(6)
    d = folder(tmp_path, institutions=None)
    with pd.ExcelWriter(d / "institutions.xlsx") as xw:
        inst.iloc[:4].to_excel(xw, sheet_name="第一页", index=False)
        inst.iloc[4:].to_excel(xw, sheet_name="第二页", index=False)
        pd.DataFrame().to_excel(xw, sheet_name="空白", index=False)
    ds = load_folder(d)
    accounted(ds)
    assert ds.tables["institutions"].accepted == 6
    with pd.ExcelWriter(d / "institutions.xlsx") as xw:
        inst.to_excel(xw, sheet_name="名录", index=False)
        pd.DataFrame({"说明": ["本表为导出"]}).to_excel(xw, sheet_name="说明", index=False)
    capsys.readouterr()
    assert cli(["validate", "--data", str(d)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'名录'" in err[0] and "'说明'" in err[0], err


@pytest.mark.parametrize("engine", [False, True])
def test_dates_outside_the_window_are_quarantined(tmp_path, capsys, engine):
    import json

    md = encounters()
    md.loc[0, "begntime"] = "1900-03-01 08:00:00"
    md.loc[1, "begntime"] = "2099-03-02 09:30:00"
    md.loc[1, "endtime"] = "2099-03-02 10:00:00"
    d = folder(tmp_path, mdtrt_d=md)
    if engine:
        capsys.readouterr()
        cli(["validate", "--data", str(d), "--json"])
        rep = json.loads(capsys.readouterr().out)["tables"]["mdtrt_d"]
    else:
        rep = load_folder(d).report()["tables"]["mdtrt_d"]
    assert rep["read"] == rep["accepted"] + rep["quarantined"] == 4
    assert rep["quarantined"] == 2
    assert rep["reasons"]["date_out_of_range:begntime"] == 2


@pytest.mark.parametrize("cut", ["short", "long"])
def test_short_or_long_claims_row_is_refused_in_one_line(tmp_path, capsys, cut):
    """The engine path reads CSV strictly: a row with too few or too many fields refuses the
    file in one line naming it and the line (never accepted with empty fields)."""
    d = folder(tmp_path)
    p = d / "mdtrt_d.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    fields = lines[2].split(",")
    lines[2] = ",".join(fields[:4] if cut == "short" else [*fields, "extra"])
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert cli(["validate", "--data", str(d)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mdtrt_d.csv" in err[0] and "Line: 3" in err[0], err

"""Platform extracts as they really arrive: dictionaries, quoted upper-case headers, row-number
column, CRLF, precision-lost ids, validate's verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from riskscore.cli import main
from riskscore.errors import ContractError
from riskscore.io import load_folder, load_table
from riskscore.io.dictionaries import load_dictionaries


def _inst(**over) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "fixmedins_code": ["H1", "C1", "P1"],
            "fixmedins_name": ["第一医院", "社区卫生服务中心", "大药房"],
            "medins_type": ["hospital", "clinic", "pharmacy"],
            "hosp_lv": ["3", "1", "0"],
            "ownership": ["public", "public", "private"],
            "region": ["340100"] * 3,
            "status": ["active"] * 3,
        }
    )
    for k, v in over.items():
        df[k] = v
    return df


def _enc(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mdtrt_id": [f"M{i}" for i in range(n)],
            "psn_no": [f"P{i}" for i in range(n)],
            "fixmedins_code": ["H1"] * n,
            "med_type": ["11"] * n,
            "begntime": ["2025-03-01 08:00:00"] * n,
            "endtime": ["2025-03-01 09:00:00"] * n,
        }
    )


def _folder(tmp_path: Path, inst: pd.DataFrame, enc: pd.DataFrame | None = None) -> Path:
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    inst.to_csv(d / "institutions.csv", index=False)
    (enc if enc is not None else _enc()).to_csv(d / "mdtrt_d.csv", index=False)
    return d


def test_chinese_labels_in_registry_map_to_contract_codes(tmp_path):
    zh = _inst(
        medins_type=["医院", "社区卫生服务中心", "定点零售药店"],
        hosp_lv=["三级甲等", "一级", "未定级"],
        ownership=["公立", "公立", "民营"],
        status=["正常", "正常", "正常"],
    )
    ds = load_folder(_folder(tmp_path, zh))
    t = ds.tables["institutions"]
    assert (t.accepted, t.quarantined) == (3, 0)
    en = _inst()
    for c in ("medins_type", "hosp_lv", "ownership", "status"):
        assert t.data[c].tolist() == en[c].tolist()
    applied = ds.report()["dictionaries"]["applied"]["institutions"]
    assert applied["hosp_lv"]["三级甲等→3"] == 1
    assert applied["medins_type"]["定点零售药店→pharmacy"] == 1
    assert ds.report()["dictionaries"]["version"]


def test_national_hosp_lv_codes_and_unknown_label(tmp_path):
    df = _inst(hosp_lv=["02", "09", "民营医院"])
    t = load_folder(_folder(tmp_path, df)).tables["institutions"]
    assert t.data["hosp_lv"].tolist() == ["3", "1"]
    assert t.quarantine["reason"].tolist() == ["not_allowed:hosp_lv"]


def test_validate_names_allowed_codes_and_refuses_a_mostly_quarantined_registry(tmp_path, capsys):
    df = _inst(ownership=["公家", "公家", "民营"])
    d = _folder(tmp_path, df)
    code = main(["validate", "--data", str(d), "--lang", "en"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "allowed: public, private (public=公立, private=民营)" in out
    assert len(err.strip().splitlines()) == 1 and "institutions quarantines 2 of 3" in err
    assert "Traceback" not in err


def test_validate_refuses_required_table_without_accepted_rows(tmp_path, capsys):
    enc = _enc()
    enc["fixmedins_code"] = "X9"
    d = _folder(tmp_path, _inst(), enc)
    assert main(["validate", "--data", str(d), "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["usable"] is False
    assert "required table mdtrt_d" in err and "unknown_institution 3" in err


def test_bureau_dictionary_in_folder_and_by_option(tmp_path):
    df = _inst(ownership=["公家", "公家", "私人"])
    d = _folder(tmp_path, df)
    (d / "dictionaries.yaml").write_text(
        'version: "bureau-1"\ndictionaries:\n  ownership:\n    codes:\n      public: [公家]\n',
        encoding="utf-8",
    )
    ds = load_folder(d)
    assert ds.tables["institutions"].data["ownership"].tolist() == ["public", "public"]
    extra = tmp_path / "more.yaml"
    extra.write_text(
        "version: x\ndictionaries:\n  ownership:\n    codes:\n      private: [私人]\n",
        encoding="utf-8",
    )
    ds = load_folder(d, dictionaries=extra)
    assert ds.tables["institutions"].accepted == 3
    assert ds.report()["dictionaries"]["version"].endswith("+bureau-1+x")
    with pytest.raises(ContractError, match="not found"):
        load_dictionaries(tmp_path / "nope.yaml")


def test_results_typed_in_excel_are_read(tmp_path):
    from riskscore.io import load_file

    res = pd.DataFrame(
        {
            "result_id": ["R1", "R2", "R3"],
            "fixmedins_code": ["H1", "C1", "P1"],
            "origin": ["双随机抽查", "投诉举报", "双随机"],
            "inspect_date": ["2025-05-01"] * 3,
            "violation_found": ["是", "否", "是"],
            "improper_amount": ["100", "0", "5"],
        }
    )
    p = tmp_path / "results.xlsx"
    res.to_excel(p, index=False)
    t = load_file(p, "inspection_results")
    assert t.quarantined == 0
    assert t.data["origin"].tolist() == ["draw", "complaint", "draw"]
    assert t.data["violation_found"].tolist() == [1, 0, 1]


def test_med_type_labels_mapped_and_unknown_label_quarantined(tmp_path):
    enc = _enc(3)
    enc["med_type"] = ["普通门诊", "住院", "奇怪类别"]
    t = load_folder(_folder(tmp_path, _inst(), enc)).tables["mdtrt_d"]
    assert t.data["med_type"].tolist() == ["11", "21"]
    assert t.quarantine["reason"].tolist() == ["not_allowed:med_type"]


def test_quoted_uppercase_headers_rownumber_column_and_crlf(tmp_path):
    d = _folder(tmp_path, _inst())
    enc = _enc(3)
    lines = ["'RN','" + "','".join(c.upper() for c in enc.columns) + "'"]
    for i, row in enumerate(enc.itertuples(index=False), start=1):
        lines.append(f"'{i}','" + "','".join(str(v) for v in row) + "'")
    (d / "mdtrt_d.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    t = load_folder(d).tables["mdtrt_d"]
    assert (t.accepted, t.quarantined) == (3, 0)
    assert t.data["mdtrt_id"].tolist() == ["M0", "M1", "M2"]
    assert t.data["begntime"].iloc[0] == pd.Timestamp("2025-03-01 08:00:00")
    assert "RN" in t.ignored_columns and t.extra_columns == []


def test_platform_fields_are_ignored_and_listed(tmp_path):
    enc = _enc(2)
    enc["psn_cert_type"] = "01"
    enc["adm_dept_name"] = "内科"
    enc["local_note"] = "x"
    t = load_folder(_folder(tmp_path, _inst(), enc)).tables["mdtrt_d"]
    assert t.ignored_columns == ["psn_cert_type", "adm_dept_name"]
    assert t.extra_columns == ["local_note"]
    assert "adm_dept_name" not in t.data.columns


def test_scientific_notation_ids_are_quarantined_not_repaired(tmp_path):
    enc = _enc(20)
    enc.loc[:9, "psn_no"] = "3.401E+15"  # ten persons saved through Excel
    enc.loc[10, "psn_no"] = "1.102000040000E+12"  # every digit written: exact
    enc.loc[:1, "psn_no"] = ["P0", "P1"]
    t = load_folder(_folder(tmp_path, _inst(), enc)).tables["mdtrt_d"]
    assert t.reasons == {"code_precision_lost:psn_no": 8}
    assert "3401000000000000" not in set(t.data["psn_no"])
    assert "1102000040000" in set(t.data["psn_no"])


def test_key_column_mostly_precision_lost_is_refused(tmp_path):
    enc = _enc(4)
    enc["mdtrt_id"] = ["1.2E+17", "1.3E+17", "1.4E+17", "M9"]
    d = _folder(tmp_path, _inst(), enc)
    with pytest.raises(ContractError, match="re-export") as exc:
        load_table(d, "mdtrt_d")
    assert "mdtrt_id" in str(exc.value) and "\n" not in str(exc.value)


def test_numeric_id_cells_in_xlsx_lost_digits(tmp_path):
    d = _folder(tmp_path, _inst())
    (d / "mdtrt_d.csv").unlink()
    enc = _enc(4).astype(object)
    enc.loc[0, "psn_no"] = 340100000000000123.0  # a number cell: digits gone
    enc.to_excel(d / "mdtrt_d.xlsx", index=False)
    t = load_folder(d).tables["mdtrt_d"]
    assert t.reasons == {"code_precision_lost:psn_no": 1}


def _fixmedins_b_folder(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    pd.DataFrame(
        {
            "FIXMEDINS_CODE": ["H1", "C1", "P1", "H2"],
            "MEDINS_MGTCODE": ["x"] * 4,
            "USCC": ["u1", "u2", "u3", "u4"],
            "FIX_BLNG_ADMDVS": ["340100"] * 4,
            "FIXMEDINS_NAME": ["第一医院", "社区卫生服务中心", "大药房", "关了的医院"],
            "FIXMEDINS_TYPE": ["1", "1", "2", "1"],
            "HOSP_LV": ["02", "10", "11", "05"],
            "ECON_TYPE": ["110", "110", "171", "110"],
            "BEGNTIME": ["2015-01-01"] * 4,
            "ENDTIME": ["2099-12-31", "", "2099-12-31", "2020-12-31"],
            "HI_RESPER_NAME": ["张三"] * 4,
            "VALI_FLAG": ["1", "1", "1", "1"],
            "UPDT_TIME": ["2025-01-05 10:00:00"] * 4,
        }
    ).to_csv(d / "fixmedins_b.csv", index=False)
    _enc().to_csv(d / "mdtrt_d.csv", index=False)
    return d


def test_fixmedins_b_is_read_as_the_institution_registry(tmp_path):
    ds = load_folder(_fixmedins_b_folder(tmp_path))
    t = ds.tables["institutions"]
    assert t.quarantined == 0 and t.info["layout"] == "fixmedins_b"
    got = t.data.set_index("fixmedins_code")
    assert got["medins_type"].tolist() == ["hospital", "clinic", "pharmacy", "hospital"]
    assert got["hosp_lv"].tolist() == ["3", "1", "0", "2"]
    assert got["ownership"].tolist() == ["public", "public", "private", "public"]
    assert got["status"].tolist() == ["active", "active", "active", "closed"]
    assert got["region"].tolist() == ["340100"] * 4
    assert "HI_RESPER_NAME" in t.ignored_columns
    assert ds.tables["mdtrt_d"].accepted == 3  # claims checked against fixmedins_b codes


def test_fixmedins_b_on_the_engine_load_path(tmp_path, capsys):
    """validate and score load through the engine path: fixmedins_b is the registry there too."""
    from riskscore.io.engine import scan_sources

    d = _fixmedins_b_folder(tmp_path)
    assert [p.name for p in scan_sources(d).files["institutions"]] == ["fixmedins_b.csv"]
    assert main(["validate", "--data", str(d), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["tables"]["institutions"]["accepted"] == 4
    assert rep["tables"]["mdtrt_d"]["accepted"] == 3
    # both registries at once: refused in one line, naming both files
    _inst().to_csv(d / "institutions.csv", index=False)
    assert main(["validate", "--data", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fixmedins_b.csv" in err and "institutions.csv" in err


def test_persons_taken_from_encounters_when_psn_info_b_is_absent():
    from riskscore.indicators import compute_indicators

    inst = _inst()
    enc = _enc(3)
    enc["gend"] = ["1", "2", "1"]
    enc["brdy"] = ["1950-01-01"] * 3
    enc["die_date"] = ["2025-01-01", None, None]
    res = compute_indicators(
        {"institutions": inst, "mdtrt_d": enc}, progress=False, only=["if_after_death"]
    )
    assert res.computed == ["if_after_death"]
    v = res.values.set_index("fixmedins_code")
    assert (v.loc["H1", "numerator"], v.loc["H1", "denominator"]) == (1.0, 3.0)


def _inv():
    def sale(inst, code, setl, t, cnt=1):
        return {
            "fixmedins_code": inst,
            "med_list_codg": "XL01",
            "drug_trac_codg": code,
            "setl_id": setl,
            "sel_retn_cnt": cnt,
            "sel_retn_time": pd.Timestamp(t),
        }

    sales = pd.DataFrame(
        [
            sale("P1", "T1", "S1", "2025-01-01"),
            sale("P2", "T1", "S2", "2025-02-01"),  # resold elsewhere: flagged
            sale("P1", "T2", "S3", "2025-01-05"),
            sale("P1", "T2", "S5", "2025-01-20"),  # after a refund: legitimate
            sale("P1", "T3", "S6", "2025-01-07"),
            sale("P1", "T3", "S7", "2025-03-01"),  # sold twice at the same pharmacy: flagged
        ]
    )
    returns = pd.DataFrame([sale("P1", "T2", "S3", "2025-01-10", -1)])
    buys = pd.DataFrame(
        {
            "fixmedins_code": ["P1", "P1", "P1", "P2"],
            "med_list_codg": ["XL01"] * 4,
            "fixmedins_bchno": ["B1", "B1", "B1", "B2"],
            "drug_trac_codg": ["T1", "T2", "T3", "T9"],
            "purc_retn_cnt": [1.0] * 4,
            "finl_trns_pric": [10.0] * 4,
            "purc_retn_stoin_time": [pd.Timestamp("2024-12-01")] * 4,
        }
    )
    return {"inv_sale": sales, "inv_sale_return": returns, "inv_purchase": buys}


def test_traceability_indicators_flag_resales_not_refund_resales():
    from riskscore.indicators import compute_indicators

    inst = _inst(fixmedins_code=["H1", "P1", "P2"])
    res = compute_indicators(
        {"institutions": inst, "mdtrt_d": _enc(1), **_inv()},
        progress=False,
        only=["tr_code_sold_twice", "tr_sold_not_purchased", "sub_sales_over_stock"],
    )
    v = res.values.set_index(["indicator_id", "fixmedins_code"])
    assert v.loc[("tr_code_sold_twice", "P1"), ["numerator", "denominator"]].tolist() == [1, 5]
    assert v.loc[("tr_code_sold_twice", "P2"), ["numerator", "denominator"]].tolist() == [1, 1]
    assert v.loc[("tr_sold_not_purchased", "P2"), "numerator"] == 1
    assert v.loc[("tr_sold_not_purchased", "P1"), "numerator"] == 0
    ev = res.evidence[res.evidence.indicator_id == "tr_code_sold_twice"]
    assert sorted(ev.record_id) == ["S2/T1", "S7/T3"]
    assert "sold before at P1 setl_id=S1" in ev.set_index("record_id").loc["S2/T1", "detail"]
    # the derived stock: P2 sold 1 with purchases of 1 (T9): not over stock
    assert "sub_sales_over_stock" in res.computed

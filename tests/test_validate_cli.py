"""``riskscore validate``: JSON report, Chinese/English summaries, refusals without traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from riskscore.cli import main

PII_VALUES = ("张三", "110101199001011234", "13800138000", "幸福路1号")


def make_folder(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    pd.DataFrame(
        {
            "fixmedins_code": ["H1", "H2", "H2"],
            "fixmedins_name": ["第一医院", "社区卫生服务中心", "重复"],
            "medins_type": ["hospital", "clinic", "clinic"],
            "hosp_lv": ["3", "1", "1"],
            "ownership": ["public", "public", "public"],
            "region": ["110101", "110102", "110102"],
        }
    ).to_csv(d / "institutions.csv", index=False, encoding="gb18030")
    pd.DataFrame(
        {
            "mdtrt_id": ["M1", "M2", "M3", "M3"],
            "psn_no": ["P1", "P2", "P3", "P3"],
            "fixmedins_code": ["H1", "H1", "H2", "H2"],
            "med_type": ["21", "11", "11", "11"],
            "begntime": ["2025-03-01 08:00:00", "2025-03-02", "2025-03-03", "2025-03-03"],
            "endtime": ["2025-03-05 10:00:00", "2025-03-01", "2025-03-03", "2025-03-03"],
            "psn_name": ["张三"] * 4,
            "certno": ["110101199001011234"] * 4,
            "tel": ["13800138000"] * 4,
            "addr": ["幸福路1号"] * 4,
        }
    ).to_csv(d / "mdtrt_d.csv", index=False, encoding="utf-8-sig")
    pd.DataFrame(
        {
            "bkkp_sn": ["F1", "F2", "F3"],
            "mdtrt_id": ["M1", "M1", "M9"],
            "psn_no": ["P1", "P1", "P1"],
            "fixmedins_code": ["H1", "H1", "H1"],
            "fee_ocur_time": ["20250301080000"] * 3,
            "med_chrgitm_type": ["1.0", "09", "04"],
            "hilist_code": ["1102000040000.0", "X", "Y"],
            "medins_list_codg": ["a", "b", "c"],
            "cnt": ["1", "abc", "1"],
            "pric": ["5", "5", "5"],
            "det_item_fee_sumamt": ["5", "5", "-5"],
        }
    ).to_parquet(d / "fee_list_d.parquet", index=False)
    (d / "notes.txt").write_text("not a table")
    return d


def test_json_report_accounts_for_every_row(tmp_path, capsys):
    d = make_folder(tmp_path)
    assert main(["validate", "--data", str(d), "--json"]) == 0
    out = capsys.readouterr().out
    rep = json.loads(out)
    assert set(rep["tables"]) == {"institutions", "mdtrt_d", "fee_list_d"}
    for counts in rep["tables"].values():
        assert set(counts) == {"read", "accepted", "quarantined", "reasons"}
        assert counts["read"] == counts["accepted"] + counts["quarantined"]
    assert rep["tables"]["institutions"] == {
        "read": 3,
        "accepted": 2,
        "quarantined": 1,
        "reasons": {"duplicate_key": 1},
    }
    assert rep["tables"]["mdtrt_d"] == {
        "read": 4,
        "accepted": 2,
        "quarantined": 2,
        "reasons": {"duplicate_key": 1, "end_before_begin": 1},
    }
    assert rep["tables"]["fee_list_d"] == {
        "read": 3,
        "accepted": 1,
        "quarantined": 2,
        "reasons": {"not_numeric:cnt": 1, "orphan_encounter": 1},
    }
    assert "setl_d" in rep["missing_optional"]
    assert rep["extra_files"] == ["notes.txt"]
    assert rep["files"]["institutions"]["encoding"] == "gb18030"
    for v in PII_VALUES:
        assert v not in out


def test_chinese_summary_by_default_and_english_option(tmp_path, capsys):
    d = make_folder(tmp_path)
    assert main(["validate", "--data", str(d)]) == 0
    zh = capsys.readouterr().out
    assert "读取" in zh and "隔离" in zh and "数据目录可用" in zh
    assert "end_before_begin 1" in zh and "结算信息" in zh  # missing optional table listed
    assert "not_numeric:cnt: cnt（数量） 不是数值" in zh  # reason legend
    assert main(["validate", "--data", str(d), "--lang", "en"]) == 0
    en = capsys.readouterr().out
    assert "quarantined" in en and "usable" in en and "notes.txt" in en
    assert "orphan_encounter: mdtrt_id not in mdtrt_d" in en
    for v in PII_VALUES:
        assert v not in zh and v not in en


def test_quarantine_and_clean_outputs(tmp_path, capsys):
    d = make_folder(tmp_path)
    q, c = tmp_path / "q", tmp_path / "clean"
    assert (
        main(
            [
                "validate",
                "--data",
                str(d),
                "--quarantine-out",
                str(q),
                "--clean-out",
                str(c),
                "--batch-rows",
                "2",
            ]
        )
        == 0
    )
    capsys.readouterr()
    # claims tables are quarantined by the engine, as Parquet (with the source file)
    md_q = pd.read_parquet(q / "mdtrt_d.parquet")
    assert md_q["reason"].tolist() == ["end_before_begin", "duplicate_key"]
    assert md_q["source_row"].tolist() == [2, 4]
    assert md_q["source_file"].tolist() == ["mdtrt_d.csv"] * 2
    # cells as read, also for a row flagged only by the key check (read again from the file)
    assert md_q["begntime"].tolist() == ["2025-03-02", "2025-03-03"]
    assert not {"psn_name", "certno", "tel", "addr"} & set(md_q.columns)
    assert pd.read_csv(q / "institutions.csv", encoding="utf-8-sig").shape[0] == 1
    fee = pd.read_parquet(c / "fee_list_d.parquet")
    assert fee["hilist_code"].tolist() == ["1102000040000"]
    assert fee["med_chrgitm_type"].tolist() == ["01"]
    for f in q.iterdir():
        if f.suffix == ".parquet":
            text = pd.read_parquet(f).to_csv()
        else:
            text = f.read_text(encoding="utf-8-sig")
        for v in PII_VALUES:
            assert v not in text


@pytest.mark.parametrize(
    "breakage, expected",
    [
        (
            "drop_column",
            "mdtrt_d.csv: missing required column 'begntime' (开始时间); expected columns:",
        ),
        ("utf16", "institutions.csv: unknown text encoding"),
        ("no_institutions", "missing required table 'institutions'"),
        ("two_formats", "table 'mdtrt_d' is present in 2 files"),
        ("bad_parquet", "fee_list_d.parquet: unreadable .parquet file"),
    ],
)
def test_refusals_are_one_line_with_exit_2(tmp_path, capsys, breakage, expected):
    d = make_folder(tmp_path)
    if breakage == "drop_column":
        md = pd.read_csv(d / "mdtrt_d.csv", dtype=str, encoding="utf-8-sig")
        md.drop(columns=["begntime"]).to_csv(d / "mdtrt_d.csv", index=False)
    elif breakage == "utf16":
        text = (d / "institutions.csv").read_bytes().decode("gb18030")
        (d / "institutions.csv").write_bytes(text.encode("utf-16-le"))
    elif breakage == "no_institutions":
        (d / "institutions.csv").unlink()
    elif breakage == "two_formats":
        pd.read_csv(d / "mdtrt_d.csv", dtype=str).to_parquet(d / "mdtrt_d.parquet")
    elif breakage == "bad_parquet":
        (d / "fee_list_d.parquet").write_bytes(b"PAR1 this is not parquet")
    code = main(["validate", "--data", str(d), "--json"])
    cap = capsys.readouterr()
    assert code == 2
    assert cap.out == ""
    err = cap.err.strip()
    assert "\n" not in err and err.startswith("riskscore validate: error: ")
    assert expected in err


def test_missing_data_folder_exits_non_zero_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "riskscore.cli", "validate", "--data", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "data folder not found" in proc.stderr


def test_help_documents_the_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--data", "--json", "--quarantine-out", "--lang", "--clean-out"):
        assert opt in out


SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"


@pytest.mark.skipif(not (SAMPLES / "mdtrt_d.parquet").exists(), reason="no data_samples/")
def test_malformed_copy_of_the_sample_province(tmp_path, capsys):
    """GB18030 CSV, float-formatted codes, duplicates, end before begin, non-numeric amounts."""
    d = tmp_path / "bad"
    d.mkdir()
    inst = pd.read_csv(SAMPLES / "institutions.csv", dtype=str)
    inst.to_csv(d / "institutions.csv", index=False, encoding="gb18030")
    md = pd.read_parquet(SAMPLES / "mdtrt_d.parquet").head(2000).reset_index(drop=True)
    fee = pd.read_parquet(SAMPLES / "fee_list_d.parquet")
    fee = fee[fee["mdtrt_id"].isin(md["mdtrt_id"])].head(3000).reset_index(drop=True)
    assert len(fee) > 100
    md_txt = md.astype(str).replace({"nan": "", "NaT": "", "None": ""})
    # a spreadsheet turned numeric ids into floats
    if md_txt["mdtrt_id"].str.fullmatch(r"\d+").all():
        md_txt["mdtrt_id"] = md_txt["mdtrt_id"] + ".0"
    if md_txt["psn_no"].str.fullmatch(r"[1-8]\d{0,15}").all():
        md_txt["psn_no"] = md_txt["psn_no"].astype("int64").astype(float).map("{:.15E}".format)
    md_txt.loc[[10, 11, 12], "endtime"] = "2000-01-01 00:00:00"
    dups = md_txt.iloc[[0, 1, 2, 3, 4]]
    md_txt = pd.concat([md_txt, dups], ignore_index=True)
    md_txt.to_csv(d / "mdtrt_d.csv", index=False, encoding="gb18030")
    fee = fee.astype(str).replace({"nan": "", "NaT": "", "None": ""})
    fee.loc[[0, 1], "det_item_fee_sumamt"] = ["abc", "1,2x"]
    fee.to_parquet(d / "fee_list_d.parquet", index=False)

    assert main(["validate", "--data", str(d), "--json"]) == 0
    out = capsys.readouterr().out
    rep = json.loads(out)["tables"]
    assert rep["institutions"] == {
        "read": len(inst),
        "accepted": len(inst),
        "quarantined": 0,
        "reasons": {},
    }
    assert rep["mdtrt_d"] == {
        "read": 2005,
        "accepted": 1997,
        "quarantined": 8,
        "reasons": {"duplicate_key": 5, "end_before_begin": 3},
    }
    assert rep["fee_list_d"] == {
        "read": len(fee),
        "accepted": len(fee) - 2,
        "quarantined": 2,
        "reasons": {"not_numeric:det_item_fee_sumamt": 2},
    }
    for name in md["psn_name"].dropna().head(50):
        assert name not in out

    # the float-formatted ids came back as the original digits
    from riskscore.io import load_table

    ids = load_table(d, "mdtrt_d")
    assert ids["mdtrt_id"].tolist()[:3] == md["mdtrt_id"].tolist()[:3]
    assert ids["psn_no"].tolist()[:3] == md["psn_no"].tolist()[:3]

    # and a missing required column refuses the file in one line
    md_txt.drop(columns=["fixmedins_code"]).to_csv(d / "mdtrt_d.csv", index=False)
    assert main(["validate", "--data", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "riskscore validate: error: mdtrt_d.csv: missing required column 'fixmedins_code' "
        "(定点医药机构编号); expected columns: mdtrt_id, psn_no, fixmedins_code, med_type, "
        "begntime, endtime"
    )

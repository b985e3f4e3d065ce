"""Every command over a corpus of malformed inputs: exit 2 with one line, or 0 with quarantine.

The corpus (small folders) covers what real extracts and hand-kept files bring: bad headers,
codes no dictionary knows, an empty required table, a registry that quarantines every row,
Excel-mangled identifiers, 是/否 results, wrong encodings, files that are not tables. Each case is
run through ``validate`` and ``score`` (folders) or ``plan`` / ``analyze`` / ``report`` (their
inputs); none may end in a traceback (run in-process: an uncaught exception fails the test).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from riskscore.cli import main  # noqa: E402
from test_io import encounters, institutions  # noqa: E402


def _write(d: Path, name: str, df: pd.DataFrame, **kw) -> None:
    d.mkdir(parents=True, exist_ok=True)
    df.to_csv(d / name, index=False, **kw)


def _base(d: Path, inst=None, enc=None) -> Path:
    _write(d, "institutions.csv", institutions() if inst is None else inst)
    _write(d, "mdtrt_d.csv", encounters() if enc is None else enc)
    return d


def case_bad_header(d):
    enc = encounters().rename(columns={"mdtrt_id": "就诊号"})
    return _base(d, enc=enc), 2


def case_unknown_codes(d):
    inst = institutions()
    inst["medins_type"] = ["医馆", "医馆", "药铺"]  # no dictionary knows them
    return _base(d, inst=inst), 2


def case_registry_all_quarantined(d):
    inst = institutions()
    inst["fixmedins_code"] = ["-", "0", "无"]
    return _base(d, inst=inst), 2


def case_empty_required_table(d):
    _base(d)
    (d / "mdtrt_d.csv").write_text(",".join(encounters().columns) + "\n", encoding="utf-8")
    return d, 2


def case_excel_mangled_ids(d):
    enc = encounters()
    enc["mdtrt_id"] = ["1.2E+17", "1.3E+17", "1.4E+17", "M4"]
    return _base(d, enc=enc), 2


def case_some_sci_notation_psn(d):
    enc = encounters()
    enc.loc[0, "psn_no"] = "3.401E+15"
    return _base(d, enc=enc), 0  # quarantined (code_precision_lost), folder usable


def case_wrong_encoding(d):
    _base(d)
    text = (d / "institutions.csv").read_text(encoding="utf-8")
    (d / "institutions.csv").write_bytes(text.encode("utf-16"))
    return d, 2


def case_binary_garbage(d):
    _base(d)
    (d / "mdtrt_d.csv").write_bytes(bytes(range(256)) * 4)
    return d, 2


def case_not_xlsx(d):
    _base(d)
    (d / "institutions.csv").unlink()
    (d / "institutions.xlsx").write_bytes(b"this is not a workbook")
    return d, 2


def case_duplicate_registry(d):
    _base(d)
    _write(d, "fixmedins_b.csv", institutions())
    return d, 2


def case_missing_registry(d):
    _base(d)
    (d / "institutions.csv").unlink()
    return d, 2


def case_chinese_labels(d):
    inst = institutions()
    inst["medins_type"] = ["医院", "社区卫生服务中心", "定点零售药店"]
    inst["hosp_lv"] = ["三级甲等", "一级", "未定级"]
    inst["ownership"] = ["公立", "民营", "民营"]
    return _base(d, inst=inst), 0


FOLDERS = {k[5:]: v for k, v in dict(globals()).items() if k.startswith("case_")}


def _one_line(err: str) -> None:
    assert "Traceback" not in err
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert len(lines) == 1, err


@pytest.mark.parametrize("case", sorted(FOLDERS))
def test_validate_and_score_over_the_corpus(case, tmp_path, capsys):
    d, expected = FOLDERS[case](tmp_path / "data")
    capsys.readouterr()
    code = main(["validate", "--data", str(d)])
    out, err = capsys.readouterr()
    assert code == expected, (code, err)
    if code == 2:
        _one_line(err)
        # score refuses the same folder in one line as well (before any computation)
        code = main(["score", "--data", str(d), "--out", str(tmp_path / "out"), "--quiet"])
        _, err = capsys.readouterr()
        assert code == 2
        _one_line(err)
        assert not (tmp_path / "out" / "scores.csv").exists()


BAD_FILES = {
    "empty": b"",
    "bad_header": "机构,分数\r\nH1,0.5\r\n".encode(),
    "binary": bytes(range(256)),
    "utf16": "fixmedins_code,risk_score\nH1,0.5\n".encode("utf-16"),
    "no_rows": b"fixmedins_code,risk_score,tier\n",
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_plan_and_analyze_refuse_malformed_files_in_one_line(kind, tmp_path, capsys):
    f = tmp_path / "scores.csv"
    f.write_bytes(BAD_FILES[kind])
    code = main(["plan", "--scores", str(f), "--out", str(tmp_path / "plan")])
    _, err = capsys.readouterr()
    assert code == 2
    _one_line(err)
    draw = tmp_path / "draw"
    draw.mkdir()
    (draw / "selected.csv").write_bytes(BAD_FILES[kind])
    code = main(
        ["analyze", "--draw", str(draw), "--results", str(f), "--out", str(tmp_path / "an")]
    )
    _, err = capsys.readouterr()
    assert code == 2
    _one_line(err)


@pytest.mark.slow  # importing the notebook machinery takes ~10 s
def test_report_refuses_a_malformed_input_in_one_line(tmp_path, capsys):
    f = tmp_path / "scores.csv"
    f.write_bytes(BAD_FILES["bad_header"])
    code = main(
        [
            "report",
            "institution_profile",
            "-p",
            "scores",
            str(f),
            "--out",
            str(tmp_path / "rep"),
            "--no-progress",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 2
    _one_line(err)

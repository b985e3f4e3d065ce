"""riskscore.outputs: CSV-injection neutralising, BOM, Jinja2-escaped HTML, paths, locks."""

from __future__ import annotations

import csv
import io
import shutil
import types
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskscore.cli import main as cli
from riskscore.errors import RiskscoreError
from riskscore.outputs import (
    BOM,
    TRIGGERS,
    OutputLock,
    check_completion,
    check_out_dir,
    confine,
    frame_csv_bytes,
    html_table,
    neutralise,
    people_csv_bytes,
    read_people_csv,
    unneutralise,
    write_completion,
)

GOLDEN = Path(__file__).parent / "golden"
DATA = GOLDEN / "data"
POLICY = GOLDEN / "policy_joint.yaml"
EVIL = ["<script>alert(40)</script>", '=HYPERLINK("http://x","y")', "+1-2", "@SUM(A1)", "-3+4"]


@given(st.text())
def test_neutralise_is_safe_and_exactly_undone(s):
    n = neutralise(s)
    assert n[:1] not in TRIGGERS or n == ""
    assert unneutralise(n) == s


@given(st.floats(allow_nan=False) | st.integers())
def test_numbers_are_never_touched(x):
    assert neutralise(x) == x


def test_people_csv_has_bom_neutralises_text_and_keeps_negative_numbers(tmp_path):
    df = pd.DataFrame({"name": EVIL, "amount": [-1.5, 2.0, -3.0, 0.0, 1e-9], "code": list("abcde")})
    b = frame_csv_bytes(df)
    assert b.startswith(BOM.encode("utf-8"))
    rows = list(csv.reader(io.StringIO(b.decode("utf-8-sig"))))
    for r in rows[1:]:
        assert r[0][:1] not in TRIGGERS
    assert [r[1] for r in rows[1:]] == ["-1.5", "2.0", "-3.0", "0.0", "1e-09"]
    p = tmp_path / "x.csv"
    p.write_bytes(b)
    back = read_people_csv(p)
    assert back["name"].tolist() == EVIL and back["amount"].tolist() == df["amount"].tolist()
    b2 = people_csv_bytes(["a"], [["=1"], ["\tx"], ["\rx"], ["ok"]]).decode("utf-8-sig")
    assert b2.splitlines()[1:3] == ["'=1", "'\tx"]


def test_html_is_escaped_by_jinja():
    page = html_table("<b>t</b>", ["<h>"], [[EVIL[0]]], ["<i>f</i>"], "zh")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>t</b>" not in page and "<i>f</i>" not in page


def test_report_table_escapes_cells():
    from riskscore.reports import display as d

    html = d.table(pd.DataFrame({"fixmedins_name": [EVIL[0]]}), "k", "zh", caption="<c>")
    assert "<script>" not in html and "&lt;script&gt;" in html and "<c>" not in html
    assert "<script>" not in d.narrative(EVIL[0]) and "<script>" not in d.heading(EVIL[0])


def test_public_notice_csv_neutralised(tmp_path):
    from riskscore.reports.public_notice import write_csv

    inputs = types.SimpleNamespace(lang="zh", data_dir=None)
    tab = pd.DataFrame({"fixmedins_name": EVIL, "recovered_amount": [-1.0, 0, 1, 2, 3]})
    p = write_csv(tab, inputs, tmp_path / "n.csv")
    raw = p.read_bytes()
    assert raw.startswith(BOM.encode())
    for r in list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))[1:]:
        assert r[0][:1] not in TRIGGERS and r[1] in ("-1.0", "0.0", "1.0", "2.0", "3.0")


@pytest.fixture(scope="module")
def evil_draw(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("evil")
    data = base / "data"
    shutil.copytree(DATA, data)
    inst = pd.read_csv(data / "institutions.csv", dtype=str)
    pre = ['=HYPERLINK("http://x","y")', "+", "-", "@"]
    inst["fixmedins_name"] = [f"{pre[i % 4]}<script>alert({i})</script>" for i in range(len(inst))]
    inst.to_csv(data / "institutions.csv", index=False)
    plan = base / "plan"
    args = ["plan", "--scores", str(data / "scores.csv"), "--data", str(data)]
    assert cli([*args, "--policy", str(POLICY), "--out", str(plan)]) == 0
    d = base / "draw"
    assert cli(["commit", "--plan", str(plan), "--out", str(d), "--randomness-source", "x"]) == 0
    assert cli(["draw", "--plan", str(plan), "--randomness", "1 2 3", "--out", str(d)]) == 0
    return d


def test_draw_notice_escapes_and_neutralises(evil_draw):
    html = (evil_draw / "notices" / "draw_notice.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    raw = (evil_draw / "notices" / "draw_notice.csv").read_bytes()
    assert raw.startswith(BOM.encode())
    cells = [c for r in csv.reader(io.StringIO(raw.decode("utf-8-sig"))) for c in r]
    assert sum(c.startswith("'") and "<script>" in c for c in cells) == 4
    assert not any(c[:1] in TRIGGERS for c in cells if c)
    assert cli(["verify", str(evil_draw)]) == 0


def test_draw_outputs_for_people_have_bom(evil_draw):
    for name in ("targets.csv", "assignments.csv", "reserve.csv"):
        assert (evil_draw / name).read_bytes().startswith(BOM.encode()), name
    for name in ("frame.csv", "inputs/names.csv"):  # machine-read: plain UTF-8
        assert not (evil_draw / name).read_bytes().startswith(BOM.encode()), name


def test_confine(tmp_path):
    base = tmp_path / "reports"
    base.mkdir()
    assert confine(base, "a/b.csv", "-p x") == (base / "a" / "b.csv").resolve()
    for bad in ("../x.csv", "../../etc/passwd", str(tmp_path / "elsewhere.csv"), "a/../../x"):
        with pytest.raises(RiskscoreError, match="-p x"):
            confine(base, bad, "-p x")


def test_report_csv_out_is_confined_and_never_overwrites(tmp_path):
    from riskscore.reports.runner import run_report

    out = tmp_path / "reports"
    out.mkdir()
    victim = tmp_path / "victim.csv"
    victim.write_text("keep\n", encoding="utf-8")
    with pytest.raises(RiskscoreError, match="csv_out"):
        run_report("public_notice", {"csv_out": "../victim.csv"}, out, progress=False)
    assert victim.read_text(encoding="utf-8") == "keep\n"
    (out / "old.csv").write_text("keep\n", encoding="utf-8")
    with pytest.raises(RiskscoreError, match="exists"):
        run_report("public_notice", {"csv_out": "old.csv"}, out, progress=False)
    assert (out / "old.csv").read_text(encoding="utf-8") == "keep\n"
    assert not list(out.glob("public_notice_*"))  # refused before running anything


def test_check_out_dir(tmp_path):
    f = tmp_path / "file"
    f.write_text("x", encoding="utf-8")
    with pytest.raises(RiskscoreError, match="not a folder"):
        check_out_dir(f)
    with pytest.raises(RiskscoreError, match="is not a folder"):
        check_out_dir(f / "sub")
    (tmp_path / "o" / "scores.csv").mkdir(parents=True)
    with pytest.raises(RiskscoreError, match="is a folder where the output file scores.csv"):
        check_out_dir(tmp_path / "o", files=["scores.csv"])
    assert check_out_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"


def test_lock_refuses_a_second_holder(tmp_path):
    with OutputLock(tmp_path, "a"):
        with pytest.raises(RiskscoreError, match="another run is writing"):
            OutputLock(tmp_path, "b").acquire()
    assert not (tmp_path / ".riskscore.lock").exists()
    # a lock left by a dead process is taken over
    (tmp_path / ".riskscore.lock").write_text("999999999 dead\n", encoding="utf-8")
    with OutputLock(tmp_path, "c"):
        pass


def test_completion_record(tmp_path):
    (tmp_path / "a.csv").write_text("x\n", encoding="utf-8")
    write_completion(tmp_path, "meta.json", ["a.csv"], {"command": "t"})
    check_completion(tmp_path, "meta.json", ["a.csv"], "t", "t")
    (tmp_path / "a.csv").write_text("y\n", encoding="utf-8")
    with pytest.raises(RiskscoreError, match="a.csv: differs from the SHA-256 in meta.json"):
        check_completion(tmp_path, "meta.json", ["a.csv"], "t", "t")
    with pytest.raises(RiskscoreError, match="not listed"):
        check_completion(tmp_path, "meta.json", ["b.csv"], "t", "t")
    (tmp_path / "meta.json").unlink()
    with pytest.raises(RiskscoreError, match="meta.json: missing"):
        check_completion(tmp_path, "meta.json", ["a.csv"], "t", "t")


def test_read_only_parent_is_one_line(tmp_path, monkeypatch):
    """Root ignores permission bits, so the check itself is exercised with os.access mocked."""
    import riskscore.outputs as outputs

    monkeypatch.setattr(outputs.os, "access", lambda p, mode: Path(p) != tmp_path)
    with pytest.raises(RiskscoreError, match="not writable"):
        check_out_dir(tmp_path / "new")
    with pytest.raises(RiskscoreError, match="not writable"):
        check_out_dir(tmp_path)

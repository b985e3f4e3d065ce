"""Templates executed by papermill (``riskscore report``) on fixture outputs, with default
and overridden parameters; key figures in the rendered reports are compared with the
files the reports read."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from report_fixtures import key_value, make_world, number, soup, table_rows
from riskscore.cli import main as cli_main
from riskscore.reports import TEMPLATES, run_report
from riskscore.reports.public_notice import find_personal_data
from riskscore.reports.runner import TEMPLATE_DIR


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbworld")
    return root, make_world(root)


def _csv(path: Path, **kw) -> pd.DataFrame:
    kw.setdefault("dtype", {"fixmedins_code": str})
    return pd.read_csv(path, **kw)


def _executed_ok(nb_path: Path, injected: bool = True) -> nbformat.NotebookNode:
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            assert o.get("output_type") != "error", o
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                assert "missing from" not in o.get("text", "").lower(), o["text"]
    # papermill recorded the injected parameters (none when run with the defaults)
    tagged = any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert tagged == injected
    assert "papermill" in nb.metadata
    return nb


def _check_annual_plan(doc, dirs, lang):
    plan = json.loads((dirs["plan_dir"] / "plan.json").read_text(encoding="utf-8"))
    inc = _csv(dirs["plan_dir"] / "inclusion.csv")
    scores = _csv(dirs["score_dir"] / "scores.csv")
    kf = "annual_plan.key_figures"
    assert float(key_value(doc, kf, "expected_inspections")) == pytest.approx(
        plan["floor"]["planned_inspections"]
    )
    assert int(key_value(doc, kf, "n_frame")) == int(inc["in_frame"].sum())
    assert float(key_value(doc, kf, "sampling_ratio")) == pytest.approx(
        plan["floor"]["planned_ratio"], abs=1e-6
    )
    rows = table_rows(doc, "annual_plan.tiers")
    n_col = "机构数" if lang == "zh" else "Institutions"
    counts = scores["tier"].value_counts()
    for row, tier in zip(rows[:-1], sorted(counts.index), strict=True):
        assert row[next(iter(row))].startswith(tier)
        assert number(row[n_col]) == counts[tier]
    assert number(rows[-1][n_col]) == len(scores)


def _check_profile(doc, dirs, code):
    scores = _csv(dirs["score_dir"] / "scores.csv").set_index("fixmedins_code")
    kf = "institution_profile.key_figures"
    assert key_value(doc, kf, "code") == code
    assert float(key_value(doc, kf, "risk_score")) == pytest.approx(
        scores.loc[code, "risk_score"], abs=1e-6
    )
    assert key_value(doc, kf, "tier") == scores.loc[code, "tier"]
    rank = int((scores["risk_score"] > scores.loc[code, "risk_score"]).sum()) + 1
    assert int(key_value(doc, kf, "rank")) == rank
    ev = _csv(dirs["score_dir"] / "evidence.csv", dtype=str)
    shown = table_rows(doc, "institution_profile.evidence")
    ids = set(ev.loc[ev["fixmedins_code"] == code, "record_id"])
    assert shown and all(any(v in ids for v in r.values()) for r in shown)


def _check_post_inspection(doc, dirs):
    est = pd.read_csv(dirs["analysis_dir"] / "estimates.csv").set_index(["scope", "measure"])
    frame = _csv(dirs["draw_dir"] / "frame.csv")
    kf = "post_inspection.key_figures"
    assert float(key_value(doc, kf, "violation_rate")) == pytest.approx(
        est.loc[("overall", "violation_rate"), "estimate"], abs=1e-6
    )
    assert float(key_value(doc, kf, "lift")) == pytest.approx(
        est.loc[("overall", "lift_vs_uniform"), "estimate"], abs=1e-6
    )
    assert int(key_value(doc, kf, "planned")) == int(frame["selected"].sum())
    assert float(key_value(doc, kf, "recovered")) == pytest.approx(
        est.loc[("overall", "recovered_total"), "estimate"], abs=0.01
    )
    rows = table_rows(doc, "post_inspection.estimates")
    first = rows[0]
    lo = next(v for k, v in first.items() if "95" in k)
    assert number(lo) == pytest.approx(est.loc[("overall", "violation_rate"), "ci_low"], abs=1e-4)


def _check_notice(doc, dirs, csv_path: Path):
    targets = _csv(dirs["draw_dir"] / "targets.csv")
    notice = pd.read_csv(csv_path, dtype=str, encoding="utf-8-sig")
    assert sorted(notice.iloc[:, 0]) == sorted(targets["fixmedins_code"])
    rows = table_rows(doc, "public_notice.results")
    assert len(rows) == len(targets)


def _scan_notice(dirs, html_path: Path, csv_path: Path):
    from riskscore.io import load_table

    names: set[str] = set()
    certs: set[str] = set()
    tels: set[str] = set()
    for table, cols in (
        ("psn_info_b", ("psn_name", "certno", "tel")),
        ("mdtrt_d", ("psn_name", "certno", "tel")),
        ("inspectors", ("inspector_name",)),
    ):
        df = load_table(dirs["data_dir"], table)
        assert df is not None, table
        for c in cols:
            if c in df.columns:
                vals = {str(v) for v in df[c].dropna()}
                (certs if c == "certno" else tels if c == "tel" else names).update(vals)
    assert names and certs, "the input must hold personal data for this check to mean anything"
    for path in (html_path, csv_path):
        text = path.read_text(encoding="utf-8-sig")
        visible = soup(text).get_text(" ") if path.suffix == ".html" else text
        assert find_personal_data(visible, names) == [], path
        assert find_personal_data(text, names) == [], path
        assert not any(c in text for c in certs) and not any(t in text for t in tels)


def test_public_notice_cli_run_has_no_personal_data(world, tmp_path):
    """The issue's check: the public notice (HTML + CSV) holds no personal data."""
    root, dirs = world
    argv = ["report", "public_notice", "--out", str(tmp_path), "--no-progress"]
    for k, v in dirs.items():
        argv += ["-p", k, str(v)]
    assert cli_main(argv) == 0
    html = next(tmp_path.glob("public_notice_*.html"))
    csv_path = next(tmp_path.glob("public_notice_*.csv"))
    _executed_ok(next(tmp_path.glob("public_notice_*.ipynb")))
    _check_notice(soup(html), dirs, csv_path)
    _scan_notice(dirs, html, csv_path)
    # code cells are not in the HTML
    text = html.read_text(encoding="utf-8")
    assert "rr.public_notice" not in text and "import riskscore" not in text


@pytest.mark.slow
@pytest.mark.parametrize("name", TEMPLATES)
def test_template_runs_with_default_parameters(world, tmp_path, name):
    root, dirs = world
    before = (TEMPLATE_DIR / f"{name}.ipynb").read_bytes()
    res = run_report(name, {}, tmp_path, cwd=root, progress=False)
    assert (TEMPLATE_DIR / f"{name}.ipynb").read_bytes() == before
    _executed_ok(res.notebook, injected=name == "public_notice")  # runner sets csv_out
    doc = soup(res.html)
    text = res.html.read_text(encoding="utf-8")
    assert "import riskscore" not in text and 'lang="zh-CN"' in text
    assert "分析人员说明" not in text  # analyst notes are not part of the report
    if name == "annual_plan":
        _check_annual_plan(doc, dirs, "zh")
        assert "一、抽查范围" in doc.get_text()
    elif name == "institution_profile":
        scores = _csv(dirs["score_dir"] / "scores.csv")
        top = scores.sort_values("risk_score", ascending=False)["fixmedins_code"].iloc[0]
        _check_profile(doc, dirs, top)
    elif name == "post_inspection":
        _check_post_inspection(doc, dirs)
    else:
        assert res.extra and res.extra[0].suffix == ".csv"
        _check_notice(doc, dirs, res.extra[0])
        _scan_notice(dirs, res.html, res.extra[0])


@pytest.mark.slow
@pytest.mark.parametrize("name", TEMPLATES)
def test_template_runs_with_overridden_parameters(world, tmp_path, name):
    root, dirs = world
    params = {k: str(v) for k, v in dirs.items()}
    params.update({"lang": "en", "as_of": "2025-08-09"})
    scores = _csv(dirs["score_dir"] / "scores.csv").sort_values("risk_score")
    code = scores["fixmedins_code"].iloc[len(scores) // 2]
    if name == "institution_profile":
        # an institution with evidence, not the top one
        ev = _csv(dirs["score_dir"] / "evidence.csv")
        code = sorted(set(ev["fixmedins_code"]))[-1]
        params.update({"fixmedins_code": code, "top_n": "3"})
    if name == "public_notice":
        params["published"] = "2025-12-20"
    earlier = tmp_path / f"{name}_20250809_120000.ipynb"
    earlier.write_text("an earlier run", encoding="utf-8")
    again = run_report(name, params, tmp_path, stamp="20250809_120000", progress=False)
    assert again.notebook != earlier  # a new file; the earlier run is never overwritten
    assert earlier.read_text(encoding="utf-8") == "an earlier run"
    nb = _executed_ok(again.notebook)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'lang = "en"' in injected.source
    doc = soup(again.html)
    text = doc.get_text()
    assert 'lang="en"' in again.html.read_text(encoding="utf-8")
    headings = [h.get_text() for h in doc.find_all(["h1", "h2"])]
    assert headings and not any("一、" in h or "二、" in h for h in headings)
    if name == "annual_plan":
        _check_annual_plan(doc, dirs, "en")
        assert "1. Scope" in text and "Days to the deadline" in text
        days = int(key_value(doc, "annual_plan.key_figures", "days_left"))
        assert days == (pd.Timestamp("2025-12-31") - pd.Timestamp("2025-08-09")).days
    elif name == "institution_profile":
        _check_profile(doc, dirs, code)
        assert len(table_rows(doc, "institution_profile.evidence")) == 3
    elif name == "post_inspection":
        _check_post_inspection(doc, dirs)
        assert "Province-wide estimates" in text
    else:
        assert "Published 2025-12-20" in text
        _check_notice(doc, dirs, again.extra[0])
        _scan_notice(dirs, again.html, again.extra[0])


@pytest.mark.slow
def test_reports_on_real_chain_outputs(tmp_path):
    """synth → score → plan → commit → draw → inspect-sim → analyze, then all four reports;
    key figures read back from the HTML against the package's own outputs."""
    data = tmp_path / "data"
    out = tmp_path / "out"
    steps = [
        [
            "synth",
            "--out",
            str(data),
            "--institutions",
            "60",
            "--seed",
            "3",
            "--fee-lines",
            "20000",
            "--persons",
            "1500",
            "--format",
            "csv",
            "--no-progress",
        ],
        ["score", "--data", str(data), "--out", str(out / "score")],
        [
            "plan",
            "--scores",
            str(out / "score" / "scores.csv"),
            "--data",
            str(data),
            "--out",
            str(out / "plan"),
        ],
        [
            "commit",
            "--plan",
            str(out / "plan"),
            "--data",
            str(data),
            "--out",
            str(out / "draw"),
            "--randomness-source",
            "test lottery",
        ],
        [
            "draw",
            "--plan",
            str(out / "plan"),
            "--randomness",
            "TEST 01 02 03",
            "--out",
            str(out / "draw"),
        ],
        [
            "inspect-sim",
            "--draw",
            str(out / "draw"),
            "--data",
            str(data),
            "--out",
            str(out / "results"),
        ],
        [
            "analyze",
            "--draw",
            str(out / "draw"),
            "--results",
            str(out / "results" / "results.csv"),
            "--scores",
            str(out / "score" / "scores.csv"),
            "--data",
            str(data),
            "--out",
            str(out / "analysis"),
        ],
    ]
    for argv in steps:
        assert cli_main(argv) == 0, argv
    dirs = {
        "data_dir": data,
        "score_dir": out / "score",
        "plan_dir": out / "plan",
        "draw_dir": out / "draw",
        "results_dir": out / "results",
        "analysis_dir": out / "analysis",
    }
    params = {k: str(v) for k, v in dirs.items()}
    runs = {
        name: run_report(name, params, tmp_path / "reports", progress=False) for name in TEMPLATES
    }
    for res in runs.values():
        _executed_ok(res.notebook)
    _check_annual_plan(soup(runs["annual_plan"].html), dirs, "zh")
    scores = _csv(dirs["score_dir"] / "scores.csv")
    top = scores.sort_values(["risk_score", "fixmedins_code"], ascending=[False, True])
    _check_profile(soup(runs["institution_profile"].html), dirs, top["fixmedins_code"].iloc[0])
    _check_post_inspection(soup(runs["post_inspection"].html), dirs)
    notice = runs["public_notice"]
    _check_notice(soup(notice.html), dirs, notice.extra[0])
    _scan_notice(dirs, notice.html, notice.extra[0])

"""Report package: fonts, section tables against the outputs they read, personal-data scan,
parameters and templates (fast, in-process; the notebook runs are in test_notebooks.py)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pandas as pd
import pytest

from report_fixtures import make_world
from riskscore.cli import main as cli_main
from riskscore.errors import RiskscoreError
from riskscore.reports import (
    TEMPLATES,
    annual_plan,
    fonts,
    open_report,
    post_inspection,
    profile,
    public_notice,
    template_parameters,
)
from riskscore.reports.runner import NOTE_TAG, TEMPLATE_DIR, coerce_parameters

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    dirs = make_world(root)
    return root, dirs


def _inputs(dirs, lang="zh", **kw):
    params = {k: str(v) for k, v in dirs.items()}
    params.update(kw)
    return open_report(lang=lang, as_of="2025-08-09", **params)


def _read(dirs, key, name, **kw):
    kw.setdefault("dtype", {"fixmedins_code": str})
    return pd.read_csv(dirs[key] / name, **kw)


# --------------------------------------------------------------------------- fonts
def test_cjk_font_draws_chinese_without_missing_glyphs():
    name = fonts.setup_cjk_font()
    assert name in fonts.CJK_FONT_CANDIDATES
    assert fonts.missing_glyph_warnings("医保基金抽查年度计划结果公告") == []


def test_glyph_check_detects_tofu_with_a_latin_only_font():
    """Control: the check reports missing glyphs when only DejaVu Sans is allowed."""
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        found = fonts.missing_glyph_warnings("医保")
    assert found and any("missing from" in w.lower() for w in found)


def test_no_cjk_font_raises_with_install_hint(monkeypatch):
    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    with pytest.raises(RiskscoreError, match="fonts-noto-cjk"):
        fonts.setup_cjk_font()


# --------------------------------------------------------------------------- annual plan
def test_annual_plan_tiers_match_scores_and_inclusion(world):
    _, dirs = world
    rep = _inputs(dirs)
    tiers = annual_plan.tier_table(rep).set_index("tier")
    scores = _read(dirs, "score_dir", "scores.csv")
    inc = _read(dirs, "plan_dir", "inclusion.csv")
    counts = scores["tier"].value_counts()
    for t, n in counts.items():
        assert tiers.loc[t, "n"] == n
        assert tiers.loc[t, "expected_inspections"] == pytest.approx(
            inc.loc[inc["tier"] == t, "expected_inspections"].sum()
        )
    plan = json.loads((dirs["plan_dir"] / "plan.json").read_text(encoding="utf-8"))
    k = annual_plan.key_figures(rep)
    assert k["expected_inspections"] == plan["floor"]["planned_inspections"]
    assert k["n_frame"] == len(inc)
    assert k["days_left"] == (pd.Timestamp("2025-12-31") - pd.Timestamp("2025-08-09")).days
    by_type, by_region = annual_plan.scope_tables(rep)
    assert by_type["n"].sum() == len(scores) == by_region["n"].sum()


def test_annual_plan_policy_checks_fail_when_floor_not_met(world, tmp_path):
    root, dirs = world
    rep = _inputs(dirs)
    checks = annual_plan.policy_checks(rep).set_index("check_id")
    assert checks["ok"].all()
    # a plan below the floor is reported as failing
    bad = tmp_path / "plan"
    bad.mkdir()
    for f in ("inclusion.csv", "policy.yaml"):
        (bad / f).write_bytes((dirs["plan_dir"] / f).read_bytes())
    plan = json.loads((dirs["plan_dir"] / "plan.json").read_text(encoding="utf-8"))
    plan["floor"]["met"] = False
    (bad / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    rep2 = _inputs({**dirs, "plan_dir": bad})
    assert not annual_plan.policy_checks(rep2).set_index("check_id").loc["floor", "ok"]


def test_annual_plan_expected_findings_from_plan(world):
    _, dirs = world
    rep = _inputs(dirs)
    out = annual_plan.expected_findings(rep)
    ef = json.loads((dirs["plan_dir"] / "plan.json").read_text(encoding="utf-8"))[
        "expected_findings"
    ]
    assert out["expected_findings"][0] == pytest.approx(ef["expected_findings_targeted"])
    assert out["expected_amount"][1] == pytest.approx(ef["expected_loss_covered_uniform"])
    assert out["expected_findings"][2] == pytest.approx(ef["lift"])


# --------------------------------------------------------------------------- profile
def test_profile_defaults_to_highest_score_and_checks_code(world):
    _, dirs = world
    rep = _inputs(dirs)
    scores = _read(dirs, "score_dir", "scores.csv")
    top = scores.sort_values("risk_score", ascending=False)["fixmedins_code"].iloc[0]
    assert profile.resolve_code(rep, "") == top
    with pytest.raises(RiskscoreError, match="fixmedins_code"):
        profile.resolve_code(rep, "NOPE")


def test_profile_peer_percentiles(world):
    _, dirs = world
    rep = _inputs(dirs)
    code = profile.resolve_code(rep, "")
    tab = profile.peer_table(rep, code)
    ind = _read(dirs, "score_dir", "indicators.csv")
    r = tab.iloc[0]
    me = ind[(ind["fixmedins_code"] == code) & (ind["indicator_id"] == r["indicator_id"])].iloc[0]
    peers = ind[
        (ind["indicator_id"] == r["indicator_id"]) & (ind["peer_group"] == me["peer_group"])
    ]
    assert r["value"] == pytest.approx(me["shrunk_rate"])
    v = peers["shrunk_rate"]
    mid = ((v < me["shrunk_rate"]).sum() + 0.5 * (v == me["shrunk_rate"]).sum()) / len(v)
    assert r["percentile"] == pytest.approx(mid)
    assert r["n_peers"] == len(peers)


def test_percentile_of_a_tie_with_the_median_is_not_near_the_top():
    # family score 0 with most peers at 0 (peer median 0): mid-rank, not the share <= 0
    peers = pd.Series([0.0] * 86 + [0.2] * 14)
    p = profile.percentile_rank(peers, 0.0)
    assert p == pytest.approx(0.43)
    assert profile.percentile_rank(pd.Series([0.0] * 10), 0.0) == pytest.approx(0.5)
    assert profile.percentile_rank(pd.Series([1.0, 2.0, 3.0]), 4.0) == pytest.approx(1.0)
    assert np.isnan(profile.percentile_rank(pd.Series([], dtype=float), 1.0))


def test_profile_evidence_has_no_patient_data(world):
    _, dirs = world
    rep = _inputs(dirs)
    code = profile.resolve_code(rep, "")
    ev = profile.evidence_table(rep, code)
    src = _read(dirs, "score_dir", "evidence.csv")
    assert len(ev) == int((src["fixmedins_code"] == code).sum()) > 0
    fee = _read(dirs, "data_dir", "fee_list_d.csv")
    f = ev[ev["record_table"] == "fee_list_d"].iloc[0]
    assert f["amount"] == pytest.approx(
        fee.set_index("bkkp_sn").loc[f["record_id"], "det_item_fee_sumamt"]
    )
    text = ev.to_csv(index=False)
    psn = _read(dirs, "data_dir", "psn_info_b.csv", dtype=str)
    assert not any(n in text for n in psn["psn_name"])
    assert not any(p in text for p in psn["psn_no"])
    assert public_notice.find_personal_data(text) == []


# --------------------------------------------------------------------------- post inspection
def test_post_inspection_figures_match_analysis(world):
    _, dirs = world
    rep = _inputs(dirs)
    k = post_inspection.key_figures(rep)
    est = pd.read_csv(dirs["analysis_dir"] / "estimates.csv").set_index(["scope", "measure"])
    assert k["violation_rate"] == pytest.approx(est.loc[("overall", "violation_rate"), "estimate"])
    assert k["lift"] == pytest.approx(est.loc[("overall", "lift_vs_uniform"), "estimate"])
    frame = _read(dirs, "draw_dir", "frame.csv")
    assert k["planned"] == frame["selected"].sum()
    tiers = pd.read_csv(dirs["analysis_dir"] / "hit_rate_by_tier.csv")
    assert k["done"] == tiers["n_inspected"].sum()
    res = _read(dirs, "results_dir", "results.csv")
    funds = post_inspection.funds_table(rep)
    assert funds.iloc[-1]["recovered_amount"] == pytest.approx(res["recovered_amount"].sum())
    draw = funds[funds["origin"] == "draw"].iloc[0]
    assert draw["inspections"] == (res["origin"] == "draw").sum()


def test_post_inspection_next_year_crosstab(world):
    _, dirs = world
    rep = _inputs(dirs)
    tab = post_inspection.next_year_table(rep)
    nxt = _read(dirs, "analysis_dir", "next_year_credit.csv")
    assert int(tab.to_numpy().sum()) == len(nxt)
    assert dict(tab.sum(axis=0)) == dict(nxt["rating"].value_counts())


def test_scope_names_localised():
    assert post_inspection.scope_name("tier:D", "zh") == "D（高风险）"
    assert post_inspection.scope_name("round:2/tier:A", "en") == "round 2 / A (low risk)"


# --------------------------------------------------------------------------- public notice
def test_personal_data_scanner_finds_planted_data():
    text = "张三丰, 110101199003071234, 13812345678, +86 139-0000 0000"
    hits = public_notice.find_personal_data(text, {"张三丰"})
    assert any("ID number" in h for h in hits)
    assert any("mobile" in h for h in hits)
    assert any("张三丰" in h for h in hits)
    assert public_notice.find_personal_data("H0001 测试医院 2025-06-10 12,345.00", {"张三丰"}) == []
    # national institution codes (H + 11 digits, Hebei starts with 13) are not phone numbers
    assert public_notice.find_personal_data("H13010200141,P15020300007") == []
    assert public_notice.find_personal_data("电话:13912345678。") != []


def test_public_notice_rows_and_no_personal_data(world, tmp_path):
    _, dirs = world
    rep = _inputs(dirs)
    tab = public_notice.notice_table(rep)
    targets = _read(dirs, "draw_dir", "targets.csv")
    assert sorted(tab["fixmedins_code"]) == sorted(targets["fixmedins_code"])
    res = _read(dirs, "results_dir", "results.csv")
    draw = res[res["origin"] == "draw"].set_index("fixmedins_code")
    for _, row in tab.iterrows():
        if row["fixmedins_code"] in draw.index:
            assert row["penalty_amount"] == pytest.approx(
                draw.loc[[row["fixmedins_code"]], "penalty_amount"].sum()
            )
        else:
            assert row["result_text"] == "检查中"
    p = public_notice.write_csv(tab, rep, tmp_path / "notice.csv")
    text = p.read_text(encoding="utf-8-sig")
    names = set(_read(dirs, "data_dir", "psn_info_b.csv")["psn_name"])
    names |= set(_read(dirs, "data_dir", "inspectors.csv")["inspector_name"])
    assert public_notice.find_personal_data(text, names) == []


def test_public_notice_inspector_names_only_when_policy_allows(world, tmp_path):
    _, dirs = world
    ins = _read(dirs, "data_dir", "inspectors.csv")
    rep = _inputs(dirs)
    text = public_notice.notice_table(rep).to_csv(index=False)
    assert not any(n in text for n in ins["inspector_name"])
    pol = (dirs["plan_dir"] / "policy.yaml").read_text(encoding="utf-8")
    allowed = tmp_path / "policy_names.yaml"
    allowed.write_text(
        pol.replace("inspector_names: false", "inspector_names: true"), encoding="utf-8"
    )
    rep2 = _inputs(dirs, policy=str(allowed))
    text2 = public_notice.notice_table(rep2).to_csv(index=False)
    asg = _read(dirs, "draw_dir", "assignments.csv")
    shown = set(ins.set_index("inspector_id").loc[asg["inspector_id"], "inspector_name"])
    assert all(n in text2 for n in shown)


def test_public_notice_refuses_to_publish_personal_data(world, tmp_path):
    _, dirs = world
    rep = _inputs(dirs)
    tab = public_notice.notice_table(rep)
    name = _read(dirs, "data_dir", "psn_info_b.csv")["psn_name"].iloc[0]
    tab.loc[0, "items"] = f"举报人 {name}"
    with pytest.raises(RiskscoreError, match="personal data"):
        public_notice.write_csv(tab, rep, tmp_path / "bad.csv")
    assert not (tmp_path / "bad.csv").exists()


# --------------------------------------------------------------------------- inputs, parameters
def test_missing_output_names_file_and_command(world, tmp_path):
    _, dirs = world
    rep = _inputs({**dirs, "analysis_dir": tmp_path})
    with pytest.raises(RiskscoreError, match=r"estimates\.csv.*riskscore analyze"):
        rep.estimates()
    bad = tmp_path / "score"
    bad.mkdir()
    (bad / "scores.csv").write_text("fixmedins_code,tier\nH1,A\n", encoding="utf-8")
    with pytest.raises(RiskscoreError, match="risk_score"):
        _inputs({**dirs, "score_dir": bad}).scores()


def test_bad_lang_is_refused(world):
    _, dirs = world
    with pytest.raises(RiskscoreError, match="lang"):
        _inputs(dirs, lang="fr")


def test_parameter_coercion():
    p = coerce_parameters("institution_profile", {"top_n": "5", "lang": "en"})
    assert p == {"top_n": 5, "lang": "en"}
    with pytest.raises(RiskscoreError, match="unknown parameter 'colour'"):
        coerce_parameters("annual_plan", {"colour": "red"})
    with pytest.raises(RiskscoreError, match="expects int"):
        coerce_parameters("institution_profile", {"top_n": "many"})
    with pytest.raises(RiskscoreError, match="lang"):
        coerce_parameters("annual_plan", {"lang": "fr"})


def test_report_cli_lists_parameters(capsys):
    assert cli_main(["report", "institution_profile", "--list-params"]) == 0
    out = capsys.readouterr().out
    assert "fixmedins_code = ''" in out and "lang = 'zh'" in out


def test_report_cli_unknown_parameter_is_one_line_error(capsys):
    assert cli_main(["report", "annual_plan", "-p", "nope", "1", "--out", "/nonexistent"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown parameter 'nope'" in err[0]


# --------------------------------------------------------------------------- templates
@pytest.mark.parametrize("name", TEMPLATES)
def test_template_is_thin_without_outputs_and_keeps_parameters(name):
    path = TEMPLATE_DIR / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and params[0].cell_type == "code"
    # literals only (template_parameters refuses anything else) and the shared keys
    defaults = template_parameters(name)
    for key in (
        "data_dir",
        "score_dir",
        "plan_dir",
        "draw_dir",
        "results_dir",
        "analysis_dir",
        "policy",
        "lang",
        "as_of",
    ):
        assert key in defaults
    assert defaults["lang"] == "zh"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code.index(params[0]) == 0, "parameters must be the first code cell"
    for c in code:
        assert c.get("outputs", []) == [] and c.get("execution_count") is None
        if c is not params[0]:
            # thin: every other code cell is a call into riskscore.reports (≤ 15 lines)
            assert "rr." in c.source or "riskscore.reports" in c.source
            assert len(c.source.splitlines()) <= 15
            assert "import pandas" not in c.source and "def " not in c.source
    # headings come from rr.heading (one language when run in Jupyter or papermill), never
    # from a pair of Chinese and English markdown cells that would both show
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    for c in md:
        assert NOTE_TAG in c.metadata.get("tags", []), c.source
        assert not c.source.lstrip().startswith("## ")
    assert md
    if name != "public_notice":
        assert any(c.source.startswith("rr.heading(rep, ") for c in code)


@pytest.mark.parametrize("name", TEMPLATES)
def test_notebooks_folder_matches_packaged_templates(name):
    repo_copy = REPO / "notebooks" / f"{name}.ipynb"
    assert repo_copy.read_bytes() == (TEMPLATE_DIR / f"{name}.ipynb").read_bytes(), (
        f"notebooks/{name}.ipynb differs from src/riskscore/reports/templates/{name}.ipynb; "
        "copy the edited one over the other"
    )


def test_no_warnings_from_sections_in_english(world):
    """All sections run in English without warnings (glyph or pandas)."""
    _, dirs = world
    rep = _inputs(dirs, lang="en")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        annual_plan.section_risk(rep)
        profile.section_peers(rep, "")
        post_inspection.section_estimates(rep)
        public_notice.section_notice(rep, "", "")


def test_templates_are_package_data():
    """The wheel ships the templates (pyproject package-data covers the folder)."""
    import fnmatch
    import tomllib

    conf = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = conf["tool"]["setuptools"]["package-data"]["riskscore"]
    for name in TEMPLATES:
        rel = f"reports/templates/{name}.ipynb"
        assert any(fnmatch.fnmatch(rel, p) for p in patterns), rel


def test_post_inspection_evaluation_section(world):
    """Section 9 calls riskscore.evaluate on the inspected institutions."""
    from sklearn.metrics import roc_auc_score

    _, dirs = world
    rep = _inputs(dirs, lang="en")
    tab = post_inspection.section_evaluation(rep)
    if tab is None:  # results without both outcomes: the section says so
        return
    sc, res = rep.scores(), rep.results()
    lab = res.groupby("fixmedins_code")["violation_found"].max().astype(int)
    df = sc.merge(lab.rename("y"), left_on="fixmedins_code", right_index=True)
    got = tab[(tab["column"] == "risk_score") & (tab["metric"] == "roc_auc")]["value"].iloc[0]
    assert got == pytest.approx(roc_auc_score(df["y"], df["risk_score"].astype(float)))

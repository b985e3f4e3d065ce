"""What a bureau analyst and the public read: every report rendered in both languages, the
public notices and the ``--help`` text, checked on the rendered text.

* Chinese reports hold no English words except an allow-list (codes, file names, method
  names); English reports hold no Chinese except data values (institution, district, item
  and round names that the bureau's own files spell in Chinese);
* public notices hold no ``seed``, ``Σ``, inspector unit codes or project file paths;
* no table is a bare header: an empty table carries a row saying 无 / none;
* every ``--help`` line of every command is in Chinese and English.

Reports are rendered in-process by running the code cells of each template with the display
helpers captured (the same calls papermill runs; the executed-notebook path is covered by
tests/test_notebooks.py and the screenshots by tests/test_browser.py).
"""

from __future__ import annotations

import argparse
import html
import re
from pathlib import Path

import nbformat
import pytest

from report_fixtures import make_world
from riskscore.cli import build_parser
from riskscore.cli import main as cli
from riskscore.reports import TEMPLATES
from riskscore.reports.runner import TEMPLATE_DIR

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3001-\u3011]")
WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’\-]*")
ALLOWED_EN = {
    # method names, statistical notation and software
    "Hájek",
    "HT",
    "Horvitz–Thompson",
    "Horvitz",
    "Thompson",
    "CI",
    "riskscore",
    "sha",
    "SHA",
    # a policy setting quoted for the analyst (floor_counts: institutions)
    "institutions",
    # tiers and codes
    "A",
    "B",
    "C",
    "D",
}
"""English tokens allowed in a Chinese report (besides codes with digits, file names and
paths, which are removed before the check)."""

GOLDEN = Path(__file__).parent / "golden"
DATA = GOLDEN / "data"


# --------------------------------------------------------------------------- rendering
def render(name: str, params: dict, monkeypatch) -> str:
    """Run the code cells of template ``name`` in-process; the displayed HTML, joined."""
    import riskscore.reports.display as display

    shown: list[str] = []
    monkeypatch.setattr(display, "_display_html", lambda markup: shown.append(markup) or markup)
    nb = nbformat.read(TEMPLATE_DIR / f"{name}.ipynb", as_version=4)
    ns: dict = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        exec(cell.source, ns)  # noqa: S102 - the package's own template
        if "parameters" in cell.metadata.get("tags", []):
            ns.update(params)
    return "\n".join(shown)


def visible_text(markup: str) -> str:
    """Text a reader sees: tags, data-URI images and attribute values dropped, alt text kept."""
    markup = re.sub(r'src="data:[^"]*"', "", markup)
    alts = " ".join(re.findall(r'alt="([^"]*)"', markup))
    markup = re.sub(r"<style.*?</style>", " ", markup, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", markup)
    return html.unescape(text + " " + alts)


def english_words(text: str) -> set[str]:
    """English words outside codes (tokens with digits or ``_``), file names and paths."""
    text = re.sub(r"\S*[/\\]\S*", " ", text)  # paths
    text = re.sub(r"[A-Za-z0-9]*_[A-Za-z0-9_]*", " ", text)  # identifiers such as fee_list_d
    text = re.sub(r"\S+\.(csv|json|jsonl|html|ipynb|yaml|parquet)\b", " ", text)  # file names
    text = re.sub(r"[A-Za-z0-9_\-]*\d[A-Za-z0-9_\-]*", " ", text)  # codes such as H34012100299
    return {w for w in WORD.findall(text) if w not in ALLOWED_EN}


def header_only_tables(markup: str) -> list[str]:
    """data-key of tables with a header but no data cell."""
    bad = []
    for m in re.finditer(r"<table\b([^>]*)>(.*?)</table>", markup, flags=re.S):
        if "<th" in m.group(2) and "<td" not in m.group(2):
            key = re.search(r'data-key="([^"]*)"', m.group(1))
            bad.append(key.group(1) if key else m.group(1))
    return bad


def data_values(dirs: dict) -> list[str]:
    """Strings the bureau's own files spell in Chinese (allowed in an English report)."""
    import json

    import pandas as pd
    import yaml

    from riskscore.reports.common import region_names

    vals: set[str] = set()
    data = Path(dirs["data_dir"])
    inst = pd.read_csv(data / "institutions.csv", dtype=str)
    vals |= set(inst["fixmedins_name"].dropna())
    vals |= set(region_names(inst).values())
    for f in data.glob("*.csv"):
        df = pd.read_csv(f, dtype=str)
        for c in ("item_name", "content", "legal_basis", "hilist_name"):
            if c in df.columns:
                vals |= set(df[c].dropna())
    res = Path(dirs["results_dir"]) / "results.csv"
    if res.exists():
        r = pd.read_csv(res, dtype=str)
        if "referral_to" in r.columns:
            vals |= set(r["referral_to"].dropna())
    plan = json.loads((Path(dirs["plan_dir"]) / "plan.json").read_text(encoding="utf-8"))
    vals |= {r["name"] for r in plan.get("rounds", [])}
    vals.add(str(plan.get("policy", {}).get("title", "")))
    pol = Path(dirs["plan_dir"]) / "policy.yaml"
    if pol.exists():
        p = yaml.safe_load(pol.read_text(encoding="utf-8"))
        vals.add(p["title"])
        vals |= {r["name"] for r in p["rounds"]}
        for it in p["items"]["list"]:
            vals |= {str(it[k]) for k in ("item_name", "content", "legal_basis")}
    return sorted((v for v in vals if v), key=len, reverse=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("wording")
    dirs = make_world(root)
    return root, dirs


@pytest.fixture(scope="module")
def rendered(world):
    _, dirs = world
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        for lang in ("zh", "en"):
            for name in TEMPLATES:
                params = {k: str(v) for k, v in dirs.items()}
                params.update(lang=lang, as_of="", policy="")
                if name == "public_notice":
                    params.update(csv_out="", published="2026-01-10")
                if name == "institution_profile":
                    params.update(fixmedins_code="", top_n=20)
                out[(name, lang)] = render(name, params, mp)
    return out


@pytest.mark.parametrize("name", TEMPLATES)
def test_chinese_report_has_no_english_words_outside_the_allow_list(rendered, world, name):
    _, dirs = world
    text = visible_text(rendered[(name, "zh")])
    for v in data_values(dirs):  # item names such as CT检查 are the bureau's own
        text = text.replace(v, " ")
    words = english_words(text)
    assert not words, f"{name} (zh): English words {sorted(words)[:20]}"


@pytest.mark.parametrize("name", TEMPLATES)
def test_english_report_has_no_chinese_outside_data_values(rendered, world, name):
    _, dirs = world
    text = visible_text(rendered[(name, "en")])
    for v in data_values(dirs):
        text = text.replace(v, " ")
    hits = sorted({m.group(0) for m in re.finditer(r"\S*" + CJK.pattern + r"\S*", text)})
    assert not hits, f"{name} (en): Chinese text {hits[:20]}"


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", TEMPLATES)
def test_no_header_only_table(rendered, name, lang):
    markup = rendered[(name, lang)]
    assert "<table" in markup
    assert not header_only_tables(markup), f"{name} ({lang}): {header_only_tables(markup)}"


def test_empty_tables_say_none(monkeypatch):
    import pandas as pd

    import riskscore.reports.display as display

    monkeypatch.setattr(display, "_display_html", lambda markup: markup)
    empty = pd.DataFrame(columns=["fixmedins_code", "referral_to"])
    zh = display.table(empty, "post_inspection.referrals", "zh")
    en = display.table(empty, "post_inspection.referrals", "en")
    assert "rs-none" in zh and ">无<" in zh and ">none<" in en
    assert not header_only_tables(zh) and not header_only_tables(en)


def test_header_only_check_can_fail():
    assert header_only_tables('<table data-key="k"><tr><th>a</th></tr></table>') == ["k"]
    assert (
        header_only_tables('<table data-key="k"><tr><th>a</th></tr><tr><td>1</td></tr></table>')
        == []
    )


# --------------------------------------------------------------------------- public notices
PROJECT_PATH = re.compile(r"(docs|src|tests|notebooks|benchmarks|scripts)/|\.md\b|\.py\b")


def public_problems(text: str, unit_codes: set[str]) -> list[str]:
    """Internals a public notice must not show."""
    out = []
    if re.search(r"seed", text, re.I):
        out.append("seed")
    if "Σ" in text:
        out.append("Σ")
    units = sorted(
        u for u in unit_codes if re.search(rf"(?<![0-9A-Za-z]){re.escape(u)}(?![0-9A-Za-z])", text)
    )
    if units:
        out.append(f"unit codes {units}")
    if PROJECT_PATH.search(text):
        out.append(f"project path {PROJECT_PATH.search(text).group(0)}")
    return out


def test_public_problems_check_can_fail():
    assert public_problems("依据 seed000_floor10", set()) == ["seed"]
    assert public_problems("抽查比例 | Σ", set()) == ["Σ"]
    assert public_problems("2名（U02×1、U05×1）", {"U02", "U05"}) == ["unit codes ['U02', 'U05']"]
    assert public_problems("按 docs/verify_for_auditors.md 核对", set())[0].startswith("project")
    assert public_problems("2名", {"U02"}) == []


@pytest.fixture(scope="module")
def notices(tmp_path_factory):
    """Plan and draw notices of the shipped default policy and of a joint-inspection policy
    (inspectors from two units), in both languages."""
    root = tmp_path_factory.mktemp("notices")
    out = {}
    for pol_name, pol in (("default", None), ("joint", GOLDEN / "policy_joint.yaml")):
        plan = root / pol_name / "plan"
        draw = root / pol_name / "draw"
        argv = ["plan", "--scores", str(DATA / "scores.csv"), "--data", str(DATA)]
        argv += ["--out", str(plan)] + (["--policy", str(pol)] if pol else [])
        assert cli(argv) == 0
        assert (
            cli(
                [
                    "commit",
                    "--plan",
                    str(plan),
                    "--data",
                    str(DATA),
                    "--out",
                    str(draw),
                    "--randomness-source",
                    "中国福利彩票双色球 2025年3月30日开奖号码",
                ]
            )
            == 0
        )
        assert (
            cli(
                [
                    "draw",
                    "--plan",
                    str(plan),
                    "--data",
                    str(DATA),
                    "--out",
                    str(draw),
                    "--randomness",
                    "红球 03 07 12 19 25 31; 蓝球 09",
                ]
            )
            == 0
        )
        for lang in ("zh", "en"):
            n = root / pol_name / f"notices_{lang}"
            assert (
                cli(
                    [
                        "notice",
                        "--plan",
                        str(plan),
                        "--draw",
                        str(draw),
                        "--data",
                        str(DATA),
                        "--out",
                        str(n),
                        "--lang",
                        lang,
                    ]
                )
                == 0
            )
            for f in sorted(n.iterdir()):
                out[(pol_name, lang, f.name)] = f.read_text(encoding="utf-8-sig")
    return out


def test_public_notices_show_no_internals(notices, rendered, world):
    import pandas as pd

    units = set(pd.read_csv(DATA / "inspectors.csv", dtype=str)["unit"].dropna())
    _, dirs = world
    units |= set(pd.read_csv(Path(dirs["data_dir"]) / "inspectors.csv", dtype=str)["unit"])
    assert len(notices) == 16
    for key, text in notices.items():
        assert not public_problems(text, units), (key, public_problems(text, units))
    for lang in ("zh", "en"):
        text = visible_text(rendered[("public_notice", lang)])
        assert not public_problems(text, units), (lang, public_problems(text, units))


def test_draw_notice_carries_the_verification_steps(notices):
    zh = notices[("default", "zh", "draw_notice.html")]
    for step in ("1. 核对承诺", "2. 核对随机数", "3. 核对输入", "4. 重新抽取", "SHA-256", "种子"):
        assert step in zh
    # the canonical randomness and the seed are spelled out for the reader
    assert "3.7.12.19.25.31./9./" in zh
    en = notices[("default", "en", "draw_notice.html")]
    assert "How to verify" in en and not CJK.search(en.split("How to verify")[1])
    plan_zh = notices[("default", "zh", "plan_notice.csv")]
    assert "合计" in plan_zh and "floor10_2025" not in plan_zh


# --------------------------------------------------------------------------- --help
def _help_texts():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for ca in sub._choices_actions:
        yield f"{ca.dest} (summary)", ca.help or ""
    for name, sp in sub.choices.items():
        yield f"{name} (description)", sp.description or ""
        for a in sp._actions:
            if not isinstance(a, argparse._HelpAction):
                yield f"{name} {'/'.join(a.option_strings) or a.dest}", a.help or ""


def test_every_help_text_is_chinese_and_english():
    texts = list(_help_texts())
    assert len(texts) > 100
    bad = [
        (where, h) for where, h in texts if not (CJK.search(h) and re.search(r"\b[a-z]{3,}\b", h))
    ]
    assert not bad, bad[:10]

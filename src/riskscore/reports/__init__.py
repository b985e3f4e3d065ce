"""Parameterized notebook reports (参数化报告).

Four templates (package data in ``riskscore/reports/templates/``, copies in the repository's
``notebooks/``) are thin: a ``parameters`` cell of literals, then one call per section into
this package:

``annual_plan``          年度抽查计划 — :mod:`riskscore.reports.annual_plan`
``institution_profile``  定点医药机构风险画像 — :mod:`riskscore.reports.profile`
``post_inspection``      抽查结果分析 — :mod:`riskscore.reports.post_inspection`
``public_notice``        结果公告 — :mod:`riskscore.reports.public_notice`

:func:`run_report` (``riskscore report NAME``) executes a template with papermill into a new
dated notebook and renders HTML without code cells. :func:`open_report` is the first call of
every template: it resolves the folders, checks the language and sets up a CJK font.
Section headings come from :func:`heading` (one code cell, the report's language only), so a
template run in Jupyter or papermill never shows a Chinese and an English heading together.
"""

from __future__ import annotations

from riskscore.reports import annual_plan, post_inspection, profile, public_notice
from riskscore.reports.display import sources
from riskscore.reports.inputs import ReportInputs
from riskscore.reports.runner import (
    TEMPLATES,
    ReportRun,
    render_html,
    run_report,
    template_parameters,
    template_path,
)

__all__ = [
    "TEMPLATES",
    "ReportInputs",
    "ReportRun",
    "annual_plan",
    "heading",
    "open_report",
    "post_inspection",
    "profile",
    "public_notice",
    "render_html",
    "run_report",
    "sources",
    "template_parameters",
    "template_path",
]


def open_report(
    data_dir: str = "",
    score_dir: str = "",
    plan_dir: str = "",
    draw_dir: str = "",
    results_dir: str = "",
    analysis_dir: str = "",
    policy: str = "",
    lang: str = "zh",
    as_of: str = "",
) -> ReportInputs:
    """Start a report: resolve folders, check ``lang`` and set up the CJK chart font.

    Relative folders are taken from the working directory, else from the source checkout
    (so a template opened from ``notebooks/`` in JupyterLab finds ``data_samples/``).

    Parameters
    ----------
    data_dir, score_dir, plan_dir, draw_dir, results_dir, analysis_dir : str
        Folders (see :class:`~riskscore.reports.inputs.ReportInputs`); empty = not used.
    policy : str
        Policy file or shipped policy id; empty = the plan's policy.
    lang : str
        ``zh`` (default) or ``en``.
    as_of : str
        Report date ``YYYY-MM-DD``; empty = today.

    Returns
    -------
    ReportInputs
    """
    from pathlib import Path

    from riskscore.paths import repo_root
    from riskscore.reports.display import setup

    setup(lang)

    def resolve(p: str) -> str:
        if not p:
            return ""
        path = Path(p).expanduser()
        if path.is_absolute() or path.exists():
            return str(path.resolve()) if path.exists() else str(path)
        root = repo_root()
        if root is not None and (root / path).exists():
            return str((root / path).resolve())
        return str(path)

    pol = policy
    if pol and (Path(pol).suffix in (".yaml", ".yml")):
        pol = resolve(pol)
    return ReportInputs(
        data_dir=resolve(data_dir),
        score_dir=resolve(score_dir),
        plan_dir=resolve(plan_dir),
        draw_dir=resolve(draw_dir),
        results_dir=resolve(results_dir),
        analysis_dir=resolve(analysis_dir),
        policy=pol,
        lang=lang,
        as_of=as_of,
    )


def heading(inputs: ReportInputs, zh: str, en: str, level: int = 2) -> str:
    """Display a section heading in the report's language.

    Parameters
    ----------
    inputs : ReportInputs
        From :func:`open_report` (its ``lang`` picks the text).
    zh, en : str
        The heading in Chinese and in English.
    level : int
        HTML heading level (2 = section).

    Returns
    -------
    str
        The HTML displayed.
    """
    from riskscore.reports.display import heading as _heading

    return _heading(zh if inputs.lang == "zh" else en, level=level)

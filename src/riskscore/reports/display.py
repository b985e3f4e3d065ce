"""Notebook display helpers: tables, key figures, narrative and charts (展示工具).

Every helper returns the HTML it displayed so that tests and the runner can reuse it.
Tables carry ``data-key`` attributes and key figures ``data-name``/``data-value`` attributes
(the unformatted number) so that checks can read figures back from the rendered report.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping

import pandas as pd

from riskscore.outputs import render_html
from riskscore.reports._text import check_lang, col

_FIGURE_DPI = 110


def setup(lang: str = "zh") -> str:
    """Prepare a report kernel: check ``lang``, CJK font for charts, pandas display options.

    Parameters
    ----------
    lang : str
        ``zh`` or ``en``.

    Returns
    -------
    str
        The CJK font family in use.
    """
    import matplotlib

    check_lang(lang)
    matplotlib.use("Agg")
    from riskscore.reports.fonts import setup_cjk_font

    name = setup_cjk_font()
    matplotlib.rcParams["figure.dpi"] = 100
    matplotlib.rcParams["savefig.bbox"] = "tight"
    pd.set_option("display.max_colwidth", 200)
    return name


def _display_html(markup: str) -> str:
    try:
        from IPython.display import HTML, display

        display(HTML(markup))
    except ImportError:  # pragma: no cover - IPython is a dependency of ipykernel
        pass
    return markup


def fmt_number(v, digits: int = 0) -> str:
    """Format a number with thousands separators (empty for missing)."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "—"
    if isinstance(v, int) or (isinstance(v, float) and digits == 0 and float(v).is_integer()):
        return f"{int(v):,}"
    return f"{float(v):,.{digits}f}"


def fmt_count(v, digits: int = 1) -> str:
    """A count that may be an expectation: ``30.0`` → ``30``, ``30.25`` → ``30.3``."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "—"
    x = float(v)
    if abs(x - round(x)) < 1e-9:
        return f"{int(round(x)):,}"
    return f"{x:,.{digits}f}"


def fmt_pct(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "—"
    return f"{float(v):.{digits}%}"


def heading(text: str, level: int = 2) -> str:
    """Display a heading (used where the heading depends on data, e.g. an institution name)."""
    return _display_html(render_html("<h{{ n }}>{{ text }}</h{{ n }}>", n=int(level), text=text))


def narrative(text: str) -> str:
    """Display a paragraph of report text."""
    return _display_html(render_html('<p class="rs-text">{{ text }}</p>', text=text))


def key_figures(items: list[tuple[str, str, object, str]], key: str) -> str:
    """Display a key-figure box.

    Parameters
    ----------
    items : list of (name, label, value, shown)
        ``name`` is a machine name, ``label`` the localised label, ``value`` the raw value
        (written to ``data-value``) and ``shown`` the formatted text.
    key : str
        ``data-key`` of the table, e.g. ``annual_plan.key_figures``.
    """
    rows = [
        (name, label, "" if value is None else str(value), str(shown))
        for name, label, value, shown in items
    ]
    return _display_html(
        render_html(
            '<table class="rs-key" data-key="{{ key }}">{% for n, l, v, s in rows %}'
            '<tr data-name="{{ n }}"><th>{{ l }}</th><td data-value="{{ v }}">{{ s }}</td></tr>'
            "{% endfor %}</table>",
            key=key,
            rows=rows,
        )
    )


def table(
    df: pd.DataFrame,
    key: str,
    lang: str,
    formats: Mapping[str, str | Callable] | None = None,
    caption: str | None = None,
    labels: Mapping[str, str] | None = None,
    empty_note: str | None = None,
) -> str:
    """Display a DataFrame as a styled HTML table without its index.

    An empty table is shown with its header and one row holding ``empty_note`` (default
    无 / none), never as a bare header.

    Parameters
    ----------
    df : DataFrame
        Table with machine column names.
    key : str
        ``data-key`` attribute of the table.
    lang : str
        Column labels are localised with :func:`riskscore.reports._text.col`.
    formats : mapping, optional
        Column → format string or callable (applied before relabelling).
    caption : str, optional
    labels : mapping, optional
        Column → label overriding the default localisation.
    empty_note : str, optional
        Text of the single row of an empty table (default 无 / none).
    """
    shown = df.copy()
    names = {c: (labels or {}).get(c, col(c, lang)) for c in shown.columns}
    styler = shown.style.hide(axis="index")
    fm = {c: f for c, f in (formats or {}).items() if c in shown.columns}
    # escape="html": every cell is escaped (an institution named <script> stays text)
    if fm:
        styler = styler.format(fm, na_rep="—", escape="html")
    else:
        styler = styler.format(na_rep="—", escape="html")
    numeric = [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])]
    text_cols = [c for c in shown.columns if c not in numeric]
    if text_cols:
        styler = styler.set_properties(subset=text_cols, **{"text-align": "left"})
    if numeric:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
    dates = [
        c
        for c in text_cols
        if len(shown) and shown[c].astype(str).str.fullmatch(r"\d{4}-\d{2}-\d{2}|—|nan|<NA>").all()
    ]
    if dates:
        styler = styler.set_properties(subset=dates, **{"white-space": "nowrap"})
    styler = styler.relabel_index(
        [render_html("{{ x }}", x=names[c]) for c in shown.columns], axis="columns"
    )
    styler = styler.set_table_attributes(render_html('class="rs-table" data-key="{{ k }}"', k=key))
    if caption:
        styler = styler.set_caption(render_html("{{ x }}", x=caption))
    if shown.empty:
        # never a header-only table: one row saying there is nothing (无)
        note = empty_note if empty_note is not None else ("无" if lang == "zh" else "none")
        return _display_html(
            render_html(
                '<table class="rs-table rs-empty" data-key="{{ key }}">'
                "{% if cap %}<caption>{{ cap }}</caption>{% endif %}<thead><tr>"
                "{% for h in heads %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody><tr>"
                '<td class="rs-none" colspan="{{ span }}" style="text-align:center">{{ note }}'
                "</td></tr></tbody></table>",
                key=key,
                cap=caption or "",
                heads=[names[c] for c in shown.columns],
                span=max(len(shown.columns), 1),
                note=note,
            )
        )
    return _display_html(styler.to_html())


def figure(fig, alt: str = "") -> bytes:
    """Display a matplotlib figure as an embedded PNG (``<img alt=…>``) and close it.

    Returns
    -------
    bytes
        The PNG data.
    """
    import base64

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_FIGURE_DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    data = buf.getvalue()
    b64 = base64.b64encode(data).decode("ascii")
    _display_html(
        render_html(
            '<img class="rs-chart" alt="{{ alt }}" src="data:image/png;base64,{{ b64 }}"/>',
            alt=alt,
            b64=b64,
        )
    )
    return data


def sources(inputs) -> list[tuple[str, str]]:
    """Display where the report's numbers come from (数据来源): the folders, the policy and
    the riskscore version, for traceability of internal reports.

    Returns
    -------
    list of (str, str)
        Label and value of each line.
    """
    from riskscore import __version__

    zh = inputs.lang == "zh"
    rows = []
    labels = {
        "data_dir": ("数据目录", "Data folder"),
        "score_dir": ("评分结果", "Scores"),
        "plan_dir": ("抽查计划", "Plan"),
        "draw_dir": ("抽取结果", "Draw"),
        "results_dir": ("检查结果", "Inspection results"),
        "analysis_dir": ("结果分析", "Analysis"),
    }
    for key, (lz, le) in labels.items():
        value = getattr(inputs, key)
        if value:
            rows.append((lz if zh else le, str(value)))
    try:
        pol = inputs.policy_dict()
        sha = str(pol.get("_sha256", ""))[:16]
        rows.append(("政策文件" if zh else "Policy", f"{pol.get('policy_id', '')} (sha256 {sha}…)"))
    except Exception:  # noqa: BLE001 - a report without a policy still lists its folders
        pass
    rows.append(("软件版本" if zh else "Software", f"riskscore {__version__}"))
    _display_html(
        render_html(
            '<details class="rs-sources" open><summary>{{ title }}</summary>'
            '<table class="rs-key" data-key="sources">{% for a, b in rows %}'
            "<tr><th>{{ a }}</th><td>{{ b }}</td></tr>{% endfor %}</table></details>",
            title="数据来源" if zh else "Sources",
            rows=rows,
        )
    )
    return rows

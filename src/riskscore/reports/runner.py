"""Execute a report template with papermill and render HTML without code (报告运行器).

``run_report("annual_plan", {"lang": "en"}, "reports")`` writes
``reports/annual_plan_<YYYYmmdd_HHMMSS>.ipynb`` (the executed notebook, a new file every run;
the template and earlier runs are never overwritten) and ``…html`` next to it, rendered by
nbconvert's ``HTMLExporter`` with code cells, input and output prompts removed; the public
notice also writes ``…csv``.
"""

from __future__ import annotations

import ast
import datetime as _dt
import html as _html
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskscore.errors import RiskscoreError

TEMPLATES: tuple[str, ...] = (
    "annual_plan",
    "institution_profile",
    "post_inspection",
    "public_notice",
)
"""Report template names (public contract)."""

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
"""Templates shipped with the package (source of truth; ``notebooks/`` holds copies)."""

LANG_TAGS = {"zh": "lang-zh", "en": "lang-en"}
"""Markdown cells tagged with the other language are left out of the rendered report."""
NOTE_TAG = "analyst-note"
"""Cells with this tag are notes for analysts and are left out of the rendered report."""

PRINT_CSS = """
<style>
  :root {
    --rs-font: "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
               "Microsoft YaHei", "PingFang SC", system-ui, sans-serif;
    --jp-content-font-family: var(--rs-font);
    --jp-ui-font-family: var(--rs-font);
  }
  body { font-family: var(--rs-font); }
  .jp-RenderedHTMLCommon table.rs-table, .jp-RenderedHTMLCommon table.rs-key {
         border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.92em; }
  .jp-RenderedHTMLCommon table.rs-table th, .jp-RenderedHTMLCommon table.rs-table td,
  .jp-RenderedHTMLCommon table.rs-key th, .jp-RenderedHTMLCommon table.rs-key td {
         border: 1px solid #c8c8c8; padding: 3px 8px; }
  .jp-RenderedHTMLCommon table.rs-key th { background: #f2f5f9; text-align: left; }
  .jp-RenderedHTMLCommon table.rs-key td { text-align: left; max-width: 50em; }
  .jp-RenderedHTMLCommon table.rs-table thead th { background: #f2f5f9; text-align: center; }
  .jp-RenderedHTMLCommon table.rs-table caption { caption-side: top; font-weight: bold;
         text-align: left; }
  p.rs-text { max-width: 60em; line-height: 1.7; }
  @page { size: A4; margin: 15mm; }
  @media print {
    body { font-size: 10.5pt; }
    .jp-Cell, table, img { break-inside: avoid; page-break-inside: avoid; }
    h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
    img { max-width: 100% !important; }
  }
</style>
"""


@dataclass
class ReportRun:
    """Files written by one :func:`run_report` call."""

    name: str
    notebook: Path
    html: Path
    extra: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        return [self.notebook, self.html, *self.extra]


def template_path(name: str) -> Path:
    """Path of the shipped template ``name`` (``annual_plan``, …)."""
    if name not in TEMPLATES:
        raise RiskscoreError(f"unknown report {name!r}; expected one of {', '.join(TEMPLATES)}")
    p = TEMPLATE_DIR / f"{name}.ipynb"
    if not p.exists():  # pragma: no cover - broken installation
        raise RiskscoreError(f"{p}: report template missing from the installation")
    return p


def _parameters_cell(nb) -> Any:
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell
    return None


def template_parameters(name: str) -> dict[str, Any]:
    """Defaults of the template's ``parameters`` cell (literals only), in cell order."""
    import nbformat

    nb = nbformat.read(template_path(name), as_version=4)
    cell = _parameters_cell(nb)
    if cell is None:
        raise RiskscoreError(f"{template_path(name)}: no cell tagged 'parameters'")
    out: dict[str, Any] = {}
    for node in ast.parse(cell.source).body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            out[node.targets[0].id] = ast.literal_eval(node.value)
        else:
            raise RiskscoreError(
                f"{template_path(name)}: the parameters cell may hold only `name = literal` lines"
            )
    return out


def coerce_parameters(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Convert ``-p KEY VALUE`` strings to the type of each parameter's default.

    Raises
    ------
    RiskscoreError
        Unknown parameter or a value that does not fit the default's type.
    """
    defaults = template_parameters(name)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in defaults:
            raise RiskscoreError(
                f"report {name}: unknown parameter {key!r}; expected one of {', '.join(defaults)}"
            )
        default = defaults[key]
        if not isinstance(value, str):
            out[key] = value
            continue
        try:
            if isinstance(default, bool):
                low = value.strip().lower()
                if low not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                out[key] = low in ("true", "1", "yes")
            elif isinstance(default, int):
                out[key] = int(value)
            elif isinstance(default, float):
                out[key] = float(value)
            else:
                out[key] = value
        except ValueError:
            raise RiskscoreError(
                f"report {name}: parameter {key!r} expects {type(default).__name__}, got {value!r}"
            ) from None
    if "lang" in out and out["lang"] not in ("zh", "en"):
        raise RiskscoreError(
            f"report {name}: parameter 'lang' expects zh or en, got {out['lang']!r}"
        )
    return out


def _new_stem(out_dir: Path, name: str, stamp: str | None) -> str:
    stamp = stamp or _dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    stem = f"{name}_{stamp}"
    k = 2
    while any((out_dir / f"{stem}{ext}").exists() for ext in (".ipynb", ".html", ".csv")):
        stem = f"{name}_{stamp}_{k}"
        k += 1
    return stem


def render_html(notebook: str | Path, html_path: str | Path, lang: str = "zh") -> list[str]:
    """Render an executed notebook to HTML without code cells or prompts.

    Markdown cells tagged with the other language and ``analyst-note`` cells are left out;
    stderr streams (warnings) are left out of the HTML and returned instead.

    Returns
    -------
    list of str
        The warning texts found in the notebook's stderr outputs.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    drop = {NOTE_TAG} | {tag for code, tag in LANG_TAGS.items() if code != lang}
    warnings_found: list[str] = []
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & drop:
            continue
        if cell.cell_type == "code":
            kept = []
            for o in cell.get("outputs", []):
                if o.get("output_type") == "stream" and o.get("name") == "stderr":
                    warnings_found.append(o.get("text", ""))
                    continue
                kept.append(o)
            cell["outputs"] = kept
        cells.append(cell)
    nb.cells = cells
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    title = Path(notebook).stem
    for cell in nb.cells:
        if cell.cell_type == "code":
            for o in cell.get("outputs", []):
                h = o.get("data", {}).get("text/html", "")
                if "<h1>" in h:
                    title = _html.unescape(h.split("<h1>", 1)[1].split("</h1>", 1)[0])
                    break
            if title != Path(notebook).stem:
                break
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    html_lang = "zh-CN" if lang == "zh" else "en"
    body = re.sub(r"<html[^>]*>", f'<html lang="{html_lang}">', body, count=1)
    body = body.replace("</head>", PRINT_CSS + "</head>", 1)
    Path(html_path).write_text(body, encoding="utf-8")
    return warnings_found


def run_report(
    name: str,
    params: dict[str, Any] | None = None,
    out_dir: str | Path = "reports",
    *,
    stamp: str | None = None,
    kernel_name: str = "python3",
    progress: bool = True,
    timeout: int = 900,
    cwd: str | Path | None = None,
) -> ReportRun:
    """Execute template ``name`` with papermill and render it to HTML.

    Parameters
    ----------
    name : str
        One of :data:`TEMPLATES`.
    params : dict, optional
        Parameter overrides; strings are converted to the type of the default.
    out_dir : str or Path
        Output folder (created); files are named ``<name>_<YYYYmmdd_HHMMSS>.*`` and never
        overwrite an earlier run.
    stamp : str, optional
        Time stamp to use instead of now.
    kernel_name : str
        Jupyter kernel (must be able to import riskscore).
    progress : bool
        Show papermill's tqdm progress bar over the cells.
    timeout : int
        Seconds allowed per cell.
    cwd : str or Path, optional
        Working directory of the kernel (relative folder parameters are resolved from it);
        default: the current directory.

    Returns
    -------
    ReportRun

    Raises
    ------
    RiskscoreError
        Unknown report or parameter, or a cell failed (the message names the error and the
        executed notebook, which is kept for inspection).
    """
    import papermill as pm

    src = template_path(name)
    values = coerce_parameters(name, dict(params or {}))
    defaults = template_parameters(name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = _new_stem(out, name, stamp)
    nb_path = out / f"{stem}.ipynb"
    html_path = out / f"{stem}.html"
    extra: list[Path] = []
    if "csv_out" in defaults and not values.get("csv_out"):
        values["csv_out"] = str((out / f"{stem}.csv").resolve())
    elif values.get("csv_out"):
        # a file-naming parameter stays inside the report folder and never overwrites a file
        # this run did not create
        from riskscore.outputs import confine

        target = confine(out, values["csv_out"], "-p csv_out")
        if target.exists():
            raise RiskscoreError(
                f"-p csv_out {values['csv_out']}: {target} exists; the report never overwrites a "
                "file it did not create — choose a new name"
            )
        if target.suffix.lower() != ".csv":
            raise RiskscoreError(f"-p csv_out {values['csv_out']}: expected a name ending .csv")
        values["csv_out"] = str(target)
    try:
        pm.execute_notebook(
            str(src),
            str(nb_path),
            parameters=values,
            kernel_name=kernel_name,
            progress_bar=progress,
            cwd=str(Path(cwd) if cwd is not None else Path.cwd()),
            execution_timeout=timeout,
            report_mode=False,
        )
    except pm.PapermillExecutionError as exc:
        raise RiskscoreError(
            f"report {name}: {exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''}"
            f" (executed notebook kept: {nb_path})"
        ) from None
    except (ModuleNotFoundError, ValueError, RuntimeError) as exc:
        if "kernel" in str(exc).lower() or isinstance(exc, ModuleNotFoundError):
            raise RiskscoreError(
                f"report {name}: cannot start Jupyter kernel {kernel_name!r} ({exc}); install "
                "ipykernel in this environment: python -m pip install ipykernel"
            ) from None
        raise
    if values.get("csv_out") and Path(values["csv_out"]).exists():
        extra.append(Path(values["csv_out"]))
    lang = values.get("lang", defaults.get("lang", "zh"))
    warns = render_html(nb_path, html_path, lang=lang)
    if warns:
        print(
            f"riskscore report {name}: {len(warns)} warning output(s) in {nb_path}",
            file=sys.stderr,
        )
    return ReportRun(name=name, notebook=nb_path, html=html_path, extra=extra, warnings=warns)

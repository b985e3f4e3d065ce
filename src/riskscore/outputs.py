"""Writing outputs safely: one module used by every command that writes files.

- **CSV for people** (opened in Excel: ``scores.csv``, ``evidence.csv``, ``indicators.csv``,
  draw ``targets.csv``/``assignments.csv``, notices, ``estimates.csv`` …): UTF-8 *with* BOM
  and every text cell that starts with ``= + - @``, a tab or a carriage return prefixed with
  ``'`` (OWASP "CSV injection"), so a spreadsheet never runs it as a formula. Numbers are
  never touched (a negative number stays ``-1.5``). :func:`unneutralise` and
  :func:`read_people_csv` undo the prefix, so the package reads its own files back exactly.
- **CSV for machines** (draw ``inputs/``, ``frame.csv``, ``inclusion.csv`` …): plain UTF-8.
- **HTML**: rendered with Jinja2 with autoescaping on (:func:`render_html`), never by hand.
- **Atomic writes**: :func:`atomic_write_bytes` writes a temporary file in the same folder
  and renames it; :class:`OutputSet` writes a whole set of files and last a completion
  record listing each file's SHA-256, which readers check (:func:`check_completion`).
- **Lock**: :class:`OutputSet` holds ``.riskscore.lock`` in the output folder (an
  ``O_EXCL`` file with the writer's pid); a second run into the same folder is refused.
- **Paths**: :func:`check_out_dir`, :func:`check_out_file` and :func:`confine` turn unusable
  output paths into one-line errors *before* any computation.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from riskscore.errors import RiskscoreError

BOM = "\ufeff"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters a spreadsheet may treat as the start of a formula (OWASP)."""

LOCK_NAME = ".riskscore.lock"


# --------------------------------------------------------------------------- CSV injection
def neutralise(value):
    """Prefix ``'`` to a text cell that a spreadsheet could read as a formula.

    Applies to ``str`` only (numbers are left alone). Text that already starts with ``'``
    followed (after any number of ``'``) by a trigger also gets one more ``'``, so
    :func:`unneutralise` is an exact inverse.

    Examples
    --------
    >>> neutralise("=HYPERLINK(1)"), neutralise("-"), neutralise(-1.5), neutralise("a=b")
    ("'=HYPERLINK(1)", "'-", -1.5, 'a=b')
    """
    if isinstance(value, str) and value:
        rest = value.lstrip("'")
        if rest[:1] in TRIGGERS and rest:
            return "'" + value
    return value


def unneutralise(value):
    """Inverse of :func:`neutralise` (text read back from a CSV for people)."""
    if isinstance(value, str) and value.startswith("'"):
        rest = value.lstrip("'")
        if rest[:1] in TRIGGERS and rest:
            return value[1:]
    return value


def _cells(row: Iterable) -> list:
    return [neutralise(v) for v in row]


def csv_text(header: list[str], rows: Iterable[Iterable], *, people: bool = True) -> str:
    """CSV text (``\\n`` line ends, minimal quoting); text cells neutralised when ``people``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_cells(header) if people else header)
    for r in rows:
        w.writerow(_cells(r) if people else list(r))
    return buf.getvalue()


def people_csv_bytes(header: list[str], rows: Iterable[Iterable]) -> bytes:
    """A CSV for people as bytes: UTF-8 with BOM, text cells neutralised."""
    return (BOM + csv_text(header, rows, people=True)).encode("utf-8")


def frame_csv_bytes(df, *, people: bool = True, float_format: str | None = None) -> bytes:
    """A pandas DataFrame as CSV bytes; for people: BOM and neutralised text cells.

    Only object/string columns are neutralised; numeric columns are written as they are.
    """
    import pandas as pd

    out = df
    if people:
        out = df.copy()
        for c in out.columns:
            if out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype):
                out[c] = out[c].map(neutralise, na_action="ignore")
        out.columns = [neutralise(str(c)) for c in out.columns]
    text = out.to_csv(index=False, lineterminator="\n", float_format=float_format)
    return ((BOM if people else "") + text).encode("utf-8")


def unneutralise_frame(df):
    """Undo :func:`neutralise` on every text column of a DataFrame read from a people CSV."""
    import pandas as pd

    for c in df.columns:
        if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype):
            s = df[c]
            if s.astype("string").str.startswith("'").any():
                df[c] = s.map(unneutralise, na_action="ignore")
    return df


def read_people_csv(path: str | Path, **kwargs):
    """``pandas.read_csv`` for a CSV written by this module (BOM and ``'`` prefixes undone)."""
    import pandas as pd

    kwargs.setdefault("encoding", "utf-8-sig")
    return unneutralise_frame(pd.read_csv(path, **kwargs))


# --------------------------------------------------------------------------- HTML
_HTML_TABLE = """<!DOCTYPE html>
<html lang="{{ html_lang }}"><head><meta charset="utf-8"><title>{{ title }}</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 8px}</style></head><body><h1>{{ title }}</h1>
<table><thead><tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for r in rows %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% for x in foot %}<p>{{ x }}</p>{% endfor %}</body></html>
"""


def _env():
    import jinja2

    return jinja2.Environment(
        autoescape=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )


def render_html(template: str, **context) -> str:
    """Render a Jinja2 template string with autoescaping on (every value is escaped)."""
    return _env().from_string(template).render(**context)


def html_table(title: str, header: list, rows: list[list], foot: list[str], lang: str) -> str:
    """A one-table HTML page (the public notices), every cell escaped by Jinja2."""
    return render_html(
        _HTML_TABLE,
        html_lang="zh-CN" if lang == "zh" else "en",
        title=title,
        header=[str(h) for h in header],
        rows=[[str(c) for c in r] for r in rows],
        foot=[str(x) for x in foot],
    )


# --------------------------------------------------------------------------- atomic writes
def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, fsync, then rename over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(path, text.encode(encoding))


# --------------------------------------------------------------------------- paths
def _fail(msg: str) -> None:
    raise RiskscoreError(msg)


def check_out_dir(out: str | Path, option: str = "--out", files: Iterable[str] = ()) -> Path:
    """Check that ``out`` can be an output folder; one-line error otherwise.

    The folder may exist (then it must be a writable folder) or be creatable (its nearest
    existing parent is a writable folder). Each of ``files`` inside it, when present, must be
    a regular file (not a folder).
    """
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            _fail(f"{option} {out}: exists and is not a folder; give a folder for the outputs")
        if not os.access(out, os.W_OK | os.X_OK):
            _fail(f"{option} {out}: folder is not writable")
    else:
        parent = out.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            _fail(f"{option} {out}: {parent} is not a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            _fail(f"{option} {out}: cannot create it, {parent} is not writable")
    for name in files:
        p = out / name
        if p.exists() and not p.is_file():
            _fail(f"{option} {out}: {p} is a folder where the output file {name} goes")
        if p.exists() and not os.access(p, os.W_OK):
            _fail(f"{option} {out}: {p} is not writable")
    return out


def check_out_file(path: str | Path, option: str) -> Path:
    """Check that ``path`` can be written as a file (its folder is checked or creatable)."""
    path = Path(path)
    if path.exists() and path.is_dir():
        _fail(f"{option} {path}: is a folder; give a file name")
    if path.exists() and not os.access(path, os.W_OK):
        _fail(f"{option} {path}: file is not writable")
    check_out_dir(path.parent, option)
    return path


def confine(base: str | Path, name: str | Path, option: str) -> Path:
    """``base/name`` when it stays inside ``base`` (no ``..``, no absolute path elsewhere).

    Raises
    ------
    RiskscoreError
        When ``name`` points outside ``base``.
    """
    base_r = Path(base).resolve()
    p = Path(name)
    target = (p if p.is_absolute() else base_r / p).resolve()
    if target != base_r and base_r not in target.parents:
        _fail(f"{option} {name}: must name a file inside {base}; paths outside it are refused")
    return target


# --------------------------------------------------------------------------- lock + set
class OutputLock:
    """An exclusive lock file in an output folder; a second holder is refused in one line."""

    def __init__(self, folder: str | Path, command: str = "riskscore"):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.command = command
        self._held = False

    def acquire(self) -> OutputLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = ""
            try:
                holder = self.path.read_text(encoding="utf-8").strip()
            except OSError:
                pass
            pid = holder.split()[0] if holder else ""
            if pid.isdigit() and not _alive(int(pid)):
                # a run that died without cleaning up (kill -9): take the lock over
                self.path.unlink(missing_ok=True)
                return self.acquire()
            _fail(
                f"{self.folder}: another run is writing this folder ({LOCK_NAME}: {holder or '?'});"
                " wait for it or use another folder"
            )
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {self.command}\n")
        self._held = True
        return self

    def release(self) -> None:
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_completion(folder: str | Path, record: str, files: Iterable[str], meta: dict) -> dict:
    """Write the completion record ``folder/record`` (JSON) with each file's SHA-256, last."""
    folder = Path(folder)
    meta = dict(meta)
    meta["outputs_sha256"] = {name: sha256_file(folder / name) for name in sorted(files)}
    atomic_write_text(
        folder / record,
        json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n",
    )
    return meta


def begin_outputs(folder: str | Path, record: str, command: str) -> None:
    """Mark an output set as being rewritten: the completion record says ``incomplete``.

    Written (atomically) before the first output, so an interrupted run never leaves a new
    file beside an old, complete-looking record.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    body = {"command": command, "status": "incomplete"}
    atomic_write_text(folder / record, json.dumps(body, sort_keys=True) + "\n")


RECORDS = {
    "score_meta.json": "riskscore score",
    "manifest.json": "riskscore draw",
    "inspect_sim.json": "riskscore inspect-sim",
    "analysis.json": "riskscore analyze",
}
"""Completion records by name → the command that writes them (``outputs_sha256`` or, for
the draw manifest, ``outputs``)."""


def check_artifact(path: str | Path) -> None:
    """Before reading ``path``: refuse it in one line when its folder's completion record
    says the set is partial, being written, or holds a different version of the file.

    A file in a folder with no completion record (a hand-made or older file) is accepted.
    """
    path = Path(path)
    folder = path.parent
    lock = folder / LOCK_NAME
    if lock.exists():
        holder = lock.read_text(encoding="utf-8", errors="replace").strip()
        pid = holder.split()[0] if holder else ""
        if not pid.isdigit() or _alive(int(pid)):
            _fail(f"{path}: its folder is being written by another run ({holder}); wait for it")
    for record, command in RECORDS.items():
        rp = folder / record
        if not rp.exists():
            continue
        try:
            rec = json.loads(rp.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            rec = None
        if not isinstance(rec, dict):
            _fail(
                f"{path}: the completion record {record} is unreadable (interrupted?); "
                f"re-run {command}"
            )
        if rec.get("status") == "incomplete":
            _fail(f"{path}: {record} records an unfinished {command} (interrupted?); re-run it")
        hashes = rec.get("outputs_sha256") if record != "manifest.json" else rec.get("outputs")
        if not isinstance(hashes, dict) or path.name not in hashes:
            if record == "manifest.json" or hashes is None:
                continue  # not an output this record covers (e.g. notices, older records)
            _fail(f"{path}: not listed in {record}; a mixed set — re-run {command}")
        if not path.is_file():
            _fail(f"{path}: missing though {record} lists it; re-run {command}")
        if sha256_file(path) != hashes[path.name]:
            _fail(
                f"{path}: differs from its SHA-256 in {record} (a partial or mixed set); "
                f"re-run {command}"
            )


def check_completion(
    folder: str | Path, record: str, files: Iterable[str], what: str, rerun: str
) -> dict:
    """Refuse a partial or mixed output set in one line; returns the completion record.

    Parameters
    ----------
    folder : path
    record : str
        Name of the completion record (e.g. ``score_meta.json``).
    files : iterable of str
        The files the caller will read; each must be listed with a matching SHA-256.
    what : str
        What the folder is (for the message).
    rerun : str
        The command that makes the set again.
    """
    folder = Path(folder)
    rp = folder / record
    if (folder / LOCK_NAME).exists():
        holder = (folder / LOCK_NAME).read_text(encoding="utf-8", errors="replace").strip()
        pid = holder.split()[0] if holder else ""
        if not (pid.isdigit() and not _alive(int(pid))) or not rp.exists():
            _fail(f"{folder}: {what} is being written or was interrupted; re-run {rerun}")
    if not rp.exists():
        _fail(f"{rp}: missing, so {what} in {folder} is incomplete (interrupted?); re-run {rerun}")
    try:
        rec = json.loads(rp.read_text(encoding="utf-8"))
        if rec.get("status") == "incomplete":
            _fail(f"{rp}: records an unfinished run (interrupted?); re-run {rerun}")
        hashes = rec["outputs_sha256"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        _fail(f"{rp}: not a completion record (no outputs_sha256); re-run {rerun}")
    for name in files:
        p = folder / name
        if name not in hashes:
            _fail(f"{p}: not listed in {record}; {what} is a mixed set, re-run {rerun}")
        if not p.is_file():
            _fail(f"{p}: missing though {record} lists it; re-run {rerun}")
        if sha256_file(p) != hashes[name]:
            _fail(
                f"{p}: differs from the SHA-256 in {record} (partial or mixed set); re-run {rerun}"
            )
    return rec

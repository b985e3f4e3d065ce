"""Finding table files in a data folder, detecting CSV encodings and reading in batches."""

from __future__ import annotations

import codecs
import gzip
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from riskscore.errors import ContractError

FORMATS: tuple[str, ...] = (".csv", ".csv.gz", ".xlsx", ".parquet")
"""File suffixes recognised for a table (``<table><suffix>``); a ``<table>.parquet`` directory
of Parquet parts is read as one table."""

CSV_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")
"""Tried in order with strict decoding. ``utf-8-sig`` covers UTF-8 with and without BOM;
GB18030 is a superset of GBK and GB2312."""

DEFAULT_BATCH_ROWS = 250_000
"""Rows per batch when reading Parquet row groups or CSV chunks."""

_BLOCK = 1 << 20


def _suffix(path: Path) -> str | None:
    name = path.name.lower()
    for fmt in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(fmt):
            return fmt
    return None


def _stem(path: Path) -> str:
    fmt = _suffix(path)
    return path.name[: -len(fmt)] if fmt else path.name


def scan_folder(data_dir: Path, table_names: list[str]) -> tuple[dict[str, Path], list[str]]:
    """Map contract table names to files in ``data_dir``.

    Returns
    -------
    found : dict
        Table name → file (or Parquet directory).
    extra : list of str
        Names of other entries in the folder (ignored, but reported).

    Raises
    ------
    ContractError
        The folder does not exist, or one table is present in two formats.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ContractError(f"{data_dir}: data folder not found; expected a directory of tables")
    from riskscore.io._platform import ALIASES

    wanted = {n.lower(): n for n in table_names}
    for alias, target in ALIASES.items():
        if target in table_names:
            wanted[alias] = target
    candidates: dict[str, list[Path]] = {}
    extra: list[str] = []
    for entry in sorted(data_dir.iterdir()):
        if entry.name.startswith(".") or entry.name.startswith("~$"):
            continue
        fmt = _suffix(entry)
        stem = _stem(entry).lower()
        ok_kind = entry.is_file() or (fmt == ".parquet" and entry.is_dir())
        if fmt and ok_kind and stem in wanted:
            candidates.setdefault(wanted[stem], []).append(entry)
        else:
            extra.append(entry.name + ("/" if entry.is_dir() else ""))
    found: dict[str, Path] = {}
    for name, paths in candidates.items():
        if len(paths) > 1:
            listed = ", ".join(p.name for p in paths)
            raise ContractError(
                f"{data_dir}: table '{name}' is present in {len(paths)} files ({listed}); "
                "expected exactly one of " + ", ".join(f"{name}{f}" for f in FORMATS)
            )
        found[name] = paths[0]
    return found, extra


def _open_bytes(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


MOSTLY_UTF8_CHARS = 20
"""A file whose bytes before the first invalid UTF-8 sequence already hold this many non-ASCII
characters is UTF-8 with a corrupt byte, not GB18030: it is refused (naming the line) rather
than decoded into mojibake."""


def _first_error(path: Path, encoding: str) -> tuple[int, int, int] | None:
    """``None`` when the whole file decodes strictly, else (byte offset, line, non-ASCII
    characters decoded before the error). Streams in 1 MiB blocks (bounded memory)."""
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    consumed = lines = non_ascii = 0
    try:
        with _open_bytes(path) as fh:
            while True:
                block = fh.read(_BLOCK)
                try:
                    text = dec.decode(block, final=not block)
                except UnicodeDecodeError as exc:
                    start = max(exc.start - len(exc.object) + len(block), 0)
                    good = block[:start].decode(encoding, errors="ignore")
                    non_ascii += sum(1 for ch in good if ord(ch) > 127)
                    line = lines + block[:start].count(b"\n") + 1
                    return consumed + start, line, non_ascii
                if "\x00" in text:
                    raise ContractError(
                        f"{path}: contains NUL bytes (UTF-16 without BOM or a binary file?); "
                        "expected a text CSV in UTF-8, UTF-8 with BOM or GB18030/GBK"
                    )
                non_ascii += len(text) - len(text.encode("ascii", errors="ignore"))
                consumed += len(block)
                lines += block.count(b"\n")
                if not block:
                    return None
    except (OSError, EOFError) as exc:
        raise ContractError(f"{path}: unreadable file ({exc}); expected a CSV file") from None


def detect_encoding(path: Path) -> str:
    """Encoding of a CSV file: ``utf-8-sig`` or ``gb18030`` (字符编码识别).

    Raises
    ------
    ContractError
        UTF-16/UTF-32, NUL bytes, or bytes that decode in neither encoding; the message names
        the file, what it looks like (charset-normalizer hint) and what was expected.
    """
    path = Path(path)
    with _open_bytes(path) as fh:
        try:
            head = fh.read(_BLOCK)
        except (OSError, EOFError) as exc:
            raise ContractError(f"{path}: unreadable file ({exc}); expected a CSV file") from None
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        looks = "UTF-32"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        looks = "UTF-16"
    else:
        looks = None
    if looks is None:
        err = _first_error(path, "utf-8-sig")
        if err is None:
            return "utf-8-sig"
        offset, line, non_ascii = err
        if non_ascii >= MOSTLY_UTF8_CHARS:
            raise ContractError(
                f"{path}: invalid UTF-8 byte at line {line} (byte {offset}) of an otherwise "
                "UTF-8 file; expected valid UTF-8 — fix or re-save that line"
            )
        if _first_error(path, "gb18030") is None:
            return "gb18030"
        looks = _hint(head)
    raise ContractError(
        f"{path}: unknown text encoding (looks like {looks}); expected UTF-8, UTF-8 with BOM "
        "or GB18030/GBK — re-save the file as 'CSV UTF-8'"
    )


def _hint(head: bytes) -> str:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(head).best()
    except Exception:  # pragma: no cover - a hint only
        best = None
    if best is None:
        return "binary data"
    return str(best.encoding)


def _sniff_sep(path: Path, encoding: str) -> str:
    with _open_bytes(path) as fh:
        first = fh.readline(_BLOCK).decode(encoding, errors="replace")
    counts = {sep: first.count(sep) for sep in (",", "\t", "|", ";")}
    sep = max(counts, key=counts.get)
    return sep if counts[sep] > 0 else ","


def _sniff_quote(path: Path, encoding: str, sep: str) -> str:
    """``'`` when the header's fields are enclosed in single quotes (database exports), else ``"``."""
    with _open_bytes(path) as fh:
        first = fh.readline(_BLOCK).decode(encoding, errors="replace")
    first = first.lstrip("\ufeff").rstrip("\r\n")
    fields = first.split(sep)
    quoted = sum(1 for f in fields if len(f.strip()) >= 2 and f.strip()[0] == f.strip()[-1] == "'")
    return "'" if fields and quoted * 2 > len(fields) else '"'


def read_header(path: Path, known: frozenset[str] | None = None) -> tuple[list[str], dict]:
    """Column names of a table file and how it was read (format, encoding).

    ``known`` (contract column names and Chinese names) helps find the header row of a
    spreadsheet with a title row above it.
    """
    fmt = _suffix(path)
    info: dict = {"format": fmt.lstrip(".")}
    try:
        if fmt in (".csv", ".csv.gz"):
            enc = detect_encoding(path)
            sep = _sniff_sep(path, enc)
            quote = _sniff_quote(path, enc, sep)
            info.update(encoding=enc, sep=sep)
            if quote != '"':
                info["quotechar"] = quote
            cols = list(
                pd.read_csv(
                    path,
                    nrows=0,
                    dtype=str,
                    encoding=enc,
                    sep=sep,
                    quotechar=quote,
                    compression="infer",
                )
            )
        elif fmt == ".parquet":
            import pyarrow.dataset as pads

            cols = list(pads.dataset(path, format="parquet").schema.names)
        else:
            cols = list(_read_excel(path, known).columns)
            info["known"] = known
    except ContractError:
        raise
    except pd.errors.EmptyDataError:
        raise ContractError(
            f"{path}: empty file; expected a header row with column names"
        ) from None
    except Exception as exc:
        raise ContractError(f"{path}: unreadable {fmt} file ({_short(exc)})") from None
    cols = [str(c) for c in cols]
    _refuse_duplicate_names(path, cols)
    return cols, info


def _refuse_duplicate_names(path: Path, cols: list[str]) -> None:
    """A column name given twice is refused in one line naming both positions.

    pandas renames the second ``med_type`` of a CSV header to ``med_type.1``; a spreadsheet
    keeps both names as they are.
    """
    import re

    first: dict[str, int] = {}
    for pos, c in enumerate(cols, start=1):
        name = c.strip()
        m = re.fullmatch(r"(.+)\.(\d+)", name)
        base = m.group(1) if m and m.group(1).strip() in first else name
        if base.strip() in first:
            raise ContractError(
                f"{path}: column '{base.strip()}' appears twice (columns {first[base.strip()]} "
                f"and {pos}); expected each column once — remove or rename one"
            )
        first[name] = pos


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


_EXCEL_CACHE: dict = {}


def _read_excel(path: Path, known: frozenset[str] | None = None) -> pd.DataFrame:
    """The table's rows as objects: the sheet named like the table, else every sheet.

    Sheets that share the header row are concatenated (a registry split over sheets); empty
    sheets are ignored; sheets with different headers are refused naming them.

    A title row above the header (common in exported registries, e.g. "2025年定点医药机构名录")
    is skipped: among the first 10 rows the one naming most ``known`` columns is the header.
    The last sheet read is cached so the header and the rows are read once.
    """
    import openpyxl  # noqa: F401  (fail early with a clear message if missing)

    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, known)
    if key in _EXCEL_CACHE:
        return _EXCEL_CACHE[key]
    with pd.ExcelFile(path, engine="openpyxl") as xl:
        sheets = xl.sheet_names
        stem = _stem(path).lower()
        named = [s for s in sheets if s.strip().lower() == stem]
        raws = {
            s: pd.read_excel(xl, sheet_name=s, dtype=object, header=None) for s in (named or sheets)
        }
    # every sheet is read when they share the header (a registry split over sheets);
    # empty sheets are ignored; different headers are an error naming the sheets
    frames = {s: _sheet_frame(r, known) for s, r in raws.items() if len(r.dropna(how="all"))}
    if not frames:
        raise pd.errors.EmptyDataError("no rows")
    heads = {s: [c for c in f.columns if not c.startswith("Unnamed: ")] for s, f in frames.items()}
    first = next(iter(frames))
    differ = [s for s in frames if heads[s] != heads[first]]
    if differ:
        raise ContractError(
            f"{path}: sheets {', '.join(repr(s) for s in frames)} have different header rows "
            f"('{first}' vs '{differ[0]}'); expected one sheet, a sheet named '{_stem(path)}', "
            "or sheets that share the header"
        )
    df = pd.concat(frames.values(), ignore_index=True) if len(frames) > 1 else frames[first]
    cols = list(df.columns)
    # columns with neither a header nor any value are spreadsheet formatting, not data
    blank = [c for c in cols if c.startswith("Unnamed: ") and df[c].isna().all()]
    df = df.drop(columns=blank)
    _EXCEL_CACHE.clear()
    _EXCEL_CACHE[key] = df
    return df


def _sheet_frame(raw: pd.DataFrame, known: frozenset[str] | None) -> pd.DataFrame:
    """One sheet's rows under its header row (a title row above the header is skipped)."""
    header_row = 0
    if known and len(raw):
        scores = [
            sum(str(v).strip().lower() in known or str(v).strip() in known for v in row if v == v)
            for row in raw.head(10).itertuples(index=False)
        ]
        if max(scores) > scores[0]:
            header_row = scores.index(max(scores))
    cols = [
        f"Unnamed: {k}" if (v is None or v != v) else str(v)
        for k, v in enumerate(raw.iloc[header_row])
    ]
    df = raw.iloc[header_row + 1 :].reset_index(drop=True)
    df.columns = cols
    return df


def _parquet_batches(path: Path, batch_rows: int, columns: list[str] | None):
    """Record batches of a Parquet file (row group by row group, no read-ahead) or of a
    directory of Parquet parts (one part at a time), so memory stays about one batch."""
    import pyarrow.parquet as pq

    if path.is_dir():
        parts = sorted(p for p in path.rglob("*.parquet") if p.is_file())
    else:
        parts = [path]
    for part in parts:
        with pq.ParquetFile(part) as pf:
            yield from pf.iter_batches(batch_size=batch_rows, columns=columns)


def iter_batches(
    path: Path, info: dict, batch_rows: int = DEFAULT_BATCH_ROWS, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """Yield the file's rows in batches; the index holds the 0-based data row number.

    CSV cells come as text (``dtype=str``, nothing read as missing), so codes keep leading
    zeros; Parquet batches keep their stored types (row groups are read batch by batch, so
    memory stays bounded); XLSX is read whole (Excel sheets hold at most ~1M rows).
    """
    fmt = _suffix(path)
    offset = 0
    try:
        if fmt in (".csv", ".csv.gz"):
            reader = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding=info["encoding"],
                sep=info.get("sep", ","),
                quotechar=info.get("quotechar", '"'),
                compression="infer",
                chunksize=batch_rows,
                usecols=columns,
            )
            with reader:
                for chunk in reader:
                    chunk.index = pd.RangeIndex(offset, offset + len(chunk))
                    offset += len(chunk)
                    yield chunk
        elif fmt == ".parquet":
            for batch in _parquet_batches(path, batch_rows, columns):
                if batch.num_rows == 0:
                    continue
                chunk = batch.to_pandas()
                chunk.index = pd.RangeIndex(offset, offset + len(chunk))
                offset += len(chunk)
                yield chunk
        else:
            df = _read_excel(path, info.get("known"))
            if columns is not None:
                df = df[columns]
            for start in range(0, len(df), batch_rows):
                yield df.iloc[start : start + batch_rows]
    except ContractError:
        raise
    except Exception as exc:
        where = f" near data row {offset + 1}" if fmt != ".xlsx" else ""
        raise ContractError(f"{path}: unreadable {fmt} file{where} ({_short(exc)})") from None

"""Loaders: read a data folder, normalise codes, validate against :mod:`riskscore.contract`.

Public API (stable; other parts of riskscore code against it)::

    from riskscore.io import load_table, load_folder

    df = load_table(data_dir, "institutions")   # accepted rows, typed; None if the table is absent
    ds = load_folder(data_dir)                  # all contract tables present in the folder
    ds.tables["mdtrt_d"].data                   # accepted rows (pandas, contract dtypes)
    ds.tables["mdtrt_d"].quarantine             # rejected rows (text as read) + source_row, reason
    ds.report()                                 # {"tables": {name: {"read", "accepted",
                                                #   "quarantined", "reasons"}}, "missing_optional",
                                                #   "extra_files", "files"}
    ds.missing_optional                         # optional tables not present
    ds.write_clean_parquet(out_dir)             # accepted rows → <out_dir>/<table>.parquet
    ds.write_quarantine(out_dir)                # quarantined rows → <out_dir>/<table>.csv
    res = load_file(path, "inspection_results") # one file checked as a contract table

Files
-----
Each table is ``<table>.csv``, ``<table>.csv.gz``, ``<table>.xlsx`` or ``<table>.parquet`` (a file
or a directory of Parquet parts); file names are matched case-insensitively. Two files for one
table are an error; other files are ignored and listed in ``Dataset.extra_files``. CSV encodings:
UTF-8, UTF-8 with BOM, GB18030/GBK (strict decoding, in that order); anything else (UTF-16,
binary) is refused naming the file, with charset-normalizer's guess as a hint; a UTF-8 file with
one corrupt byte is refused naming the line (not decoded as GB18030 mojibake). The delimiter is
sniffed from the header (``,`` tab ``|`` ``;``). Column headers match the platform field names
case-insensitively, or the contract's Chinese name. In XLSX, the sheet named like the table (else
the first) is read, and a title row above the header is skipped.

Types after loading
-------------------
``code``/``str`` → pandas string dtype (``str``; missing = NaN), codes normalised ("123.0" →
"123", "1.23E+2" → "123" when exact, whitespace stripped, zero-padded per ``ColumnSpec.zfill``);
``int`` → ``Int64``; ``float`` → ``float64`` (thousands separators accepted); ``date``/``datetime``
→ ``datetime64[ns]`` (naive China local time; layouts in :data:`DATETIME_FORMATS`, plus Excel
serial day numbers; dates outside 1900–2200 such as "99991231" are bad dates). Optional contract columns absent from the file
are present as all-empty columns (listed in ``TableResult.missing_columns``); extra columns are
kept as text. Cells ``""``, ``NULL``, ``None``, ``NaN``, ``#N/A``, ``N/A`` count as empty.

Validation and accounting
-------------------------
A missing required column refuses the file (:class:`riskscore.errors.ContractError`, one line:
``<file>: missing required column '<col>' (<中文名>); expected columns: ...``); all refused files of
a folder are reported together. Row problems quarantine the row with reason codes:
``null:<col>``, ``not_numeric:<col>``, ``bad_date:<col>``, ``not_allowed:<col>``,
``below_min:<col>``, ``duplicate_key`` (the first occurrence of a key is kept),
``end_before_begin`` (contract row checks), ``unknown_institution`` (claims whose
``fixmedins_code`` is not in ``institutions``) and ``orphan_encounter`` (``fee_list_d``/``setl_d``
rows whose ``mdtrt_id`` is not in ``mdtrt_d``; see :data:`REFERENCES`; a value is known when it
appears in any row of the referenced file). Negative amounts (refunds) are accepted. Meanings:
:data:`REASONS_DOC`. Quarantined rows keep the cells as read (text), the 1-based data row number
``source_row`` and the ``reason`` column (``;``-separated codes; ``quarantine_reason`` in
``conflicts``, which has its own ``reason`` column).

Counting rule: a row with several problems is quarantined once, so ``read == accepted +
quarantined`` always; ``reasons`` counts quarantined rows per reason code, so a row with two
problems counts under both and ``sum(reasons) >= quarantined``.

Scale
-----
Files are processed in batches (Parquet row groups via pyarrow, CSV chunks) of ``batch_rows``
rows. With ``keep_data=False`` only counts and quarantined rows are kept; with ``out_dir`` the
accepted rows are streamed to ``<out_dir>/<table>.parquet`` batch by batch. Duplicate-key and
referential checks keep 8 bytes per distinct key (64-bit hashes).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskscore.contract import TABLES
from riskscore.errors import ContractError
from riskscore.io._files import (
    CSV_ENCODINGS,
    DEFAULT_BATCH_ROWS,
    FORMATS,
    detect_encoding,
    scan_folder,
)
from riskscore.io._load import (
    REASON_COLUMN,
    REASONS_DOC,
    REFERENCES,
    SOURCE_ROW_COLUMN,
    Dataset,
    TableResult,
    load_folder_impl,
    load_one,
)
from riskscore.io._normalize import (
    DATETIME_FORMATS,
    normalize_codes,
    parse_datetimes,
    parse_integers,
    parse_numbers,
)

__all__ = [
    "CSV_ENCODINGS",
    "DATETIME_FORMATS",
    "DEFAULT_BATCH_ROWS",
    "FORMATS",
    "REASONS_DOC",
    "REASON_COLUMN",
    "REFERENCES",
    "SOURCE_ROW_COLUMN",
    "Dataset",
    "TableResult",
    "detect_encoding",
    "load_file",
    "load_folder",
    "load_table",
    "load_table_result",
    "normalize_codes",
    "parse_datetimes",
    "parse_integers",
    "parse_numbers",
]


def load_folder(
    data_dir: str | Path,
    tables: list[str] | None = None,
    *,
    keep_data: bool = True,
    out_dir: str | Path | None = None,
    quarantine_dir: str | Path | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    dictionaries=None,
) -> Dataset:
    """Load and validate every contract table present in a data folder (数据目录).

    Parameters
    ----------
    data_dir : str or Path
        Folder with one file per table.
    tables : list of str, optional
        Load only these tables (the folder must still hold every required table).
    keep_data : bool, default True
        Keep accepted rows in memory. ``False`` keeps only counts and quarantined rows.
    out_dir : str or Path, optional
        Stream accepted rows to ``<out_dir>/<table>.parquet`` instead of keeping them in
        memory; ``TableResult.data`` then reads that file on access.
    quarantine_dir : str or Path, optional
        Also write quarantined rows to ``<quarantine_dir>/<table>.csv`` as they are found
        (personal-data columns left out).
    batch_rows : int
        Rows per batch.
    dictionaries : str, Path or Dictionaries, optional
        A bureau dictionary file (``--dictionaries``) extending the shipped code dictionaries
        (and ``data_dir/dictionaries.yaml`` when present); see :mod:`riskscore.io.dictionaries`.

    Returns
    -------
    Dataset

    Raises
    ------
    ContractError
        Missing folder or required table, a table in two formats, a missing required column,
        an unreadable file or an unknown encoding (all refused files in one message).
    """
    return load_folder_impl(
        data_dir,
        tables,
        keep_data=keep_data,
        out_dir=out_dir,
        quarantine_dir=quarantine_dir,
        batch_rows=batch_rows,
        dictionaries=dictionaries,
    )


def load_table_result(
    data_dir: str | Path, name: str, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> TableResult | None:
    """Load one table with its accounting (:class:`TableResult`); ``None`` when absent.

    Referential checks use the referenced tables' files in the same folder when present
    (only their key column is read) and are listed in ``skipped_checks`` otherwise, so the
    accepted rows are the same as with :func:`load_folder`.
    """
    from riskscore.io._load import _refs_for

    if name not in TABLES:
        raise ContractError(f"unknown table '{name}'; expected one of {', '.join(TABLES)}")
    found, _ = scan_folder(Path(data_dir), list(TABLES))
    if name not in found:
        return None
    from riskscore.io.dictionaries import load_dictionaries

    refs, skipped = _refs_for(name, found, {}, batch_rows)
    return load_one(
        TABLES[name],
        found[name],
        refs,
        skipped,
        batch_rows=batch_rows,
        dictionaries=load_dictionaries(None, data_dir),
    )


def load_table(
    data_dir: str | Path, name: str, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> pd.DataFrame | None:
    """Accepted rows of one contract table, with contract dtypes (载入单表).

    Parameters
    ----------
    data_dir : str or Path
        Data folder.
    name : str
        Contract table name, e.g. ``"institutions"``.

    Returns
    -------
    pandas.DataFrame or None
        ``None`` when the folder has no file for the table (optional tables may be absent).

    Raises
    ------
    ContractError
        Unknown table name, unreadable file, unknown encoding or missing required column.
    """
    res = load_table_result(data_dir, name, batch_rows=batch_rows)
    return None if res is None else res.data


def load_file(path: str | Path, name: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> TableResult:
    """Load one file (any supported format) as contract table ``name`` (单个文件校验).

    Same typing, normalisation and row checks as :func:`load_folder`, without referential
    checks (there is no folder to look them up in).

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.csv.gz``, ``.xlsx`` or ``.parquet`` file.
    name : str
        Contract table name, e.g. ``"inspection_results"``.

    Returns
    -------
    TableResult

    Raises
    ------
    ContractError
        Unknown table, missing or unsupported file, unreadable file, unknown encoding or
        missing required column.
    """
    from riskscore.io._files import _suffix

    if name not in TABLES:
        raise ContractError(f"unknown table '{name}'; expected one of {', '.join(TABLES)}")
    path = Path(path)
    if not path.exists():
        raise ContractError(f"{path}: file not found; expected table '{name}' ({TABLES[name].zh})")
    if _suffix(path) is None:
        raise ContractError(f"{path}: unsupported file type; expected {', '.join(FORMATS)}")
    return load_one(TABLES[name], path, {}, [], batch_rows=batch_rows)


# issue-14 checks registered into the engine load path (placeholder ids, width folding)
from riskscore.io import integrity_checks as _integrity_checks  # noqa: E402, F401

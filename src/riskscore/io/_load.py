"""Contract validation and the in-memory / streamed table results."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.contract import TABLES, TableSpec
from riskscore.errors import ContractError
from riskscore.io._files import DEFAULT_BATCH_ROWS, iter_batches, read_header, scan_folder
from riskscore.io._normalize import (
    STRING_DTYPE,
    code_precision_lost,
    normalize_codes,
    parse_datetimes,
    parse_integers,
    parse_numbers,
    to_text,
)
from riskscore.io._privacy import safe_quarantine
from riskscore.io.dictionaries import Dictionaries, default_dictionaries, usage_report

REFERENCES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "mdtrt_d": (("fixmedins_code", "institutions", "fixmedins_code", "unknown_institution"),),
    "setl_d": (
        ("fixmedins_code", "institutions", "fixmedins_code", "unknown_institution"),
        ("mdtrt_id", "mdtrt_d", "mdtrt_id", "orphan_encounter"),
    ),
    "fee_list_d": (
        ("fixmedins_code", "institutions", "fixmedins_code", "unknown_institution"),
        ("mdtrt_id", "mdtrt_d", "mdtrt_id", "orphan_encounter"),
        ("setl_id", "setl_d", "setl_id", "unknown_settlement"),
    ),
}
"""Referential checks: table → (column, referenced table, referenced column, reason).
A value counts as known when it appears (non-empty) in any row of the referenced file,
accepted or quarantined. Checks whose referenced table is absent are skipped and listed in
:attr:`TableResult.skipped_checks`."""

REASON_COLUMN = "reason"
"""Quarantine column holding the ``;``-separated reason codes (``quarantine_reason`` in a table
that already has a ``reason`` column, i.e. ``conflicts``). A non-contract file column with a
reserved quarantine name appears in the quarantine as ``file_<name>``."""
SOURCE_ROW_COLUMN = "source_row"
"""Quarantine column: 1-based data row number in the source file (header not counted)."""

REASONS_DOC: dict[str, tuple[str, str]] = {
    "null": ("必填字段为空", "empty value in a required column"),
    "not_numeric": ("不是数值", "not a number"),
    "bad_date": ("日期/时间无法识别", "unrecognised date/time"),
    "not_allowed": ("代码不在允许值中", "code not in the allowed set"),
    "below_min": ("小于最小值", "below the minimum"),
    "duplicate_key": ("主键重复（保留首次出现）", "duplicate key (first occurrence kept)"),
    "end_before_begin": ("结束早于开始", "end before begin"),
    "unknown_institution": ("机构编码不在名录库中", "fixmedins_code not in institutions"),
    "orphan_encounter": ("就诊ID不在就诊信息中", "mdtrt_id not in mdtrt_d"),
    "unknown_settlement": ("结算ID不在结算信息中", "setl_id not in setl_d"),
    "date_out_of_range": (
        "日期超出合理范围（就诊等事件2000年起至次日，出生日期1900年起至当日）",
        "date outside the plausible window (events 2000 to tomorrow, births 1900 to today)",
    ),
    "placeholder_id": (
        "标识为占位值（-、0、null、无 等）",
        "identifier is a placeholder (-, 0, null, 无 …)",
    ),
    "code_precision_lost": (
        "编码精度丢失（科学计数法或经 Excel 数值化，不做“修复”）",
        "code lost digits (scientific notation or a number cell in Excel; never repaired)",
    ),
}
"""Reason codes (``<kind>`` or ``<kind>:<column>``) with Chinese and English meanings."""


# ----------------------------------------------------------------------------- key sets
class KeySet:
    """A set of 64-bit key hashes kept as sorted numpy chunks (8 bytes per key).

    Used for duplicate keys across batches and for referential checks, so that memory stays
    proportional to the number of distinct keys, not to the table width. Two different keys
    share a hash with probability about 2**-64 per pair.
    """

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []

    def __len__(self) -> int:
        return int(sum(len(c) for c in self._chunks))

    def add(self, hashes: np.ndarray) -> None:
        h = _sorted_unique(np.asarray(hashes, dtype=np.uint64))
        if len(h) == 0:
            return
        self._chunks.append(h)
        while len(self._chunks) > 1 and len(self._chunks[-2]) <= 2 * len(self._chunks[-1]):
            b = self._chunks.pop()
            a = self._chunks.pop()
            self._chunks.append(_sorted_unique(np.concatenate((a, b))))

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        h = np.asarray(hashes, dtype=np.uint64)
        found = np.zeros(len(h), dtype=bool)
        for c in self._chunks:
            idx = np.searchsorted(c, h)
            idx[idx >= len(c)] = len(c) - 1
            found |= c[idx] == h
        return found


def _sorted_unique(h: np.ndarray) -> np.ndarray:
    h = np.sort(h, kind="stable")  # timsort: fast on the two sorted runs of a merge
    if len(h) > 1:
        h = h[np.concatenate(([True], h[1:] != h[:-1]))]
    return h


def hash_keys(df: pd.DataFrame) -> np.ndarray:
    """Deterministic 64-bit hashes of key rows (string columns hashed by their text)."""
    cols = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            cols[c] = s.astype("int64")
        else:
            cols[c] = s.astype(object)
    return pd.util.hash_pandas_object(pd.DataFrame(cols), index=False).to_numpy(np.uint64)


# ----------------------------------------------------------------------------- headers
_QUOTES = "'\"`"

ROW_NUMBER_NAMES = frozenset(
    {"rn", "rownum", "row_num", "row_number", "rnum", "rowno", "row_no", "序号", "行号", "#", ""}
)
"""Names of a leading row-number column (行号列) added by database exports; it is dropped."""

ROW_NUMBER = "\x00row_number"
"""Internal name a leading row-number column is mapped to (then dropped)."""


def _strip_name(name: str) -> str:
    return str(name).strip().strip("\ufeff").strip().strip(_QUOTES).strip()


def _canon(name: str) -> str:
    return _strip_name(name).lower()


def _is_row_number(name: str) -> bool:
    key = _canon(name)
    return key in ROW_NUMBER_NAMES or key.startswith("unnamed: 0")


def known_names(spec: TableSpec) -> frozenset[str]:
    """Contract column names and Chinese names of a table (for finding header rows)."""
    return frozenset([c.name for c in spec.columns] + [c.zh for c in spec.columns])


def header_map(spec: TableSpec, header: list[str], path: Path) -> dict[str, str]:
    """File column → contract column (platform names case-insensitive, or the Chinese name)."""
    names = {c.name: c.name for c in spec.columns}
    zh_count = Counter(c.zh for c in spec.columns)
    by_zh = {c.zh: c.name for c in spec.columns if zh_count[c.zh] == 1}
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for pos, col in enumerate(header):
        key = _canon(col)
        if pos == 0 and len(header) > 1 and _is_row_number(col) and key not in names:
            mapping[col] = ROW_NUMBER
            continue
        target = names.get(key) or by_zh.get(_strip_name(col)) or key
        if target in seen:
            raise ContractError(
                f"{path}: column '{target}' appears twice ('{seen[target]}' and '{col}'); "
                "expected each column once"
            )
        seen[target] = col
        mapping[col] = target
    missing = [c for c in spec.columns if c.required and c.name not in seen]
    if missing:
        what = ", ".join(f"'{c.name}' ({c.zh})" for c in missing)
        plural = "s" if len(missing) > 1 else ""
        raise ContractError(
            f"{path.name if path.is_file() else path}: missing required column{plural} {what}; "
            f"expected columns: {', '.join(spec.required_columns)}"
        )
    return mapping


# ----------------------------------------------------------------------------- checks
@dataclass
class _State:
    """What a table's check needs across batches."""

    spec: TableSpec
    seen_keys: KeySet = field(default_factory=KeySet)
    refs: dict[str, tuple[KeySet, str]] = field(default_factory=dict)  # column -> (keys, reason)
    dicts: Dictionaries | None = None
    used: Counter = field(default_factory=Counter)  # (column, raw, code) -> rows mapped
    path: Path | None = None


def empty_typed(spec: TableSpec, n: int = 0, index=None) -> dict[str, pd.Series]:
    out = {}
    idx = index if index is not None else pd.RangeIndex(n)
    for c in spec.columns:
        out[c.name] = pd.Series(np.nan, index=idx, dtype=_pandas_dtype(c.dtype))
    return out


def _pandas_dtype(dtype: str):
    return {
        "code": STRING_DTYPE,
        "str": STRING_DTYPE,
        "int": "Int64",
        "float": "float64",
        "date": "datetime64[ns]",
        "datetime": "datetime64[ns]",
    }[dtype]


def check_batch(raw: pd.DataFrame, state: _State) -> tuple[pd.DataFrame, pd.DataFrame, Counter]:
    """Type, normalise and check one batch of rows.

    Returns the accepted rows (contract dtypes), the quarantined rows (text as read plus the
    reason and source row columns) and the count of rows per reason code.
    """
    spec = state.spec
    dicts = state.dicts or default_dictionaries()
    idx = raw.index
    typed: dict[str, pd.Series] = {}
    problems: dict[str, pd.Series] = {}
    placeholders: dict[str, pd.Series] = {}

    def flag(reason: str, mask: pd.Series) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            problems[reason] = problems[reason] | mask if reason in problems else mask

    for c in spec.columns:
        if c.name not in raw.columns:
            typed[c.name] = pd.Series(np.nan, index=idx, dtype=_pandas_dtype(c.dtype))
            continue
        s = raw[c.name]
        bad = None
        if c.dtype == "code":
            lost = code_precision_lost(s)
            if lost.any():
                _refuse_lost_key(spec, c, lost, s, state)
                flag(f"code_precision_lost:{c.name}", lost)
            v = normalize_codes(s, c.zfill)
            if _is_key_column(spec, c):  # flagged after the row checks (engine order)
                placeholders[c.name] = v.str.lower().isin(PLACEHOLDER_IDS)
            v = dicts.apply(spec.name, c.name, v, state.used)
            if c.allowed:
                flag(f"not_allowed:{c.name}", v.notna() & ~v.isin(c.allowed))
            else:
                flag(f"not_allowed:{c.name}", dicts.unmapped_labels(spec.name, c.name, v))
        elif c.dtype == "str":
            v = to_text(s)
        elif c.dtype == "float":
            v, bad = parse_numbers(s)
            flag(f"not_numeric:{c.name}", bad)
        elif c.dtype == "int":
            if dicts.for_column(spec.name, c.name) is not None:
                s = dicts.apply(spec.name, c.name, to_text(s), state.used)
            v, bad = parse_integers(s)
            flag(f"not_numeric:{c.name}", bad)
            if c.allowed:
                flag(f"not_allowed:{c.name}", v.notna() & ~v.astype(str).isin(c.allowed))
        elif c.dtype in ("date", "datetime"):
            v, bad = parse_datetimes(s, date_only=c.dtype == "date")
            flag(f"bad_date:{c.name}", bad)
        else:  # pragma: no cover - contract is fixed
            raise ValueError(f"unknown dtype {c.dtype}")
        if c.min_value is not None and c.dtype in ("float", "int"):
            flag(f"below_min:{c.name}", v.notna() & (v < c.min_value))
        if not c.nullable:
            empty = v.isna() if bad is None else v.isna() & ~bad
            flag(f"null:{c.name}", empty)
        typed[c.name] = v

    extras = [col for col in raw.columns if col not in typed]
    for col in extras:
        typed[col] = to_text(raw[col])

    for rc in spec.row_checks:
        if rc.kind == "le":
            left, right = typed[rc.left], typed[rc.right]
            flag(rc.name, left.notna() & right.notna() & (left > right))
    for name, mask in placeholders.items():
        flag(f"placeholder_id:{name}", mask)
    from riskscore.io.integrity_checks import date_window

    for c in spec.columns:  # same order as the engine's registered rules
        w = date_window(spec.name, c.name) if c.dtype in ("date", "datetime") else None
        if w is not None and c.name in raw.columns:
            v = typed[c.name]
            lo, hi = pd.Timestamp(w[0]), pd.Timestamp(w[1]) + pd.Timedelta("1D")
            flag(f"date_out_of_range:{c.name}", v.notna() & ((v < lo) | (v >= hi)))

    if spec.key:
        keys = pd.DataFrame({k: typed[k] for k in spec.key}, index=idx)
        complete = keys.notna().all(axis=1).to_numpy()
        dup = np.zeros(len(idx), dtype=bool)
        if complete.any():
            kc = keys[complete]
            h = hash_keys(kc)
            within = pd.Series(h).duplicated(keep="first").to_numpy()
            before = state.seen_keys.contains(h)
            dup[complete] = within | before
            state.seen_keys.add(h[~within & ~before])
        flag("duplicate_key", pd.Series(dup, index=idx))

    for col, (keyset, reason) in state.refs.items():
        v = typed[col]
        present = v.notna().to_numpy()
        unknown = np.zeros(len(idx), dtype=bool)
        if present.any():
            unknown[present] = ~keyset.contains(hash_keys(v[present].to_frame()))
        flag(reason, pd.Series(unknown, index=idx))

    order = list(spec.column_names) + extras
    data = pd.DataFrame(typed, index=idx)[order]
    counts: Counter = Counter()
    if problems:
        names = list(problems)
        matrix = np.column_stack([problems[n].to_numpy() for n in names])
        any_bad = matrix.any(axis=1)
        for j, n in enumerate(names):
            counts[n] = int(matrix[:, j].sum())
        reason_text = np.full(len(idx), "", dtype=object)
        for j, n in enumerate(names):
            reason_text = np.where(matrix[:, j], reason_text + (n + ";"), reason_text)
        reason_text = pd.Series(reason_text, index=idx).str.rstrip(";")
    else:
        any_bad = np.zeros(len(idx), dtype=bool)
        reason_text = pd.Series("", index=idx)
    rows = raw[any_bad] if any_bad.any() else raw.iloc[:0]
    reserved = {SOURCE_ROW_COLUMN, reason_column(spec)}
    quarantine = pd.DataFrame(
        {(f"file_{col}" if col in reserved else col): to_text(rows[col]) for col in raw.columns},
        index=rows.index,
    )
    quarantine.insert(0, SOURCE_ROW_COLUMN, (rows.index + 1).astype("int64"))
    quarantine[reason_column(spec)] = reason_text[any_bad].astype(STRING_DTYPE)
    accepted = data[~any_bad].reset_index(drop=True)
    return accepted, quarantine.reset_index(drop=True), counts


PLACEHOLDER_IDS = frozenset(
    {"-", "--", "—", "0", "00", "null", "none", "nan", "n/a", "na", "无", "空", "不详", "未知", "?"}
)
"""Identifier values that stand for "no value" in exports (compared lower-case after NFKC)."""

KEY_PRECISION_SHARE = 0.5
"""A key column (table key, ``*_id``, ``psn_no``, ``fixmedins_code``) in which more than this
share of the non-empty cells of a batch lost precision is refused as a whole."""


def _is_key_column(spec: TableSpec, col) -> bool:
    return (
        col.name in spec.key
        or col.name.endswith("_id")
        or col.name in ("psn_no", "fixmedins_code", "bkkp_sn")
    )


def _refuse_lost_key(spec: TableSpec, col, lost: pd.Series, s: pd.Series, state: _State) -> None:
    if not _is_key_column(spec, col):
        return
    present = int(to_text(s).notna().sum())
    n = int(lost.sum())
    if present and n > KEY_PRECISION_SHARE * present:
        where = state.path.name if state.path is not None else spec.name
        example = str(s[lost].iloc[0]).strip()
        raise ContractError(
            f"{where}: column '{col.name}' ({col.zh}) lost precision in {n} of {present} rows "
            f"(e.g. '{example}': an id saved from Excel as a number); expected ids as text — "
            "re-export the file from the platform as CSV, or format the column as Text "
            "(文本) in Excel before saving"
        )


def reason_column(spec: TableSpec) -> str:
    return "quarantine_reason" if REASON_COLUMN in spec.column_names else REASON_COLUMN


# ----------------------------------------------------------------------------- results
def arrow_schema(spec: TableSpec, columns: list[str]):
    """Arrow schema of accepted rows (timestamps in microseconds, plain DuckDB TIMESTAMP)."""
    import pyarrow as pa

    types = {
        "code": pa.string(),
        "str": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "date": pa.timestamp("us"),
        "datetime": pa.timestamp("us"),
    }
    fields = []
    for col in columns:
        dtype = spec.column(col).dtype if col in spec.column_names else "str"
        fields.append(pa.field(col, types[dtype]))
    return pa.schema(fields)


def coerce_dtypes(df: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Give a frame read back from Parquet the contract dtypes."""
    out = {}
    for col in df.columns:
        dtype = spec.column(col).dtype if col in spec.column_names else "str"
        out[col] = df[col].astype(_pandas_dtype(dtype))
    return pd.DataFrame(out, index=df.index)


def _write_parquet(df: pd.DataFrame, spec: TableSpec, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(
        df, schema=arrow_schema(spec, list(df.columns)), preserve_index=False
    )
    pq.write_table(table, path)


@dataclass
class TableResult:
    """One loaded table: accepted rows, quarantined rows and the accounting.

    Attributes
    ----------
    name : str
        Contract table name.
    path : pathlib.Path
        The file read.
    read, accepted, quarantined : int
        Row counts; ``read == accepted + quarantined`` always holds (a row with several
        problems is quarantined once).
    reasons : dict
        Reason code → number of quarantined rows having that reason. A row with several
        problems counts once under each of its reasons, so the values can sum to more than
        ``quarantined``.
    quarantine : pandas.DataFrame
        Rejected rows as read (text), with ``source_row`` and the reason column.
    missing_columns : list of str
        Optional contract columns absent from the file (present in ``data`` as all-empty).
    extra_columns : list of str
        File columns that are not in the contract (kept in ``data`` as text).
    skipped_checks : list of str
        Referential checks not run because the referenced table is absent.
    info : dict
        How the file was read: ``format`` and, for CSV, ``encoding`` and ``sep``.
    """

    name: str
    spec: TableSpec
    path: Path
    read: int
    accepted: int
    quarantined: int
    reasons: dict[str, int]
    quarantine: pd.DataFrame
    missing_columns: list[str]
    extra_columns: list[str]
    skipped_checks: list[str]
    info: dict
    ignored_columns: list[str] = field(default_factory=list)
    mapped: dict = field(default_factory=dict)
    _data: pd.DataFrame | None = None
    _data_path: Path | None = None

    @property
    def data(self) -> pd.DataFrame:
        """Accepted rows with contract dtypes (read from the streamed Parquet if any)."""
        if self._data is not None:
            return self._data
        if self._data_path is not None:
            return coerce_dtypes(pd.read_parquet(self._data_path), self.spec)
        raise ContractError(
            f"{self.path}: accepted rows of '{self.name}' were not kept "
            "(loaded with keep_data=False); expected load_folder(..., keep_data=True)"
        )

    @property
    def reason_column(self) -> str:
        return reason_column(self.spec)

    def counts(self) -> dict:
        """``{"read", "accepted", "quarantined", "reasons"}`` for the JSON report."""
        return {
            "read": self.read,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "reasons": dict(sorted(self.reasons.items())),
        }


def load_one(
    spec: TableSpec,
    path: Path,
    refs: dict[str, tuple[KeySet, str]],
    skipped: list[str],
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    keep: str | Path | None = "memory",
    quarantine_csv: Path | None = None,
    dictionaries: Dictionaries | None = None,
) -> TableResult:
    """Read, normalise and check one table file batch by batch.

    ``keep`` is ``"memory"`` (accepted rows kept as one DataFrame), a directory (accepted rows
    streamed to ``<dir>/<table>.parquet``) or ``None`` (only counted).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from riskscore.io._files import _stem
    from riskscore.io._platform import ALIASES, fixmedins_b_columns, fixmedins_b_to_institutions
    from riskscore.layouts import PLATFORM_FIELDS

    header, info = read_header(path, known_names(spec))
    transform = None
    if ALIASES.get(_stem(path).lower()) == spec.name == "institutions":
        raw_header = header
        header = fixmedins_b_columns(raw_header)
        transform = fixmedins_b_to_institutions
        info["layout"] = "fixmedins_b"
    mapping = header_map(spec, header, path)
    platform = set(PLATFORM_FIELDS.get(spec.name, ()))
    ignored = [
        c
        for c in header
        if mapping[c] == ROW_NUMBER
        or (mapping[c] not in spec.column_names and mapping[c] in platform)
    ]
    read_cols = [c for c in header if c not in ignored] if ignored else None
    if transform is not None:
        used_raw = {_canon(c) for c in header} | {
            "fix_blng_admdvs",
            "fixmedins_type",
            "econ_type",
            "vali_flag",
            "endtime",
            "updt_time",
            "begntime",
        }
        fixb_ignored = [str(c) for c in raw_header if _canon(c) not in used_raw]
        read_cols = None
    state = _State(spec=spec, refs=refs, dicts=dictionaries, path=path)
    parts: list[pd.DataFrame] = []
    qparts: list[pd.DataFrame] = []
    counts: Counter = Counter()
    read = accepted = quarantined = 0
    writer = None
    out_path = None
    q_written = False
    q_state: dict = {}
    if keep not in ("memory", None):
        out_path = Path(keep) / f"{spec.name}.parquet"
        out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        for raw in iter_batches(path, info, batch_rows, columns=read_cols):
            if transform is not None:
                raw = transform(raw, dictionaries)
            raw = raw.rename(columns=mapping)
            ok, bad, c = check_batch(raw, state)
            read += len(raw)
            accepted += len(ok)
            quarantined += len(bad)
            counts.update(c)
            if len(bad):
                qparts.append(bad)
                if quarantine_csv is not None:
                    quarantine_csv.parent.mkdir(parents=True, exist_ok=True)
                    safe_quarantine(bad, spec, q_state).to_csv(
                        quarantine_csv,
                        mode="a" if q_written else "w",
                        header=not q_written,
                        index=False,
                        encoding="utf-8-sig" if not q_written else "utf-8",
                    )
                    q_written = True
            if keep == "memory":
                parts.append(ok)
            elif out_path is not None:
                table = pa.Table.from_pandas(
                    ok, schema=arrow_schema(spec, list(ok.columns)), preserve_index=False
                )
                if writer is None:
                    writer = pq.ParquetWriter(out_path, table.schema)
                writer.write_table(table)
        if out_path is not None and writer is None:  # no rows at all: an empty typed file
            empty = pd.DataFrame(empty_typed(spec))
            for col in header:
                if col in ignored:
                    continue
                if mapping[col] not in empty.columns:
                    empty[mapping[col]] = pd.Series(dtype=STRING_DTYPE)
            _write_parquet(empty, spec, out_path)
    finally:
        if writer is not None:
            writer.close()
    if read != accepted + quarantined:  # pragma: no cover - an internal invariant
        raise AssertionError(f"{path}: {read} rows read but {accepted}+{quarantined} accounted")
    present = set(mapping.values())
    extra = [mapping[c] for c in header if mapping[c] not in spec.column_names and c not in ignored]
    if keep == "memory":
        data = pd.concat(parts, ignore_index=True) if parts else None
        if data is None:
            data = pd.DataFrame(empty_typed(spec))
            for col in extra:
                data[col] = pd.Series(dtype=STRING_DTYPE)
    else:
        data = None
    if qparts:
        quarantine = pd.concat(qparts, ignore_index=True)
    else:
        reserved = {SOURCE_ROW_COLUMN, reason_column(spec)}
        cols = (
            [SOURCE_ROW_COLUMN]
            + [
                f"file_{mapping[c]}" if mapping[c] in reserved else mapping[c]
                for c in header
                if c not in ignored
            ]
            + [reason_column(spec)]
        )
        quarantine = pd.DataFrame({c: pd.Series(dtype=STRING_DTYPE) for c in cols})
        quarantine[SOURCE_ROW_COLUMN] = quarantine[SOURCE_ROW_COLUMN].astype("int64")
    if quarantine_csv is not None and not q_written:
        quarantine_csv.parent.mkdir(parents=True, exist_ok=True)
        safe_quarantine(quarantine, spec, q_state).to_csv(
            quarantine_csv, index=False, encoding="utf-8-sig"
        )
    return TableResult(
        name=spec.name,
        spec=spec,
        path=path,
        read=read,
        accepted=accepted,
        quarantined=quarantined,
        reasons=dict(counts),
        quarantine=quarantine,
        missing_columns=[c.name for c in spec.columns if c.name not in present],
        extra_columns=extra,
        skipped_checks=list(skipped),
        info={k: v for k, v in info.items() if k != "known"},
        ignored_columns=(
            fixb_ignored
            if transform is not None
            else [mapping[c] if mapping[c] != ROW_NUMBER else str(c) for c in ignored]
        ),
        mapped=usage_report(state.used),
        _data=data,
        _data_path=out_path,
    )


def reference_keys(
    path: Path, spec: TableSpec, column: str, batch_rows: int = DEFAULT_BATCH_ROWS
) -> KeySet:
    """Hashes of the non-empty normalised values of one column of a table file."""
    from riskscore.io._files import _stem
    from riskscore.io._platform import ALIASES

    header, info = read_header(path, known_names(spec))
    if ALIASES.get(_stem(path).lower()) == spec.name:
        source = next((c for c in header if _canon(c) == column), None)
        if source is None:
            raise ContractError(f"{path.name}: missing required column '{column}'")
    else:
        mapping = header_map(spec, header, path)
        source = next(c for c in header if mapping[c] == column)
    keys = KeySet()
    zfill = spec.column(column).zfill
    for raw in iter_batches(path, info, batch_rows, columns=[source]):
        v = normalize_codes(raw[source], zfill).dropna()
        if len(v):
            keys.add(hash_keys(v.to_frame()))
    return keys


# ----------------------------------------------------------------------------- dataset
@dataclass
class Dataset:
    """All contract tables found in a data folder.

    Attributes
    ----------
    root : pathlib.Path
    tables : dict
        Table name → :class:`TableResult`.
    missing_optional : list of str
        Optional contract tables not present (steps needing them are skipped).
    extra_files : list of str
        Entries of the folder that are not contract tables (ignored).
    """

    root: Path
    tables: dict[str, TableResult]
    missing_optional: list[str]
    extra_files: list[str]
    dictionaries: Dictionaries | None = None

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name].data

    def __contains__(self, name: str) -> bool:
        return name in self.tables

    def report(self) -> dict:
        """Accounting of every row (``read == accepted + quarantined`` per table).

        Returns
        -------
        dict
            ``{"tables": {name: {"read", "accepted", "quarantined", "reasons"}},
            "missing_optional": [...], "extra_files": [...], "files": {name: {...}}}``.
        """
        return dataset_report(self)

    def write_clean_parquet(self, out_dir: str | Path) -> dict[str, Path]:
        """Write accepted rows per table to ``<out_dir>/<table>.parquet`` (for DuckDB/Ibis).

        Returns
        -------
        dict
            Table name → written file.
        """
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, t in self.tables.items():
            target = out_dir / f"{name}.parquet"
            if t._data is not None:
                _write_parquet(t._data, t.spec, target)
            elif t._data_path is not None:
                if t._data_path.resolve() != target.resolve():
                    shutil.copyfile(t._data_path, target)
            else:
                raise ContractError(
                    f"{self.root}: accepted rows of '{name}' were not kept; expected "
                    "load_folder(..., keep_data=True) or out_dir=..."
                )
            written[name] = target
        return written

    def write_quarantine(self, out_dir: str | Path, include_pii: bool = False) -> dict[str, Path]:
        """Write quarantined rows per table to ``<out_dir>/<table>.csv`` (UTF-8 with BOM).

        Personal-data columns (contract ``pii=True``) are left out unless ``include_pii``.
        """
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, t in self.tables.items():
            q = t.quarantine
            if not include_pii:  # contract pii columns and any column that looks personal
                q = safe_quarantine(q, t.spec)
            target = out_dir / f"{name}.csv"
            q.to_csv(target, index=False, encoding="utf-8-sig")
            written[name] = target
        return written


def _load_order(names: list[str]) -> list[str]:
    first = [n for n in ("institutions", "mdtrt_d") if n in names]
    return first + [n for n in names if n not in first]


def _refs_for(
    name: str, found: dict[str, Path], cache: dict, batch_rows: int
) -> tuple[dict[str, tuple[KeySet, str]], list[str]]:
    refs: dict[str, tuple[KeySet, str]] = {}
    skipped: list[str] = []
    for col, ref_table, ref_col, reason in REFERENCES.get(name, ()):
        if ref_table not in found:
            skipped.append(f"{reason} ({ref_table} absent)")
            continue
        key = (ref_table, ref_col)
        if key not in cache:
            try:
                cache[key] = reference_keys(
                    found[ref_table], TABLES[ref_table], ref_col, batch_rows
                )
            except ContractError:  # reported when the referenced table itself is loaded
                cache[key] = None
        if cache[key] is None:
            skipped.append(f"{reason} ({ref_table} unreadable)")
            continue
        refs[col] = (cache[key], reason)
    return refs, skipped


def load_folder_impl(
    data_dir,
    tables=None,
    *,
    keep_data=True,
    out_dir=None,
    quarantine_dir=None,
    batch_rows=DEFAULT_BATCH_ROWS,
    dictionaries=None,
) -> Dataset:
    from riskscore.io.dictionaries import load_dictionaries

    data_dir = Path(data_dir)
    found, extra = scan_folder(data_dir, list(TABLES))
    dicts = (
        dictionaries
        if isinstance(dictionaries, Dictionaries)
        else load_dictionaries(dictionaries, data_dir if data_dir.is_dir() else None)
    )
    missing_required = [t for t in TABLES.values() if t.required and t.name not in found]
    if missing_required:
        what = ", ".join(f"'{t.name}' ({t.zh})" for t in missing_required)
        raise ContractError(
            f"{data_dir}: missing required table{'s' if len(missing_required) > 1 else ''} "
            f"{what}; expected a file <table>.csv, .csv.gz, .xlsx or .parquet for each"
        )
    wanted = list(TABLES) if tables is None else list(tables)
    for name in wanted:
        if name not in TABLES:
            raise ContractError(f"unknown table '{name}'; expected one of {', '.join(TABLES)}")
    missing_optional = [n for n in TABLES if n not in found and not TABLES[n].required]
    if out_dir is not None:
        keep = Path(out_dir)
    else:
        keep = "memory" if keep_data else None
    results: dict[str, TableResult] = {}
    errors: list[str] = []
    cache: dict = {}
    for name in _load_order([n for n in wanted if n in found]):
        try:
            refs, skipped = _refs_for(name, found, cache, batch_rows)
            qcsv = Path(quarantine_dir) / f"{name}.csv" if quarantine_dir is not None else None
            results[name] = load_one(
                TABLES[name],
                found[name],
                refs,
                skipped,
                batch_rows=batch_rows,
                keep=keep,
                quarantine_csv=qcsv,
                dictionaries=dicts,
            )
        except ContractError as exc:
            if str(exc) not in errors:
                errors.append(str(exc))
    if errors:
        raise ContractError("; ".join(errors) if len(errors) > 1 else errors[0])
    ordered = {n: results[n] for n in TABLES if n in results}
    return Dataset(
        root=data_dir,
        tables=ordered,
        missing_optional=missing_optional,
        extra_files=extra,
        dictionaries=dicts,
    )


def dataset_report(ds, label=None) -> dict:
    """The accounting of a loaded folder, shared by the pandas and the engine load paths.

    Parameters
    ----------
    ds : Dataset or EngineDataset
        Holds ``tables`` (each with ``path``, ``info``, ``counts()``, ``mapped`` and the column
        lists), ``missing_optional``, ``extra_files`` and ``dictionaries``.
    label : callable, optional
        ``label(name, table) -> str``, the file shown for a table (default its file name).

    Returns
    -------
    dict
        ``{"tables", "missing_optional", "extra_files", "files", "dictionaries"}``.
    """
    files = {}
    for name, t in ds.tables.items():
        path = label(name, t) if label else t.path.name
        entry = {"path": path, **{k: v for k, v in t.info.items() if k != "known"}}
        for key in ("missing_columns", "extra_columns", "ignored_columns", "skipped_checks"):
            if getattr(t, key):
                entry[key] = getattr(t, key)
        files[name] = entry
    dicts = ds.dictionaries or default_dictionaries()
    applied = {name: t.mapped for name, t in ds.tables.items() if t.mapped}
    return {
        "tables": {name: t.counts() for name, t in ds.tables.items()},
        "missing_optional": list(ds.missing_optional),
        "extra_files": list(ds.extra_files),
        "files": files,
        "dictionaries": {**dicts.describe(), "applied": applied},
    }

"""Vectorised normalisation of text cells into contract types.

Every function takes a pandas Series of raw cells (text as read, or already-typed values from
Parquet/XLSX) and returns the converted Series plus a boolean mask of cells that were present
but could not be converted. Empty cells are never "bad": nullability is checked separately.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

NULL_TOKENS = frozenset(
    {"", "null", "NULL", "Null", "None", "nan", "NaN", "NAN", "NaT", "#N/A", "N/A"}
)
"""Cell texts read as empty (空值)."""

STRING_DTYPE = pd.StringDtype(na_value=np.nan)
"""The pandas string dtype used for ``code`` and ``str`` columns (pandas' default ``str``)."""

# whitespace that spreadsheets and Chinese input methods leave around values
_WS = " \t\r\n\u3000\u00a0\ufeff"

_FLOAT_CODE = r"^([+-]?\d+)\.0*$"
_SCI = r"^[+-]?\d(?:\.\d+)?[eE][+-]\d+$"  # as Excel writes it: 1.102E+12
_THOUSANDS = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$"

DATETIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y%m%d",
    "%Y%m%d%H%M%S",
    "%Y%m%d%H%M",
    "%Y%m%d %H:%M:%S",
    "%Y.%m.%d",
    "%Y年%m月%d日",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
)
"""Accepted text layouts for ``date``/``datetime`` columns (tried in order; the first that
parses a cell wins)."""


EXCEL_SERIAL_RANGE = (20000, 80000)
"""Five-digit numbers in a date column within this range are read as Excel serial days
(what a spreadsheet writes to CSV when a date cell is formatted as a number)."""

_MIN_TS = pd.Timestamp("1900-01-01")
_MAX_TS = pd.Timestamp("2200-12-31 23:59:59")


def to_text(s: pd.Series) -> pd.Series:
    """Cells as stripped text with empty tokens as missing (NaN), in the pandas string dtype.

    Typed input (numbers, timestamps from Parquet or XLSX) is rendered as text first: integral
    floats lose their ``.0``, timestamps use ISO layout.
    """
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = _naive(s).dt.strftime("%Y-%m-%d %H:%M:%S")
        return out.astype(STRING_DTYPE)
    if pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype("Int64").astype(STRING_DTYPE)
        return out
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("Int64").astype(STRING_DTYPE)
    if pd.api.types.is_float_dtype(s.dtype):
        return _float_text(s)
    if s.dtype == object:
        s = _object_text(s)
    t = s.astype(STRING_DTYPE).str.strip(_WS)
    return t.mask(t.isin(NULL_TOKENS))


def _float_text(s: pd.Series) -> pd.Series:
    v = s.astype("float64")
    integral = np.isfinite(v) & (v == np.round(v)) & (v.abs() < 2**53)
    out = pd.Series(np.nan, index=s.index, dtype=STRING_DTYPE)
    if integral.any():
        out[integral] = v[integral].astype("int64").astype(str)
    rest = v.notna() & ~integral
    if rest.any():
        out[rest] = v[rest].map(repr)
    return out


def _object_text(s: pd.Series) -> pd.Series:
    """Render mixed Python objects (what openpyxl returns) as text."""
    kinds = s.map(type)
    out = s.copy()
    is_float = kinds.eq(float)
    if is_float.any():
        out[is_float] = _float_text(s[is_float].astype("float64"))
    is_ts = kinds.isin([pd.Timestamp, __import__("datetime").datetime])
    if is_ts.any():
        out[is_ts] = pd.to_datetime(s[is_ts]).dt.strftime("%Y-%m-%d %H:%M:%S")
    is_date = kinds.eq(__import__("datetime").date)
    if is_date.any():
        out[is_date] = s[is_date].map(lambda d: d.isoformat())
    other = ~(is_float | is_ts | is_date) & s.notna()
    out[other] = s[other].astype(str)
    out[s.isna()] = np.nan
    return out


def _naive(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    return s


def normalize_codes(s: pd.Series, zfill: int | None = None) -> pd.Series:
    """Normalise identifier codes (编码规范化).

    Strips whitespace; turns spreadsheet floats back into digits ("1102000040000.0" →
    "1102000040000", "1.102000040000E+12" → "1102000040000" when the value is an exact
    integer); left-pads all-digit codes with zeros to ``zfill``. Leading zeros are kept.

    Parameters
    ----------
    s : pandas.Series
        Raw cells.
    zfill : int, optional
        Width to zero-pad all-digit codes to.

    Returns
    -------
    pandas.Series
        Codes in the pandas string dtype, missing as NaN.
    """
    t = to_text(s)
    # full-width digits and letters (１４, Ｈ０１) → ASCII before any check (NFKC)
    if t.str.contains(r"[^\x00-\x7f]", regex=True).any():
        t = t.str.normalize("NFKC").str.strip()
    if t.str.contains(".", regex=False).any():
        t = t.str.replace(_FLOAT_CODE, r"\1", regex=True)
    if t.str.contains("[eE]", regex=True).any():
        sci = t.str.match(_SCI).fillna(False).astype(bool)
        if sci.any():
            t[sci] = t[sci].map(_sci_to_digits)
    if zfill:
        digits = t.str.fullmatch(r"\d+").fillna(False).astype(bool)
        if digits.any():
            t[digits] = t[digits].str.zfill(zfill)
    return t


_SCI_PARTS = r"^[+-]?\d(?:\.(\d*))?[eE]\+(\d+)$"

EXCEL_DIGITS = 15
"""Significant digits a spreadsheet keeps in a number cell; a typed number of 16 or more digits
in a code column has lost its last digits."""


def code_precision_lost(s: pd.Series) -> pd.Series:
    """Cells of a code column that lost digits on the way through a spreadsheet (精度丢失).

    Scientific notation with fewer mantissa digits than the number has ("3.401E+15": ten
    different ids all read as 3401000000000000), or a typed number of more than
    :data:`EXCEL_DIGITS` digits (an id cell that was a number in Excel). Such a cell is never
    "repaired": the row is quarantined with reason ``code_precision_lost:<column>``.
    "1.102000040000E+12" (every digit written) is exact and not flagged.
    """
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.astype("float64")
        return (v.abs() >= 10.0**EXCEL_DIGITS).fillna(False).astype(bool)
    if s.dtype == object:
        # openpyxl returns number cells as float or int: either way Excel kept 15 digits
        is_float = s.map(type).isin([float, int])
        lost = pd.Series(False, index=s.index)
        if is_float.any():
            v = s[is_float].astype("float64")
            lost[is_float] = (v.abs() >= 10.0**EXCEL_DIGITS).fillna(False).to_numpy()
        rest = ~is_float & s.notna()
        if rest.any():
            lost[rest] = _sci_lost(s[rest].astype(str))
        return lost
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.Series(False, index=s.index)
    t = s.astype("string")
    return _sci_lost(t).reindex(s.index, fill_value=False)


def _sci_lost(t: pd.Series) -> pd.Series:
    t = t.astype("string").str.strip()
    if not t.str.contains("[eE]", regex=True).fillna(False).any():
        return pd.Series(False, index=t.index)
    parts = t.str.extract(_SCI_PARTS)
    sci = parts[1].notna()
    frac = parts[0].fillna("").str.len()
    exp = pd.to_numeric(parts[1], errors="coerce").fillna(0)
    return (sci & (frac < exp)).fillna(False).astype(bool)


def _sci_to_digits(x: str) -> str:
    """ "1.102000040000E+12" → "1102000040000" when exact; unchanged otherwise."""
    try:
        d = Decimal(x)
    except InvalidOperation:  # pragma: no cover - guarded by the regex
        return x
    if d == d.to_integral_value():
        return str(int(d))
    return x


def parse_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse numbers (数值); accepts thousands separators ("1,234.50").

    Returns
    -------
    values : pandas.Series of float64
    bad : pandas.Series of bool
        Cells that were present but are not a finite number ("abc", "1,2x", "inf").
    """
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s.astype("float64")
        bad = v.notna() & ~np.isfinite(v.fillna(0.0))
        return v.mask(bad), bad
    t = to_text(s)
    thousands = t.str.match(_THOUSANDS).fillna(False).astype(bool)
    if thousands.any():
        t[thousands] = t[thousands].str.replace(",", "", regex=False)
    ok_shape = t.str.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?").fillna(False)
    v = pd.to_numeric(t.where(ok_shape.astype(bool)), errors="coerce").astype("float64")
    v = v.where(np.isfinite(v.fillna(0.0)))
    bad = t.notna() & v.isna()
    return v, bad


def parse_integers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse integers (nullable ``Int64``); a present non-integral number counts as bad."""
    v, bad = parse_numbers(s)
    frac = v.notna() & (v != np.round(v))
    bad = bad | frac
    return v.mask(frac).round().astype("Int64"), bad


def parse_datetimes(s: pd.Series, date_only: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse dates/datetimes (日期/时间) in any layout of :data:`DATETIME_FORMATS`.

    Dates outside 1900-01-01 … 2200-12-31 (e.g. the sentinel "99991231") count as bad.
    Five-digit numbers in :data:`EXCEL_SERIAL_RANGE` ("45717", "45717.5") are Excel serial
    days.

    Already-typed timestamps pass through (timezone-aware ones are converted to China time and
    made naive). ``date_only`` drops the time of day.

    Returns
    -------
    values : pandas.Series of datetime64[ns]
    bad : pandas.Series of bool
    """
    if pd.api.types.is_datetime64_any_dtype(s.dtype) or isinstance(s.dtype, pd.DatetimeTZDtype):
        v = _naive(s)
        bad = v.notna() & ~v.between(_MIN_TS, _MAX_TS)
        v = v.mask(bad).astype("datetime64[ns]")
    else:
        t = to_text(s)
        v = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        todo = t.notna()
        for fmt in DATETIME_FORMATS:
            if not todo.any():
                break
            parsed = pd.to_datetime(t[todo], format=fmt, errors="coerce")
            hit = parsed.notna() & parsed.between(_MIN_TS, _MAX_TS)
            if hit.any():
                idx = hit[hit].index
                v.loc[idx] = parsed[hit].astype("datetime64[ns]")
                todo.loc[idx] = False
        serial = todo & t.str.fullmatch(r"\d{5}(?:\.\d+)?").fillna(False).astype(bool)
        if serial.any():  # Excel serial day numbers (1954-10-03 … 2119-01-08)
            days = pd.to_numeric(t[serial], errors="coerce")
            days = days[(days >= EXCEL_SERIAL_RANGE[0]) & (days <= EXCEL_SERIAL_RANGE[1])]
            if len(days):
                stamps = pd.Timestamp("1899-12-30") + pd.to_timedelta(days, unit="D")
                v.loc[days.index] = stamps.dt.round("s").astype("datetime64[ns]")
                todo.loc[days.index] = False
        bad = todo
    if date_only:
        v = v.dt.normalize()
    return v, bad

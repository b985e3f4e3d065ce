"""Declarative row checks of the engine load path (DuckDB and Spark SQL).

The claims tables are validated inside the engine: every contract column is typed by an SQL
expression (the same normalisation as the pandas loaders: codes "123.0" → "123", zero padding,
numbers with thousands separators, the date layouts of :data:`riskscore.io.DATETIME_FORMATS`),
and every check is one entry of a list derived from :mod:`riskscore.contract`:

``Check(kind, column, predicate)``
    ``kind`` is the reason kind (a key of :data:`riskscore.io.REASONS_DOC`), ``column`` the
    column the reason names (reason code ``kind:column``; ``None`` → just ``kind``) and
    ``predicate`` a function of a :class:`Cell` returning an SQL boolean that is true for a
    row to quarantine.

Extension point
---------------
* :func:`register_rule` adds a *rule*: a function ``TableSpec -> list[Check]`` whose checks
  are appended (in registration order) after the contract-derived ones. Add the reason kind
  to :data:`riskscore.io.REASONS_DOC` as well.
* :func:`register_transform` adds a *transform*: a function ``(TableSpec, ColumnSpec,
  Dialect, sql) -> sql`` applied to the text of a cell before typing (e.g. NFKC width
  folding, mapping local dictionary codes to national ones). Transforms see the text after
  whitespace stripping and empty-token removal; they must return SQL text (or NULL).

Predicates use :class:`Dialect` helpers (``d.full_match``, ``d.try_double`` …) so that the same
check runs on DuckDB and on Spark. Duplicate keys and referential checks are not row-local:
the load path runs them after these checks (reasons ``duplicate_key`` and those of
:data:`riskscore.io.REFERENCES`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from riskscore.contract import ColumnSpec, TableSpec
from riskscore.io._normalize import DATETIME_FORMATS, EXCEL_SERIAL_RANGE, NULL_TOKENS

WS_CHARS = " \t\r\n\u3000\u00a0\ufeff"
"""Whitespace stripped around every cell (as :func:`riskscore.io.normalize_codes`)."""

MIN_TS = "1900-01-01 00:00:00"
MAX_TS = "2200-12-31 23:59:59"

_FLOAT_CODE = r"^([+-]?[0-9]+)\.0*$"
_SCI = r"^([+-]?)([0-9])(?:\.([0-9]+))?[eE]([+-][0-9]+)$"
_THOUSANDS = r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$"
SCI_PARTS = r"^[+-]?[0-9](?:\.([0-9]*))?[eE]\+([0-9]+)$"
EXCEL_DIGITS = 15
_CODE_LIKE = r"^[0-9A-Za-z_.\-]+$"
_SERIAL = r"^[0-9]{5}(\.[0-9]+)?$"
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def q(s: str) -> str:
    """SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def ident(name: str) -> str:
    """Quoted SQL identifier (both dialects accept backquotes or double quotes; see Dialect)."""
    return '"' + name.replace('"', '""') + '"'


class Dialect:
    """SQL building blocks that differ between engines (DuckDB is the reference)."""

    name = "duckdb"

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def trim_ws(self, x: str) -> str:
        # the common case (nothing to strip) is tested cheaply first
        ends = " OR ".join(f"suffix({x}, {q(ch)})" for ch in WS_CHARS)
        codes = [str(ord(ch)) for ch in WS_CHARS]
        return (
            f"(CASE WHEN NOT {self.in_list(f'ascii({x})', codes)} AND NOT ({ends}) THEN {x} "
            f"ELSE trim({x}, {q(WS_CHARS)}) END)"
        )

    def contains(self, x: str, s: str) -> str:
        return f"contains({x}, {q(s)})"

    def is_ascii(self, x: str) -> str:
        """True when every character is ASCII (bytes = characters; a cheap guard)."""
        return f"(strlen({x}) = length({x}))"

    def in_list(self, x: str, items: list[str]) -> str:
        """``x IN (items)`` for a list of non-NULL literals (NULL when ``x`` is NULL).

        DuckDB plans a long ``IN`` list inside a big projection as a join per list;
        ``list_contains`` stays a vectorised function.
        """
        return f"list_contains([{', '.join(items)}], {x})"

    def full_match(self, x: str, pattern: str) -> str:
        return f"regexp_full_match({x}, {q(pattern)})"

    def re_group(self, x: str, pattern: str, group: int) -> str:
        return f"regexp_extract({x}, {q(pattern)}, {group})"

    def try_double(self, x: str) -> str:
        return f"TRY_CAST({x} AS DOUBLE)"

    def is_finite(self, v: str) -> str:
        return f"isfinite({v})"

    def to_text(self, x: str) -> str:
        return f"CAST({x} AS VARCHAR)"

    def try_strptime(self, x: str, fmt: str) -> str:
        return f"try_strptime({x}, {q(fmt)})"

    def ts(self, literal: str) -> str:
        return f"TIMESTAMP {q(literal)}"

    def add_days(self, base: str, days: str) -> str:
        return f"({base} + to_microseconds(CAST(round({days} * 86400) AS BIGINT) * 1000000))"

    def trunc_day(self, v: str) -> str:
        return f"CAST(CAST({v} AS DATE) AS TIMESTAMP)"

    def repeat(self, s: str, n: str) -> str:
        return f"repeat({s}, CAST({n} AS INTEGER))"

    def lpad(self, x: str, n: int) -> str:
        return f"lpad({x}, {n}, '0')"

    def concat_reasons(self, parts: list[str]) -> str:
        if not parts:
            return "CAST(NULL AS VARCHAR)"
        return f"NULLIF(concat_ws(';', {', '.join(parts)}), '')"

    def string_type(self) -> str:
        return "VARCHAR"

    def format_ts(self, x: str) -> str:
        return f"strftime({x}, '%Y-%m-%d %H:%M:%S')"


class SparkDialect(Dialect):
    """Spark SQL (3.5/4.x; ``try_*`` functions so ANSI mode does not raise)."""

    name = "spark"

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def trim_ws(self, x: str) -> str:
        return f"trim(BOTH {q(WS_CHARS)} FROM {x})"

    def contains(self, x: str, s: str) -> str:
        return f"(instr({x}, {q(s)}) > 0)"

    def is_ascii(self, x: str) -> str:
        return f"(octet_length({x}) = length({x}))"

    def in_list(self, x: str, items: list[str]) -> str:
        return f"({x} IN ({', '.join(items)}))"

    def full_match(self, x: str, pattern: str) -> str:
        p = pattern if pattern.startswith("^") else "^(?:" + pattern + ")$"
        return f"({x} RLIKE {q(p)})"

    def try_double(self, x: str) -> str:
        return f"try_cast({x} AS DOUBLE)"

    def is_finite(self, v: str) -> str:
        return f"(NOT isnan({v}) AND abs({v}) < double('inf'))"

    def to_text(self, x: str) -> str:
        return f"CAST({x} AS STRING)"

    def try_strptime(self, x: str, fmt: str) -> str:
        # Spark SQL reads 'a''b' as two adjacent literals ("ab"): the quotes around literal
        # letters of the pattern ('T') are backslash-escaped instead
        pattern = java_format(fmt).replace("\\", "\\\\").replace("'", "\\'")
        return f"try_to_timestamp({x}, '{pattern}')"

    def ts(self, literal: str) -> str:
        return f"TIMESTAMP {q(literal)}"

    def add_days(self, base: str, days: str) -> str:
        return f"timestamp_seconds(unix_timestamp({base}) + CAST(round({days} * 86400) AS BIGINT))"

    def trunc_day(self, v: str) -> str:
        return f"CAST(to_date({v}) AS TIMESTAMP)"

    def repeat(self, s: str, n: str) -> str:
        return f"repeat({s}, CAST({n} AS INT))"

    def concat_reasons(self, parts: list[str]) -> str:
        if not parts:
            return "CAST(NULL AS STRING)"
        return f"NULLIF(concat_ws(';', {', '.join(parts)}), '')"

    def string_type(self) -> str:
        return "STRING"

    def format_ts(self, x: str) -> str:
        return f"date_format({x}, 'yyyy-MM-dd HH:mm:ss')"


DIALECTS = {"duckdb": Dialect(), "spark": SparkDialect()}

_JAVA = {
    "%Y": "yyyy",
    "%m": "M",
    "%d": "d",
    "%H": "H",
    "%M": "m",
    "%S": "s",
    "%f": "SSSSSS",
}


def java_format(fmt: str) -> str:
    """strftime layout → Java DateTimeFormatter pattern (literal text quoted)."""
    out, lit = [], ""
    i = 0
    while i < len(fmt):
        tok = fmt[i : i + 2]
        if tok in _JAVA:
            if lit:
                out.append(
                    "'" + lit + "'" if any(ch.isascii() and ch.isalpha() for ch in lit) else lit
                )
                lit = ""
            out.append(_JAVA[tok])
            i += 2
        else:
            lit += fmt[i]
            i += 1
    if lit:
        out.append("'" + lit + "'" if any(ch.isascii() and ch.isalpha() for ch in lit) else lit)
    return "".join(out)


# ----------------------------------------------------------------------------- typing
@dataclass
class Cell:
    """What a check's predicate sees for one column (SQL expressions)."""

    spec: ColumnSpec
    table: TableSpec
    d: Dialect
    v: str  # typed value
    t: str  # text (stripped, empty tokens → NULL), or the typed value when read typed
    bad: str | None  # parse failure flag (present but not convertible), or None
    cols: dict[str, str]  # column name → typed value of every column of the row
    lost: str | None = None  # code cell that lost digits (scientific notation, 16+ digits)
    unmapped: str | None = None  # open dictionary: a label no variant matched


Transform = Callable[[TableSpec, ColumnSpec, Dialect, str], str]
TRANSFORMS: list[Transform] = []


def register_transform(fn: Transform) -> Transform:
    """Add a text transform applied before typing (see the module docstring)."""
    TRANSFORMS.append(fn)
    return fn


def text_sql(table: TableSpec, col: ColumnSpec, raw: str, d: Dialect) -> str:
    """Cell text: stripped, empty tokens as NULL, then the registered transforms.

    ``raw`` should be a column reference (it is used twice).
    """
    tokens = ["''"] + [q(t) for t in sorted(NULL_TOKENS) if t]
    x = d.trim_ws(raw)
    out = f"(CASE WHEN {d.in_list(x, tokens)} THEN NULL ELSE {x} END)"
    for fn in TRANSFORMS:
        out = fn(table, col, d, out)
    return out


def code_sql(t: str, zfill: int | None, d: Dialect) -> str:
    """Normalise an identifier code (:func:`riskscore.io.normalize_codes`).

    Codes without ``.``, ``e`` or ``E`` (nearly all) take the fast branch.
    """

    def zf(x: str) -> str:
        if not zfill:
            return x
        return (
            f"(CASE WHEN length({x}) < {zfill} AND {d.full_match(x, '^[0-9]+$')} "
            f"THEN {d.lpad(x, zfill)} ELSE {x} END)"
        )

    c1 = (
        f"(CASE WHEN {d.full_match(t, _FLOAT_CODE)} "
        f"THEN {d.re_group(t, _FLOAT_CODE, 1)} ELSE {t} END)"
    )
    # 1.102000040000E+12 → 1102000040000 when the value is an exact integer
    sign = d.re_group(t, _SCI, 1)
    digits = f"concat({d.re_group(t, _SCI, 2)}, {d.re_group(t, _SCI, 3)})"
    pos = f"(1 + CAST({d.re_group(t, _SCI, 4)} AS INTEGER))"
    padded = f"concat({digits}, {d.repeat(q('0'), f'greatest({pos} - length({digits}), 0)')})"
    head = f"substr({padded}, 1, {pos})"
    tail = f"substr({padded}, {pos} + 1)"
    stripped = f"ltrim({head}, '0')"
    integral = f"({pos} >= 1 AND ({tail} = '' OR ltrim({tail}, '0') = ''))"
    value = (
        f"(CASE WHEN {stripped} = '' THEN '0' WHEN {sign} = '-' THEN concat('-', {stripped}) "
        f"ELSE {stripped} END)"
    )
    c2 = f"(CASE WHEN {d.full_match(t, _SCI)} AND {integral} THEN {value} ELSE {c1} END)"
    fast = f"NOT ({d.contains(t, '.')} OR {d.contains(t, 'e')} OR {d.contains(t, 'E')})"
    return f"(CASE WHEN {t} IS NULL THEN NULL WHEN {fast} THEN {zf(t)} ELSE {zf(c2)} END)"


def number_sql(t: str, d: Dialect) -> tuple[str, str]:
    """(value, bad) of a number cell (:func:`riskscore.io.parse_numbers`)."""
    x = (
        f"(CASE WHEN {d.contains(t, ',')} AND {d.full_match(t, _THOUSANDS)} "
        f"THEN replace({t}, ',', '') ELSE {t} END)"
    )
    n = d.try_double(x)
    v = f"(CASE WHEN {d.is_finite(n)} AND {d.full_match(x, _NUMBER)} THEN {n} END)"
    return v, f"({t} IS NOT NULL AND {v} IS NULL)"


def datetime_sql(t: str, d: Dialect, date_only: bool) -> tuple[str, str]:
    """(value, bad) of a date/datetime cell (:func:`riskscore.io.parse_datetimes`)."""
    lo, hi = d.ts(MIN_TS), d.ts(MAX_TS)
    parts = []
    for fmt in DATETIME_FORMATS:
        p = d.try_strptime(t, fmt)
        parts.append(f"(CASE WHEN {p} BETWEEN {lo} AND {hi} THEN {p} END)")
    days = d.try_double(t)
    serial = (
        f"(CASE WHEN {d.full_match(t, _SERIAL)} AND {days} BETWEEN "
        f"{EXCEL_SERIAL_RANGE[0]} AND {EXCEL_SERIAL_RANGE[1]} "
        f"THEN {d.add_days(d.ts('1899-12-30 00:00:00'), days)} END)"
    )
    parts.append(serial)
    v = f"COALESCE({', '.join(parts)})"
    if date_only:
        v = d.trunc_day(v)
    return v, f"({t} IS NOT NULL AND {v} IS NULL)"


def text_level(table: TableSpec, col: ColumnSpec, raw: str, src_type: str, d: Dialect) -> str:
    """SQL of a cell's text (what a quarantined row shows): stripped, empty tokens → NULL.

    ``src_type`` is how the engine read the column: ``"text"``, ``"number"``, ``"integer"``,
    ``"timestamp"``, ``"date"`` or ``"other"``.
    """
    if src_type == "number":  # 123.0 stored as a float → "123" (as to_text does)
        txt = (
            f"(CASE WHEN {d.is_finite(raw)} AND {raw} = round({raw}) AND abs({raw}) < 9.0e15 "
            f"THEN {d.to_text(f'CAST({raw} AS BIGINT)')} ELSE {d.to_text(raw)} END)"
        )
    elif src_type == "timestamp":
        txt = d.format_ts(raw)
    elif src_type == "text":
        txt = raw
    else:
        txt = d.to_text(raw)
    return text_sql(table, col, txt, d)


def value_level(
    col: ColumnSpec, raw: str, t: str, src_type: str, d: Dialect
) -> tuple[str, str | None]:
    """(typed value, bad flag or None) of a column from its raw value and its text ``t``."""
    if src_type in ("number", "integer") and col.dtype in ("float", "int"):
        v = f"CAST({raw} AS DOUBLE)"
        good = f"(CASE WHEN {d.is_finite(v)} THEN {v} END)"
        bad = f"({raw} IS NOT NULL AND {good} IS NULL)"
    elif src_type in ("timestamp", "date") and col.dtype in ("date", "datetime"):
        v = f"CAST({raw} AS TIMESTAMP)"
        lo, hi = d.ts(MIN_TS), d.ts(MAX_TS)
        good = f"(CASE WHEN {v} BETWEEN {lo} AND {hi} THEN {v} END)"
        if col.dtype == "date":
            good = d.trunc_day(good)
        return good, f"({raw} IS NOT NULL AND {good} IS NULL)"
    elif col.dtype == "code":
        return code_sql(t, col.zfill, d), None
    elif col.dtype == "str":
        return t, None
    elif col.dtype in ("float", "int"):
        good, bad = number_sql(t, d)
    else:
        return datetime_sql(t, d, date_only=col.dtype == "date")
    if col.dtype == "int":
        frac = f"({good} <> round({good}))"
        return (
            f"CAST(CASE WHEN NOT {frac} THEN round({good}) END AS BIGINT)",
            f"({bad} OR COALESCE({frac}, FALSE))",
        )
    return good, bad


# ----------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class Check:
    """One row check: quarantine the row with reason ``kind[:column]`` when ``predicate``.

    ``predicate(cell)`` returns an SQL boolean (NULL counts as false). For row checks that
    span columns use ``cell.cols[name]``; ``cell`` is then the cell of ``column``.
    """

    kind: str
    column: str | None
    predicate: Callable[[Cell], str]

    @property
    def reason(self) -> str:
        return f"{self.kind}:{self.column}" if self.column else self.kind


def contract_checks(spec: TableSpec) -> list[Check]:
    """The checks of :mod:`riskscore.contract` in the pandas loaders' reason order."""
    out: list[Check] = []
    for c in spec.columns:
        if c.dtype == "code":
            out.append(Check("code_precision_lost", c.name, lambda x: x.lost))
        if c.dtype == "code" and c.allowed:
            allowed = [q(a) for a in c.allowed]
            out.append(
                Check("not_allowed", c.name, lambda x, a=allowed: f"NOT {x.d.in_list(x.v, a)}")
            )
        elif c.dtype == "code":
            out.append(Check("not_allowed", c.name, lambda x: x.unmapped))
        if c.dtype in ("float", "int"):
            out.append(Check("not_numeric", c.name, lambda x: x.bad))
        if c.dtype == "int" and c.allowed:
            allowed = [q(a) for a in c.allowed]
            out.append(
                Check(
                    "not_allowed",
                    c.name,
                    lambda x, a=allowed: f"NOT {x.d.in_list(x.d.to_text(x.v), a)}",
                )
            )
        if c.dtype in ("date", "datetime"):
            out.append(Check("bad_date", c.name, lambda x: x.bad))
        if c.min_value is not None and c.dtype in ("float", "int"):
            out.append(Check("below_min", c.name, lambda x, m=c.min_value: f"{x.v} < {m!r}"))
        if not c.nullable:
            out.append(
                Check(
                    "null",
                    c.name,
                    lambda x: (
                        f"({x.v} IS NULL)"
                        if x.bad is None
                        else f"({x.v} IS NULL AND NOT COALESCE({x.bad}, FALSE))"
                    ),
                )
            )
    for rc in spec.row_checks:
        if rc.kind == "le":
            out.append(
                Check(
                    rc.name,
                    None,
                    lambda x, rc=rc: f"({x.cols[rc.left]} > {x.cols[rc.right]})",
                )
            )
    return out


Rule = Callable[[TableSpec], list[Check]]
RULES: list[Rule] = [contract_checks]
"""Functions producing the checks of a table; :func:`register_rule` appends to it."""


def register_rule(fn: Rule) -> Rule:
    """Add a rule (``TableSpec -> list[Check]``); its checks run after the earlier ones."""
    RULES.append(fn)
    return fn


def checks_for(spec: TableSpec) -> list[Check]:
    """Every row check of a table, in order (the order of the reason codes in a row)."""
    out: list[Check] = []
    for rule in RULES:
        out.extend(rule(spec))
    return out


def row_check_columns(check: Check, spec: TableSpec) -> list[str]:
    """Columns a check needs (its own and, for row checks, both sides)."""
    if check.column:
        return [check.column]
    for rc in spec.row_checks:
        if rc.name == check.kind:
            return [rc.left, rc.right]
    return []


def lost_sql(t: str, raw: str, src_type: str, d: Dialect) -> str:
    """Code cells that lost digits (:func:`riskscore.io._normalize.code_precision_lost`)."""
    if src_type == "number":
        return f"(abs({raw}) >= 1e{EXCEL_DIGITS})"
    if src_type in ("integer", "timestamp", "date", "timestamptz"):
        return ""
    frac = f"length({d.re_group(t, SCI_PARTS, 1)})"
    exp = f"CAST({d.re_group(t, SCI_PARTS, 2)} AS INTEGER)"
    return (
        f"(({d.contains(t, 'E')} OR {d.contains(t, 'e')}) AND {d.full_match(t, SCI_PARTS)} "
        f"AND {frac} < {exp})"
    )


def lookup_sql(x: str, lookup: dict[str, str]) -> str:
    """Dictionary variant → contract code of ``lower(x)`` (NULL when no variant matches)."""
    whens = " ".join(f"WHEN {q(k)} THEN {q(v)}" for k, v in sorted(lookup.items()))
    return f"(CASE lower({x}) {whens} END)" if whens else "NULL"


def code_like_sql(v: str, d: Dialect) -> str:
    return d.full_match(v, _CODE_LIKE)

"""Checks of issue 14 registered into the engine load path (:mod:`riskscore.io.checks`).

- full-width digits and letters in codes (``１４``, ``Ｈ０１``) are folded to ASCII before any
  check (the pandas loaders apply Unicode NFKC, which does the same for these characters);
- placeholder identifiers (``-``, ``0``, ``null``, ``无`` … :data:`riskscore.io._load.PLACEHOLDER_IDS`)
  in key columns are quarantined with reason ``placeholder_id:<column>``;
- dates of the claims tables outside a plausible window are quarantined with reason
  ``date_out_of_range:<column>`` (:func:`date_window`): event dates (encounters,
  settlements, fee lines) from :data:`EVENT_MIN` to one day after today, birth dates from
  :data:`BIRTH_MIN` to today, death dates from :data:`EVENT_MIN` to one day after today.
  Encounters dated 1900 or 2099 and births in 2099 are caught; a tighter window (the claims
  year ± a margin) needs the year of the extract, which the folder does not state.
"""

from __future__ import annotations

import datetime as _dt

from riskscore.contract import ColumnSpec, TableSpec
from riskscore.io._load import PLACEHOLDER_IDS, _is_key_column
from riskscore.io.checks import Check, Dialect, q, register_rule, register_transform

FULL = (
    "".join(chr(0xFF10 + i) for i in range(10))
    + "".join(chr(0xFF21 + i) for i in range(26))
    + "".join(chr(0xFF41 + i) for i in range(26))
    + "－．＿"
)
ASCII = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-._"


@register_transform
def fold_width(table: TableSpec, col: ColumnSpec, d: Dialect, sql: str) -> str:
    """Full-width digits, letters, ``－．＿`` → ASCII in code columns."""
    if col.dtype != "code":
        return sql
    # nearly every code is ASCII: test that cheaply before the (slow) translate
    return (
        f"(CASE WHEN {d.is_ascii(sql)} THEN {sql} ELSE translate({sql}, {q(FULL)}, {q(ASCII)}) END)"
    )


@register_rule
def placeholder_ids(spec: TableSpec) -> list[Check]:
    """``placeholder_id:<column>`` for key-like code columns holding a placeholder."""
    values = [q(v) for v in sorted(PLACEHOLDER_IDS)]
    return [
        Check("placeholder_id", c.name, lambda x, v=values: x.d.in_list(f"lower({x.v})", v))
        for c in spec.columns
        if c.dtype == "code" and _is_key_column(spec, c)
    ]


CLAIMS_TABLES = ("psn_info_b", "mdtrt_d", "setl_d", "fee_list_d", "setl_list_diag_d")
EVENT_MIN = "2000-01-01"
BIRTH_MIN = "1900-01-01"


def date_window(table: str, column: str, today: _dt.date | None = None) -> tuple[str, str] | None:
    """(first, last) allowed day of a date column of a claims table, else None."""
    if table not in CLAIMS_TABLES:
        return None
    today = today or _dt.date.today()
    if column == "brdy":
        return BIRTH_MIN, today.isoformat()
    return EVENT_MIN, (today + _dt.timedelta(days=1)).isoformat()


@register_rule
def dates_in_window(spec: TableSpec) -> list[Check]:
    """``date_out_of_range:<column>`` for claims dates outside :func:`date_window`."""
    out = []
    for c in spec.columns:
        w = date_window(spec.name, c.name) if c.dtype in ("date", "datetime") else None
        if w is None:
            continue
        lo, hi = f"{w[0]} 00:00:00", f"{w[1]} 23:59:59"
        out.append(
            Check(
                "date_out_of_range",
                c.name,
                lambda x, lo=lo, hi=hi: f"({x.v} < {x.d.ts(lo)} OR {x.v} > {x.d.ts(hi)})",
            )
        )
    return out

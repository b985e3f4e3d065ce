"""Checks of issue 14 registered into the engine load path (:mod:`riskscore.io.checks`).

- full-width digits and letters in codes (``１４``, ``Ｈ０１``) are folded to ASCII before any
  check (the pandas loaders apply Unicode NFKC, which does the same for these characters);
- placeholder identifiers (``-``, ``0``, ``null``, ``无`` … :data:`riskscore.io._load.PLACEHOLDER_IDS`)
  in key columns are quarantined with reason ``placeholder_id:<column>``.
"""

from __future__ import annotations

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
    return f"translate({sql}, {q(FULL)}, {q(ASCII)})"


@register_rule
def placeholder_ids(spec: TableSpec) -> list[Check]:
    """``placeholder_id:<column>`` for key-like code columns holding a placeholder."""
    values = ", ".join(q(v) for v in sorted(PLACEHOLDER_IDS))
    return [
        Check("placeholder_id", c.name, lambda x, v=values: f"(lower({x.v}) IN ({v}))")
        for c in spec.columns
        if c.dtype == "code" and _is_key_column(spec, c)
    ]

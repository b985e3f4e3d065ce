"""Shared pieces of the report sections."""

from __future__ import annotations

import pandas as pd

TIER_ORDER = ("A", "B", "C", "D")
TIER_COLORS = {"A": "#4caf50", "B": "#c0ca33", "C": "#ff9800", "D": "#e53935"}


def tier_order(tiers) -> list[str]:
    """Sort tier labels: A–D first in risk order, then any others alphabetically."""
    vals = [str(t) for t in pd.unique(pd.Series(list(tiers)).dropna())]
    known = [t for t in TIER_ORDER if t in vals]
    return known + sorted(t for t in vals if t not in TIER_ORDER)


def tier_color(tier: str) -> str:
    """Chart colour of a tier (A green … D red)."""
    return TIER_COLORS.get(str(tier), "#607d8b")


def year_of(inputs, policy: dict | None) -> int:
    """The plan year: the policy's year, else the report date's year."""
    if policy and isinstance(policy.get("year"), int):
        return int(policy["year"])
    return inputs.as_of_date().year


def num(s: pd.Series) -> pd.Series:
    """Numbers from a column (non-numbers become NaN)."""
    return pd.to_numeric(s, errors="coerce")

"""Shared pieces of the report sections."""

from __future__ import annotations

import re

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


_ADMIN_RE = re.compile(r"[\u4e00-\u9fff]{1,7}?(?:自治县|自治旗|区|县|旗|市)")


def _district_of(address: str) -> str | None:
    """The county-level unit named in an address (安徽省合肥市包河区… → 包河区)."""
    s = re.sub(r"^[\u4e00-\u9fff]{2,8}?(?:省|自治区)", "", str(address).strip())
    parts = _ADMIN_RE.findall(s[:24])[:2]
    if not parts:
        return None
    if len(parts) == 2 and parts[0].endswith("市"):
        return parts[1]
    return parts[0]


def region_names(institutions: pd.DataFrame | None) -> dict[str, str]:
    """Names of the region codes (区划名称) of the registry, where they are known.

    From a ``region_name`` column when the registry has one, else from the addresses: a code
    gets the district most of its institutions' addresses name (at least 60 % agreeing).
    Codes without a known name are left out (callers show the code).
    """
    if institutions is None or "region" not in institutions.columns:
        return {}
    df = institutions.dropna(subset=["region"])
    codes = df["region"].astype(str)
    if "region_name" in df.columns:
        named = df["region_name"].astype("string").str.strip()
        return {c: str(n) for c, n in zip(codes, named, strict=True) if pd.notna(n) and n}
    if "address" not in df.columns:
        return {}
    out: dict[str, str] = {}
    guesses = pd.Series([_district_of(a) for a in df["address"].fillna("")], index=df.index)
    for code, g in guesses.groupby(codes.to_numpy()):
        g = g.dropna()
        if not len(g):
            continue
        top = g.value_counts()
        if top.iloc[0] >= 0.6 * len(g):
            out[str(code)] = str(top.index[0])
    return out


def region_label(code, names: dict[str, str]) -> str:
    """A region's name when known, else its code."""
    if code is None or (isinstance(code, float) and code != code) or code is pd.NA:
        return "—"
    return names.get(str(code), str(code))

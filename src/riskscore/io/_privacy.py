"""Personal data kept out of quarantine files (隔离文件不含个人信息).

A quarantine file is opened by people to fix the source extract, so it must not carry
personal data even when the extract has columns the contract does not name (``身份证号``,
``患者电话``, ``住址`` …). A column is left out when

- the contract marks it ``pii``; or
- its name looks personal, in Chinese or English (:data:`NAME_PATTERNS`); or
- most of its non-empty cells look like a resident ID number or a mainland mobile number
  (:data:`VALUE_SHARE`).

Codes that identify people pseudonymously on the platform (``psn_no``) stay: they are needed
to find the rows again and are not personal data by themselves.
"""

from __future__ import annotations

import re

import pandas as pd

from riskscore.contract import TableSpec

NAME_PATTERNS = re.compile(
    r"(姓名|名字|患者名|病人名|联系人|身份证|证件号|证件号码|身份号|社保卡号|卡号|电话|手机|联系方式|"
    r"住址|地址|家庭|户籍|邮箱|"
    r"(^|_)(psn_?name|patient_?name|name|full_?name|id_?card|idcard|id_?no|cert_?no|certno|"
    r"certno|phone|mobile|tel|telephone|address|addr|email)($|_))",
    re.IGNORECASE,
)
"""Column names treated as personal data (matched anywhere in Chinese, as a word in English).
``fixmedins_name`` and other names of institutions, drugs and items are legal or catalogue
names and are kept (:data:`KEEP`)."""

KEEP = frozenset(
    {
        "fixmedins_name",
        "hilist_name",
        "medins_list_name",
        "drug_name",
        "item_name",
        "diag_name",
        "dept_name",
        "unit_name",
        "reason",
        "quarantine_reason",
        "source_row",
    }
)

ID_CARD = r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]"
MOBILE = r"(?:\+?86[- ]?)?1[3-9]\d{9}"
VALUE_RE = re.compile(rf"^\s*(?:{ID_CARD}|{MOBILE})\s*$")
VALUE_SHARE = 0.5
"""A column whose non-empty cells are more than half ID or mobile numbers is left out."""


def personal_columns(df: pd.DataFrame, spec: TableSpec | None = None) -> list[str]:
    """Columns of ``df`` that hold personal data (by contract, by name or by value)."""
    pii = set(spec.pii_columns) if spec is not None else set()
    out = []
    for col in df.columns:
        name = str(col)
        base = name[5:] if name.startswith("file_") else name
        if base in KEEP:
            continue
        if base in pii or NAME_PATTERNS.search(base):
            out.append(col)
            continue
        s = df[col].dropna().astype(str)
        s = s[s.str.strip() != ""]
        if len(s) and s.str.match(VALUE_RE).mean() > VALUE_SHARE:
            out.append(col)
    return out


def safe_quarantine(df: pd.DataFrame, spec: TableSpec | None, state: dict | None = None):
    """The quarantine rows without personal columns, text neutralised for spreadsheets.

    ``state`` (updated in place) carries what earlier batches of the same file did: the
    columns left out and the columns written, so every batch has the same columns; a column
    found personal only in a later batch is blanked there.
    """
    from riskscore.outputs import neutralise

    if state is None:
        state = {}
    dropped = state.setdefault("dropped", set())
    dropped.update(personal_columns(df, spec))
    out = df.drop(columns=[c for c in df.columns if c in dropped])
    if "columns" in state:
        out = out.reindex(columns=[c for c in state["columns"] if c not in dropped]).reindex(
            columns=state["columns"]
        )
    else:
        state["columns"] = list(out.columns)
    for c in out.columns:
        if out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype):
            out[c] = out[c].map(neutralise, na_action="ignore")
    return out

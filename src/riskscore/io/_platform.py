"""The platform's own institution registry ``fixmedins_b`` read as the contract's ``institutions``.

``fixmedins_b`` (定点医药机构业务信息表) holds ``fixmedins_code, fixmedins_name, uscc,
fix_blng_admdvs, fixmedins_type, hosp_lv, begntime, endtime, vali_flag, …`` in national
dictionary codes. It is mapped row by row:

==================  ===============================================================
``institutions``    from ``fixmedins_b``
==================  ===============================================================
fixmedins_code      fixmedins_code
fixmedins_name      fixmedins_name
uscc                uscc
region              fix_blng_admdvs (or region)
hosp_lv             hosp_lv (national 医院等级 01–11 or labels, via the dictionaries)
medins_type         medins_type / 医疗机构类别 where filled (A… 医院, B/C/D… 基层, labels);
                    else fixmedins_type 2 → pharmacy, 1 → hospital at 二级 and above,
                    clinic otherwise
ownership           ownership or econ_type (经济类型, via the dictionaries); else empty
status              status when present; else ``closed`` when vali_flag = 0 or endtime is
                    before the registry's as-of date (latest updt_time, else latest
                    begntime), ``active`` otherwise
==================  ===============================================================

Other fields (responsible person's name, phone, certificate: personal data) are ignored.
"""

from __future__ import annotations

import pandas as pd

from riskscore.io._normalize import parse_datetimes, to_text

ALIASES: dict[str, str] = {"fixmedins_b": "institutions"}
"""File stem → contract table it is read as."""


def table_stem(stem: str) -> str:
    """The contract table name a file stem stands for (``fixmedins_b`` → ``institutions``).

    Used by both folder scanners (pandas and engine load paths); other stems are returned
    unchanged.
    """
    return ALIASES.get(str(stem).lower(), stem)


PASSTHROUGH = (
    "fixmedins_code",
    "fixmedins_name",
    "uscc",
    "specialty",
    "address",
    "legal_rep",
    "business_scope",
)


def _canon(name) -> str:
    return str(name).strip().strip("\ufeff").strip().strip("'\"`").strip().lower()


def fixmedins_b_columns(header: list[str]) -> list[str]:
    """Columns of the ``institutions`` frame made from a ``fixmedins_b`` file with ``header``."""
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in header})
    return list(fixmedins_b_to_institutions(empty, None).columns)


def fixmedins_b_to_institutions(raw: pd.DataFrame, dicts) -> pd.DataFrame:
    """One batch of ``fixmedins_b`` rows as ``institutions`` rows (text cells)."""
    from riskscore.io.dictionaries import default_dictionaries

    dicts = dicts or default_dictionaries()
    cols = {}
    for c in raw.columns:
        cols.setdefault(_canon(c), c)

    def get(*names):
        for n in names:
            if n in cols:
                return to_text(raw[cols[n]])
        return None

    out = pd.DataFrame(index=raw.index)
    for n in PASSTHROUGH:
        v = get(n)
        if v is not None:
            out[n] = v
    region = get("region", "fix_blng_admdvs")
    if region is not None:
        out["region"] = region
    lv = get("hosp_lv")
    if lv is not None:
        out["hosp_lv"] = lv
    lv_code = dicts.apply("institutions", "hosp_lv", lv) if lv is not None else None
    mtype = get("medins_type", "medins_natu", "medinslv_type")
    ftype = get("fixmedins_type")
    if ftype is not None:
        d = dicts.dictionaries.get("fixmedins_type")
        kind = ftype.str.strip().str.lower().map(d.lookup) if d is not None else ftype
        if lv_code is not None:
            high = lv_code.isin(["2", "3"]).fillna(False).astype(bool)
        else:
            high = pd.Series(False, index=raw.index)
        derived = pd.Series(pd.NA, index=raw.index, dtype="string")
        derived[kind == "pharmacy"] = "pharmacy"
        derived[(kind == "medical") & high] = "hospital"
        derived[(kind == "medical") & ~high] = "clinic"
        # an unknown fixmedins_type stays as written (quarantined as not_allowed:medins_type)
        unknown = derived.isna() & ftype.notna()
        derived[unknown] = ftype[unknown]
        if mtype is not None:  # 医疗机构类别 where filled wins over the derivation
            filled = mtype.notna() & (mtype.str.strip() != "")
            derived[filled] = mtype[filled]
        out["medins_type"] = derived
    elif mtype is not None:
        out["medins_type"] = mtype
    own = get("ownership", "econ_type")
    if own is not None:
        out["ownership"] = own
    elif "fixmedins_code" in out:
        out["ownership"] = pd.Series(pd.NA, index=raw.index, dtype="string")
    status = get("status")
    if status is not None:
        out["status"] = status
    elif "vali_flag" in cols or "endtime" in cols:
        out["status"] = _status(raw, cols)
    return out


def _status(raw: pd.DataFrame, cols: dict) -> pd.Series:
    st = pd.Series("active", index=raw.index, dtype="string")
    if "vali_flag" in cols:
        flag = to_text(raw[cols["vali_flag"]]).str.strip()
        st[flag.isin(["0", "无效", "否", "N", "n"])] = "closed"
    if "endtime" in cols:
        end, _ = parse_datetimes(raw[cols["endtime"]])
        as_of = None
        for n in ("updt_time", "begntime"):
            if n in cols:
                t, _ = parse_datetimes(raw[cols[n]])
                if t.notna().any():
                    as_of = t.max()
                    break
        if as_of is not None:
            st[end.notna() & (end < as_of)] = "closed"
    return st

"""Tables the indicators read, derived from what the platform delivers when the table is absent.

- ``psn_info_b`` from the person fields on the encounters (``mdtrt_d``, else ``setl_d``):
  ``gend``, ``brdy`` (first non-empty value per person) and ``die_date`` (latest); a person
  counts as chronic (``chronic_flag``) when an encounter carries ``chronic_flag = 1``, has
  med_type in the ``settings.chronic`` codes (门诊慢特病) or carries a 门慢门特 病种 in
  ``dise_no`` (病种编号; the platform's field for the person's registered chronic disease).
- ``purchases`` and ``stock_moves`` from the 进销存 upload tables (``inv_purchase``,
  ``inv_purchase_return``, ``inv_sale``, ``inv_sale_return``, ``inv_stocktake``) when the
  contract's own tables are absent, so the substitution and zero-markup indicators read them.

Everything is an Ibis expression: the same derivation runs on DuckDB and Spark, whatever loaded
the tables.
"""

from __future__ import annotations

import ibis
from ibis import _


def _has_values(t, col: str) -> bool:
    if col not in t.columns:
        return False
    return bool(t[col].notnull().any().execute())


def persons_from_encounters(tables: dict, rules: dict) -> dict:
    """Add ``psn_info_b`` built from encounter person fields when it is absent."""
    if "psn_info_b" in tables:
        return tables
    src = None
    for name in ("mdtrt_d", "setl_d"):
        t = tables.get(name)
        if t is not None and any(_has_values(t, c) for c in ("gend", "brdy", "die_date")):
            src = t
            break
    if src is None:
        return tables
    chronic_codes = [str(c) for c in rules.get("settings", {}).get("chronic", [])]
    aggs = {}
    for c in ("gend", "brdy", "insutype"):
        if c in src.columns:
            aggs[c] = src[c].min()
    if "die_date" in src.columns:
        aggs["die_date"] = src.die_date.max()
    chronic = ibis.literal(0)
    if "med_type" in src.columns and chronic_codes:
        chronic = src.med_type.isin(chronic_codes).cast("int64")
    if "dise_no" in src.columns:  # 门慢门特病种 recorded on the encounter
        chronic = ibis.greatest(chronic, src.dise_no.notnull().cast("int64"))
    if "chronic_flag" in src.columns:
        chronic = ibis.greatest(chronic, src.chronic_flag.cast("int64").fill_null(0))
    aggs["chronic_flag"] = chronic.max()
    out = dict(tables)
    out["psn_info_b"] = src.group_by("psn_no").aggregate(**aggs)
    return out


def derive_tables(tables: dict, rules: dict) -> dict:
    """All derivations of this module (called by the engine after loading)."""
    tables = persons_from_encounters(tables, rules)
    tables = inventory_views(tables)
    return tables


def _col(t, name: str, dtype: str = "string"):
    return t[name] if name in t.columns else ibis.null().cast(dtype)


def inventory_views(tables: dict) -> dict:
    """Add ``purchases`` / ``stock_moves`` derived from the 进销存 uploads when absent."""
    out = dict(tables)
    buy = tables.get("inv_purchase")
    if "purchases" not in tables and buy is not None:
        g = buy.group_by(
            fixmedins_code=buy.fixmedins_code,
            product_code=buy.med_list_codg,
            purchase_id=ibis.coalesce(_col(buy, "fixmedins_bchno"), buy.med_list_codg),
        ).aggregate(
            qty=_.purc_retn_cnt.sum(),
            purchase_price=_col(buy, "finl_trns_pric", "float64").max(),
            accept_date=_.purc_retn_stoin_time.min(),
        )
        out["purchases"] = g.mutate(amount=g.qty * g.purchase_price)
    if "stock_moves" not in tables and any(
        n in tables for n in ("inv_stocktake", "inv_purchase", "inv_sale")
    ):
        parts = []

        def part(t, kind, qty, when, sign):
            return t.select(
                move_id=ibis.literal(kind).concat(
                    ":", ibis.coalesce(_col(t, "fixmedins_bchno"), ibis.literal(""))
                ),
                fixmedins_code=t.fixmedins_code,
                product_code=t.med_list_codg,
                move_date=when.cast("timestamp"),
                move_type=ibis.literal("in" if kind in ("purchase", "purchase_return") else kind),
                qty=(qty * sign).cast("float64"),
            )

        st = tables.get("inv_stocktake")
        if st is not None:  # the first stocktake of a product is its opening stock
            w = ibis.window(group_by=[st.fixmedins_code, st.med_list_codg], order_by=st.invdate)
            first = st.mutate(_rn=ibis.row_number().over(w))
            first = first.filter(first._rn == 0)
            parts.append(part(first, "opening", first.inv_cnt, first.invdate, 1.0))
        if buy is not None:
            parts.append(part(buy, "purchase", buy.purc_retn_cnt, buy.purc_retn_stoin_time, 1.0))
        pr = tables.get("inv_purchase_return")
        if pr is not None:
            parts.append(
                part(pr, "purchase_return", pr.purc_retn_cnt.abs(), pr.purc_retn_stoin_time, -1.0)
            )
        sale = tables.get("inv_sale")
        if sale is not None:
            parts.append(part(sale, "sale", sale.sel_retn_cnt, sale.sel_retn_time, 1.0))
        sr = tables.get("inv_sale_return")
        if sr is not None:
            parts.append(part(sr, "sale", sr.sel_retn_cnt.abs(), sr.sel_retn_time, -1.0))
        u = parts[0]
        for p in parts[1:]:
            u = u.union(p, distinct=False)
        out["stock_moves"] = u
    return out

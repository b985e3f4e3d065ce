"""回流药 resold drugs: a drug traceability code (药品追溯码) sold or settled more than once.

Every package of a traced drug carries one ``drug_trac_codg``; since the 进销存 uploads
(interface 3505 销售 / 3506 销售退货) and the settlement lines carry it, a code that is sold
again while its earlier sale stands (not refunded through 3506 or a negative line) is a package
that came back into the supply chain — bought by a patient, collected and resold (回流药). A
refund (销售退货) before the next sale makes that sale legitimate, as does a re-sale after a
refund at the same institution.
"""

from __future__ import annotations

import ibis

from .engine import Context, units
from .registry import indicator


def _events(sales, returns, time_col: str, rid):
    """Sales (+1) and refunds (-1) of traced packages, one stream per code."""
    s = sales.filter(sales.drug_trac_codg.notnull())
    ev = s.select(
        code=s.drug_trac_codg,
        inst=s.fixmedins_code,
        t=s[time_col].cast("timestamp"),
        kind=ibis.literal(1),
        rid=rid(s),
        setl=_setl(s),
    )
    if returns is not None:
        r = returns.filter(returns.drug_trac_codg.notnull())
        ev = ev.union(
            r.select(
                code=r.drug_trac_codg,
                inst=r.fixmedins_code,
                t=r[time_col].cast("timestamp"),
                kind=ibis.literal(-1),
                rid=rid(r),
                setl=_setl(r),
            ),
            distinct=False,
        )
    return ev


def _setl(t):
    return t.setl_id.cast("string") if "setl_id" in t.columns else ibis.null().cast("string")


def _resold_units(ev, record_table: str):
    # refunds sort before sales at the same instant; the net count of the code "out" before a
    # sale is the running sum of +1 (sale) and -1 (refund) over the earlier events
    w = ibis.window(
        group_by=ev.code,
        order_by=[ev.t, ev.kind, ev.inst, ev.rid],
        preceding=None,
        following=0,
    )
    wl = ibis.window(group_by=ev.code, order_by=[ev.t, ev.kind, ev.inst, ev.rid])
    ev = ev.mutate(
        out_before=ev.kind.sum().over(w) - ev.kind,
        prev_inst=ev.inst.lag().over(wl),
        prev_setl=ev.setl.lag().over(wl),
        prev_t=ev.t.lag().over(wl),
    )
    sales = ev.filter(ev.kind == 1)
    flag = sales.out_before >= 1
    return units(
        sales,
        sales.inst,
        record_table,
        sales.rid,
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("drug_trac_codg=").concat(
            sales.code,
            " setl_id=",
            sales.setl.fill_null(""),
            "; sold before at ",
            sales.prev_inst.fill_null(""),
            " setl_id=",
            sales.prev_setl.fill_null(""),
            " ",
            sales.prev_t.cast("date").cast("string").fill_null(""),
        ),
    )


def _sale_rid(t):
    return ibis.coalesce(t.setl_id.cast("string"), ibis.literal("")).concat("/", t.drug_trac_codg)


@indicator(
    id="tr_code_sold_twice",
    family="drug_resale",
    zh="追溯码重复销售的药品销售占比 (进销存 3505/3506)",
    en="Share of traced drug sales whose traceability code was already sold and not refunded",
    basis="条例 第十五条、第三十八条 (倒卖/回流药品); 国家医保局 药品追溯码 应用 (2024–2025)",
    needs={
        "inv_sale": ["drug_trac_codg", "sel_retn_time", "fixmedins_code", "setl_id"],
    },
    params=[],
    description_zh="分子: 销售时该追溯码已有一次未退货的销售 (本机构或其他机构) 的销售记录数; 分母: 带追溯码的销售记录数 (3506 销售退货在先则不计)",
    description_en="numerator: sales of a traceability code that already had a standing (not refunded through 3506) sale at this or another institution; denominator: sales with a traceability code",
    unit="traced sale (inv_sale setl_id/drug_trac_codg)",
)
def tr_code_sold_twice(ctx: Context):
    ret = ctx.t.get("inv_sale_return")
    if ret is not None and "drug_trac_codg" not in ret.columns:
        ret = None
    ev = _events(ctx.t["inv_sale"], ret, "sel_retn_time", _sale_rid)
    return _resold_units(ev, "inv_sale")


@indicator(
    id="tr_code_settled_twice",
    family="drug_resale",
    zh="追溯码重复结算的药品明细占比 (费用明细)",
    en="Share of settled drug lines whose traceability code was already settled and not refunded",
    basis="条例 第十五条、第三十八条 (倒卖/回流药品); 国家医保局 药品追溯码 应用 (2024–2025)",
    needs={"fee_list_d": ["drug_trac_codg", "fee_ocur_time", "cnt", "bkkp_sn"]},
    params=[],
    description_zh="分子: 该追溯码此前已结算且未退费 (负数明细) 的药品明细数; 分母: 带追溯码的药品明细数",
    description_en="numerator: drug lines whose traceability code was settled before and not refunded by a negative line; denominator: lines with a traceability code",
    unit="fee line (bkkp_sn)",
)
def tr_code_settled_twice(ctx: Context):
    f = ctx.t["fee_list_d"]
    f = f.filter(f.drug_trac_codg.notnull())
    setl = f.setl_id.cast("string") if "setl_id" in f.columns else ibis.null().cast("string")
    ev = f.select(
        code=f.drug_trac_codg,
        inst=f.fixmedins_code,
        t=f.fee_ocur_time.cast("timestamp"),
        kind=ibis.ifelse(f.cnt < 0, -1, 1),
        rid=f.bkkp_sn.cast("string"),
        setl=setl,
    )
    return _resold_units(ev, "fee_list_d")


@indicator(
    id="tr_sold_not_purchased",
    family="drug_resale",
    zh="销售的追溯码未见于本机构采购记录的占比 (进销存 3503/3505)",
    en="Share of traced sales whose traceability code the institution never purchased",
    basis="条例 第十五条 (进销存不符); 药品追溯码 采购入库 与 销售 对应",
    needs={
        "inv_sale": ["drug_trac_codg", "fixmedins_code", "setl_id"],
        "inv_purchase": ["drug_trac_codg", "fixmedins_code"],
    },
    params=[],
    description_zh="分子: 追溯码不在本机构采购 (3503) 追溯码中的销售记录数; 分母: 本机构采购记录含追溯码时, 带追溯码的销售记录数",
    description_en="numerator: traced sales whose code is not among the institution's purchased (3503) codes; denominator: traced sales at institutions whose purchases carry codes",
    unit="traced sale (inv_sale setl_id/drug_trac_codg)",
)
def tr_sold_not_purchased(ctx: Context):
    s = ctx.t["inv_sale"]
    s = s.filter(s.drug_trac_codg.notnull())
    p = ctx.t["inv_purchase"]
    p = p.filter(p.drug_trac_codg.notnull())
    bought = p.select(b_inst=p.fixmedins_code, b_code=p.drug_trac_codg).distinct()
    tracing = p.select(t_inst=p.fixmedins_code).distinct()
    s = s.join(tracing, s.fixmedins_code == tracing.t_inst)  # institutions recording codes
    j = s.left_join(bought, [s.fixmedins_code == bought.b_inst, s.drug_trac_codg == bought.b_code])
    flag = j.b_code.isnull()
    return units(
        j,
        j.fixmedins_code,
        "inv_sale",
        _sale_rid(j),
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("drug_trac_codg=").concat(
            j.drug_trac_codg, " not purchased; setl_id=", j.setl_id.cast("string").fill_null("")
        ),
    )

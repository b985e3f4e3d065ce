"""零差率 zero markup: a public institution bills a drug above its latest purchase price."""

from __future__ import annotations

import ibis

from .common import fee_lines, in_list
from .engine import Context, day_num, units
from .registry import indicator


@indicator(
    id="zm_price_above_purchase",
    family="zero_markup",
    zh="公立医疗机构药品耗材收费单价高于最近采购价的明细占比",
    en="Share of public institutions' drug/consumable lines priced above the latest purchase price",
    basis="公立医疗机构药品耗材零差率销售; seed 003 §六(二); 条例 第十五条",
    needs={
        "fee_list_d": ["hilist_code", "pric", "med_chrgitm_type"],
        "purchases": ["product_code", "purchase_price", "accept_date"],
        "institutions": ["ownership"],
    },
    params=["zero_markup_chrgitm_types", "zero_markup_tolerance", "zero_markup_ownership"],
    description_zh="分子: 公立机构 西药/中成药/耗材 明细单价 > 该机构该产品收费日前最近一次验收采购单价 + 容差 的明细数; 分母: 收费日前有采购记录的此类明细数",
    description_en="numerator: public institutions' drug/consumable lines with pric above the latest purchase price of that product accepted on or before the fee day (+ tolerance); denominator: such lines with an earlier purchase",
    unit="fee line (bkkp_sn)",
)
def zm_price_above_purchase(ctx: Context):
    f = fee_lines(ctx)
    f = f.filter(
        in_list(f.med_chrgitm_type, ctx.p("zero_markup_chrgitm_types"))
        & in_list(f.ownership, ctx.p("zero_markup_ownership"))
    )
    p = ctx.t["purchases"]
    p = p.filter(p.purchase_price.notnull())
    # one event stream per institution × product: purchases (kind 0) before lines (kind 1) of a
    # day; each line takes the latest purchase by counting the purchases before it (portable as-of)
    lines = f.select(
        inst=f.fixmedins_code,
        code=f.hilist_code,
        day=f.fee_day,
        kind=ibis.literal(1),
        rid=f.bkkp_sn,
        price=f.pric,
    )
    buys = p.select(
        inst=p.fixmedins_code,
        code=p.product_code,
        day=day_num(p.accept_date),
        kind=ibis.literal(0),
        rid=p.purchase_id.cast("string"),
        price=p.purchase_price,
    )
    ev = lines.union(buys)
    w = ibis.window(
        group_by=[ev.inst, ev.code], order_by=[ev.day, ev.kind, ev.rid], preceding=None, following=0
    )
    ev = ev.mutate(seq=(ev.kind == 0).cast("int64").sum().over(w))
    b = ev.filter(ev.kind == 0).select(
        b_inst=ibis._.inst,
        b_code=ibis._.code,
        b_seq=ibis._.seq,
        b_price=ibis._.price,
        b_id=ibis._.rid,
    )
    ln = ev.filter((ev.kind == 1) & (ev.seq > 0))
    j = ln.join(b, [ln.inst == b.b_inst, ln.code == b.b_code, ln.seq == b.b_seq])
    flag = j.price > j.b_price + float(ctx.p("zero_markup_tolerance"))
    return units(
        j,
        j.inst,
        "fee_list_d",
        j.rid,
        num=flag.cast("float64"),
        flag=flag,
        detail=j.code.concat(
            " pric=",
            j.price.round(4).cast("string"),
            " purchase=",
            j.b_price.round(4).cast("string"),
            " ",
            j.b_id,
        ),
    )

"""集采违规 procurement: volume completion, non-selected share, demand, late payment, off-platform."""

from __future__ import annotations

import ibis
from ibis import _

from .engine import Context, day_num, units
from .registry import indicator


def _data_end_day(ctx: Context) -> int | None:
    p = ctx.t["purchases"]
    v = day_num(p.accept_date).max().execute()
    return None if v is None or v != v else int(v)


def _month_index(col):
    return col.year().cast("int64") * 12 + col.month().cast("int64")


@indicator(
    id="pr_volume_shortfall",
    family="procurement",
    zh="集采中选产品约定采购量未完成比例",
    en="Shortfall against the agreed volume of selected (集采) products",
    basis="国家组织药品集中采购 协议 (约定采购量); seed 003 §六(七)",
    needs={
        "procurement_agreements": [
            "agreement_id",
            "product_code",
            "selected_flag",
            "agreed_volume",
            "cycle_start",
            "cycle_end",
        ],
        "purchases": ["product_code", "qty", "accept_date"],
    },
    params=["procurement_completion_min", "procurement_prorate"],
    description_zh="分子: Σ max(0, 约定量×已过周期比例 − 周期内验收采购量); 分母: Σ 约定量×已过周期比例 (中选协议); 证据: 完成率低于100%的协议",
    description_en="numerator: Σ max(0, agreed volume × elapsed share of the cycle − volume accepted in the cycle); denominator: Σ agreed volume × elapsed share (selected agreements); evidence: agreements below 100 % completion",
    unit="agreement (agreement_id)",
)
def pr_volume_shortfall(ctx: Context):
    a = ctx.t["procurement_agreements"]
    a = a.filter((a.selected_flag == "1") & (a.agreed_volume > 0))
    p = ctx.t["purchases"]
    p = p.select(
        p_inst=p.fixmedins_code, p_code=p.product_code, p_qty=p.qty, p_day=day_num(p.accept_date)
    )
    a = a.mutate(c0=day_num(a.cycle_start), c1=day_num(a.cycle_end))
    j = a.left_join(
        p,
        [
            a.fixmedins_code == p.p_inst,
            a.product_code == p.p_code,
            p.p_day >= a.c0,
            p.p_day <= a.c1,
        ],
    )
    g = j.group_by(["agreement_id", "fixmedins_code", "agreed_volume", "c0", "c1"]).aggregate(
        bought=_.p_qty.sum()
    )
    g = g.mutate(bought=g.bought.fill_null(0.0))
    end = _data_end_day(ctx)
    if ctx.p("procurement_prorate") and end is not None:
        span = (g.c1 - g.c0 + 1).cast("float64")
        done = (ibis.least(g.c1, ibis.literal(end)) - g.c0 + 1).cast("float64")
        frac = ibis.greatest(ibis.least(done / span, 1.0), 0.0)
    else:
        frac = ibis.literal(1.0)
    g = g.mutate(expected=g.agreed_volume * frac)
    g = g.filter(g.expected > 0)
    short = ibis.greatest(g.expected - g.bought, 0.0)
    flag = g.bought < g.expected * float(ctx.p("procurement_completion_min"))
    return units(
        g,
        g.fixmedins_code,
        "procurement_agreements",
        g.agreement_id,
        num=short,
        den=g.expected,
        flag=flag,
        detail=ibis.literal("completion=").concat((g.bought / g.expected).round(3).cast("string")),
    )


@indicator(
    id="pr_non_selected_share",
    family="procurement",
    zh="有中选产品的通用名中非中选产品采购量占比",
    en="Non-selected share of purchases in generic groups with a selected product",
    basis="国家组织药品集中采购 (优先使用中选产品); seed 003 §六(七)",
    needs={
        "procurement_agreements": ["generic_group", "selected_flag", "product_code"],
        "purchases": ["purchase_id", "product_code", "generic_group", "qty"],
    },
    params=[],
    description_zh="分子: 机构有中选协议的通用名组内非中选产品采购数量; 分母: 这些通用名组的采购总量",
    description_en="numerator: quantity of non-selected products bought in generic groups where the institution has a selected agreement; denominator: total quantity bought in those groups",
    unit="purchase (purchase_id)",
)
def pr_non_selected_share(ctx: Context):
    a = ctx.t["procurement_agreements"]
    sel = a.filter(a.selected_flag == "1")
    groups = sel.select(g_inst=sel.fixmedins_code, g_grp=sel.generic_group).distinct()
    prods = sel.select(s_code=sel.product_code).distinct()
    p = ctx.t["purchases"]
    j = p.join(groups, [p.fixmedins_code == groups.g_inst, p.generic_group == groups.g_grp])
    j = j.left_join(prods, j.product_code == prods.s_code)
    if "selected_flag" in p.columns:
        selected = ibis.coalesce(j.selected_flag == "1", j.s_code.notnull())
    else:
        selected = j.s_code.notnull()
    non = ~selected
    return units(
        j,
        j.fixmedins_code,
        "purchases",
        j.purchase_id,
        num=ibis.ifelse(non, j.qty, 0.0),
        den=j.qty,
        flag=non,
        detail=j.generic_group.concat(" ", j.product_code),
    )


@indicator(
    id="pr_demand_underreport",
    family="procurement",
    zh="报送需求量低于上年实际采购量的协议占比",
    en="Share of agreements whose reported demand is below last year's actual volume",
    basis="国家组织药品集中采购 (如实报送采购需求量); seed 003 §六(七)",
    needs={"procurement_agreements": ["agreement_id", "reported_demand", "last_year_volume"]},
    params=["demand_underreport_ratio"],
    description_zh="分子: 报送需求量 < 比例×上年度实际采购量 的协议数; 分母: 两者均有的协议数",
    description_en="numerator: agreements with reported_demand < ratio × last_year_volume; denominator: agreements with both",
    unit="agreement (agreement_id)",
)
def pr_demand_underreport(ctx: Context):
    a = ctx.t["procurement_agreements"]
    a = a.filter(
        a.reported_demand.notnull() & a.last_year_volume.notnull() & (a.last_year_volume > 0)
    )
    flag = a.reported_demand < a.last_year_volume * float(ctx.p("demand_underreport_ratio"))
    return units(
        a,
        a.fixmedins_code,
        "procurement_agreements",
        a.agreement_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("reported/last_year=").concat(
            (a.reported_demand / a.last_year_volume).round(3).cast("string")
        ),
    )


@indicator(
    id="pr_late_payment",
    family="procurement",
    zh="验收后次月底前未付款的采购占比",
    en="Share of purchases paid after the end of the month following acceptance",
    basis="集采货款结算 (交货验收合格后次月底前结清); seed 003 §六(八)",
    needs={"purchases": ["purchase_id", "accept_date", "pay_date"]},
    params=["payment_deadline_months_after_acceptance"],
    description_zh="分子: 付款月份晚于验收月份+1 的采购数 (未付款且数据截止时已逾期的也计入); 分母: 已付款或已到期的采购数",
    description_en="numerator: purchases paid in a month later than the month after acceptance (unpaid and already overdue at the end of the data included); denominator: purchases paid or due",
    unit="purchase (purchase_id)",
)
def pr_late_payment(ctx: Context):
    p = ctx.t["purchases"]
    k = int(ctx.p("payment_deadline_months_after_acceptance"))
    end = p.accept_date.max().execute()
    end_m = None if end is None or end != end else end.year * 12 + end.month
    acc = _month_index(p.accept_date)
    paid_m = _month_index(p.pay_date)
    p = p.mutate(acc_m=acc, paid_m=paid_m)
    due = p.paid_m.notnull()
    if end_m is not None:
        due = due | (p.acc_m + k < end_m)
    p = p.filter(due)
    late = ibis.ifelse(p.paid_m.notnull(), p.paid_m > p.acc_m + k, ibis.literal(True))
    return units(
        p,
        p.fixmedins_code,
        "purchases",
        p.purchase_id,
        num=late.cast("float64"),
        flag=late,
        detail=ibis.literal("months_after_acceptance=").concat(
            (p.paid_m - p.acc_m).cast("string").fill_null("unpaid")
        ),
    )


@indicator(
    id="pr_off_platform",
    family="procurement",
    zh="平台外 (线下) 采购占比",
    en="Share of purchases made off the provincial procurement platform",
    basis="药品耗材应在省级招采平台采购; seed 003 §六(七)",
    needs={"purchases": ["purchase_id", "on_platform"]},
    params=[],
    description_zh="分子: on_platform=0 的采购数; 分母: 采购数",
    description_en="numerator: purchases with on_platform = 0; denominator: purchases",
    unit="purchase (purchase_id)",
)
def pr_off_platform(ctx: Context):
    p = ctx.t["purchases"]
    flag = (p.on_platform == "0").fill_null(False)
    return units(
        p,
        p.fixmedins_code,
        "purchases",
        p.purchase_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=p.product_code,
    )

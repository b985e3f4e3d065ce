"""分解处方 split prescriptions: several prescriptions within the limit that together exceed it."""

from __future__ import annotations

import ibis
from ibis import _

from .common import prescriptions
from .engine import Context, units
from .registry import indicator


@indicator(
    id="sp_split_rx",
    family="split_prescription",
    zh="同日/相邻日分解处方占比",
    en="Share of prescriptions split across the same or consecutive days",
    basis="《处方管理办法》第十九条; 条例 第十五条 (分解处方)",
    needs={"fee_list_d": ["prd_days", "hilist_code", "psn_no", "fee_ocur_time"]},
    params=["split_prescription_window_days", "days_supply_limit", "generic_key_length"],
    description_zh="分子: 同一机构同一参保人同一通用名, 在±1日内有≥2张处方 (处方号不同), 每张不超上限而合计天数超上限的处方数; 分母: 有天数上限的处方数",
    description_en="numerator: prescriptions that belong to a group (same institution, person, generic, start within ±1 day) of ≥2 prescriptions each within the limit whose summed days exceed it; denominator: prescriptions in settings with a limit",
    unit="prescription (mdtrt_id; detail = generic, rx number)",
)
def sp_split_rx(ctx: Context):
    rx = prescriptions(ctx)
    rx = rx.filter(rx.limit_days.notnull())
    win = int(ctx.p("split_prescription_window_days"))
    rw = ibis.range_window(
        group_by=[rx.fixmedins_code, rx.psn_no, rx.generic],
        order_by=rx.start_day,
        preceding=win,
        following=win,
    )
    rx = rx.mutate(
        grp_days=rx.days.sum().over(rw),
        grp_n=_.days.count().over(rw),
        grp_max=rx.days.max().over(rw),
    )
    flag = (rx.grp_n >= 2) & (rx.grp_days > rx.limit_days) & (rx.grp_max <= rx.limit_days)
    return units(
        rx,
        rx.fixmedins_code,
        "mdtrt_d",
        rx.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=rx.generic.concat(
            " rx=", rx.rx, " group_days=", rx.grp_days.cast("int64").cast("string")
        ),
    )

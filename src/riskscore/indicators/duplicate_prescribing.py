"""重复开药 duplicate prescribing: a new supply while the previous one still has days on hand."""

from __future__ import annotations

import ibis

from .common import prescriptions
from .engine import Context, units
from .registry import indicator


@indicator(
    id="dp_overlap_supply",
    family="duplicate_prescribing",
    zh="同一通用名药品余量未用完重复开药的处方占比",
    en="Share of prescriptions issued while the previous supply of the same generic is still on hand",
    basis="条例 第十五条 (重复开药); 智能审核规则 重复开药 (同一参保人同一通用名, 跨机构)",
    needs={"fee_list_d": ["prd_days", "hilist_code", "psn_no", "fee_ocur_time"]},
    params=[
        "duplicate_overlap_tolerance_days",
        "generic_key_length",
        "split_prescription_window_days",
    ],
    description_zh="分子: 同一参保人同一通用名 (任一机构) 前次处方剩余天数 > 容差 (3天) 时开具的新处方数 (归属开具新处方的机构; 同一机构±1日内的多张处方属分解处方, 不计); 分母: 门诊/急诊/慢特病/药店及出院带药处方数",
    description_en="numerator: prescriptions starting while the person's earlier supplies of the same generic (any institution) have more than the tolerance (3 days) left, attributed to the institution issuing the new supply (same-institution prescriptions within ±1 day are split prescriptions, not counted here); denominator: prescriptions",
    unit="prescription (mdtrt_id; detail = generic, rx number)",
)
def dp_overlap_supply(ctx: Context):
    rx = prescriptions(ctx)
    tol = int(ctx.p("duplicate_overlap_tolerance_days"))
    win = int(ctx.p("split_prescription_window_days"))
    order = [rx.start_day, rx.fixmedins_code, rx.rx]
    # prev_end: the latest end of the earlier supplies (the rows before this one), in the
    # same window pass as the lags (one sort)
    w_before = ibis.window(group_by=[rx.psn_no, rx.generic], order_by=order, rows=(None, -1))
    w = ibis.window(group_by=[rx.psn_no, rx.generic], order_by=order)
    rx = rx.mutate(
        prev_end=rx.end_day.max().over(w_before),
        prev_start=rx.start_day.lag().over(w),
        prev_inst=rx.fixmedins_code.lag().over(w),
    )
    on_hand = rx.prev_end - rx.start_day
    split_like = (rx.prev_inst == rx.fixmedins_code) & (rx.start_day - rx.prev_start <= win)
    flag = (on_hand > tol) & ~split_like.fill_null(False)
    flag = flag.fill_null(False)
    return units(
        rx,
        rx.fixmedins_code,
        "mdtrt_d",
        rx.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=rx.generic.concat(" rx=", rx.rx, " on_hand=", on_hand.fill_null(0).cast("string")),
    )

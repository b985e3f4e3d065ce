"""超量开药 over-prescription: days supply above the setting's limit."""

from __future__ import annotations

from .common import days_limit, fee_lines, in_list
from .engine import Context, units
from .registry import indicator


@indicator(
    id="op_days_over_limit",
    family="over_prescription",
    zh="超出处方用量天数上限的药品明细占比",
    en="Share of drug lines with days supply above the limit",
    basis="《处方管理办法》第十九条 (门诊7日、急诊3日); 《长期处方管理规范(试行)》2021 (12周); 条例 第十五条",
    needs={"fee_list_d": ["prd_days", "med_chrgitm_type"], "mdtrt_d": ["med_type"]},
    params=[
        "days_supply_limit",
        "pharmacy_chronic_uses_chronic_limit",
        "settings",
        "chrgitm_types",
    ],
    description_zh="分子: prd_days 超过就医方式上限 (普通门诊7, 急诊3, 门诊慢特病84, 药店: 慢特病人员84否则7) 的药品明细数; 分母: 上述就医方式中有 prd_days 的药品明细数",
    description_en="numerator: drug lines whose prd_days exceed the setting's limit (outpatient 7, emergency 3, chronic 84, pharmacy 84 for chronic-disease persons else 7); denominator: drug lines with prd_days in those settings",
    unit="fee line (bkkp_sn)",
)
def op_days_over_limit(ctx: Context):
    f = fee_lines(ctx)
    drug = in_list(f.med_chrgitm_type, ctx.p("chrgitm_types")["drug"])
    f = f.mutate(limit_days=days_limit(ctx, f.setting, f.chronic.fill_null(False)))
    f = f.filter(drug & f.prd_days.notnull() & f.limit_days.notnull())
    over = f.prd_days > f.limit_days
    return units(
        f,
        f.fixmedins_code,
        "fee_list_d",
        f.bkkp_sn,
        num=over.cast("float64"),
        flag=over,
        detail=f.hilist_code.concat(
            " prd_days=",
            f.prd_days.cast("int64").cast("string"),
            " limit=",
            f.limit_days.cast("int64").cast("string"),
        ),
    )

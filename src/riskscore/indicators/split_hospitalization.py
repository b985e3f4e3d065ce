"""分解住院 split hospitalization: readmission within the window with the same diagnosis."""

from __future__ import annotations

import ibis

from .common import encounters
from .engine import Context, units
from .registry import indicator


@indicator(
    id="sh_readmit_same_dx",
    family="split_hospitalization",
    zh="出院15日内同病种再入院 (非计划) 占比",
    en="Share of stays that are unplanned same-diagnosis readmissions within 15 days",
    basis="条例 第十五条 (分解住院); 医保定点医疗机构服务协议 (15日内再入院)",
    needs={"mdtrt_d": ["med_type", "endtime", "dscg_maindiag_code"]},
    params=[
        "readmission_window_days",
        "readmission_same_dx_chars",
        "planned_readmission_dx_prefixes",
        "settings",
    ],
    description_zh="分子: 同一参保人出院后15日内再次入院 (任一医院, 归属再入院医院) 且出院主诊断ICD-10前3位相同、非计划性再入院 (Z51/Z49/N18) 的住院次数; 分母: 住院次数",
    description_en="numerator: stays starting within 15 days of the person's previous discharge (any hospital; attributed to the readmitting hospital) with the same ICD-10 3-character category, excluding planned readmissions (Z51, Z49, N18); denominator: inpatient stays",
    unit="inpatient stay (mdtrt_id)",
)
def sh_readmit_same_dx(ctx: Context):
    e = encounters(ctx)
    s = e.filter(e.setting == "inpatient")
    n = int(ctx.p("readmission_same_dx_chars"))
    s = s.mutate(dx3=s.dx.upper().substr(0, n))
    w = ibis.window(group_by=s.psn_no, order_by=[s.begn_day, s.end_day, s.mdtrt_id])
    s = s.mutate(
        prev_end=s.end_day.lag().over(w), prev_dx3=s.dx3.lag().over(w), prev_dx=s.dx.lag().over(w)
    )
    planned = ibis.literal(False)
    for pref in ctx.p("planned_readmission_dx_prefixes"):
        pref = str(pref).upper()
        planned = planned | s.dx.upper().startswith(pref) | s.prev_dx.upper().startswith(pref)
    gap = s.begn_day - s.prev_end
    flag = (gap >= 0) & (gap <= int(ctx.p("readmission_window_days"))) & (s.dx3 == s.prev_dx3)
    flag = (flag & ~planned.fill_null(False)).fill_null(False)
    return units(
        s,
        s.fixmedins_code,
        "mdtrt_d",
        s.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=s.dx.concat(" gap_days=", gap.fill_null(-1).cast("string")),
    )

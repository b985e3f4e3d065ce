"""冒名/虚假就医 identity fraud: claims after death, overlapping stays, two regions in a day."""

from __future__ import annotations

import ibis
from ibis import _

from .common import encounters
from .engine import Context, units
from .registry import indicator


@indicator(
    id="if_after_death",
    family="identity_fraud",
    zh="参保人死亡后发生的就诊占比",
    en="Share of encounters dated after the person's death",
    basis="条例 第十五条、第十九条 (虚假就医、冒名就医)",
    needs={"psn_info_b": ["die_date"]},
    params=["after_death_grace_days"],
    description_zh="分子: 就诊开始日期晚于 psn_info_b.die_date (加宽限天数) 的就诊数; 分母: 就诊数",
    description_en="numerator: encounters starting after the person's die_date (+ grace days); denominator: encounters",
    unit="encounter (mdtrt_id)",
)
def if_after_death(ctx: Context):
    e = encounters(ctx)
    flag = (e.begn_day > e.die_day + int(ctx.p("after_death_grace_days"))).fill_null(False)
    return units(
        e,
        e.fixmedins_code,
        "mdtrt_d",
        e.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("days_after_death=").concat(
            (e.begn_day - e.die_day).fill_null(0).cast("string")
        ),
    )


@indicator(
    id="if_overlapping_stays",
    family="identity_fraud",
    zh="与其他机构住院时间重叠的住院占比",
    en="Share of stays overlapping the person's stay at another institution",
    basis="条例 第十五条、第十九条 (冒名住院、虚假住院)",
    needs={"mdtrt_d": ["med_type", "endtime"]},
    params=["settings"],
    description_zh="分子: 同一参保人在其他机构的住院与本次住院有整日重叠 (入院日 < 对方出院日 且 对方入院日 < 出院日) 的住院数; 分母: 住院数",
    description_en="numerator: stays overlapping (admission day < other's discharge day and other's admission day < discharge day) a stay of the same person at another institution; denominator: inpatient stays",
    unit="inpatient stay (mdtrt_id)",
)
def if_overlapping_stays(ctx: Context):
    e = encounters(ctx)
    s = e.filter(e.setting == "inpatient")
    o = s.select(
        o_psn=_.psn_no, o_inst=_.fixmedins_code, o_b=_.begn_day, o_e=_.end_day, o_id=_.mdtrt_id
    )
    j = s.join(
        o,
        [s.psn_no == o.o_psn, s.fixmedins_code != o.o_inst, s.begn_day < o.o_e, o.o_b < s.end_day],
    )
    hits = j.group_by(j.mdtrt_id).aggregate(other=_.o_id.min())
    hits = hits.select(h_id=hits.mdtrt_id, other=hits.other)
    s2 = s.left_join(hits, s.mdtrt_id == hits.h_id)
    flag = s2.other.notnull()
    return units(
        s2,
        s2.fixmedins_code,
        "mdtrt_d",
        s2.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("overlaps=").concat(s2.other),
    )


@indicator(
    id="if_two_regions_same_day",
    family="identity_fraud",
    zh="同日在两个及以上区划机构就诊的就诊占比",
    en="Share of encounters on a day the person also has an encounter in another region",
    basis="条例 第十五条、第十九条 (冒名就医; 同一参保凭证同日异地就医)",
    needs={"institutions": ["region"], "mdtrt_d": ["begntime"]},
    params=[],
    description_zh="分子: 同一参保人同一日在另一区划 (institutions.region) 的机构也有就诊的就诊数; 分母: 就诊数",
    description_en="numerator: encounters on a day when the same person has an encounter at an institution in another region (institutions.region); denominator: encounters",
    unit="encounter (mdtrt_id)",
)
def if_two_regions_same_day(ctx: Context):
    e = encounters(ctx)
    # min ≠ max region over the person's day (a window, not a self-join: Spark resolves a
    # self-join on columns derived from the same relation as always-true)
    w = ibis.window(group_by=[e.psn_no, e.begn_day])
    e = e.mutate(r_min=e.region.min().over(w), r_max=e.region.max().over(w))
    flag = (e.region.notnull() & (e.r_min != e.r_max)).fill_null(False)
    return units(
        e,
        e.fixmedins_code,
        "mdtrt_d",
        e.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("region=").concat(e.region.fill_null("")),
    )

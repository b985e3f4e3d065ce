"""挂床住院 bed-hanging: bed-only days, test-dominated stays, claims elsewhere during a stay."""

from __future__ import annotations

import ibis
from ibis import _

from .common import encounters, fee_lines, in_list
from .engine import Context, units
from .registry import indicator

_FEE_NEEDS = {
    "fee_list_d": ["med_chrgitm_type", "fee_ocur_time", "det_item_fee_sumamt"],
    "mdtrt_d": ["med_type"],
}


@indicator(
    id="bh_bed_only_days",
    family="bed_hanging",
    zh="仅有床位费/护理费的住院日占比",
    en="Share of inpatient days billed with only bed/nursing charges",
    basis="条例 第十五条 (挂床住院); 国家医保局 挂床住院 认定 (在院无实质诊疗)",
    needs=_FEE_NEEDS,
    params=["chrgitm_types", "settings"],
    description_zh="分子: 住院就诊中当日费用明细全部为床位费(01)/护理费(07)的住院日数; 分母: 有费用明细的住院日数",
    description_en="numerator: inpatient stay-days whose lines are all bed (01) or nursing (07); denominator: inpatient stay-days with any line",
    unit="stay-day (mdtrt_id; detail = day)",
)
def bh_bed_only_days(ctx: Context):
    f = fee_lines(ctx)
    f = f.filter(f.setting == "inpatient")
    bed = in_list(f.med_chrgitm_type, ctx.p("chrgitm_types")["bed_nursing"])
    f = f.mutate(is_bed=bed.cast("int64"))
    d = f.group_by(["fixmedins_code", "mdtrt_id", "fee_day"]).aggregate(
        n=_.count(), n_bed=_.is_bed.sum()
    )
    flag = d.n_bed == d.n
    return units(
        d,
        d.fixmedins_code,
        "mdtrt_d",
        d.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("day=").concat((d.fee_day).cast("string")),
    )


@indicator(
    id="bh_test_dominated_stays",
    family="bed_hanging",
    zh="检查化验费用占比≥80%且无治疗/药品的住院占比",
    en="Share of stays where tests are ≥80% of cost with no treatment or drugs",
    basis="通渭县医疗保障局 2024 挂床住院认定标准 (检查化验费用≥80%); 条例 第十五条",
    needs=_FEE_NEEDS,
    params=["test_dominated_share", "chrgitm_types", "settings"],
    description_zh="分子: 检查(03)化验(04)费用占住院总费用≥80%且无治疗(05)/手术(06)/药品(09-11)明细的住院次数; 分母: 有费用明细的住院次数",
    description_en="numerator: stays with tests (03, 04) ≥ 80% of the stay's cost and no treatment (05, 06) or drug (09–11) line; denominator: inpatient stays with lines",
    unit="inpatient stay (mdtrt_id)",
)
def bh_test_dominated_stays(ctx: Context):
    f = fee_lines(ctx)
    f = f.filter(f.setting == "inpatient")
    ty = ctx.p("chrgitm_types")
    f = f.mutate(
        test_amt=ibis.ifelse(in_list(f.med_chrgitm_type, ty["test"]), f.det_item_fee_sumamt, 0.0),
        treat=(
            in_list(f.med_chrgitm_type, ty["treatment"]) | in_list(f.med_chrgitm_type, ty["drug"])
        ).cast("int64"),
    )
    s = f.group_by(["fixmedins_code", "mdtrt_id"]).aggregate(
        total=_.det_item_fee_sumamt.sum(), tests=_.test_amt.sum(), n_treat=_.treat.sum()
    )
    share = s.tests / ibis.ifelse(s.total > 0, s.total, ibis.null().cast("float64"))
    flag = ((share >= float(ctx.p("test_dominated_share"))) & (s.n_treat == 0)).fill_null(False)
    return units(
        s,
        s.fixmedins_code,
        "mdtrt_d",
        s.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("test_share=").concat(share.round(3).cast("string")),
    )


@indicator(
    id="bh_claims_elsewhere",
    family="bed_hanging",
    zh="住院期间参保人在其他机构门诊/购药的住院占比",
    en="Share of stays during which the person has outpatient or pharmacy claims elsewhere",
    basis="条例 第十五条 (挂床住院); 智能监控规则 住院期间外院门诊/购药",
    needs={"mdtrt_d": ["med_type", "endtime"]},
    params=["settings"],
    description_zh="分子: 入院日与出院日之间 (不含两端) 该参保人在其他机构有非住院就诊的住院次数; 分母: 住院次数",
    description_en="numerator: stays with a non-inpatient encounter of the person at another institution strictly between admission and discharge days; denominator: inpatient stays",
    unit="inpatient stay (mdtrt_id)",
)
def bh_claims_elsewhere(ctx: Context):
    e = encounters(ctx)
    s = e.filter(e.setting == "inpatient")
    o = e.filter(e.setting != "inpatient").select(
        o_psn=_.psn_no, o_inst=_.fixmedins_code, o_day=_.begn_day, o_id=_.mdtrt_id
    )
    j = s.join(
        o,
        [
            s.psn_no == o.o_psn,
            s.fixmedins_code != o.o_inst,
            o.o_day > s.begn_day,
            o.o_day < s.end_day,
        ],
    )
    hits = j.group_by(j.mdtrt_id).aggregate(n_else=_.o_id.count(), first_else=_.o_id.min())
    hits = hits.select(h_id=hits.mdtrt_id, n_else=hits.n_else, first_else=hits.first_else)
    s2 = s.left_join(hits, s.mdtrt_id == hits.h_id)
    flag = s2.n_else.fill_null(0) > 0
    return units(
        s2,
        s2.fixmedins_code,
        "mdtrt_d",
        s2.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("elsewhere=").concat(s2.first_else),
    )

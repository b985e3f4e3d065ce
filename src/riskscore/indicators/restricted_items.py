"""超限定范围 restricted items: 两库 gender, age, insurance-type, care-setting, level rules."""

from __future__ import annotations

import ibis
from ibis import _

from .common import fee_lines, in_list
from .engine import Context, units
from .registry import indicator

_NEEDS = {"fee_list_d": ["hilist_code"]}
_PARAMS = [
    "child_max_age",
    "newborn_max_age_days",
    "infant_max_age",
    "working_age_max",
    "insurance_type_allowed",
    "institution_level_min",
    "settings",
]
_KIND_SOURCE = {
    "gender": "两库 第一批 限定性别 (b1_drug_gender, b1_item_gender)",
    "age": "两库 第一批 限定年龄 (b1_drug_age, b1_item_age) 及 第八批-2 (b8_item_age)",
    "insurance": "两库 第三批 限定保险类型 (b3_drug_insurance_type)",
    "setting": "两库 第四批 限定就医方式 (b4_drug_care_setting: 住院)",
    "level": "两库 第五批 限定机构等级 (b5_drug_institution_level: 二级及以上)",
}


def restricted_lines(ctx: Context):
    """Lines × matching 两库 restriction, with ``eligible`` and ``breach`` (one row per rule)."""

    def build():
        f = fee_lines(ctx)
        r = ctx.lk["lk_restrict"]
        j = f.join(r, f.hilist_code == r.code)
        ins = ctx.p("insurance_type_allowed")
        ins_ok = ibis.cases(
            *[
                (
                    j.value == v,
                    in_list(j.insutype, spec.get("insutype", []))
                    | in_list(j.eff_med_type, spec.get("med_type", [])),
                )
                for v, spec in ins.items()
            ],
            else_=ibis.literal(True),
        )
        known_gend = j.gend.isin(["1", "2"])
        eligible = ibis.cases(
            (j.kind == "gender", known_gend),
            (j.kind == "age", j.age.notnull()),
            (j.kind == "level", j.hosp_lv_num.notnull()),
            else_=ibis.literal(True),
        )
        breach = ibis.cases(
            (j.kind == "gender", known_gend & (j.gend != j.req_gend)),
            (j.kind == "age", j.age >= j.max_age),
            (j.kind == "insurance", ~ins_ok.fill_null(False)),
            (j.kind == "setting", j.setting != "inpatient"),
            (j.kind == "level", j.hosp_lv_num < j.min_level),
            else_=ibis.literal(False),
        )
        return j.mutate(eligible=eligible.fill_null(False), breach=breach.fill_null(False))

    return ctx.cached("restricted", build, materialize=True)


def _detail(j):
    return j.hilist_code.concat(" ", j.source, " ", j.value)


@indicator(
    id="ri_restriction_breach",
    family="restricted_items",
    zh="两库限定范围 (性别/年龄/险种/就医方式/机构等级) 违规明细占比",
    en="Share of restricted-code lines breaking their 两库 restriction",
    basis="国家医保局 两库 第一、三、四、五、八批; 条例 第十五条 (超限定范围)",
    needs=_NEEDS,
    params=_PARAMS,
    description_zh="分子: 医保目录编码属两库限定 (b1 性别/年龄, b3 险种, b4 就医方式, b5 机构等级, b8 年龄) 且违反任一限定的明细数; 分母: 属限定编码且可判定的明细数",
    description_en="numerator: lines of a 两库-restricted code (b1 gender/age, b3 insurance type, b4 care setting, b5 institution level, b8 age) breaking any of its restrictions; denominator: restricted-code lines that can be judged",
    unit="fee line (bkkp_sn)",
)
def ri_restriction_breach(ctx: Context):
    j = restricted_lines(ctx).filter(_.eligible)
    j = j.mutate(b=j.breach.cast("int64"))
    g = j.group_by(["fixmedins_code", "bkkp_sn"]).aggregate(
        nb=_.b.sum(), what=_.kind.concat(":", _.value).max(where=_.breach)
    )
    flag = g.nb > 0
    return units(
        g,
        g.fixmedins_code,
        "fee_list_d",
        g.bkkp_sn,
        num=flag.cast("float64"),
        flag=flag,
        detail=g.what,
    )


def _per_kind(kind: str):
    def compute(ctx: Context):
        j = restricted_lines(ctx)
        j = j.filter((j.kind == kind) & j.eligible)
        g = j.group_by(["fixmedins_code", "bkkp_sn"]).aggregate(
            nb=_.breach.cast("int64").sum(), what=_.hilist_code.concat(" ", _.value).max()
        )
        flag = g.nb > 0
        return units(
            g,
            g.fixmedins_code,
            "fee_list_d",
            g.bkkp_sn,
            num=flag.cast("float64"),
            flag=flag,
            detail=g.what,
        )

    return compute


for _kind, _id, _zh, _en in (
    (
        "gender",
        "ri_gender",
        "限定性别项目性别不符明细占比",
        "Share of gender-restricted lines billed to the other gender",
    ),
    (
        "age",
        "ri_age",
        "限定年龄项目年龄不符明细占比",
        "Share of age-restricted lines billed outside the age range",
    ),
    (
        "insurance",
        "ri_insurance_type",
        "限定险种项目险种不符明细占比",
        "Share of insurance-type-restricted lines billed to another insurance",
    ),
    (
        "setting",
        "ri_care_setting",
        "限住院项目非住院使用明细占比",
        "Share of inpatient-only lines billed outside inpatient care",
    ),
    (
        "level",
        "ri_institution_level",
        "限定机构等级项目低等级机构使用明细占比",
        "Share of level-restricted lines billed by a lower-level institution",
    ),
):
    indicator(
        id=_id,
        family="restricted_items",
        zh=_zh,
        en=_en,
        basis=_KIND_SOURCE[_kind] + "; 条例 第十五条",
        needs=_NEEDS,
        params=_PARAMS,
        description_zh=f"分子: 属该类限定 ({_KIND_SOURCE[_kind]}) 且违反限定的明细数; 分母: 属该类限定且可判定的明细数",
        description_en=f"numerator: lines with a {_kind} restriction that break it; denominator: lines with a {_kind} restriction that can be judged",
        unit="fee line (bkkp_sn)",
    )(_per_kind(_kind))

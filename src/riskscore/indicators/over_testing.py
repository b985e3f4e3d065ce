"""过度检查 over-testing: 两库 frequency/period rules and tests per encounter against the province."""

from __future__ import annotations

import ibis
from ibis import _

from .common import encounter_fees, encounters, own_fee_lines
from .engine import Context, units
from .registry import indicator


@indicator(
    id="ot_b8_frequency",
    family="over_testing",
    zh="超两库限定频次 (每日) 的项目-日占比",
    en="Share of item-days above the 两库 per-day frequency limit",
    basis="国家医保局 两库 第八批-1 限定频次 (b8_item_frequency); 条例 第十五条 (过度诊疗、过度检查)",
    needs={"fee_list_d": ["hilist_code", "cnt", "fee_ocur_time"]},
    params=[],
    description_zh="分子: 同一就诊同一项目同一日数量合计超过 b8 限制数量 (日/天: 次数; 小时: 24小时) 的项目-日数; 分母: b8 限定频次项目的项目-日数",
    description_en="numerator: encounter × item × day groups whose summed cnt exceeds the b8 limit (per day, or 24 hours per day); denominator: encounter × item × day groups of b8-frequency items",
    unit="encounter-item-day (mdtrt_id; detail = code, day)",
)
def ot_b8_frequency(ctx: Context):
    f = own_fee_lines(ctx)
    r = ctx.lk["lk_freq"]
    j = f.join(r, f.hilist_code == r.code)
    g = j.group_by(["fixmedins_code", "mdtrt_id", "hilist_code", "fee_day"]).aggregate(
        qty=_.cnt.sum(), lim=_.max_per_day.max()
    )
    flag = g.qty > g.lim
    return units(
        g,
        g.fixmedins_code,
        "mdtrt_d",
        g.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=g.hilist_code.concat(
            " day=", g.fee_day.cast("string"), " qty=", g.qty.cast("string")
        ),
    )


@indicator(
    id="ot_b8_period",
    family="over_testing",
    zh="超两库限定周期频次的项目明细占比",
    en="Share of item lines above the 两库 period limit (N within M days)",
    basis="国家医保局 两库 第八批-4 限定周期 (b8_item_period, e.g. 糖化血红蛋白 15日1次); 条例 第十五条",
    needs={"fee_list_d": ["hilist_code", "psn_no", "cnt", "fee_ocur_time"]},
    params=["period_rule_scope"],
    description_zh="分子: 同一参保人同一项目 (同一机构) 在 M 日内超过 N 次的明细数 (第 N+1 次及以后); 分母: b8 限定周期项目明细数",
    description_en="numerator: lines of a b8-period item that are beyond the N-th within M days for the same person (same institution by default); denominator: lines of b8-period items",
    unit="fee line (bkkp_sn)",
)
def ot_b8_period(ctx: Context):
    f = own_fee_lines(ctx)
    r = ctx.lk["lk_period"]
    j = f.join(r, f.hilist_code == r.code)
    keys = [j.psn_no, j.hilist_code]
    if ctx.p("period_rule_scope") == "institution":
        keys.append(j.fixmedins_code)
    w = ibis.window(group_by=keys, order_by=[j.fee_day, j.bkkp_sn])
    # the limits N of the rule table are few (usually 1): one lag per distinct N
    ns = sorted({int(v) for v in ctx.lk["lk_period"].max_n.execute().dropna()})
    lags = {n: j.fee_day.lag(n).over(w) for n in ns}
    lag_n = (
        ibis.cases(*[(j.max_n == n, lags[n]) for n in ns], else_=ibis.null().cast("int64"))
        if ns
        else ibis.null().cast("int64")
    )
    j = j.mutate(lag_n=lag_n)
    flag = ((j.fee_day - j.lag_n) < j.period_days).fill_null(False) | (j.cnt > j.max_n)
    return units(
        j,
        j.fixmedins_code,
        "fee_list_d",
        j.bkkp_sn,
        num=flag.cast("float64"),
        flag=flag,
        detail=j.hilist_code.concat(
            " gap_days=", (j.fee_day - j.lag_n).fill_null(-1).cast("string")
        ),
    )


@indicator(
    id="ot_tests_per_encounter",
    family="over_testing",
    zh="次均检查化验项目数 (按诊断与就医方式标化, 实际/期望)",
    en="Tests per encounter, observed over expected given diagnosis and setting",
    basis="条例 第十五条 (过度检查); 检查化验费用监测 (同诊断同类别比较)",
    needs={"fee_list_d": ["med_chrgitm_type"], "mdtrt_d": ["med_type"]},
    params=["tests_excess_evidence", "chrgitm_types", "settings"],
    description_zh="分子: 检查(03)化验(04)明细数; 分母: 期望数 = 各就诊所属 (就医方式 × 主诊断前3位) 全省次均检查化验数之和 (间接标化); 证据: 实际≥2倍期望且多出≥3项的就诊",
    description_en="numerator: test lines (03, 04); denominator: expected tests = sum over encounters of the province mean for the same setting × ICD-10 3-character diagnosis (indirect standardisation); evidence: encounters with ≥ 2× expected and ≥ 3 more",
    unit="encounter (mdtrt_id)",
)
def ot_tests_per_encounter(ctx: Context):
    t = encounter_fees(ctx)  # test lines per encounter
    t = t.select(t_id=t.f_mid, n_tests=t.f_n_test)
    e = encounters(ctx)
    e = e.filter(e.setting.isin(["outpatient", "emergency", "chronic", "inpatient"]))
    e = e.left_join(t, e.mdtrt_id == t.t_id)
    e = e.mutate(
        n_tests=e.n_tests.fill_null(0).cast("float64"),
        dx3=ibis.coalesce(e.dx.upper().substr(0, 3), ibis.literal("-")),
    )
    e = e.mutate(expected=e.n_tests.mean().over(ibis.window(group_by=[e.setting, e.dx3])))
    ev = ctx.p("tests_excess_evidence")
    flag = (e.n_tests >= float(ev["ratio"]) * e.expected) & (
        e.n_tests - e.expected >= float(ev["min_excess"])
    )
    return units(
        e,
        e.fixmedins_code,
        "mdtrt_d",
        e.mdtrt_id,
        num=e.n_tests,
        den=e.expected,
        flag=flag,
        detail=ibis.literal("tests=").concat(
            e.n_tests.cast("int64").cast("string"), " expected=", e.expected.round(2).cast("string")
        ),
    )

"""异常诊疗与费用 abnormal utilisation: the profile figures fund supervisors watch.

Every indicator here runs on encounters and settlements alone (``mdtrt_d``, ``setl_d``,
``setl_list_diag_d``; the fee-share indicators also on ``fee_list_d`` when present) and is
compared with the province after **case-mix adjustment by indirect standardisation**: each
unit (encounter, stay, settlement, patient) belongs to a cell — main-diagnosis group (ICD-10
first ``utilization_dx_chars`` characters) × ``med_type`` — and its *expected* value is the
province mean of its cell. An institution's figure is observed ÷ expected (O/E; 1 = like
the province for the same case mix), and the values handed to the scorer keep the units'
natural scale (the scorer's priors and posteriors are formed on the denominator):

- **amount figures** (cost per encounter, length of stay, encounters per patient, drug /
  consumable / test shares): ``numerator = N × O / E`` and ``denominator = N`` (N units,
  O = Σ observed, E = Σ expected), so the rate is exactly O/E; kind ``rate`` (gamma-Poisson:
  sampling variance O/E ÷ N, i.e. a per-unit coefficient of variation near one);
- **count figures** (readmissions, inpatient admissions, month-end or holiday settlements,
  high-cost encounters): ``numerator = p̄ × N × O / E`` and ``denominator = N`` with the
  province rate p̄, so the rate is the *indirectly standardised rate* ``p̄ × O / E`` (a share
  comparable with the crude rates, e.g. "9.3 % readmitted, peers 0.7 %");
- the busiest physician's share is a plain share (not standardised: compared within peers).

``ut_nonlocal_patients`` also needs the institutions' ``region`` and the insured's 参保地
(``insu_admdvs`` of ``mdtrt_d``, else of ``psn_info_b``): encounters of persons insured
outside the institution's area are the trace of borrowed or collected identities (虚构就诊,
冒名就医), which seldom come from the institution's own catchment.

Direction: every indicator is scored **too high only** (the scorer counts excess over the
peer norm). Too-short stays are the split-hospitalisation family's concern, and a low cost
per encounter is not a fund risk by itself.
"""

from __future__ import annotations

import datetime as _dt

import ibis
from ibis import _

from .common import encounter_fees, encounters, group_stats, join_groups
from .engine import Context, day_num, units
from .registry import Skip, indicator

FAMILY = "abnormal_utilization"
_NULL_S = ibis.null().cast("string")
_NULL_F = ibis.null().cast("float64")
_EPOCH = _dt.date(2000, 1, 1)


# ----------------------------------------------------------------------------- building blocks
def _main_dx_from_list(ctx: Context):
    """Main diagnosis per mdtrt_id from setl_list_diag_d (maindiag_flag = 1), or None."""
    if not ctx.has("setl_list_diag_d", "diag_code", "maindiag_flag"):
        return None
    d = ctx.t["setl_list_diag_d"]
    d = d.filter(d.maindiag_flag == "1")
    if "mdtrt_id" in d.columns:
        mid = d.mdtrt_id
        if ctx.has("setl_d", "setl_id", "mdtrt_id"):
            s = ctx.t["setl_d"].select(s_setl=_.setl_id, s_mid=_.mdtrt_id)
            d = d.left_join(s, d.setl_id == s.s_setl)
            mid = ibis.coalesce(d.mdtrt_id, d.s_mid)
    elif ctx.has("setl_d", "setl_id", "mdtrt_id"):
        s = ctx.t["setl_d"].select(s_setl=_.setl_id, s_mid=_.mdtrt_id)
        d = d.join(s, d.setl_id == s.s_setl)
        mid = d.s_mid
    else:
        return None
    d = d.mutate(l_mid=mid).filter(_.l_mid.notnull())
    return d.group_by("l_mid").aggregate(l_dx=_.diag_code.min())


def _settled(ctx: Context):
    """Net settled amount and last settlement time per mdtrt_id (refunds subtracted), or None."""
    if not ctx.has("setl_d", "mdtrt_id", "medfee_sumamt"):
        return None
    s = ctx.t["setl_d"]
    amt = s.medfee_sumamt.cast("float64")
    if "refd_setl_flag" in s.columns:
        amt = ibis.ifelse(s.refd_setl_flag == "1", -amt.abs(), amt)
    s = s.mutate(_amt=amt)
    return (
        s.group_by(s.mdtrt_id)
        .aggregate(s_cost=_._amt.sum(), s_n=_.count())
        .rename(s_mid="mdtrt_id")
    )


def enc_profile(ctx: Context):
    """Encounters with diagnosis group, cell, cost and length of stay.

    Columns: mdtrt_id, psn_no, fixmedins_code, med_type, setting, begn_day, end_day, dx, dxg,
    mt (med_type, '-' when null), cost (net settled amount, null without a settlement), los.
    """

    def build():
        e = encounters(ctx)
        dx = e.dx
        lst = _main_dx_from_list(ctx)
        if lst is not None:
            e = e.left_join(lst, e.mdtrt_id == lst.l_mid)
            dx = ibis.coalesce(e.dx, e.l_dx)
        cost = _NULL_F
        st = _settled(ctx)
        if st is not None:
            e = e.left_join(st, e.mdtrt_id == st.s_mid)
            cost = e.s_cost
        n = int(ctx.p("utilization_dx_chars"))
        dxg = ibis.coalesce(dx.upper().strip().substr(0, n), ibis.literal("-"))
        los = e.end_day - e.begn_day
        return e.select(
            mdtrt_id=e.mdtrt_id,
            psn_no=e.psn_no,
            fixmedins_code=e.fixmedins_code,
            med_type=e.med_type,
            setting=e.setting,
            begn_day=e.begn_day,
            end_day=e.end_day,
            dx=dx,
            dxg=dxg,
            mt=ibis.coalesce(e.med_type, ibis.literal("-")),
            cost=cost,
            los=ibis.greatest(los, 1).cast("float64"),
        )

    return ctx.cached("ut_enc", build, materialize=True)


def _per_unit(t):
    """Add ``_num, _den`` from ``_v`` (observed) and ``_exp`` (expected) of each unit.

    Per institution ``Σ _num = O × N / E`` and ``Σ _den = N`` (N units, O = Σ observed,
    E = Σ expected): the ratio is exactly O/E while the denominator counts units, the scale
    on which the scorer's priors and posteriors are formed.
    """
    t = group_stats(t, ["fixmedins_code"], _e_inst=_._exp.sum(), _n_inst=_._v.count())
    scale = ibis.ifelse(t._e_inst > 0, t._n_inst / t._e_inst, 0.0)
    return t.mutate(_num=(t._v * scale).fill_null(0.0), _den=ibis.literal(1.0))


def _amount_oe(t, value, cell: list):
    """Add ``_v, _exp, _num, _den``: value, its cell mean (expected) and the O/E parts."""
    t = t.mutate(_v=value.cast("float64"))
    # the cell mean stays a window: evidence details print it rounded, and a GROUP BY sums in
    # another order (a last-bit difference can change the printed digits)
    t = t.mutate(_exp=t._v.mean().over(ibis.window(group_by=[t[c] for c in cell])))
    return _per_unit(t)


def _count_oe(t, flag, cell: list):
    """Add ``_f, _exp, _num, _den`` for a 0/1 flag, indirectly standardised.

    ``_exp`` is the unit's cell rate; per institution ``Σ _num = O × p̄ × N / E`` (observed
    count O, expected count E = Σ cell rates, province rate p̄, N units) and ``Σ _den = N``,
    so the institution's rate is the indirectly standardised rate ``p̄ × O / E`` on the
    natural scale of its units (the scorer's priors compare it with N units, not with E).
    """
    t = t.mutate(_f=flag.fill_null(False).cast("float64"))
    t = t.mutate(_exp=t._f.mean().over(ibis.window(group_by=[t[c] for c in cell])))
    t = t.cross_join(t.aggregate(_pbar=t._f.mean()))
    t = group_stats(t, ["fixmedins_code"], _e_inst=_._exp.sum(), _n_inst=_._f.count())
    scale = ibis.ifelse(t._e_inst > 0, t._pbar * t._n_inst / t._e_inst, 0.0)
    return t.mutate(_num=t._f * scale, _den=ibis.literal(1.0))


def _ratio_detail(label: str, t):
    return ibis.literal(label + "=").concat(
        t._v.round(2).cast("string"), " expected=", t._exp.round(2).cast("string")
    )


def _outlier(ctx: Context, t, min_excess: float = 0.0):
    r = float(ctx.p("utilization_outlier_ratio"))
    return ((t._v >= r * t._exp) & (t._v - t._exp >= min_excess) & (t._exp > 0)).fill_null(False)


# ----------------------------------------------------------------------------- indicators
_ENC = {"mdtrt_d": ["med_type"]}
_COST = {"mdtrt_d": ["med_type"], "setl_d": ["mdtrt_id", "medfee_sumamt"]}
_STAY = {"mdtrt_d": ["med_type", "endtime"]}
_CLINICAL = ["outpatient", "emergency", "chronic", "inpatient"]


@indicator(
    id="ut_cost_per_encounter",
    family=FAMILY,
    zh="次均费用 (按主诊断与医疗类别标化, 实际/期望)",
    en="Cost per encounter, observed over expected given main diagnosis and med_type",
    basis="条例 第十五条、第三十八条 (过度诊疗、虚增费用); 医保基金监管 次均费用监测",
    needs=_COST,
    params=["utilization_dx_chars", "utilization_outlier_ratio"],
    description_zh="单位: 已结算就诊; 实际: 医疗费总额 (setl_d.medfee_sumamt, 退费冲减); 期望: 所属单元 (主诊断前3位 × 医疗类别) 的全省次均费用; 分子 = 单位数 × 实际合计 ÷ 期望合计; 分母 = 单位数 (比值 = 实际/期望, 间接标化); 方向: 仅偏高; 证据: 费用≥2倍期望的就诊",
    description_en="unit: settled encounter; observed: its medical cost (setl_d.medfee_sumamt, refunds netted); expected: the province mean of its cell (ICD-10 3-character group × med_type); numerator = units × observed total ÷ expected total; denominator = units (ratio = observed/expected, indirect standardisation); direction: too high only; evidence: encounters costing ≥ 2× expected",
    unit="encounter (mdtrt_id)",
)
def ut_cost_per_encounter(ctx: Context):
    e = enc_profile(ctx)
    e = e.filter(e.cost.notnull())
    e = _amount_oe(e, ibis.greatest(e.cost, 0.0), ["dxg", "mt"])
    return units(
        e,
        e.fixmedins_code,
        "mdtrt_d",
        e.mdtrt_id,
        num=e._num,
        den=e._den,
        flag=_outlier(ctx, e),
        detail=_ratio_detail("cost", e),
    )


@indicator(
    id="ut_length_of_stay",
    family=FAMILY,
    zh="平均住院日 (按主诊断标化, 实际/期望)",
    en="Length of stay, observed over expected given main diagnosis",
    basis="条例 第十五条 (挂床住院、延长住院); 医保基金监管 平均住院日监测",
    needs=_STAY,
    params=["utilization_dx_chars", "utilization_outlier_ratio", "utilization_min_excess_days"],
    description_zh="单位: 住院; 实际: 住院日 (出院日 − 入院日, 至少1日); 期望: 所属单元 (主诊断前3位 × 医疗类别) 的全省平均住院日; 分子 = 单位数 × 实际合计 ÷ 期望合计; 分母 = 单位数 (比值 = 实际/期望, 间接标化); 方向: 仅偏高 (过短见分解住院); 证据: 住院日≥2倍期望且多出≥3日的住院",
    description_en="unit: inpatient stay; observed: its days (discharge day − admission day, at least 1); expected: the province mean stay of its cell (ICD-10 3-character group × med_type); numerator = units × observed total ÷ expected total; denominator = units (ratio = observed/expected, indirect standardisation); direction: too high only (too short is split hospitalisation's concern); evidence: stays ≥ 2× expected and ≥ 3 days longer",
    unit="inpatient stay (mdtrt_id)",
)
def ut_length_of_stay(ctx: Context):
    e = enc_profile(ctx)
    e = e.filter(e.setting == "inpatient")
    e = _amount_oe(e, e.los, ["dxg", "mt"])
    flag = _outlier(ctx, e, float(ctx.p("utilization_min_excess_days")))
    return units(
        e,
        e.fixmedins_code,
        "mdtrt_d",
        e.mdtrt_id,
        num=e._num,
        den=e._den,
        flag=flag,
        detail=_ratio_detail("days", e),
    )


@indicator(
    id="ut_encounters_per_person",
    family=FAMILY,
    zh="人次人头比 (按医疗类别与主诊断标化, 实际/期望)",
    en="Encounters per patient, observed over expected given med_type and main diagnosis",
    basis="条例 第十五条 (诱导就医、分解就诊); 医保基金监管 人次人头比监测",
    needs=_ENC,
    params=["utilization_outlier_ratio"],
    description_zh="单位: 机构 × 参保人 × 医疗类别; 实际: 该参保人在本机构的就诊人次; 期望: 同医疗类别 × 主诊断类目 (该参保人在本机构的最小诊断类目) 的全省每人就诊次数均值; 分子 = 单位数 × 实际合计 ÷ 期望合计; 分母 = 单位数 (比值 = 实际/期望, 间接标化); 方向: 仅偏高; 证据: 人次≥2倍期望且多出≥3次的参保人 (记录为其首次就诊)",
    description_en="unit: institution × person × med_type; observed: the person's encounters there; expected: the province mean encounters per person of the same med_type × ICD-10 3-character group (the person's smallest group there); numerator = units × observed total ÷ expected total; denominator = units (ratio = observed/expected, indirect standardisation); direction: too high only; evidence: persons with ≥ 2× expected and ≥ 3 more encounters (recorded as their first encounter)",
    unit="patient at the institution per med_type (evidence: first mdtrt_id)",
)
def ut_encounters_per_person(ctx: Context):
    e = enc_profile(ctx)
    p = e.group_by(["fixmedins_code", "psn_no", "mt"]).aggregate(
        n=_.count(), first_id=_.mdtrt_id.min(), dxg=_.dxg.min()
    )
    p = _amount_oe(p, p.n, ["mt", "dxg"])
    return units(
        p,
        p.fixmedins_code,
        "mdtrt_d",
        p.first_id,
        num=p._num,
        den=p._den,
        flag=_outlier(ctx, p, 3.0),
        detail=_ratio_detail("encounters", p),
    )


def _readmissions(ctx: Context, window: int):
    e = enc_profile(ctx)
    s = e.filter(e.setting == "inpatient")
    w = ibis.window(group_by=s.psn_no, order_by=[s.begn_day, s.end_day, s.mdtrt_id])
    s = s.mutate(prev_end=s.end_day.lag().over(w), prev_dx=s.dx.lag().over(w))
    planned = ibis.literal(False)
    for pref in ctx.p("planned_readmission_dx_prefixes"):
        pref = str(pref).upper()
        planned = planned | s.dx.upper().startswith(pref) | s.prev_dx.upper().startswith(pref)
    gap = s.begn_day - s.prev_end
    flag = ((gap >= 0) & (gap <= window) & ~planned.fill_null(False)).fill_null(False)
    s = _count_oe(s, flag, ["dxg", "mt"])
    return units(
        s,
        s.fixmedins_code,
        "mdtrt_d",
        s.mdtrt_id,
        num=s._num,
        den=s._den,
        flag=s._f > 0,
        detail=s.dx.fill_null("").concat(" gap_days=", gap.fill_null(-1).cast("string")),
    )


_READMIT_DOC = dict(
    family=FAMILY,
    basis="条例 第十五条 (分解住院、诱导住院); 医保定点医疗机构服务协议 (再入院率监测)",
    needs={"mdtrt_d": ["med_type", "endtime"]},
    params=["planned_readmission_dx_prefixes", "utilization_dx_chars", "settings"],
    unit="inpatient stay (mdtrt_id)",
)


@indicator(
    id="ut_readmit_15d",
    zh="出院15日内再入院率 (任意原因, 按主诊断标化, 实际/期望)",
    en="Any-cause readmissions within 15 days, observed over expected given main diagnosis",
    description_zh="单位: 住院; 实际: 同一参保人出院后15日内再次入院 (任一医院, 归属再入院医院; 任意诊断; 不含计划性再入院 Z51/Z49/N18) 的住院; 期望: 所属单元 (主诊断前3位 × 医疗类别) 的全省再入院率; 分子 = 全省率 × 单位数 × 实际数 ÷ 期望数; 分母 = 单位数 (比值 = 间接标化率); 方向: 仅偏高",
    description_en="unit: inpatient stay; observed: stays starting within 15 days of the person's previous discharge (any hospital, attributed to the readmitting one; any diagnosis; planned readmissions Z51, Z49, N18 excluded); expected: the province readmission rate of the stay's cell (ICD-10 3-character group × med_type); numerator = province rate × units × observed ÷ expected count; denominator = units (ratio = the indirectly standardised rate); direction: too high only",
    **_READMIT_DOC,
)
def ut_readmit_15d(ctx: Context):
    return _readmissions(ctx, 15)


@indicator(
    id="ut_readmit_30d",
    zh="出院30日内再入院率 (任意原因, 按主诊断标化, 实际/期望)",
    en="Any-cause readmissions within 30 days, observed over expected given main diagnosis",
    description_zh="单位: 住院; 实际: 同一参保人出院后30日内再次入院 (任一医院, 归属再入院医院; 任意诊断; 不含计划性再入院 Z51/Z49/N18) 的住院; 期望: 所属单元 (主诊断前3位 × 医疗类别) 的全省再入院率; 分子 = 全省率 × 单位数 × 实际数 ÷ 期望数; 分母 = 单位数 (比值 = 间接标化率); 方向: 仅偏高",
    description_en="unit: inpatient stay; observed: stays starting within 30 days of the person's previous discharge (any hospital, attributed to the readmitting one; any diagnosis; planned readmissions Z51, Z49, N18 excluded); expected: the province readmission rate of the stay's cell (ICD-10 3-character group × med_type); numerator = province rate × units × observed ÷ expected count; denominator = units (ratio = the indirectly standardised rate); direction: too high only",
    **_READMIT_DOC,
)
def ut_readmit_30d(ctx: Context):
    return _readmissions(ctx, 30)


@indicator(
    id="ut_inpatient_share",
    family=FAMILY,
    zh="住院率 (住院人次占就诊人次, 按主诊断标化, 实际/期望)",
    en="Inpatient share of encounters, observed over expected given main diagnosis",
    basis="条例 第十五条 (小病大治、降低入院标准); 医保基金监管 住院率监测",
    needs=_ENC,
    params=["utilization_dx_chars", "settings"],
    description_zh="单位: 门诊、急诊、慢特病与住院就诊; 实际: 住院人次; 期望: 所属主诊断类目 (前3位) 的全省住院占比; 分子 = 全省率 × 单位数 × 实际数 ÷ 期望数; 分母 = 单位数 (比值 = 间接标化率); 方向: 仅偏高; 证据: 全省住院占比不足一半的诊断的住院",
    description_en="unit: outpatient, emergency, chronic and inpatient encounters; observed: inpatient ones; expected: the province inpatient share of the ICD-10 3-character group; numerator = province rate × units × observed ÷ expected count; denominator = units (ratio = the indirectly standardised rate); direction: too high only; evidence: stays with a diagnosis admitted in under half of the province's encounters",
    unit="encounter (mdtrt_id)",
)
def ut_inpatient_share(ctx: Context):
    e = enc_profile(ctx)
    e = e.filter(e.setting.isin(_CLINICAL))
    e = _count_oe(e, e.setting == "inpatient", ["dxg"])
    return units(
        e,
        e.fixmedins_code,
        "mdtrt_d",
        e.mdtrt_id,
        num=e._num,
        den=e._den,
        flag=(e._f > 0) & (e._exp < 0.5),
        detail=e.dx.fill_null("").concat(" expected_share=", e._exp.round(3).cast("string")),
    )


def _fee_share(ctx: Context, kind: str, label: str):
    a = encounter_fees(ctx)  # per encounter: total and the amount of the kind's lines
    a = a.select(a_mid=a.f_mid, a_total=a.f_total, a_cat=a[f"f_{kind}"])
    e = enc_profile(ctx)
    e = e.join(a, e.mdtrt_id == a.a_mid)
    e = e.filter(e.a_total > 0)
    e = e.mutate(_v=e.a_cat.cast("float64"), _t=e.a_total.cast("float64"))
    cw = ibis.window(group_by=[e.dxg, e.mt])
    share = e._v.sum().over(cw) / e._t.sum().over(cw)
    e = _per_unit(e.mutate(_exp=e._t * share))
    return units(
        e,
        e.fixmedins_code,
        "mdtrt_d",
        e.mdtrt_id,
        num=e._num,
        den=e._den,
        flag=_outlier(ctx, e) & (e._v >= 0.5 * e._t),
        detail=ibis.literal(label + "_share=").concat(
            (e._v / e._t).round(3).cast("string"), " expected=", share.round(3).cast("string")
        ),
    )


_FEE_SHARE = {"fee_list_d": ["med_chrgitm_type", "det_item_fee_sumamt"], "mdtrt_d": ["med_type"]}
_FEE_SHARE_PARAMS = ["chrgitm_types", "utilization_dx_chars", "utilization_outlier_ratio"]


def _fee_doc(kind_zh, kind_en, codes):
    return dict(
        description_zh=f"单位: 有费用明细的就诊; 实际: {kind_zh}费用 ({codes}); 期望: 该次总费用 × 所属单元 (主诊断前3位 × 医疗类别) 的全省{kind_zh}费用占比; 分子 = 单位数 × 实际合计 ÷ 期望合计; 分母 = 单位数 (比值 = 实际占比/期望占比); 方向: 仅偏高; 证据: {kind_zh}费用≥2倍期望且占该次费用一半以上的就诊",
        description_en=f"unit: encounter with fee lines; observed: {kind_en} cost ({codes}); expected: the encounter's total cost × the province {kind_en} share of its cell (ICD-10 3-character group × med_type); numerator = units × observed total ÷ expected total; denominator = units (ratio = observed share / expected share); direction: too high only; evidence: encounters with ≥ 2× the expected {kind_en} cost and at least half of their cost in it",
    )


@indicator(
    id="ut_drug_share",
    family=FAMILY,
    zh="药占比 (按主诊断与医疗类别标化, 实际/期望)",
    en="Drug share of cost, observed over expected given main diagnosis and med_type",
    basis="医保基金监管 药占比监测; 条例 第十五条 (过度用药)",
    needs=_FEE_SHARE,
    params=_FEE_SHARE_PARAMS,
    unit="encounter with fee lines (mdtrt_id)",
    **_fee_doc("药品", "drug", "09 西药, 10 中药饮片, 11 中成药"),
)
def ut_drug_share(ctx: Context):
    return _fee_share(ctx, "drug", "drug")


@indicator(
    id="ut_consumable_share",
    family=FAMILY,
    zh="耗占比 (按主诊断与医疗类别标化, 实际/期望)",
    en="Consumables share of cost, observed over expected given main diagnosis and med_type",
    basis="医保基金监管 耗占比监测 (百元医疗收入卫生材料消耗); 条例 第十五条",
    needs=_FEE_SHARE,
    params=_FEE_SHARE_PARAMS,
    unit="encounter with fee lines (mdtrt_id)",
    **_fee_doc("卫生材料", "consumables", "08 卫生材料费"),
)
def ut_consumable_share(ctx: Context):
    return _fee_share(ctx, "consumable", "consumable")


@indicator(
    id="ut_test_share",
    family=FAMILY,
    zh="检查化验占比 (按主诊断与医疗类别标化, 实际/期望)",
    en="Tests share of cost, observed over expected given main diagnosis and med_type",
    basis="医保基金监管 检查化验收入占比监测; 条例 第十五条 (过度检查)",
    needs=_FEE_SHARE,
    params=_FEE_SHARE_PARAMS,
    unit="encounter with fee lines (mdtrt_id)",
    **_fee_doc("检查化验", "tests", "03 检查, 04 化验"),
)
def ut_test_share(ctx: Context):
    return _fee_share(ctx, "test", "test")


@indicator(
    id="ut_top_physician_share",
    family=FAMILY,
    zh="单一医师接诊占比 (接诊最多的医师)",
    en="Share of encounters billed by the institution's busiest physician",
    basis="医保基金监管 医保医师 (医保支付资格) 监测; 冒名/挂名接诊、虚构诊疗",
    needs={"fee_list_d": ["bilg_dr_code", "cnt"]},
    params=[],
    description_zh="分子: 接诊人次最多的医师 (fee_list_d.bilg_dr_code, 一次就诊取最小医师编码) 的就诊人次; 分母: 有开单医师的就诊人次 (不标化: 同类机构比较); 方向: 仅偏高; 证据: 该医师的就诊",
    description_en="numerator: encounters of the busiest physician (fee_list_d.bilg_dr_code; an encounter's smallest code); denominator: encounters with a billing physician (not standardised: compared within peers); direction: too high only; evidence: that physician's encounters",
    unit="encounter with a billing physician (mdtrt_id)",
)
def ut_top_physician_share(ctx: Context):
    f = ctx.t["fee_list_d"]
    f = f.filter(f.bilg_dr_code.notnull() & (f.bilg_dr_code != "") & (f.cnt > 0))
    d = f.group_by(["fixmedins_code", "mdtrt_id"]).aggregate(doc=_.bilg_dr_code.min())
    # encounters per physician, the busiest count and the smallest code with it, per institution
    c = d.group_by(["fixmedins_code", "doc"]).aggregate(n_doc=_.mdtrt_id.count())
    c = group_stats(c, ["fixmedins_code"], n_max=_.n_doc.max())
    top = c.group_by("fixmedins_code").aggregate(
        top=ibis.ifelse(c.n_doc == c.n_max, c.doc, _NULL_S).min()
    )
    d = join_groups(d, top, ["fixmedins_code"])
    flag = d.doc == d.top
    return units(
        d,
        d.fixmedins_code,
        "mdtrt_d",
        d.mdtrt_id,
        num=flag.cast("float64"),
        flag=flag,
        detail=ibis.literal("physician=").concat(d.doc),
    )


def _settlements(ctx: Context):
    ctx.require("setl_d", "setl_id", "setl_time")
    s = ctx.t["setl_d"]
    if "refd_setl_flag" in s.columns:
        s = s.filter(s.refd_setl_flag.fill_null("0") != "1")
    if "medfee_sumamt" in s.columns:
        s = s.filter(s.medfee_sumamt.fill_null(0) >= 0)
    mt = s.med_type if "med_type" in s.columns else _NULL_S
    return s.mutate(
        mt=ibis.coalesce(mt, ibis.literal("-")), s_date=s.setl_time.cast("timestamp").date()
    )


def _settlement_units(ctx: Context, s, flag, label: str):
    s = _count_oe(s, flag, ["mt"])
    return units(
        s,
        s.fixmedins_code,
        "setl_d",
        s.setl_id,
        num=s._num,
        den=s._den,
        flag=s._f > 0,
        detail=ibis.literal(label + "=").concat(s.s_date.cast("string")),
    )


@indicator(
    id="ut_month_end_settlements",
    family=FAMILY,
    zh="月末结算集中度 (按医疗类别标化, 实际/期望)",
    en="Settlements in the last days of the month, observed over expected given med_type",
    basis="医保基金监管 月底集中结算/突击冲量监测; 条例 第十五条 (虚构医药服务)",
    needs={"setl_d": ["setl_id", "setl_time"]},
    params=["month_end_days"],
    description_zh="单位: 结算 (不含退费); 实际: 结算日在当月最后3个自然日的结算; 期望: 所属医疗类别的全省月末结算占比; 分子 = 全省率 × 单位数 × 实际数 ÷ 期望数; 分母 = 单位数 (比值 = 间接标化率); 方向: 仅偏高",
    description_en="unit: settlement (refunds excluded); observed: settlements dated in the last 3 calendar days of their month; expected: the province month-end share of the med_type; numerator = province rate × units × observed ÷ expected count; denominator = units (ratio = the indirectly standardised rate); direction: too high only",
    unit="settlement (setl_id)",
)
def ut_month_end_settlements(ctx: Context):
    s = _settlements(ctx)
    k = int(ctx.p("month_end_days"))
    flag = (s.s_date + ibis.interval(days=k)).month() != s.s_date.month()
    return _settlement_units(ctx, s, flag, "date")


def holiday_day_numbers(ctx: Context) -> list[int]:
    """Day numbers (days since 2000-01-01) of the statutory holidays in ``rules.yaml``."""
    out = []
    for rng in ctx.p("statutory_holidays"):
        a, b = (
            _dt.date.fromisoformat(str(x)) for x in (rng if isinstance(rng, list) else [rng] * 2)
        )
        out += [(a - _EPOCH).days + k for k in range((b - a).days + 1)]
    return sorted(set(out))


@indicator(
    id="ut_holiday_settlements",
    family=FAMILY,
    zh="节假日结算集中度 (按医疗类别标化, 实际/期望)",
    en="Settlements on statutory holidays, observed over expected given med_type",
    basis="医保基金监管 节假日异常结算监测; 条例 第十五条 (虚构医药服务)",
    needs={"setl_d": ["setl_id", "setl_time"]},
    params=["statutory_holidays"],
    description_zh="单位: 结算 (不含退费); 实际: 结算日为法定节假日 (rules.yaml statutory_holidays, 国务院办公厅放假安排) 的结算; 期望: 所属医疗类别的全省节假日结算占比; 分子 = 全省率 × 单位数 × 实际数 ÷ 期望数; 分母 = 单位数 (比值 = 间接标化率); 方向: 仅偏高; 数据年份不在假日表中时跳过",
    description_en="unit: settlement (refunds excluded); observed: settlements dated on a statutory holiday (rules.yaml statutory_holidays, the State Council's holiday arrangements); expected: the province holiday share of the med_type; numerator = province rate × units × observed ÷ expected count; denominator = units (ratio = the indirectly standardised rate); direction: too high only; skipped when the data's years are not in the holiday table",
    unit="settlement (setl_id)",
)
def ut_holiday_settlements(ctx: Context):
    s = _settlements(ctx)
    days = holiday_day_numbers(ctx)
    covered = {(_EPOCH + _dt.timedelta(days=d)).year for d in days}
    years = {int(y) for y in s.s_date.year().name("y").as_table().distinct().y.execute()}
    missing = sorted(y for y in years if y not in covered)
    if not years or missing:
        raise Skip(
            "rules.yaml statutory_holidays has no dates for year(s) "
            + ", ".join(map(str, missing or ["(none)"]))
        )
    s = s.mutate(_day=day_num(s.setl_time))
    return _settlement_units(ctx, s, s._day.isin(days), "date")


@indicator(
    id="ut_high_cost_share",
    family=FAMILY,
    zh="高费用就诊占比 (高于同单元全省第95百分位, 实际/期望)",
    en="Share of encounters above the province's 95th percentile of their cell",
    basis="医保基金监管 高额费用病例监测; 条例 第十五条",
    needs=_COST,
    params=["high_cost_quantile", "utilization_dx_chars"],
    description_zh="单位: 已结算就诊; 实际: 医疗费总额高于所属单元 (主诊断前3位 × 医疗类别) 全省第95百分位 (百分位秩) 的就诊; 期望: 所属单元的全省高费用占比; 分子 = 全省率 × 单位数 × 实际数 ÷ 期望数; 分母 = 单位数 (比值 = 间接标化率); 方向: 仅偏高",
    description_en="unit: settled encounter; observed: encounters above the province's 95th percentile (percent rank) of their cell (ICD-10 3-character group × med_type); expected: the province high-cost share of the cell; numerator = province rate × units × observed ÷ expected count; denominator = units (ratio = the indirectly standardised rate); direction: too high only",
    unit="encounter (mdtrt_id)",
)
def ut_high_cost_share(ctx: Context):
    e = enc_profile(ctx)
    e = e.filter(e.cost.notnull())
    pr = ibis.percent_rank().over(ibis.window(group_by=[e.dxg, e.mt], order_by=e.cost))
    e = e.mutate(_pr=pr)
    e = _count_oe(e, e._pr > float(ctx.p("high_cost_quantile")), ["dxg", "mt"])
    return units(
        e,
        e.fixmedins_code,
        "mdtrt_d",
        e.mdtrt_id,
        num=e._num,
        den=e._den,
        flag=e._f > 0,
        detail=ibis.literal("cost=").concat(e.cost.round(2).cast("string")),
    )


def _same_area(a, b):
    """True when two 行政区划 codes name the same area at the coarser of their precisions.

    A code ending in ``00`` is a city (统筹区, e.g. ``340100``), in ``0000`` a province; a
    district code (``340102``) is compared with it on the city's (province's) prefix.
    """
    a, b = a.strip(), b.strip()
    prov = a.endswith("0000") | b.endswith("0000")
    city = a.endswith("00") | b.endswith("00")
    return ibis.cases(
        (prov, a.substr(0, 2) == b.substr(0, 2)),
        (city, a.substr(0, 4) == b.substr(0, 4)),
        else_=a == b,
    )


@indicator(
    id="ut_nonlocal_patients",
    family=FAMILY,
    zh="外区参保人员就诊占比 (参保地不在机构所在区划, 按医疗类别标化, 实际/期望)",
    en="Share of encounters by persons insured outside the institution's area, observed over expected given med_type",
    basis="条例 第十五条、第十九条 (虚构就诊、冒名就医: 收集/借用他人医保凭证); 医保基金监管 就诊人员参保地分布监测",
    needs={"mdtrt_d": ["med_type"], "institutions": ["region"]},
    params=[],
    description_zh="单位: 就诊; 实际: 参保地 (mdtrt_d.insu_admdvs, 缺失时 psn_info_b.insu_admdvs) 与机构所在区划 (institutions.region) 不同的就诊 (市级/省级代码按其精度比较); 期望: 所属医疗类别的全省外区就诊占比; 分子 = 全省率 × 单位数 × 实际数 ÷ 期望数; 分母 = 单位数 (比值 = 间接标化率); 方向: 仅偏高; 参保地或区划缺失的就诊不计; 无参保地时跳过",
    description_en="unit: encounter; observed: encounters of persons whose insurance area (mdtrt_d.insu_admdvs, else psn_info_b.insu_admdvs) differs from the institution's region (institutions.region; city or province codes compared at their precision); expected: the province share of such encounters of the med_type; numerator = province rate × units × observed ÷ expected count; denominator = units (ratio = the indirectly standardised rate); direction: too high only; encounters without either code are left out; skipped without an insurance area",
    unit="encounter (mdtrt_id)",
)
def ut_nonlocal_patients(ctx: Context):
    m = ctx.t["mdtrt_d"]
    own = m.insu_admdvs.cast("string") if "insu_admdvs" in m.columns else None
    if ctx.has("psn_info_b", "psn_no", "insu_admdvs"):
        p = ctx.t["psn_info_b"]
        p = p.group_by("psn_no").aggregate(p_admdvs=p.insu_admdvs.cast("string").min())
        m = m.left_join(p, m.psn_no == p.psn_no)
        own = m.p_admdvs if own is None else ibis.coalesce(own, m.p_admdvs)
    if own is None:
        raise Skip("needs column insu_admdvs in mdtrt_d or psn_info_b")
    ia = m.select(a_mid=m.mdtrt_id, a_admdvs=own)
    e = encounters(ctx)
    e = e.join(ia, e.mdtrt_id == ia.a_mid)
    ok = e.region.notnull() & (e.region.strip() != "")
    e = e.filter(ok & e.a_admdvs.notnull() & (e.a_admdvs.strip() != ""))
    e = e.mutate(mt=ibis.coalesce(e.med_type, ibis.literal("-")))
    e = _count_oe(e, ~_same_area(e.a_admdvs, e.region), ["mt"])
    return units(
        e,
        e.fixmedins_code,
        "mdtrt_d",
        e.mdtrt_id,
        num=e._num,
        den=e._den,
        flag=e._f > 0,
        detail=ibis.literal("insu_admdvs=").concat(e.a_admdvs, " region=", e.region),
    )

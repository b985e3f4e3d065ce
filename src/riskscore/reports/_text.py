"""Report wording in Chinese (default) and English (报告文字，中英文)."""

from __future__ import annotations

from riskscore.contract import FAMILIES, HOSP_LV, MEDINS_TYPE
from riskscore.errors import RiskscoreError

LANGS = ("zh", "en")

TIER_NAMES = {
    "A": ("A（低风险）", "A (low risk)"),
    "B": ("B（较低风险）", "B (lower risk)"),
    "C": ("C（较高风险）", "C (higher risk)"),
    "D": ("D（高风险）", "D (high risk)"),
}

TEXT: dict[str, tuple[str, str]] = {
    # generic
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "pass": ("符合", "pass"),
    "fail": ("不符合", "FAIL"),
    "total": ("合计", "Total"),
    "none": ("无", "none"),
    "not_available": ("（无数据：{what}）", "(no data: {what})"),
    "generated": ("生成时间：{when}；数据截至：{as_of}", "Generated {when}; data as of {as_of}"),
    "generated_plan": (
        "生成时间：{when}；计划基准日：{as_of}（{basis}）",
        "Generated {when}; plan reference date {as_of} ({basis})",
    ),
    "as_of.param": ("报告指定日期", "date given for the report"),
    "as_of.plan": ("计划编制日", "date of the plan"),
    "as_of.plan_due": ("计划报送期限", "plan due date"),
    "as_of.first_round": ("第一批次开始前一日", "day before the first round"),
    "as_of.analysis": ("结果分析的统计日期", "status date of the analysis"),
    "as_of.today": ("今日", "today"),
    # column labels
    "col.fixmedins_code": ("机构编号", "Institution code"),
    "col.fixmedins_name": ("机构名称", "Institution"),
    "col.medins_type": ("机构类型", "Type"),
    "col.hosp_lv": ("医院等级", "Level"),
    "col.region": ("所在区划", "Region"),
    "col.tier": ("风险等级", "Tier"),
    "col.n": ("机构数", "Institutions"),
    "col.n_frame": ("纳入抽查范围", "In the sampling frame"),
    "col.share": ("占比", "Share"),
    "col.pi": ("抽中概率 π", "Inclusion probability π"),
    "col.pi_min": ("最小 π", "Min π"),
    "col.pi_max": ("最大 π", "Max π"),
    "col.expected_inspections": ("预期检查家次", "Expected inspections"),
    "col.expected_loss": ("预期违规金额（元）", "Expected improper amount (CNY)"),
    "col.risk_score": ("风险评分", "Risk score"),
    "col.mean_score": ("平均风险评分", "Mean risk score"),
    "col.item_id": ("事项编号", "Item id"),
    "col.item_name": ("抽查事项", "Inspection item"),
    "col.item_class": ("事项类别", "Class"),
    "col.content": ("抽查内容", "Content"),
    "col.legal_basis": ("检查依据", "Legal basis"),
    "col.round": ("批次", "Round"),
    "col.start": ("开始", "Start"),
    "col.end": ("结束", "End"),
    "col.round_share": ("任务占比", "Share of inspections"),
    "col.inspections": ("检查家次", "Inspections"),
    "col.inspector_days": ("检查人日", "Inspector-days"),
    "col.team_visits": ("人次（检查组×人数）", "Inspector visits"),
    "col.check": ("检查项", "Check"),
    "col.required": ("要求", "Required"),
    "col.actual": ("实际", "Actual"),
    "col.result": ("结论", "Result"),
    "col.design": ("抽查方式", "Design"),
    "col.expected_findings": ("预期发现违规机构数", "Expected institutions with findings"),
    "col.expected_amount": ("预期覆盖违规金额（元）", "Expected improper amount covered (CNY)"),
    "col.indicator": ("指标", "Indicator"),
    "col.family": ("违规类型", "Violation family"),
    "col.value": ("本机构", "This institution"),
    "col.peer_median": ("同类中位数", "Peer median"),
    "col.peer_p90": ("同类90分位", "Peer 90th pct."),
    "col.percentile": ("同类百分位", "Peer percentile"),
    "col.n_peers": ("同类机构数", "Peers"),
    "col.record_table": ("记录表", "Record table"),
    "col.record_id": ("记录编号", "Record id"),
    "col.date": ("日期", "Date"),
    "col.amount": ("金额（元）", "Amount (CNY)"),
    "col.item": ("项目/药品", "Item / drug"),
    "col.month": ("月份", "Month"),
    "col.encounters": ("就诊人次", "Encounters"),
    "col.fee_total": ("医疗费用（元）", "Medical fees (CNY)"),
    "col.scope": ("范围", "Scope"),
    "col.measure": ("指标", "Measure"),
    "col.estimate": ("估计值", "Estimate"),
    "col.ci_low": ("95%置信下限", "95% CI low"),
    "col.ci_high": ("95%置信上限", "95% CI high"),
    "col.inspect_date": ("检查日期", "Inspection date"),
    "col.result_text": ("检查结果", "Result"),
    "col.violation_types": ("违规类型", "Violations"),
    "col.improper_amount": ("违规金额（元）", "Improper amount (CNY)"),
    "col.recovered_amount": ("追回金额（元）", "Recovered (CNY)"),
    "col.penalty_amount": ("罚款金额（元）", "Penalty (CNY)"),
    "col.rectify_status": ("整改情况", "Rectification"),
    "col.rectify_deadline": ("整改期限", "Rectification deadline"),
    "col.rectify_done_date": ("整改完成日期", "Rectified on"),
    "col.referral_to": ("移送机关", "Referred to"),
    "col.inspectors": ("检查人员", "Inspectors"),
    "col.items": ("抽查事项", "Inspection items"),
    "col.planned": ("应检查", "Planned"),
    "col.done": ("已检查", "Inspected"),
    "col.completion": ("完成率", "Completion"),
    "col.hits": ("发现违规", "With violations"),
    "col.hit_rate": ("违规发现率", "Hit rate"),
    "col.origin": ("检查来源", "Origin"),
    "col.current_tier": ("本年等级", "This year's tier"),
    "col.next_tier": ("下年等级", "Next year's tier"),
    "status.violation": ("发现问题", "violations found"),
    "status.clean": ("未发现问题", "no violations found"),
    "status.pending": ("检查中", "in progress"),
    "status.rectified": ("已整改", "rectified"),
    "status.overdue": ("逾期未整改", "overdue"),
    "status.open": ("整改中", "in progress"),
    "status.na": ("无需整改", "not required"),
    "design.targeted": ("按风险分层抽查（本计划）", "Risk-tiered draw (this plan)"),
    "design.uniform": ("等比例随机抽查（对照）", "Uniform random draw (comparison)"),
    "design.lift": ("提升倍数", "Lift"),
    "design.targeted_pips": (
        "按风险分层、层内按预期违规金额成比例抽查（本计划）",
        "Risk tiers, within tiers proportional to expected loss (this plan)",
    ),
    "design.stratified_srs": (
        "分层简单随机抽查（同样分配，对照）",
        "Stratified simple random draw, same allocation (comparison)",
    ),
    # annual plan
    "ap.title": (
        "{year}年度医保基金“双随机、一公开”抽查计划",
        "{year} annual random inspection plan",
    ),
    "ap.key.n": ("名录库机构数", "Institutions in the registry"),
    "ap.key.n_frame": ("纳入抽查范围机构数", "Institutions in the sampling frame"),
    "ap.key.expected": ("预期检查家次", "Expected inspections"),
    "ap.key.ratio": ("预期抽查比例", "Expected sampling ratio"),
    "ap.key.floor": ("抽查比例下限", "Sampling floor"),
    "ap.key.deadline": ("完成期限", "Deadline"),
    "ap.key.days_left": ("距完成期限天数", "Days to the deadline"),
    "ap.key.policy": ("政策文件", "Policy"),
    "ap.intro": (
        "本计划依据{policy}编制，覆盖检查对象名录库中的{n}家定点医药机构，"
        "按风险评分分为A—D四个等级，等级越高抽中概率越大；所有机构抽中概率均大于零（{zero}），"
        "全年预期检查{expected}家次，预期抽查比例{ratio:.1%}（下限{floor:.0%}）。",
        "This plan follows {policy}. It covers the {n} designated institutions of the target "
        "registry, in four risk tiers A–D; higher tiers are drawn with higher probability and "
        "every institution keeps a non-zero probability ({zero}). Expected inspections over the "
        "year: {expected}, an expected sampling ratio of {ratio:.1%} (floor {floor:.0%}).",
    ),
    "ap.floor_counts.inspections": (
        "抽查比例下限按检查家次计：同一机构可能在不同批次被重复抽中，预期被检查的不同机构"
        "{distinct}家（{ratio:.1%}）；如需保证不同机构数不低于{floor:.0%}，在政策中设置 "
        "floor_counts: institutions。",
        "The floor counts inspections: an institution may be drawn in more than one round, so "
        "the expected number of distinct institutions inspected is {distinct} ({ratio:.1%}); "
        "set floor_counts: institutions in the policy to guarantee {floor:.0%} distinct "
        "institutions.",
    ),
    "ap.floor_counts.institutions": (
        "抽查比例下限按机构数计：全年同一机构不重复抽取，计划检查的{distinct}家均为不同机构"
        "（{ratio:.1%}，下限{floor:.0%}）。",
        "The floor counts distinct institutions: no institution is drawn twice in the year, so "
        "the planned {distinct} inspections are distinct institutions ({ratio:.1%}, floor "
        "{floor:.0%}).",
    ),
    "ap.zero_ok": ("无豁免机构", "no exemptions"),
    "ap.zero_bad": (
        "注意：{k}家机构抽中概率为零，无法纳入全市估计",
        "warning: {k} institutions have probability zero and are invisible to estimates",
    ),
    "ap.scope_type": ("按机构类型和等级", "By type and level"),
    "ap.scope_region": ("按区划", "By region"),
    "ap.chart.scope": ("各区划定点医药机构数", "Designated institutions by region"),
    "ap.chart.dist": ("风险评分分布（按等级着色）", "Risk score distribution by tier"),
    "ap.chart.tiers": (
        "各等级机构数与预期检查家次",
        "Institutions and expected inspections by tier",
    ),
    "ap.chart.timeline": ("抽查时间安排", "Inspection timeline"),
    "ap.chart.findings": (
        "预期发现：分层抽查与等比例抽查",
        "Expected findings: tiered vs uniform draw",
    ),
    "ap.dist.text": (
        "风险评分中位数{median:.2f}，90分位数{p90:.2f}；D级（高风险）机构{d}家，预期违规金额合计{el:,.0f}元。",
        "Median risk score {median:.2f}, 90th percentile {p90:.2f}; {d} institutions in tier D "
        "(high risk) with an expected improper amount of {el:,.0f} CNY in total.",
    ),
    "ap.timeline.text": (
        "截至{as_of}（{basis}），距完成期限{deadline}还有{days}天，共{k}个批次。",
        "As of {as_of} ({basis}), {days} days remain to the deadline {deadline}, in {k} rounds.",
    ),
    "ap.timeline.past_text": (
        "截至{as_of}（{basis}），完成期限{deadline}已过{days}天，共{k}个批次。",
        "As of {as_of} ({basis}), the deadline {deadline} passed {days} days ago; {k} rounds.",
    ),
    "ap.timeline.past": ("已过期限{days}天", "passed {days} days ago"),
    "ap.today": ("基准日", "reference date"),
    "ap.deadline": ("完成期限", "deadline"),
    "ap.workload.text": (
        "每个检查组{team}人，预期检查{expected}家次，约需{days:.0f}个检查人日；"
        "执法检查人员名录库中有{pool}名有效人员，可投入约{avail:.0f}个人日。",
        "Teams of {team}; {expected} expected inspections need about {days:.0f} inspector-days; "
        "the inspector registry holds {pool} qualified inspectors giving about {avail:.0f} days.",
    ),
    "ap.check.floor": ("抽查比例不低于下限", "Sampling ratio at least the floor"),
    "ap.check.cap": (
        "每家机构年度检查不超过上限",
        "Inspections per institution within the annual cap",
    ),
    "ap.check.team": ("检查组人数不少于规定", "Team size at least the minimum"),
    "ap.check.zero": ("所有机构抽中概率大于零", "Every institution has a non-zero probability"),
    "ap.check.pool": ("检查人员足以完成任务", "Enough inspector-days for the plan"),
    "ap.findings.text": (
        "在检查家次相同（{n}家次）的情况下，按风险分层抽查预期覆盖违规金额{t:,.0f}元，"
        "等比例随机抽查为{u:,.0f}元，为后者的{lift:.2f}倍。",
        "With the same number of inspections ({n}), the tiered draw is expected to reach "
        "{t:,.0f} CNY of improper payments against {u:,.0f} CNY for a uniform draw: "
        "{lift:.2f} times as much.",
    ),
    "ap.findings.pips": (
        "本计划在各风险等级内按预期违规金额成比例抽取（条件泊松抽样，入样概率精确已知、均大于零）："
        "与同样分配的分层简单随机抽查相比，预期覆盖违规金额{t:,.0f}元对{u:,.0f}元（{lift:.2f}倍），"
        "预期发现违规机构{tf:.1f}家对{uf:.1f}家。",
        "This plan draws within each risk tier in proportion to the expected loss (conditional "
        "Poisson sampling, every probability exactly known and above zero): against a stratified "
        "simple random draw with the same allocation it is expected to reach {t:,.0f} CNY against "
        "{u:,.0f} CNY ({lift:.2f} times) and to find {tf:.1f} institutions with violations "
        "against {uf:.1f}.",
    ),
    "ap.findings.count": (
        "在检查家次相同（{n}家次）的情况下，按风险分层抽查预期发现违规机构{t:.1f}家，"
        "等比例随机抽查为{u:.1f}家，为后者的{lift:.2f}倍。",
        "With the same number of inspections ({n}), the tiered draw is expected to find "
        "{t:.1f} institutions with violations against {u:.1f} for a uniform draw: {lift:.2f} times.",
    ),
    # profile
    "pr.title": ("定点医药机构风险画像：{name}", "Institution risk profile: {name}"),
    "pr.key.code": ("机构编号", "Code"),
    "pr.key.type": ("类型/等级", "Type / level"),
    "pr.key.region": ("所在区划", "Region"),
    "pr.key.score": ("风险评分", "Risk score"),
    "pr.key.tier": ("风险等级", "Tier"),
    "pr.key.rank": ("全市排名", "Rank"),
    "pr.key.el": ("预期违规金额（元）", "Expected improper amount (CNY)"),
    "pr.key.reasons": ("主要风险点", "Main reasons"),
    "pr.peers.text": (
        "同类机构（{peer}，共{n}家）对比：本机构有{k}项指标高于同类90分位。",
        "Against {n} peers ({peer}): {k} indicators above the peers' 90th percentile.",
    ),
    "pr.chart.peers": (
        "各指标的同类机构分布（红线为本机构）",
        "Peers' distribution of each indicator (red line: this institution)",
    ),
    "pr.chart.trend": ("月度就诊人次与医疗费用", "Monthly encounters and medical fees"),
    "pr.evidence.text": (
        "以下为评分所依据的疑点记录（仅列记录编号，不含参保人个人信息），共{n}条，显示前{k}条。",
        "Claims behind the score (record ids only, no personal data): {n} records, first {k} shown.",
    ),
    "pr.families": ("各类违规风险评分", "Family scores"),
    # post inspection
    "pi.title": ("{year}年度抽查结果分析", "{year} inspection results analysis"),
    "pi.key.planned": ("抽中机构数", "Institutions drawn"),
    "pi.key.done": ("已完成检查", "Inspections completed"),
    "pi.key.completion": ("完成率", "Completion"),
    "pi.key.hits": ("发现违规机构数", "Institutions with violations"),
    "pi.key.hit_rate": ("抽查违规发现率", "Hit rate among the drawn"),
    "pi.key.improper": ("违规金额合计（元，全部检查）", "Improper amount, all inspections (CNY)"),
    "pi.key.recovered": ("追回金额合计（元）", "Recovered (CNY)"),
    "pi.key.penalty": ("罚款金额合计（元）", "Penalties (CNY)"),
    "pi.key.referrals": ("移送案件数", "Referrals"),
    "pi.key.lift": ("较等比例抽查提升倍数", "Lift over a uniform draw"),
    "pi.intro": (
        "本年度共抽中{planned}家机构，已完成检查{done}家（{completion:.0%}），其中{hits}家发现违规"
        "（{hit_rate:.1%}）。由于高风险机构抽中概率更高，抽查违规发现率高于全市实际水平；"
        "全市估计按抽中概率加权（Horvitz–Thompson/Hájek），只使用“双随机”抽查结果。",
        "{planned} institutions were drawn and {done} inspected ({completion:.0%}); {hits} had "
        "violations ({hit_rate:.1%}). High-risk institutions are drawn more often, so this hit rate "
        "overstates the province's; province-wide estimates weight by the inclusion "
        "probabilities (Horvitz–Thompson/Hájek) and use random-draw inspections only.",
    ),
    "pi.chart.hit": ("各风险等级违规发现率", "Hit rate by tier"),
    "pi.chart.est": ("全市估计及95%置信区间", "Province-wide estimates with 95% CIs"),
    "pi.chart.calib": ("校准：预测与实际", "Calibration: predicted vs observed"),
    "pi.chart.next": ("本年与下年风险等级", "This year's and next year's tiers"),
    "pi.lift.text": (
        "抽查违规发现率{hit:.1%}，全市估计违规率{rate:.1%}，提升倍数{lift:.2f}。",
        "Hit rate {hit:.1%} against an estimated province-wide rate of {rate:.1%}: lift {lift:.2f}.",
    ),
    "pi.recovered.text": (
        "违规金额{imp:,.0f}元，已追回{rec:,.0f}元（{share:.0%}），罚款{pen:,.0f}元。",
        "Improper amount {imp:,.0f} CNY, recovered {rec:,.0f} CNY ({share:.0%}), penalties {pen:,.0f} CNY.",
    ),
    # public notice
    "pn.title": (
        "{year}年度医保基金“双随机、一公开”抽查结果公告",
        "{year} random inspection results notice",
    ),
    "pn.intro": (
        "根据《医疗保障基金使用监督管理条例》和本局“双随机、一公开”抽查工作安排，"
        "现将{year}年度随机抽查结果公告如下（共{n}家机构）。本公告不含参保人个人信息。",
        "Under the Regulation on the Supervision of the Use of Medical Security Funds and the "
        "bureau's random inspection plan, the {year} results are published below ({n} "
        "institutions). This notice contains no personal data of insured persons.",
    ),
    "pn.footer": (
        "如对公告内容有异议，请自公告之日起15个工作日内向本局反映。公告日期：{date}",
        "Objections may be raised with the bureau within 15 working days. Published {date}.",
    ),
    "pn.csv_note": ("公告数据（CSV）：{path}", "Notice data (CSV): {path}"),
}


def check_lang(lang: str) -> str:
    """Validate a report language code (``zh`` or ``en``)."""
    if lang not in LANGS:
        raise RiskscoreError(f"report parameter 'lang': expected 'zh' or 'en', got {lang!r}")
    return lang


def t(key: str, lang: str = "zh", **kw) -> str:
    """Text ``key`` in ``lang``, formatted with ``kw``."""
    zh, en = TEXT[key]
    s = zh if check_lang(lang) == "zh" else en
    return s.format(**kw) if kw else s


def col(name: str, lang: str) -> str:
    """Localised column label (falls back to the column name)."""
    key = f"col.{name}"
    return t(key, lang) if key in TEXT else name


def tier_name(tier: str, lang: str) -> str:
    """Localised tier label; unknown tiers are returned unchanged."""
    pair = TIER_NAMES.get(str(tier))
    return str(tier) if pair is None else pair[0 if lang == "zh" else 1]


def family_name(fid: str, lang: str) -> str:
    """Localised violation-family name for a family id (unknown ids unchanged)."""
    pair = FAMILIES.get(str(fid))
    return str(fid) if pair is None else pair[0 if lang == "zh" else 1]


def families_text(ids: str | float | None, lang: str) -> str:
    """``"a;b"`` family ids → localised names joined by the language's separator."""
    if ids is None or (isinstance(ids, float) and ids != ids) or str(ids).strip() == "":
        return ""
    sep = "、" if lang == "zh" else ", "
    return sep.join(family_name(x.strip(), lang) for x in str(ids).split(";") if x.strip())


def _code_label(table: dict[str, str], code: str, lang: str) -> str:
    v = table.get(str(code))
    if v is None:
        return str(code)
    zh, _, en = v.partition(" ")
    return zh if lang == "zh" else (en or zh)


def medins_type_name(code: str, lang: str) -> str:
    """Localised institution type (医院/基层医疗机构/定点零售药店)."""
    v = MEDINS_TYPE.get(str(code))
    if v is None:
        return str(code)
    if lang == "zh":
        return v.split(" ")[0].split("/")[0]
    return {"hospital": "hospital", "clinic": "primary-care clinic", "pharmacy": "pharmacy"}.get(
        str(code), str(code)
    )


def hosp_lv_name(code: str, lang: str) -> str:
    """Localised hospital level (三级/二级/一级/未定级)."""
    return _code_label(HOSP_LV, code, lang)

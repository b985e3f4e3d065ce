"""抽查结果分析 — the post-inspection report.

Reads what ``riskscore analyze`` wrote (estimates.csv, hit_rate_by_tier.csv,
indicator_precision.csv, calibration.csv, rectification_tracker.csv, next_year_credit.csv)
plus the draw frame and the results, and shows completion, hit rates, province-wide
estimates with intervals, lift, indicator precision, calibration, recovered funds,
rectification, referrals and next year's tiers. Numbers are the package's; this module
only selects, labels and charts them.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from riskscore.reports import display as d
from riskscore.reports._text import family_name, t, tier_name
from riskscore.reports.common import num, tier_color, tier_order

MEASURES = {
    "violation_rate": ("违规率（Hájek加权估计）", "Violation rate (Hájek)"),
    "violation_rate_ht": ("违规率（HT估计）", "Violation rate (Horvitz–Thompson)"),
    "naive_hit_rate": ("抽查违规发现率（未加权）", "Hit rate among inspected (unweighted)"),
    "improper_amount_total": ("全市违规金额估计（元）", "Improper amount, province total (CNY)"),
    "violating_institutions_total": ("全市违规机构数估计", "Institutions with violations (est.)"),
    "lift_vs_uniform": ("较等比例抽查提升倍数", "Lift over a uniform draw"),
    "expected_findings_uniform": ("等比例抽查预期发现数", "Findings a uniform draw would expect"),
    "findings": ("发现违规机构数", "Institutions with violations found"),
    "population_size": ("抽查范围机构数", "Institutions in the frame"),
    "recovered_total": ("追回金额合计（元）", "Recovered (CNY)"),
    "penalty_total": ("罚款金额合计（元）", "Penalties (CNY)"),
    "excluded_non_draw": ("非随机抽查检查（不参与估计）", "Non-draw inspections (not estimated)"),
    "excluded_draw_not_selected": ("未抽中却标为抽查的记录", "Draw rows not selected"),
    "excluded_invalid_rows": ("无效记录", "Invalid rows"),
    "drawn_without_result": ("抽中但无结果", "Drawn without a result"),
    "excluded_zero_probability": ("抽中概率为零的机构", "Institutions with π = 0"),
}
HIT_COLOR = "#ef6c00"
"""One colour for the hit-rate bars (tiers are on the axis), so the legend matches them."""
RATE_MEASURES = ("violation_rate", "violation_rate_ht", "naive_hit_rate")
MAIN_MEASURES = (
    "violation_rate",
    "violation_rate_ht",
    "naive_hit_rate",
    "violating_institutions_total",
    "improper_amount_total",
    "lift_vs_uniform",
    "expected_findings_uniform",
    "findings",
)
STATUS = {
    "overdue": ("逾期未整改", "overdue"),
    "open": ("整改中", "open"),
    "no_deadline": ("未设整改期限", "no deadline"),
    "done_late": ("逾期完成", "done late"),
    "done_on_time": ("按期完成", "done on time"),
}
ORIGINS = {
    "draw": ("双随机抽查", "random draw"),
    "complaint": ("投诉举报", "complaint"),
    "special": ("专项检查", "special check"),
    "referral": ("移送/交办", "referral"),
    "media": ("媒体曝光", "media"),
    "monitoring": ("智能监控", "smart monitoring"),
}


def _pair(table: dict, key, lang: str) -> str:
    v = table.get(str(key))
    return str(key) if v is None else v[0 if lang == "zh" else 1]


def measure_name(measure: str, lang: str) -> str:
    """Localised name of an estimates.csv measure."""
    return _pair(MEASURES, measure, lang)


def scope_name(scope: str, lang: str) -> str:
    """Localised scope: ``overall`` → 全市, ``tier:D`` → D（高风险）, ``round:1`` → 批次1."""
    s = str(scope)
    parts = []
    for p in s.split("/"):
        kind, _, val = p.partition(":")
        if p == "overall":
            parts.append("全市" if lang == "zh" else "province")
        elif kind == "tier":
            parts.append(tier_name(val, lang))
        elif kind == "round":
            parts.append(f"批次{val}" if lang == "zh" else f"round {val}")
        elif kind == "origin":
            parts.append(_pair(ORIGINS, val, lang))
        else:
            parts.append(p)
    return " / ".join(parts)


def _est(est: pd.DataFrame, measure: str, scope: str = "overall") -> dict:
    m = est[(est["scope"] == scope) & (est["measure"] == measure)]
    return {} if m.empty else m.iloc[0].to_dict()


def _val(est: pd.DataFrame, measure: str, scope: str = "overall") -> float:
    v = _est(est, measure, scope).get("estimate", np.nan)
    return float(v) if pd.notna(v) else float("nan")


def _year(inputs) -> int:
    try:
        m = inputs.manifest()
        for k in ("year", "plan_year"):
            if isinstance(m.get(k), int):
                return m[k]
    except Exception:  # noqa: BLE001 - the manifest is optional for the title
        pass
    if inputs.has("plan_dir", "plan.json") and isinstance(inputs.plan().get("year"), int):
        return inputs.plan()["year"]
    return inputs.as_of_date().year


# --------------------------------------------------------------------------- key figures
def key_figures(inputs) -> dict:
    """Headline numbers, read from the analysis outputs and the draw frame."""
    est = inputs.estimates()
    est["estimate"] = num(est["estimate"])
    frame = inputs.frame()
    planned = int(num(frame["selected"]).fillna(0).sum())
    tiers = inputs.analysis("hit_rate_by_tier.csv")
    if tiers is not None and "n_inspected" in tiers:
        done = int(num(tiers["n_inspected"]).sum())
    else:
        done = int(_est(est, "findings").get("n", 0) or 0)
    res = inputs.results()
    referrals = (
        res["referral_to"].astype("string").str.strip().replace("", pd.NA).notna().sum()
        if "referral_to" in res
        else 0
    )
    return {
        "planned": planned,
        "done": done,
        "completion": done / planned if planned else float("nan"),
        "hits": int(_val(est, "findings")) if pd.notna(_val(est, "findings")) else 0,
        "hit_rate": _val(est, "naive_hit_rate"),
        "violation_rate": _val(est, "violation_rate"),
        "improper": float(num(res["improper_amount"]).fillna(0).sum()),
        "recovered": _val(est, "recovered_total"),
        "penalty": _val(est, "penalty_total"),
        "referrals": int(referrals),
        "lift": _val(est, "lift_vs_uniform"),
        "year": _year(inputs),
    }


def section_summary(inputs) -> dict:
    """Title, key figures and the reading guide."""
    lang = inputs.lang
    k = key_figures(inputs)
    d.heading(t("pi.title", lang, year=k["year"]), level=1)
    d.narrative(
        t(
            "generated",
            lang,
            when=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            as_of=inputs.as_of_date().isoformat(),
        )
    )
    d.key_figures(
        [
            ("planned", t("pi.key.planned", lang), k["planned"], d.fmt_number(k["planned"])),
            ("done", t("pi.key.done", lang), k["done"], d.fmt_number(k["done"])),
            (
                "completion",
                t("pi.key.completion", lang),
                round(k["completion"], 6),
                d.fmt_pct(k["completion"]),
            ),
            ("hits", t("pi.key.hits", lang), k["hits"], d.fmt_number(k["hits"])),
            (
                "hit_rate",
                t("pi.key.hit_rate", lang),
                round(k["hit_rate"], 6),
                d.fmt_pct(k["hit_rate"]),
            ),
            (
                "violation_rate",
                measure_name("violation_rate", lang),
                round(k["violation_rate"], 6),
                d.fmt_pct(k["violation_rate"]),
            ),
            ("lift", t("pi.key.lift", lang), round(k["lift"], 6), d.fmt_number(k["lift"], 2)),
            (
                "improper",
                t("pi.key.improper", lang),
                round(k["improper"], 2),
                d.fmt_number(k["improper"]),
            ),
            (
                "recovered",
                t("pi.key.recovered", lang),
                round(k["recovered"], 2),
                d.fmt_number(k["recovered"]),
            ),
            (
                "penalty",
                t("pi.key.penalty", lang),
                round(k["penalty"], 2),
                d.fmt_number(k["penalty"]),
            ),
            ("referrals", t("pi.key.referrals", lang), k["referrals"], k["referrals"]),
        ],
        key="post_inspection.key_figures",
    )
    d.narrative(t("pi.intro", lang, **k))
    return k


# --------------------------------------------------------------------------- tiers
def section_tiers(inputs) -> pd.DataFrame | None:
    """完成情况与各等级违规发现率 (hit_rate_by_tier.csv)."""
    import matplotlib.pyplot as plt

    lang = inputs.lang
    tab = inputs.analysis("hit_rate_by_tier.csv", ("tier",))
    if tab is None:
        d.narrative(t("not_available", lang, what="hit_rate_by_tier.csv"))
        return None
    order = tier_order(tab["tier"])
    tab = tab.set_index("tier").loc[order].reset_index()
    for c in tab.columns:
        if c not in ("tier", "round"):
            tab[c] = num(tab[c])
    tab["completion"] = tab["n_inspected"] / tab["n_drawn"].where(tab["n_drawn"] > 0)
    cols = [
        c
        for c in (
            "tier",
            "N",
            "pi",
            "n_drawn",
            "n_inspected",
            "completion",
            "findings",
            "hit_rate",
            "violation_rate_est",
            "ci_low",
            "ci_high",
            "improper_amount_found",
        )
        if c in tab.columns
    ]
    shown = tab[cols].copy()
    shown["tier"] = [tier_name(x, lang) for x in shown["tier"]]
    zh = lang == "zh"
    d.table(
        shown,
        "post_inspection.tiers",
        lang,
        {
            "N": "{:,.0f}",
            "pi": "{:.3f}",
            "n_drawn": "{:,.0f}",
            "n_inspected": "{:,.0f}",
            "completion": "{:.0%}",
            "findings": "{:,.0f}",
            "hit_rate": "{:.1%}",
            "violation_rate_est": "{:.1%}",
            "ci_low": "{:.1%}",
            "ci_high": "{:.1%}",
            "improper_amount_found": "{:,.0f}",
        },
        labels={
            "N": t("col.n", lang),
            "n_drawn": t("col.planned", lang),
            "n_inspected": t("col.done", lang),
            "findings": t("col.hits", lang),
            "violation_rate_est": "违规率估计" if zh else "Estimated violation rate",
            "improper_amount_found": t("col.improper_amount", lang),
        },
    )
    fig, ax = plt.subplots(figsize=(8, 3))
    x = np.arange(len(tab))
    ax.bar(
        x - 0.2,
        tab["hit_rate"],
        width=0.4,
        color=HIT_COLOR,
        label=t("col.hit_rate", lang),
    )
    if "violation_rate_est" in tab:
        err = np.vstack(
            [
                (tab["violation_rate_est"] - tab["ci_low"]).clip(lower=0).fillna(0),
                (tab["ci_high"] - tab["violation_rate_est"]).clip(lower=0).fillna(0),
            ]
        )
        ax.bar(
            x + 0.2,
            tab["violation_rate_est"],
            width=0.4,
            color="#607d8b",
            yerr=err,
            capsize=4,
            label="违规率估计（95%CI）" if zh else "Estimated rate (95% CI)",
        )
    ax.set_xticks(x, [tier_name(v, lang) for v in tab["tier"]])
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_title(t("pi.chart.hit", lang))
    ax.legend(fontsize=8)
    d.figure(fig, alt=t("pi.chart.hit", lang))
    return tab


# --------------------------------------------------------------------------- estimates
def estimates_table(inputs) -> pd.DataFrame:
    """Province-wide estimates (scope ``overall``) of the main measures."""
    est = inputs.estimates()
    for c in ("estimate", "ci_low", "ci_high", "se", "n"):
        if c in est.columns:
            est[c] = num(est[c])
    sel = est[(est["scope"] == "overall") & est["measure"].isin(MAIN_MEASURES)].copy()
    sel["_o"] = sel["measure"].map({m: i for i, m in enumerate(MAIN_MEASURES)})
    return sel.sort_values("_o").drop(columns="_o").reset_index(drop=True)


def _fmt_est(measure: str):
    if measure in RATE_MEASURES:
        return lambda v: "—" if pd.isna(v) else f"{v:.2%}"
    if measure == "lift_vs_uniform":
        return lambda v: "—" if pd.isna(v) else f"{v:.2f}"
    return lambda v: "—" if pd.isna(v) else f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}"


def section_estimates(inputs) -> pd.DataFrame:
    """全市估计及置信区间, lift."""
    import matplotlib.pyplot as plt

    lang = inputs.lang
    tab = estimates_table(inputs)
    shown = pd.DataFrame(
        {
            "measure": [measure_name(m, lang) for m in tab["measure"]],
            "estimate": [
                _fmt_est(m)(v) for m, v in zip(tab["measure"], tab["estimate"], strict=True)
            ],
            "ci_low": [_fmt_est(m)(v) for m, v in zip(tab["measure"], tab["ci_low"], strict=True)],
            "ci_high": [
                _fmt_est(m)(v) for m, v in zip(tab["measure"], tab["ci_high"], strict=True)
            ],
        }
    )
    d.table(shown, "post_inspection.estimates", lang)
    k = key_figures(inputs)
    if pd.notna(k["lift"]):
        d.narrative(
            t("pi.lift.text", lang, hit=k["hit_rate"], rate=k["violation_rate"], lift=k["lift"])
        )
    # chart: rates overall and by tier with CIs
    est = inputs.estimates()
    for c in ("estimate", "ci_low", "ci_high"):
        est[c] = num(est[c])
    rates = est[
        (est["measure"] == "violation_rate")
        & ((est["scope"] == "overall") | est["scope"].str.match(r"^tier:[^/]*$"))
    ]
    rates = rates.dropna(subset=["estimate"])
    if len(rates):
        fig, ax = plt.subplots(figsize=(8, 3))
        y = np.arange(len(rates))
        lo = (rates["estimate"] - rates["ci_low"]).clip(lower=0).fillna(0)
        hi = (rates["ci_high"] - rates["estimate"]).clip(lower=0).fillna(0)
        ax.errorbar(
            rates["estimate"], y, xerr=np.vstack([lo, hi]), fmt="o", color="#1e88e5", capsize=4
        )
        naive = k["hit_rate"]
        if pd.notna(naive):
            ax.axvline(
                naive, color="#e53935", linestyle="--", label=measure_name("naive_hit_rate", lang)
            )
            ax.legend(fontsize=8)
        ax.set_yticks(y, [scope_name(s, lang) for s in rates["scope"]])
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_title(t("pi.chart.est", lang))
        d.figure(fig, alt=t("pi.chart.est", lang))
    return tab


# --------------------------------------------------------------------------- precision, calibration
def section_precision(inputs, top_n: int = 15) -> pd.DataFrame | None:
    """指标精确率 (indicator_precision.csv)."""
    lang = inputs.lang
    tab = inputs.analysis("indicator_precision.csv", ("kind", "name"))
    if tab is None:
        d.narrative(t("not_available", lang, what="indicator_precision.csv"))
        return None
    for c in tab.columns:
        if c not in ("kind", "name", "flag_rule"):
            tab[c] = num(tab[c])
    tab = tab.sort_values(["kind", "precision_ipw"], ascending=[True, False], na_position="last")
    fam = tab[tab["kind"] == "family"].copy()
    ind = tab[tab["kind"] != "family"].head(int(top_n)).copy()
    shown = pd.concat([fam, ind], ignore_index=True)
    zh = lang == "zh"
    shown["name"] = [
        family_name(n, lang) if k == "family" else _indicator_label(n, lang, inputs)
        for k, n in zip(shown["kind"], shown["name"], strict=True)
    ]
    shown["kind"] = [
        ("违规类型" if zh else "family") if k == "family" else ("指标" if zh else "indicator")
        for k in shown["kind"]
    ]
    cols = [
        c
        for c in (
            "kind",
            "name",
            "n_flagged_inspected",
            "hits_flagged",
            "precision_naive",
            "precision_ipw",
            "ci_low",
            "ci_high",
            "recall_ipw",
            "lift_over_base",
        )
        if c in shown.columns
    ]
    d.table(
        shown[cols],
        "post_inspection.precision",
        lang,
        {
            "n_flagged_inspected": "{:,.0f}",
            "hits_flagged": "{:,.0f}",
            "precision_naive": "{:.0%}",
            "precision_ipw": "{:.0%}",
            "ci_low": "{:.0%}",
            "ci_high": "{:.0%}",
            "recall_ipw": "{:.0%}",
            "lift_over_base": "{:.2f}",
        },
        labels={
            "kind": "类别" if zh else "Kind",
            "name": "名称" if zh else "Name",
            "n_flagged_inspected": "被标记且检查" if zh else "Flagged & inspected",
            "hits_flagged": t("col.hits", lang),
            "precision_naive": "精确率（未加权）" if zh else "Precision (unweighted)",
            "precision_ipw": "精确率（加权）" if zh else "Precision (weighted)",
            "recall_ipw": "召回率（加权）" if zh else "Recall (weighted)",
            "lift_over_base": "提升倍数" if zh else "Lift over base rate",
        },
    )
    return tab


def _indicator_label(name: str, lang: str, inputs=None) -> str:
    from riskscore.reports.profile import _indicator_label as lab

    return lab(name, lang, inputs)


def section_calibration(inputs) -> pd.DataFrame | None:
    """校准 (calibration.csv): risk-score deciles against the weighted observed rate."""
    import matplotlib.pyplot as plt

    lang = inputs.lang
    tab = inputs.analysis("calibration.csv", ("decile",))
    if tab is None:
        d.narrative(t("not_available", lang, what="calibration.csv"))
        return None
    for c in tab.columns:
        tab[c] = num(tab[c])
    zh = lang == "zh"
    cols = [
        c
        for c in (
            "decile",
            "score_min",
            "score_max",
            "mean_risk_score",
            "N",
            "n_inspected",
            "findings",
            "naive_rate",
            "observed_rate_ipw",
            "ci_low",
            "ci_high",
        )
        if c in tab.columns
    ]
    d.table(
        tab[cols],
        "post_inspection.calibration",
        lang,
        {
            "decile": "{:.0f}",
            "score_min": "{:.3f}",
            "score_max": "{:.3f}",
            "mean_risk_score": "{:.3f}",
            "N": "{:,.0f}",
            "n_inspected": "{:,.0f}",
            "findings": "{:,.0f}",
            "naive_rate": "{:.0%}",
            "observed_rate_ipw": "{:.0%}",
            "ci_low": "{:.0%}",
            "ci_high": "{:.0%}",
        },
        labels={
            "decile": "十分位组" if zh else "Decile",
            "score_min": "评分下限" if zh else "Score min",
            "score_max": "评分上限" if zh else "Score max",
            "mean_risk_score": t("col.mean_score", lang),
            "N": t("col.n", lang),
            "n_inspected": t("col.done", lang),
            "findings": t("col.hits", lang),
            "naive_rate": "发现率（未加权）" if zh else "Hit rate (unweighted)",
            "observed_rate_ipw": "违规率（加权）" if zh else "Violation rate (weighted)",
        },
    )
    ok = tab.dropna(subset=["observed_rate_ipw"])
    if len(ok):
        fig, ax = plt.subplots(figsize=(5, 4))
        err = np.vstack(
            [
                (ok["observed_rate_ipw"] - ok["ci_low"]).clip(lower=0).fillna(0),
                (ok["ci_high"] - ok["observed_rate_ipw"]).clip(lower=0).fillna(0),
            ]
        )
        ax.errorbar(
            ok["mean_risk_score"],
            ok["observed_rate_ipw"],
            yerr=err,
            fmt="o",
            color="#1e88e5",
            capsize=3,
        )
        ax.set_xlabel(t("col.mean_score", lang))
        ax.set_ylabel("违规率（加权）" if zh else "Violation rate (weighted)")
        if float(ok["mean_risk_score"].max()) <= 1:
            ax.plot([0, 1], [0, 1], color="#9e9e9e", linestyle=":")
            ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.05)
        ax.set_title(t("pi.chart.calib", lang))
        d.figure(fig, alt=t("pi.chart.calib", lang))
    return tab


# --------------------------------------------------------------------------- money, tracker
def funds_table(inputs) -> pd.DataFrame:
    """Improper, recovered and penalty amounts by inspection origin (accounting sums)."""
    res = inputs.results()
    for c in ("improper_amount", "recovered_amount", "penalty_amount"):
        if c not in res:
            res[c] = 0.0
        res[c] = num(res[c]).fillna(0.0)
    res["violation_found"] = num(res["violation_found"]).fillna(0)
    g = (
        res.groupby("origin")
        .agg(
            inspections=("result_id", "size"),
            hits=("violation_found", "sum"),
            improper_amount=("improper_amount", "sum"),
            recovered_amount=("recovered_amount", "sum"),
            penalty_amount=("penalty_amount", "sum"),
        )
        .reset_index()
    )
    g["_o"] = g["origin"].map({k: i for i, k in enumerate(ORIGINS)}).fillna(99)
    g = g.sort_values(["_o", "origin"]).drop(columns="_o").reset_index(drop=True)
    total = {"origin": "total", **{c: g[c].sum() for c in g.columns if c != "origin"}}
    return pd.concat([g, pd.DataFrame([total])], ignore_index=True)


def section_funds(inputs) -> pd.DataFrame:
    """追回资金."""
    lang = inputs.lang
    tab = funds_table(inputs)
    tot = tab.iloc[-1]
    imp, rec = float(tot["improper_amount"]), float(tot["recovered_amount"])
    d.narrative(
        t(
            "pi.recovered.text",
            lang,
            imp=imp,
            rec=rec,
            share=rec / imp if imp else 0.0,
            pen=float(tot["penalty_amount"]),
        )
    )
    shown = tab.copy()
    shown["origin"] = [
        t("total", lang) if o == "total" else _pair(ORIGINS, o, lang) for o in shown["origin"]
    ]
    d.table(
        shown,
        "post_inspection.funds",
        lang,
        {
            "inspections": "{:,.0f}",
            "hits": "{:,.0f}",
            "improper_amount": "{:,.0f}",
            "recovered_amount": "{:,.0f}",
            "penalty_amount": "{:,.0f}",
        },
    )
    return tab


def _names(inputs) -> dict:
    sc = inputs.scores() if inputs.score_dir else None
    if sc is not None and "fixmedins_name" in sc:
        return dict(zip(sc["fixmedins_code"].astype(str), sc["fixmedins_name"], strict=True))
    inst = inputs.institutions()
    if inst is not None:
        return dict(zip(inst["fixmedins_code"].astype(str), inst["fixmedins_name"], strict=True))
    return {}


def section_rectification(inputs, top_n: int = 30) -> pd.DataFrame | None:
    """整改跟踪 (rectification_tracker.csv): status counts and open cases."""
    lang = inputs.lang
    tab = inputs.analysis("rectification_tracker.csv", ("fixmedins_code", "rectify_status"))
    if tab is None:
        d.narrative(t("not_available", lang, what="rectification_tracker.csv"))
        return None
    zh = lang == "zh"
    counts = tab["rectify_status"].value_counts()
    order = [s for s in STATUS if s in counts.index] + [s for s in counts.index if s not in STATUS]
    summary = pd.DataFrame(
        {
            "rectify_status": [_pair(STATUS, s, lang) for s in order],
            "n": [int(counts[s]) for s in order],
        }
    )
    d.table(
        summary,
        "post_inspection.rectification_status",
        lang,
        labels={"rectify_status": t("col.rectify_status", lang), "n": "案件数" if zh else "Cases"},
    )
    names = _names(inputs)
    open_ = tab[tab["rectify_status"].isin(["overdue", "open"])].head(int(top_n)).copy()
    open_.insert(1, "fixmedins_name", open_["fixmedins_code"].astype(str).map(names))
    open_["rectify_status"] = [_pair(STATUS, s, lang) for s in open_["rectify_status"]]
    cols = [
        c
        for c in (
            "fixmedins_code",
            "fixmedins_name",
            "inspect_date",
            "improper_amount",
            "rectify_deadline",
            "rectify_status",
            "days_overdue",
            "followup_date",
        )
        if c in open_.columns
    ]
    d.table(
        open_[cols],
        "post_inspection.rectification_open",
        lang,
        {"improper_amount": "{:,.0f}", "days_overdue": "{:,.0f}"},
        labels={
            "days_overdue": "逾期天数" if zh else "Days overdue",
            "followup_date": "回访日期" if zh else "Follow-up",
        },
    )
    return tab


def referrals_table(inputs) -> pd.DataFrame:
    """Inspections referred to another authority (移送)."""
    res = inputs.results()
    if "referral_to" not in res:
        return pd.DataFrame(
            columns=["fixmedins_code", "origin", "inspect_date", "improper_amount", "referral_to"]
        )
    ref = res["referral_to"].astype("string").str.strip().replace("", pd.NA)
    out = res[ref.notna()].copy()
    out["improper_amount"] = num(out["improper_amount"])
    cols = [
        "fixmedins_code",
        "origin",
        "inspect_date",
        "violation_types",
        "improper_amount",
        "referral_to",
    ]
    return (
        out[[c for c in cols if c in out.columns]]
        .sort_values("improper_amount", ascending=False)
        .reset_index(drop=True)
    )


def section_referrals(inputs) -> pd.DataFrame:
    """移送情况."""
    lang = inputs.lang
    tab = referrals_table(inputs)
    shown = tab.copy()
    shown.insert(1, "fixmedins_name", shown["fixmedins_code"].astype(str).map(_names(inputs)))
    shown["origin"] = [_pair(ORIGINS, o, lang) for o in shown["origin"]]
    if "violation_types" in shown:
        from riskscore.reports._text import families_text

        shown["violation_types"] = [families_text(v, lang) for v in shown["violation_types"]]
    d.table(shown, "post_inspection.referrals", lang, {"improper_amount": "{:,.0f}"})
    return tab


# --------------------------------------------------------------------------- next year
def next_year_table(inputs) -> pd.DataFrame | None:
    """Cross-table of this year's tier (scores.csv) against next year's credit rating."""
    nxt = inputs.analysis("next_year_credit.csv", ("fixmedins_code", "rating"))
    if nxt is None:
        return None
    if inputs.score_dir:
        sc = inputs.scores()[["fixmedins_code", "tier"]]
        nxt = nxt.merge(sc, on="fixmedins_code", how="left")
    else:
        nxt["tier"] = nxt.get("previous_rating")
    nxt["tier"] = nxt["tier"].astype("string").fillna("—")
    tab = pd.crosstab(nxt["tier"], nxt["rating"].astype(str))
    rows = [x for x in tier_order(tab.index) if x in tab.index] + [
        x for x in tab.index if x not in tier_order(tab.index)
    ]
    cols = tier_order(tab.columns)
    return tab.reindex(index=rows, columns=cols, fill_value=0)


def section_next_year(inputs) -> pd.DataFrame | None:
    """下年度风险等级 (next_year_credit.csv)."""
    import matplotlib.pyplot as plt

    lang = inputs.lang
    tab = next_year_table(inputs)
    if tab is None:
        d.narrative(t("not_available", lang, what="next_year_credit.csv"))
        return None
    shown = tab.reset_index().rename(columns={"tier": "current_tier"})
    shown["current_tier"] = [tier_name(x, lang) for x in shown["current_tier"]]
    labels = {c: f"{t('col.next_tier', lang)} {c}" for c in tab.columns}
    shown[t("total", lang)] = tab.sum(axis=1).to_numpy()
    d.table(shown, "post_inspection.next_year", lang, labels=labels)
    fig, ax = plt.subplots(figsize=(8, 3))
    x = np.arange(len(tab))
    bottom = np.zeros(len(tab))
    for c in tab.columns:
        ax.bar(
            x,
            tab[c].to_numpy(),
            bottom=bottom,
            color=tier_color(c),
            label=f"{t('col.next_tier', lang)} {tier_name(c, lang)}",
        )
        bottom += tab[c].to_numpy()
    ax.set_xticks(x, [tier_name(v, lang) for v in tab.index])
    ax.set_xlabel(t("col.current_tier", lang))
    ax.set_ylabel(t("col.n", lang))
    ax.set_title(t("pi.chart.next", lang))
    ax.legend(fontsize=7)
    d.figure(fig, alt=t("pi.chart.next", lang))
    return tab


def section_evaluation(inputs) -> pd.DataFrame | None:
    """评分效果检验: ranking quality of the scores on the inspected institutions.

    Calls :func:`riskscore.evaluate.evaluate` with the institutions of ``results.csv``
    (label = any violation found) and ``scores.csv``; 200 seeded bootstrap replicates.
    """
    from riskscore.evaluate import evaluate, evaluation_table

    lang = inputs.lang
    zh = lang == "zh"
    res = inputs.results()
    sc = inputs.scores()
    labels = (
        res.assign(label=num(res["violation_found"]).fillna(0).astype(int).clip(0, 1))
        .groupby("fixmedins_code", as_index=False)["label"]
        .max()
    )
    cols = [
        c
        for c in ("risk_score", "expected_loss", "iforest_score")
        if c in sc.columns and num(sc[c]).nunique() > 1
    ]
    for c in [*cols, "fund_paid"]:
        if c in sc.columns:
            sc[c] = num(sc[c]).fillna(0.0)
    y = sc["fixmedins_code"].isin(labels["fixmedins_code"])
    if not cols or labels["label"].nunique() < 2 or y.sum() < 2:
        d.narrative(
            "检查结果中同时有违规和未违规机构时才能检验评分。"
            if zh
            else "The scores can be evaluated only when the results hold institutions with and "
            "without violations."
        )
        return None
    out = evaluate(sc, labels, columns=cols, by_size="fund_paid" in sc.columns, n_boot=200)
    tab = evaluation_table(out)
    keep = ["roc_auc", "average_precision", f"precision_at_{out['k'][0]}"]
    keep.append("within_size_deciles_roc_auc")
    tab = tab[tab["metric"].isin(keep)]
    d.narrative(
        f"已检查机构 {out['n']} 家，发现违规 {out['positives']} 家。下表为风险分对检查结果的排序能力"
        "（曲线下面积 0.5 = 随机，1 = 完全区分；区间为自助法 95% 区间）。被检查机构按风险等级以不同概率抽取，"
        "这些数字只描述被检查的机构。"
        if zh
        else f"{out['n']} institutions inspected, {out['positives']} with violations. Ranking "
        "quality of the scores against the findings (ROC-AUC 0.5 = chance, 1 = perfect; "
        "bootstrap 95 % intervals). Inspected institutions were drawn with unequal "
        "probabilities by tier, so these figures describe the inspected institutions only."
    )
    k = out["k"][0]
    metric_zh = {
        "roc_auc": "曲线下面积",
        "average_precision": "平均精确率",
        f"precision_at_{k}": f"前{k}家精确率",
        "within_size_deciles_roc_auc": "同规模分组内曲线下面积",
    }
    shown = tab.copy()
    if zh:
        shown["metric"] = shown["metric"].map(lambda m: metric_zh.get(m, m))
        shown["column"] = shown["column"].map(lambda c: SCORE_COLUMN_ZH.get(c, c))
    labels = (
        {"column": "评分列", "metric": "指标", "value": "数值", "ci_low": "下限", "ci_high": "上限"}
        if zh
        else {
            "column": "score",
            "metric": "metric",
            "value": "value",
            "ci_low": "low",
            "ci_high": "high",
        }
    )
    d.table(
        shown,
        "post_inspection.evaluation",
        lang,
        {"value": "{:.3f}", "ci_low": "{:.3f}", "ci_high": "{:.3f}"},
        labels=labels,
    )
    return tab


SCORE_COLUMN_ZH = {
    "risk_score": "风险分",
    "expected_loss": "预期损失",
    "iforest_score": "孤立森林分",
}
"""Chinese names of the score columns in the evaluation table (families keep their ids)."""

"""年度抽查计划 — the annual sampling plan report.

Each ``section_*`` function computes its table(s), displays them with a chart and narrative
in the report language, and returns the main table (so tests can compare it with the
package outputs). ``*_table`` functions are pure.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from riskscore.reports import display as d
from riskscore.reports._text import hosp_lv_name, medins_type_name, t, tier_name
from riskscore.reports.common import (
    num,
    region_label,
    tier_color,
    tier_order,
    year_of,
)
from riskscore.reports.inputs import ReportInputs


def plan_frame(inputs: ReportInputs) -> pd.DataFrame:
    """inclusion.csv joined with the registry (name, type, level, region) and scores.

    One row per institution of the plan (in or out of the sampling frame). ``expected``
    is the expected number of regular-draw inspections in the year (``expected_inspections``
    of inclusion.csv, else ``pi``); ``pi`` the probability of being drawn at least once.
    """
    inc = inputs.inclusion()
    inc["pi"] = num(inc["pi"]).fillna(0.0)
    inc["expected"] = (
        num(inc["expected_inspections"]).fillna(0.0)
        if "expected_inspections" in inc.columns
        else inc["pi"]
    )
    inc["in_frame"] = (
        num(inc["in_frame"]).fillna(0).astype(int) == 1 if "in_frame" in inc.columns else True
    )
    sc = inputs.scores()
    keep = [c for c in sc.columns if c not in inc.columns or c == "fixmedins_code"]
    df = inc.merge(sc[keep], on="fixmedins_code", how="left")
    if "risk_score" in df.columns:
        df["risk_score"] = num(df["risk_score"])
    if "expected_loss" in df.columns:
        df["expected_loss"] = num(df["expected_loss"]).fillna(0.0)
    return df


def frame_only(inputs: ReportInputs) -> pd.DataFrame:
    """:func:`plan_frame` restricted to the sampling frame (抽查范围)."""
    df = plan_frame(inputs)
    return df[df["in_frame"]].reset_index(drop=True)


def plan_as_of(inputs: ReportInputs) -> tuple[_dt.date, str]:
    """The plan's reference date (计划基准日) and what it is.

    The report parameter ``as_of`` when given; else ``as_of`` recorded in plan.json; else the
    policy's ``plan_due`` (the date the annual plan is due); else the day before the first
    round starts. Never today's date: a 2025 plan read in 2026 still counts its days from 2025.

    Returns
    -------
    (date, str)
        The date and its basis key (``param``, ``plan``, ``plan_due``, ``first_round``).
    """
    if inputs.as_of:
        return inputs.as_of_date(), "param"
    plan = inputs.plan()
    if plan.get("as_of"):
        try:
            return _dt.date.fromisoformat(str(plan["as_of"])[:10]), "plan"
        except ValueError:
            pass
    pol = inputs.policy_dict()
    if pol.get("plan_due"):
        return _dt.date.fromisoformat(str(pol["plan_due"])), "plan_due"
    rounds = plan.get("rounds") or pol.get("rounds") or []
    starts = [_dt.date.fromisoformat(str(r["start"])) for r in rounds if r.get("start")]
    if starts:
        return min(starts) - _dt.timedelta(days=1), "first_round"
    return _dt.date(int(plan.get("year", year_of(inputs, pol))), 1, 1), "plan"


def key_figures(inputs: ReportInputs) -> dict:
    """Headline numbers of the plan (from plan.json and inclusion.csv)."""
    pol = inputs.policy_dict()
    plan = inputs.plan()
    df = frame_only(inputs)
    inst = inputs.institutions()
    n_frame = len(df)
    floor = plan.get("floor", {})
    expected = float(floor.get("planned_inspections", df["expected"].sum()))
    deadline = _dt.date.fromisoformat(str(plan.get("deadline", pol["deadline"])))
    return {
        "n_registry": len(inst) if inst is not None else len(plan_frame(inputs)),
        "n_frame": n_frame,
        "expected_inspections": expected,
        "sampling_ratio": float(floor.get("planned_ratio", expected / n_frame if n_frame else 0)),
        "floor": float(floor.get("overall_floor", pol["sampling"]["overall_floor"])),
        "deadline": deadline.isoformat(),
        "days_left": (deadline - plan_as_of(inputs)[0]).days,
        "as_of": plan_as_of(inputs)[0].isoformat(),
        "as_of_basis": plan_as_of(inputs)[1],
        "policy": pol.get("title", pol.get("policy_id", "")),
        "n_zero": int((df["pi"] <= 0).sum()),
        "year": int(plan.get("year", year_of(inputs, pol))),
        "floor_counts": str(floor.get("counts", "inspections")),
        "expected_distinct": float(
            floor.get("expected_distinct_institutions", float(df["pi"].sum()))
        ),
    }


def section_summary(inputs: ReportInputs) -> dict:
    """Title, key figures and introduction."""
    lang = inputs.lang
    k = key_figures(inputs)
    d.heading(t("ap.title", lang, year=k["year"]), level=1)
    d.narrative(
        t(
            "generated_plan",
            lang,
            when=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            as_of=k["as_of"],
            basis=t(f"as_of.{k['as_of_basis']}", lang),
        )
    )
    d.key_figures(
        [
            ("n_registry", t("ap.key.n", lang), k["n_registry"], d.fmt_number(k["n_registry"])),
            ("n_frame", t("ap.key.n_frame", lang), k["n_frame"], d.fmt_number(k["n_frame"])),
            (
                "expected_inspections",
                t("ap.key.expected", lang),
                round(k["expected_inspections"], 6),
                d.fmt_count(k["expected_inspections"]),
            ),
            (
                "sampling_ratio",
                t("ap.key.ratio", lang),
                round(k["sampling_ratio"], 6),
                d.fmt_pct(k["sampling_ratio"]),
            ),
            ("floor", t("ap.key.floor", lang), k["floor"], d.fmt_pct(k["floor"], 0)),
            ("deadline", t("ap.key.deadline", lang), k["deadline"], k["deadline"]),
            (
                "days_left",
                t("ap.key.days_left", lang),
                k["days_left"],
                k["days_left"]
                if k["days_left"] >= 0
                else t("ap.timeline.past", lang, days=-k["days_left"]),
            ),
            ("policy", t("ap.key.policy", lang), k["policy"], k["policy"]),
        ],
        key="annual_plan.key_figures",
    )
    zero = t("ap.zero_ok", lang) if k["n_zero"] == 0 else t("ap.zero_bad", lang, k=k["n_zero"])
    d.narrative(
        t(
            "ap.intro",
            lang,
            policy=k["policy"],
            n=k["n_registry"],
            zero=zero,
            expected=d.fmt_count(k["expected_inspections"]),
            ratio=k["sampling_ratio"],
            floor=k["floor"],
        )
    )
    d.narrative(
        t(
            f"ap.floor_counts.{k['floor_counts']}",
            lang,
            floor=k["floor"],
            distinct=d.fmt_count(k["expected_distinct"]),
            ratio=k["expected_distinct"] / k["n_frame"] if k["n_frame"] else 0.0,
        )
    )
    return k


# --------------------------------------------------------------------------- scope
def scope_tables(inputs: ReportInputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Institutions of the plan by type × level and by region: count, count in the sampling
    frame and expected inspections."""
    lang = inputs.lang
    df = plan_frame(inputs)
    for c in ("medins_type", "hosp_lv", "region"):
        if c not in df.columns:
            df[c] = "—"
    df["frame"] = df["in_frame"].astype(int)
    n_all = len(df)

    def agg(keys):
        return (
            df.groupby(keys, dropna=False)
            .agg(
                n=("fixmedins_code", "size"),
                n_frame=("frame", "sum"),
                expected_inspections=("expected", "sum"),
            )
            .reset_index()
        )

    by_type = agg(["medins_type", "hosp_lv"]).sort_values(
        ["medins_type", "hosp_lv"], ascending=[True, False]
    )
    by_type["share"] = by_type["n"] / n_all
    by_type["medins_type"] = [medins_type_name(x, lang) for x in by_type["medins_type"]]
    by_type["hosp_lv"] = [hosp_lv_name(x, lang) for x in by_type["hosp_lv"]]
    by_region = agg(["region"]).sort_values("region")
    by_region["share"] = by_region["n"] / n_all
    names = inputs.region_names()
    by_region["region"] = [region_label(x, names) for x in by_region["region"]]
    cols = ["n", "share", "n_frame", "expected_inspections"]
    return (
        by_type[["medins_type", "hosp_lv", *cols]].reset_index(drop=True),
        by_region[["region", *cols]].reset_index(drop=True),
    )


def section_scope(inputs: ReportInputs) -> pd.DataFrame:
    """抽查范围: institutions by type, level and region (tables and a chart)."""
    import matplotlib.pyplot as plt

    lang = inputs.lang
    by_type, by_region = scope_tables(inputs)
    fm = {"n": "{:,}", "share": "{:.1%}", "n_frame": "{:,}", "expected_inspections": "{:,.1f}"}
    d.table(by_type, "annual_plan.scope_type", lang, fm, caption=t("ap.scope_type", lang))
    d.table(by_region, "annual_plan.scope_region", lang, fm, caption=t("ap.scope_region", lang))
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(by_region))
    ax.bar(x - 0.2, by_region["n"], width=0.4, label=t("col.n", lang), color="#1e88e5")
    ax2 = ax.twinx()
    ax2.bar(
        x + 0.2,
        by_region["expected_inspections"],
        width=0.4,
        label=t("col.expected_inspections", lang),
        color="#e53935",
    )
    ax.set_xticks(x, by_region["region"].astype(str), rotation=30, ha="right")
    ax.set_title(t("ap.chart.scope", lang))
    ax.set_xlabel(t("col.region", lang))
    ax.set_ylabel(t("col.n", lang))
    ax2.set_ylabel(t("col.expected_inspections", lang))
    _twin_legend(ax, ax2, below=-0.28)
    d.figure(fig, alt=t("ap.chart.scope", lang))
    return by_type


def _twin_legend(ax, ax2, below: float) -> None:
    """One legend under the chart for a bar chart with a second y axis."""
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax2.legend(
        h1 + h2,
        l1 + l2,
        loc="upper center",
        bbox_to_anchor=(0.5, below),
        ncol=2,
        fontsize=8,
        frameon=False,
    )


# --------------------------------------------------------------------------- risk and tiers
def tier_table(inputs: ReportInputs) -> pd.DataFrame:
    """Per tier of the sampling frame: institutions N_h, planned inspections n_h, annual
    inclusion probability π, expected inspections, mean score and expected loss."""
    df = frame_only(inputs)
    strata = inputs.plan().get("strata", {})
    order = tier_order(list(df["tier"]) + list(strata))
    g = df.groupby("tier")
    out = pd.DataFrame(
        {
            "tier": order,
            "n": [int(g.size().get(x, 0)) for x in order],
            "n_h": [strata.get(x, {}).get("n_h", np.nan) for x in order],
            "pi": [float(g["pi"].max().get(x, np.nan)) for x in order],
            "expected_inspections": [float(g["expected"].sum().get(x, 0.0)) for x in order],
        }
    )
    out["share"] = out["n"] / max(len(df), 1)
    if "risk_score" in df.columns:
        out["mean_score"] = [float(g["risk_score"].mean().get(x, np.nan)) for x in order]
    if "expected_loss" in df.columns:
        out["expected_loss"] = [float(g["expected_loss"].sum().get(x, 0.0)) for x in order]
    cols = ["tier", "n", "share", "n_h", "pi", "expected_inspections"]
    return out[cols + [c for c in ("mean_score", "expected_loss") if c in out.columns]]


def section_risk(inputs: ReportInputs) -> pd.DataFrame:
    """风险分布与分层: score histogram by tier, tier table and chart."""
    import matplotlib.pyplot as plt

    lang = inputs.lang
    df = frame_only(inputs)
    tiers = tier_table(inputs)
    el = float(df.loc[df["tier"] == "D", "expected_loss"].sum()) if "expected_loss" in df else 0.0
    scores = df["risk_score"].dropna() if "risk_score" in df else pd.Series(dtype=float)
    if len(scores):
        d.narrative(
            t(
                "ap.dist.text",
                lang,
                median=float(scores.median()),
                p90=float(scores.quantile(0.9)),
                d=int((df["tier"] == "D").sum()),
                el=el,
            )
        )
        fig, ax = plt.subplots(figsize=(8, 3.2))
        bins = np.histogram_bin_edges(scores, bins=30)
        data = [df.loc[df["tier"] == x, "risk_score"].dropna() for x in tiers["tier"]]
        ax.hist(
            data,
            bins=bins,
            stacked=True,
            color=[tier_color(x) for x in tiers["tier"]],
            label=[tier_name(x, lang) for x in tiers["tier"]],
        )
        ax.set_xlabel(t("col.risk_score", lang))
        ax.set_ylabel(t("col.n", lang))
        ax.set_title(t("ap.chart.dist", lang))
        ax.legend()
        d.figure(fig, alt=t("ap.chart.dist", lang))

    shown = tiers.copy()
    shown["tier"] = [tier_name(x, lang) for x in shown["tier"]]
    total = {
        "tier": t("total", lang),
        "n": int(tiers["n"].sum()),
        "share": 1.0,
        "n_h": tiers["n_h"].sum(min_count=1),
        "pi": np.nan,
        "expected_inspections": float(tiers["expected_inspections"].sum()),
    }
    if "mean_score" in tiers:
        total["mean_score"] = float(scores.mean()) if len(scores) else np.nan
    if "expected_loss" in tiers:
        total["expected_loss"] = float(tiers["expected_loss"].sum())
    shown = pd.concat([shown, pd.DataFrame([total])], ignore_index=True)
    d.table(
        shown,
        "annual_plan.tiers",
        lang,
        {
            "n": "{:,}",
            "share": "{:.1%}",
            "n_h": "{:,.0f}",
            "pi": "{:.4f}",
            "expected_inspections": "{:,.2f}",
            "mean_score": "{:.3f}",
            "expected_loss": "{:,.0f}",
        },
        labels={"n_h": t("col.inspections", lang), "pi": t("col.pi", lang)},
    )
    fig, ax = plt.subplots(figsize=(8, 3))
    x = np.arange(len(tiers))
    ax.bar(
        x - 0.2,
        tiers["n"],
        width=0.4,
        color="#1e88e5",
        label=t("col.n", lang),
    )
    ax2 = ax.twinx()
    ax2.bar(
        x + 0.2,
        tiers["expected_inspections"],
        width=0.4,
        color="#37474f",
        label=t("col.expected_inspections", lang),
    )
    ax.set_xticks(x, [tier_name(v, lang) for v in tiers["tier"]])
    ax.set_ylabel(t("col.n", lang))
    ax2.set_ylabel(t("col.expected_inspections", lang))
    ax.set_title(t("ap.chart.tiers", lang))
    _twin_legend(ax, ax2, below=-0.12)
    d.figure(fig, alt=t("ap.chart.tiers", lang))
    return tiers


# --------------------------------------------------------------------------- items
def items_table(inputs: ReportInputs) -> pd.DataFrame:
    """The 抽查事项清单: the data folder's inspection_items table when the policy points
    to it and it exists, else the policy's item list."""
    pol = inputs.policy_dict()
    items = pol.get("items", {}) or {}
    df = None
    if items.get("table") and inputs.data_dir:
        df = inputs.data_table(items["table"])
    if df is None:
        df = pd.DataFrame(items.get("list", []))
    cols = [
        c
        for c in ("item_id", "item_name", "item_class", "content", "legal_basis")
        if c in df.columns
    ]
    return df[cols].reset_index(drop=True)


def section_items(inputs: ReportInputs) -> pd.DataFrame:
    """抽查事项清单."""
    lang = inputs.lang
    df = items_table(inputs)
    shown = df.copy()
    if "item_class" in shown:
        names = {"key": ("重点检查事项", "key item"), "general": ("一般检查事项", "general item")}
        shown["item_class"] = [
            names.get(str(x), (str(x), str(x)))[0 if lang == "zh" else 1]
            for x in shown["item_class"]
        ]
    d.table(shown, "annual_plan.items", lang)
    return df


# --------------------------------------------------------------------------- timeline, workload
def rounds_table(inputs: ReportInputs) -> pd.DataFrame:
    """Rounds with dates, shares and planned inspections (plan.json, else the policy)."""
    plan = inputs.plan()
    rounds = plan.get("rounds") or inputs.policy_dict()["rounds"]
    total = key_figures(inputs)["expected_inspections"]
    rows = [
        {
            "round": r["name"],
            "start": str(r["start"]),
            "end": str(r["end"]),
            "round_share": float(r["share"]),
            "inspections": float(r.get("inspections", total * float(r["share"]))),
        }
        for r in rounds
    ]
    return pd.DataFrame(rows)


def section_timeline(inputs: ReportInputs) -> pd.DataFrame:
    """时间安排: rounds and days left to the deadline (table and Gantt chart)."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    lang = inputs.lang
    k = key_figures(inputs)
    rounds = rounds_table(inputs)
    as_of, basis = plan_as_of(inputs)
    deadline = _dt.date.fromisoformat(k["deadline"])
    days = (deadline - as_of).days
    d.narrative(
        t(
            "ap.timeline.text" if days >= 0 else "ap.timeline.past_text",
            lang,
            as_of=as_of.isoformat(),
            basis=t(f"as_of.{basis}", lang),
            deadline=deadline.isoformat(),
            days=abs(days),
            k=len(rounds),
        )
    )
    d.table(rounds, "annual_plan.rounds", lang, {"round_share": "{:.0%}", "inspections": "{:,.0f}"})
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.5 * len(rounds)))
    for i, r in rounds.iterrows():
        s = _dt.date.fromisoformat(r["start"])
        e = _dt.date.fromisoformat(r["end"])
        ax.barh(i, (e - s).days + 1, left=mdates.date2num(s), color="#1e88e5", height=0.5)
        ax.text(mdates.date2num(s), i, f" {r['round']}", va="center", color="white", fontsize=9)
    ax.axvline(
        mdates.date2num(deadline),
        color="#e53935",
        linestyle="--",
        label=f"{t('ap.deadline', lang)} {deadline.isoformat()}",
    )
    ax.axvline(
        mdates.date2num(as_of),
        color="#43a047",
        linestyle=":",
        label=f"{t('ap.today', lang)} {as_of.isoformat()}",
    )
    ax.set_yticks(range(len(rounds)), rounds["round"])
    ax.invert_yaxis()
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.set_title(t("ap.chart.timeline", lang))
    ax.legend(loc="lower right", fontsize=8)
    d.figure(fig, alt=t("ap.chart.timeline", lang))
    return rounds


def workload(inputs: ReportInputs) -> dict:
    """Inspector seats and days needed by the plan and available (plan.json ``capacity``)."""
    from riskscore.policy import team_size

    pol = inputs.policy_dict()
    plan = inputs.plan()
    cap = plan.get("capacity") or {}
    team = int(plan.get("team_size", team_size(pol)))
    expected = key_figures(inputs)["expected_inspections"]
    per = float(pol["inspectors"]["days_per_inspection"])
    rounds = cap.get("rounds") or []
    pool = max((int(r.get("qualified_inspectors", 0)) for r in rounds), default=None)
    return {
        "team": team,
        "expected": expected,
        "days_needed": float(cap.get("inspector_days_needed", expected * team * per)),
        "pool": pool,
        "days_available": cap.get("inspector_days_available"),
        "rounds": pd.DataFrame(rounds),
    }


def section_workload(inputs: ReportInputs) -> pd.DataFrame:
    """工作量: inspector seats per round against the qualified inspectors."""
    lang = inputs.lang
    w = workload(inputs)
    avail = w["days_available"]
    d.narrative(
        t(
            "ap.workload.text",
            lang,
            team=w["team"],
            expected=d.fmt_count(w["expected"]),
            days=w["days_needed"],
            pool=w["pool"] if w["pool"] is not None else "—",
            avail=float(avail) if avail is not None else float("nan"),
        )
    )
    rounds = rounds_table(inputs)
    out = rounds[["round", "inspections"]].copy()
    out["team_visits"] = out["inspections"] * w["team"]
    cap = w["rounds"]
    if len(cap) and {"round", "qualified_inspectors", "seats_available"} <= set(cap.columns):
        out = out.merge(
            cap[["round", "qualified_inspectors", "seats_available"]], on="round", how="left"
        )
    d.table(
        out,
        "annual_plan.workload",
        lang,
        {
            "inspections": "{:,.0f}",
            "team_visits": "{:,.0f}",
            "qualified_inspectors": "{:,.0f}",
            "seats_available": "{:,.0f}",
        },
        labels={
            "qualified_inspectors": "合格检查人员" if lang == "zh" else "Qualified inspectors",
            "seats_available": "可承担人次" if lang == "zh" else "Seats available",
        },
    )
    return out


# --------------------------------------------------------------------------- policy checks
def policy_checks(inputs: ReportInputs) -> pd.DataFrame:
    """Floor, cap, team size, non-zero probabilities and inspector capacity, each pass/fail."""
    lang = inputs.lang
    pol = inputs.policy_dict()
    plan = inputs.plan()
    df = frame_only(inputs)
    k = key_figures(inputs)
    w = workload(inputs)
    floor = plan.get("floor", {})
    cap = int(plan.get("annual_cap", pol["sampling"]["annual_cap"]))
    required_n = floor.get("required_inspections")
    lp, rp = ("（", "）") if lang == "zh" else (" (", ")")
    req_txt = f"≥ {k['floor']:.0%}" + (f"{lp}≥ {required_n}{rp}" if required_n is not None else "")
    floor_ok = bool(floor["met"]) if "met" in floor else k["sampling_ratio"] >= k["floor"]
    rows = [
        (
            "floor",
            t("ap.check.floor", lang),
            req_txt,
            f"{k['sampling_ratio']:.1%}{lp}{k['expected_inspections']:,.0f}{rp}",
            floor_ok,
        ),
        (
            "cap",
            t("ap.check.cap", lang),
            f"≤ {cap}",
            (
                f"最多{df['expected'].max():.2f}次（期望）"
                if lang == "zh"
                else f"at most {df['expected'].max():.2f} (expected)"
            ),
            bool(float(df["expected"].max()) <= cap + 1e-12),
        ),
        (
            "team",
            t("ap.check.team", lang),
            f"≥ {max(2, pol['teams']['min_size'])}",
            str(w["team"]),
            w["team"] >= max(2, int(pol["teams"]["min_size"])),
        ),
        (
            "zero",
            t("ap.check.zero", lang),
            "π > 0",
            (
                f"π = 0：{int((df['pi'] <= 0).sum())}家"
                if lang == "zh"
                else f"π = 0: {int((df['pi'] <= 0).sum())} institutions"
            ),
            bool((df["pi"] > 0).all()),
        ),
    ]
    if w["days_available"] is not None:
        rows.append(
            (
                "pool",
                t("ap.check.pool", lang),
                f"≥ {w['days_needed']:,.0f}" + ("人日" if lang == "zh" else " inspector-days"),
                f"{float(w['days_available']):,.0f}"
                + ("人日" if lang == "zh" else " inspector-days"),
                float(w["days_available"]) >= w["days_needed"],
            )
        )
    return pd.DataFrame(rows, columns=["check_id", "check", "required", "actual", "ok"])


def section_policy_checks(inputs: ReportInputs) -> pd.DataFrame:
    """政策符合性检查."""
    lang = inputs.lang
    checks = policy_checks(inputs)
    shown = checks[["check", "required", "actual"]].copy()
    shown["result"] = [t("pass", lang) if ok else t("fail", lang) for ok in checks["ok"]]
    d.table(shown, "annual_plan.policy_checks", lang)
    return checks


# --------------------------------------------------------------------------- expected findings
def expected_findings(inputs: ReportInputs) -> pd.DataFrame:
    """Expected findings of this plan against a uniform draw with the same number of
    inspections, as computed by the plan step (plan.json ``expected_findings``)."""
    lang = inputs.lang
    ef = inputs.plan().get("expected_findings") or {}
    rows: dict[str, list] = {
        "design": [t("design.targeted", lang), t("design.uniform", lang), t("design.lift", lang)]
    }
    tf, uf = ef.get("expected_findings_targeted"), ef.get("expected_findings_uniform")
    if tf is not None and uf is not None:
        rows["expected_findings"] = [float(tf), float(uf), float(tf) / float(uf) if uf else np.nan]
    ta, ua = ef.get("expected_loss_covered_targeted"), ef.get("expected_loss_covered_uniform")
    if ta is not None and ua is not None:
        rows["expected_amount"] = [float(ta), float(ua), float(ta) / float(ua) if ua else np.nan]
    sf, sa = (
        ef.get("expected_findings_stratified_srs"),
        ef.get("expected_loss_covered_stratified_srs"),
    )
    if (
        sf is not None
        and sa is not None
        and "expected_amount" in rows
        and "expected_findings" in rows
    ):
        # pips design: the same allocation drawn by stratified simple random sampling
        rows["design"][0] = t("design.targeted_pips", lang)
        rows["design"].append(t("design.stratified_srs", lang))
        rows["expected_findings"].append(float(sf))
        rows["expected_amount"].append(float(sa))
    out = pd.DataFrame(rows)
    return out


def section_expected_findings(inputs: ReportInputs) -> pd.DataFrame:
    """预期发现: tiered plan against a uniform draw."""
    import matplotlib.pyplot as plt

    lang = inputs.lang
    out = expected_findings(inputs)
    n = d.fmt_count(key_figures(inputs)["expected_inspections"])
    if "expected_amount" in out and out["expected_amount"][1] > 0:
        d.narrative(
            t(
                "ap.findings.text",
                lang,
                n=n,
                t=out["expected_amount"][0],
                u=out["expected_amount"][1],
                lift=out["expected_amount"][2],
            )
        )
    elif "expected_findings" in out:
        d.narrative(
            t(
                "ap.findings.count",
                lang,
                n=n,
                t=out["expected_findings"][0],
                u=out["expected_findings"][1],
                lift=out["expected_findings"][2],
            )
        )

    if len(out) > 3 and out["expected_amount"][3] > 0:
        d.narrative(
            t(
                "ap.findings.pips",
                lang,
                t=out["expected_amount"][0],
                u=out["expected_amount"][3],
                lift=out["expected_amount"][0] / out["expected_amount"][3],
                tf=out["expected_findings"][0],
                uf=out["expected_findings"][3],
            )
        )

    def _fmt(v):
        return "—" if pd.isna(v) else (f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}")

    d.table(
        out, "annual_plan.expected_findings", lang, {c: _fmt for c in out.columns if c != "design"}
    )
    metrics = [c for c in ("expected_findings", "expected_amount") if c in out]
    if metrics:
        fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.4))
        axes = np.atleast_1d(axes)
        for ax, m in zip(axes, metrics, strict=True):
            vals = np.asarray(out[m][:2], dtype=float)
            title = t(f"col.{m}", lang)
            if m == "expected_amount":
                vals, title = _money_axis(vals, lang)
            ax.bar([0, 1], vals, color=["#e53935", "#90a4ae"])
            ax.set_xticks([0, 1], out["design"][:2], fontsize=8)
            ax.set_title(title, fontsize=10)
            ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        fig.suptitle(t("ap.chart.findings", lang), fontsize=12)
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        d.figure(fig, alt=t("ap.chart.findings", lang))
    return out


def _money_axis(values: np.ndarray, lang: str) -> tuple[np.ndarray, str]:
    """Amounts in yuan → the unit a reader expects on an axis: 万元 in Chinese (thousand CNY
    in English) when the amounts are large, with the axis title naming the unit."""
    big = float(np.nanmax(np.abs(values))) >= 10_000 if len(values) else False
    if lang == "zh":
        return (
            (values / 10_000, "预期覆盖违规金额（万元）")
            if big
            else (values, "预期覆盖违规金额（元）")
        )
    if big:
        return values / 1_000, "Expected improper amount covered (thousand CNY)"
    return values, t("col.expected_amount", lang)

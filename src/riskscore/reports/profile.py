"""定点医药机构风险画像 — one institution's pre-visit pack for inspectors.

Indicators against the peers' distribution, family scores, the monthly trend and the claims
behind the score. Patients never appear: claims are listed by record id with date, item and
amount only (no person number, name, ID number, phone, address or diagnosis).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscore.contract import FAMILIES
from riskscore.errors import RiskscoreError
from riskscore.reports import display as d
from riskscore.reports._text import (
    family_name,
    hosp_lv_name,
    medins_type_name,
    t,
    tier_name,
)
from riskscore.reports.common import num, region_label
from riskscore.reports.inputs import ReportInputs

VALUE_COLUMNS = ("shrunk_rate", "rate", "value")
"""Indicator value columns of indicators.csv, in order of preference."""

EVIDENCE_DETAIL_COLUMNS = {
    "fee_list_d": ("bkkp_sn", "fee_ocur_time", "det_item_fee_sumamt", "hilist_name"),
    "mdtrt_d": ("mdtrt_id", "begntime", None, "med_type"),
    "setl_d": ("setl_id", "setl_time", "medfee_sumamt", "med_type"),
    "purchases": ("purchase_id", "accept_date", "amount", "product_code"),
    "stock_moves": ("move_id", "move_date", None, "product_code"),
}
"""Non-personal detail shown for an evidence record: (key, date, amount, item) columns."""


def resolve_code(inputs: ReportInputs, fixmedins_code: str = "") -> str:
    """The institution to profile: ``fixmedins_code`` or, when empty, the highest score."""
    sc = inputs.scores()
    if fixmedins_code:
        code = str(fixmedins_code).strip()
        if code not in set(sc["fixmedins_code"].astype(str)):
            raise RiskscoreError(
                f"scores.csv: column 'fixmedins_code' has no institution {code!r}; "
                "expected a code from the scored registry"
            )
        return code
    sc["risk_score"] = num(sc["risk_score"])
    sc = sc.sort_values(["risk_score", "fixmedins_code"], ascending=[False, True])
    return str(sc["fixmedins_code"].iloc[0])


def institution_summary(inputs: ReportInputs, code: str) -> dict:
    """Registry facts and score of one institution."""
    sc = inputs.scores()
    sc["risk_score"] = num(sc["risk_score"])
    row = sc[sc["fixmedins_code"].astype(str) == code].iloc[0]
    rank = int((sc["risk_score"] > row["risk_score"]).sum()) + 1
    lang = inputs.lang
    reasons = row.get(f"top_reasons_{lang}", row.get("top_reasons_zh", ""))
    return {
        "code": code,
        "name": str(row.get("fixmedins_name", code))
        if pd.notna(row.get("fixmedins_name"))
        else code,
        "type": medins_type_name(row.get("medins_type", ""), lang),
        "level": hosp_lv_name(row.get("hosp_lv", ""), lang),
        "region": region_label(row.get("region"), inputs.region_names()),
        "risk_score": float(row["risk_score"]),
        "tier": str(row["tier"]),
        "rank": rank,
        "n": len(sc),
        "expected_loss": float(num(pd.Series([row.get("expected_loss")])).iloc[0])
        if "expected_loss" in row
        else float("nan"),
        "reasons": "" if pd.isna(reasons) else str(reasons),
    }


def section_summary(inputs: ReportInputs, fixmedins_code: str = "") -> dict:
    """Title and key facts."""
    lang = inputs.lang
    code = resolve_code(inputs, fixmedins_code)
    s = institution_summary(inputs, code)
    d.heading(t("pr.title", lang, name=s["name"]), level=1)
    d.key_figures(
        [
            ("code", t("pr.key.code", lang), s["code"], s["code"]),
            (
                "type",
                t("pr.key.type", lang),
                f"{s['type']}/{s['level']}",
                f"{s['type']} / {s['level']}",
            ),
            ("region", t("pr.key.region", lang), s["region"], s["region"]),
            (
                "risk_score",
                t("pr.key.score", lang),
                round(s["risk_score"], 6),
                f"{s['risk_score']:.3f}",
            ),
            ("tier", t("pr.key.tier", lang), s["tier"], tier_name(s["tier"], lang)),
            ("rank", t("pr.key.rank", lang), s["rank"], f"{s['rank']} / {s['n']}"),
            (
                "expected_loss",
                t("pr.key.el", lang),
                round(s["expected_loss"], 2),
                d.fmt_number(s["expected_loss"]),
            ),
            ("reasons", t("pr.key.reasons", lang), s["reasons"], s["reasons"] or "—"),
        ],
        key="institution_profile.key_figures",
    )
    return s


# --------------------------------------------------------------------------- indicators vs peers
def _value(ind: pd.DataFrame) -> pd.Series:
    for c in VALUE_COLUMNS:
        if c in ind.columns:
            return num(ind[c])
    if {"numerator", "denominator"} <= set(ind.columns):
        den = num(ind["denominator"])
        return num(ind["numerator"]) / den.where(den > 0)
    raise RiskscoreError(
        "indicators.csv: no indicator value column; expected one of "
        + ", ".join(VALUE_COLUMNS)
        + " or numerator and denominator"
    )


def percentile_rank(peers: pd.Series, value) -> float:
    """Mid-rank percentile of ``value`` among ``peers`` (同类百分位): the share of peers below
    it plus half the share equal to it. Ties share the middle of their band, so a value equal
    to every peer's (e.g. all 0) is at 50 %, never at the top; NaN when undefined."""
    vals = pd.to_numeric(pd.Series(peers), errors="coerce").dropna()
    if not len(vals) or value is None or pd.isna(value):
        return float("nan")
    v = float(value)
    return float(((vals < v).sum() + 0.5 * (vals == v).sum()) / len(vals))


def peer_table(inputs: ReportInputs, code: str) -> pd.DataFrame:
    """Each indicator of the institution against its peers (同类机构).

    Peers are the institutions in the same ``peer_group`` of indicators.csv (else the same
    ``medins_type × hosp_lv``). The percentile is the mid-rank percentile
    (:func:`percentile_rank`).
    """
    ind = inputs.indicators()
    ind["value"] = _value(ind)
    if "peer_group" not in ind.columns:
        sc = inputs.scores()
        if {"medins_type", "hosp_lv"} <= set(sc.columns):
            grp = sc["medins_type"].astype(str) + "|" + sc["hosp_lv"].astype(str)
            ind["peer_group"] = ind["fixmedins_code"].map(
                dict(zip(sc["fixmedins_code"], grp, strict=True))
            )
        else:
            ind["peer_group"] = "all"
    mine = ind[ind["fixmedins_code"].astype(str) == code]
    rows = []
    for _, r in mine.iterrows():
        peers = ind[
            (ind["indicator_id"] == r["indicator_id"]) & (ind["peer_group"] == r["peer_group"])
        ]["value"].dropna()
        v = r["value"]
        rows.append(
            {
                "indicator_id": r["indicator_id"],
                "family": r.get("family", ""),
                "value": v,
                "peer_median": float(peers.median()) if len(peers) else np.nan,
                "peer_p90": float(peers.quantile(0.9)) if len(peers) else np.nan,
                "percentile": percentile_rank(peers, v),
                "n_peers": int(len(peers)),
                "peer_group": r["peer_group"],
            }
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "indicator_id",
            "family",
            "value",
            "peer_median",
            "peer_p90",
            "percentile",
            "n_peers",
            "peer_group",
        ],
    )
    return out.sort_values(
        ["percentile", "indicator_id"], ascending=[False, True], na_position="last"
    ).reset_index(drop=True)


def peer_label(group: str, lang: str) -> str:
    """Readable peer group: ``hospital|3`` → 医院·三级 (parts that are not codes unchanged)."""
    import re

    parts = [p for p in re.split(r"[|×/,;]", group) if p]
    out = []
    for p in parts:
        p = p.strip()
        if p in ("hospital", "clinic", "pharmacy"):
            out.append(medins_type_name(p, lang))
        elif p in ("0", "1", "2", "3"):
            out.append(hosp_lv_name(p, lang))
        else:
            out.append(p)
    return "·".join(out) if out else group


def _csv_indicator_names(inputs: ReportInputs | None) -> dict[str, tuple[str, str]]:
    """Indicator names written by ``riskscore score`` (indicator_zh/indicator_en columns of
    indicators.csv or evidence.csv), for indicators the registry does not know."""
    if inputs is None or not inputs.score_dir:
        return {}
    key = "indicator_names"
    if key not in inputs._cache:
        names: dict[str, tuple[str, str]] = {}
        for read in (inputs.indicators, inputs.evidence):
            try:
                df = read()
            except RiskscoreError:
                continue
            if {"indicator_id", "indicator_zh", "indicator_en"} <= set(df.columns):
                sub = df.drop_duplicates("indicator_id")
                for i, zh, en in zip(
                    sub["indicator_id"], sub["indicator_zh"], sub["indicator_en"], strict=True
                ):
                    names.setdefault(str(i), (str(zh), str(en)))
        inputs._cache[key] = names
    return inputs._cache[key]


def _indicator_label(indicator_id: str, lang: str, inputs: ReportInputs | None = None) -> str:
    pair = _csv_indicator_names(inputs).get(str(indicator_id))
    if pair is not None and pair[0 if lang == "zh" else 1] not in ("", "nan"):
        return pair[0 if lang == "zh" else 1]
    try:
        from riskscore.scoring import indicator_names

        names = indicator_names()
        n = names.get(indicator_id)
        if n is not None:
            zh = getattr(n, "zh", None)
            en = getattr(n, "en", None)
            label = zh if lang == "zh" else en
            if label:
                return str(label)
    except Exception:  # noqa: BLE001 - names are cosmetic; fall back to the id
        pass
    return str(indicator_id)


def _short(label: str, lang: str) -> str:
    """A chart title of at most two lines."""
    import textwrap

    lines = textwrap.wrap(label, width=16 if lang == "zh" else 34)
    if len(lines) > 2:
        lines = [lines[0], lines[1][:-1] + "…"]
    return "\n".join(lines)


def section_peers(inputs: ReportInputs, fixmedins_code: str = "", max_charts: int = 9):
    """指标与同类机构对比: table and small multiples of the peers' distributions."""
    import matplotlib.pyplot as plt

    lang = inputs.lang
    code = resolve_code(inputs, fixmedins_code)
    tab = peer_table(inputs, code)
    above = int((tab["value"] > tab["peer_p90"]).sum())
    peer = peer_label(str(tab["peer_group"].iloc[0]), lang) if len(tab) else "—"
    n_peers = int(tab["n_peers"].max()) if len(tab) else 0
    d.narrative(t("pr.peers.text", lang, peer=peer, n=n_peers, k=above))
    shown = tab.drop(columns=["peer_group"]).copy()
    shown.insert(0, "indicator", [_indicator_label(x, lang, inputs) for x in shown["indicator_id"]])
    shown["family"] = [family_name(x, lang) for x in shown["family"]]
    d.table(
        shown.drop(columns=["indicator_id"]),
        "institution_profile.indicators",
        lang,
        {
            "value": "{:.4g}",
            "peer_median": "{:.4g}",
            "peer_p90": "{:.4g}",
            "percentile": "{:.0%}",
            "n_peers": "{:,}",
        },
    )
    # small multiples: peers' distribution with this institution marked
    ind = inputs.indicators()
    ind["value"] = _value(ind)
    top = tab.dropna(subset=["value"]).head(max_charts)
    if len(top):
        k = len(top)
        ncol = min(3, k)
        nrow = int(np.ceil(k / ncol))
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.4 * nrow), squeeze=False)
        for ax, (_, r) in zip(axes.ravel(), top.iterrows(), strict=False):
            sel = ind["indicator_id"] == r["indicator_id"]
            if "peer_group" in ind.columns:
                sel &= ind["peer_group"] == r["peer_group"]
            vals = ind.loc[sel, "value"].dropna()
            ax.hist(vals, bins=min(20, max(5, len(vals) // 2)), color="#90a4ae")
            ax.axvline(r["value"], color="#e53935", linewidth=2)
            ax.set_title(
                _short(_indicator_label(r["indicator_id"], lang, inputs), lang), fontsize=8
            )
            ax.tick_params(labelsize=7)
        for ax in axes.ravel()[k:]:
            ax.axis("off")
        fig.suptitle(t("pr.chart.peers", lang))
        fig.tight_layout()
        d.figure(fig, alt=t("pr.chart.peers", lang))
    return tab


def family_table(inputs: ReportInputs, code: str) -> pd.DataFrame:
    """Family scores (one per violation family) of the institution and the peers' median."""
    sc = inputs.scores()
    fams = [f for f in FAMILIES if f in sc.columns]
    me = sc[sc["fixmedins_code"].astype(str) == code].iloc[0]
    if "peer_group" in sc.columns:
        peers = sc[sc["peer_group"] == me["peer_group"]]
    elif {"medins_type", "hosp_lv"} <= set(sc.columns):
        peers = sc[(sc["medins_type"] == me["medins_type"]) & (sc["hosp_lv"] == me["hosp_lv"])]
    else:
        peers = sc
    rows = [
        {
            "family_id": f,
            "value": float(num(pd.Series([me[f]])).iloc[0]),
            "peer_median": float(num(peers[f]).median()),
            "percentile": percentile_rank(num(peers[f]), num(pd.Series([me[f]])).iloc[0]),
        }
        for f in fams
    ]
    return (
        pd.DataFrame(rows, columns=["family_id", "value", "peer_median", "percentile"])
        .sort_values("value", ascending=False)
        .reset_index(drop=True)
    )


def section_families(inputs: ReportInputs, fixmedins_code: str = "") -> pd.DataFrame:
    """各类违规风险评分."""
    import matplotlib.pyplot as plt

    lang = inputs.lang
    code = resolve_code(inputs, fixmedins_code)
    tab = family_table(inputs, code)
    shown = tab.copy()
    shown.insert(0, "family", [family_name(x, lang) for x in shown["family_id"]])
    d.table(
        shown.drop(columns=["family_id"]),
        "institution_profile.families",
        lang,
        {"value": "{:.3f}", "peer_median": "{:.3f}", "percentile": "{:.0%}"},
        labels={"value": t("col.value", lang)},
    )
    if len(tab):
        fig, ax = plt.subplots(figsize=(8, 0.6 + 0.3 * len(tab)))
        y = np.arange(len(tab))
        ax.barh(y, tab["value"], color="#e53935", height=0.4, label=t("col.value", lang))
        ax.barh(
            y + 0.4,
            tab["peer_median"],
            color="#90a4ae",
            height=0.4,
            label=t("col.peer_median", lang),
        )
        ax.set_yticks(y + 0.2, shown["family"])
        ax.invert_yaxis()
        ax.set_title(t("pr.families", lang))
        ax.legend(fontsize=8)
        d.figure(fig, alt=t("pr.families", lang))
    return tab


# --------------------------------------------------------------------------- monthly trend
def monthly_trend(inputs: ReportInputs, code: str) -> pd.DataFrame:
    """Encounters and fees per month of the institution, with the peers' median encounters."""
    md = inputs.data_table("mdtrt_d")
    if md is None:
        return pd.DataFrame(columns=["month", "encounters", "fee_total", "peer_median"])
    md = md[["mdtrt_id", "fixmedins_code", "begntime"]].copy()
    md["month"] = pd.to_datetime(md["begntime"]).dt.to_period("M").astype(str)
    enc = md.groupby(["fixmedins_code", "month"]).size().rename("encounters").reset_index()
    sc = inputs.scores()
    me = sc[sc["fixmedins_code"].astype(str) == code].iloc[0]
    if "peer_group" in sc.columns:
        peer_codes = set(sc.loc[sc["peer_group"] == me["peer_group"], "fixmedins_code"])
    elif {"medins_type", "hosp_lv"} <= set(sc.columns):
        peer_codes = set(
            sc.loc[
                (sc["medins_type"] == me["medins_type"]) & (sc["hosp_lv"] == me["hosp_lv"]),
                "fixmedins_code",
            ]
        )
    else:
        peer_codes = set(sc["fixmedins_code"])
    months = sorted(md["month"].unique())
    peer = (
        enc[enc["fixmedins_code"].isin(peer_codes)]
        .pivot_table(index="month", columns="fixmedins_code", values="encounters", fill_value=0)
        .reindex(months, fill_value=0)
    )
    mine = enc[enc["fixmedins_code"].astype(str) == code].set_index("month")["encounters"]
    out = pd.DataFrame({"month": months})
    out["encounters"] = out["month"].map(mine).fillna(0).astype(int)
    fee = None
    fl = inputs.data_table("fee_list_d")
    if fl is not None:
        fl = fl[fl["fixmedins_code"].astype(str) == code]
        fee = fl.groupby(pd.to_datetime(fl["fee_ocur_time"]).dt.to_period("M").astype(str))[
            "det_item_fee_sumamt"
        ].sum()
    else:
        st = inputs.data_table("setl_d")
        if st is not None:
            st = st[st["fixmedins_code"].astype(str) == code]
            fee = st.groupby(pd.to_datetime(st["setl_time"]).dt.to_period("M").astype(str))[
                "medfee_sumamt"
            ].sum()
    out["fee_total"] = out["month"].map(fee).fillna(0.0) if fee is not None else np.nan
    out["peer_median"] = peer.median(axis=1).reindex(months).to_numpy() if len(peer) else np.nan
    return out


def section_trend(inputs: ReportInputs, fixmedins_code: str = "") -> pd.DataFrame:
    """月度趋势."""
    import matplotlib.pyplot as plt

    lang = inputs.lang
    code = resolve_code(inputs, fixmedins_code)
    tab = monthly_trend(inputs, code)
    if tab.empty:
        d.narrative(t("not_available", lang, what="mdtrt_d"))
        return tab
    fig, ax = plt.subplots(figsize=(8, 3))
    x = np.arange(len(tab))
    ax.bar(x, tab["encounters"], color="#1e88e5", label=t("col.encounters", lang))
    ax.plot(
        x,
        tab["peer_median"],
        color="#37474f",
        linestyle="--",
        marker=".",
        label=t("col.peer_median", lang),
    )
    ax.set_xticks(x, tab["month"], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel(t("col.encounters", lang))
    if tab["fee_total"].notna().any():
        ax2 = ax.twinx()
        ax2.plot(x, tab["fee_total"], color="#e53935", marker="o", label=t("col.fee_total", lang))
        ax2.set_ylabel(t("col.fee_total", lang))
        h2, l2 = ax2.get_legend_handles_labels()
    else:
        h2, l2 = [], []
    h1, l1 = ax.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)
    ax.set_title(t("pr.chart.trend", lang))
    d.figure(fig, alt=t("pr.chart.trend", lang))
    d.table(
        tab,
        "institution_profile.trend",
        lang,
        {"encounters": "{:,}", "fee_total": "{:,.0f}", "peer_median": "{:,.1f}"},
    )
    return tab


# --------------------------------------------------------------------------- evidence
def evidence_table(inputs: ReportInputs, code: str) -> pd.DataFrame:
    """The institution's evidence records with non-personal detail, largest amounts first.

    Columns: ``indicator_id, family, record_table, record_id, date, item, amount``. No
    patient data: person numbers, names, ID numbers, phones, addresses and diagnoses are
    never read into this table.
    """
    ev = inputs.evidence()
    ev = ev[ev["fixmedins_code"].astype(str) == code].copy()
    ev["record_id"] = ev["record_id"].astype("string")
    ev["date"] = pd.NaT
    ev["item"] = pd.Series(pd.NA, index=ev.index, dtype="string")
    ev["amount"] = np.nan
    for table, (key, date_col, amount_col, item_col) in EVIDENCE_DETAIL_COLUMNS.items():
        sel = ev["record_table"] == table
        if not sel.any() or not inputs.data_dir:
            continue
        src = inputs.data_table(table)
        if src is None or key not in src.columns:
            continue
        cols = [c for c in (key, date_col, amount_col, item_col) if c and c in src.columns]
        src = src[cols].copy()
        src[key] = src[key].astype("string")
        if table == "mdtrt_d":
            fl = inputs.data_table("fee_list_d")
            if fl is not None:
                tot = fl.groupby("mdtrt_id")["det_item_fee_sumamt"].sum()
                src["_amount"] = src[key].map(tot)
                amount_col = "_amount"
        src = src.drop_duplicates(key).set_index(key)
        ids = ev.loc[sel, "record_id"]
        if date_col in src.columns:
            ev.loc[sel, "date"] = pd.to_datetime(ids.map(src[date_col])).to_numpy()
        if amount_col and amount_col in src.columns:
            ev.loc[sel, "amount"] = num(ids.map(src[amount_col])).to_numpy()
        if item_col in src.columns:
            item = ids.map(src[item_col]).astype("string")
            if item_col == "med_type":
                item = item.map(lambda c: _med_type_name(c, inputs.lang)).astype("string")
            ev.loc[sel, "item"] = item.to_numpy()
    ev = ev.sort_values(["amount", "record_id"], ascending=[False, True], na_position="last")
    cols = ["indicator_id", "family", "record_table", "record_id", "date", "item", "amount"]
    return ev[cols].reset_index(drop=True)


def _med_type_name(code, lang: str):
    from riskscore.contract import MED_TYPE

    if code is None or code is pd.NA:
        return pd.NA
    v = MED_TYPE.get(str(code))
    if v is None:
        return str(code)
    zh, _, en = v.partition(" ")
    return zh if lang == "zh" else en


def section_evidence(inputs: ReportInputs, fixmedins_code: str = "", top_n: int = 20):
    """疑点记录 (top evidence claims, record ids only)."""
    lang = inputs.lang
    code = resolve_code(inputs, fixmedins_code)
    ev = evidence_table(inputs, code)
    top = ev.head(int(top_n)).copy()
    d.narrative(t("pr.evidence.text", lang, n=len(ev), k=len(top)))
    top.insert(0, "indicator", [_indicator_label(x, lang, inputs) for x in top["indicator_id"]])
    if lang == "zh":  # the table's Chinese name (就诊信息, 费用明细 …) instead of its code
        from riskscore.contract import TABLES

        top["record_table"] = [
            TABLES[x].zh if x in TABLES else x for x in top["record_table"].astype(str)
        ]
    top["family"] = [family_name(x, lang) for x in top["family"]]
    top["date"] = pd.to_datetime(top["date"]).dt.strftime("%Y-%m-%d")
    d.table(
        top.drop(columns=["indicator_id"]),
        "institution_profile.evidence",
        lang,
        {"amount": "{:,.2f}"},
    )
    return ev

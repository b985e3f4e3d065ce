"""结果公告 — the public notice of the random inspection results (一公开).

One row per drawn institution: code and name (a legal entity, published), region, the
inspection items, date, result, violation types, amounts recovered and penalties, and the
rectification status. Patients never appear. Inspectors appear by name only when the
policy's ``publication.inspector_names`` is true; otherwise as a count (no unit codes). Risk scores,
tiers and inclusion probabilities of single institutions are not published.

Before anything is shown or written, :func:`find_personal_data` scans the notice for
ID-card numbers, mobile numbers and the names of insured persons from the data folder and
stops with a :class:`~riskscore.errors.RiskscoreError` if any is found.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import pandas as pd

from riskscore.errors import RiskscoreError
from riskscore.reports import display as d
from riskscore.reports._text import col, families_text, medins_type_name, t
from riskscore.reports.common import num, region_label

ID_CARD_RE = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])"
    r"(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])"
)
"""18-character resident ID number (居民身份证号码)."""
MOBILE_RE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9A-Za-z])")
"""11-digit mainland mobile number (手机号码), standing alone (not inside a code such as the
institution code ``H13010200141`` of a Hebei hospital)."""

NOTICE_COLUMNS = (
    "fixmedins_code",
    "fixmedins_name",
    "medins_type",
    "region",
    "items",
    "inspect_date",
    "result_text",
    "violation_types",
    "recovered_amount",
    "penalty_amount",
    "rectify_status",
    "inspectors",
)


def personal_names(inputs) -> set[str]:
    """Names of insured persons and inspectors in the data folder (to keep out of the notice).

    Inspector names are included unless the policy allows publishing them.
    """
    names: set[str] = set()
    if not inputs.data_dir:
        return names
    for table in ("psn_info_b", "mdtrt_d", "setl_d"):
        df = inputs.data_table(table)
        if df is not None and "psn_name" in df.columns:
            names |= {str(x).strip() for x in df["psn_name"].dropna() if str(x).strip()}
    if not inputs.policy_dict()["publication"].get("inspector_names", False):
        ins = inputs.data_table("inspectors")
        if ins is not None and "inspector_name" in ins.columns:
            names |= {str(x).strip() for x in ins["inspector_name"].dropna() if str(x).strip()}
    return names


def find_personal_data(text: str, names: set[str] | None = None) -> list[str]:
    """Personal data found in ``text``: ID-card numbers, mobile numbers and given names.

    Parameters
    ----------
    text : str
        Text to scan (a CSV or HTML document).
    names : set of str, optional
        Person names that must not appear (two characters or more).

    Returns
    -------
    list of str
        Descriptions of the hits (empty when clean).
    """
    hits = [f"ID number {m}" for m in ID_CARD_RE.findall(text)]
    hits += [f"mobile number {m}" for m in MOBILE_RE.findall(text)]
    for n in sorted(names or ()):
        if len(n) >= 2 and n in text:
            hits.append(f"person name {n}")
    return hits


def _items(inputs) -> dict[str, str]:
    from riskscore.reports.annual_plan import items_table

    try:
        it = items_table(inputs)
    except RiskscoreError:
        return {}
    if "item_id" not in it or "item_name" not in it:
        return {}
    return dict(zip(it["item_id"].astype(str), it["item_name"].astype(str), strict=True))


def _inspectors(inputs, allow_names: bool) -> dict[str, str]:
    """Per institution: inspector names (if allowed) or the number of inspectors."""
    asg = inputs.assignments()
    if asg is None or "inspector_id" not in asg.columns:
        return {}
    lang = inputs.lang
    names = {}
    if allow_names:
        ins = inputs.data_table("inspectors")
        if ins is not None:
            names = dict(
                zip(ins["inspector_id"].astype(str), ins["inspector_name"].astype(str), strict=True)
            )
    out = {}
    for code, g in asg.groupby("fixmedins_code"):
        if allow_names and names:
            sep = "、" if lang == "zh" else ", "
            out[str(code)] = sep.join(names.get(str(i), str(i)) for i in g["inspector_id"])
        else:
            # a count only: unit codes mean nothing to the public
            out[str(code)] = f"{len(g)}名" if lang == "zh" else f"{len(g)} inspectors"
    return out


def notice_table(inputs) -> pd.DataFrame:
    """The notice rows (machine column names, localised values)."""
    lang = inputs.lang
    pol = inputs.policy_dict()
    allow = bool(pol["publication"].get("inspector_names", False))
    targets = inputs.targets()
    targets["fixmedins_code"] = targets["fixmedins_code"].astype(str)
    res = inputs.results()
    res = res[res["origin"] == "draw"].copy()
    res["fixmedins_code"] = res["fixmedins_code"].astype(str)
    for c in ("improper_amount", "recovered_amount", "penalty_amount"):
        res[c] = num(res[c]) if c in res else 0.0
    res["violation_found"] = num(res["violation_found"]).fillna(0)
    items = _items(inputs)
    inst = inputs.institutions()
    info = {}
    if inst is not None:
        info = inst.set_index(inst["fixmedins_code"].astype(str)).to_dict("index")
    insp = _inspectors(inputs, allow)
    today = inputs.as_of_date()
    regions = inputs.region_names()
    rows = []
    for code in targets.drop_duplicates("fixmedins_code")["fixmedins_code"]:
        r = res[res["fixmedins_code"] == code]
        meta = info.get(code, {})
        if r.empty:
            result, fams, rec, pen, rect, date, its = (
                t("status.pending", lang),
                "",
                None,
                None,
                "",
                "",
                "",
            )
        else:
            found = bool(r["violation_found"].max() >= 1)
            result = t("status.violation" if found else "status.clean", lang)
            fams = families_text(
                ";".join(r.get("violation_types", pd.Series(dtype=str)).dropna().astype(str)), lang
            )
            fams = (
                ("、" if lang == "zh" else ", ").join(
                    dict.fromkeys(fams.split("、" if lang == "zh" else ", "))
                )
                if fams
                else ""
            )
            rec = float(r["recovered_amount"].fillna(0).sum())
            pen = float(r["penalty_amount"].fillna(0).sum())
            rect = _rectify_status(r, found, today, lang)
            dates = pd.to_datetime(r["inspect_date"], errors="coerce").dropna()
            date = dates.min().strftime("%Y-%m-%d") if len(dates) else ""
            ids = [str(x) for x in r.get("item_id", pd.Series(dtype=str)).dropna().unique()]
            its = ("；" if lang == "zh" else "; ").join(items.get(i, i) for i in ids)
        rows.append(
            {
                "fixmedins_code": code,
                "fixmedins_name": meta.get("fixmedins_name", ""),
                "medins_type": medins_type_name(meta.get("medins_type", ""), lang),
                "region": region_label(meta.get("region"), regions) if meta else "",
                "items": its,
                "inspect_date": date,
                "result_text": result,
                "violation_types": fams,
                "recovered_amount": rec,
                "penalty_amount": pen,
                "rectify_status": rect,
                "inspectors": insp.get(code, ""),
            }
        )
    out = pd.DataFrame(rows, columns=list(NOTICE_COLUMNS))
    return out.sort_values(["region", "fixmedins_code"]).reset_index(drop=True)


def _rectify_status(r: pd.DataFrame, found: bool, today: _dt.date, lang: str) -> str:
    if not found:
        return t("status.na", lang)
    done = pd.to_datetime(r.get("rectify_done_date"), errors="coerce")
    dl = pd.to_datetime(r.get("rectify_deadline"), errors="coerce")
    if done is not None and done.notna().all():
        return t("status.rectified", lang)
    if dl is not None and (dl.dropna() < pd.Timestamp(today)).any():
        return t("status.overdue", lang)
    return t("status.open", lang)


def check_clean(text: str, inputs, where: str) -> None:
    """Raise when ``text`` holds personal data (the notice is never written then)."""
    hits = find_personal_data(text, personal_names(inputs))
    if hits:
        raise RiskscoreError(
            f"{where}: personal data found in the public notice ({hits[0]}; {len(hits)} hits); "
            "nothing was published"
        )


def write_csv(table: pd.DataFrame, inputs, path: str | Path) -> Path:
    """Write the notice CSV (UTF-8 with BOM, localised headers) after the personal-data scan."""
    from riskscore.outputs import atomic_write_bytes, frame_csv_bytes

    lang = inputs.lang
    out = table.rename(columns={c: col(c, lang) for c in table.columns})
    data = frame_csv_bytes(out, people=True)  # BOM; text cells neutralised (= + - @)
    check_clean(data.decode("utf-8"), inputs, str(path))
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(p, data)


def section_notice(inputs, csv_out: str = "", published: str = "") -> pd.DataFrame:
    """The notice page: title, introduction, the table and the footer; writes the CSV when
    ``csv_out`` is set."""
    lang = inputs.lang
    pol = inputs.policy_dict()
    year = int(pol.get("year", inputs.as_of_date().year))
    if inputs.has("plan_dir", "plan.json"):
        year = int(inputs.plan().get("year", year))
    tab = notice_table(inputs)
    check_clean(tab.to_csv(index=False), inputs, "public notice")
    d.heading(t("pn.title", lang, year=year), level=1)
    d.narrative(t("pn.intro", lang, year=year, n=len(tab)))
    shown = tab.copy()
    if (
        not bool(pol["publication"].get("inspector_names", False))
        and shown["inspectors"].eq("").all()
    ):
        shown = shown.drop(columns=["inspectors"])
    d.table(
        shown,
        "public_notice.results",
        lang,
        {"recovered_amount": "{:,.2f}", "penalty_amount": "{:,.2f}"},
    )
    if csv_out:
        p = write_csv(tab, inputs, csv_out)
        d.narrative(t("pn.csv_note", lang, path=p.name))
    d.narrative(t("pn.footer", lang, date=published or inputs.as_of_date().isoformat()))
    return tab

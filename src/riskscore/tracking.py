"""Rectification tracking (整改跟踪) and next year's credit classification (信用分级).

Both use *all* inspections (draw, complaint, special check …): a finding is a finding for the
institution concerned, whatever brought the inspector there. Only the province-wide
estimators (:mod:`riskscore.estimate`) are restricted to the random draw.

Rectification status as of a date ``as_of``
-------------------------------------------
``done_on_time``  completed on or before the deadline;
``done_late``     completed after the deadline;
``overdue``       not completed and the deadline has passed (逾期未整改);
``open``          not completed, deadline not reached;
``no_deadline``   a violation without a rectification deadline (to be set).

Follow-up visits (回访): ``due`` when the follow-up date falls within ``followup_window_days``
after ``as_of``; ``past`` when it lies before ``as_of`` (check that it took place);
``scheduled`` later.

Next year's credit rule (documented default, :class:`CreditRule`)
---------------------------------------------------------------
Applied per institution, first matching line wins:

1. ``D`` — a violation with improper amount ≥ ``d_amount`` (default 100,000 元), or a
   referral (移送) to the police / discipline inspection, or a rectification overdue as of
   ``as_of``;
2. ``C`` — any other violation found;
3. clean inspection(s): ``A`` when the previous rating was A or B (or none), ``B`` when it was
   C or D (one clean inspection lifts a poor rating by at most to B);
4. not inspected: keep the previous rating, or ``B`` when there is none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

TRACKER_COLUMNS = [
    "result_id",
    "fixmedins_code",
    "origin",
    "draw_round",
    "inspect_date",
    "violation_found",
    "improper_amount",
    "rectify_deadline",
    "rectify_done_date",
    "rectify_status",
    "days_overdue",
    "followup_date",
    "followup_status",
    "referral_to",
    "as_of",
]


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce")


def rectification_tracker(
    results: pd.DataFrame,
    as_of: dt.date,
    *,
    followup_window_days: int = 30,
) -> pd.DataFrame:
    """Rectification tracker (整改台账) as of a date.

    Parameters
    ----------
    results : DataFrame
        Inspection results (contract table ``inspection_results``), all origins.
    as_of : date
        Status date (统计截止日期).
    followup_window_days : int
        A follow-up visit (回访) within this many days after ``as_of`` is ``due``.

    Returns
    -------
    DataFrame
        One row per inspection with a violation, a rectification deadline or a referral;
        columns :data:`TRACKER_COLUMNS`, overdue rows first.
    """
    r = results.copy()
    ts = pd.Timestamp(as_of)
    vf = pd.to_numeric(r["violation_found"], errors="coerce").fillna(0).astype(int)
    deadline = _dates(r["rectify_deadline"])
    done = _dates(r["rectify_done_date"])
    follow = _dates(r["followup_date"])
    referral = r["referral_to"].astype("string").str.strip().replace("", pd.NA)
    keep = (vf == 1) | deadline.notna() | referral.notna()
    status = np.select(
        [
            done.notna() & deadline.notna() & (done <= deadline),
            done.notna() & deadline.notna() & (done > deadline),
            done.notna(),
            deadline.isna(),
            deadline < ts,
        ],
        ["done_on_time", "done_late", "done_on_time", "no_deadline", "overdue"],
        default="open",
    )
    days_over = np.where(status == "overdue", (ts - deadline).dt.days, 0)
    fstat = np.select(
        [follow.isna(), follow < ts, follow <= ts + pd.Timedelta(days=followup_window_days)],
        ["", "past", "due"],
        default="scheduled",
    )
    out = pd.DataFrame(
        {
            "result_id": r["result_id"],
            "fixmedins_code": r["fixmedins_code"],
            "origin": r["origin"],
            "draw_round": r.get("draw_round"),
            "inspect_date": _dates(r["inspect_date"]).dt.date,
            "violation_found": vf,
            "improper_amount": pd.to_numeric(r["improper_amount"], errors="coerce"),
            "rectify_deadline": deadline.dt.date,
            "rectify_done_date": done.dt.date,
            "rectify_status": status,
            "days_overdue": days_over.astype(int),
            "followup_date": follow.dt.date,
            "followup_status": fstat,
            "referral_to": referral,
            "as_of": as_of.isoformat(),
        }
    )[keep.to_numpy()]
    order = {"overdue": 0, "open": 1, "no_deadline": 2, "done_late": 3, "done_on_time": 4}
    out = out.assign(_o=out["rectify_status"].map(order)).sort_values(
        ["_o", "days_overdue", "fixmedins_code"], ascending=[True, False, True]
    )
    return out.drop(columns="_o").reset_index(drop=True)[TRACKER_COLUMNS]


@dataclass
class CreditRule:
    """Parameters of the next-year credit rule (see module docstring).

    Attributes
    ----------
    d_amount : float
        Improper amount (违规金额, 元) at or above which a violation rates D.
    overdue_is_d : bool
        An overdue rectification (逾期未整改) rates D.
    referral_is_d : bool
        A referral to the police / discipline inspection rates D.
    default_rating : str
        Rating of an institution neither inspected nor previously rated.
    """

    d_amount: float = 100_000.0
    overdue_is_d: bool = True
    referral_is_d: bool = True
    default_rating: str = "B"


def next_year_credit(
    results: pd.DataFrame,
    institutions,
    *,
    previous: pd.DataFrame | None = None,
    as_of: dt.date,
    rule: CreditRule | None = None,
) -> pd.DataFrame:
    """Next year's credit classification (下一年度信用等级) from the findings.

    Parameters
    ----------
    results : DataFrame
        Inspection results, all origins.
    institutions : sequence of str
        fixmedins_code of every institution to classify (the frame); inspected institutions
        outside it are added.
    previous : DataFrame, optional
        ``credit_ratings`` (fixmedins_code, rating, rating_date); the latest rating counts.
    as_of : date
        Date for the overdue test.
    rule : CreditRule, optional

    Returns
    -------
    DataFrame
        ``fixmedins_code, rating, rule, previous_rating, inspected, violation_found,
        improper_amount, referral, rectify_overdue``.
    """
    rule = rule or CreditRule()
    r = results.copy()
    r["violation_found"] = pd.to_numeric(r["violation_found"], errors="coerce").fillna(0)
    r["improper_amount"] = pd.to_numeric(r["improper_amount"], errors="coerce").fillna(0.0)
    ref = r["referral_to"].astype("string").str.strip().fillna("")
    r["_referral"] = (ref != "").astype(int)
    tracker = rectification_tracker(results, as_of)
    overdue = set(tracker.loc[tracker["rectify_status"] == "overdue", "fixmedins_code"])
    agg = r.groupby("fixmedins_code").agg(
        violation_found=("violation_found", "max"),
        improper_amount=("improper_amount", "sum"),
        referral=("_referral", "max"),
    )
    codes = pd.Index(pd.Series(list(institutions), dtype="string")).union(agg.index)
    prev = pd.Series(pd.NA, index=codes, dtype="string")
    if previous is not None and len(previous):
        p = previous.copy()
        p["rating_date"] = pd.to_datetime(p["rating_date"], errors="coerce")
        latest = p.sort_values("rating_date").groupby("fixmedins_code")["rating"].last()
        prev = latest.reindex(codes).astype("string")
    out = pd.DataFrame(index=codes)
    out.index.name = "fixmedins_code"
    out["previous_rating"] = prev
    out["inspected"] = out.index.isin(agg.index).astype(int)
    out = out.join(agg)
    out["violation_found"] = out["violation_found"].fillna(0).astype(int)
    out["improper_amount"] = out["improper_amount"].fillna(0.0)
    out["referral"] = out["referral"].fillna(0).astype(int)
    out["rectify_overdue"] = out.index.isin(list(overdue)).astype(int)
    ratings, rules = [], []
    for row in out.itertuples():
        pr = row.previous_rating if isinstance(row.previous_rating, str) else None
        if row.violation_found and row.improper_amount >= rule.d_amount:
            ratings.append("D")
            rules.append(f"violation, improper amount ≥ {rule.d_amount:,.0f} → D")
        elif row.violation_found and rule.referral_is_d and row.referral:
            ratings.append("D")
            rules.append("violation referred (移送) → D")
        elif row.violation_found and rule.overdue_is_d and row.rectify_overdue:
            ratings.append("D")
            rules.append("violation, rectification overdue → D")
        elif row.violation_found:
            ratings.append("C")
            rules.append("violation found → C")
        elif row.inspected:
            if pr in ("C", "D"):
                ratings.append("B")
                rules.append(f"clean inspection, previous {pr} → B")
            else:
                ratings.append("A")
                rules.append("clean inspection → A")
        elif pr:
            ratings.append(pr)
            rules.append("not inspected: previous rating kept")
        else:
            ratings.append(rule.default_rating)
            rules.append(f"not inspected, no previous rating → {rule.default_rating}")
    out["rating"] = ratings
    out["rule"] = rules
    cols = [
        "rating",
        "rule",
        "previous_rating",
        "inspected",
        "violation_found",
        "improper_amount",
        "referral",
        "rectify_overdue",
    ]
    return out[cols].reset_index()

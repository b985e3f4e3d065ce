"""Rectification tracker and next year's credit rule."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from riskscore.tracking import CreditRule, next_year_credit, rectification_tracker

AS_OF = dt.date(2025, 12, 31)


def _results():
    cols = [
        "result_id",
        "fixmedins_code",
        "origin",
        "draw_round",
        "inspect_date",
        "violation_found",
        "improper_amount",
        "rectify_deadline",
        "rectify_done_date",
        "followup_date",
        "referral_to",
    ]
    rows = [
        (
            "1",
            "ONTIME",
            "draw",
            "1",
            "2025-05-01",
            1,
            5000,
            "2025-06-01",
            "2025-05-20",
            "2025-07-01",
            None,
        ),
        (
            "2",
            "LATE",
            "draw",
            "1",
            "2025-05-01",
            1,
            5000,
            "2025-06-01",
            "2025-06-20",
            "2025-07-01",
            None,
        ),
        (
            "3",
            "OVERDUE",
            "complaint",
            None,
            "2025-09-01",
            1,
            5000,
            "2025-10-01",
            None,
            "2026-01-15",
            None,
        ),
        ("4", "OPEN", "draw", "1", "2025-12-01", 1, 5000, "2026-01-30", None, "2026-03-01", None),
        (
            "5",
            "BIG",
            "draw",
            "1",
            "2025-05-01",
            1,
            250000,
            "2025-06-01",
            "2025-05-30",
            "2025-07-01",
            None,
        ),
        (
            "6",
            "REFER",
            "draw",
            "1",
            "2025-05-01",
            1,
            8000,
            "2025-06-01",
            "2025-05-30",
            "2025-07-01",
            "公安机关",
        ),
        ("7", "CLEAN", "draw", "1", "2025-05-01", 0, 0, None, None, None, None),
        ("8", "CLEANC", "draw", "1", "2025-05-01", 0, 0, None, None, None, None),
    ]
    return pd.DataFrame(rows, columns=cols)


def test_tracker_statuses():
    t = rectification_tracker(_results(), AS_OF).set_index("fixmedins_code")
    assert "CLEAN" not in t.index  # no violation, no deadline, no referral
    assert t.loc["ONTIME", "rectify_status"] == "done_on_time"
    assert t.loc["LATE", "rectify_status"] == "done_late"
    assert t.loc["OVERDUE", "rectify_status"] == "overdue"
    assert t.loc["OVERDUE", "days_overdue"] == 91
    assert t.loc["OPEN", "rectify_status"] == "open"
    assert t.loc["OVERDUE", "followup_status"] == "due"  # 2026-01-15 within 30 days
    assert t.loc["OPEN", "followup_status"] == "scheduled"
    assert t.loc["ONTIME", "followup_status"] == "past"
    assert t.loc["REFER", "referral_to"] == "公安机关"
    assert t.index[0] == "OVERDUE"  # overdue first


def test_credit_rule():
    prev = pd.DataFrame(
        {
            "fixmedins_code": ["CLEANC", "CLEANC", "IDLE"],
            "rating": ["A", "C", "D"],
            "rating_date": ["2023-12-31", "2024-12-31", "2024-12-31"],
        }
    )
    c = next_year_credit(_results(), ["IDLE", "NEW", "CLEAN"], previous=prev, as_of=AS_OF)
    c = c.set_index("fixmedins_code")
    assert c.loc["BIG", "rating"] == "D" and "100,000" in c.loc["BIG", "rule"]
    assert c.loc["REFER", "rating"] == "D"
    assert c.loc["OVERDUE", "rating"] == "D"  # complaint findings count for credit
    assert c.loc["ONTIME", "rating"] == "C" and c.loc["LATE", "rating"] == "C"
    assert c.loc["CLEAN", "rating"] == "A"
    assert c.loc["CLEANC", "rating"] == "B"  # latest previous rating C, clean → B
    assert c.loc["IDLE", "rating"] == "D" and "kept" in c.loc["IDLE", "rule"]
    assert c.loc["NEW", "rating"] == "B"
    # the threshold is a parameter
    c2 = next_year_credit(
        _results(),
        [],
        as_of=AS_OF,
        rule=CreditRule(d_amount=1_000_000, overdue_is_d=False, referral_is_d=False),
    ).set_index("fixmedins_code")
    assert c2.loc["BIG", "rating"] == "C" and c2.loc["OVERDUE", "rating"] == "C"

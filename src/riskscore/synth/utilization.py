"""Planted utilisation abuses (异常诊疗与费用) for the synthetic province.

Four institution-level abuses, each planted at a few eligible institutions (the family
``abnormal_utilization`` in ``truth.csv``; the abuse and its strength in
``truth_utilization.csv``):

``long_stay`` (延长住院日)
    every general inpatient stay of the hospital lasts ``r`` × its honest length (± 10 %).
``readmission_churning`` (频繁再入院)
    a share ``p`` of the stays is followed, 1–14 days after discharge, by another stay of the
    same person with an unrelated inpatient diagnosis (any-cause readmission, not the
    same-diagnosis split stay of ``split_hospitalization``).
``phantom_patients`` (虚构就诊/虚假病人)
    borrowed identities (insured persons drawn from the whole province) with 1–3 outpatient
    encounters each, entered mostly (70 %) in the last three days of a month; their number is
    a share ``(r − 1) / 6`` of the outpatient volume, which makes the month-end share ``r`` ×
    the province's (about 10 %).
``inflated_cost`` (虚增次均费用)
    every line price of the institution's non-pharmacy encounters is multiplied by
    ``r`` (± 10 % per encounter): each encounter stays a plausible one of its kind, only dearer.

Intensity (``--intensity``): ``default`` draws ``r`` log-uniformly in [2, 3] and the churned
share ``p`` in [8 %, 20 %] of stays (3–6 × the province's 30-day readmission rate of about
3.7 %); ``subtle`` keeps every violator within 1.5–2 × its peers: ``r`` in [1.5, 2] and
``p = (r − 1) × 3.7 %``. The existing twelve families are not affected by this setting.

Random numbers come from their own streams (``seed, 300, …``), so the other families'
planting is unchanged by this module.
"""

from __future__ import annotations

import numpy as np

from riskscore.synth.claims import BIT, Enc, diag_pick

FAMILY = "abnormal_utilization"
ABUSES = ("long_stay", "readmission_churning", "phantom_patients", "inflated_cost")
INTENSITIES = ("default", "subtle")
READMIT_BASE = 0.037  # province 30-day any-cause readmission rate (measured, seed 3, 120 inst.)
MONTH_END_SHARE = 0.10
MIN_VIOLATORS = 5
MODE_CHEMO = 16


def _eligible(c, abuse: str) -> bool:
    n21 = c.counts.get(21, 0)
    n_out = c.counts.get(11, 0) + c.counts.get(13, 0)
    if c.decoy:
        return False
    if abuse in ("long_stay", "readmission_churning"):
        return c.mtype == "hospital" and c.specialty == "general" and n21 >= 30
    if abuse == "phantom_patients":
        return c.mtype in ("hospital", "clinic") and n_out >= 100
    return c.mtype in ("hospital", "clinic") and sum(c.counts.values()) >= 100


def plan(ctxs: list, seed: int, prevalence: float, intensity: str = "default") -> dict:
    """Choose the violators: ``{institution index: (abuse, r, p)}``; marks ``c.violator``.

    Each abuse goes to ``max(5, prevalence × eligible)`` institutions (disjoint, never a
    decoy). ``r`` is the strength (ratio to peers), ``p`` the churned share of stays.
    """
    if intensity not in INTENSITIES:
        raise ValueError(f"intensity {intensity!r}: expected one of {', '.join(INTENSITIES)}")
    rng = np.random.default_rng([seed, 300])
    lo, hi = (2.0, 3.0) if intensity == "default" else (1.5, 2.0)
    taken: set[int] = set()
    out: dict[int, tuple[str, float, float]] = {}
    for abuse in ABUSES:
        elig = [c.i for c in ctxs if _eligible(c, abuse) and c.i not in taken]
        k = min(len(elig), max(MIN_VIOLATORS, int(round(prevalence * len(elig)))))
        chosen = sorted(rng.choice(elig, size=k, replace=False).tolist()) if k else []
        for i in chosen:
            r = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
            if abuse == "readmission_churning":
                p = (
                    float(rng.uniform(0.08, 0.20))
                    if intensity == "default"
                    else (r - 1) * READMIT_BASE
                )
            else:
                p = 0.0
            out[i] = (abuse, r, p)
            taken.add(i)
            ctxs[i].violator[FAMILY] = round(r, 4)
    return out


def _month_end_days(year: int) -> np.ndarray:
    """Day-of-year indices (0-based) of the last three days of every month of ``year``."""
    starts = np.arange(f"{year}-01", f"{year + 1}-01", dtype="datetime64[M]")
    ends = (starts + 1).astype("datetime64[D]") - np.datetime64(f"{year}-01-01", "D")
    ends = ends.astype(np.int64)
    days = np.concatenate([ends - 3, ends - 2, ends - 1])
    return np.sort(days[(days >= 0) & (days <= 364)])


def plant_encounters(pv, rng, c, enc: Enc, plan_row, nblocks: int, year: int) -> Enc:
    """Encounter-level abuses of institution ``c`` in one block (returns the new encounters)."""
    abuse, r, p = plan_row
    bit = BIT[FAMILY]
    stay = (enc.med == 21) & ((enc.mode & MODE_CHEMO) == 0)
    if abuse == "long_stay":
        sel = np.flatnonzero(stay)
        if len(sel):
            f = r * rng.uniform(0.9, 1.1, len(sel))
            new_l = np.maximum(enc.L[sel] + 1, np.round(enc.L[sel] * f).astype(np.int64))
            new_l = np.minimum(new_l, np.maximum(1, 364 - enc.day[sel]))
            enc.L[sel] = np.maximum(enc.L[sel], new_l)
            enc.truth[sel] |= bit
        return enc
    if abuse == "readmission_churning":
        cand = np.flatnonzero(stay & (enc.day + enc.L <= 345))
        k = int(rng.binomial(len(cand), min(1.0, p))) if len(cand) else 0
        if k == 0:
            return enc
        sel = np.sort(rng.choice(cand, size=k, replace=False))
        rd = enc.take(sel)
        rd.day = enc.day[sel] + enc.L[sel] + rng.integers(1, 15, k)
        rd.L = rng.integers(2, 7, k)
        dg = diag_pick(rng, "ipt", k)
        same = dg == enc.diag[sel]  # any-cause: another diagnosis than the index stay
        dg[same] = diag_pick(rng, "ipt", int(same.sum()))
        rd.diag = dg
        rd.mode = np.zeros(k, np.int64)
        rd.elig_ok[:] = False
        rd.truth = np.full(k, bit, np.int64)
        return Enc.concat([enc, rd])
    if abuse == "phantom_patients":
        n_out = c.counts.get(11, 0) + c.counts.get(13, 0)
        n_ph = int(round((r - 1.0) / 6.0 * n_out / max(1, nblocks)))
        if n_ph <= 0:
            return enc
        per = rng.choice([1, 2, 3], size=max(1, n_ph // 2 + 1), p=[0.5, 0.3, 0.2])
        per = per[: np.searchsorted(np.cumsum(per), n_ph) + 1]
        persons = pv.alive_all[rng.integers(0, len(pv.alive_all), len(per))]
        psn = np.repeat(persons, per)[:n_ph]
        me = _month_end_days(year)
        day = np.where(
            rng.random(len(psn)) < 0.7,
            me[rng.integers(0, len(me), len(psn))],
            rng.integers(0, 365, len(psn)),
        )
        ph = Enc.make(
            np.full(len(psn), 11),
            psn,
            day,
            np.zeros(len(psn)),
            diag_pick(rng, "out", len(psn)),
            rng.choice([1, 2], size=len(psn), p=[0.6, 0.4]),
            truth=np.full(len(psn), bit),
        )
        ph.elig_ok[:] = False
        return Enc.concat([enc, ph])
    return enc


def plant_lines(rng, c, enc: Enc, ln: dict, plan_row) -> dict:
    """Line-level abuse (``inflated_cost``): line prices of non-pharmacy encounters × r."""
    abuse, r, _p = plan_row
    if abuse != "inflated_cost" or len(enc) == 0:
        return ln
    hit = enc.med != 41
    f = np.where(hit, r * rng.uniform(0.9, 1.1, len(enc)), 1.0)
    ln["pric"] = np.round(ln["pric"] * f[ln["e"]], 2)
    enc.truth[hit] |= BIT[FAMILY]
    return ln

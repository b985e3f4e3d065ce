"""Annual sampling plan (年度抽查计划): policy + scores → inclusion probabilities.

Design (documented in ``docs/draw.md``)
---------------------------------------
Each round is a stratified simple random sample without replacement (分层简单随机抽样) with
the risk tiers A–D as strata. For tier *h* with ``N_h`` institutions in the frame and policy
rate ``p_h`` (expected regular-draw inspections per institution per year):

* annual sample size ``n_h = round_half_up(p_h × N_h)``, at least 1 when ``p_h > 0`` and
  ``N_h > 0``, at most ``annual_cap × N_h``;
* ``n_h`` is split over the rounds by the rounds' shares (largest remainder, ties to the earlier
  round) giving ``n_hr``;
* the exact marginal inclusion probability of every institution in round *r* is
  ``π_hr = n_hr / N_h``. Within a stratum all institutions are exchangeable, so this holds even
  when later rounds exclude institutions already inspected ``annual_cap`` times (the draw then
  samples ``n_hr`` of the ``N_hr`` still eligible, conditional probability ``n_hr / N_hr``);
* the annual inclusion probability ``pi`` (被抽中至少一次的概率) is computed exactly by a
  dynamic programme over the number of institutions at each inspection count (hypergeometric
  transitions); without cap exclusions it equals ``1 − Π_r (1 − π_hr)``.

The floor check compares the planned number of inspections ``Σ n_h`` with
``ceil(overall_floor × N)``; with ``floor_action: scale`` the non-exempt rates are multiplied by
the smallest factor that meets the floor. Capacity compares, per round, the inspector seats
needed (``n_r × team size``) with the qualified active inspectors × the workload cap, and over
the year the inspector-days needed with the inspector-days available.

Expected findings use ``risk_score`` as the probability proxy q_i of a finding when all scores
lie in [0, 1], otherwise the within-frame percentile rank of ``risk_score`` (documented in
plan.json): targeted = Σ_i E[inspections_i] q_i, uniform = (n / N) Σ_i q_i for the same n.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore import __version__
from riskscore.errors import PolicyError, RiskscoreError
from riskscore.policy import (
    TIERS,
    effective_annual_cap,
    load_policy,
    sampling_design,
    team_size,
)

SCORE_COLUMNS = ("fixmedins_code", "risk_score", "tier", "expected_loss")


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves up (0.5 → 1), robust to float noise."""
    return int(math.floor(x + 0.5 + 1e-9))


def stratum_sizes(rate: float, n_units: int, cap: int) -> int:
    """Annual sample size of one stratum (年度抽查数).

    Parameters
    ----------
    rate : float
        Policy rate ``p_h`` (expected inspections per institution-year).
    n_units : int
        ``N_h``.
    cap : int
        Annual cap per institution.

    Returns
    -------
    int
        ``round_half_up(rate × N_h)``, at least 1 when rate > 0 and N_h > 0, at most cap × N_h.
    """
    if n_units <= 0 or rate <= 0:
        return 0
    return int(min(max(round_half_up(rate * n_units), 1), cap * n_units))


def split_rounds(n: int, shares: list[float]) -> list[int]:
    """Split ``n`` inspections over rounds by shares (largest remainder, ties → earlier round)."""
    raw = [n * s for s in shares]
    base = [int(math.floor(x + 1e-9)) for x in raw]
    rest = n - sum(base)
    order = sorted(range(len(shares)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[:rest]:
        base[i] += 1
    return base


def annual_inclusion_probability(n_units: int, per_round: list[int], cap: int) -> float:
    """Exact probability that a given institution of a stratum is drawn at least once a year.

    (年度被抽中概率) Each round draws ``per_round[r]`` institutions by simple random sampling
    from those inspected fewer than ``cap`` times so far.

    Parameters
    ----------
    n_units : int
        Stratum size N_h.
    per_round : list of int
        n_hr for each round.
    cap : int
        Annual cap.

    Returns
    -------
    float
    """
    from scipy.stats import hypergeom

    if n_units == 0:
        return 0.0
    if len(per_round) <= cap:
        q = Fraction(1)
        for n in per_round:
            q *= 1 - Fraction(n, n_units)
        return float(1 - q)
    # state: tuple m[0..cap-1] = institutions inspected k times (k < cap); capped = rest
    states: dict[tuple[int, ...], float] = {tuple([n_units] + [0] * (cap - 1)): 1.0}
    for n in per_round:
        new: dict[tuple[int, ...], float] = defaultdict(float)
        for m, pr in states.items():
            elig = sum(m)
            if n > elig:
                raise PolicyError(
                    f"sampling.annual_cap: a round needs {n} institutions but only {elig} "
                    f"of {n_units} may still be inspected (cap {cap} a year)"
                )
            # distribute n draws over classes: multivariate hypergeometric, class by class
            partial: list[tuple[tuple[int, ...], float]] = [((), pr)]
            for k in range(cap):
                nxt = []
                for picks, p0 in partial:
                    left = n - sum(picks)
                    pop_left = elig - sum(m[:k])
                    if k == cap - 1:
                        if left <= m[k]:
                            nxt.append((picks + (left,), p0))
                        continue
                    rv = hypergeom(pop_left, m[k], left)
                    lo, hi = max(0, left - (pop_left - m[k])), min(m[k], left)
                    for x in range(lo, hi + 1):
                        px = rv.pmf(x)
                        if px > 0:
                            nxt.append((picks + (x,), p0 * px))
                partial = nxt
            for picks, p0 in partial:
                m2 = list(m)
                for k in range(cap):
                    m2[k] -= picks[k]
                    if k + 1 < cap:
                        m2[k + 1] += picks[k]
                new[tuple(m2)] += p0
        states = dict(new)
    e_never = sum(pr * m[0] for m, pr in states.items())
    return 1 - e_never / n_units


def max_capped(per_round: list[int], cap: int, n_units: int) -> int:
    """Largest number of institutions that can have reached the cap after these rounds.

    Each round selects distinct institutions, so M institutions can all reach the cap iff
    ``M × cap ≤ Σ_r min(n_r, M)``.
    """
    best = 0
    for m in range(1, n_units + 1):
        if m * cap <= sum(min(n, m) for n in per_round):
            best = m
    return best


def min_eligible_ok(n_units: int, per_round: list[int], cap: int) -> int | None:
    """First round whose n_hr may exceed the institutions still below the cap, else None."""
    for r, n in enumerate(per_round):
        if n > n_units - max_capped(per_round[:r], cap, n_units):
            return r
    return None


def read_scores(path: str | Path) -> pd.DataFrame:
    """Read SCORES.csv (fixmedins_code, risk_score, tier, expected_loss) with checks.

    Raises
    ------
    RiskscoreError
        Naming the file and the column.
    """
    from riskscore.outputs import check_artifact, unneutralise_frame

    p = Path(path)
    if not p.exists():
        raise RiskscoreError(f"{p}: scores file not found (run `riskscore score` first)")
    check_artifact(p)  # refuses a partial or mixed output set of `riskscore score`
    try:
        df = pd.read_csv(p, dtype={"fixmedins_code": str, "tier": str}, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise RiskscoreError(f"{p}: not a readable UTF-8 CSV ({type(exc).__name__})") from None
    df = unneutralise_frame(df)
    for c in SCORE_COLUMNS:
        if c not in df.columns:
            raise RiskscoreError(
                f"{p}: missing column '{c}'; expected at least {', '.join(SCORE_COLUMNS)}"
            )
    df["fixmedins_code"] = df["fixmedins_code"].astype("string").str.strip()
    if df["fixmedins_code"].isna().any() or (df["fixmedins_code"] == "").any():
        raise RiskscoreError(f"{p}: column 'fixmedins_code' has empty values")
    dup = df["fixmedins_code"][df["fixmedins_code"].duplicated()]
    if len(dup):
        raise RiskscoreError(
            f"{p}: column 'fixmedins_code' has duplicates (e.g. {dup.iloc[0]}); one row per institution expected"
        )
    df["tier"] = df["tier"].astype("string").str.strip().str.upper()
    bad = df.loc[~df["tier"].isin(TIERS), "tier"]
    if len(bad):
        raise RiskscoreError(
            f"{p}: column 'tier' has {bad.iloc[0]!r}; expected one of {', '.join(TIERS)}"
        )
    for c in ("risk_score", "expected_loss"):
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any():
            i = int(v.isna().to_numpy().nonzero()[0][0])
            raise RiskscoreError(f"{p}: column '{c}' is not numeric in row {i + 2}")
        df[c] = v.astype(float)
    return df


def _file_sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@dataclass
class Plan:
    """A computed annual plan.

    Attributes
    ----------
    policy : dict
    inclusion : pandas.DataFrame
        One row per scored or registered institution (``in_frame`` 0/1).
    summary : dict
        The content of plan.json.
    """

    policy: dict
    inclusion: pd.DataFrame
    summary: dict


def _qualified_inspectors(data_dir: Path | None, on: str) -> pd.DataFrame | None:
    if data_dir is None:
        return None
    from riskscore.io import load_table

    ins = load_table(data_dir, "inspectors")
    if ins is None:
        return None
    day = pd.Timestamp(on)
    ok = (ins["status"] == "active") & (ins["cert_valid_until"] >= day)
    return ins.loc[ok.fillna(False).astype(bool)]


def build_plan(
    scores: pd.DataFrame,
    policy: dict,
    data_dir: str | Path | None = None,
    scores_path: str | Path | None = None,
) -> Plan:
    """Compute inclusion probabilities, floor and capacity checks (年度抽查计划).

    Parameters
    ----------
    scores : pandas.DataFrame
        From :func:`read_scores`.
    policy : dict
        From :func:`riskscore.policy.load_policy`.
    data_dir : path, optional
        Data folder with ``institutions`` (frame, status) and ``inspectors`` (capacity).
    scores_path : path, optional
        Recorded in the summary.

    Returns
    -------
    Plan

    Raises
    ------
    PolicyError
        When the policy is infeasible; the message names the binding constraint.
    """
    s = policy["sampling"]
    cap = effective_annual_cap(policy)
    floor_counts = s.get("floor_counts", "inspections")
    rounds = policy["rounds"]
    shares = [r["share"] for r in rounds]
    k = team_size(policy)

    df = scores[list(SCORE_COLUMNS)].copy()
    df["in_frame"] = 1
    df["exclusion_reason"] = ""
    unscored = 0
    if data_dir is not None:
        from riskscore.io import load_table

        inst = load_table(Path(data_dir), "institutions")
        if inst is not None:
            status = dict(zip(inst["fixmedins_code"], inst["status"].fillna("active"), strict=True))
            not_reg = ~df["fixmedins_code"].isin(status)
            df.loc[not_reg, ["in_frame", "exclusion_reason"]] = [0, "not_in_registry"]
            st = df["fixmedins_code"].map(status)
            inactive = st.notna() & (st != "active")
            df.loc[inactive, "in_frame"] = 0
            df.loc[inactive, "exclusion_reason"] = "status_" + st[inactive].astype(str)
            missing = [
                c for c, v in status.items() if v == "active" and c not in set(df["fixmedins_code"])
            ]
            if missing:
                unscored = len(missing)
                extra = pd.DataFrame(
                    {
                        "fixmedins_code": missing,
                        "risk_score": np.nan,
                        "tier": s.get("unscored_tier", "B"),
                        "expected_loss": np.nan,
                        "in_frame": 1,
                        "exclusion_reason": "",
                    }
                )
                df = pd.concat([df, extra], ignore_index=True)
    df = df.sort_values("fixmedins_code", kind="stable").reset_index(drop=True)
    frame = df[df["in_frame"] == 1]
    n_frame = len(frame)
    if n_frame == 0:
        raise PolicyError("sampling frame is empty: no active institution in scores/registry")
    sizes = {t: int((frame["tier"] == t).sum()) for t in TIERS}

    rates = dict(s["tier_probabilities"])
    floor_n = math.ceil(s["overall_floor"] * n_frame - 1e-9)

    def alloc(factor: float) -> dict[str, int]:
        return {t: stratum_sizes(min(rates[t] * factor, cap), sizes[t], cap) for t in TIERS}

    factor = 1.0
    n_h = alloc(1.0)
    if sum(n_h.values()) < floor_n:
        max_total = sum(cap * sizes[t] for t in TIERS if t not in s["exempt"])
        if s["floor_action"] == "error" or max_total < floor_n:
            raise PolicyError(
                f"sampling.overall_floor: floor {s['overall_floor']:.0%} needs ≥ {floor_n} "
                f"inspections of {n_frame} institutions but sampling.tier_probabilities give "
                f"{sum(n_h.values())}"
                + ("" if max_total >= floor_n else f" (at most {max_total} with annual_cap {cap})")
                + "; raise the tier probabilities or set floor_action: scale"
            )
        lo, hi = 1.0, 1.0
        while sum(alloc(hi).values()) < floor_n:
            hi *= 2
        for _ in range(60):
            mid = (lo + hi) / 2
            if sum(alloc(mid).values()) >= floor_n:
                hi = mid
            else:
                lo = mid
        factor = hi
        n_h = alloc(factor)
    n_hr = {t: split_rounds(n_h[t], shares) for t in TIERS}
    for t in TIERS:
        bad = min_eligible_ok(sizes[t], n_hr[t], cap)
        if bad is not None:
            raise PolicyError(
                f"sampling.annual_cap: tier {t} round '{rounds[bad]['name']}' needs "
                f"{n_hr[t][bad]} of {sizes[t]} institutions but up to "
                f"{max_capped(n_hr[t][:bad], cap, sizes[t])} may already be at the cap of {cap}"
            )
    per_round_total = [sum(n_hr[t][r] for t in TIERS) for r in range(len(rounds))]
    total = sum(n_h.values())

    # capacity
    ins_cfg = policy["inspectors"]
    capacity: dict = {"checked": False, "team_size": k}
    data_path = Path(data_dir) if data_dir is not None else None
    cap_rounds = []
    q_all = _qualified_inspectors(data_path, rounds[0]["start"]) if data_path else None
    if q_all is not None:
        capacity["checked"] = True
        joint = policy["teams"]["joint"]
        for r, rd in enumerate(rounds):
            q = _qualified_inspectors(data_path, rd["start"])
            m = len(q)
            seats = per_round_total[r] * k
            avail = m * ins_cfg["workload_cap_per_round"]
            row = {
                "round": rd["name"],
                "inspections": per_round_total[r],
                "qualified_inspectors": m,
                "seats_needed": seats,
                "seats_available": avail,
            }
            cap_rounds.append(row)
            if seats > avail:
                msg = (
                    f"needs {per_round_total[r]} inspections × team of {k} = {seats} inspector "
                    f"seats in round '{rd['name']}' but capacity is {m} qualified inspectors × "
                    f"{ins_cfg['workload_cap_per_round']} targets (inspectors.workload_cap_per_round) "
                    f"= {avail} seats, i.e. at most {avail // k} inspections"
                )
                if total <= floor_n or factor > 1:
                    msg = f"sampling.overall_floor: floor {s['overall_floor']:.0%} " + msg
                else:
                    msg = "inspectors.workload_cap_per_round: the plan " + msg
                raise PolicyError(msg)
            for u in joint["units"]:
                mu = int((q["unit"].astype(str) == u).sum())
                need = per_round_total[r] * joint["min_per_unit"]
                if need > mu * ins_cfg["workload_cap_per_round"]:
                    raise PolicyError(
                        f"teams.joint.min_per_unit: round '{rd['name']}' needs {need} seats from "
                        f"unit {u} but it has {mu} qualified inspectors × "
                        f"{ins_cfg['workload_cap_per_round']} targets per round"
                    )
        m = len(q_all)
        days_needed = total * k * ins_cfg["days_per_inspection"]
        days_avail = m * ins_cfg["days_available_per_year"]
        capacity.update(
            {
                "rounds": cap_rounds,
                "inspector_days_needed": days_needed,
                "inspector_days_available": days_avail,
            }
        )
        if days_needed > days_avail:
            raise PolicyError(
                f"inspectors.days_available_per_year: {total} inspections need {days_needed:g} "
                f"inspector-days ({k} per team × {ins_cfg['days_per_inspection']:g} days) but "
                f"capacity is {days_avail:g} inspector-days ({m} qualified inspectors × "
                f"{ins_cfg['days_available_per_year']:g})"
            )

    # per-institution probabilities
    design = sampling_design(policy)
    pi_h = {t: annual_inclusion_probability(sizes[t], n_hr[t], cap) for t in TIERS}
    out = df.copy()
    on = (out["in_frame"] == 1).to_numpy()
    tier = out["tier"].astype(str)
    nh_col = np.array([sizes[t] for t in tier], dtype=float)
    out["N_h"] = np.where(on, nh_col, 0).astype(int)
    out["n_h"] = np.where(on, [n_h[t] for t in tier], 0).astype(int)
    if design == "pips":
        pips_cols = pips_probabilities(out, n_hr, s["size_measure"], s["size_floor"])
        for c in pips_cols.columns:
            out[c] = pips_cols[c]
        pi_h = {
            t: float(out.loc[on & (tier == t).to_numpy(), "pi"].mean()) if sizes[t] else 0.0
            for t in TIERS
        }
    else:
        out["pi"] = np.where(on, [pi_h[t] for t in tier], 0.0)
        out["expected_inspections"] = np.where(
            on, [(n_h[t] / sizes[t]) if sizes[t] else 0.0 for t in tier], 0.0
        )
        for r in range(len(rounds)):
            out[f"pi_round_{r + 1}"] = np.where(
                on, [(n_hr[t][r] / sizes[t]) if sizes[t] else 0.0 for t in tier], 0.0
            )
    expected_distinct = float(sum(sizes[t] * pi_h[t] for t in TIERS))

    # expected findings, risk_score as probability proxy
    fr = out[out["in_frame"] == 1]
    rs = fr["risk_score"]
    if rs.notna().all() and rs.between(0, 1).all():
        q = rs.to_numpy(float)
        proxy = "risk_score (all in [0, 1])"
    else:
        q = rs.rank(pct=True).fillna(0.5).to_numpy(float)
        proxy = "percentile rank of risk_score (scores outside [0, 1] or missing; missing = 0.5)"
    e_insp = fr["expected_inspections"].to_numpy(float)
    targeted = float((e_insp * q).sum())
    uniform = float(total / n_frame * q.sum())
    el = fr["expected_loss"].fillna(0).to_numpy(float)
    findings = {
        "proxy": proxy,
        "inspections": total,
        "expected_findings_targeted": targeted,
        "expected_findings_uniform": uniform,
        "lift": targeted / uniform if uniform > 0 else None,
        "expected_loss_covered_targeted": float((e_insp * el).sum()),
        "expected_loss_covered_uniform": float(total / n_frame * el.sum()),
    }
    if design == "pips":
        # the same allocation n_h drawn by stratified simple random sampling (π = n_h / N_h)
        e_srs = np.array([n_h[t] / sizes[t] for t in fr["tier"].astype(str)], dtype=float)
        findings.update(
            {
                "expected_findings_stratified_srs": float((e_srs * q).sum()),
                "expected_loss_covered_stratified_srs": float((e_srs * el).sum()),
                "loss_gain_vs_stratified_srs": (
                    float((e_insp * el).sum() / (e_srs * el).sum())
                    if (e_srs * el).sum() > 0
                    else None
                ),
            }
        )

    # 抽查事项清单: the inspection_items table when the policy points to it and it exists
    items = [dict(it, source="policy") for it in policy["items"]["list"]]
    if data_dir is not None and policy["items"].get("table"):
        from riskscore.io import load_table

        tab = load_table(Path(data_dir), policy["items"]["table"])
        if tab is not None and len(tab):
            items = [
                {
                    "item_id": str(r.item_id),
                    "item_name": str(r.item_name),
                    "item_class": str(r.item_class),
                    "content": str(r.content),
                    "legal_basis": str(r.legal_basis),
                    "source": f"table {policy['items']['table']}",
                }
                for r in tab.itertuples(index=False)
            ]

    exempt_cost = {
        t: {"institutions": sizes[t], "warning": "π = 0: invisible to every population estimate"}
        for t in s["exempt"]
    }
    summary = {
        "format": "riskscore-plan/1",
        "code_version": __version__,
        "policy": {
            "policy_id": policy["policy_id"],
            "title": policy["title"],
            "sha256": policy.get("_sha256"),
            "file": "policy.yaml",
        },
        "year": policy["year"],
        "deadline": policy["deadline"],
        "rounds": [
            {**rd, "index": i + 1, "inspections": per_round_total[i]} for i, rd in enumerate(rounds)
        ],
        "design": (
            PIPS_DESIGN_TEXT
            if design == "pips"
            else "stratified simple random sampling by tier (分层简单随机抽样), SHA-256 tickets"
        ),
        **(
            {
                "pips": {
                    "size_measure": s["size_measure"],
                    "size_floor": s["size_floor"],
                    "take_all": int((fr["pi_round_1"] >= 1).sum()),
                    "variance": "Hájek approximation for rejective sampling: "
                    "Σ c_i (y_i/π_i − Ŷ*)², c_i = (1 − π_i) n_h/(n_h − 1)",
                }
            }
            if design == "pips"
            else {}
        ),
        "rounding": "n_h = round_half_up(p_h × N_h), ≥ 1 when p_h > 0, ≤ cap × N_h; rounds by largest remainder",
        "frame": {
            "institutions": n_frame,
            "excluded": int((df["in_frame"] == 0).sum()),
            "excluded_reasons": df.loc[df["in_frame"] == 0, "exclusion_reason"]
            .value_counts()
            .to_dict(),
            "unscored_added": unscored,
        },
        "strata": {
            t: {
                "N_h": sizes[t],
                "policy_rate": rates[t],
                "rate_used": min(rates[t] * factor, cap),
                "n_h": n_h[t],
                "n_h_rounds": n_hr[t],
                "pi_annual": pi_h[t],
                "pi_rounds": [(n / sizes[t]) if sizes[t] else 0.0 for n in n_hr[t]],
                "expected_inspections": (n_h[t] / sizes[t]) if sizes[t] else 0.0,
                # money at risk in the tier (Σ expected_loss, yuan) and its expected coverage
                "expected_loss": float(fr.loc[fr["tier"] == t, "expected_loss"].fillna(0).sum()),
                "expected_loss_covered": float(
                    (
                        fr.loc[fr["tier"] == t, "expected_loss"].fillna(0)
                        * fr.loc[fr["tier"] == t, "expected_inspections"]
                    ).sum()
                    if design == "pips"
                    else fr.loc[fr["tier"] == t, "expected_loss"].fillna(0).sum()
                    * ((n_h[t] / sizes[t]) if sizes[t] else 0.0)
                ),
                **(
                    {
                        "pi_min": float(fr.loc[fr["tier"] == t, "pi"].min()),
                        "pi_max": float(fr.loc[fr["tier"] == t, "pi"].max()),
                    }
                    if design == "pips" and sizes[t]
                    else {}
                ),
            }
            for t in TIERS
        },
        "annual_cap": cap,
        "floor": {
            "overall_floor": s["overall_floor"],
            "counts": floor_counts,
            "guarantee": (
                "distinct institutions: no institution is drawn twice a year, so the "
                "planned inspections are distinct institutions"
                if floor_counts == "institutions"
                else "inspections (家次): an institution may be drawn in several rounds, "
                "so distinct institutions can fall below the floor"
            ),
            "expected_distinct_institutions": expected_distinct,
            "expected_distinct_ratio": expected_distinct / n_frame,
            "required_inspections": floor_n,
            "planned_inspections": total,
            "planned_ratio": total / n_frame,
            "scaled_by": factor,
            "met": total >= floor_n,
        },
        "capacity": capacity,
        "expected_findings": findings,
        "exempt": exempt_cost,
        "team_size": k,
        "items": items,
        "scores_file": str(scores_path) if scores_path else None,
        "scores_sha256": _file_sha(Path(scores_path)) if scores_path else None,
        "data_dir": str(Path(data_dir).resolve()) if data_dir is not None else None,
    }
    cols = [
        "fixmedins_code",
        "tier",
        "in_frame",
        "N_h",
        "n_h",
        "pi",
        "expected_inspections",
        *[f"pi_round_{r + 1}" for r in range(len(rounds))],
        "risk_score",
        "expected_loss",
        *(["size"] if design == "pips" else []),
        "exclusion_reason",
    ]
    return Plan(policy=policy, inclusion=out[cols], summary=summary)


PIPS_DESIGN_TEXT = (
    "probability proportional to size within each tier (按预期违规金额成比例抽样): conditional "
    "Poisson sampling (maximum entropy), exact π (Chen–Dempster–Liu), SHA-256 tickets"
)


def pips_probabilities(
    inc: pd.DataFrame, n_hr: dict[str, list[int]], size_measure: str, size_floor: float
) -> pd.DataFrame:
    """Per-institution π of the ``pips`` design (conditional Poisson πps within each tier).

    Parameters
    ----------
    inc : DataFrame
        Plan rows (``fixmedins_code``, ``tier``, ``in_frame``, the size measure column).
    n_hr : dict
        ``tier → [n_h of each round]``.
    size_measure : str
        Column of ``inc`` (``expected_loss``).
    size_floor : float
        Floor as a share of the tier's mean size (:func:`riskscore.pips.size_with_floor`).

    Returns
    -------
    DataFrame
        Aligned with ``inc``: ``size`` (after the floor), ``pi_round_<r>`` (exact π of each
        round's draw), ``pi`` (annual, drawn at least once: 1 − Π_r (1 − π_r), rounds being
        independent because the cap does not bind — checked by the policy loader) and
        ``expected_inspections`` (Σ_r π_r).
    """
    from riskscore.pips import design_stratum, size_with_floor

    n_rounds = len(next(iter(n_hr.values())))
    out = pd.DataFrame(index=inc.index)
    out["size"] = np.nan
    for r in range(n_rounds):
        out[f"pi_round_{r + 1}"] = 0.0
    on = inc["in_frame"].to_numpy() == 1
    for t, per_round in n_hr.items():
        rows = inc.index[on & (inc["tier"].astype(str) == t).to_numpy()]
        if len(rows) == 0:
            continue
        # sorted by code: the computation does not depend on the order of the input rows
        rows = inc.loc[rows].sort_values("fixmedins_code", kind="stable").index
        x = size_with_floor(inc.loc[rows, size_measure].to_numpy(float), size_floor)
        out.loc[rows, "size"] = x
        for r, n in enumerate(per_round):
            pi, _ = design_stratum(x, n)
            out.loc[rows, f"pi_round_{r + 1}"] = pi
    pr = out[[f"pi_round_{r + 1}" for r in range(n_rounds)]].to_numpy(float)
    out["pi"] = np.where(on, 1.0 - np.prod(1.0 - pr, axis=1), 0.0)
    out["expected_inspections"] = np.where(on, pr.sum(axis=1), 0.0)
    return out


def write_plan(plan: Plan, out_dir: str | Path) -> Path:
    """Write ``plan.json``, ``inclusion.csv`` and a copy of the policy (``policy.yaml``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.json").write_text(
        json.dumps(plan.summary, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    plan.inclusion.to_csv(out / "inclusion.csv", index=False, lineterminator="\n")
    src = plan.policy.get("_path")
    if src:
        shutil.copyfile(src, out / "policy.yaml")
    return out


def load_plan(plan_dir: str | Path) -> tuple[dict, pd.DataFrame, dict]:
    """Read a plan folder: (plan.json dict, inclusion DataFrame, policy).

    Raises
    ------
    RiskscoreError
        When a file is missing.
    """
    d = Path(plan_dir)
    for name in ("plan.json", "inclusion.csv", "policy.yaml"):
        if not (d / name).exists():
            raise RiskscoreError(f"{d / name}: missing; run `riskscore plan ... --out {d}` first")
    summary = json.loads((d / "plan.json").read_text(encoding="utf-8"))
    inc = pd.read_csv(d / "inclusion.csv", dtype={"fixmedins_code": str, "tier": str})
    policy = load_policy(d / "policy.yaml")
    return summary, inc, policy


def run_plan(
    scores_path: str | Path,
    data_dir: str | Path | None,
    policy_path: str | Path | None,
    out_dir: str | Path,
) -> Plan:
    """Read scores and policy, build the plan and write it (``riskscore plan``)."""
    policy = load_policy(policy_path)
    scores = read_scores(scores_path)
    plan = build_plan(scores, policy, data_dir=data_dir, scores_path=scores_path)
    write_plan(plan, out_dir)
    return plan

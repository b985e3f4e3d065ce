"""The draw as pure functions of SHA-256 tickets (双随机: 随机抽取检查对象、随机选派检查人员).

Nothing here reads files or clocks: given the same :class:`DrawInputs` and seed, the result is
the same on every machine. :mod:`riskscore.draw.bundle` does the file handling.

Targets (检查对象)
    Stratified simple random sampling by tier: in each stratum the ``n_h`` eligible institutions
    with the lowest ``ticket(seed, "target|<year>|<round>|<tier>", code)`` are selected.
    Institutions already inspected ``annual_cap`` times this year are not eligible.
    With ``sampling.design: pips`` the tier is instead drawn with probability proportional to
    size by conditional Poisson sampling (:func:`cps_select`): attempts ``…|<tier>|try<a>`` of
    Poisson sampling with the committed working probabilities, the first of exactly ``n_h``.

Matching and teams (检查人员、随机匹配)
    Selected targets are put in random order (``ticket(seed, "order|<year>|<round>", code)``);
    each target in turn gets a team drawn from the inspectors eligible for it: qualified
    (certificate valid on the draw date), active, not recused (回避) for that target and below the
    workload cap. Without a joint inspection the team is the ``k`` lowest
    ``ticket(seed, "team|<year>|<round>|<code>", inspector_id)``: uniform over all valid teams.
    In a joint inspection with quota ``q`` per unit and ``k = q × units`` the ``q`` lowest tickets
    of each unit are taken (uniform over valid teams); when ``k`` exceeds the quotas, attempt
    ``a = 0, 1, …`` takes the ``k`` lowest tickets of purpose ``…|try<a>`` and keeps the first
    attempt meeting every quota (rejection sampling: uniform over valid teams).

Reserve (递补名单)
    For each target, the eligible inspectors not in its team and still below the workload cap
    after all teams are formed, in ticket order (per unit for a joint inspection), the first
    ``reserve_per_target`` of them (of each unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from riskscore.draw.tickets import ticket, tickets
from riskscore.errors import PolicyError

MAX_TEAM_ATTEMPTS = 10_000


@dataclass(frozen=True)
class Inspector:
    """One inspector as used by the draw (no personal data)."""

    inspector_id: str
    unit: str
    cert_valid_until: str  # ISO date, "" when unknown (then not qualified)
    status: str


@dataclass
class DrawInputs:
    """Everything the draw depends on besides the seed.

    Attributes
    ----------
    year, round_index, round_name, draw_date
        Round identification; ``draw_date`` (ISO) decides certificate validity.
    frame : dict
        ``fixmedins_code → tier`` for every institution in the sampling frame.
    n_round : dict
        ``tier → n_hr``: institutions to draw in this round.
    previous : dict
        ``fixmedins_code → inspections`` already made this year in earlier rounds.
    annual_cap : int
    inspectors : list of Inspector
    conflicts : set of (inspector_id, fixmedins_code)
    team_size : int
    joint_units : list of str
        Empty unless a joint inspection (联合抽查).
    min_per_unit : int
    workload_cap : int
    reserve_per_target : int
    design : {"srs", "pips"}
        ``srs``: stratified simple random sampling; ``pips``: conditional Poisson πps within
        each tier (:func:`cps_select`).
    work_prob : dict
        ``pips`` only: ``fixmedins_code → working probability`` (1 = take-all), as committed
        in ``inputs/frame_input.csv``.
    pi_round : dict
        ``pips`` only: ``fixmedins_code → π`` of this round (exact, as committed).
    """

    year: int
    round_index: int
    round_name: str
    draw_date: str
    frame: dict[str, str]
    n_round: dict[str, int]
    previous: dict[str, int]
    annual_cap: int
    inspectors: list[Inspector]
    conflicts: set[tuple[str, str]]
    team_size: int
    joint_units: list[str] = field(default_factory=list)
    min_per_unit: int = 2
    workload_cap: int = 4
    reserve_per_target: int = 3
    design: str = "srs"
    work_prob: dict[str, float] = field(default_factory=dict)
    pi_round: dict[str, float] = field(default_factory=dict)


@dataclass
class DrawResult:
    """Result of one round's draw.

    Attributes
    ----------
    strata : dict
        ``tier → {"N_h", "N_h_eligible", "n_h"}``.
    selected : dict
        ``tier → [codes]`` in ticket order.
    order : list of str
        Selected targets in matching order.
    teams : dict
        ``code → [inspector_id]`` (seat order).
    reserve : dict
        ``code → [inspector_id]`` (rank order).
    target_tickets : dict
        ``code → ticket`` (int) for selected targets.
    """

    strata: dict[str, dict[str, int]]
    selected: dict[str, list[str]]
    order: list[str]
    teams: dict[str, list[str]]
    reserve: dict[str, list[str]]
    target_tickets: dict[str, int]


def target_purpose(year: int, round_index: int, tier: str) -> str:
    return f"target|{year}|{round_index}|{tier}"


def select_lowest(seed: bytes, purpose: str, ids: list[str], n: int) -> list[str]:
    """The ``n`` ids with the lowest tickets (in ticket order): a simple random sample."""
    if n <= 0:
        return []
    t = tickets(seed, purpose, ids)
    return [i for _, i in sorted(zip(t, ids, strict=True))[:n]]


MAX_CPS_ATTEMPTS = 1_000_000
"""Attempts of the rejective (conditional Poisson) draw before giving up; the expected number
is about sqrt(2π Σ p(1 − p)) (7 for a tier drawing 8, 25 for a tier drawing 100)."""


def ticket_threshold(p: float) -> int:
    """``ceil(p · 2²⁵⁶)`` computed exactly from the float ``p``: a ticket T (a 256-bit
    integer) is below p · 2²⁵⁶ iff ``T < ticket_threshold(p)`` — no rounding anywhere."""
    num, den = float(p).as_integer_ratio()
    return -((-num << 256) // den)


def cps_select(
    seed: bytes, purpose: str, ids: list[str], work_prob: list[float], n: int
) -> tuple[list[str], dict[str, int], int]:
    """Conditional Poisson sample of exactly ``n`` ids (按规模成比例的条件泊松抽样).

    Units with working probability 1 are taken with certainty. For the others, attempt
    ``a = 0, 1, …`` computes ``ticket(seed, purpose + "|try<a>", id)`` and takes every unit
    whose ticket is below ``p · 2²⁵⁶`` (exact integer comparison, :func:`ticket_threshold`);
    the first attempt taking exactly ``n − c`` units is the sample. This is Hájek's rejective
    sampling: the probability of a sample s is ∝ Π_{i∈s} p_i/(1 − p_i), whose inclusion
    probabilities :func:`riskscore.pips.cps_inclusion` computes exactly. The result depends
    only on the set of (id, p) pairs, not on their order.

    Returns
    -------
    selected : list of str
        In ticket order (tickets of the accepted attempt).
    tickets : dict
        ``id → ticket`` of the accepted attempt for the selected ids.
    attempts : int
        Number of attempts used (1 = the first).
    """
    pairs = sorted(zip(ids, work_prob, strict=True))
    sure = [i for i, p in pairs if p >= 1.0]
    rest = [(i, ticket_threshold(p)) for i, p in pairs if p < 1.0]
    k = n - len(sure)
    if k < 0 or k > len(rest):
        raise PolicyError(
            f"{purpose}: a sample of {n} with {len(sure)} take-all units from {len(ids)}"
        )
    rest_ids = [i for i, _ in rest]
    thr = [t for _, t in rest]
    a = 0
    while True:
        if a >= MAX_CPS_ATTEMPTS:
            raise PolicyError(f"{purpose}: no sample of size {n} in {MAX_CPS_ATTEMPTS} attempts")
        p_try = f"{purpose}|try{a}"
        a += 1
        if k == 0:
            chosen = {}
        else:
            tk = tickets(seed, p_try, rest_ids)
            chosen = {i: t for i, t, c in zip(rest_ids, tk, thr, strict=True) if t < c}
            if len(chosen) != k:
                continue
        if sure:
            chosen.update(zip(sure, tickets(seed, p_try, sure), strict=True))
        order = sorted(chosen, key=lambda i: (chosen[i], i))
        return order, chosen, a


def select_targets(seed: bytes, inp: DrawInputs) -> tuple[dict, dict, dict]:
    """Stratified SRS of targets (分层随机抽取检查对象), or the conditional Poisson πps draw
    within each tier when ``inp.design == "pips"`` (:func:`cps_select`).

    Returns
    -------
    (strata, selected, tickets_by_code)
    """
    strata: dict[str, dict[str, int]] = {}
    selected: dict[str, list[str]] = {}
    tix: dict[str, int] = {}
    by_tier: dict[str, list[str]] = {}
    for code, tier in sorted(inp.frame.items()):
        by_tier.setdefault(tier, []).append(code)
    for tier in sorted(set(by_tier) | set(inp.n_round)):
        codes = by_tier.get(tier, [])
        elig = [c for c in codes if inp.previous.get(c, 0) < inp.annual_cap]
        n = int(inp.n_round.get(tier, 0))
        if n > len(elig):
            raise PolicyError(
                f"sampling.annual_cap: tier {tier} needs {n} institutions in round "
                f"{inp.round_index} but only {len(elig)} of {len(codes)} are below the cap of "
                f"{inp.annual_cap}"
            )
        purpose = target_purpose(inp.year, inp.round_index, tier)
        if inp.design == "pips":
            if len(elig) < len(codes):
                raise PolicyError(
                    f"sampling.design: tier {tier} has {len(codes) - len(elig)} institutions at "
                    f"the annual cap of {inp.annual_cap}; the pips design needs every "
                    "institution eligible in every round"
                )
            chosen, tk, _ = cps_select(seed, purpose, codes, [inp.work_prob[c] for c in codes], n)
            selected[tier] = chosen
            tix.update(tk)
            strata[tier] = {"N_h": len(codes), "N_h_eligible": len(elig), "n_h": n}
            continue
        t = tickets(seed, purpose, elig)
        ranked = sorted(zip(t, elig, strict=True))[:n]
        selected[tier] = [c for _, c in ranked]
        tix.update({c: v for v, c in ranked})
        strata[tier] = {"N_h": len(codes), "N_h_eligible": len(elig), "n_h": n}
    return strata, selected, tix


def qualified(ins: Inspector, draw_date: str) -> bool:
    """Certificate valid on the draw date (执法资格) and active (在岗)."""
    return (
        ins.status == "active" and bool(ins.cert_valid_until) and ins.cert_valid_until >= draw_date
    )


def eligible_for(inp: DrawInputs, code: str) -> list[Inspector]:
    """Qualified, active, not recused for ``code`` (workload not considered)."""
    pool = [i for i in inp.inspectors if qualified(i, inp.draw_date)]
    if inp.joint_units:
        pool = [i for i in pool if i.unit in inp.joint_units]
    return [i for i in pool if (i.inspector_id, code) not in inp.conflicts]


def team_purpose(year: int, round_index: int, code: str) -> str:
    return f"team|{year}|{round_index}|{code}"


def _lowest(ids: list[str], tk: dict[str, int], n: int) -> list[str]:
    return sorted(ids, key=lambda i: tk[i])[:n]


def draw_team(
    seed: bytes,
    inp: DrawInputs,
    code: str,
    pool: list[Inspector],
    tk: dict[str, int] | None = None,
) -> list[str]:
    """Draw one team for ``code`` from ``pool`` (already filtered for eligibility and load).

    Parameters
    ----------
    seed : bytes
    inp : DrawInputs
    code : str
        Target fixmedins_code.
    pool : list of Inspector
        Eligible inspectors below the workload cap.
    tk : dict, optional
        Precomputed ``ticket(seed, team_purpose(...), inspector_id)`` for (at least) the pool.

    Returns
    -------
    list of str
        inspector_ids in ticket order (the first is the team leader).
    """
    k = inp.team_size
    purpose = team_purpose(inp.year, inp.round_index, code)
    ids = [i.inspector_id for i in pool]
    if tk is None:
        tk = dict(zip(ids, tickets(seed, purpose, ids), strict=True))
    if not inp.joint_units:
        if len(ids) < k:
            raise PolicyError(
                f"teams.min_size: target {code} has {len(ids)} eligible inspectors (qualified, "
                f"active, not recused, below inspectors.workload_cap_per_round) for a team of {k}"
            )
        return _lowest(ids, tk, k)
    q = inp.min_per_unit
    by_unit = {u: [i.inspector_id for i in pool if i.unit == u] for u in inp.joint_units}
    for u, members in by_unit.items():
        if len(members) < q:
            raise PolicyError(
                f"teams.joint.min_per_unit: target {code} has {len(members)} eligible inspectors "
                f"from unit {u} for a quota of {q}"
            )
    if k == q * len(inp.joint_units):
        team = []
        for u in inp.joint_units:
            team += _lowest(by_unit[u], tk, q)
        return sorted(team, key=lambda i: tk[i])
    unit_of = {i.inspector_id: i.unit for i in pool}
    for a in range(MAX_TEAM_ATTEMPTS):
        cand = select_lowest(seed, f"{purpose}|try{a}", ids, k)
        counts = dict.fromkeys(inp.joint_units, 0)
        for i in cand:
            counts[unit_of[i]] += 1
        if len(cand) == k and all(c >= q for c in counts.values()):
            return cand
    raise PolicyError(
        f"teams.joint: no team of {k} meeting quota {q} per unit found for target {code} "
        f"in {MAX_TEAM_ATTEMPTS} attempts"
    )


def matching_order(seed: bytes, inp: DrawInputs, selected: dict[str, list[str]]) -> list[str]:
    """Selected targets in random matching order (随机匹配顺序): by ``order`` ticket."""
    chosen = sorted(c for codes in selected.values() for c in codes)
    purpose = f"order|{inp.year}|{inp.round_index}"
    return [c for _, c in sorted(zip(tickets(seed, purpose, chosen), chosen, strict=True))]


def run_draw(seed: bytes, inp: DrawInputs) -> DrawResult:
    """Run one round: targets, matching order, teams and reserve lists (pure function).

    Parameters
    ----------
    seed : bytes
        :func:`riskscore.draw.tickets.seed_from_randomness` of the public randomness.
    inp : DrawInputs

    Returns
    -------
    DrawResult

    Raises
    ------
    PolicyError
        When a team or the cap cannot be satisfied; names the constraint.
    """
    strata, selected, tix = select_targets(seed, inp)
    order = matching_order(seed, inp, selected)
    load: dict[str, int] = {}
    teams: dict[str, list[str]] = {}
    elig: dict[str, list[Inspector]] = {}
    tks: dict[str, dict[str, int]] = {}
    for code in order:
        elig[code] = eligible_for(inp, code)
        ids = [i.inspector_id for i in elig[code]]
        purpose = team_purpose(inp.year, inp.round_index, code)
        tks[code] = dict(zip(ids, tickets(seed, purpose, ids), strict=True))
        pool = [i for i in elig[code] if load.get(i.inspector_id, 0) < inp.workload_cap]
        team = draw_team(seed, inp, code, pool, tks[code])
        teams[code] = team
        for i in team:
            load[i] = load.get(i, 0) + 1
    reserve: dict[str, list[str]] = {}
    for code in order:
        cand = [
            i
            for i in elig[code]
            if i.inspector_id not in teams[code] and load.get(i.inspector_id, 0) < inp.workload_cap
        ]
        tk = tks[code]
        ranked = sorted((i.inspector_id for i in cand), key=lambda i: tk[i])
        if inp.joint_units:
            unit_of = {i.inspector_id: i.unit for i in cand}
            keep, per = [], dict.fromkeys(inp.joint_units, 0)
            for i in ranked:
                if per[unit_of[i]] < inp.reserve_per_target:
                    keep.append(i)
                    per[unit_of[i]] += 1
            ranked = keep
        else:
            ranked = ranked[: inp.reserve_per_target]
        reserve[code] = ranked
    return DrawResult(
        strata=strata,
        selected=selected,
        order=order,
        teams=teams,
        reserve=reserve,
        target_tickets=tix,
    )


def inclusion_probabilities(inp: DrawInputs) -> dict[str, tuple[float, float, bool]]:
    """Exact probabilities of this round for every frame institution.

    Returns
    -------
    dict
        ``code → (pi, pi_conditional, eligible)``: ``pi = n_h / N_h`` is the marginal inclusion
        probability of the round (exact by exchangeability within the stratum, whatever the
        earlier rounds did); ``pi_conditional = n_h / N_h_eligible`` given the earlier rounds
        (0 for institutions at the annual cap).
    """
    sizes: dict[str, int] = {}
    elig: dict[str, int] = {}
    for code, tier in inp.frame.items():
        sizes[tier] = sizes.get(tier, 0) + 1
        if inp.previous.get(code, 0) < inp.annual_cap:
            elig[tier] = elig.get(tier, 0) + 1
    out = {}
    if inp.design == "pips":
        return {c: (float(inp.pi_round[c]),) * 2 + (True,) for c in inp.frame}
    for code, tier in inp.frame.items():
        n = int(inp.n_round.get(tier, 0))
        ok = inp.previous.get(code, 0) < inp.annual_cap
        out[code] = (n / sizes[tier], (n / elig[tier]) if ok else 0.0, ok)
    return out


__all__ = [
    "DrawInputs",
    "DrawResult",
    "Inspector",
    "cps_select",
    "draw_team",
    "eligible_for",
    "inclusion_probabilities",
    "matching_order",
    "qualified",
    "run_draw",
    "select_lowest",
    "select_targets",
    "ticket",
    "ticket_threshold",
]

"""Monte Carlo checks of the draw: empirical frequencies against the planned π, constraints in
every draw, uniformity over valid teams, the annual cap across rounds.

The pure selection functions are called directly (no files), each draw with a different
randomness text. Tolerances: per institution |f − π| ≤ 4.5 σ with σ = sqrt(π(1−π)/R), plus a
chi-square on the whole vector (p > 1e-4); both fail with probability < 1e-3 when π is right.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from riskscore.draw.core import (
    DrawInputs,
    Inspector,
    inclusion_probabilities,
    run_draw,
    select_targets,
)
from riskscore.draw.tickets import seed_from_randomness
from riskscore.plan import annual_inclusion_probability

TIERS = ["A"] * 15 + ["B"] * 8 + ["C"] * 5 + ["D"] * 2
FRAME = {f"H{i:02d}": t for i, t in enumerate(TIERS)}
N_ROUND = {"A": 2, "B": 2, "C": 2, "D": 1}
CONFLICTS = {("I00", "H20"), ("I07", "H20"), ("I03", "H28"), ("I10", "H29"), ("I06", "H29")}


def _inspectors() -> list[Inspector]:
    out = [
        Inspector(f"I{i:02d}", "JG" if i < 6 else "JH", "2027-01-01", "active") for i in range(12)
    ]
    out.append(Inspector("I12", "JG", "2024-12-31", "active"))  # expired certificate
    out.append(Inspector("I13", "JH", "2027-01-01", "retired"))
    return out


def _inputs(**kw) -> DrawInputs:
    base = dict(
        year=2025,
        round_index=1,
        round_name="上半年",
        draw_date="2025-04-01",
        frame=FRAME,
        n_round=N_ROUND,
        previous={},
        annual_cap=2,
        inspectors=_inspectors(),
        conflicts=CONFLICTS,
        team_size=4,
        joint_units=["JG", "JH"],
        min_per_unit=2,
        workload_cap=4,
        reserve_per_target=2,
    )
    base.update(kw)
    return DrawInputs(**base)


def _check_frequencies(counts: Counter, pi: dict[str, float], reps: int) -> None:
    chi2, df = 0.0, 0
    for code, p in pi.items():
        f = counts[code] / reps
        sigma = math.sqrt(p * (1 - p) / reps)
        assert abs(f - p) <= 4.5 * sigma + 1e-12, (code, f, p)
        if 0 < p < 1:
            chi2 += (counts[code] - reps * p) ** 2 / (reps * p * (1 - p))
            df += 1
    # stratified fixed-size samples make the binomial chi-square conservative
    assert stats.chi2.sf(chi2, df) > 1e-4, (chi2, df)


def test_target_frequencies_match_pi_20000_draws():
    inp = _inputs()
    pi = {c: v[0] for c, v in inclusion_probabilities(inp).items()}
    assert pi["H00"] == pytest.approx(2 / 15) and pi["H29"] == pytest.approx(1 / 2)
    reps = 20_000
    counts: Counter = Counter()
    for r in range(reps):
        _, selected, _ = select_targets(seed_from_randomness(f"MC target {r}"), inp)
        for tier, codes in selected.items():
            assert len(codes) == N_ROUND[tier]
            counts.update(codes)
    _check_frequencies(counts, pi, reps)


def _check_draw(inp: DrawInputs, res) -> None:
    unit = {i.inspector_id: i.unit for i in inp.inspectors}
    load: Counter = Counter()
    for code, team in res.teams.items():
        assert len(team) == inp.team_size == len(set(team))
        for u in inp.joint_units:
            assert sum(unit[i] == u for i in team) >= inp.min_per_unit
        assert not any((i, code) in inp.conflicts for i in team)
        assert not {"I12", "I13"} & set(team)
        load.update(team)
        for i in res.reserve[code]:
            assert i not in team and (i, code) not in inp.conflicts
    assert max(load.values()) <= inp.workload_cap
    assert sorted(res.order) == sorted(c for cs in res.selected.values() for c in cs)


def test_constraints_in_every_draw_and_team_uniformity():
    inp = _inputs()
    reps = 4_000
    counts: Counter = Counter()
    first_team_units: Counter = Counter()
    for r in range(reps):
        res = run_draw(seed_from_randomness(f"MC full {r}"), inp)
        _check_draw(inp, res)
        counts.update(res.order)
        first = res.order[0]
        first_team_units.update(res.teams[first])
    pi = {c: v[0] for c, v in inclusion_probabilities(inp).items()}
    _check_frequencies(counts, pi, reps)
    # the first target of the matching order meets no workload cap: its team is uniform within
    # the quota structure, so each eligible inspector of a unit appears with prob. 2 / |unit|
    # averaged over targets; check no inspector is far from the mean of its unit
    for u in ("JG", "JH"):
        members = [i.inspector_id for i in _inspectors()[:12] if i.unit == u]
        vals = np.array([first_team_units[m] for m in members], float)
        assert vals.min() > 0.8 * vals.mean() and vals.max() < 1.2 * vals.mean()


@pytest.mark.slow
def test_full_draw_20000_constraints_and_pi():
    inp = _inputs()
    reps = 20_000
    counts: Counter = Counter()
    for r in range(reps):
        res = run_draw(seed_from_randomness(f"MC slow {r}"), inp)
        _check_draw(inp, res)
        counts.update(res.order)
    pi = {c: v[0] for c, v in inclusion_probabilities(inp).items()}
    _check_frequencies(counts, pi, reps)


def test_non_joint_team_uniform_over_valid_teams():
    # 6 eligible inspectors, team of 3: all C(6,3) = 20 teams equally likely
    ins = [Inspector(f"J{i}", "U", "2027-01-01", "active") for i in range(7)]
    inp = _inputs(
        frame={"X1": "D"},
        n_round={"D": 1},
        inspectors=ins,
        conflicts={("J6", "X1")},
        team_size=3,
        joint_units=[],
        workload_cap=1,
    )
    reps = 6_000
    c: Counter = Counter()
    for r in range(reps):
        res = run_draw(seed_from_randomness(f"team {r}"), inp)
        assert "J6" not in res.teams["X1"]
        c[tuple(sorted(res.teams["X1"]))] += 1
    assert len(c) == 20
    chi2, p = stats.chisquare(list(c.values()))
    assert p > 1e-4


def test_joint_with_extra_seats_uniform_over_valid_teams():
    # units A (3) and B (2), quota 1 each, team of 3: valid teams = C(5,3) − all-A = 9
    ins = [Inspector(f"A{i}", "UA", "2027-01-01", "active") for i in range(3)] + [
        Inspector(f"B{i}", "UB", "2027-01-01", "active") for i in range(2)
    ]
    inp = _inputs(
        frame={"X1": "D"},
        n_round={"D": 1},
        inspectors=ins,
        conflicts=set(),
        team_size=3,
        joint_units=["UA", "UB"],
        min_per_unit=1,
    )
    valid = [
        t
        for t in itertools.combinations(sorted(i.inspector_id for i in ins), 3)
        if any(x.startswith("B") for x in t)
    ]
    assert len(valid) == 9
    reps = 4_500
    c: Counter = Counter()
    for r in range(reps):
        res = run_draw(seed_from_randomness(f"joint {r}"), inp)
        c[tuple(sorted(res.teams["X1"]))] += 1
    assert set(c) == set(valid)
    assert stats.chisquare([c[t] for t in valid]).pvalue > 1e-4


@pytest.mark.parametrize("cap,per_round", [(1, [3, 3, 3]), (2, [4, 4, 4])])
def test_annual_cap_across_rounds(cap, per_round):
    n_units = 10
    frame = {f"H{i}": "C" for i in range(n_units)}
    reps = 5_000
    at_least_once = Counter()
    per_round_hits = [Counter() for _ in per_round]
    for r in range(reps):
        prev: Counter = Counter()
        for k, n in enumerate(per_round, start=1):
            inp = _inputs(
                frame=frame, n_round={"C": n}, previous=dict(prev), annual_cap=cap, round_index=k
            )
            _, selected, _ = select_targets(seed_from_randomness(f"cap {r} round {k}"), inp)
            assert all(prev[c] < cap for c in selected["C"])
            prev.update(selected["C"])
            per_round_hits[k - 1].update(selected["C"])
        assert max(prev.values()) <= cap
        at_least_once.update(prev.keys())
    # marginal per-round π = n_hr / N_h exactly, whatever the cap did
    for k, n in enumerate(per_round):
        _check_frequencies(per_round_hits[k], {c: n / n_units for c in frame}, reps)
    # annual π from the plan's exact dynamic programme
    pi_year = annual_inclusion_probability(n_units, per_round, cap)
    _check_frequencies(at_least_once, dict.fromkeys(frame, pi_year), reps)


def test_plan_pi_matches_draw_frequencies_over_the_year():
    """End to end: π written by the plan (inclusion.csv) against 8,000 simulated years of two
    rounds each (cap 1 so that round 2 excludes round 1's targets)."""
    from pathlib import Path

    import yaml

    from riskscore.paths import POLICIES_DIR
    from riskscore.plan import build_plan, read_scores
    from riskscore.policy import validate_policy

    raw = yaml.safe_load((POLICIES_DIR / "floor10_2025.yaml").read_text(encoding="utf-8"))
    raw["sampling"]["annual_cap"] = 1
    raw["sampling"]["tier_probabilities"] = {"A": 0.1, "B": 0.25, "C": 0.5, "D": 1.0}
    policy = validate_policy(raw, "mc.yaml")
    scores = read_scores(Path(__file__).parent / "golden" / "data" / "scores.csv")
    plan = build_plan(scores, policy)
    inc = plan.inclusion[plan.inclusion["in_frame"] == 1].set_index("fixmedins_code")
    frame = inc["tier"].to_dict()
    strata = plan.summary["strata"]
    reps = 8_000
    hits = [Counter(), Counter()]
    year: Counter = Counter()
    for r in range(reps):
        prev: Counter = Counter()
        for k in (1, 2):
            inp = _inputs(
                frame=frame,
                n_round={t: strata[t]["n_h_rounds"][k - 1] for t in strata},
                previous=dict(prev),
                annual_cap=1,
                round_index=k,
            )
            _, selected, _ = select_targets(seed_from_randomness(f"year {r} round {k}"), inp)
            for codes in selected.values():
                assert all(prev[c] == 0 for c in codes)
                hits[k - 1].update(codes)
                prev.update(codes)
        year.update(prev)
    _check_frequencies(hits[0], inc["pi_round_1"].to_dict(), reps)
    _check_frequencies(hits[1], inc["pi_round_2"].to_dict(), reps)
    _check_frequencies(year, inc["pi"].to_dict(), reps)

"""Money-aware targeting (sampling.design: pips): exact π of conditional Poisson sampling,
the ticket-driven selection, the plan, the draw/verify path and the estimators."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore.draw import build_inputs, verify_draw, write_commitment, write_draw
from riskscore.draw.core import cps_select, ticket_threshold
from riskscore.draw.tickets import seed_from_randomness
from riskscore.errors import PolicyError, VerificationError
from riskscore.estimate import StratifiedSample, hajek_rate, ht_total
from riskscore.pips import (
    cps_inclusion,
    cps_inclusion_bruteforce,
    design_stratum,
    pips_targets,
    size_with_floor,
    solve_working_probabilities,
)
from riskscore.plan import build_plan, read_scores, write_plan
from riskscore.policy import load_policy, validate_policy

GOLDEN = Path(__file__).parent / "golden"
DATA = GOLDEN / "data"
RANDOMNESS = "福利彩票双色球 2026001期 红球 03 07 12 19 25 31; 蓝球 09"


def pips_policy_yaml(base: Path, **sampling) -> str:
    """A policy file's text with ``design: pips`` (size floor sourced) added to ``sampling``."""
    raw = yaml.safe_load(base.read_text(encoding="utf-8"))
    raw["policy_id"] = raw["policy_id"] + "_pips"
    raw["default"] = False
    raw["sampling"].update(
        {"design": "pips", "size_measure": "expected_loss", "size_floor": 0.2, **sampling}
    )
    raw["sources"]["sampling.size_floor"] = (
        "riskscore default: size floor 20 % of the tier's mean expected loss (every π > 0)"
    )
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


# --------------------------------------------------------------------------- exact π
@pytest.mark.parametrize("seed", range(6))
def test_cps_pi_exact_against_enumeration(seed):
    rng = np.random.default_rng(seed)
    m = 7 + seed % 3
    p = rng.uniform(0.02, 0.95, m)
    if seed % 2:
        p[seed % m] = 1.0  # a take-all unit
    lo = int((p >= 1).sum())
    for n in range(max(lo, 1), m):
        exact = cps_inclusion(p, n)
        brute = cps_inclusion_bruteforce(p, n)
        assert np.max(np.abs(exact - brute)) < 1e-9
        assert abs(exact.sum() - n) < 1e-9


def test_cps_pi_exact_on_hand_example():
    # p = (1/2, 1/3, 1/5): θ = (1, 1/2, 1/4); size 2: samples 12, 13, 23 with weights 1/2, 1/4,
    # 1/8 (sum 7/8) → π1 = 6/7, π2 = 5/7, π3 = 3/7
    pi = cps_inclusion([0.5, 1 / 3, 0.2], 2)
    assert np.allclose(pi, [6 / 7, 5 / 7, 3 / 7], atol=1e-12)


@pytest.mark.parametrize("n", [3, 8, 20])
def test_design_stratum_hits_the_pips_target(n):
    rng = np.random.default_rng(n)
    x = size_with_floor(rng.lognormal(6, 1.8, 120), 0.2)
    x[[3, 50]] = x.sum()  # two huge institutions: take-all
    pi, p = design_stratum(x, n)
    tgt = pips_targets(x, n)
    assert np.max(np.abs(pi - tgt)) < 1e-9
    assert abs(pi.sum() - n) < 1e-9
    assert np.all(pi > 0) and np.all(pi <= 1)
    assert pi[3] == pi[50] == 1.0 and p[3] == 1.0
    # π proportional to size among the units not taken with certainty
    rest = pi < 1
    ratio = pi[rest] / x[rest]
    assert np.allclose(ratio, ratio[0], rtol=1e-8)
    # exact again from the working probabilities alone
    assert np.max(np.abs(cps_inclusion(p, n) - pi)) < 1e-12
    # the working probabilities are scaled to an expected Poisson size n (fewest attempts)
    assert abs(p.sum() - n) < 1e-9


def test_solver_refuses_bad_targets():
    with pytest.raises(PolicyError, match="sum to"):
        solve_working_probabilities([0.2, 0.2], 1)


def test_size_floor_and_missing_sizes():
    x = size_with_floor([0.0, np.nan, 10.0, 1000.0, 30.0], 0.01)
    assert x[1] == 30.0  # missing → the tier's median of the positive values
    assert x[0] == 30.0  # zero (no expected loss) → also the median
    x = size_with_floor([0.0, np.nan, 10.0, 1000.0, 30.0], 0.2)
    assert np.all(x > 0)
    assert list(x) == [44.0, 44.0, 44.0, 1000.0, 44.0]  # floor 0.2 × mean 220
    assert np.all(size_with_floor([0, 0, 0], 0.2) == 1.0)


# --------------------------------------------------------------------------- selection
def test_ticket_threshold_is_exact():
    assert ticket_threshold(0.5) == 1 << 255
    t = ticket_threshold(0.1)
    assert (t - 1) < 0.1 * 2**256 <= t or math.isclose(t, 0.1 * 2**256)
    assert ticket_threshold(1.0) == 1 << 256


@pytest.mark.parametrize(
    "sizes,n",
    [
        # n = m − 1 with one unit near π = 1 and others near 1/2: the logit fixed point
        # oscillated (error stuck at 2e-11 … 7e-6) and raised PolicyError before the Newton step
        (
            [
                94043.82440941117,
                39289.59253532937,
                62826.92911769529,
                17548.295235497626,
                52124.274975601365,
                22048.39114046269,
            ],
            5,
        ),
        (
            [
                80249.1042206797,
                48194.18965167214,
                57447.7231664065,
                37636.06512209479,
                90482.73116530068,
                8805.558926745081,
            ],
            5,
        ),
        (
            [
                33530.846980185284,
                20708.55775429731,
                49311.31946498356,
                50225.61669012135,
                31704.263806806015,
                56541.2766465945,
                11005.466158019408,
            ],
            6,
        ),
    ],
)
def test_working_probabilities_converge_near_take_all(sizes, n):
    x = size_with_floor(sizes, 0.2)
    pi, p = design_stratum(x, n)
    assert np.max(np.abs(pi - pips_targets(x, n))) <= 1e-12
    assert np.allclose(pi, cps_inclusion_bruteforce(p, n), atol=1e-12)


@st.composite
def _tier(draw):
    m = draw(st.integers(2, 12))
    sizes = draw(st.lists(st.floats(1.0, 1e5), min_size=m, max_size=m))
    n = draw(st.integers(1, m - 1))
    return [f"H{i:03d}" for i in range(m)], sizes, n


@settings(max_examples=60, deadline=None)
@given(_tier(), st.integers(0, 10**6), st.randoms(use_true_random=False))
def test_cps_select_properties(tier, seed_int, rnd):
    ids, sizes, n = tier
    _, p = design_stratum(size_with_floor(sizes, 0.2), n)
    seed = seed_from_randomness(f"红球 {seed_int}")
    purpose = "target|2025|1|A"
    sel, tk, attempts = cps_select(seed, purpose, ids, list(p), n)
    assert len(sel) == n == len(set(sel)) and attempts >= 1
    assert all(p[ids.index(c)] == 1.0 or tk[c] < ticket_threshold(p[ids.index(c)]) for c in sel)
    assert [tk[c] for c in sel] == sorted(tk[c] for c in sel)
    assert all(ids[i] in sel for i in range(len(ids)) if p[i] >= 1.0)  # take-all always in
    # deterministic from the seed, and the order of the frame rows does not matter
    assert cps_select(seed, purpose, ids, list(p), n) == (sel, tk, attempts)
    order = list(range(len(ids)))
    rnd.shuffle(order)
    again = cps_select(seed, purpose, [ids[i] for i in order], [p[i] for i in order], n)
    assert again == (sel, tk, attempts)


# --------------------------------------------------------------------------- estimators
def test_ht_unbiased_by_enumeration_and_hajek_variance_reduces_to_srs():
    rng = np.random.default_rng(3)
    m, n = 8, 3
    x = rng.lognormal(3, 1, m)
    y = np.round(x * rng.uniform(0, 2, m), 2)
    pi, p = design_stratum(x, n)
    sure = set(np.flatnonzero(p >= 1).tolist())
    theta = np.where(p < 1, p / np.where(p < 1, 1 - p, 1.0), 1.0)
    tot = mean = 0.0
    for s in itertools.combinations(range(m), n):
        if not sure <= set(s):
            continue
        w = math.prod(theta[i] for i in s)
        smp = StratifiedSample(["A"] * n, {"A": m}, {"A": n}, pi=pi[list(s)], design="pips")
        tot += w
        mean += w * ht_total(smp, y[list(s)]).estimate
    assert abs(mean / tot - y.sum()) < 1e-9 * y.sum()
    # equal π: Hájek's approximation is the textbook stratified SRS variance
    yy = np.array([1.0, 0, 0, 1, 1, 0])
    strata = ["A"] * 3 + ["B"] * 3
    srs = StratifiedSample(strata, {"A": 30, "B": 12}, {"A": 3, "B": 3})
    pps = StratifiedSample(
        strata, {"A": 30, "B": 12}, {"A": 3, "B": 3}, pi=srs.pi.copy(), design="pips"
    )
    assert np.isclose(ht_total(pps, yy).se, ht_total(srs, yy).se, rtol=1e-12)
    assert np.isclose(hajek_rate(pps, yy).estimate, hajek_rate(srs, yy).estimate)


# --------------------------------------------------------------------------- policy and plan
def test_policy_pips_validation(tmp_path):
    base = Path(load_policy()["_path"])
    raw = yaml.safe_load(pips_policy_yaml(base))
    assert validate_policy(raw)["sampling"]["design"] == "pips"
    bad = yaml.safe_load(pips_policy_yaml(base))
    del bad["sampling"]["size_floor"]
    with pytest.raises(PolicyError, match="sampling.size_floor"):
        validate_policy(bad)
    bad = yaml.safe_load(pips_policy_yaml(base, floor_counts="institutions"))
    with pytest.raises(PolicyError, match="sampling.design.*at most 1 round"):
        validate_policy(bad)
    bad = yaml.safe_load(pips_policy_yaml(base, design="pps"))
    with pytest.raises(PolicyError, match="sampling.design"):
        validate_policy(bad)
    # the shipped policies stay stratified SRS
    assert "design" not in load_policy()["sampling"]


@pytest.fixture(scope="module")
def pips_plan(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pips")
    pol = d / "policy.yaml"
    pol.write_text(pips_policy_yaml(GOLDEN / "policy_joint.yaml"), encoding="utf-8")
    plan = build_plan(read_scores(DATA / "scores.csv"), load_policy(pol), data_dir=DATA)
    write_plan(plan, d / "plan")
    return d / "plan"


def test_plan_pips_probabilities(pips_plan):
    inc = pd.read_csv(pips_plan / "inclusion.csv", dtype={"fixmedins_code": str})
    summary = json.loads((pips_plan / "plan.json").read_text(encoding="utf-8"))
    fr = inc[inc["in_frame"] == 1]
    assert (fr["pi"] > 0).all() and (fr["pi"] <= 1).all() and "size" in fr
    for t, st_ in summary["strata"].items():
        g = fr[fr["tier"] == t]
        for r, n in enumerate(st_["n_h_rounds"]):
            assert abs(g[f"pi_round_{r + 1}"].sum() - n) < 1e-9
    pr = fr[["pi_round_1", "pi_round_2"]].to_numpy()
    assert np.allclose(fr["pi"], 1 - np.prod(1 - pr, axis=1), atol=1e-15)
    assert np.allclose(fr["expected_inspections"], pr.sum(axis=1))
    ef = summary["expected_findings"]
    assert ef["expected_loss_covered_targeted"] > ef["expected_loss_covered_stratified_srs"]
    assert "conditional Poisson" in summary["design"]
    # same plan from rows in another order
    pol = load_policy(pips_plan.parent / "policy.yaml")
    sc = read_scores(DATA / "scores.csv").iloc[::-1].reset_index(drop=True)
    again = build_plan(sc, pol, data_dir=DATA).inclusion
    assert np.array_equal(again["pi"].to_numpy(), inc["pi"].to_numpy())


def test_pips_draw_commit_verify_and_tamper(pips_plan, tmp_path):
    inputs = build_inputs(pips_plan, DATA, None, None, None, "5eed")
    out = tmp_path / "d"
    write_commitment(out, inputs, "双色球", "下一期")
    write_draw(out, inputs, RANDOMNESS, json.loads((out / "commitment.json").read_text("utf-8")))
    man = json.loads((out / "manifest.json").read_text("utf-8"))
    assert man["algorithm"].startswith("riskscore-draw/1-pips")
    frame = pd.read_csv(out / "frame.csv", dtype={"fixmedins_code": str})
    assert (frame["design"] == "pips").all()
    n_round = frame.groupby("tier")["n_h"].first()
    assert frame.groupby("tier")["selected"].sum().equals(n_round)
    verify_draw(out)
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    p = bad / "inputs" / "frame_input.csv"
    rows = p.read_text("utf-8").splitlines()
    cells = rows[1].split(",")
    cells[-1] = str(float(cells[-1]) * 1.5)  # change one working probability
    rows[1] = ",".join(cells)
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(VerificationError, match="frame_input.csv"):
        verify_draw(bad)


def test_annual_plan_report_compares_with_stratified_srs(pips_plan):
    from types import SimpleNamespace

    from riskscore.reports.annual_plan import expected_findings

    summary = json.loads((pips_plan / "plan.json").read_text(encoding="utf-8"))
    ef = summary["expected_findings"]
    for lang, label in (("zh", "分层简单随机抽查"), ("en", "Stratified simple random")):
        out = expected_findings(SimpleNamespace(lang=lang, plan=lambda: summary))
        assert len(out) == 4 and label in out["design"][3]
        assert out["expected_amount"][3] == ef["expected_loss_covered_stratified_srs"]
        assert out["expected_findings"][3] == ef["expected_findings_stratified_srs"]


def test_plan_cli_prints_pi_range_and_srs_comparison(pips_plan, tmp_path, capsys):
    from riskscore.cli import main as cli

    argv = ["plan", "--scores", str(DATA / "scores.csv"), "--data", str(DATA)]
    argv += ["--policy", str(pips_plan.parent / "policy.yaml"), "--out", str(tmp_path / "p")]
    assert cli(argv) == 0
    out = capsys.readouterr().out
    assert "年度抽中概率0.0" in out and "–" in out
    assert "同样分配的分层简单随机抽查为" in out

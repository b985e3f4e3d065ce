"""Annual plan: sample sizes, exact π, floor, capacity, cap, expected findings, shipped policies."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from riskscore.cli import main as cli
from riskscore.errors import PolicyError, RiskscoreError
from riskscore.paths import POLICIES_DIR
from riskscore.plan import (
    annual_inclusion_probability,
    build_plan,
    max_capped,
    read_scores,
    split_rounds,
    stratum_sizes,
)
from riskscore.policy import load_policy, validate_policy

DATA = Path(__file__).parent / "golden" / "data"


def _scores(sizes: dict[str, int]) -> pd.DataFrame:
    rows, k = [], 0
    base = {"A": 0.05, "B": 0.15, "C": 0.35, "D": 0.7}
    for t, n in sizes.items():
        for _ in range(n):
            rows.append(
                {
                    "fixmedins_code": f"X{k:05d}",
                    "risk_score": base[t],
                    "tier": t,
                    "expected_loss": 1000 * base[t],
                }
            )
            k += 1
    return pd.DataFrame(rows)


def _policy(name: str = "floor10_2025", **changes) -> dict:
    raw = yaml.safe_load((POLICIES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    for path, v in changes.items():
        d = raw
        keys = path.split(".")
        for k in keys[:-1]:
            d = d[int(k)] if isinstance(d, list) else d[k]
        d[keys[-1]] = v
    pol = validate_policy(raw, f"{name}.yaml")
    pol["_path"] = str(POLICIES_DIR / f"{name}.yaml")
    return pol


def test_rounding_rules():
    assert stratum_sizes(0.04, 20, 2) == 1  # 0.8 → 1
    assert stratum_sizes(0.01, 20, 2) == 1  # at least one when p > 0
    assert stratum_sizes(0.125, 20, 2) == 3  # 2.5 → 3 (half up)
    assert stratum_sizes(0.0, 20, 2) == 0
    assert stratum_sizes(2.0, 5, 2) == 10 and stratum_sizes(3.0, 5, 2) == 10
    assert split_rounds(5, [0.5, 0.5]) == [3, 2]
    assert split_rounds(7, [0.2, 0.3, 0.5]) == [1, 2, 4]
    assert sum(split_rounds(13, [1 / 3] * 3)) == 13


def test_annual_pi_no_cap_is_exact_product():
    assert annual_inclusion_probability(10, [3, 3], 2) == pytest.approx(1 - 0.7 * 0.7)
    assert annual_inclusion_probability(10, [10], 1) == 1.0
    assert max_capped([3, 3], 2, 3) == 3 and max_capped([3], 2, 3) == 0


def test_plan_on_fixture_default_policy(tmp_path):
    out = tmp_path / "plan"
    assert (
        cli(["plan", "--scores", str(DATA / "scores.csv"), "--data", str(DATA), "--out", str(out)])
        == 0
    )
    summary = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    inc = pd.read_csv(out / "inclusion.csv", dtype={"fixmedins_code": str})
    assert list(inc.columns[:6]) == ["fixmedins_code", "tier", "in_frame", "N_h", "n_h", "pi"]
    assert {"pi_round_1", "pi_round_2"} <= set(inc.columns)
    # closed H041 and suspended H042 are kept with a reason, never dropped
    off = inc.set_index("fixmedins_code").loc[["H041", "H042"]]
    assert (off["in_frame"] == 0).all() and (off["pi"] == 0).all()
    assert set(off["exclusion_reason"]) == {"status_closed", "status_suspended"}
    fr = inc[inc["in_frame"] == 1]
    assert len(fr) == 40
    # exact π per stratum
    for t, g in fr.groupby("tier"):
        st = summary["strata"][t]
        assert (g["N_h"] == st["N_h"]).all() and st["N_h"] == len(g)
        rounds = st["n_h_rounds"]
        assert sum(rounds) == st["n_h"]
        for r, n in enumerate(rounds, start=1):
            assert g[f"pi_round_{r}"].iloc[0] == pytest.approx(n / len(g))
        assert g["pi"].iloc[0] == pytest.approx(
            1 - (1 - rounds[0] / len(g)) * (1 - rounds[1] / len(g))
        )
        # money at risk per tier: Σ expected_loss of its institutions, and its covered share
        assert st["expected_loss"] == pytest.approx(g["expected_loss"].sum())
        assert st["expected_loss_covered"] == pytest.approx(
            st["expected_loss"] * st["n_h"] / st["N_h"]
        )
    # floor: 10 % of 40 = 4 inspections
    assert summary["floor"]["required_inspections"] == 4
    assert summary["floor"]["planned_inspections"] >= 4 and summary["floor"]["met"]
    assert summary["capacity"]["checked"]
    assert summary["capacity"]["inspector_days_available"] == 12 * 20  # I13 retired, I14 expired
    # targeted draw finds more than a uniform draw of the same size (risk rises with tier)
    ef = summary["expected_findings"]
    assert ef["expected_findings_targeted"] > ef["expected_findings_uniform"] > 0


@pytest.mark.parametrize("name", ["floor10_2025", "xiping_2020", "panshi_2025"])
def test_each_shipped_policy_on_a_province(name):
    pol = load_policy(name)
    scores = _scores({"A": 500, "B": 300, "C": 150, "D": 50})
    plan = build_plan(scores, pol)
    s = plan.summary
    n = 1000
    floor = pol["sampling"]["overall_floor"]
    assert s["floor"]["planned_inspections"] >= floor * n
    assert s["annual_cap"] == pol["sampling"]["annual_cap"] == 2
    assert s["team_size"] >= 2
    inc = plan.inclusion
    assert (inc["pi"] > 0).all() and (inc["pi"] <= 1).all()
    # per-institution expected inspections never exceed the cap; rates differentiated
    assert (inc["expected_inspections"] <= s["annual_cap"]).all()
    pis = inc.groupby("tier")["pi"].first()
    assert pis["A"] < pis["B"] < pis["C"] < pis["D"]
    if name == "panshi_2025":
        assert s["deadline"] == "2025-12-10"
        assert 0.03 <= s["floor"]["planned_ratio"] < 0.04


def test_floor_scale_and_error():
    scores = _scores({"A": 500, "B": 300, "C": 150, "D": 50})
    low = {"A": 0.01, "B": 0.02, "C": 0.04, "D": 0.1}
    pol = _policy(**{"sampling.tier_probabilities": low, "sampling.floor_action": "scale"})
    plan = build_plan(scores, pol)
    fl = plan.summary["floor"]
    assert fl["scaled_by"] > 1 and fl["planned_inspections"] >= 100
    assert fl["planned_inspections"] <= 103  # smallest factor meeting the floor
    pol_err = _policy(**{"sampling.tier_probabilities": low, "sampling.floor_action": "error"})
    with pytest.raises(
        PolicyError, match=r"sampling\.overall_floor: floor 10% needs ≥ 100 inspections"
    ):
        build_plan(scores, pol_err)


def test_floor_infeasible_with_capacity_names_constraint(tmp_path):
    pol = _policy(**{"sampling.overall_floor": 0.5, "inspectors.workload_cap_per_round": 1})
    scores = read_scores(DATA / "scores.csv")
    with pytest.raises(
        PolicyError, match=r"floor 50% needs .* capacity is 12 qualified inspectors"
    ):
        build_plan(scores, pol, data_dir=DATA)


def test_capacity_days_binding():
    pol = _policy(**{"inspectors.days_per_inspection": 40.0})
    scores = read_scores(DATA / "scores.csv")
    with pytest.raises(
        PolicyError, match=r"inspectors\.days_available_per_year: .* capacity is 240 inspector-days"
    ):
        build_plan(scores, pol, data_dir=DATA)


def test_cap_across_rounds_binding():
    rounds = [
        {"name": "一", "share": 0.5, "start": "2025-03-01", "end": "2025-05-31"},
        {"name": "二", "share": 0.5, "start": "2025-06-01", "end": "2025-11-30"},
    ]
    scores = _scores({"A": 10, "B": 10, "C": 10, "D": 4})
    # cap 1 with rate 1 and two rounds: feasible (2 + 2 of 4), each exactly once a year
    pol = _policy(
        **{
            "sampling.annual_cap": 1,
            "rounds": rounds,
            "sampling.tier_probabilities": {"A": 0.1, "B": 0.2, "C": 0.3, "D": 1.0},
        }
    )
    plan = build_plan(scores, pol)
    assert plan.summary["strata"]["D"]["pi_annual"] == pytest.approx(1.0)
    # three rounds, cap 2, rate 2 on 3 institutions: round 3 may find everybody capped
    pol3 = copy.deepcopy(pol)
    pol3["sampling"]["annual_cap"] = 2
    pol3["sampling"]["tier_probabilities"]["D"] = 2.0
    pol3["rounds"] = [dict(r, share=1 / 3) for r in rounds] + [
        dict(rounds[1], name="三", share=1 / 3)
    ]
    with pytest.raises(PolicyError, match=r"sampling\.annual_cap: tier D"):
        build_plan(_scores({"A": 10, "B": 10, "C": 10, "D": 3}), pol3)


def test_exempt_tier_has_zero_pi_and_is_reported():
    raw = yaml.safe_load((POLICIES_DIR / "floor10_2025.yaml").read_text(encoding="utf-8"))
    raw["sampling"]["exempt"] = ["A"]
    raw["sampling"]["tier_probabilities"]["A"] = 0
    with pytest.warns(UserWarning, match="invisible"):
        pol = validate_policy(raw, "x.yaml")
    plan = build_plan(_scores({"A": 50, "B": 30, "C": 15, "D": 5}), pol)
    inc = plan.inclusion
    assert (inc.loc[inc["tier"] == "A", "pi"] == 0).all()
    assert plan.summary["exempt"]["A"]["institutions"] == 50


def test_bad_scores_files(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("fixmedins_code,risk_score,tier\nH1,0.1,A\n", encoding="utf-8")
    with pytest.raises(RiskscoreError, match="missing column 'expected_loss'"):
        read_scores(p)
    p.write_text("fixmedins_code,risk_score,tier,expected_loss\nH1,0.1,E,1\n", encoding="utf-8")
    with pytest.raises(RiskscoreError, match="column 'tier'"):
        read_scores(p)
    p.write_text(
        "fixmedins_code,risk_score,tier,expected_loss\nH1,0.1,A,1\nH1,0.2,B,1\n", encoding="utf-8"
    )
    with pytest.raises(RiskscoreError, match="duplicates"):
        read_scores(p)
    p.write_text("fixmedins_code,risk_score,tier,expected_loss\nH1,x,A,1\n", encoding="utf-8")
    with pytest.raises(RiskscoreError, match="'risk_score' is not numeric in row 2"):
        read_scores(p)


def test_cli_infeasible_is_one_line(tmp_path, capsys):
    pol = (
        (POLICIES_DIR / "floor10_2025.yaml")
        .read_text(encoding="utf-8")
        .replace("overall_floor: 0.10", "overall_floor: 0.9")
        .replace("workload_cap_per_round: 4", "workload_cap_per_round: 1")
    )
    pp = tmp_path / "p.yaml"
    pp.write_text(pol, encoding="utf-8")
    code = cli(
        [
            "plan",
            "--scores",
            str(DATA / "scores.csv"),
            "--data",
            str(DATA),
            "--policy",
            str(pp),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "overall_floor" in err[0] and "capacity" in err[0]


def test_items_from_policy_or_inspection_items_table(tmp_path):
    scores = read_scores(DATA / "scores.csv")
    pol = load_policy("panshi_2025")
    plan = build_plan(scores, pol, data_dir=DATA)
    assert [it["item_id"] for it in plan.summary["items"]] == [f"003-{i}" for i in range(1, 9)]
    data2 = tmp_path / "data"
    import shutil

    shutil.copytree(DATA, data2)
    (data2 / "inspection_items.csv").write_text(
        "item_id,item_name,target_type,content,item_class,method,inspecting_body,legal_basis\n"
        "T1,零差率销售检查,定点医疗机构,药品是否零差价销售,key,现场检查,医疗保障行政部门,条例第十五条\n",
        encoding="utf-8",
    )
    plan2 = build_plan(scores, pol, data_dir=data2)
    assert [it["item_id"] for it in plan2.summary["items"]] == ["T1"]
    assert plan2.summary["items"][0]["source"] == "table inspection_items"


def test_floor_counts_inspections_or_distinct_institutions():
    """Issue 12: the default policy's floor (全年抽查比例不少于10%) counts inspections (家次);
    with two rounds and cap 2 the expected number of distinct institutions is below 10 %.
    ``floor_counts: institutions`` draws no institution twice a year, so the planned
    inspections are distinct institutions and meet the floor exactly."""
    from riskscore.draw.core import DrawInputs, select_targets
    from riskscore.draw.tickets import seed_from_randomness
    from riskscore.policy import effective_annual_cap

    scores = _scores({"A": 189, "B": 53, "C": 33, "D": 25})
    pol = _policy()
    assert pol["sampling"]["floor_counts"] == "inspections"
    fl = build_plan(scores, pol).summary["floor"]
    assert fl["counts"] == "inspections" and fl["planned_inspections"] >= 30
    assert fl["expected_distinct_institutions"] < fl["planned_inspections"]
    assert fl["expected_distinct_ratio"] < 0.10  # the weaker reading of 10 %
    strict = _policy(**{"sampling.floor_counts": "institutions"})
    assert effective_annual_cap(strict) == 1
    plan = build_plan(scores, strict)
    fs = plan.summary["floor"]
    assert fs["counts"] == "institutions"
    assert fs["expected_distinct_institutions"] == pytest.approx(fs["planned_inspections"])
    assert fs["planned_inspections"] >= 30 and fs["met"]
    for t, st in plan.summary["strata"].items():
        assert st["pi_annual"] == pytest.approx(st["n_h"] / st["N_h"]), t
    # the draw of both rounds with the policy's effective cap: distinct = planned, exactly
    frame = dict(zip(scores["fixmedins_code"], scores["tier"], strict=True))
    for k in range(5):
        seed = seed_from_randomness(f"floor; {k}")
        previous: dict = {}
        for r in (1, 2):
            inp = DrawInputs(
                year=2025,
                round_index=r,
                round_name=str(r),
                draw_date="2025-04-01",
                frame=frame,
                n_round={t: st["n_h_rounds"][r - 1] for t, st in plan.summary["strata"].items()},
                previous=dict(previous),
                annual_cap=effective_annual_cap(strict),
                inspectors=[],
                conflicts={},
                team_size=2,
                joint_units=[],
                min_per_unit=0,
            )
            _s, selected, _t = select_targets(seed, inp)
            for c in (c for v in selected.values() for c in v):
                previous[c] = previous.get(c, 0) + 1
        assert len(previous) == fs["planned_inspections"]
    with pytest.raises(PolicyError, match="floor_counts"):
        _policy(**{"sampling.floor_counts": "both"})

"""abnormal_utilization (异常诊疗与费用): indicators on a hand-made world, first-extract synth.

The expected numerators are written out from the world in ``indicator_world.world_utilization``
(indirect standardisation: per institution ``numerator = O × N / E`` for amounts and
``p̄ × O × N / E`` for counts, ``denominator = N`` units).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from indicator_world import world_utilization
from riskscore.indicators import INDICATORS, compute_indicators

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

UT = [i.id for i in INDICATORS if i.family == "abnormal_utilization"]


@pytest.fixture(scope="module")
def res():
    return compute_indicators(world_utilization().tables(), progress=False, only=UT)


def val(res, ind, inst):
    v = res.values
    row = v[(v.indicator_id == ind) & (v.fixmedins_code == inst)]
    assert len(row) == 1, (ind, inst)
    return float(row.numerator.iloc[0]), float(row.denominator.iloc[0])


def test_every_indicator_runs_and_is_documented(res):
    assert res.skipped == []
    assert set(res.computed) == set(UT)
    assert len(UT) >= 12


def test_length_of_stay_indirectly_standardised(res):
    # cells: J18 (10, 10, 2, 2) mean 6; I63 (8, 2) mean 5; K80 3; Z51 2
    assert val(res, "ut_length_of_stay", "H1") == pytest.approx((25 * 4 / 17, 4))
    assert val(res, "ut_length_of_stay", "H2") == pytest.approx((14 * 4 / 22, 4))
    ev = res.evidence[res.evidence.indicator_id == "ut_length_of_stay"]
    assert ev.empty  # the longest stay is 10 days against 6 expected: below 2×


def test_any_cause_readmissions(res):
    # 15 days: U6 (10 days after U3, other hospital and diagnosis); U7 is planned (Z51)
    assert val(res, "ut_readmit_15d", "H1") == pytest.approx((1 * (1 / 8) * 4 / 1, 4))
    assert val(res, "ut_readmit_15d", "H2") == pytest.approx((0, 4))
    # 30 days: U6 and U8 (22 days after U2); cells K80 1/1, I63 1/2
    assert val(res, "ut_readmit_30d", "H1") == pytest.approx((0.25 * 4 / 1, 4))
    assert val(res, "ut_readmit_30d", "H2") == pytest.approx((0.25 * 4 / 1.0, 4))
    ev = res.evidence[res.evidence.indicator_id == "ut_readmit_30d"]
    assert sorted(ev.record_id) == ["U6", "U8"]


def test_cost_per_encounter_nets_refunds(res):
    # cells: J18×21 (3000, 1000, 1000, 1000) mean 1500; I63, K80, Z51 1000; J06×11
    # (80, 100, 100, 200) mean 120 (O1 = 100 − 20 refund)
    assert val(res, "ut_cost_per_encounter", "H1") == pytest.approx((6200 * 5 / 5120, 5))
    assert val(res, "ut_cost_per_encounter", "H2") == pytest.approx((4000 * 4 / 5000, 4))
    assert val(res, "ut_cost_per_encounter", "C1") == pytest.approx((280 * 3 / 360, 3))
    ev = res.evidence[res.evidence.indicator_id == "ut_cost_per_encounter"]
    assert set(ev.record_id) == {"U1"}  # 3000 ≥ 2 × 1500


def test_month_end_and_holiday_settlements(res):
    # month end: O1 (03-30) and O3 (02-26 in a 28-day February); refund rows are not counted
    assert val(res, "ut_month_end_settlements", "C1") == pytest.approx((2 * (2 / 12) * 3 / 1.5, 3))
    assert val(res, "ut_month_end_settlements", "H1") == pytest.approx((0, 5))
    # holiday: O4 on 2025-10-03 (国庆)
    assert val(res, "ut_holiday_settlements", "H1") == pytest.approx((1 * (1 / 12) * 5 / 0.25, 5))
    assert val(res, "ut_holiday_settlements", "C1") == pytest.approx((0, 3))


def test_nonlocal_patients(res):
    # units: encounters with both codes (O2 has no insu_admdvs): med_type 21 1 of 8 from
    # elsewhere (U5), 11 1 of 3 (O1); province rate 2/11
    assert val(res, "ut_nonlocal_patients", "H1") == pytest.approx((0, 5))
    assert val(res, "ut_nonlocal_patients", "H2") == pytest.approx(((2 / 11) * 4 * 1 / 0.5, 4))
    assert val(res, "ut_nonlocal_patients", "C1") == pytest.approx(((2 / 11) * 2 * 1 / (2 / 3), 2))
    ev = res.evidence[res.evidence.indicator_id == "ut_nonlocal_patients"]
    assert sorted(ev.record_id) == ["O1", "U5"]


def test_nonlocal_patients_city_and_province_codes():
    t = world_utilization().tables()
    t["institutions"]["region"] = ["340102", "340103", "340102", "340103"]
    reg = dict(zip(t["institutions"].fixmedins_code, t["institutions"].region, strict=True))
    m = t["mdtrt_d"]
    m["insu_admdvs"] = m.fixmedins_code.map(reg)
    # U5: another district; O1: its city (统筹区 340100, local); O2: another city; O4: the
    # province code (local)
    other = {"U5": "340102", "O1": "340100", "O2": "340200", "O4": "340000"}
    m["insu_admdvs"] = [other.get(i, a) for i, a in zip(m.mdtrt_id, m.insu_admdvs, strict=True)]
    r = compute_indicators(t, progress=False, only=["ut_nonlocal_patients"])
    # 21: 1 of 8 (U5); 11: 1 of 4 (O2); province rate 2/12
    assert val(r, "ut_nonlocal_patients", "C1") == pytest.approx(((1 / 6) * 3 * 1 / 0.75, 3))
    assert val(r, "ut_nonlocal_patients", "H2") == pytest.approx(((1 / 6) * 4 * 1 / 0.5, 4))
    assert val(r, "ut_nonlocal_patients", "H1") == pytest.approx((0, 5))
    ev = r.evidence[r.evidence.indicator_id == "ut_nonlocal_patients"]
    assert sorted(ev.record_id) == ["O2", "U5"]
    # without an insurance area anywhere the indicator is skipped
    del t["mdtrt_d"]["insu_admdvs"]
    r = compute_indicators(t, progress=False, only=["ut_nonlocal_patients"])
    assert [s for s, _ in r.skipped] == ["ut_nonlocal_patients"]


def test_encounters_per_person(res):
    # units institution × person × med_type; cells (med_type, dx group): (21, J18) mean 1.25
    assert val(res, "ut_encounters_per_person", "H1") == pytest.approx(
        (5 * 4 / (1.25 + 1.25 + 1 + 4 / 3), 4)
    )


def test_fee_shares_and_physician(res):
    # drug share cell J06×11: drugs 170 of 480; C1 has 170 of its 280
    share = 170 / 480
    assert val(res, "ut_drug_share", "C1") == pytest.approx((170 * 3 / (280 * share), 3))
    # physician: C1 D1 2 of 3 encounters; H1 D3 and D4 tie (smallest code wins): 1 of 2
    assert val(res, "ut_top_physician_share", "C1") == (2, 3)
    assert val(res, "ut_top_physician_share", "H1") == (1, 2)


def test_first_extract_shape_skips_only_fee_indicators():
    t = world_utilization().tables()
    t = {k: v for k, v in t.items() if k in ("mdtrt_d", "setl_d", "institutions")}
    r = compute_indicators(t, progress=False, only=UT)
    skipped = {i for i, _why in r.skipped}
    assert skipped == {
        "ut_drug_share",
        "ut_consumable_share",
        "ut_test_share",
        "ut_top_physician_share",
    }
    assert all("fee_list_d" in why for _i, why in r.skipped)


def test_main_diagnosis_from_the_settlement_list():
    t = world_utilization().tables()
    dx = t["mdtrt_d"][["mdtrt_id", "dscg_maindiag_code"]]
    t["mdtrt_d"] = t["mdtrt_d"].drop(columns=["dscg_maindiag_code"])
    t["setl_list_diag_d"] = pd.DataFrame(
        {
            "setl_id": "S" + dx.mdtrt_id,
            "diag_type": "1",
            "diag_code": dx.dscg_maindiag_code,
            "maindiag_flag": "1",
        }
    )
    a = compute_indicators(world_utilization().tables(), progress=False, only=["ut_length_of_stay"])
    b = compute_indicators(t, progress=False, only=["ut_length_of_stay"])
    pd.testing.assert_frame_equal(a.values, b.values)


def test_holidays_outside_the_table_skip():
    t = world_utilization().tables()
    s = t["setl_d"].copy()
    s["setl_time"] = pd.to_datetime(s["setl_time"]).map(lambda x: x.replace(year=2031))
    t["setl_d"] = s
    r = compute_indicators(t, progress=False, only=["ut_holiday_settlements"])
    assert r.skipped and "2031" in r.skipped[0][1]


def test_first_extract_province_scores_without_error(tmp_path):
    """A folder with only mdtrt_d, setl_d, setl_list_diag_d, institutions and credit scores."""
    from riskscore.cli import main
    from riskscore.contract import FAMILIES
    from riskscore.synth import SynthConfig, generate

    data, out = tmp_path / "data", tmp_path / "out"
    cfg = SynthConfig(
        institutions=80, seed=3, fee_lines=80 * 600, progress=False, tables="first-extract"
    )
    generate(data, cfg)
    assert main(["score", "--data", str(data), "--out", str(out), "--quiet"]) == 0
    s = pd.read_csv(out / "scores.csv", dtype={"fixmedins_code": str})
    assert set(FAMILIES) <= set(s.columns)
    inst = pd.read_csv(data / "institutions.csv", dtype=str)
    assert sorted(s.fixmedins_code) == sorted(inst.fixmedins_code)
    assert s.abnormal_utilization.between(0, 1).all() and s.abnormal_utilization.max() > 0
    # planted institutions rank above the others on the family (a loose check; the floor
    # on 300-institution provinces is the slow test below)
    truth = set(pd.read_csv(data / "truth.csv", dtype=str).fixmedins_code)
    y = s.fixmedins_code.isin(truth)
    assert s.abnormal_utilization[y].mean() > s.abnormal_utilization[~y].mean()
    # the first-extract Done-when on a small province (the 300-institution floors: slow tests)
    from utilization_quality import tiers_within_one

    claims = s.fund_paid > 0
    assert claims.sum() >= 70
    assert s.loc[claims, "risk_score"].duplicated(keep=False).mean() <= 0.01
    assert tiers_within_one(s.tier), s.tier.value_counts().to_dict()
    assert (s.loc[claims, "expected_loss"] > 0).all()


@pytest.mark.parametrize("drop", [("credit_ratings",), ("credit_ratings", "setl_list_diag_d")])
def test_first_extract_without_credit_or_diagnoses(tmp_path, drop):
    """Tables a bureau's first extract may lack: no credit ratings, no settlement diagnoses.

    Scoring still ranks everyone, tiers follow the policy and money at risk is positive; the
    planted institutions still rank above the others on the family (diagnoses then come only
    from ``mdtrt_d.dscg_maindiag_code``, credit adjustments are skipped).
    """
    from riskscore.cli import main
    from riskscore.synth import SynthConfig, generate

    data, out = tmp_path / "data", tmp_path / "out"
    cfg = SynthConfig(
        institutions=80, seed=5, fee_lines=80 * 600, progress=False, tables="first-extract"
    )
    generate(data, cfg)
    for name in drop:
        for f in data.glob(f"{name}.*"):
            f.unlink()
    assert main(["score", "--data", str(data), "--out", str(out), "--quiet"]) == 0
    s = pd.read_csv(out / "scores.csv", dtype={"fixmedins_code": str})
    from utilization_quality import tiers_within_one

    claims = s.fund_paid > 0
    assert claims.sum() >= 70
    assert s.loc[claims, "risk_score"].duplicated(keep=False).mean() <= 0.01
    assert tiers_within_one(s.tier), s.tier.value_counts().to_dict()
    assert (s.loc[claims, "expected_loss"] > 0).all()
    truth = set(pd.read_csv(data / "truth.csv", dtype=str).fixmedins_code)
    y = s.fixmedins_code.isin(truth)
    assert s.abnormal_utilization[y].mean() > s.abnormal_utilization[~y].mean()
    assert s.risk_score[y].mean() > s.risk_score[~y].mean()


FLOOR_SEEDS = (11, 23, 37)


@pytest.fixture(scope="module")
def first_extract_quality(tmp_path_factory):
    """benchmarks/utilization_quality.py on 300-institution first extracts (3 seeds × 2)."""
    from utilization_quality import evaluate

    work = tmp_path_factory.mktemp("ut_quality")
    return {
        (seed, inten): evaluate(seed, inten, 300, work, [])
        for inten in ("default", "subtle")
        for seed in FLOOR_SEEDS
    }


@pytest.mark.slow
@pytest.mark.parametrize("seed", FLOOR_SEEDS)
def test_abnormal_utilization_floor_on_first_extracts(first_extract_quality, seed):
    d = first_extract_quality[(seed, "default")]
    assert d["family_auc"] >= 0.90, d
    assert d["risk_auc"] >= 0.85, d
    s = first_extract_quality[(seed, "subtle")]
    assert s["risk_auc"] >= 0.75, s
    for r in (d, s):
        assert r["expected_loss_positive"], r
        assert sum(r["tiers"].values()) == r["n"]
        assert r["ties"] <= 0.01, r  # at most 1 % of institutions with claims tie
        assert r["tiers_within_one"], r  # every tier within one of the policy share


FULL_SEEDS = (5, 8, 9)


@pytest.fixture(scope="module")
def full_province_scores(tmp_path_factory):
    """Full 300-institution provinces (fee lines present) with the utilisation abuses."""
    from riskscore.cli import main

    work = tmp_path_factory.mktemp("ut_full")
    out = {}
    for seed in FULL_SEEDS:
        data, res = work / f"d{seed}", work / f"o{seed}"
        synth = ["synth", "--out", str(data), "--institutions", "300", "--seed", str(seed)]
        assert main([*synth, "--utilization-abuses", "--no-progress"]) == 0
        assert main(["score", "--data", str(data), "--out", str(res), "--quiet"]) == 0
        s = pd.read_csv(res / "scores.csv", dtype={"fixmedins_code": str})
        truth = pd.read_csv(data / "truth.csv", dtype={"fixmedins_code": str})
        out[seed] = (s, truth)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", FULL_SEEDS)
def test_abnormal_utilization_floor_on_full_provinces(full_province_scores, seed):
    from sklearn.metrics import roc_auc_score

    s, truth = full_province_scores[seed]
    y = s.fixmedins_code.isin(truth.fixmedins_code[truth.family == "abnormal_utilization"])
    assert y.sum() >= 15
    # the family's violators against every other institution (violators of other families too)
    auc = roc_auc_score(y, s.abnormal_utilization)
    assert auc >= 0.90, auc

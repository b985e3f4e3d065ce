"""Indicator tests: each family on a hand-made data set with known flagged claims."""

from __future__ import annotations

import pandas as pd
import pytest

from indicator_world import (
    world_bed_hanging,
    world_duplicate_charging,
    world_identity,
    world_over_prescription,
    world_over_testing,
    world_prescriptions,
    world_procurement,
    world_restricted,
    world_split_hospitalization,
    world_substitution,
    world_tests_per_encounter,
)
from riskscore.contract import FAMILIES
from riskscore.errors import RiskscoreError
from riskscore.indicators import INDICATORS, compute_indicators, load_liangku, load_rules


def run(world, only, **kw):
    tables = world.tables() if hasattr(world, "tables") else world
    return compute_indicators(tables, progress=False, only=only, **kw)


def nd(res, indicator_id) -> dict[str, tuple[float, float]]:
    v = res.values[res.values.indicator_id == indicator_id]
    return {r.fixmedins_code: (r.numerator, r.denominator) for r in v.itertuples()}


def ev(res, indicator_id) -> dict[str, list[str]]:
    e = res.evidence[res.evidence.indicator_id == indicator_id]
    return {k: sorted(g.record_id) for k, g in e.groupby("fixmedins_code")}


# ----------------------------------------------------------------------------- registry
def test_every_family_has_an_indicator_with_complete_metadata():
    assert {i.family for i in INDICATORS} == set(FAMILIES)
    ids = [i.id for i in INDICATORS]
    assert len(ids) == len(set(ids))
    rules = load_rules()
    for i in INDICATORS:
        assert i.zh and i.en and i.basis and i.description_zh and i.description_en, i.id
        assert i.needs, i.id
        for key in i.params:
            assert key in rules and rules["_sources"][key], (i.id, key)


def test_rules_override_and_unknown_key():
    r = load_rules({"days_supply_limit": {"outpatient": 5}})
    assert r["days_supply_limit"] == {"outpatient": 5, "emergency": 3, "chronic": 84}
    with pytest.raises(RiskscoreError, match="unknown parameter"):
        load_rules({"no_such_rule": 1})


def test_liangku_read_in_published_format_with_float_codes(tmp_path):
    frames, notes = load_liangku(None, load_rules())
    freq = frames["lk_freq"]
    # b8_item_frequency.csv publishes codes as "1102000040000.0"
    assert "1102000040000" in set(freq.code)
    assert not freq.code.str.contains(r"\.").any()
    assert set(frames["lk_pairs"].scope) == {"day", "encounter", "hour", "hours6"}
    kinds = set(frames["lk_restrict"].kind)
    assert kinds == {"gender", "age", "insurance", "setting", "level"}
    # a GB18030 copy with a spreadsheet float code is read the same way
    (tmp_path / "b8_item_period.csv").write_bytes(
        "序号,项目名称,频次上限,疗程周期,备注,项目代码\n1,糖化血红蛋白测定,1,15,x,2503020030000.0\n".encode(
            "gb18030"
        )
    )
    f2, notes2 = load_liangku(tmp_path, load_rules())
    assert list(f2["lk_period"].code) == ["2503020030000"]
    assert any("b7_item_duplicate_charging" in n for n in notes2)


# ----------------------------------------------------------------------------- families
def test_over_prescription():
    res = run(world_over_prescription(), ["op_days_over_limit"])
    assert nd(res, "op_days_over_limit") == {"C1": (1, 2), "H1": (2, 4), "P1": (1, 2)}
    assert ev(res, "op_days_over_limit") == {"C1": ["F01"], "H1": ["F03", "F08"], "P1": ["F07"]}


def test_over_prescription_limit_from_rules():
    res = run(
        world_over_prescription(),
        ["op_days_over_limit"],
        rules={"days_supply_limit": {"outpatient": 6}},
    )
    # F02 (7 days) now over the outpatient limit; the pharmacy line F07 (30) still over
    assert nd(res, "op_days_over_limit")["C1"] == (2, 2)


def test_duplicate_and_split_prescriptions():
    res = run(world_prescriptions(), ["dp_overlap_supply", "sp_split_rx"])
    assert nd(res, "dp_overlap_supply") == {"C1": (1, 8), "H1": (1, 4)}
    assert ev(res, "dp_overlap_supply") == {"C1": ["D7"], "H1": ["D2"]}
    assert nd(res, "sp_split_rx") == {"C1": (2, 8), "H1": (2, 4)}
    assert ev(res, "sp_split_rx") == {"C1": ["D5", "D6"], "H1": ["D10", "D9"]}


def test_duplicate_tolerance_is_a_parameter():
    res = run(
        world_prescriptions(), ["dp_overlap_supply"], rules={"duplicate_overlap_tolerance_days": 0}
    )
    # D3 starts with 1 day on hand: now flagged too
    assert ev(res, "dp_overlap_supply") == {"C1": ["D3", "D7"], "H1": ["D2"]}


def test_split_hospitalization():
    res = run(world_split_hospitalization(), ["sh_readmit_same_dx"])
    assert nd(res, "sh_readmit_same_dx") == {"H1": (1, 6), "H2": (1, 4)}
    assert ev(res, "sh_readmit_same_dx") == {"H1": ["S1b"], "H2": ["S1d"]}


def test_split_hospitalization_planned_prefixes_from_rules():
    res = run(
        world_split_hospitalization(),
        ["sh_readmit_same_dx"],
        rules={"planned_readmission_dx_prefixes": ["Z49"]},
    )
    assert ev(res, "sh_readmit_same_dx")["H1"] == ["S1b", "S2b"]


def test_bed_hanging():
    ids = ["bh_bed_only_days", "bh_test_dominated_stays", "bh_claims_elsewhere"]
    res = run(world_bed_hanging(), ids)
    assert nd(res, "bh_bed_only_days") == {"H1": (2, 4), "H2": (1, 3)}
    assert ev(res, "bh_bed_only_days") == {"H1": ["B1", "B1"], "H2": ["B3"]}
    assert nd(res, "bh_test_dominated_stays") == {"H1": (0, 1), "H2": (1, 2)}
    assert ev(res, "bh_test_dominated_stays") == {"H2": ["B3"]}
    assert nd(res, "bh_claims_elsewhere") == {"H1": (1, 1), "H2": (0, 2)}
    assert ev(res, "bh_claims_elsewhere") == {"H1": ["B1"]}


def test_over_testing_liangku_rules():
    res = run(world_over_testing(), ["ot_b8_frequency", "ot_b8_period"])
    assert nd(res, "ot_b8_frequency") == {"H1": (2, 4)}
    details = sorted(res.evidence.loc[res.evidence.indicator_id == "ot_b8_frequency", "detail"])
    assert details[0].startswith("1109000010000") and details[1].startswith("3107010220000")
    assert nd(res, "ot_b8_period") == {"C1": (1, 3), "H2": (0, 1)}
    assert ev(res, "ot_b8_period") == {"C1": ["HBT2"]}


def test_over_testing_period_scope_person():
    res = run(world_over_testing(), ["ot_b8_period"], rules={"period_rule_scope": "person"})
    # T4 at H2 (01-12) is within 15 days of T2 (01-10) at C1; T3 (01-30) is 18 days after T4
    assert ev(res, "ot_b8_period") == {"C1": ["HBT2"], "H2": ["HBT4"]}


def test_spreadsheet_float_codes_in_claims_still_match_the_rules():
    tables = world_over_testing().tables()
    fee = tables["fee_list_d"]
    fee["hilist_code"] = fee["hilist_code"] + ".0"  # exported through Excel
    fee["fixmedins_code"] = " " + fee["fixmedins_code"] + " "
    res = compute_indicators(tables, progress=False, only=["ot_b8_frequency", "ot_b8_period"])
    assert nd(res, "ot_b8_frequency") == {"H1": (2, 4)}
    assert ev(res, "ot_b8_period") == {"C1": ["HBT2"]}


def test_tests_per_encounter_observed_over_expected():
    res = run(world_tests_per_encounter(), ["ot_tests_per_encounter"])
    v = nd(res, "ot_tests_per_encounter")
    # outpatient J06 cell: tests 1,1,1,9 and 0 (U8 has no lines) → mean 2.4; inpatient I10: 2
    assert v["C1"] == (3, pytest.approx(7.2))
    assert v["H2"] == (9, pytest.approx(4.8))
    assert v["H1"] == (2, pytest.approx(2.0))
    assert ev(res, "ot_tests_per_encounter") == {"H2": ["U9"]}


def test_duplicate_charging_b7_scopes():
    res = run(world_duplicate_charging(), ["dc_b7_pairs"])
    assert nd(res, "dc_b7_pairs") == {"H1": (1, 2), "H2": (2, 4)}
    assert ev(res, "dc_b7_pairs") == {"H1": ["DC1"], "H2": ["DC2", "DC4"]}


def test_restricted_items():
    ids = [
        "ri_restriction_breach",
        "ri_gender",
        "ri_age",
        "ri_insurance_type",
        "ri_care_setting",
        "ri_institution_level",
    ]
    res = run(world_restricted(), ids)
    assert nd(res, "ri_restriction_breach") == {"H1": (1, 2), "C1": (2, 3), "H2": (3, 6)}
    assert ev(res, "ri_restriction_breach") == {
        "H1": ["LG1"],
        "C1": ["LA1", "LL1"],
        "H2": ["LI1", "LI2", "LS1"],
    }
    assert nd(res, "ri_gender") == {"H1": (1, 2), "H2": (0, 2)}
    assert nd(res, "ri_age") == {"C1": (1, 2)}
    assert nd(res, "ri_insurance_type") == {"H2": (2, 3)}
    assert nd(res, "ri_care_setting") == {"H2": (1, 2)}
    assert nd(res, "ri_institution_level") == {"C1": (1, 1), "H2": (0, 1)}


def test_restricted_child_age_from_rules():
    res = run(world_restricted(), ["ri_age"], rules={"child_max_age": 60})
    assert nd(res, "ri_age") == {"C1": (0, 2)}


def test_substitution():
    res = run(world_substitution(), ["sub_code_mapping_mismatch", "sub_sales_over_stock"])
    assert nd(res, "sub_code_mapping_mismatch") == {"H1": (1, 6), "C1": (0, 2)}
    assert ev(res, "sub_code_mapping_mismatch") == {"H1": ["SA4"]}
    assert nd(res, "sub_sales_over_stock") == {"H1": (1, 2), "C1": (0, 1)}
    assert ev(res, "sub_sales_over_stock") == {"H1": ["XA"]}


def test_identity_fraud():
    ids = ["if_after_death", "if_overlapping_stays", "if_two_regions_same_day"]
    res = run(world_identity(), ids)
    assert ev(res, "if_after_death") == {"C1": ["X1"]}
    assert nd(res, "if_after_death")["C1"] == (1, 4)  # X1, X2, Z1, Z4
    assert nd(res, "if_overlapping_stays") == {"H1": (1, 2), "H2": (1, 2)}
    assert ev(res, "if_overlapping_stays") == {"H1": ["Y1"], "H2": ["Y2"]}
    assert ev(res, "if_two_regions_same_day") == {"C1": ["Z1"], "H1": ["Z3"], "P1": ["Z2"]}
    assert nd(res, "if_two_regions_same_day")["H1"] == (1, 5)  # X3, Y1, Y4, Z3, Z5


def test_procurement_and_zero_markup():
    ids = [
        "pr_volume_shortfall",
        "pr_non_selected_share",
        "pr_demand_underreport",
        "pr_late_payment",
        "pr_off_platform",
        "zm_price_above_purchase",
    ]
    res = run(world_procurement(), ids)
    assert nd(res, "pr_volume_shortfall") == {"H1": (20, 150), "H2": (0, 10)}
    assert ev(res, "pr_volume_shortfall") == {"H1": ["AG1"]}
    assert nd(res, "pr_non_selected_share") == {"H1": (20, 150), "H2": (0, 10)}
    assert ev(res, "pr_non_selected_share") == {"H1": ["PU3"]}
    assert nd(res, "pr_demand_underreport") == {"H1": (1, 2)}
    assert ev(res, "pr_demand_underreport") == {"H1": ["AG1"]}
    assert nd(res, "pr_late_payment") == {"H1": (2, 4), "H2": (0, 2)}
    assert ev(res, "pr_late_payment") == {"H1": ["PU3", "PU4"]}
    assert nd(res, "pr_off_platform") == {"H1": (1, 4), "H2": (0, 2)}
    assert nd(res, "zm_price_above_purchase") == {"H1": (2, 4)}
    assert ev(res, "zm_price_above_purchase") == {"H1": ["Z3", "Z4"]}


# ----------------------------------------------------------------------------- engine
def test_without_fee_list_d_fee_indicators_are_skipped_and_the_rest_runs():
    w = world_identity()
    tables = w.tables(fee=False)
    res = compute_indicators(tables, progress=False)
    skipped = dict(res.skipped)
    needs_fee = [i.id for i in INDICATORS if "fee_list_d" in i.needs]
    assert needs_fee
    for iid in needs_fee:
        assert "fee_list_d" in skipped[iid], iid
    assert {
        "if_after_death",
        "if_overlapping_stays",
        "if_two_regions_same_day",
        "sh_readmit_same_dx",
        "bh_claims_elsewhere",
    } <= set(res.computed)
    assert ev(res, "if_after_death") == {"C1": ["X1"]}
    assert "fee_list_d" not in res.values.indicator_id.map(lambda i: i)  # values exist
    exp = res.exposure.set_index("fixmedins_code")
    assert exp.loc["H1", "n_encounters"] == 5 and exp.loc["H1", "n_fee_lines"] == 0


def test_missing_column_is_a_stated_skip():
    tables = world_over_prescription().tables()
    tables["fee_list_d"] = tables["fee_list_d"].drop(columns=["prd_days"])
    res = compute_indicators(
        tables, progress=False, only=["op_days_over_limit", "dp_overlap_supply"]
    )
    skipped = dict(res.skipped)
    assert skipped["op_days_over_limit"] == "needs column fee_list_d.prd_days (absent)"
    assert "fee_list_d.prd_days" in skipped["dp_overlap_supply"]


def test_exposure_uses_settlements_when_present():
    tables = world_over_prescription().tables()
    tables["setl_d"] = pd.DataFrame(
        {
            "setl_id": ["s1", "s2"],
            "mdtrt_id": ["E1", "E2"],
            "psn_no": ["p1", "p2"],
            "fixmedins_code": ["C1", "H1"],
            "setl_time": ["2024-03-01", "2024-03-01"],
            "medfee_sumamt": [100.0, 50.0],
            "hifp_pay": [60.0, 30.0],
            "fund_pay_sumamt": [70.0, 35.0],
        }
    )
    res = compute_indicators(tables, progress=False, only=["op_days_over_limit"])
    exp = res.exposure.set_index("fixmedins_code")
    assert exp.loc["C1", "fund_paid"] == 70.0 and exp.loc["H1", "fund_paid"] == 35.0
    assert exp.loc["H1", "n_fee_lines"] == 5 and exp.loc["P1", "n_encounters"] == 2
    assert exp.loc["H2", "fund_paid"] == 0.0


def test_evidence_cap_per_institution():
    res = run(world_prescriptions(), ["sp_split_rx"], rules={"evidence_max_per_institution": 1})
    assert ev(res, "sp_split_rx") == {"C1": ["D5"], "H1": ["D10"]}
    assert nd(res, "sp_split_rx")["C1"] == (2, 8)  # numerators are not capped


def test_unknown_engine_and_indicator():
    tables = world_identity().tables()
    with pytest.raises(RiskscoreError, match="engine"):
        compute_indicators(tables, engine="polars", progress=False)
    with pytest.raises(RiskscoreError, match="unknown indicator"):
        compute_indicators(tables, progress=False, only=["nope"])


def test_combined_world_runs_every_indicator():
    from indicator_world import combined_world

    res = compute_indicators(combined_world(), progress=False)
    assert res.skipped == []
    assert set(res.computed) == {i.id for i in INDICATORS}
    # observed/expected ratios (standardised) may exceed one; every other indicator is a share
    ratios = {"ot_tests_per_encounter"} | {
        i.id for i in INDICATORS if i.family == "abnormal_utilization"
    }
    shares = res.values[~res.values.indicator_id.isin(ratios)]
    assert (shares.numerator <= shares.denominator + 1e-9).all()
    assert set(res.evidence.record_table) >= {
        "mdtrt_d",
        "fee_list_d",
        "purchases",
        "procurement_agreements",
        "stock_moves",
    }


# ----------------------------------------------------------------------------- calibration
@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 7])
def test_raw_rates_rank_planted_institutions_on_a_generated_province(tmp_path, seed):
    """For every planted family the best raw indicator rate has ROC-AUC ≥ 0.95."""
    from sklearn.metrics import roc_auc_score

    from riskscore.synth import SynthConfig, generate

    generate(tmp_path, SynthConfig(institutions=300, seed=seed, progress=False))
    res = compute_indicators(tmp_path, progress=False, read_parquet_direct=True)
    assert res.skipped == []
    inst = pd.read_csv(tmp_path / "institutions.csv", dtype=str).fixmedins_code
    truth = pd.read_csv(tmp_path / "truth.csv", dtype=str)
    rates = res.rates().reindex(inst).fillna(0.0)
    fam = {i.id: i.family for i in INDICATORS}
    for family in FAMILIES:
        if family == "abnormal_utilization":  # planted on request only (see test_utilization)
            continue
        y = inst.isin(truth.fixmedins_code[truth.family == family]).to_numpy()
        assert 0 < y.sum() < len(y), family
        aucs = [roc_auc_score(y, rates[c]) for c in rates.columns if fam[c] == family]
        assert max(aucs) >= 0.95, (family, aucs)


def test_docs_document_every_indicator():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "indicators.md").read_text("utf-8")
    for i in INDICATORS:
        assert f"#### `{i.id}` — {i.zh}" in doc, i.id

"""Policy files: validation, sources for every number, and each shipped plan's rules."""

from __future__ import annotations

import copy

import pytest
import yaml

from riskscore.errors import PolicyError
from riskscore.paths import POLICIES_DIR
from riskscore.policy import (
    ExemptionWarning,
    load_policy,
    shipped_policies,
    team_size,
    validate_policy,
)


def _raw(name: str) -> dict:
    return yaml.safe_load((POLICIES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def test_exactly_one_default_and_load_none_gives_it():
    pols = {k: load_policy(k) for k in shipped_policies()}
    assert set(pols) == {"floor10_2025", "xiping_2020", "panshi_2025"}
    defaults = [k for k, p in pols.items() if p["default"]]
    assert defaults == ["floor10_2025"]
    assert load_policy()["policy_id"] == "floor10_2025"


@pytest.mark.parametrize("name", ["floor10_2025", "xiping_2020", "panshi_2025"])
def test_scoring_section_present(name):
    pol = load_policy(name)
    assert pol["tiers"]["score_quantiles"] == {"B": 0.50, "C": 0.80, "D": 0.95}
    assert pol["tiers"]["credit_adjust"] == {"A": -1, "B": 0, "C": 1, "D": 1}
    assert all(p > 0 for p in pol["sampling"]["tier_probabilities"].values())
    assert len(pol["_sha256"]) == 64


def test_seed000_rules():
    pol = load_policy("floor10_2025")
    assert pol["sampling"]["overall_floor"] == 0.10
    assert pol["teams"]["min_size"] >= 2
    assert pol["teams"]["joint"]["min_per_unit"] == 2
    assert pol["sampling"]["annual_cap"] == 2
    tp = pol["sampling"]["tier_probabilities"]
    # differentiated by credit/risk: worse tier, higher rate
    assert tp["A"] < tp["B"] < tp["C"] < tp["D"]
    # rates reproduce the 10 % floor on the nominal 50/30/15/5 tier mix
    mix = {"A": 0.50, "B": 0.30, "C": 0.15, "D": 0.05}
    assert sum(mix[t] * tp[t] for t in mix) >= 0.10 - 1e-12
    assert "10%" in pol["sources"]["sampling.overall_floor"]


def test_seed001_rules():
    pol = load_policy("xiping_2020")
    assert pol["sampling"]["annual_cap"] == 2
    assert "第十二条" in pol["sources"]["sampling.annual_cap"]
    assert pol["plan_due"] <= f"{pol['year']}-03-31"  # annual plan in Q1 (第十一条)
    classes = {it["item_class"] for it in pol["items"]["list"]}
    assert classes == {"key", "general"}
    assert pol["items"]["table"] == "inspection_items"
    assert team_size(pol) >= 2


def test_seed003_rules():
    pol = load_policy("panshi_2025")
    assert pol["sampling"]["overall_floor"] == 0.03
    assert pol["deadline"] == "2025-12-10"
    assert all(r["end"] <= "2025-12-10" for r in pol["rounds"])
    names = " ".join(it["item_name"] for it in pol["items"]["list"])
    assert len(pol["items"]["list"]) == 8
    for word in ("长期护理", "零差", "集中采购", "高值医用耗材"):
        assert word in names or any(word in it["content"] for it in pol["items"]["list"])


def test_missing_source_is_named():
    raw = _raw("floor10_2025")
    del raw["sources"]["sampling.annual_cap"]
    with pytest.raises(PolicyError, match="sources.sampling.annual_cap"):
        validate_policy(raw, "x.yaml")


@pytest.mark.parametrize(
    "path,value,key",
    [
        (("sampling", "overall_floor"), 1.5, "sampling.overall_floor"),
        (("sampling", "annual_cap"), 0, "sampling.annual_cap"),
        (("sampling", "tier_probabilities", "A"), 0.0, "sampling.tier_probabilities.A"),
        (("teams", "min_size"), 1, "teams.min_size"),
        (("tiers", "score_quantiles", "C"), 0.40, "tiers.score_quantiles.C"),
        (("inspectors", "workload_cap_per_round"), "many", "inspectors.workload_cap_per_round"),
        (("deadline",), "2025-13-40", "deadline"),
    ],
)
def test_bad_values_name_the_key(path, value, key):
    raw = _raw("floor10_2025")
    d = raw
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        validate_policy(raw, "bad.yaml")


def test_round_shares_must_sum_to_one():
    raw = _raw("floor10_2025")
    raw["rounds"][0]["share"] = 0.7
    with pytest.raises(PolicyError, match="shares summing to 1"):
        validate_policy(raw, "bad.yaml")


def test_explicit_exemption_warns():
    raw = _raw("floor10_2025")
    raw2 = copy.deepcopy(raw)
    raw2["sampling"]["exempt"] = ["A"]
    raw2["sampling"]["tier_probabilities"]["A"] = 0
    with pytest.warns(ExemptionWarning, match="invisible"):
        pol = validate_policy(raw2, "ex.yaml")
    assert pol["sampling"]["tier_probabilities"]["A"] == 0


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="YAML"):
        load_policy(bad)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("seed000_floor10", "floor10_2025"),
        ("seed001_xiping", "xiping_2020"),
        ("seed003_panshi", "panshi_2025"),
    ],
)
def test_earlier_policy_ids_still_load(old, new):
    pol = load_policy(old)
    assert pol["policy_id"] == new
    assert pol["_sha256"] == load_policy(new)["_sha256"]


def test_shipped_policies_have_readable_ids_and_no_internal_paths():
    for pid, path in shipped_policies().items():
        text = path.read_text(encoding="utf-8")
        assert not pid.startswith("seed") and "seed" not in load_policy(pid)["title"]
        assert "shared/seeds" not in text and "seed 00" not in text

"""Synthetic 进销存 with planted resold drugs (回流药): the traceability indicators find them."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from riskscore.contract import TABLES
from riskscore.indicators import compute_indicators
from riskscore.io import load_folder
from riskscore.scoring import RiskScorer
from riskscore.synth import SynthConfig, generate

TRACE = ["tr_code_sold_twice", "tr_sold_not_purchased", "tr_code_settled_twice"]


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_inv")
    generate(out, SynthConfig(institutions=160, seed=4, fee_lines=160 * 500, progress=False))
    return out


def test_inventory_tables_follow_the_contract_and_validate(province):
    ds = load_folder(province, tables=[n for n in TABLES if n.startswith("inv_")])
    for name in ("inv_stocktake", "inv_change", "inv_purchase", "inv_purchase_return"):
        t = ds.tables[name]
        assert t.read > 0 and t.quarantined == 0, name
    sale = ds.tables["inv_sale"]
    assert sale.quarantined == 0 and sale.data["drug_trac_codg"].notna().all()
    assert ds.tables["inv_sale_return"].read > 0


def test_traceability_family_ranks_resellers_and_spares_decoys(province):
    res = compute_indicators(province, progress=False, read_parquet_direct=True)
    assert not [s for s in res.skipped if s[0] in TRACE[:2]]
    inst = pd.read_csv(province / "institutions.csv", dtype=str)
    truth = pd.read_csv(province / "truth.csv", dtype=str)
    planted = set(truth.loc[truth.family == "drug_resale", "fixmedins_code"])
    assert len(planted) >= 3
    y = inst["fixmedins_code"].isin(planted).to_numpy()
    out = RiskScorer().fit(res.values, inst).score(res.values, inst, res.exposure)
    fam = out.set_index("fixmedins_code").reindex(inst["fixmedins_code"])["drug_resale"]
    assert roc_auc_score(y, fam.fillna(0)) >= 0.95
    rates = res.rates().reindex(inst["fixmedins_code"]).fillna(0.0)
    for ind in TRACE[:2]:
        assert roc_auc_score(y, rates[ind]) >= 0.95, ind
    decoys = pd.read_csv(province / "truth_inventory_decoys.csv", dtype=str)["fixmedins_code"]
    assert len(decoys) >= 3 and not set(decoys) & planted
    assert (rates.loc[decoys, TRACE[:2]] == 0).all().all()  # refunds and re-sales: not flagged
    # evidence names the code and both settlements; truth claims are among the evidence ids
    ev = res.evidence[res.evidence.indicator_id == "tr_code_sold_twice"]
    assert ev["detail"].str.contains("drug_trac_codg=.* setl_id=.*sold before at").all()
    tc = pd.read_csv(province / "truth_claims.csv", dtype=str)
    tc = tc[tc.family == "drug_resale"]
    assert set(ev["record_id"]) <= set(tc["record_id"])

"""Tests of the synthetic province generator (riskscore synth)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskscore.contract import FAMILIES, TABLES
from riskscore.errors import RiskscoreError
from riskscore.paths import NHSA_RULES_DIR
from riskscore.synth import SynthConfig, generate

N_INST = 40
SEED = 11
CFG = dict(institutions=N_INST, seed=SEED, fee_lines=N_INST * 600, progress=False)
DECOY_KINDS = {
    "oncology",
    "dialysis",
    "rehabilitation",
    "chronic_pharmacy",
    "high_testing_tertiary",
}


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth_a")
    generate(out, SynthConfig(**CFG))
    return out


def read(folder: Path, table: str) -> pd.DataFrame:
    pqf = folder / f"{table}.parquet"
    if pqf.exists():
        return pq.read_table(pqf).to_pandas()
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def test_same_seed_gives_identical_files(province, tmp_path):
    generate(tmp_path, SynthConfig(**CFG))
    names_a = sorted(p.name for p in province.iterdir())
    names_b = sorted(p.name for p in tmp_path.iterdir())
    assert names_a == names_b
    for name in names_a:
        assert (province / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_different_seed_gives_different_claims(province, tmp_path):
    generate(tmp_path, SynthConfig(**{**CFG, "seed": SEED + 1}))
    assert (province / "fee_list_d.parquet").read_bytes() != (
        tmp_path / "fee_list_d.parquet"
    ).read_bytes()


def test_every_family_planted(province):
    truth = pd.read_csv(province / "truth.csv", dtype=str)
    assert list(truth.columns) == ["fixmedins_code", "family"]
    # the utilisation abuses are planted on request (--utilization-abuses, first-extract)
    assert set(truth["family"]) == set(FAMILIES) - {"abnormal_utilization"}
    assert not truth.duplicated().any()
    inst = read(province, "institutions").set_index("fixmedins_code")
    assert set(truth["fixmedins_code"]) <= set(inst.index)
    # families only where they can occur
    kinds = truth.join(inst, on="fixmedins_code")
    hosp_only = kinds[kinds["family"].isin(["split_hospitalization", "bed_hanging"])]
    assert (hosp_only["medins_type"] == "hospital").all()
    public_only = kinds[kinds["family"].isin(["procurement", "zero_markup"])]
    assert (
        (public_only["medins_type"] == "hospital") & (public_only["ownership"] == "public")
    ).all()


def test_truth_claims_exist_and_are_enough(province):
    tc = pd.read_csv(province / "truth_claims.csv", dtype=str)
    assert list(tc.columns) == ["fixmedins_code", "family", "record_table", "record_id"]
    key = {
        "mdtrt_d": "mdtrt_id",
        "fee_list_d": "bkkp_sn",
        "purchases": "purchase_id",
        "procurement_agreements": "agreement_id",
        "inv_sale": "rid",  # a traced sale: setl_id/drug_trac_codg (synth.inventory)
    }
    assert set(tc["record_table"]) <= set(key)
    for table, g in tc.groupby("record_table"):
        df = read(province, table)
        if table == "inv_sale":
            df["rid"] = df["setl_id"] + "/" + df["drug_trac_codg"]
        ids = df.set_index(key[table])
        assert g["record_id"].isin(ids.index).all(), table
        # the planted record belongs to the institution the truth names
        assert (
            ids.loc[g["record_id"], "fixmedins_code"].to_numpy() == g["fixmedins_code"].to_numpy()
        ).all(), table
    truth = pd.read_csv(province / "truth.csv", dtype=str)
    per = tc.groupby(["fixmedins_code", "family"]).size()
    pairs = set(map(tuple, truth.to_numpy()))
    assert set(per.index) == pairs  # every violator has planted records, and only violators
    assert per.min() >= 8, per.sort_values().head()


def test_decoys_listed_and_honest(province):
    dec = pd.read_csv(province / "truth_decoys.csv", dtype=str)
    assert list(dec.columns) == ["fixmedins_code", "kind"]
    assert set(dec["kind"]) == DECOY_KINDS
    truth = pd.read_csv(province / "truth.csv", dtype=str)
    assert not set(dec["fixmedins_code"]) & set(truth["fixmedins_code"])
    inst = read(province, "institutions").set_index("fixmedins_code")
    spec = inst.loc[dec["fixmedins_code"], "specialty"].to_numpy()
    for kind, s in zip(dec["kind"], spec, strict=True):
        if kind != "high_testing_tertiary":
            assert s == kind


def test_tables_follow_the_contract(province):
    for name, spec in TABLES.items():
        if name == "inspection_results":
            continue
        path = province / f"{name}.parquet"
        if path.exists():
            cols = pq.read_schema(path).names
        else:
            path = province / f"{name}.csv"
            assert path.exists(), name
            cols = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert set(spec.required_columns) <= set(cols), name
        assert set(cols) <= set(spec.column_names), (name, set(cols) - set(spec.column_names))
    fee = read(province, "fee_list_d")
    assert set(fee["med_chrgitm_type"]) <= set(
        TABLES["fee_list_d"].column("med_chrgitm_type").allowed
    )
    assert fee["bkkp_sn"].is_unique
    assert np.allclose(fee["det_item_fee_sumamt"], (fee["cnt"] * fee["pric"]).round(2), atol=0.011)
    mdtrt = read(province, "mdtrt_d")
    assert mdtrt["mdtrt_id"].is_unique
    assert (mdtrt["endtime"] >= mdtrt["begntime"]).all()
    assert set(mdtrt["med_type"]) == {"11", "13", "14", "21", "41"}
    setl = read(province, "setl_d").set_index("mdtrt_id")
    tot = fee.groupby("mdtrt_id")["det_item_fee_sumamt"].sum()
    assert np.allclose(setl.loc[tot.index, "medfee_sumamt"], tot, atol=0.05)
    diag = read(province, "setl_list_diag_d")
    assert not diag.duplicated(["setl_id", "diag_type", "diag_code"]).any()
    assert (diag.groupby("setl_id")["maindiag_flag"].apply(lambda s: (s == "1").sum()) == 1).all()


def _rule_codes(stem: str) -> set[str]:
    df = pd.read_csv(NHSA_RULES_DIR / f"{stem}_codes.csv", dtype=str)
    col = "国标代码" if "国标代码" in df.columns else "药品代码"
    return set(df[col].str.strip())


def test_planted_restricted_items_use_real_national_codes(province):
    tc = pd.read_csv(province / "truth_claims.csv", dtype=str)
    ids = tc.loc[tc["family"] == "restricted_items", "record_id"]
    assert len(ids) > 0
    fee = read(province, "fee_list_d").set_index("bkkp_sn")
    codes = set(fee.loc[ids, "hilist_code"])
    real = set()
    for stem in (
        "b1_drug_gender",
        "b1_drug_age",
        "b3_drug_insurance_type",
        "b4_drug_care_setting",
        "b5_drug_institution_level",
    ):
        real |= _rule_codes(stem)
    assert codes <= real


def test_honest_lines_respect_restrictions(province):
    """Honest gender-restricted drug lines go to the right sex (the background noise aside,
    nearly all of them)."""
    rules = pd.read_csv(NHSA_RULES_DIR / "b1_drug_gender_rules.csv", dtype=str)
    codes = pd.read_csv(NHSA_RULES_DIR / "b1_drug_gender_codes.csv", dtype=str)
    sex = codes.merge(
        rules[["药品通用名", "限定对象"]].drop_duplicates("药品通用名"), on="药品通用名"
    )
    want = dict(
        zip(sex["药品代码"].str.strip(), sex["限定对象"].map({"男": "1", "女": "2"}), strict=True)
    )
    fee = read(province, "fee_list_d")
    psn = read(province, "psn_info_b").set_index("psn_no")
    g = fee[fee["hilist_code"].isin(want)]
    assert len(g) > 50
    ok = g["hilist_code"].map(want).to_numpy() == psn.loc[g["psn_no"], "gend"].to_numpy()
    tc = pd.read_csv(province / "truth_claims.csv", dtype=str)
    planted = g["bkkp_sn"].isin(tc["record_id"]).to_numpy()
    assert ok[~planted].mean() > 0.97


def test_personal_data_formats(province):
    p = read(province, "psn_info_b")
    cert = p["certno"]
    assert cert.str.fullmatch(r"\d{17}[\dX]").all()
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = cert.head(200).map(
        lambda c: "10X98765432"[sum(int(a) * b for a, b in zip(c[:17], w, strict=True)) % 11]
    )
    assert (check == cert.head(200).str[17]).all()
    assert p["tel"].str.fullmatch(r"1[3-9]\d{9}").all()
    assert p["psn_name"].str.len().between(2, 3).all()
    assert p["chronic_flag"].isin([0, 1]).all()
    assert p["die_date"].notna().any()
    assert set(p["insutype"]) == {"310", "390"}


def test_no_honest_claim_after_death(province):
    m = read(province, "mdtrt_d")
    p = read(province, "psn_info_b").set_index("psn_no")
    die = pd.to_datetime(p.loc[m["psn_no"], "die_date"]).to_numpy()
    after = (~pd.isna(die)) & (m["begntime"].to_numpy() > die)
    tc = pd.read_csv(province / "truth_claims.csv", dtype=str)
    planted = m["mdtrt_id"].isin(tc.loc[tc["family"] == "identity_fraud", "record_id"]).to_numpy()
    assert after.sum() > 0
    # claims after death are planted (violators) or the small background noise
    assert after[planted].sum() > 0.5 * after.sum()


def test_zero_markup_and_stock_consistency_of_honest_institutions(province):
    truth = pd.read_csv(province / "truth.csv", dtype=str)
    inst = read(province, "institutions")
    fee = read(province, "fee_list_d")
    buy = read(province, "purchases")
    pp = buy.drop_duplicates(["fixmedins_code", "product_code"]).set_index(
        ["fixmedins_code", "product_code"]
    )["purchase_price"]
    pub = set(inst.loc[(inst["ownership"] == "public"), "fixmedins_code"])
    honest = pub - set(
        truth.loc[truth["family"].isin(["zero_markup", "substitution"]), "fixmedins_code"]
    )
    d = fee[fee["fixmedins_code"].isin(honest) & fee["med_chrgitm_type"].isin(["09", "11"])]
    key = pd.MultiIndex.from_arrays([d["fixmedins_code"], d["hilist_code"]])
    known = key.isin(pp.index)
    price = pp.reindex(key[known]).to_numpy()
    assert known.mean() > 0.97
    assert (np.abs(d["pric"].to_numpy()[known] - price) < 0.005).mean() > 0.97
    # 进销存: sales never exceed opening + purchases at institutions without substitution
    mv = read(province, "stock_moves")
    sub = set(truth.loc[truth["family"] == "substitution", "fixmedins_code"])
    mv = mv[~mv["fixmedins_code"].isin(sub)]
    s = mv.pivot_table(
        index=["fixmedins_code", "product_code"],
        columns="move_type",
        values="qty",
        aggfunc="sum",
        fill_value=0.0,
    )
    bad = s["sale"] > s["opening"] + s["in"] + 1e-6
    assert bad.mean() < 0.02


def test_outcomes_are_imperfect_and_tied_to_amounts(province):
    out = pd.read_csv(province / "truth_outcomes.csv", dtype={"fixmedins_code": str})
    assert list(out.columns) == ["fixmedins_code", "violation_found", "improper_amount"]
    assert len(out) == N_INST
    truth = pd.read_csv(province / "truth.csv", dtype=str)
    viol = out["fixmedins_code"].isin(truth["fixmedins_code"])
    assert out["violation_found"].isin([0, 1]).all()
    assert (out["improper_amount"] >= 0).all()
    assert ((out["improper_amount"] > 0) <= (out["violation_found"] == 1)).all()
    assert out.loc[viol, "violation_found"].mean() > out.loc[~viol, "violation_found"].mean()
    assert out.loc[viol & (out["violation_found"] == 1), "improper_amount"].min() > 0


def test_registries(province):
    items = read(province, "inspection_items")
    assert set(items["item_class"]) == {"key", "general"}
    insp = read(province, "inspectors")
    assert insp["unit"].nunique() >= 2
    assert (insp["status"] != "active").any()
    assert (pd.to_datetime(insp["cert_valid_until"]) < pd.Timestamp("2025-01-01")).any()
    conf = read(province, "conflicts")
    assert conf["inspector_id"].isin(insp["inspector_id"]).all()
    cr = read(province, "credit_ratings")
    assert set(cr["rating"]) <= {"A", "B", "C", "D"} and len(cr) == N_INST
    inst = read(province, "institutions")
    assert {"hospital", "clinic", "pharmacy"} == set(inst["medins_type"])
    assert set(inst["hosp_lv"]) == {"0", "1", "2", "3"}
    assert inst["region"].str.fullmatch(r"\d{6}").all() and inst["region"].nunique() >= 3


def test_generated_folder_validates_without_quarantine(province):
    io_mod = pytest.importorskip("riskscore.io")
    ds = io_mod.load_folder(province)
    rep = ds.report()["tables"]
    assert "fee_list_d" in rep
    for name, r in rep.items():
        assert r["quarantined"] == 0, (name, r["reasons"])
        assert r["read"] == r["accepted"]


def test_csv_format_validates(tmp_path):
    io_mod = pytest.importorskip("riskscore.io")
    generate(
        tmp_path,
        SynthConfig(institutions=20, seed=3, fee_lines=20 * 300, progress=False, fmt="csv"),
    )
    assert (tmp_path / "fee_list_d.csv").exists()
    assert not list(tmp_path.glob("*.parquet"))
    rep = io_mod.load_folder(tmp_path).report()["tables"]
    assert all(r["quarantined"] == 0 for r in rep.values()), rep


def test_bad_parameters_raise_clear_errors(tmp_path):
    with pytest.raises(RiskscoreError, match="--institutions"):
        generate(tmp_path, SynthConfig(institutions=5, progress=False))
    with pytest.raises(RiskscoreError, match="--fee-lines"):
        generate(tmp_path, SynthConfig(institutions=30, fee_lines=100, progress=False))


def test_cli_help_lists_options():
    from riskscore.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as ex:
        main(["synth", "--help"])
    assert ex.value.code == 0
    text = buf.getvalue()
    for opt in (
        "--out",
        "--institutions",
        "--seed",
        "--fee-lines",
        "--persons",
        "--year",
        "--prevalence",
        "--format",
    ):
        assert opt in text
    assert "违规" in text and "seed" in text


def test_cli_runs_and_reports(tmp_path, capsys):
    from riskscore.cli import main

    code = main(
        [
            "synth",
            "--out",
            str(tmp_path / "p"),
            "--institutions",
            "20",
            "--seed",
            "5",
            "--fee-lines",
            "6000",
            "--no-progress",
            "--json",
        ]
    )
    assert code == 0
    import json

    rep = json.loads(capsys.readouterr().out)
    assert rep["rows"]["fee_list_d"] > 3000
    assert (tmp_path / "p" / "truth.csv").exists()
    assert main(["synth", "--out", str(tmp_path / "q"), "--institutions", "3"]) == 2


def test_truth_intensity_matches_truth(province):
    ti = pd.read_csv(province / "truth_intensity.csv", dtype={"fixmedins_code": str})
    truth = pd.read_csv(province / "truth.csv", dtype=str)
    assert set(map(tuple, ti[["fixmedins_code", "family"]].to_numpy())) == set(
        map(tuple, truth.to_numpy())
    )
    assert ti["intensity"].between(0.03, 0.30).all()
    tc = pd.read_csv(province / "truth_claims.csv", dtype=str)
    n = tc.groupby(["fixmedins_code", "family"]).size()
    got = ti.set_index(["fixmedins_code", "family"])["planted_records"]
    assert (n.reindex(got.index).to_numpy() == got.to_numpy()).all()
    assert (ti["planted_amount"] > 0).all()


# --------------------------------------------------------------------------- first extract
FE_CFG = dict(
    institutions=80, seed=SEED, fee_lines=80 * 600, progress=False, tables="first-extract"
)
FIRST_EXTRACT_FILES = {
    "mdtrt_d.parquet",
    "setl_d.parquet",
    "setl_list_diag_d.parquet",
    "institutions.csv",
    "credit_ratings.csv",
}


@pytest.fixture(scope="module")
def first_extract(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth_fe")
    generate(out, SynthConfig(**FE_CFG))
    return out


def test_first_extract_writes_only_its_tables(first_extract):
    names = {p.name for p in first_extract.iterdir()}
    truth = {n for n in names if n.startswith("truth")}
    assert names - truth == FIRST_EXTRACT_FILES
    assert "truth_utilization.csv" in truth


def test_first_extract_plants_only_utilisation_abuses(first_extract):
    from riskscore.synth.utilization import ABUSES

    truth = pd.read_csv(first_extract / "truth.csv", dtype=str)
    assert set(truth.family) == {"abnormal_utilization"}
    ut = pd.read_csv(first_extract / "truth_utilization.csv", dtype={"fixmedins_code": str})
    assert set(ut.fixmedins_code) == set(truth.fixmedins_code)
    # with 80 small institutions the general hospitals may all go to long_stay
    assert set(ut.abuse) <= set(ABUSES) and len(set(ut.abuse)) >= 3
    assert ut.ratio.between(2.0, 3.0).all()
    inst = pd.read_csv(first_extract / "institutions.csv", dtype=str).set_index("fixmedins_code")
    dec = pd.read_csv(first_extract / "truth_decoys.csv", dtype=str)
    assert not set(ut.fixmedins_code) & set(dec.fixmedins_code)
    stays = ut[ut.abuse.isin(["long_stay", "readmission_churning"])]
    assert (inst.loc[stays.fixmedins_code, "medins_type"] == "hospital").all()
    # planted records are encounters of the violator
    tc = pd.read_csv(first_extract / "truth_claims.csv", dtype=str)
    m = read(first_extract, "mdtrt_d").set_index("mdtrt_id")
    assert set(tc.record_table) == {"mdtrt_d"} and set(tc.family) == {"abnormal_utilization"}
    assert (m.loc[tc.record_id, "fixmedins_code"].to_numpy() == tc.fixmedins_code).all()
    assert set(tc.fixmedins_code) == set(ut.fixmedins_code)


def test_first_extract_abuses_move_the_figure_they_abuse(first_extract):
    """Planted institutions differ from honest ones the way the truth says (raw figures)."""
    m = read(first_extract, "mdtrt_d")
    s = read(first_extract, "setl_d")
    ut = pd.read_csv(first_extract / "truth_utilization.csv", dtype={"fixmedins_code": str})
    bad = set(pd.read_csv(first_extract / "truth.csv", dtype=str).fixmedins_code)
    kind = dict(zip(ut.fixmedins_code, ut.abuse, strict=True))
    stays = m[m.med_type == "21"].copy()
    stays["los"] = (stays.endtime - stays.begntime).dt.days
    los = stays.groupby(["fixmedins_code", "dscg_maindiag_code"]).los.mean()
    honest_los = los[~los.index.get_level_values(0).isin(bad)].groupby(level=1).median()
    long_ = [c for c, a in kind.items() if a == "long_stay"]
    ratio = los.loc[long_] / honest_los.reindex(los.loc[long_].index.get_level_values(1)).values
    assert ratio.median() >= 1.8
    cost = s.groupby("fixmedins_code").medfee_sumamt.sum() / s.groupby("fixmedins_code").size()
    inst = pd.read_csv(first_extract / "institutions.csv", dtype=str).set_index("fixmedins_code")
    peer = inst.medins_type + inst.hosp_lv
    honest = cost[~cost.index.isin(bad)].groupby(peer).median()
    infl = [c for c, a in kind.items() if a == "inflated_cost"]
    assert (cost.loc[infl] / honest.loc[peer.loc[infl]].to_numpy()).median() >= 1.5


def test_first_extract_is_deterministic_and_subtle_stays_within_two(first_extract, tmp_path):
    generate(tmp_path / "a", SynthConfig(**FE_CFG))
    for name in sorted(p.name for p in first_extract.iterdir()):
        assert (first_extract / name).read_bytes() == (tmp_path / "a" / name).read_bytes(), name
    generate(tmp_path / "s", SynthConfig(**{**FE_CFG, "strength": "subtle"}))
    ut = pd.read_csv(tmp_path / "s" / "truth_utilization.csv")
    assert ut.ratio.between(1.5, 2.0).all()
    churn = ut[ut.abuse == "readmission_churning"]
    assert np.allclose(churn.churn_share, (churn.ratio - 1) * 0.037, atol=1e-4)
    with pytest.raises(RiskscoreError, match="--intensity"):
        SynthConfig(**{**FE_CFG, "strength": "loud"}).resolved()
    with pytest.raises(RiskscoreError, match="--tables"):
        SynthConfig(**{**FE_CFG, "tables": "some"}).resolved()


def test_utilisation_abuses_on_request_in_a_full_province(tmp_path):
    generate(tmp_path, SynthConfig(**{**CFG, "utilization": True}))
    truth = pd.read_csv(tmp_path / "truth.csv", dtype=str)
    assert set(truth.family) == set(FAMILIES)
    assert (tmp_path / "fee_list_d.parquet").exists()


def test_first_extract_validates_without_quarantine(first_extract):
    from riskscore.io import load_folder

    ds = load_folder(first_extract)
    rep = ds.report()["tables"]
    assert {"mdtrt_d", "setl_d", "setl_list_diag_d", "institutions"} <= set(rep)
    assert "fee_list_d" not in rep and "psn_info_b" not in rep
    for name, r in rep.items():
        assert r["quarantined"] == 0, (name, r["reasons"])

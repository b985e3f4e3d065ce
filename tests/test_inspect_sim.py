"""Simulated inspections: contract layout, determinism, complaints outside the draw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskscore.cli import main
from riskscore.contract import FAMILIES, TABLES
from riskscore.inspect_sim import read_frame, read_truth_outcomes, simulate_inspections

TIER_RATES = {"A": 0.05, "B": 0.12, "C": 0.30, "D": 0.60}
TIER_SHARE = {"A": 0.5, "B": 0.3, "C": 0.15, "D": 0.05}
TIER_PI = {"A": 0.04, "B": 0.10, "C": 0.20, "D": 0.40}


def make_province(root: Path, *, n: int = 600, seed: int = 5) -> tuple[Path, Path, Path]:
    """A small synthetic province: data dir (truth files, credit ratings), scores and a draw.

    Tiers follow a risk score; violation probability rises with the tier; one family score
    (``over_prescription``) carries the signal, another (``zero_markup``) is noise.
    Returns (data_dir, scores_path, draw_dir).
    """
    rng = np.random.default_rng(seed)
    codes = [f"P{i:05d}" for i in range(n)]
    tiers = rng.choice(list(TIER_SHARE), p=list(TIER_SHARE.values()), size=n)
    y = (rng.random(n) < np.array([TIER_RATES[t] for t in tiers])).astype(int)
    amount = np.where(y == 1, np.round(rng.lognormal(10.5, 1.0, n), 2), 0.0)
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"fixmedins_code": codes, "violation_found": y, "improper_amount": amount}).to_csv(
        data / "truth_outcomes.csv", index=False
    )
    fams = list(FAMILIES)
    truth_rows = [(c, fams[i % 3]) for i, c in enumerate(codes) if y[i]]
    pd.DataFrame(truth_rows, columns=["fixmedins_code", "family"]).to_csv(
        data / "truth.csv", index=False
    )
    pd.DataFrame(
        {
            "fixmedins_code": codes[:50],
            "rating": ["C"] * 10 + ["A"] * 40,
            "rating_date": "2024-12-31",
        }
    ).to_csv(data / "credit_ratings.csv", index=False)
    rank = {"A": 0, "B": 1, "C": 2, "D": 3}
    score = np.array([rank[t] for t in tiers]) + rng.random(n)
    scores = pd.DataFrame(
        {"fixmedins_code": codes, "risk_score": score, "tier": tiers, "expected_loss": score * 1000}
    )
    frng = np.random.default_rng([seed, 1])  # family columns: own stream (any number of families)
    for f in fams:
        scores[f] = frng.random(n)
    scores["over_prescription"] = y * 0.5 + rng.random(n) * 0.7
    score_dir = root / "score"
    score_dir.mkdir(exist_ok=True)
    scores.to_csv(score_dir / "scores.csv", index=False)
    # stratified SRS draw (strata = tiers)
    frame = pd.DataFrame({"fixmedins_code": codes, "tier": tiers, "stratum": tiers})
    frame["N_h"] = frame.groupby("stratum")["fixmedins_code"].transform("size")
    frame["n_h"] = [max(2, round(TIER_PI[t] * N)) for t, N in zip(tiers, frame["N_h"], strict=True)]
    frame["pi"] = frame["n_h"] / frame["N_h"]
    frame["selected"] = 0
    for _, part in frame.groupby("stratum"):
        pick = rng.choice(part.index.to_numpy(), size=int(part["n_h"].iloc[0]), replace=False)
        frame.loc[pick, "selected"] = 1
    frame["round"] = "1"
    draw = root / "draw"
    draw.mkdir(exist_ok=True)
    frame.to_csv(draw / "frame.csv", index=False)
    (draw / "manifest.json").write_text('{"policy": {"deadline": "2025-11-30"}}')
    return data, score_dir / "scores.csv", draw


def test_inspect_sim_cli_writes_contract_rows(tmp_path, capsys):
    data, _, draw = make_province(tmp_path)
    out = tmp_path / "res"
    assert (
        main(
            [
                "inspect-sim",
                "--draw",
                str(draw),
                "--data",
                str(data),
                "--out",
                str(out),
                "--seed",
                "3",
                "--complaints",
                "12",
            ]
        )
        == 0
    )
    assert "模拟检查完成" in capsys.readouterr().out
    res = pd.read_csv(out / "results.csv", dtype={"fixmedins_code": str, "draw_round": str})
    assert list(res.columns) == TABLES["inspection_results"].column_names
    frame = read_frame(draw)
    drawn = set(frame.loc[frame["selected"] == 1, "fixmedins_code"])
    d = res[res["origin"] == "draw"]
    c = res[res["origin"] == "complaint"]
    assert set(d["fixmedins_code"]) == drawn and len(d) == len(drawn)
    assert len(c) == 12 and not set(c["fixmedins_code"]) & drawn
    assert res["result_id"].is_unique and (d["draw_round"] == "1").all()
    assert c["draw_round"].isna().all()
    # findings and amounts come from truth_outcomes.csv
    truth = read_truth_outcomes(data).set_index("fixmedins_code")
    merged = res.set_index("fixmedins_code")
    assert (merged["violation_found"] == truth.loc[merged.index, "violation_found"]).all()
    assert np.allclose(merged["improper_amount"], truth.loc[merged.index, "improper_amount"])
    v = res[res["violation_found"] == 1]
    assert (v["recovered_amount"] <= v["improper_amount"] + 1e-9).all()
    assert v["violation_types"].notna().all()
    assert v["rectify_deadline"].notna().all() and v["followup_date"].notna().all()
    assert v["rectify_done_date"].isna().any()  # some rectifications not done
    done = v.dropna(subset=["rectify_done_date"])
    assert (
        pd.to_datetime(done["rectify_done_date"]) > pd.to_datetime(done["rectify_deadline"])
    ).any()  # some late
    assert (pd.to_datetime(res["inspect_date"]) < pd.Timestamp("2025-11-30")).all()
    assert res.loc[res["violation_found"] == 0, "rectify_deadline"].isna().all()
    # complaints favour violators (odds 4): their violation share exceeds the population's
    assert c["violation_found"].mean() > truth["violation_found"].mean()


def test_inspect_sim_is_deterministic(tmp_path):
    data, _, draw = make_province(tmp_path)
    frame = read_frame(draw)
    truth = read_truth_outcomes(data)
    a = simulate_inspections(frame, truth, seed=9, complaints=5)
    b = simulate_inspections(frame, truth, seed=9, complaints=5)
    c = simulate_inspections(frame, truth, seed=10, complaints=5)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_inspect_sim_errors_name_the_file(tmp_path, capsys):
    data, _, draw = make_province(tmp_path)
    (data / "truth_outcomes.csv").unlink()
    assert (
        main(
            ["inspect-sim", "--draw", str(draw), "--data", str(data), "--out", str(tmp_path / "o")]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "truth_outcomes.csv" in err and "Traceback" not in err
    pd.DataFrame({"fixmedins_code": ["x"], "violation_found": [2], "improper_amount": [1]}).to_csv(
        data / "truth_outcomes.csv", index=False
    )
    assert (
        main(
            ["inspect-sim", "--draw", str(draw), "--data", str(data), "--out", str(tmp_path / "o")]
        )
        == 2
    )
    assert "violation_found" in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["pi", "selected"])
def test_inspect_sim_bad_frame(tmp_path, capsys, missing):
    data, _, draw = make_province(tmp_path)
    f = pd.read_csv(draw / "frame.csv", dtype=str).drop(columns=missing)
    f.to_csv(draw / "frame.csv", index=False)
    assert (
        main(
            ["inspect-sim", "--draw", str(draw), "--data", str(data), "--out", str(tmp_path / "o")]
        )
        == 2
    )
    assert f"missing column '{missing}'" in capsys.readouterr().err


def test_inspection_dates_follow_round_window_and_policy_deadline(tmp_path):
    data, _, draw = make_province(tmp_path)
    (draw / "manifest.json").write_text(
        '{"round": {"index": 1, "name": "上半年", "start": "2025-04-01", "end": "2025-06-30"}}'
    )
    (draw / "inputs").mkdir()
    (draw / "inputs" / "policy.yaml").write_text("year: 2025\ndeadline: 2025-12-31\n")
    out = tmp_path / "r"
    assert main(["inspect-sim", "--draw", str(draw), "--data", str(data), "--out", str(out)]) == 0
    res = pd.read_csv(out / "results.csv")
    d = pd.to_datetime(res["inspect_date"])
    assert d.min() >= pd.Timestamp("2025-04-01") and d.max() <= pd.Timestamp("2025-06-30")
    assert res["result_id"].str.startswith(("D1-", "C1-")).all()
    meta = (out / "inspect_sim.json").read_text(encoding="utf-8")
    assert '"deadline": "2025-12-31"' in meta


def test_items_assigned_from_the_item_list(tmp_path):
    data, _, draw = make_province(tmp_path)
    pd.DataFrame(
        {
            "item_id": ["K1", "K2", "G1"],
            "item_name": ["a", "b", "c"],
            "target_type": ["定点医疗机构", "定点零售药店", "定点医疗机构"],
            "content": "x",
            "item_class": ["key", "key", "general"],
            "method": "现场检查",
            "inspecting_body": "医保局",
            "legal_basis": "条例",
        }
    ).to_csv(data / "inspection_items.csv", index=False)
    out = tmp_path / "r"
    assert main(["inspect-sim", "--draw", str(draw), "--data", str(data), "--out", str(out)]) == 0
    res = pd.read_csv(out / "results.csv")
    # no institutions table: every institution gets the non-pharmacy key item
    assert set(res["item_id"]) == {"K1"}

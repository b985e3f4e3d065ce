"""riskscore evaluate: metrics checked against scikit-learn computed independently."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from riskscore.cli import main
from riskscore.errors import RiskscoreError
from riskscore.evaluate import evaluate, read_labels, read_scores


def _fixture(seed: int = 5, n: int = 240):
    rng = np.random.default_rng(seed)
    codes = [f"H{i:05d}" for i in range(n)]
    y = rng.random(n) < 0.25
    fund = rng.lognormal(10, 1.2, n)
    # a score with signal, rounded so that many ties occur; a size-only score
    risk = np.round(np.clip(0.3 + 0.25 * y + rng.normal(0, 0.2, n), 0, 0.99), 2)
    scores = pd.DataFrame(
        {
            "fixmedins_code": codes,
            "risk_score": risk,
            "expected_loss": risk * fund * 0.1,
            "iforest_score": rng.random(n),
            "bed_hanging": np.where(rng.random(n) < 0.6, 0.0, rng.random(n)),
            "fund_paid": fund,
        }
    )
    labels = pd.DataFrame({"fixmedins_code": codes, "label": y.astype(int)})
    return scores, labels


def _precision_at_k(scores, labels, col, k):
    df = scores.merge(labels, on="fixmedins_code")
    df = df.sort_values([col, "fixmedins_code"], ascending=[False, True])
    return df["label"].head(k).mean(), df["label"].head(k).sum() / df["label"].sum()


def test_metrics_match_scikit_learn():
    scores, labels = _fixture()
    res = evaluate(scores, labels, k=[17], n_boot=0)
    y = labels["label"].to_numpy()
    assert res["n"] == 240 and res["positives"] == int(y.sum())
    assert res["k"] == [17, 24]  # the given k and 10 %
    for col in ("risk_score", "expected_loss", "iforest_score", "bed_hanging"):
        m = res["metrics"][col]
        assert m["roc_auc"] == pytest.approx(roc_auc_score(y, scores[col]), abs=1e-12)
        assert m["average_precision"] == pytest.approx(
            average_precision_score(y, scores[col]), abs=1e-12
        )
        for k in (17, 24):
            p, r = _precision_at_k(scores, labels, col, k)
            assert m[f"precision_at_{k}"] == pytest.approx(p)
            assert m[f"recall_at_{k}"] == pytest.approx(r)
            assert m[f"lift_at_{k}"] == pytest.approx(p / y.mean())


def test_within_size_deciles_and_row_order():
    scores, labels = _fixture(7)
    res = evaluate(scores, labels, by_size=True, n_boot=0)
    bs = res["metrics"]["expected_loss"]["by_size"]
    assert len(bs["deciles"]) == 10 and sum(d["n"] for d in bs["deciles"]) == 240
    # independent: deciles of fund_paid by rank, AUC inside each, positive-weighted mean
    df = scores.merge(labels, on="fixmedins_code")
    df["dec"] = pd.qcut(df["fund_paid"].rank(method="first"), 10, labels=False)
    aucs, w = [], []
    for _, g in df.groupby("dec"):
        if 0 < g["label"].sum() < len(g):
            aucs.append(roc_auc_score(g["label"], g["expected_loss"]))
            w.append(g["label"].sum())
    assert bs["within_size_deciles_roc_auc"] == pytest.approx(np.average(aucs, weights=w))
    shuffled = evaluate(
        scores.sample(frac=1, random_state=1), labels.sample(frac=1, random_state=2), n_boot=0
    )
    assert shuffled["metrics"] == evaluate(scores, labels, n_boot=0)["metrics"]


def test_bootstrap_intervals_are_seeded_and_cover_the_estimate():
    scores, labels = _fixture(9)
    a = evaluate(scores, labels, n_boot=200, seed=3)
    b = evaluate(scores, labels, n_boot=200, seed=3)
    c = evaluate(scores, labels, n_boot=200, seed=4)
    m = a["metrics"]["risk_score"]
    assert a == b and a["metrics"]["risk_score"]["ci"] != c["metrics"]["risk_score"]["ci"]
    lo, hi = m["ci"]["roc_auc"]
    assert lo < m["roc_auc"] < hi and hi - lo < 0.3


def test_cli_with_results_csv(tmp_path):
    scores, labels = _fixture(11)
    scores.to_csv(tmp_path / "scores.csv", index=False)
    # results.csv of an earlier year: several rows per institution, violation_found
    res = pd.DataFrame(
        {
            "result_id": range(2 * len(labels)),
            "fixmedins_code": list(labels["fixmedins_code"]) * 2,
            "violation_found": list(labels["label"]) + [0] * len(labels),
            "improper_amount": [100.0] * len(labels) * 2,
        }
    )
    res.to_csv(tmp_path / "results.csv", index=False)
    lab = read_labels(tmp_path / "results.csv")
    assert list(lab["label"]) == list(labels["label"]) and (lab["amount"] == 200).all()
    out = tmp_path / "ev"
    rc = main(
        [
            "evaluate",
            "--scores",
            str(tmp_path / "scores.csv"),
            "--labels",
            str(tmp_path / "results.csv"),
            "--by-size",
            "--k",
            "30",
            "--bootstrap",
            "50",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    got = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    y = labels["label"]
    assert got["metrics"]["risk_score"]["roc_auc"] == pytest.approx(
        roc_auc_score(y, scores["risk_score"])
    )
    table = pd.read_csv(out / "evaluation.csv", encoding="utf-8-sig")
    assert {"column", "metric", "value", "ci_low", "ci_high"} <= set(table.columns)


def test_bad_labels_are_one_line_errors(tmp_path, capsys):
    scores, _ = _fixture()
    scores.to_csv(tmp_path / "scores.csv", index=False)
    (tmp_path / "bad.csv").write_text("fixmedins_code,label\nH00001,maybe\n", encoding="utf-8")
    with pytest.raises(RiskscoreError, match="column label must be 0/1"):
        read_labels(tmp_path / "bad.csv")
    (tmp_path / "nolabel.csv").write_text("fixmedins_code,x\nH00001,1\n", encoding="utf-8")
    rc = main(
        [
            "evaluate",
            "--scores",
            str(tmp_path / "scores.csv"),
            "--labels",
            str(tmp_path / "nolabel.csv"),
        ]
    )
    assert rc == 2 and "label" in capsys.readouterr().err
    (tmp_path / "other.csv").write_text("fixmedins_code,label\nZZZ,1\n", encoding="utf-8")
    with pytest.raises(RiskscoreError, match="no institution"):
        evaluate(read_scores(tmp_path / "scores.csv"), read_labels(tmp_path / "other.csv"))

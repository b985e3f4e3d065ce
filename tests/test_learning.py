"""Learning loop: an IPW refit on year 1's findings raises year 2's hit rate when the
original composite dilutes a known signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskscore.contract import FAMILIES
from riskscore.errors import RiskscoreError
from riskscore.learning import (
    IPWRefit,
    compare_hit_rates,
    learning_comparison,
    tier_probabilities,
)

FAMS = list(FAMILIES)[:6]


def synthetic_year(seed: int, n: int = 3000):
    """Six family scores; only the first two carry the violation signal. The original
    composite weighs all six equally (the signal is diluted)."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, len(FAMS)))
    logit = -2.6 + 1.4 * F[:, 0] + 1.0 * F[:, 1]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    scores = pd.DataFrame(F, columns=FAMS)
    scores.insert(0, "fixmedins_code", [f"Y{seed}-{i:05d}" for i in range(n)])
    scores["risk_score"] = F.mean(axis=1)
    truth = pd.DataFrame({"fixmedins_code": scores["fixmedins_code"], "violation_found": y})
    return scores, truth


def draw_year(scores: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Tiered stratified draw on the original score (default policy probabilities)."""
    rng = np.random.default_rng(seed)
    pi = tier_probabilities(scores["risk_score"])
    frame = pd.DataFrame({"fixmedins_code": scores["fixmedins_code"], "pi": pi})
    frame["selected"] = 0
    for p, part in frame.groupby("pi"):
        k = int(round(p * len(part)))
        frame.loc[rng.choice(part.index.to_numpy(), k, replace=False), "selected"] = 1
    return frame


def test_ipw_refit_raises_later_years_hit_rate():
    s1, t1 = synthetic_year(1)
    frame = draw_year(s1, 7)
    sel = frame[frame["selected"] == 1]
    results = pd.DataFrame(
        {
            "fixmedins_code": sel["fixmedins_code"],
            "origin": "draw",
            "violation_found": t1.set_index("fixmedins_code")
            .loc[sel["fixmedins_code"], "violation_found"]
            .to_numpy(),
        }
    )
    # a complaint row with a finding must not enter the training set
    results = pd.concat(
        [
            results,
            pd.DataFrame(
                {
                    "fixmedins_code": [s1["fixmedins_code"][0]],
                    "origin": ["complaint"],
                    "violation_found": [1],
                }
            ),
        ]
    )
    s2, t2 = synthetic_year(2)
    table, model = learning_comparison(s1, frame, results, s2, t2)
    t = table.set_index(["model", "selection"])
    orig = t.loc[("original", "tiered_draw"), "hit_rate"]
    refit = t.loc[("ipw_refit", "tiered_draw"), "hit_rate"]
    # the refit recovers the diluted signal: clearly higher hit rate on the new year
    assert refit > orig + 0.02
    assert t.loc[("ipw_refit", "top_n"), "hit_rate"] > t.loc[("original", "top_n"), "hit_rate"]
    assert t.loc[("ipw_refit", "tiered_draw"), "lift_vs_uniform"] > 1.5
    # keeping the original score as a feature does not lose against the original either
    assert t.loc[("ipw_refit_with_score", "tiered_draw"), "hit_rate"] >= orig - 0.01
    assert table.attrs["n_train"] == len(sel)
    # the learned weights put most of the mass on the two signal families
    assert model.weights_[FAMS[:2]].sum() > 0.8
    assert set(model.features_) == set(FAMS)


def test_compare_hit_rates_exact_expectation():
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 1])
    perfect = y + np.linspace(0, 0.1, 10)
    table = compare_hit_rates(
        {"perfect": perfect, "reverse": -perfect},
        y,
        quantiles={"B": 0.5, "C": 0.6, "D": 0.7},
        probabilities={"A": 0.1, "B": 0.2, "C": 0.3, "D": 1.0},
    ).set_index(["model", "selection"])
    pi = np.array([0.1, 0.2, 0.3, 1.0])
    assert table.loc[("perfect", "tiered_draw"), "expected_findings"] == pytest.approx(3 * 1.0)
    assert table.loc[("reverse", "tiered_draw"), "expected_findings"] == pytest.approx(3 * 0.1)
    assert table.loc[("perfect", "tiered_draw"), "n"] == pytest.approx(
        5 * pi[0] + pi[1] + pi[2] + 3 * pi[3]
    )
    assert table.loc[("uniform", "uniform"), "hit_rate"] == pytest.approx(0.3)


def test_refit_follows_sklearn_conventions_and_errors():
    s1, t1 = synthetic_year(3, n=400)
    m = IPWRefit(C=0.5)
    assert m.get_params()["C"] == 0.5 and not hasattr(m, "coef_")
    assert m.fit(s1, t1["violation_found"], sample_weight=np.ones(400)) is m
    p = m.predict_proba(s1)
    assert p.shape == (400, 2) and np.allclose(p.sum(axis=1), 1)
    assert np.corrcoef(m.score_samples(s1), s1[FAMS[0]])[0, 1] > 0.3
    with pytest.raises(RiskscoreError, match="both violations"):
        IPWRefit().fit(s1, np.zeros(400))
    with pytest.raises(RiskscoreError, match="family score"):
        IPWRefit().fit(s1[["fixmedins_code"]], t1["violation_found"])

"""Learning loop (学习闭环): refit the score from the findings with inverse-probability weights.

The institutions inspected by a risk-targeted draw are not a random sample: high-score
institutions are over-represented. Weighting every inspected institution by ``1/π_i`` (its
inverse inclusion probability, 入样概率倒数) makes the training sample represent the whole
frame, so the refitted model targets the province's relation between family scores and
findings rather than the relation among the already-targeted.

:class:`IPWRefit` is a logistic regression of ``violation_found`` on the family scores with
sample weights ``1/π``; its ``weights_`` (non-negative coefficients, normalised) can replace
the composite's family weights, and ``score_samples`` ranks institutions (higher = more
anomalous). :func:`compare_hit_rates` shows, on a later synthetic year, whether the refit
would raise the hit rate of a draw of the same size: for a top-n selection and for the
policy's tiered stratified draw (expected findings ``Σ π_i y_i``, exact, no draw noise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from riskscore.contract import FAMILIES
from riskscore.errors import RiskscoreError

DEFAULT_TIER_QUANTILES = {"B": 0.50, "C": 0.80, "D": 0.95}
"""Tier cut points on the score distribution (shipped default policy, seed 000)."""
DEFAULT_TIER_PROBABILITIES = {"A": 0.04, "B": 0.10, "C": 0.20, "D": 0.40}
"""Inclusion probability per tier (shipped default policy, seed 000)."""


class IPWRefit(BaseEstimator):
    """Inverse-probability-weighted logistic refit of the family weights (IPW 重估权重).

    Parameters
    ----------
    features : list of str, optional
        Score columns to use; default: every family id of :data:`riskscore.contract.FAMILIES`
        present in ``X``.
    C : float, default 1.0
        Inverse L2 regularisation strength of the logistic regression.
    ipw : bool, default True
        Use the ``sample_weight`` passed to ``fit`` (``1/π``); ``False`` ignores it (the
        unweighted refit, for comparison).
    max_iter : int, default 1000

    Attributes
    ----------
    features_ : list of str
    fill_ : dict
        Median used for missing family scores (family not applicable).
    mean_, scale_ : ndarray
        Standardisation of the features.
    coef_ : ndarray
        Logistic coefficients on the standardised features.
    intercept_ : float
    weights_ : pandas.Series
        Non-negative, normalised coefficients per feature: candidate composite weights.
    """

    def __init__(self, features=None, C: float = 1.0, ipw: bool = True, max_iter: int = 1000):
        self.features = features
        self.C = C
        self.ipw = ipw
        self.max_iter = max_iter

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        M = X[self.features_].apply(pd.to_numeric, errors="coerce")
        M = M.fillna(self.fill_).to_numpy(float)
        return (M - self.mean_) / self.scale_

    def fit(self, X: pd.DataFrame, y, sample_weight=None) -> IPWRefit:
        """Fit on the inspected institutions.

        Parameters
        ----------
        X : DataFrame
            Family scores of the inspected (draw-origin) institutions.
        y : array of 0/1
            violation_found.
        sample_weight : array, optional
            ``1/π`` of every institution.
        """
        feats = (
            list(self.features)
            if self.features is not None
            else [f for f in FAMILIES if f in X.columns]
        )
        if not feats:
            raise RiskscoreError(
                "learning: no family score column found; expected columns "
                "named after the family ids (riskscore.contract.FAMILIES)"
            )
        missing = [f for f in feats if f not in X.columns]
        if missing:
            raise RiskscoreError(f"learning: score column {missing[0]!r} missing")
        y = np.asarray(y, dtype=int)
        if len(np.unique(y)) < 2:
            raise RiskscoreError(
                "learning: findings need both violations and clean inspections to refit the weights"
            )
        raw = X[feats].apply(pd.to_numeric, errors="coerce")
        self.features_ = feats
        med = raw.median()
        self.fill_ = med.fillna(0.0).to_dict()
        M = raw.fillna(self.fill_).to_numpy(float)
        self.mean_ = M.mean(axis=0)
        sd = M.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        w = None
        if self.ipw and sample_weight is not None:
            w = np.asarray(sample_weight, dtype=float)
            w = w * len(w) / w.sum()
        model = LogisticRegression(C=self.C, max_iter=self.max_iter)
        model.fit((M - self.mean_) / self.scale_, y, sample_weight=w)
        self.coef_ = model.coef_[0]
        self.intercept_ = float(model.intercept_[0])
        pos = np.clip(self.coef_ / self.scale_, 0, None)
        total = pos.sum()
        self.weights_ = pd.Series(
            pos / total if total > 0 else np.full(len(feats), 1 / len(feats)),
            index=feats,
            name="weight",
        )
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Linear predictor (log-odds of a finding)."""
        return self._matrix(X) @ self.coef_ + self.intercept_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities of (clean, violation) per institution."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """Refitted risk score (higher = more anomalous): the predicted violation probability."""
        return self.predict_proba(X)[:, 1]


def training_table(
    scores: pd.DataFrame, frame: pd.DataFrame, results: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Inspected draw institutions with their scores, findings and weights ``1/π``.

    Only ``origin == "draw"`` results of institutions selected in the frame are used.

    Returns
    -------
    X : DataFrame
        Score rows of the inspected institutions.
    y : ndarray
        violation_found (any item of the institution).
    w : ndarray
        ``1/π``.
    """
    from riskscore.estimate import split_by_origin

    draw, _ = split_by_origin(results)
    draw = draw.assign(
        violation_found=pd.to_numeric(draw["violation_found"], errors="coerce")
        .fillna(0)
        .astype(int)
    )
    y = draw.groupby("fixmedins_code")["violation_found"].max()
    sel = frame[frame["selected"] == 1].set_index("fixmedins_code")
    codes = y.index.intersection(sel.index)
    if not len(codes):
        raise RiskscoreError("learning: no draw result matches a selected institution of the frame")
    s = scores.drop_duplicates("fixmedins_code").set_index("fixmedins_code")
    missing = codes.difference(s.index)
    if len(missing):
        raise RiskscoreError(f"scores.csv: inspected institution {missing[0]!r} has no score row")
    X = s.loc[codes].reset_index()
    return X, y.loc[codes].to_numpy(int), 1.0 / sel.loc[codes, "pi"].to_numpy(float)


def tier_probabilities(
    score, *, quantiles: dict | None = None, probabilities: dict | None = None
) -> np.ndarray:
    """Inclusion probability of every institution under a tiered draw on ``score``.

    Tiers are cut at score ``quantiles`` (A below the B cut, …) and each tier gets its
    ``probabilities`` value (defaults: the shipped default policy).
    """
    q = quantiles or DEFAULT_TIER_QUANTILES
    p = probabilities or DEFAULT_TIER_PROBABILITIES
    s = pd.Series(np.asarray(score, dtype=float))
    rank = s.rank(method="first", pct=True).to_numpy()
    out = np.full(len(s), p["A"], dtype=float)
    for tier in ("B", "C", "D"):
        out[rank > q[tier]] = p[tier]
    return out


def compare_hit_rates(
    scores_by_model: dict[str, np.ndarray],
    y_true,
    *,
    n: int | None = None,
    quantiles: dict | None = None,
    probabilities: dict | None = None,
) -> pd.DataFrame:
    """Hit rates of draws driven by each score on a (later) year with known outcomes.

    Parameters
    ----------
    scores_by_model : dict name -> array
        Risk score of every institution of the later year under each model.
    y_true : array of 0/1
        What an inspection of every institution would find (truth_outcomes.csv).
    n : int, optional
        Size of the top-n selection; default: the expected size of the tiered draw.
    quantiles, probabilities : dict, optional
        Tier cut points and tier inclusion probabilities (default policy).

    Returns
    -------
    DataFrame
        ``model, selection, n, expected_findings, hit_rate, lift_vs_uniform`` for the tiered
        stratified draw (exact expectation ``Σ π_i y_i``) and for the top-n selection; a
        ``uniform`` row gives the baseline.
    """
    y = np.asarray(y_true, dtype=float)
    base = float(y.mean())
    rows = []
    n_tiered = None
    for name, score in scores_by_model.items():
        score = np.asarray(score, dtype=float)
        if score.shape != y.shape:
            raise RiskscoreError(
                f"learning: score of model {name!r} has {score.shape[0]} values, "
                f"outcomes {y.shape[0]}"
            )
        pi = tier_probabilities(score, quantiles=quantiles, probabilities=probabilities)
        exp_n = float(pi.sum())
        n_tiered = exp_n
        hits = float(np.sum(pi * y))
        rows.append(
            {
                "model": name,
                "selection": "tiered_draw",
                "n": exp_n,
                "expected_findings": hits,
                "hit_rate": hits / exp_n,
                "lift_vs_uniform": hits / exp_n / base if base > 0 else np.nan,
            }
        )
    k = int(round(n if n is not None else (n_tiered or 0)))
    for name, score in scores_by_model.items():
        order = np.argsort(-np.asarray(score, dtype=float), kind="stable")[:k]
        hits = float(y[order].sum())
        rows.append(
            {
                "model": name,
                "selection": "top_n",
                "n": float(k),
                "expected_findings": hits,
                "hit_rate": hits / k if k else np.nan,
                "lift_vs_uniform": hits / k / base if k and base > 0 else np.nan,
            }
        )
    rows.append(
        {
            "model": "uniform",
            "selection": "uniform",
            "n": float(k),
            "expected_findings": base * k,
            "hit_rate": base,
            "lift_vs_uniform": 1.0,
        }
    )
    return pd.DataFrame(rows)


def learning_comparison(
    scores_year1: pd.DataFrame,
    frame_year1: pd.DataFrame,
    results_year1: pd.DataFrame,
    scores_year2: pd.DataFrame,
    truth_year2: pd.DataFrame,
    *,
    C: float = 1.0,
) -> tuple[pd.DataFrame, IPWRefit]:
    """Refit on year 1's findings, compare the hit rates on year 2 (学习效果对比).

    Parameters
    ----------
    scores_year1, scores_year2 : DataFrame
        ``scores.csv`` of both years (fixmedins_code, risk_score, family columns).
    frame_year1 : DataFrame or list of DataFrame
        Year 1 draw frame (``pi``, ``selected``), or one frame per round (results are then
        matched on ``draw_round``; an institution inspected in two rounds counts twice,
        each time with its round's weight).
    results_year1 : DataFrame
        Year 1 inspection results (only draw rows are used).
    truth_year2 : DataFrame
        Year 2 ``truth_outcomes.csv`` (fixmedins_code, violation_found).

    Returns
    -------
    table : DataFrame
        :func:`compare_hit_rates` on year 2 for the original score, the IPW refit on the family
        scores (``ipw_refit``, whose ``weights_`` are candidate family weights), the same
        without weights (``unweighted_refit``) and an IPW refit that also keeps the original
        ``risk_score`` as a feature (``ipw_refit_with_score``: corrects the composite rather
        than replacing it). Adopt a refit only when it beats ``original`` here.
    model : IPWRefit
        The IPW refit.
    """
    frames = frame_year1 if isinstance(frame_year1, (list, tuple)) else [frame_year1]
    parts = []
    for fr in frames:
        res = results_year1
        if len(frames) > 1 and "round" in fr.columns and "draw_round" in res.columns:
            r = str(fr["round"].iloc[0])
            res = res[res["draw_round"].astype("string").fillna("") == r]
        parts.append(training_table(scores_year1, fr, res))
    X = pd.concat([p[0] for p in parts], ignore_index=True)
    y = np.concatenate([p[1] for p in parts])
    w = np.concatenate([p[2] for p in parts])
    ipw = IPWRefit(C=C).fit(X, y, sample_weight=w)
    plain = IPWRefit(C=C, ipw=False).fit(X, y)
    models = {}
    if "risk_score" in X.columns:
        with_score = IPWRefit(features=["risk_score", *ipw.features_], C=C)
        models["ipw_refit_with_score"] = with_score.fit(X, y, sample_weight=w)
    t2 = truth_year2.set_index("fixmedins_code")
    s2 = scores_year2.drop_duplicates("fixmedins_code")
    s2 = s2[s2["fixmedins_code"].isin(t2.index)].reset_index(drop=True)
    if s2.empty:
        raise RiskscoreError("learning: no institution of year 2's scores has a truth row")
    y2 = pd.to_numeric(t2.loc[s2["fixmedins_code"], "violation_found"]).to_numpy(int)
    table = compare_hit_rates(
        {
            "original": pd.to_numeric(s2["risk_score"], errors="coerce").fillna(0).to_numpy(),
            "ipw_refit": ipw.score_samples(s2),
            "unweighted_refit": plain.score_samples(s2),
            **{k: m.score_samples(s2) for k, m in models.items()},
        },
        y2,
    )
    table.attrs["n_train"] = int(len(y))
    table.attrs["findings_train"] = int(np.sum(y))
    return table, ipw


def learning_comparison_files(
    score1: Path, draw1, results1: Path, score2: Path, data2: Path
) -> tuple[pd.DataFrame, IPWRefit]:
    """:func:`learning_comparison` from files (scores.csv, DRAW_DIR or a list of them,
    results.csv, scores.csv and the year-2 synthetic data folder with truth_outcomes.csv)."""
    from riskscore.analyze import load_results, read_scores
    from riskscore.inspect_sim import read_frame, read_truth_outcomes

    results, _, _ = load_results(results1)
    return learning_comparison(
        read_scores(score1),
        [read_frame(d) for d in draw1] if isinstance(draw1, (list, tuple)) else read_frame(draw1),
        results,
        read_scores(score2),
        read_truth_outcomes(data2),
    )

"""How well do the scores rank institutions found with violations? (评分效果检验)

``riskscore evaluate`` compares ``scores.csv`` with past findings: an earlier year's
``results.csv`` (``fixmedins_code, violation_found, improper_amount``) or any table
``fixmedins_code, label[, amount]``. For ``risk_score``, ``expected_loss``, ``iforest_score``
and each family column it computes

* ROC-AUC (ties count one half) and average precision (scikit-learn's step-wise definition);
* precision and recall at k — the k highest scores, ties broken by code so the result does
  not depend on row order — for k = the plan's sample size (when given) and 10 % of the
  labelled institutions; lift at k = precision at k / share of positives;
* with ``by_size``: the ROC-AUC within deciles of ``fund_paid`` (does the score only find big
  institutions?) and their positive-weighted mean;
* percentile bootstrap intervals (institutions resampled with replacement, seeded) for
  ROC-AUC, average precision and precision at k.

Only institutions present in both files are evaluated; the counts of the others are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from riskscore.contract import FAMILIES
from riskscore.errors import RiskscoreError

SCORE_COLUMNS = ("risk_score", "expected_loss", "iforest_score", *FAMILIES)
"""Columns of ``scores.csv`` evaluated when present (in this order)."""

_TRUE = {"1", "1.0", "true", "t", "yes", "y", "是", "违规", "有"}
_FALSE = {"0", "0.0", "false", "f", "no", "n", "否", "未违规", "无", ""}


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise RiskscoreError(f"{path}: file not found; expected {what}")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise RiskscoreError(f"{path}: cannot read as CSV ({exc}); expected {what}") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    if "fixmedins_code" not in df.columns:
        raise RiskscoreError(f"{path}: column fixmedins_code missing; expected {what}")
    df["fixmedins_code"] = df["fixmedins_code"].str.strip().str.lstrip("'")
    return df


def read_labels(path: str | Path) -> pd.DataFrame:
    """Read past findings: ``results.csv`` or ``fixmedins_code, label[, amount]``.

    Several rows per institution (rounds, items) are combined: label = any violation,
    amount = sum.

    Returns
    -------
    pandas.DataFrame
        ``fixmedins_code, label`` (0/1) and ``amount`` (NaN when the file has none).

    Raises
    ------
    RiskscoreError
        When the file, the code column or a label column is missing or a label is not 0/1.
    """
    path = Path(path)
    what = "fixmedins_code,label[,amount] or results.csv (violation_found, improper_amount)"
    df = _read_csv(path, what)
    label_col = next((c for c in ("label", "violation_found") if c in df.columns), None)
    if label_col is None:
        raise RiskscoreError(f"{path}: column label (or violation_found) missing; expected {what}")
    raw = df[label_col].str.strip().str.lower()
    bad = sorted(set(raw) - _TRUE - _FALSE)
    if bad:
        raise RiskscoreError(
            f"{path}: column {label_col} must be 0/1 (or true/false, 是/否), got "
            + ", ".join(map(repr, bad[:5]))
        )
    out = pd.DataFrame({"fixmedins_code": df["fixmedins_code"], "label": raw.isin(_TRUE)})
    amount_col = next((c for c in ("amount", "improper_amount") if c in df.columns), None)
    if amount_col is not None:
        amt = pd.to_numeric(df[amount_col].replace("", np.nan), errors="coerce")
        if amt.isna().any() and (df[amount_col].str.strip() != "").any():
            bad_amt = df.loc[amt.isna() & (df[amount_col].str.strip() != ""), amount_col]
            if len(bad_amt):
                raise RiskscoreError(
                    f"{path}: column {amount_col} must be a number, got {bad_amt.iloc[0]!r}"
                )
        out["amount"] = amt.fillna(0.0)
    else:
        out["amount"] = np.nan
    out = out[out["fixmedins_code"] != ""]
    g = out.groupby("fixmedins_code", sort=True)
    res = pd.DataFrame({"label": g["label"].max().astype(int), "amount": g["amount"].sum()})
    if amount_col is None:
        res["amount"] = np.nan
    return res.reset_index()


def read_scores(path: str | Path) -> pd.DataFrame:
    """Read ``scores.csv`` (``fixmedins_code`` and the score columns present)."""
    path = Path(path)
    df = _read_csv(path, "scores.csv from riskscore score")
    cols = [c for c in (*SCORE_COLUMNS, "fund_paid") if c in df.columns]
    if "risk_score" not in cols:
        raise RiskscoreError(f"{path}: column risk_score missing; expected scores.csv")
    for c in cols:
        v = pd.to_numeric(df[c].replace("", np.nan), errors="coerce")
        if v.isna().any():
            raise RiskscoreError(f"{path}: column {c} must be numeric (empty or text found)")
        df[c] = v.astype(float)
    if df["fixmedins_code"].duplicated().any():
        raise RiskscoreError(f"{path}: column fixmedins_code must be unique")
    return df[["fixmedins_code", *cols]]


def top_k(score: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` highest scores (ties: smaller code first)."""
    order = np.lexsort((np.asarray(codes).astype(str), -np.asarray(score, float)))
    mask = np.zeros(len(score), dtype=bool)
    mask[order[: int(k)]] = True
    return mask


def roc_auc(y: np.ndarray, s: np.ndarray) -> float | None:
    """ROC-AUC by the rank-sum (Mann–Whitney) formula, ties count one half."""
    y = np.asarray(y, bool)
    p = int(y.sum())
    q = len(y) - p
    if p == 0 or q == 0:
        return None
    r = rankdata(s)
    return float((r[y].sum() - p * (p + 1) / 2) / (p * q))


def average_precision(y: np.ndarray, s: np.ndarray) -> float | None:
    """Average precision ``Σ (R_t − R_{t−1}) P_t`` over the distinct score thresholds."""
    y = np.asarray(y, float)
    p = y.sum()
    if p == 0:
        return None
    order = np.argsort(-np.asarray(s, float), kind="mergesort")
    ss, ys = np.asarray(s, float)[order], y[order]
    tp = np.cumsum(ys)
    last = np.r_[np.nonzero(np.diff(ss))[0], len(ss) - 1]
    prec = tp[last] / (last + 1)
    rec = tp[last] / p
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))


def _point(y: np.ndarray, s: np.ndarray, codes: np.ndarray, ks: Sequence[int]) -> dict:
    res = {"roc_auc": roc_auc(y, s), "average_precision": average_precision(y, s)}
    prev = y.mean() if len(y) else 0.0
    for k in ks:
        m = top_k(s, codes, k)
        hits = int(y[m].sum())
        p = hits / k if k else None
        res[f"precision_at_{k}"] = p
        res[f"recall_at_{k}"] = hits / y.sum() if y.sum() else None
        res[f"lift_at_{k}"] = p / prev if (p is not None and prev > 0) else None
    return res


def _size_auc(y: np.ndarray, s: np.ndarray, size: np.ndarray, n_bins: int = 10) -> dict:
    ranks = pd.Series(size).rank(method="first").to_numpy()
    bins = np.minimum((ranks - 1) * n_bins // len(ranks), n_bins - 1).astype(int)
    per, weights = [], []
    for b in range(n_bins):
        m = bins == b
        yb = y[m]
        auc = roc_auc(yb, s[m])
        per.append({"decile": b + 1, "n": int(m.sum()), "positives": int(yb.sum()), "roc_auc": auc})
        if auc is not None:
            weights.append((auc, int(yb.sum())))
    mean = float(sum(a * w for a, w in weights) / sum(w for _, w in weights)) if weights else None
    return {"within_size_deciles_roc_auc": mean, "deciles": per}


def evaluate(
    scores: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    k: Sequence[int] | int | None = None,
    by_size: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Ranking quality of score columns against labels (see the module docstring).

    Parameters
    ----------
    scores : pandas.DataFrame
        ``fixmedins_code`` and score columns (``read_scores``).
    labels : pandas.DataFrame
        ``fixmedins_code, label`` (0/1) (``read_labels``).
    columns : sequence of str, optional
        Columns to evaluate; default: those of :data:`SCORE_COLUMNS` present and not constant.
    k : int or sequence of int, optional
        Sample sizes for precision/recall at k (e.g. the plan's); 10 % of the labelled
        institutions (at least 1) is always added.
    by_size : bool
        Also the ROC-AUC within deciles of ``fund_paid`` (needs that column).
    n_boot : int
        Bootstrap replicates (0 = no intervals).
    seed : int
        Seed of the bootstrap (``numpy.random.default_rng``).
    level : float
        Coverage of the percentile intervals.

    Returns
    -------
    dict
        ``n``, ``positives``, ``prevalence``, ``unmatched_scores``, ``unmatched_labels``,
        ``k`` and ``metrics``: ``{column: {metric: value, "ci": {metric: [lo, hi]},
        "by_size": ...}}``.
    """
    sc = scores.copy()
    sc["fixmedins_code"] = sc["fixmedins_code"].astype(str)
    lb = labels.copy()
    lb["fixmedins_code"] = lb["fixmedins_code"].astype(str)
    df = sc.merge(lb[["fixmedins_code", "label"]], on="fixmedins_code", how="inner")
    df = df.sort_values("fixmedins_code", kind="mergesort").reset_index(drop=True)
    n = len(df)
    if n == 0:
        raise RiskscoreError(
            "evaluate: no institution is both in the scores and in the labels "
            "(compare the fixmedins_code columns)"
        )
    y = df["label"].to_numpy(int)
    codes = df["fixmedins_code"].to_numpy()
    if columns is None:
        columns = [c for c in SCORE_COLUMNS if c in df.columns and df[c].nunique() > 1]
        if "risk_score" in df.columns and "risk_score" not in columns:
            columns = ["risk_score", *columns]
    ks = [] if k is None else ([int(k)] if np.isscalar(k) else [int(x) for x in k])
    ks = sorted({min(max(1, x), n) for x in ks} | {max(1, int(round(0.1 * n)))})
    if by_size and "fund_paid" not in df.columns:
        raise RiskscoreError("evaluate: --by-size needs the column fund_paid in scores.csv")
    rng = np.random.default_rng(seed)
    boot_idx = [rng.integers(0, n, n) for _ in range(int(n_boot))]
    alpha = (1.0 - level) / 2
    metrics = {}
    for c in columns:
        s = df[c].to_numpy(float)
        m = _point(y, s, codes, ks)
        if boot_idx:
            reps: dict[str, list] = {}
            for idx in boot_idx:
                r = _point(y[idx], s[idx], codes[idx], ks)
                for key, v in r.items():
                    if v is not None and (key.startswith(("roc", "average", "precision"))):
                        reps.setdefault(key, []).append(v)
            m["ci"] = {
                key: [float(np.quantile(v, alpha)), float(np.quantile(v, 1 - alpha))]
                for key, v in reps.items()
            }
        if by_size:
            m["by_size"] = _size_auc(y, s, df["fund_paid"].to_numpy(float))
        metrics[c] = m
    return {
        "n": int(n),
        "positives": int(y.sum()),
        "prevalence": float(y.mean()),
        "unmatched_scores": int((~sc["fixmedins_code"].isin(lb["fixmedins_code"])).sum()),
        "unmatched_labels": int((~lb["fixmedins_code"].isin(sc["fixmedins_code"])).sum()),
        "k": ks,
        "n_boot": int(n_boot),
        "seed": int(seed),
        "level": level,
        "metrics": metrics,
    }


def evaluation_table(result: dict) -> pd.DataFrame:
    """One row per score column and metric: ``column, metric, value, ci_low, ci_high``."""
    rows = []
    for col, m in result["metrics"].items():
        ci = m.get("ci", {})
        for key, v in m.items():
            if key in ("ci", "by_size"):
                continue
            lo, hi = ci.get(key, [None, None])
            rows.append((col, key, v, lo, hi))
        if "by_size" in m:
            rows.append(
                (col, "within_size_deciles_roc_auc", m["by_size"]["within_size_deciles_roc_auc"])
                + (None, None)
            )
    return pd.DataFrame(rows, columns=["column", "metric", "value", "ci_low", "ci_high"])


def plan_sample_size(plan_dir: str | Path) -> int:
    """Planned inspections of a plan folder (``plan.json``: ``floor.planned_inspections``)."""
    import json

    p = Path(plan_dir) / "plan.json"
    if not p.is_file():
        raise RiskscoreError(f"{p}: file not found; expected a plan folder from riskscore plan")
    summary = json.loads(p.read_text(encoding="utf-8"))
    try:
        return int(summary["floor"]["planned_inspections"])
    except (KeyError, TypeError, ValueError):
        raise RiskscoreError(f"{p}: floor.planned_inspections missing") from None

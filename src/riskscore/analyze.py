"""Post-inspection analysis (抽查结果分析): ``riskscore analyze``.

Reads the draw (``DRAW_DIR/frame.csv``), the inspection results (contract table
``inspection_results``) and optionally the scores, and writes

``estimates.csv``              scope, measure, estimate, ci_low, ci_high, se, n, note
``hit_rate_by_tier.csv``       findings and estimated violation rate per tier
``indicator_precision.csv``    precision of each family score / indicator flag (with --scores)
``calibration.csv``            risk-score deciles vs IPW-weighted observed rate (with --scores)
``rectification_tracker.csv``  overdue rectifications, follow-ups due, referrals
``next_year_credit.csv``       next year's credit rating A–D with the rule applied
``analysis.json``              inputs, counts and the set-aside accounting

Only ``origin == "draw"`` inspections of institutions selected in the frame enter the
estimators; every other row is counted in ``estimates.csv`` (measure ``excluded_*``).
Several result rows of one institution (one per inspection item) are combined: violation
found if any row found one, amounts summed.

When ``frame.csv`` lists an institution once per round (several independent rounds), each
round is estimated on its own (scope ``round:<r>``) and the overall rows combine the rounds
with fixed weights ``n_r / n`` (variance ``Σ (n_r/n)² v_r``, rounds treated as independent).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.contract import FAMILIES, TABLES
from riskscore.errors import RiskscoreError
from riskscore.estimate import (
    Estimate,
    check_frame,
    domain_total,
    hajek_rate,
    ht_rate,
    ht_total,
    interval,
    lift_vs_uniform,
    naive_rate,
    pool_cells,
    sample_from_frame,
    split_by_origin,
)
from riskscore.inspect_sim import read_csv_text
from riskscore.tracking import CreditRule, next_year_credit, rectification_tracker

ESTIMATE_COLUMNS = [
    "scope",
    "measure",
    "estimate",
    "ci_low",
    "ci_high",
    "se",
    "n",
    "note",
    "method",
]


# ---------------------------------------------------------------------------- inputs
def load_results(path: str | Path) -> tuple[pd.DataFrame, int, dict]:
    """Load an ``inspection_results`` file with the contract loader.

    Returns
    -------
    data : DataFrame
        Accepted rows (contract dtypes).
    quarantined : int
        Rows refused by the contract checks (reported, never used).
    reasons : dict
        Quarantine reason counts.
    """
    from riskscore.io._load import load_one

    path = Path(path)
    if not path.exists():
        raise RiskscoreError(
            f"{path}: file not found; expected inspection results "
            "(contract table inspection_results, e.g. from `riskscore inspect-sim`)"
        )
    res = load_one(TABLES["inspection_results"], path, {}, [])
    return res.data.copy(), int(res.quarantined), dict(res.reasons)


def read_frames(draw_dir, round_: str | None = None) -> dict[str, pd.DataFrame]:
    """The draw frame(s): ``{"": frame}`` for one design, or one frame per round when the
    frame lists institutions once per round or several draw folders (one per round) are
    given."""
    if isinstance(draw_dir, (list, tuple)):
        if len(draw_dir) == 1:
            return read_frames(draw_dir[0], round_)
        frames: dict[str, pd.DataFrame] = {}
        for d in draw_dir:
            for r, f in read_frames(d, None).items():
                rounds = f["round"].astype(str).unique() if "round" in f.columns else []
                key = r or (rounds[0] if len(rounds) == 1 else "")
                if not key or key in frames:
                    raise RiskscoreError(
                        f"{Path(d) / 'frame.csv'}: several draw folders need distinct 'round' "
                        f"values (got {key or 'none'!r})"
                    )
                frames[key] = f
        if round_ is not None:
            if str(round_) not in frames:
                raise RiskscoreError(
                    f"--round {round_!r}: not among the draw folders' rounds "
                    f"{', '.join(sorted(frames))}"
                )
            return {"": frames[str(round_)]}
        return frames
    path = Path(draw_dir) / "frame.csv"
    raw = read_csv_text(
        path,
        "the draw frame (fixmedins_code, tier, stratum, N_h, n_h, pi, "
        "selected) written by `riskscore draw`",
    )
    if "round" in raw.columns:
        raw["round"] = raw["round"].astype("string").str.strip()
    if round_ is not None:
        if "round" not in raw.columns:
            raise RiskscoreError(f"{path}: --round given but the frame has no 'round' column")
        raw = raw[raw["round"] == str(round_)]
        if raw.empty:
            raise RiskscoreError(f"{path}: no row with round {round_!r}")
    if "round" in raw.columns and raw["fixmedins_code"].duplicated().any():
        return {
            str(r): check_frame(part, source=f"{path} (round {r})")
            for r, part in raw.groupby("round", sort=True)
        }
    frame = check_frame(raw, source=str(path))
    frame.attrs["round_labels"] = _round_labels(Path(draw_dir), frame)
    return {"": frame}


def _round_labels(draw_dir: Path, frame: pd.DataFrame) -> set[str]:
    """Labels under which results may name this draw's round: the frame's ``round`` value
    and the round name recorded in ``manifest.json`` (e.g. 上半年)."""
    from riskscore.inspect_sim import read_manifest

    labels = set()
    if "round" in frame.columns:
        labels |= set(frame["round"].dropna().astype(str))
    rd = read_manifest(draw_dir).get("round")
    if isinstance(rd, dict):
        labels |= {str(rd[k]) for k in ("index", "name") if rd.get(k) not in (None, "")}
    return labels


def read_scores(path: str | Path) -> pd.DataFrame:
    """``scores.csv`` from ``riskscore score`` (fixmedins_code, risk_score, tier, … families)."""
    path = Path(path)
    s = read_csv_text(path, "scores.csv from `riskscore score`")
    for c in ("fixmedins_code", "risk_score"):
        if c not in s.columns:
            raise RiskscoreError(
                f"{path}: missing column {c!r}; expected fixmedins_code, "
                "risk_score, tier, expected_loss and one column per family"
            )
    s["fixmedins_code"] = s["fixmedins_code"].astype("string").str.strip()
    for c in ["risk_score", "expected_loss", "iforest_score", *FAMILIES]:
        if c in s.columns:
            s[c] = pd.to_numeric(s[c], errors="coerce")
    return s


def _previous_ratings(data_dir) -> pd.DataFrame | None:
    if not data_dir:
        return None
    from riskscore.io import load_table

    return load_table(data_dir, "credit_ratings")


# ---------------------------------------------------------------------------- helpers
def _row(scope, measure, e: Estimate | None = None, *, value=None, n=None, note="") -> dict:
    if e is not None:
        return {
            "scope": scope,
            "measure": measure,
            "estimate": e.estimate,
            "ci_low": e.ci_low,
            "ci_high": e.ci_high,
            "se": e.se,
            "n": e.n,
            "note": e.note,
            "method": e.method,
            "_var": e.var_ci,
            "_df": e.df,
            "_cells": e.cells,
        }
    return {
        "scope": scope,
        "measure": measure,
        "estimate": value,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "se": np.nan,
        "n": n,
        "note": note,
        "method": "",
    }


def _aggregate(draw: pd.DataFrame) -> pd.DataFrame:
    """One row per (institution, round): violation if any item found one, amounts summed."""
    d = draw.copy()
    d["draw_round"] = d["draw_round"].astype("string").fillna("")
    for c in ("improper_amount", "recovered_amount", "penalty_amount"):
        d[c] = pd.to_numeric(d[c], errors="coerce").fillna(0.0)
    d["violation_found"] = pd.to_numeric(d["violation_found"], errors="coerce").fillna(0)
    d["violation_types"] = d["violation_types"].astype("string").fillna("")
    g = d.groupby(["fixmedins_code", "draw_round"], sort=True)
    return g.agg(
        violation_found=("violation_found", "max"),
        improper_amount=("improper_amount", "sum"),
        recovered_amount=("recovered_amount", "sum"),
        violation_types=(
            "violation_types",
            lambda s: ";".join(sorted({t for v in s for t in str(v).split(";") if t})),
        ),
        rows=("violation_found", "size"),
    ).reset_index()


class _Design:
    """One design (the whole draw, or one round) with its inspected units."""

    def __init__(self, frame: pd.DataFrame, units: pd.DataFrame, singleton: str, ci: str):
        self.frame = frame
        self.units = units.reset_index(drop=True)
        self.ci = ci
        self.sample = sample_from_frame(frame, self.units["fixmedins_code"], singleton=singleton)
        tiers = frame.set_index("fixmedins_code")["tier"]
        self.units["tier"] = tiers.reindex(self.units["fixmedins_code"]).to_numpy()
        self.y = self.units["violation_found"].to_numpy(float)
        self.amount = self.units["improper_amount"].to_numpy(float)

    def estimates(self, scope_prefix: str = "") -> list[dict]:
        s, y, ci = self.sample, self.y, self.ci
        p = scope_prefix or "overall"
        rows = [
            _row(p, "violation_rate", hajek_rate(s, y, ci=ci)),
            _row(p, "violation_rate_ht", ht_rate(s, y, ci=ci)),
            _row(p, "naive_hit_rate", naive_rate(y)),
            _row(p, "improper_amount_total", ht_total(s, self.amount, ci=ci)),
            _row(p, "violating_institutions_total", ht_total(s, y, ci=ci, indicator=True)),
            _row(p, "lift_vs_uniform", lift_vs_uniform(s, y, ci=ci)),
        ]
        n = s.n
        rows.append(_expected_uniform(p, rows[0], n))
        rows.append(
            _row(p, "findings", value=float(y.sum()), n=n, note="violations found by the draw")
        )
        rows.append(
            _row(
                p,
                "population_size",
                value=float(s.N),
                n=n,
                note="institutions in the frame with π > 0",
            )
        )
        for tier in sorted(self.frame["tier"].unique()):
            d = (self.units["tier"] == tier).to_numpy()
            sc = f"{scope_prefix + '/' if scope_prefix else ''}tier:{tier}"
            rows.append(_row(sc, "violation_rate", hajek_rate(s, y, domain=d, ci=ci)))
            rows.append(_row(sc, "improper_amount_total", domain_total(s, self.amount, d, ci=ci)))
            rows.append(
                _row(
                    sc,
                    "naive_hit_rate",
                    naive_rate(y[d]) if d.any() else None,
                    value=np.nan,
                    n=0,
                    note="no inspection in this tier",
                )
            )
        return rows

    def tier_table(self) -> pd.DataFrame:
        s, y = self.sample, self.y
        out = []
        total_found = y.sum()
        for tier, part in self.frame.groupby("tier", sort=True):
            d = (self.units["tier"] == tier).to_numpy()
            est = hajek_rate(s, y, domain=d, ci=self.ci)
            amt = domain_total(s, self.amount, d, ci=self.ci)
            out.append(
                {
                    "tier": tier,
                    "N": int(len(part)),
                    "n_drawn": int(part["selected"].sum()),
                    "n_inspected": int(d.sum()),
                    "findings": int(y[d].sum()),
                    "hit_rate": float(y[d].mean()) if d.any() else np.nan,
                    "violation_rate_est": est.estimate,
                    "ci_low": est.ci_low,
                    "ci_high": est.ci_high,
                    "improper_amount_found": float(self.amount[d].sum()),
                    "improper_amount_total_est": amt.estimate,
                    "share_of_findings": float(y[d].sum() / total_found) if total_found else np.nan,
                    "pi": float(part["pi"].mean()),
                }
            )
        return pd.DataFrame(out)


def _expected_uniform(scope: str, rate_row: dict, n: int) -> dict:
    """``expected_findings_uniform`` = n × the estimated population rate (with its interval)."""
    return {
        "scope": scope,
        "measure": "expected_findings_uniform",
        "estimate": n * rate_row["estimate"],
        "ci_low": n * rate_row["ci_low"],
        "ci_high": n * rate_row["ci_high"],
        "se": n * rate_row["se"],
        "n": n,
        "note": "n × estimated population rate: findings a uniform draw of the "
        "same size would expect",
        "method": rate_row.get("method", ""),
        "_var": n**2 * rate_row.get("_var", np.nan),
        "_df": rate_row.get("_df", 1),
    }


#: measures whose combined interval is clipped to [0, 1] / at 0
_RATES = ("violation_rate", "violation_rate_ht")
_NONNEG = ("improper_amount_total", "violating_institutions_total", "lift_vs_uniform")


def _combine(
    per_round: dict[str, list[dict]], n_by_round: dict[str, int], ci: str = "normal"
) -> list[dict]:
    """Combine per-round estimate rows with fixed weights n_r / n (independent rounds).

    The estimate is ``Σ a_r θ̂_r`` with ``a_r = n_r / n``, the textbook se
    ``sqrt(Σ a_r² se_r²)`` and the interval (method ``ci``) is built from
    ``Σ a_r² v_r`` (``v_r`` the variance behind round r's interval) with the rounds' degrees
    of freedom added. ``expected_findings_uniform`` is n × the combined rate; inspected-only
    rates are pooled (findings / inspections over the rounds).
    """
    n_tot = sum(n_by_round.values())
    keyed: dict = {}
    for r, rows in per_round.items():
        for row in rows:
            keyed.setdefault((row["scope"], row["measure"]), {})[r] = row
    out = []
    for (scope, measure), by_r in keyed.items():
        if measure in ("findings", "population_size"):
            agg = (
                sum(v["estimate"] for v in by_r.values())
                if measure == "findings"
                else max(v["estimate"] for v in by_r.values())
            )
            out.append(
                _row(
                    scope,
                    measure,
                    value=agg,
                    n=n_tot,
                    note=f"{'sum' if measure == 'findings' else 'max'} over rounds",
                )
            )
            continue
        if measure == "naive_hit_rate":
            parts = [v for v in by_r.values() if v["n"] and np.isfinite(v["estimate"])]
            m = sum(int(v["n"]) for v in parts)
            k = sum(round(float(v["estimate"]) * int(v["n"])) for v in parts)
            if m:
                e = naive_rate(np.r_[np.ones(k), np.zeros(m - k)])
                e.note += f"; pooled over {len(parts)} rounds"
                out.append(_row(scope, measure, e))
            else:
                out.append(_row(scope, measure, value=np.nan, n=0, note="no inspection"))
            continue
        if measure == "expected_findings_uniform" or len(by_r) < len(per_round):
            continue
        a = {r: n_by_round[r] / n_tot for r in by_r}
        est = sum(a[r] * v["estimate"] for r, v in by_r.items())
        var = sum(a[r] ** 2 * v["se"] ** 2 for r, v in by_r.items())
        var_ci = sum(a[r] ** 2 * v.get("_var", v["se"] ** 2) for r, v in by_r.items())
        df = sum(int(v.get("_df", 1)) for v in by_r.values())
        n_units = sum(int(v["n"] or 0) for v in by_r.values())
        se = math.sqrt(var) if np.isfinite(var) else np.nan
        cells = (
            pool_cells([v.get("_cells") or [] for v in by_r.values()])
            if all(v.get("_cells") for v in by_r.values())
            else []
        )
        is_count = measure == "violating_institutions_total"
        scale = sum(c[1] for c in cells) if is_count and cells else 1.0
        lo, hi, method = interval(
            est / scale,
            var_ci / scale**2,
            ci="t" if (ci == "auto" and measure == "lift_vs_uniform") else ci,
            df=df,
            rate=measure in _RATES or (is_count and bool(cells)),
            n=n_units,
            nonneg=measure in _NONNEG,
            cells=cells,
        )
        lo, hi = lo * scale, hi * scale
        out.append(
            {
                "scope": scope,
                "measure": measure,
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "se": se,
                "n": n_units,
                "note": f"combined over {len(by_r)} rounds with weights n_r/n",
                "method": method,
                "_var": var_ci,
                "_df": df,
            }
        )
    for row in list(out):
        if row["measure"] == "violation_rate" and row["scope"] == "overall":
            out.append(_expected_uniform("overall", row, n_tot))
    return out


# ---------------------------------------------------------------------------- precision
def _flag_top(values: pd.Series, q: float) -> pd.Series:
    thr = values.quantile(q)
    return (values > thr) if (values > thr).any() else (values >= thr)


def indicator_precision(
    design: _Design,
    scores: pd.DataFrame,
    *,
    indicators: pd.DataFrame | None = None,
    flag_quantile: float = 0.8,
) -> pd.DataFrame:
    """Precision of each family score and indicator flag against findings (指标命中率).

    A unit is *flagged* by a score when the score is above the ``flag_quantile`` of that
    score over the frame population. Among draw-inspected units the table gives the naive
    precision (share of flagged inspected with a finding) and the IPW (Hájek) estimate of
    the population precision P(violation | flagged), its interval, the recall
    (share of the estimated violators who are flagged), the lift of precision over the
    population rate, for families also the precision against that family being found
    (violation_types), and the IPW-weighted AUC of the score.
    """
    from sklearn.metrics import roc_auc_score

    s, y = design.sample, design.y
    codes = design.units["fixmedins_code"]
    fam_found = design.units["violation_types"].astype(str)
    base = hajek_rate(s, y).estimate
    pop = design.frame[["fixmedins_code"]].merge(scores, on="fixmedins_code", how="left")
    specs = []
    for c in ["risk_score", "expected_loss", "iforest_score", *FAMILIES]:
        if c in pop.columns and pd.to_numeric(pop[c], errors="coerce").notna().any():
            specs.append(
                ("family" if c in FAMILIES else "score", c, pop.set_index("fixmedins_code")[c])
            )
    if indicators is not None and len(indicators):
        for ind_id, part in indicators.groupby("indicator_id", sort=True):
            specs.append(("indicator", str(ind_id), part.set_index("fixmedins_code")["value"]))
    rows = []
    for kind, name, values in specs:
        values = pd.to_numeric(values, errors="coerce")
        values = values[~values.index.duplicated()]
        is_flag = kind == "indicator" and set(values.dropna().unique()) <= {0, 1}
        flagged_pop = (
            values.fillna(0) >= 1
            if is_flag
            else _flag_top(values.fillna(values.min()), flag_quantile)
        )
        f = flagged_pop.reindex(codes).fillna(False).to_numpy(bool)
        v_ins = values.reindex(codes).to_numpy(float)
        prec = hajek_rate(s, y, domain=f) if f.any() else None
        t_y = float(np.sum(s.weight * y))
        recall = float(np.sum(s.weight * y * f)) / t_y if t_y > 0 else np.nan
        row = {
            "kind": kind,
            "name": name,
            "flag_rule": "flag = 1"
            if is_flag
            else f"top {100 * (1 - flag_quantile):.0f}% of frame",
            "n_flagged_population": int(
                flagged_pop.reindex(design.frame["fixmedins_code"]).fillna(False).sum()
            ),
            "n_flagged_inspected": int(f.sum()),
            "hits_flagged": int(y[f].sum()),
            "precision_naive": float(y[f].mean()) if f.any() else np.nan,
            "precision_ipw": prec.estimate if prec else np.nan,
            "ci_low": prec.ci_low if prec else np.nan,
            "ci_high": prec.ci_high if prec else np.nan,
            "recall_ipw": recall,
            "lift_over_base": (prec.estimate / base) if prec and base > 0 else np.nan,
            "family_precision_ipw": np.nan,
            "auc_ipw": np.nan,
        }
        if kind == "family" and f.any():
            yf = fam_found.str.split(";").apply(lambda t, n=name: n in t).to_numpy(float)
            row["family_precision_ipw"] = hajek_rate(s, yf, domain=f).estimate
        ok = np.isfinite(v_ins)
        if ok.any() and 0 < y[ok].sum() < ok.sum():
            row["auc_ipw"] = float(roc_auc_score(y[ok], v_ins[ok], sample_weight=s.weight[ok]))
        rows.append(row)
    return pd.DataFrame(rows)


def read_indicators(path: Path) -> pd.DataFrame | None:
    """``indicators.csv`` next to ``scores.csv``: long (fixmedins_code, indicator_id and
    ``flag`` or ``value``/``score``/``rate``) or wide (one numeric column per indicator)."""
    if not path.exists():
        return None
    t = read_csv_text(path, "indicators.csv from `riskscore score`")
    if "fixmedins_code" not in t.columns:
        return None
    t["fixmedins_code"] = t["fixmedins_code"].astype("string").str.strip()
    if "indicator_id" in t.columns:
        vcol = next(
            (
                c
                for c in (
                    "flag",
                    "flagged",
                    "indicator_score",
                    "value",
                    "score",
                    "log_ratio",
                    "shrunk_rate",
                    "rate",
                )
                if c in t.columns
            ),
            None,
        )
        if vcol is None and {"numerator", "denominator"} <= set(t.columns):
            num = pd.to_numeric(t["numerator"], errors="coerce")
            den = pd.to_numeric(t["denominator"], errors="coerce")
            t["value"] = num / den.where(den > 0)
            vcol = "value"
        if vcol is None:
            return None
        return pd.DataFrame(
            {
                "fixmedins_code": t["fixmedins_code"],
                "indicator_id": t["indicator_id"],
                "value": pd.to_numeric(t[vcol], errors="coerce"),
            }
        )
    skip = {"fixmedins_code", "tier", "family", "risk_score"}
    long = []
    for c in t.columns:
        if c in skip:
            continue
        v = pd.to_numeric(t[c], errors="coerce")
        if v.notna().mean() > 0.5:
            long.append(
                pd.DataFrame({"fixmedins_code": t["fixmedins_code"], "indicator_id": c, "value": v})
            )
    return pd.concat(long, ignore_index=True) if long else None


def calibration(design: _Design, scores: pd.DataFrame, *, bins: int = 10) -> pd.DataFrame:
    """Risk-score deciles (over the frame population) vs the IPW-weighted observed violation
    rate (校准): does a higher score mean more violations in the population?"""
    pop = design.frame[["fixmedins_code"]].merge(
        scores[["fixmedins_code", "risk_score"]], on="fixmedins_code", how="left"
    )
    if pop["risk_score"].isna().all():
        return pd.DataFrame()
    ranks = pop["risk_score"].rank(method="first")
    pop["decile"] = (
        pd.qcut(ranks, q=min(bins, int(pop["risk_score"].notna().sum())), labels=False) + 1
    )
    dec = pop.set_index("fixmedins_code")["decile"]
    d_ins = dec.reindex(design.units["fixmedins_code"]).to_numpy()
    s, y = design.sample, design.y
    rows = []
    for k, part in pop.groupby("decile", sort=True):
        d = d_ins == k
        est = hajek_rate(s, y, domain=d) if d.any() else None
        rows.append(
            {
                "decile": int(k),
                "score_min": float(part["risk_score"].min()),
                "score_max": float(part["risk_score"].max()),
                "mean_risk_score": float(part["risk_score"].mean()),
                "N": int(len(part)),
                "n_inspected": int(d.sum()),
                "findings": int(y[d].sum()),
                "naive_rate": float(y[d].mean()) if d.any() else np.nan,
                "observed_rate_ipw": est.estimate if est else np.nan,
                "ci_low": est.ci_low if est else np.nan,
                "ci_high": est.ci_high if est else np.nan,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- main
def analyze(
    draw_dir: str | Path,
    results_path: str | Path,
    out_dir: str | Path,
    *,
    scores_path: str | Path | None = None,
    data_dir: str | Path | None = None,
    as_of: dt.date | None = None,
    round_: str | None = None,
    ci: str = "auto",
    singleton: str = "collapse",
    flag_quantile: float = 0.8,
    credit_rule: CreditRule | None = None,
) -> dict:
    """Run the post-inspection analysis and write the tables to ``out_dir``.

    Parameters
    ----------
    draw_dir : path or list of paths
        Draw folder (``frame.csv``); several folders (one per round of the year) are
        estimated per round and combined.
    results_path : path
        Inspection results (contract table ``inspection_results``).
    out_dir : path
    scores_path : path, optional
        ``scores.csv``; enables indicator precision and calibration (``indicators.csv`` in
        the same folder is used when present).
    data_dir : path, optional
        Data folder; ``credit_ratings`` gives the previous credit ratings.
    as_of : date, optional
        Status date for the tracker and credit rule (default: today).
    round_ : str, optional
        Analyse one round of a multi-round frame.
    ci : {"normal", "t", "wilson", "kg"}
    singleton : {"collapse", "nan"}
    flag_quantile : float
    credit_rule : CreditRule, optional

    Returns
    -------
    dict
        Summary (also written to ``analysis.json``) with the estimates table under
        ``"estimates"``.
    """
    out_dir = Path(out_dir)
    as_of = as_of or dt.date.today()
    frames = read_frames(draw_dir, round_)
    results, n_quar, quar_reasons = load_results(results_path)
    draw, other = split_by_origin(results)
    rows: list[dict] = []
    accounting = {
        "results_rows": int(len(results) + n_quar),
        "rows_invalid": n_quar,
        "rows_draw": int(len(draw)),
        "rows_non_draw": int(len(other)),
    }

    units = (
        _aggregate(draw)
        if len(draw)
        else pd.DataFrame(
            columns=[
                "fixmedins_code",
                "draw_round",
                "violation_found",
                "improper_amount",
                "recovered_amount",
                "violation_types",
                "rows",
            ]
        )
    )
    multi = len(frames) > 1 or next(iter(frames)) != ""
    designs: dict[str, _Design] = {}
    unmatched = 0
    matched_parts = []
    for r, frame in frames.items():
        sel = set(frame.loc[frame["selected"] == 1, "fixmedins_code"].astype(str))
        u = units[units["fixmedins_code"].astype(str).isin(sel)]
        if multi:
            labels = set(frame.attrs.get("round_labels") or ()) | {r}
            u = u[u["draw_round"].isin(list(labels))]
        elif "round" in frame.columns and frame["round"].nunique() == 1:
            # one round's frame: results of other rounds are set aside (empty round kept)
            labels = frame.attrs.get("round_labels") or {str(frame["round"].iloc[0])}
            u = u[u["draw_round"].isin(list(labels)) | (u["draw_round"] == "")]
        if len(u) and u["fixmedins_code"].duplicated().any():
            # one design, several rounds in the results: combine the rows per institution
            u = u.groupby("fixmedins_code", as_index=False).agg(
                draw_round=("draw_round", "first"),
                violation_found=("violation_found", "max"),
                improper_amount=("improper_amount", "sum"),
                recovered_amount=("recovered_amount", "sum"),
                violation_types=(
                    "violation_types",
                    lambda s: ";".join(sorted({t for v in s for t in str(v).split(";") if t})),
                ),
                rows=("rows", "sum"),
            )
        matched_parts.append(u)
        if len(u):
            designs[r] = _Design(frame, u, singleton, ci)
    matched_rows = int(sum(int(p["rows"].sum()) for p in matched_parts)) if matched_parts else 0
    unmatched = int(len(draw) - matched_rows)
    drawn_total = int(sum(int(f["selected"].sum()) for f in frames.values()))
    inspected_total = int(sum(len(p) for p in matched_parts))
    if not designs:
        raise RiskscoreError(
            f"{results_path}: no origin=draw result matches an institution selected in the "
            "draw frame (frame.csv); nothing to estimate"
        )

    per_round = {r: d.estimates(f"round:{r}" if multi else "") for r, d in designs.items()}
    if multi:
        for r, rs in per_round.items():
            rows += [x for x in rs if x["scope"] == f"round:{r}"]
        stripped = {
            r: [
                {**x, "scope": x["scope"].split("/", 1)[1] if "/" in x["scope"] else "overall"}
                for x in rs
            ]
            for r, rs in per_round.items()
        }
        combined = _combine(stripped, {r: d.sample.n for r, d in designs.items()}, ci)
        y_all = np.concatenate([d.y for d in designs.values()])
        combined = [
            x
            for x in combined
            if not (x["measure"] == "naive_hit_rate" and x["scope"] == "overall")
        ]
        combined.append(_row("overall", "naive_hit_rate", naive_rate(y_all)))
        rows = combined + rows
    else:
        rows += per_round[""]

    # accounting rows: what was set aside, and why
    origin = other["origin"].astype("string").fillna("(empty)")
    rows.append(
        _row(
            "overall",
            "excluded_non_draw",
            value=float(len(other)),
            n=len(other),
            note="inspections not from the random draw (complaint, special check, "
            "referral, media, monitoring): counted, never in the estimators",
        )
    )
    for o, k in origin.value_counts().sort_index().items():
        rows.append(_row(f"origin:{o}", "excluded_non_draw", value=float(k), n=int(k)))
    rows.append(
        _row(
            "overall",
            "excluded_draw_not_selected",
            value=float(unmatched),
            n=unmatched,
            note="origin=draw rows whose institution (and round) is not "
            "selected in frame.csv: set aside",
        )
    )
    rows.append(
        _row(
            "overall",
            "excluded_invalid_rows",
            value=float(n_quar),
            n=n_quar,
            note="rows refused by the contract checks: "
            + (", ".join(f"{k}={v}" for k, v in sorted(quar_reasons.items())) or "none"),
        )
    )
    rows.append(
        _row(
            "overall",
            "drawn_without_result",
            value=float(drawn_total - inspected_total),
            n=drawn_total,
            note="drawn institutions with no draw result: weights adjusted within stratum",
        )
    )
    zero = int(sum(int((f["pi"] <= 0).sum()) for f in frames.values()))
    rows.append(
        _row(
            "overall",
            "excluded_zero_probability",
            value=float(zero),
            n=zero,
            note="institutions with π = 0 (exempt): outside every estimate",
        )
    )
    rec_all = pd.to_numeric(results["recovered_amount"], errors="coerce").fillna(0.0)
    pen_all = pd.to_numeric(results["penalty_amount"], errors="coerce").fillna(0.0)
    is_draw = results.index.isin(draw.index)
    rows.append(
        _row(
            "overall",
            "recovered_total",
            value=float(rec_all.sum()),
            n=len(results),
            note="accounting sum over all inspections (all origins), not an estimate",
        )
    )
    rows.append(
        _row(
            "origin:draw",
            "recovered_total",
            value=float(rec_all[is_draw].sum()),
            n=int(is_draw.sum()),
            note="accounting sum, draw inspections",
        )
    )
    rows.append(
        _row(
            "overall",
            "penalty_total",
            value=float(pen_all.sum()),
            n=len(results),
            note="accounting sum over all inspections (all origins)",
        )
    )
    est = pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)

    from riskscore.outputs import begin_outputs

    # analysis.json says "incomplete" until every table is written (completion record)
    begin_outputs(out_dir, "analysis.json", "riskscore analyze")
    _people_csv(est, out_dir / "estimates.csv")
    main_design = designs[sorted(designs)[0]] if multi else designs[""]
    tiers = pd.concat(
        [d.tier_table().assign(round=r) for r, d in designs.items()], ignore_index=True
    )
    if not multi:
        tiers = tiers.drop(columns="round")
    _people_csv(tiers, out_dir / "hit_rate_by_tier.csv")

    written = ["estimates.csv", "hit_rate_by_tier.csv"]
    notes = []
    if scores_path:
        scores = read_scores(scores_path)
        inds = read_indicators(Path(scores_path).parent / "indicators.csv")
        prec = indicator_precision(
            main_design, scores, indicators=inds, flag_quantile=flag_quantile
        )
        _people_csv(prec, out_dir / "indicator_precision.csv")
        cal = calibration(main_design, scores)
        _people_csv(cal, out_dir / "calibration.csv")
        written += ["indicator_precision.csv", "calibration.csv"]
        if multi:
            notes.append(f"precision and calibration use round {sorted(designs)[0]}")
    else:
        notes.append("no --scores: indicator_precision.csv and calibration.csv not written")
    tracker = rectification_tracker(results, as_of)
    _people_csv(tracker, out_dir / "rectification_tracker.csv")
    all_codes = sorted(
        set().union(*[set(f["fixmedins_code"].astype(str)) for f in frames.values()])
    )
    previous = _previous_ratings(data_dir)
    credit = next_year_credit(results, all_codes, previous=previous, as_of=as_of, rule=credit_rule)
    _people_csv(credit, out_dir / "next_year_credit.csv")
    written += ["rectification_tracker.csv", "next_year_credit.csv"]

    def get(scope, measure):
        m = est[(est["scope"] == scope) & (est["measure"] == measure)]
        return m.iloc[0].to_dict() if len(m) else {}

    summary = {
        "as_of": as_of.isoformat(),
        "draw_dir": [str(d) for d in draw_dir]
        if isinstance(draw_dir, (list, tuple))
        else str(draw_dir),
        "results": str(results_path),
        "scores": str(scores_path) if scores_path else None,
        "rounds": sorted(designs) if multi else None,
        "ci": ci,
        "singleton": singleton,
        "accounting": {
            **accounting,
            "excluded_non_draw": int(len(other)),
            "excluded_draw_not_selected": unmatched,
            "drawn": drawn_total,
            "inspected_draw": inspected_total,
        },
        "violation_rate": get("overall", "violation_rate"),
        "naive_hit_rate": get("overall", "naive_hit_rate"),
        "lift_vs_uniform": get("overall", "lift_vs_uniform"),
        "improper_amount_total": get("overall", "improper_amount_total"),
        "recovered_total": float(rec_all.sum()),
        "tracker": {k: int(v) for k, v in tracker["rectify_status"].value_counts().items()},
        "followups_due": int((tracker["followup_status"] == "due").sum()),
        "referrals": int(tracker["referral_to"].notna().sum()),
        "credit": {k: int(v) for k, v in credit["rating"].value_counts().sort_index().items()},
        "credit_previous_ratings": previous is not None and len(previous) > 0,
        "credit_default_rating": (credit_rule or CreditRule()).default_rating,
        "credit_defaulted": int(credit["rule"].str.startswith("not inspected, no previous").sum()),
        "files": written,
        "notes": notes,
        "min_inspected_per_tier": int(tiers["n_inspected"].min()) if len(tiers) else 0,
    }
    from riskscore.outputs import atomic_write_text, sha256_file

    summary["status"] = "complete"
    summary["outputs_sha256"] = {f: sha256_file(out_dir / f) for f in written}
    atomic_write_text(
        out_dir / "analysis.json",
        json.dumps(_clean(summary), ensure_ascii=False, indent=2, default=_json_default),
    )
    summary["estimates"] = est
    return summary


def _people_csv(df: pd.DataFrame, path: Path) -> None:
    """A table for people: UTF-8 with BOM, text cells neutralised, written atomically."""
    from riskscore.outputs import atomic_write_bytes, frame_csv_bytes

    atomic_write_bytes(path, frame_csv_bytes(df))


def _clean(o):
    """NaN → None recursively (strict JSON)."""
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (float, np.floating)) and not np.isfinite(o):
        return None
    return o


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if not np.isfinite(o) else float(o)
    if o is pd.NA or o is pd.NaT:
        return None
    return str(o)


def _pct(x) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


def _money(x) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x / 10_000:,.1f}"


def summary_text(summary: dict, lang: str = "zh") -> str:
    """A short summary of the analysis (中文 by default, ``lang="en"`` for English)."""
    vr, nv = summary["violation_rate"], summary["naive_hit_rate"]
    lf, am = summary["lift_vs_uniform"], summary["improper_amount_total"]
    acc = summary["accounting"]
    tr = summary["tracker"]
    small = summary.get("ci") == "normal" and summary.get("min_inspected_per_tier", 99) < 10
    if lang == "en":
        lines = [
            f"Province-wide violation rate (Hájek): {_pct(vr.get('estimate'))} "
            f"(95% CI {_pct(vr.get('ci_low'))}–{_pct(vr.get('ci_high'))}); "
            f"inspected-only rate {_pct(nv.get('estimate'))} (biased upward by targeting).",
            f"Estimated improper amount: {_money(am.get('estimate'))} ×10k yuan "
            f"(95% CI {_money(am.get('ci_low'))}–{_money(am.get('ci_high'))}).",
            f"Lift over a uniform draw of the same size: {lf.get('estimate', float('nan')):.2f}×.",
            f"Draw inspections used: {acc['inspected_draw']} of {acc['drawn']} drawn; set aside: "
            f"{acc['excluded_non_draw']} non-draw inspections, "
            f"{acc['excluded_draw_not_selected']} draw rows not in the frame, "
            f"{acc['rows_invalid']} invalid rows.",
            f"Recovered: {_money(summary['recovered_total'])} ×10k yuan. Rectifications overdue: "
            f"{tr.get('overdue', 0)}; follow-ups due: {summary['followups_due']}; referrals: "
            f"{summary['referrals']}.",
            "Next year's ratings: " + ", ".join(f"{k} {v}" for k, v in summary["credit"].items()),
        ]
        if not summary.get("scores"):
            lines.append(
                "No --scores: indicator precision and calibration were not computed "
                "(indicator_precision.csv, calibration.csv not written)."
            )
        if not summary.get("credit_previous_ratings", True):
            lines.append(
                "No previous credit ratings (--data folder with credit_ratings): "
                f"{summary.get('credit_defaulted', 0)} institutions not inspected were rated "
                f"{summary.get('credit_default_rating', 'B')} by default, so next year's ratings "
                "reflect this year's inspections only; give --data DIR to carry last year's "
                "ratings forward."
            )
        if small:
            lines.append(
                f"Note: only {summary['min_inspected_per_tier']} inspection(s) in the smallest "
                "tier: normal intervals under-cover; rerun with --ci kg (conservative)."
            )
    else:
        lines = [
            f"全市违规率估计（Hájek）：{_pct(vr.get('estimate'))}"
            f"（95%置信区间 {_pct(vr.get('ci_low'))}–{_pct(vr.get('ci_high'))}）；"
            f"仅按被检查机构计算的发现率 {_pct(nv.get('estimate'))}（因风险加权抽取而偏高，不代表总体）。",
            f"违规金额总量估计：{_money(am.get('estimate'))} 万元"
            f"（95%置信区间 {_money(am.get('ci_low'))}–{_money(am.get('ci_high'))} 万元）。",
            f"相对同样本量均匀抽取的命中提升：{lf.get('estimate', float('nan')):.2f} 倍。",
            f"纳入估计的双随机检查 {acc['inspected_draw']} 家（抽中 {acc['drawn']} 家）；"
            f"不纳入估计：非双随机检查 {acc['excluded_non_draw']} 条，"
            f"不在抽样框中的抽查记录 {acc['excluded_draw_not_selected']} 条，"
            f"无效记录 {acc['rows_invalid']} 条。",
            f"追回资金 {_money(summary['recovered_total'])} 万元；逾期未整改 {tr.get('overdue', 0)} 家次，"
            f"待回访 {summary['followups_due']} 家次，移送 {summary['referrals']} 起。",
            "下一年度信用等级："
            + "，".join(f"{k} 级 {v} 家" for k, v in summary["credit"].items()),
        ]
        if not summary.get("scores"):
            lines.append(
                "未提供 --scores（评分结果）：未计算指标精确率和评分校准"
                "（未生成 indicator_precision.csv、calibration.csv）。"
            )
        if not summary.get("credit_previous_ratings", True):
            lines.append(
                "未提供上年信用等级（--data 数据目录中的 credit_ratings）："
                f"{summary.get('credit_defaulted', 0)}家未检查机构按默认"
                f"{summary.get('credit_default_rating', 'B')}级计，下一年度信用等级仅反映本年检查结果；"
                "提供 --data 数据目录可沿用上年等级。"
            )
        if small:
            lines.append(
                f"提示：最小的风险等级仅检查 {summary['min_inspected_per_tier']} 家，正态置信区间"
                "覆盖不足，建议使用 --ci kg（Korn–Graubard，偏保守）重新计算。"
            )
    return "\n".join(lines)

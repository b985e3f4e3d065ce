"""Institution risk scores from indicator counts (机构风险评分).

:class:`RiskScorer` turns the long indicator table produced by :mod:`riskscore.indicators`
(one row per institution and indicator: ``numerator`` flagged records, ``denominator``
eligible records) into one row per institution:

1. **Peers (同类机构).** Institutions are compared within peer groups
   ``medins_type × hosp_lv`` (optionally ``× region``). A peer group with fewer than
   ``min_peers`` institutions for an indicator falls back to ``medins_type``, then to all
   institutions.
2. **Empirical-Bayes shrinkage (经验贝叶斯收缩).** For every indicator and peer group a prior
   is fitted by the method of moments on the reference period: Beta(α, β) for proportions
   (beta-binomial; numerator ≤ denominator) and Gamma(a, b) for rates that can exceed one
   (gamma-Poisson, e.g. tests per encounter). An institution's posterior is
   Beta(α + x, β + n − x) (resp. Gamma(a + x, b + n)); its shrunken rate is the posterior
   mean ``(x + α) / (n + α + β)``. The prior strength α + β is kept between
   ``min_prior_strength`` (10) and ``max_prior_strength``. A 20-claim clinic with one odd
   claim therefore stays close to its peers.
3. **Peer norm (同类机构常态水平).** The peer norm of an indicator is estimated robustly: the
   prior is refitted after leaving out the ``trim`` share of institutions with the highest
   shrunken rates (the suspected violators), and the norm is that refitted distribution's
   ``peer_quantile`` quantile (default: its upper quartile), at least ``min_norm`` (0.5 %)
   for proportions.
4. **Indicator evidence (指标超出程度).** ``excess = max(0, log(q / norm))`` where ``q`` is the
   lower ``1 − credibility`` quantile of the institution's posterior: with probability
   ``credibility`` (default 0.9) the institution's true rate is at least ``exp(excess)``
   times its peers' norm. Small institutions have wide posteriors and so little evidence.
5. **Family scores (违规类型得分).** The family's excess is the maximum excess of its
   indicators; the family score is ``1 − exp(−excess)`` in [0, 1): the share of the
   institution's flagged volume that is in excess of its peers' norm (0 = at or below peers,
   0.5 = twice the norm, 0.9 = ten times). 0 when no indicator of the family applies.
6. **Composite (综合风险分).** ``risk_score = 1 − Π_f (1 − w_f·F_f)`` — a noisy-OR of the family
   scores (with weights ``w_f`` = 1 this equals ``1 − exp(−Σ_f excess_f)``); higher = riskier.
7. **Second opinion (孤立森林).** A seeded :class:`sklearn.ensemble.IsolationForest` fitted on
   the reference institutions' signed shrunken log-ratios ``log(shrunken rate / peer norm)``;
   ``iforest_score`` = minus its ``score_samples`` (in (0, 1], higher = more anomalous). It
   is reported beside the composite and does not enter it.
8. **Expected loss (预期损失)** = ``risk_score × fund_paid`` (fund exposure, 统筹基金支付).
9. **Tiers (风险等级)** A (lowest) … D (highest): cut-offs are quantiles of the reference
   period's ``risk_score`` (policy ``tiers.score_quantiles``); the latest credit rating, when
   present, shifts the tier by ``tiers.credit_adjust`` (clipped to A…D).
10. **Reasons (主要原因)** in Chinese and English: the indicators with the largest excess, e.g.
    ``超量开药：门诊处方超7天占比 12.3%（同类机构 1.1%）``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special
from sklearn.base import BaseEstimator
from sklearn.ensemble import IsolationForest

from riskscore.contract import FAMILIES
from riskscore.errors import PolicyError, RiskscoreError

TIER_LABELS = ("A", "B", "C", "D")
"""Risk tiers, lowest risk first (A 低风险 … D 高风险)."""

DEFAULT_TIERS: dict = {
    "score_quantiles": {"B": 0.50, "C": 0.80, "D": 0.95},
    "credit_adjust": {"A": -1, "B": 0, "C": 1, "D": 1},
}
"""Default tier policy (policy choice; the shipped policy YAML carries the same section)."""

VALUE_COLUMNS = ("fixmedins_code", "indicator_id", "family", "numerator", "denominator")
PEER_COLUMNS = ("medins_type", "hosp_lv")
_EPS = 1e-12


@dataclass(frozen=True)
class IndicatorName:
    """Names of one indicator used in reasons (指标名称)."""

    zh: str
    en: str


# --------------------------------------------------------------------------- validation


def _require_columns(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise RiskscoreError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise RiskscoreError(
            f"{what}: missing column(s) {', '.join(missing)}; expected {', '.join(cols)}"
        )


def validate_tiers(tiers: Mapping | None, source: str = "tiers") -> dict:
    """Check a ``tiers`` policy section and return it completed with defaults.

    Parameters
    ----------
    tiers : mapping or None
        ``{"score_quantiles": {"B": q, "C": q, "D": q}, "credit_adjust": {"A": k, ...}}``.
        ``score_quantiles`` are the ``risk_score`` quantiles (风险分分位数) at which tiers B, C
        and D start; they must increase strictly within (0, 1). ``credit_adjust`` (信用等级调整)
        shifts the tier by an integer for each credit rating A–D.
    source : str
        Name of the file or parameter, used in error messages.

    Returns
    -------
    dict
        A validated copy.

    Raises
    ------
    riskscore.errors.PolicyError
        When a key or value is invalid.
    """
    if tiers is None:
        tiers = DEFAULT_TIERS
    if not isinstance(tiers, Mapping):
        raise PolicyError(f"{source}: 'tiers' must be a mapping, got {type(tiers).__name__}")
    unknown = set(tiers) - {"score_quantiles", "credit_adjust"}
    if unknown:
        raise PolicyError(
            f"{source}: unknown key(s) under 'tiers': {', '.join(sorted(map(str, unknown)))}; "
            "expected score_quantiles, credit_adjust"
        )
    sq = tiers.get("score_quantiles", DEFAULT_TIERS["score_quantiles"])
    if not isinstance(sq, Mapping) or set(map(str, sq)) != {"B", "C", "D"}:
        raise PolicyError(f"{source}: tiers.score_quantiles must give B, C and D, got {sq!r}")
    try:
        qs = {k: float(sq[k]) for k in ("B", "C", "D")}
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{source}: tiers.score_quantiles must be numbers ({exc})") from None
    if not (0 < qs["B"] < qs["C"] < qs["D"] < 1):
        raise PolicyError(
            f"{source}: tiers.score_quantiles must satisfy 0 < B < C < D < 1, got {qs}"
        )
    ca = tiers.get("credit_adjust", DEFAULT_TIERS["credit_adjust"])
    if ca is None:
        ca = {}
    if not isinstance(ca, Mapping) or not set(map(str, ca)) <= set(TIER_LABELS):
        raise PolicyError(
            f"{source}: tiers.credit_adjust keys must be among A, B, C, D, got {ca!r}"
        )
    adj = {}
    for k, v in ca.items():
        if isinstance(v, bool) or not float(v).is_integer():
            raise PolicyError(f"{source}: tiers.credit_adjust.{k} must be an integer, got {v!r}")
        adj[str(k)] = int(v)
    return {"score_quantiles": qs, "credit_adjust": adj}


def indicator_names() -> dict[str, IndicatorName]:
    """Chinese and English names of the indicators in :data:`riskscore.indicators.INDICATORS`.

    Returns an empty mapping when the indicator package is not available.
    """
    try:
        from riskscore.indicators import INDICATORS
    except ImportError:  # pragma: no cover - only while the package is being built
        return {}
    return {ind.id: IndicatorName(ind.zh, ind.en) for ind in INDICATORS}


# --------------------------------------------------------------------------- priors


def _mom_prior(
    x: np.ndarray, n: np.ndarray, kind: str, max_strength: float, min_strength: float = 0.0
) -> tuple[float, float]:
    """Method-of-moments prior (α, β) for Beta or (a, b) for Gamma (shape, rate).

    The between-institution variance is the denominator-weighted variance of the rates minus
    the expected sampling variance (the estimator of Kleinman 1973 for beta-binomial data).
    The prior strength (pseudo-denominator α + β, resp. b) is capped at ``max_strength``.
    """
    total_n = float(n.sum())
    total_x = float(x.sum())
    if total_n <= 0:
        raise ValueError("no denominator")
    mu = total_x / total_n
    lo = 0.5 / (total_n + 1.0)
    if kind == "proportion":
        mu = min(max(mu, lo), 1.0 - lo)
        unit_var = mu * (1.0 - mu)
    else:
        mu = max(mu, lo)
        unit_var = mu
    k = len(x)
    tau2 = 0.0
    if k >= 2:
        r = x / n
        s2 = float(np.sum(n * (r - mu) ** 2))
        denom = total_n - float(np.sum(n**2)) / total_n
        if denom > 0:
            tau2 = (s2 - (k - 1) * unit_var) / denom
    # strength = unit_var / tau2 (- 1 for the beta); cap it at max_strength
    tau2_min = unit_var / (max_strength + 1.0)
    if kind == "proportion":
        tau2 = min(max(tau2, tau2_min), unit_var * 0.999)  # strength >= ~0.001
        strength = unit_var / tau2 - 1.0
        strength = min(max(strength, 1e-3, min_strength), max_strength)
        return mu * strength, (1.0 - mu) * strength
    tau2 = max(tau2, tau2_min)
    b = min(max(mu / tau2, min_strength), max_strength)  # rate = pseudo-denominator
    return mu * b, b


def _posterior_mean(x, n, a, b, kind):
    if kind == "proportion":
        return (x + a) / (n + a + b)
    return (x + a) / (n + b)


def _posterior_quantile(q, x, n, a, b, kind):
    if kind == "proportion":
        return special.betaincinv(a + x, b + n - x, q)
    return special.gammaincinv(a + x, q) / (n + b)


def _prior_quantile(q, a, b, kind):
    if kind == "proportion":
        return special.betaincinv(a, b, q)
    return special.gammaincinv(a, q) / b


# --------------------------------------------------------------------------- scorer


class RiskScorer(BaseEstimator):
    """Peer-relative, empirically-Bayes-shrunken institution risk scores (机构风险评分器).

    Follows scikit-learn conventions: ``__init__`` only stores parameters, :meth:`fit` learns
    peer-group priors on a reference period and returns ``self``, learned attributes end in
    ``_``; :meth:`score` scores any period against them. See the module docstring for the
    method.

    Parameters
    ----------
    by_region : bool, default False
        Peer groups ``medins_type × hosp_lv × region`` (分区域比较) instead of
        ``medins_type × hosp_lv``.
    min_peers : int, default 5
        Smallest number of institutions with a non-zero denominator for a peer group's own
        prior (同类机构最少数量); smaller groups fall back to ``medins_type``, then to all.
    trim : float, default 0.1
        Share of institutions with the highest shrunken rates left out when estimating the
        peer norm (稳健估计剔除比例).
    peer_quantile : float, default 0.75
        Quantile of the trimmed peer distribution used as the peer norm (同类机构常态水平):
        an institution is compared with the upper quartile of its honest-looking peers, so
        ordinary variation between honest peers is not counted as excess.
    credibility : float, default 0.9
        Posterior probability (可信度) with which the institution's rate exceeds the reported
        excess; the lower ``1 − credibility`` posterior quantile is compared with the norm.
    min_norm : float, default 0.005
        Smallest peer norm for proportions (最低常态水平): a norm near zero (rules that honest
        peers almost never break) would turn one flagged record into an enormous multiple,
        so ratios are formed against at least 0.5 %.
    min_prior_strength : float, default 10
        Smallest prior pseudo-denominator (先验强度下限): violators in a peer group inflate the
        between-institution variance and so weaken the prior; with at least 10 pseudo-units
        one flagged record out of two or three cannot look like a high rate.
    max_prior_strength : float or None, default None
        Cap on the prior's pseudo-denominator (先验强度上限); None = 10 × the peer group's
        median denominator (at least 100), so the prior never outweighs a typical peer's own
        data more than tenfold.
    indicator_weights : mapping or None
        ``{indicator_id: weight}`` multiplying an indicator's excess (default 1), e.g. to
        count a peer-relative volume indicator less than a rule breach (指标权重).
    family_weights : mapping or None
        Weight in [0, 1] of each family in the composite (default 1 for all).
    tiers : mapping or None
        Tier policy, the ``tiers`` section of the policy YAML (see :func:`validate_tiers`);
        None uses :data:`DEFAULT_TIERS`.
    n_reasons : int, default 3
        Number of indicators named in ``top_reasons_zh`` / ``top_reasons_en``.
    n_estimators : int, default 200
        Trees of the IsolationForest.
    random_state : int, default 0
        Seed of the IsolationForest (recorded in the output metadata).
    names : mapping or None
        ``{indicator_id: (zh, en)}`` names for the reasons; default: the names declared in
        :data:`riskscore.indicators.INDICATORS` (the id when unknown).

    Attributes
    ----------
    priors_ : pandas.DataFrame
        One row per indicator, peer level and peer group: ``indicator_id, family, kind,
        level, peer_group, n_institutions, alpha, beta, norm, norm_mean``.
    indicators_ : list of str
        Indicator ids seen in the reference period.
    kinds_ : dict
        ``proportion`` (beta-binomial) or ``rate`` (gamma-Poisson) per indicator.
    iforest_ : IsolationForest or None
        Fitted second-opinion model (None with fewer than 2 reference institutions).
    tier_cutoffs_ : dict
        Values of ``risk_log_excess`` (= ``−log(1 − risk_score)``) above which tiers B, C and
        D start: the policy's quantiles of the reference period.
    reference_scores_ : numpy.ndarray
        Sorted reference-period ``risk_log_excess`` values (for percentiles).
    tiers_ : dict
        The validated tier policy.
    """

    def __init__(
        self,
        by_region: bool = False,
        min_peers: int = 5,
        trim: float = 0.1,
        peer_quantile: float = 0.75,
        credibility: float = 0.9,
        min_norm: float = 0.005,
        min_prior_strength: float = 10.0,
        max_prior_strength: float | None = None,
        indicator_weights: Mapping | None = None,
        family_weights: Mapping | None = None,
        tiers: Mapping | None = None,
        n_reasons: int = 3,
        n_estimators: int = 200,
        random_state: int = 0,
        names: Mapping | None = None,
        profile_weight: float = 0.1,
        violation_prior: float = 0.1,
        improper_share: float = 0.1,
    ):
        self.by_region = by_region
        self.min_peers = min_peers
        self.trim = trim
        self.peer_quantile = peer_quantile
        self.credibility = credibility
        self.min_norm = min_norm
        self.min_prior_strength = min_prior_strength
        self.max_prior_strength = max_prior_strength
        self.indicator_weights = indicator_weights
        self.family_weights = family_weights
        self.tiers = tiers
        self.n_reasons = n_reasons
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.names = names
        self.profile_weight = profile_weight
        self.violation_prior = violation_prior
        self.improper_share = improper_share

    # ------------------------------------------------------------------ helpers
    def _levels(self) -> list[tuple[str, ...]]:
        full = (*PEER_COLUMNS, "region") if self.by_region else PEER_COLUMNS
        return [full, ("medins_type",), ()]

    def _check_params(self) -> None:
        if not (0 <= self.trim < 1):
            raise RiskscoreError(f"RiskScorer: trim must be in [0, 1), got {self.trim}")
        if not (0 < self.peer_quantile < 1):
            raise RiskscoreError(
                f"RiskScorer: peer_quantile must be in (0, 1), got {self.peer_quantile}"
            )
        if not (0 < self.credibility < 1):
            raise RiskscoreError(
                f"RiskScorer: credibility must be in (0, 1), got {self.credibility}"
            )
        for nm in ("violation_prior", "improper_share"):
            v = float(getattr(self, nm))
            if not (0 < v < 1):
                raise RiskscoreError(f"RiskScorer: {nm} must be in (0, 1), got {v}")
        if not (0 <= float(self.profile_weight) < 1):
            raise RiskscoreError(
                f"RiskScorer: profile_weight must be in [0, 1), got {self.profile_weight}"
            )
        if int(self.min_peers) < 1:
            raise RiskscoreError(f"RiskScorer: min_peers must be >= 1, got {self.min_peers}")
        if self.family_weights is not None:
            for f, w in self.family_weights.items():
                if f not in FAMILIES:
                    raise RiskscoreError(f"RiskScorer: unknown family '{f}' in family_weights")
                if not (0 <= float(w) <= 1):
                    raise RiskscoreError(
                        f"RiskScorer: family_weights['{f}'] must be in [0, 1], got {w}"
                    )

    def _institutions(self, institutions: pd.DataFrame) -> pd.DataFrame:
        cols = ["fixmedins_code", *PEER_COLUMNS] + (["region"] if self.by_region else [])
        _require_columns(institutions, cols, "institutions")
        inst = institutions.copy()
        inst["fixmedins_code"] = inst["fixmedins_code"].astype(str)
        dup = inst["fixmedins_code"].duplicated()
        if dup.any():
            raise RiskscoreError(
                "institutions: column fixmedins_code must be unique, duplicated: "
                + ", ".join(inst.loc[dup, "fixmedins_code"].head(5))
            )
        for c in cols[1:]:
            inst[c] = inst[c].astype("string").fillna("?").astype(str)
        keep = ["fixmedins_code", *PEER_COLUMNS, "region"]
        keep = [c for c in keep if c in inst.columns]
        inst = inst[keep].sort_values("fixmedins_code", kind="mergesort").reset_index(drop=True)
        for level, keys in enumerate(self._levels()):
            inst[f"peer{level}"] = (
                inst[list(keys)].astype(str).agg("|".join, axis=1) if keys else "all"
            )
        return inst

    def _long(self, values: pd.DataFrame, inst: pd.DataFrame) -> pd.DataFrame:
        _require_columns(values, VALUE_COLUMNS, "indicator values")
        v = values.loc[:, list(VALUE_COLUMNS)].copy()
        v["fixmedins_code"] = v["fixmedins_code"].astype(str)
        v["indicator_id"] = v["indicator_id"].astype(str)
        v["family"] = v["family"].astype(str)
        bad_family = sorted(set(v["family"]) - set(FAMILIES))
        if bad_family:
            raise RiskscoreError(
                f"indicator values: column family has unknown id(s) {', '.join(bad_family)}; "
                f"expected one of riskscore.contract.FAMILIES"
            )
        for c in ("numerator", "denominator"):
            v[c] = pd.to_numeric(v[c], errors="coerce").astype(float)
            if v[c].isna().any():
                raise RiskscoreError(
                    f"indicator values: column {c} must be numeric and non-empty "
                    f"({int(v[c].isna().sum())} empty or non-numeric)"
                )
            if (v[c] < 0).any():
                raise RiskscoreError(f"indicator values: column {c} must be >= 0")
        dup = v.duplicated(["fixmedins_code", "indicator_id"])
        if dup.any():
            raise RiskscoreError(
                "indicator values: more than one row per (fixmedins_code, indicator_id), e.g. "
                + ", ".join(
                    v.loc[dup, ["fixmedins_code", "indicator_id"]]
                    .head(3)
                    .astype(str)
                    .agg("/".join, axis=1)
                )
            )
        fam = v.groupby("indicator_id")["family"].nunique()
        if (fam > 1).any():
            raise RiskscoreError(
                "indicator values: an indicator_id belongs to several families: "
                + ", ".join(fam[fam > 1].index[:5])
            )
        unknown = ~v["fixmedins_code"].isin(inst["fixmedins_code"])
        if unknown.any():
            codes = sorted(v.loc[unknown, "fixmedins_code"].unique())
            warnings.warn(
                f"indicator values: {len(codes)} institution code(s) not in the institutions "
                f"table are not scored (e.g. {', '.join(codes[:3])})",
                stacklevel=3,
            )
            v = v[~unknown]
        v = v[v["denominator"] > 0]
        v = v.merge(inst, on="fixmedins_code", how="left")
        return v.sort_values(["indicator_id", "fixmedins_code"], kind="mergesort").reset_index(
            drop=True
        )

    # ------------------------------------------------------------------ fit
    def fit(self, values: pd.DataFrame, institutions: pd.DataFrame, exposure=None):
        """Learn peer-group priors, the peer norms, the IsolationForest and the tier cut-offs.

        Parameters
        ----------
        values : pandas.DataFrame
            Long indicator table of the reference period (参照期指标):
            ``fixmedins_code, indicator_id, family, numerator, denominator``.
        institutions : pandas.DataFrame
            Institution registry (检查对象名录库) with ``fixmedins_code, medins_type, hosp_lv``
            (and ``region`` when ``by_region``).
        exposure : pandas.DataFrame, optional
            Unused by the fit (accepted for symmetry with :meth:`score`).

        Returns
        -------
        RiskScorer
            ``self``.
        """
        self._check_params()
        self.tiers_ = validate_tiers(self.tiers, "RiskScorer(tiers=...)")
        inst = self._institutions(institutions)
        long = self._long(values, inst)
        rows = []
        kinds = {}
        families = {}
        for ind_id, sub in long.groupby("indicator_id", sort=True):
            x_all = sub["numerator"].to_numpy(float)
            n_all = sub["denominator"].to_numpy(float)
            kind = "proportion" if np.all(x_all <= n_all * (1 + 1e-9) + 1e-9) else "rate"
            kinds[ind_id] = kind
            families[ind_id] = sub["family"].iloc[0]
            for level, _keys in enumerate(self._levels()):
                for grp, g in sub.groupby(f"peer{level}", sort=True):
                    rows.append(self._fit_group(ind_id, families[ind_id], kind, level, grp, g))
        cols = [
            "indicator_id",
            "family",
            "kind",
            "level",
            "peer_group",
            "n_institutions",
            "alpha",
            "beta",
            "norm",
            "norm_mean",
        ]
        self.priors_ = pd.DataFrame(rows, columns=cols)
        self.indicators_ = sorted(kinds)
        self.kinds_ = kinds
        self.families_ = families
        # reference-period scores: features for the IsolationForest and tier cut-offs
        self.iforest_ = None
        detail = self._indicator_detail(long)
        feats = self._features(detail, inst)
        if len(feats) >= 2 and feats.shape[1] > 0:
            self.iforest_ = IsolationForest(
                n_estimators=int(self.n_estimators),
                random_state=int(self.random_state),
            ).fit(feats.to_numpy())
        log_excess = self._log_excess(
            self._family_excess(detail, inst), self._family_profile(detail, inst)
        )
        self.reference_scores_ = np.sort(log_excess)
        qs = self.tiers_["score_quantiles"]
        self.tier_cutoffs_ = {
            t: float(np.quantile(log_excess, qs[t])) if len(log_excess) else 0.0
            for t in ("B", "C", "D")
        }
        return self

    def _fit_group(self, ind_id, family, kind, level, grp, g) -> dict:
        x = g["numerator"].to_numpy(float)
        n = g["denominator"].to_numpy(float)
        if kind == "proportion":
            x = np.minimum(x, n)
        cap = self.max_prior_strength
        if cap is None:
            cap = max(10.0 * float(np.median(n)), 100.0)
        a, b = _mom_prior(x, n, kind, float(cap), float(self.min_prior_strength))
        # robust peer norm: refit without the trim share of highest shrunken rates
        theta = _posterior_mean(x, n, a, b, kind)
        keep = np.ones(len(x), dtype=bool)
        n_drop = int(math.floor(self.trim * len(x)))
        if n_drop > 0 and len(x) - n_drop >= 1:
            order = np.lexsort((g["fixmedins_code"].to_numpy(), -theta))
            keep[order[:n_drop]] = False
        ta, tb = _mom_prior(x[keep], n[keep], kind, float(cap))
        norm = float(_prior_quantile(self.peer_quantile, ta, tb, kind))
        norm_mean = ta / (ta + tb) if kind == "proportion" else ta / tb
        floor = 0.5 / (float(n[keep].sum()) + 1.0)
        return {
            "indicator_id": ind_id,
            "family": family,
            "kind": kind,
            "level": level,
            "peer_group": grp,
            "n_institutions": len(x),
            "alpha": float(a),
            "beta": float(b),
            "norm": max(norm, floor),
            "norm_mean": max(float(norm_mean), floor),
        }

    # ------------------------------------------------------------------ score
    def _check_fitted(self) -> None:
        if not hasattr(self, "priors_"):
            raise RiskscoreError("RiskScorer: call fit(values, institutions) before score()")

    def _indicator_detail(self, long: pd.DataFrame) -> pd.DataFrame:
        """Per institution and indicator: the chosen prior, shrunken rate and excess."""
        pri = self.priors_
        ok = pri[pri["n_institutions"] >= int(self.min_peers)]
        d = long[long["indicator_id"].isin(self.indicators_)].copy()
        if len(d) < len(long):
            new = sorted(set(long["indicator_id"]) - set(self.indicators_))
            warnings.warn(
                "indicators absent from the reference period are not scored: " + ", ".join(new),
                stacklevel=3,
            )
        d["level"] = -1
        d["peer_group"] = ""
        for c in ("alpha", "beta", "norm", "norm_mean"):
            d[c] = np.nan
        for level in range(len(self._levels())):
            lv = ok[ok["level"] == level] if level < 2 else pri[pri["level"] == level]
            lv = lv.rename(columns={"peer_group": f"peer{level}"})
            m = d[["indicator_id", f"peer{level}"]].merge(
                lv[["indicator_id", f"peer{level}", "alpha", "beta", "norm", "norm_mean"]],
                on=["indicator_id", f"peer{level}"],
                how="left",
            )
            take = (d["level"].to_numpy() < 0) & m["alpha"].notna().to_numpy()
            for c in ("alpha", "beta", "norm", "norm_mean"):
                d.loc[take, c] = m.loc[take, c].to_numpy()
            d.loc[take, "level"] = level
            d.loc[take, "peer_group"] = d.loc[take, f"peer{level}"]
        d["kind"] = d["indicator_id"].map(self.kinds_)
        x = d["numerator"].to_numpy(float)
        n = d["denominator"].to_numpy(float)
        prop = (d["kind"] == "proportion").to_numpy()
        x = np.where(prop, np.minimum(x, n), x)
        a = d["alpha"].to_numpy(float)
        b = d["beta"].to_numpy(float)
        shrunk = np.where(prop, (x + a) / (n + a + b), (x + a) / (n + b))
        q = 1.0 - float(self.credibility)
        with np.errstate(all="ignore"):
            lo_p = special.betaincinv(a + x, b + np.maximum(n - x, 0), q)
            lo_r = special.gammaincinv(a + x, q) / (n + b)
        lower = np.where(prop, lo_p, lo_r)
        norm = d["norm"].to_numpy(float)
        norm = np.where(prop, np.maximum(norm, float(self.min_norm)), norm)
        d["norm"] = norm
        d["rate"] = np.where(n > 0, x / np.where(n > 0, n, 1), 0.0)
        d["shrunk_rate"] = shrunk
        d["lower_rate"] = lower
        with np.errstate(divide="ignore"):
            d["log_ratio"] = np.log(np.maximum(shrunk, _EPS) / norm)
            raw_excess = np.maximum(0.0, np.log(np.maximum(lower, _EPS) / norm))
        weight = np.ones(len(d))
        if self.indicator_weights:
            iw = (
                d["indicator_id"]
                .map({k: float(v) for k, v in self.indicator_weights.items()})
                .to_numpy(float)
            )
            weight = np.where(np.isnan(iw), weight, iw)
        d["excess"] = raw_excess * weight
        d["indicator_score"] = 1.0 - np.exp(-d["excess"].to_numpy())
        return d

    def _features(self, detail: pd.DataFrame, inst: pd.DataFrame) -> pd.DataFrame:
        wide = detail.pivot_table(
            index="fixmedins_code", columns="indicator_id", values="log_ratio", aggfunc="first"
        )
        wide = wide.reindex(index=inst["fixmedins_code"], columns=self.indicators_)
        return wide.fillna(0.0)

    def _family_excess(self, detail: pd.DataFrame, inst: pd.DataFrame) -> pd.DataFrame:
        fam = detail.groupby(["fixmedins_code", "family"])["excess"].max().unstack("family")
        return fam.reindex(index=inst["fixmedins_code"], columns=list(FAMILIES)).fillna(0.0)

    def _family_profile(self, detail: pd.DataFrame, inst: pd.DataFrame) -> pd.DataFrame:
        """Profile ``m / (1 + m)`` per family, ``m`` = mean of the family's ratios
        ``shrunken rate / peer norm`` (NaN where no indicator of the family applies).

        Strictly increasing in every indicator's shrunken rate, so institutions differing in
        any indicator do not tie. Indicators switched off by ``indicator_weights`` (weight 0)
        count as ratio 0.
        """
        d = detail.assign(ratio=np.exp(detail["log_ratio"].to_numpy(float)))
        if self.indicator_weights:
            off = [k for k, v in self.indicator_weights.items() if float(v) == 0.0]
            d = d.assign(ratio=d["ratio"].where(~d["indicator_id"].isin(off), 0.0))
        m = d.groupby(["fixmedins_code", "family"])["ratio"].mean().unstack("family")
        m = m.reindex(index=inst["fixmedins_code"], columns=list(FAMILIES))
        return m / (1.0 + m)

    def _family_evidence(self, excess: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
        """Family evidence ``E_f = excess_f + profile_weight × profile_f`` (0 if not applicable)."""
        return excess + float(self.profile_weight) * profile.fillna(0.0)

    @staticmethod
    def _family_scores(evidence: pd.DataFrame) -> pd.DataFrame:
        return -np.expm1(-evidence)

    def _family_w(self, columns) -> np.ndarray:
        w = np.ones(len(columns))
        if self.family_weights:
            for f, wf in self.family_weights.items():
                w[list(columns).index(f)] = float(wf)
        return w

    def _log_excess(self, excess: pd.DataFrame, profile: pd.DataFrame | None = None) -> np.ndarray:
        """Composite evidence ``L`` (``risk_log_excess``): open scale, no saturation.

        ``L = Σ_f excess_f (noisy-OR of the weighted family excess shares) + profile_weight ×
        (weighted mean over applicable families of sigmoid(max log_ratio))``.
        """
        w = self._family_w(excess.columns)
        e = excess.to_numpy()
        with np.errstate(divide="ignore"):
            weighted = -np.log1p(w[None, :] * np.expm1(-e))
        terms = np.where(w[None, :] == 1.0, e, weighted)
        total = terms.sum(axis=1)
        if profile is not None and float(self.profile_weight) > 0:
            pr = profile.to_numpy(float)
            ok = ~np.isnan(pr)
            ww = np.where(ok, w[None, :], 0.0)
            den = ww.sum(axis=1)
            num = (ww * np.nan_to_num(pr)).sum(axis=1)
            mean = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
            total = total + float(self.profile_weight) * mean
        return total

    @staticmethod
    def _composite(log_excess: np.ndarray) -> np.ndarray:
        """``risk_score = L / (1 + L)`` in [0, 1): 0.5 at L = 1, 0.9 at L = 9."""
        return log_excess / (1.0 + log_excess)

    def score_details(
        self,
        values: pd.DataFrame,
        institutions: pd.DataFrame,
        exposure: pd.DataFrame | None = None,
        credit: pd.DataFrame | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Score institutions and return the per-indicator detail as well.

        Parameters are those of :meth:`score`.

        Returns
        -------
        scores : pandas.DataFrame
            As :meth:`score`.
        indicators : pandas.DataFrame
            One row per institution and applicable indicator: ``fixmedins_code,
            indicator_id, family, kind, peer_group, numerator, denominator, rate
            (raw 原始比率), shrunk_rate (收缩后比率), lower_rate, peer_norm (同类机构常态),
            peer_mean, log_ratio, excess, indicator_score``.
        """
        self._check_fitted()
        inst = self._institutions(institutions)
        long = self._long(values, inst)
        detail = self._indicator_detail(long)
        excess = self._family_excess(detail, inst)
        profile = self._family_profile(detail, inst)
        fam = self._family_scores(self._family_evidence(excess, profile))
        log_excess = self._log_excess(excess, profile)
        risk = self._composite(log_excess)

        out = inst[["fixmedins_code", *PEER_COLUMNS]].copy()
        if "region" in inst.columns:
            out["region"] = inst["region"]
        out["peer_group"] = inst["peer0"]
        out["risk_score"] = risk
        out["risk_log_excess"] = log_excess
        ref = self.reference_scores_
        out["risk_percentile"] = (
            np.searchsorted(ref, log_excess + 1e-12, side="right") / len(ref)
            if len(ref)
            else np.nan
        )
        # exposure
        fund = pd.Series(0.0, index=out.index)
        if exposure is not None and len(exposure):
            _require_columns(exposure, ["fixmedins_code", "fund_paid"], "exposure")
            ex = exposure.copy()
            ex["fixmedins_code"] = ex["fixmedins_code"].astype(str)
            ex = ex.groupby("fixmedins_code")["fund_paid"].sum()
            fund = out["fixmedins_code"].map(ex).astype(float).fillna(0.0)
        out["fund_paid"] = fund.to_numpy(float)
        # tiers by rank of the composite (ties: larger fund paid, then code, ranks higher)
        codes = out["fixmedins_code"].to_numpy()
        base = assign_tiers(log_excess, self.tiers_["score_quantiles"], out["fund_paid"], codes)
        out["tier_score"] = [TIER_LABELS[i] for i in base]
        rating = pd.Series(pd.NA, index=out.index, dtype="object")
        if credit is not None and len(credit):
            _require_columns(credit, ["fixmedins_code", "rating", "rating_date"], "credit_ratings")
            cr = credit[["fixmedins_code", "rating", "rating_date"]].copy()
            cr["fixmedins_code"] = cr["fixmedins_code"].astype(str)
            cr["rating_date"] = pd.to_datetime(cr["rating_date"])
            cr = cr.sort_values(["fixmedins_code", "rating_date"], kind="mergesort")
            latest = cr.groupby("fixmedins_code")["rating"].last().astype(str)
            bad = sorted(set(latest) - set(TIER_LABELS))
            if bad:
                raise RiskscoreError(
                    f"credit_ratings: column rating must be one of A, B, C, D, got {', '.join(bad)}"
                )
            rating = out["fixmedins_code"].map(latest)
        adj = self.tiers_["credit_adjust"]
        shift = rating.map(lambda r: adj.get(r, 0) if isinstance(r, str) else 0).astype(int)
        if (shift != 0).any():
            # the credit rating moves the institution: order by the shifted tier, those moved
            # up at the top of their new tier and those moved down at its bottom, then by the
            # score, and cut again, so the tier counts still follow the policy
            sh = shift.to_numpy()
            shifted = np.clip(base + sh, 0, 3)
            final = assign_tiers(
                log_excess,
                self.tiers_["score_quantiles"],
                out["fund_paid"],
                codes,
                first_key=shifted,
                second_key=np.sign(shifted - base),
            )
        else:
            final = base
        out["credit_rating"] = rating.fillna("").astype(str)
        out["tier"] = [TIER_LABELS[i] for i in final]
        # money at risk: P(violation) × fund paid × expected improper share
        pi0 = float(self.violation_prior)
        out["p_violation"] = pi0 + (1.0 - pi0) * -np.expm1(-log_excess)
        out["expected_loss"] = out["p_violation"] * out["fund_paid"] * float(self.improper_share)
        for f in FAMILIES:
            out[f] = fam[f].to_numpy()
        # second opinion
        if self.iforest_ is not None:
            feats = self._features(detail, inst)
            out["iforest_score"] = -self.iforest_.score_samples(feats.to_numpy())
        else:
            out["iforest_score"] = 0.0
        # reasons
        zh, en = self._reasons(detail, out["fixmedins_code"])
        out["top_reasons_zh"] = zh
        out["top_reasons_en"] = en

        ind = detail.rename(columns={"norm": "peer_norm", "norm_mean": "peer_mean"})
        ind = ind[
            [
                "fixmedins_code",
                "indicator_id",
                "family",
                "kind",
                "peer_group",
                "numerator",
                "denominator",
                "rate",
                "shrunk_rate",
                "lower_rate",
                "peer_norm",
                "peer_mean",
                "log_ratio",
                "excess",
                "indicator_score",
            ]
        ]
        ind = ind.sort_values(["fixmedins_code", "indicator_id"], kind="mergesort").reset_index(
            drop=True
        )
        order = (
            [
                "fixmedins_code",
                "risk_score",
                "tier",
                "expected_loss",
                *FAMILIES,
                "iforest_score",
                "top_reasons_zh",
                "top_reasons_en",
                "risk_log_excess",
                "risk_percentile",
                "tier_score",
                "credit_rating",
                "fund_paid",
                "p_violation",
                *PEER_COLUMNS,
            ]
            + (["region"] if "region" in out.columns else [])
            + ["peer_group"]
        )
        return out[order].reset_index(drop=True), ind

    def score(
        self,
        values: pd.DataFrame,
        institutions: pd.DataFrame,
        exposure: pd.DataFrame | None = None,
        credit: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Score every institution of ``institutions`` (one row each, sorted by code).

        Parameters
        ----------
        values : pandas.DataFrame
            Long indicator table of the period to score (待评分期指标):
            ``fixmedins_code, indicator_id, family, numerator, denominator``.
        institutions : pandas.DataFrame
            Registry with ``fixmedins_code, medins_type, hosp_lv`` (``region`` when
            ``by_region``). Every institution gets a row, also those without claims.
        exposure : pandas.DataFrame, optional
            ``fixmedins_code, fund_paid`` (统筹基金支付); missing → ``expected_loss`` 0.
        credit : pandas.DataFrame, optional
            Credit ratings (信用风险分类) ``fixmedins_code, rating, rating_date``; the latest
            rating per institution shifts its tier.

        Returns
        -------
        pandas.DataFrame
            ``fixmedins_code, risk_score, tier, expected_loss``, one column per family id
            (family scores in [0, 1)), ``iforest_score, top_reasons_zh, top_reasons_en,
            risk_percentile`` (share of reference institutions with a score ≤ this one),
            ``tier_score`` (tier before the credit adjustment), ``credit_rating, fund_paid,
            medins_type, hosp_lv, peer_group``.
        """
        return self.score_details(values, institutions, exposure, credit)[0]

    def transform(self, values: pd.DataFrame, institutions: pd.DataFrame) -> pd.DataFrame:
        """Family scores only (违规类型得分), one row per institution, indexed by code."""
        self._check_fitted()
        inst = self._institutions(institutions)
        detail = self._indicator_detail(self._long(values, inst))
        ev = self._family_evidence(
            self._family_excess(detail, inst), self._family_profile(detail, inst)
        )
        return self._family_scores(ev)

    # ------------------------------------------------------------------ reasons
    def _name(self, ind_id: str) -> IndicatorName:
        names = self.names
        if names is None:
            if not hasattr(self, "_names_cache"):
                self._names_cache = indicator_names()
            names = self._names_cache
        got = names.get(ind_id) if names else None
        if got is None:
            return IndicatorName(ind_id, ind_id)
        if isinstance(got, IndicatorName):
            return got
        if isinstance(got, Mapping):
            return IndicatorName(str(got.get("zh", ind_id)), str(got.get("en", ind_id)))
        return IndicatorName(str(got[0]), str(got[1]))

    def _reasons(self, detail: pd.DataFrame, codes: pd.Series) -> tuple[list[str], list[str]]:
        top = detail[detail["excess"] > 0].sort_values(
            ["fixmedins_code", "excess", "indicator_id"],
            ascending=[True, False, True],
            kind="mergesort",
        )
        top = top.groupby("fixmedins_code", sort=False).head(int(self.n_reasons))
        zh_map: dict[str, list[str]] = {}
        en_map: dict[str, list[str]] = {}
        for r in top.itertuples(index=False):
            nm = self._name(r.indicator_id)
            fzh, fen = FAMILIES[r.family]
            val, peer = format_rate(r.rate, r.kind), format_rate(r.norm_mean, r.kind)
            zh_map.setdefault(r.fixmedins_code, []).append(
                f"{fzh}：{nm.zh} {val}（同类机构 {peer}）"
            )
            en_map.setdefault(r.fixmedins_code, []).append(f"{fen}: {nm.en} {val} (peers {peer})")
        zh = ["；".join(zh_map.get(c, [])) for c in codes]
        en = ["; ".join(en_map.get(c, [])) for c in codes]
        return zh, en


def tier_counts(n: int, score_quantiles: Mapping) -> list[int]:
    """Number of institutions per tier A–D for ``n`` institutions (各等级机构数).

    The policy's shares (A: ``B``, B: ``C − B``, C: ``D − C``, D: ``1 − D`` of
    ``score_quantiles``) are apportioned by largest remainder (ties to the higher tier), so
    every count is within one of ``share × n``. With at least four institutions no tier is
    left empty: an empty tier takes one institution from the most over-allocated tier.
    """
    q = [float(score_quantiles[t]) for t in ("B", "C", "D")]
    shares = np.array([q[0], q[1] - q[0], q[2] - q[1], 1.0 - q[2]])
    quota = shares * n
    counts = np.floor(quota + 1e-9).astype(int)
    rest = n - int(counts.sum())
    order = sorted(range(4), key=lambda i: (-(quota[i] - counts[i]), -i))
    for i in order[:rest]:
        counts[i] += 1
    if n >= 4:
        for i in range(4):
            if counts[i] == 0:
                donor = max(
                    (j for j in range(4) if counts[j] >= 2),
                    key=lambda j: (counts[j] - quota[j], counts[j]),
                )
                counts[donor] -= 1
                counts[i] += 1
    return [int(c) for c in counts]


def assign_tiers(
    score: np.ndarray,
    score_quantiles: Mapping,
    fund_paid=None,
    codes=None,
    first_key: np.ndarray | None = None,
    second_key: np.ndarray | None = None,
) -> np.ndarray:
    """Tier index 0–3 (A–D) by rank of ``score`` (按排名分级).

    Institutions are ordered by ``first_key`` (when given, e.g. the credit-shifted tier),
    then ``second_key`` (e.g. the direction of the credit shift), then ``score``, then ``fund_paid``, then code (a deterministic tie-break: equal scores
    put the larger fund exposure, then the larger code, higher), and cut into the counts of
    :func:`tier_counts`.
    """
    score = np.asarray(score, float)
    n = len(score)
    if n == 0:
        return np.zeros(0, dtype=int)
    fund = np.zeros(n) if fund_paid is None else np.asarray(fund_paid, float)
    codes = np.arange(n).astype(str) if codes is None else np.asarray(codes).astype(str)
    keys = [codes, fund, score]
    keys += [np.asarray(k) for k in (second_key, first_key) if k is not None]
    order = np.lexsort(keys)
    counts = tier_counts(n, score_quantiles)
    tier = np.empty(n, dtype=int)
    tier[order] = np.repeat(np.arange(4), counts)
    return tier


def score_information(scores: pd.DataFrame, band: float = 0.02, share: float = 0.8) -> dict:
    """How much the scores tell apart (评分信息量), for the low-information warning.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``scores.csv`` (needs ``risk_score``; ``top_reasons_en`` optional).
    band : float
        Half-width of the band around the median ``risk_score``.
    share : float
        The warning is raised when at least this share of the scored institutions lie in the
        band, or have no indicator credibly above the peers' norm.

    Returns
    -------
    dict
        ``n_scored`` (institutions with a score > 0), ``share_in_band``, ``band``,
        ``share_without_excess`` (no indicator credibly above the peers' norm: empty
        ``top_reasons_en``; None without that column),
        ``iqr`` of ``risk_score``, ``ties`` (share of scored institutions sharing their score
        with another), ``low_information`` (bool).
    """
    rs = pd.to_numeric(scores["risk_score"], errors="coerce").fillna(0.0)
    scored = rs[rs > 0]
    n = int(len(scored))
    if n == 0:
        return {
            "n_scored": 0,
            "band": band,
            "share_in_band": 1.0,
            "share_without_excess": 1.0,
            "iqr": 0.0,
            "ties": 0.0,
            "low_information": True,
        }
    med = float(scored.median())
    in_band = float(((scored - med).abs() <= band).mean())
    no_ex = None
    if "top_reasons_en" in scores.columns:  # reasons name only indicators with excess > 0
        no_ex = float((scores.loc[scored.index, "top_reasons_en"].fillna("") == "").mean())
    q75, q25 = np.quantile(scored, [0.75, 0.25])
    info = {
        "n_scored": n,
        "band": band,
        "share_in_band": in_band,
        "share_without_excess": no_ex,
        "iqr": float(q75 - q25),
        "ties": float(scored.duplicated(keep=False).mean()),
    }
    info["low_information"] = bool(in_band >= share or (no_ex is not None and no_ex >= share))
    return info


def format_rate(value: float, kind: str = "proportion") -> str:
    """Format a rate for reasons: percentages (1 decimal, 2 significant digits below 1 %)."""
    if kind != "proportion":
        return f"{value:.2f}"
    if value >= 0.01 or value == 0:
        return f"{value:.1%}"
    return f"{value * 100:.2g}%"


def family_auc(
    scores: pd.DataFrame, truth: pd.DataFrame, decoys: pd.DataFrame | None = None
) -> dict:
    """Detection quality against planted truth (合成数据检验): ROC-AUC per family and overall.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :meth:`RiskScorer.score` (or ``scores.csv``).
    truth : pandas.DataFrame
        ``fixmedins_code, family`` rows for planted violations (``truth.csv``); other
        columns are ignored.
    decoys : pandas.DataFrame, optional
        ``fixmedins_code`` of honest-but-unusual institutions (``truth_decoys.csv``).

    Returns
    -------
    dict
        ``{family_id: ROC-AUC of the family score, or None without positives}``;
        ``any``: ROC-AUC of ``risk_score`` for "any violation"; ``iforest_any``: the same
        for ``iforest_score``; ``top_decile_precision``: share of violators among the 10 %
        highest ``risk_score``; ``prevalence``; ``n_violators``, ``n_positive`` per family
        (``positives``); ``decoy_percentile``: mean percentile of the decoys' ``risk_score``
        among institutions without violations (None without decoys).
    """
    from sklearn.metrics import roc_auc_score

    codes = scores["fixmedins_code"].astype(str)
    t = truth.copy()
    t["fixmedins_code"] = t["fixmedins_code"].astype(str)
    rank_col = "risk_log_excess" if "risk_log_excess" in scores.columns else "risk_score"
    risk = scores[rank_col].to_numpy(float)
    res: dict = {"positives": {}}
    for f in FAMILIES:
        y = codes.isin(t.loc[t["family"] == f, "fixmedins_code"]).to_numpy()
        res["positives"][f] = int(y.sum())
        res[f] = float(roc_auc_score(y, scores[f])) if 0 < y.sum() < len(y) else None
    y = codes.isin(t["fixmedins_code"]).to_numpy()
    both = 0 < y.sum() < len(y)
    res["any"] = float(roc_auc_score(y, risk)) if both else None
    if "iforest_score" in scores.columns:
        res["iforest_any"] = float(roc_auc_score(y, scores["iforest_score"])) if both else None
    k = max(1, int(round(0.1 * len(scores))))
    top = np.lexsort((codes.to_numpy(), -risk))[:k]
    res["top_decile_precision"] = float(y[top].mean()) if len(y) else None
    res["prevalence"] = float(y.mean()) if len(y) else None
    res["n_institutions"] = int(len(y))
    res["n_violators"] = int(y.sum())
    res["decoy_percentile"] = None
    if decoys is not None and len(decoys):
        dec = set(decoys["fixmedins_code"].astype(str))
        honest = ~y
        pct = pd.Series(risk[honest]).rank(pct=True, method="average").to_numpy()
        is_dec = codes[honest].isin(dec).to_numpy()
        res["n_decoys"] = int(is_dec.sum())
        res["decoy_percentile"] = float(pct[is_dec].mean()) if is_dec.any() else None
    return res

"""Design-based estimators after a stratified random inspection draw (抽查结果的设计推断).

A risk-targeted draw inspects risky institutions more often, so the violation rate among
the inspected (the *naive* rate) overstates the province's. With the inclusion probability
π_i (入样概率) of every drawn institution known from the draw, the estimators below are
unbiased (Horvitz–Thompson) or nearly so (Hájek), with design-based variances for
stratified simple random sampling (分层简单随机抽样):

* Horvitz–Thompson total ``Σ y_i/π_i``; variance ``Σ_h N_h² (1−f_h) s_h² / n_h``.
* HT rate: the HT total divided by the known population size ``N``.
* Hájek rate (ratio) ``Σ (y_i/π_i) / Σ (1/π_i)`` with Taylor-linearisation variance: the
  stratified variance of the HT total of ``z_i = (y_i − R̂) / N̂``.
* Domain (e.g. per tier) estimates are Hájek ratios of ``y_i·d_i`` over ``d_i``.

Every variance is computed from the weighted contributions ``u_i = w_i z_i`` (``w_i = 1/π_i``)
as ``Σ_h (1−f_h) n_h/(n_h−1) Σ_{i∈h} (u_i − ū_h)²``, which equals the textbook formula for
stratified SRS (and R's ``survey`` package: ``tests/test_estimate_reference.py``). A stratum
with a single sampled unit (n_h = 1 < N_h) is by default *collapsed*: it contributes its
squared deviation from a partner stratum's mean, conservative in expectation;
``singleton="nan"`` instead returns NaN with the reason in ``note``.

``se`` is always the textbook standard error. Intervals (``ci``): ``normal``, ``t`` (n − H
degrees of freedom), ``wilson`` and ``kg`` (Korn–Graubard as R's ``svyciprop(method="beta")``)
for rates, ``beta`` (stratified Jeffreys, :func:`beta_interval`) for rates, ``logt``
(log-transformed t) for totals of amounts, and ``auto`` (beta / logt / t by measure). For
measures that are 0/1 indicators by definition, strata with all-equal outcomes add a
small-sample term to the variance behind normal/t/wilson/kg intervals
(:meth:`StratifiedSample.degenerate_binary_variance`); for amounts, ``logt`` adds the
no-amount term (:meth:`StratifiedSample.zero_amount_variance`). Rate intervals are clipped to
[0, 1], totals of non-negative amounts at 0.

Only inspections whose origin is the random draw (``origin == "draw"``) may enter these
estimators; :func:`split_by_origin` separates them and counts the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from riskscore.errors import RiskscoreError

Z95 = 1.959963984540054
"""Two-sided 95 % normal quantile."""

CI_METHODS = ("auto", "normal", "t", "wilson", "kg", "beta", "logt")
"""Interval methods. ``auto`` (default): ``beta`` for rates and violating-institution
totals, ``logt`` for totals of amounts, ``t`` otherwise (lift, means)."""
SINGLETON_METHODS = ("collapse", "nan")


@dataclass
class Estimate:
    """One estimate with its design-based standard error and 95 % interval.

    Attributes
    ----------
    estimate : float
    se : float
        Standard error (NaN when not estimable; see ``note``).
    ci_low, ci_high : float
        95 % confidence interval.
    n : int
        Number of sampled units used.
    note : str
        Why something is NaN, which strata were collapsed, which interval was used.
    method : str
        Name of the interval method (``normal``, ``t``, ``wilson``, ``kg`` …).
    var_ci : float
        Variance the interval was built from: the textbook ``se**2`` plus, for 0/1 outcomes,
        the all-equal-strata term (:meth:`StratifiedSample.degenerate_binary_variance`).
        Used when rounds are combined.
    df : int
        Degrees of freedom of the design (or of the domain, for Korn–Graubard).
    cells : list
        For rates of a stratified SRS: ``(stratum, N̂_hd, k, m, N_h, m_h)`` per stratum
        (domain size estimate, findings and units in the domain, stratum size and units),
        from which the ``beta`` interval is built and rounds are pooled.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    note: str = ""
    method: str = ""
    var_ci: float = float("nan")
    df: int = 1
    cells: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "note": self.note,
            "method": self.method,
        }


@dataclass
class StratifiedSample:
    """The inspected units of a stratified SRS draw, with their design (抽样设计).

    Parameters
    ----------
    stratum : array-like of str
        Stratum (分层) of every sampled unit.
    N_h : mapping stratum -> int
        Population size of every stratum of the frame (also strata with no sampled unit).
    n_h : mapping stratum -> int
        Number of units sampled in every stratum (as designed). When fewer units carry a
        result (non-response / inspection not yet done), the weights are adjusted within the
        stratum (``w = N_h / m_h``, m_h = units with a result) and ``note`` says so.
    pi : array-like of float, optional
        Recorded inclusion probability (入样概率) of every sampled unit; checked against
        ``n_h / N_h``. When they disagree (not a stratified SRS design), weights ``1/π`` are
        used and the variance drops the finite-population correction (with-replacement
        approximation), noted.
    group : mapping stratum -> str, optional
        Strata of one group (e.g. one tier) are collapsed together first when a stratum
        has a single sampled unit.
    singleton : {"collapse", "nan"}
        Treatment of strata with one sampled unit (see module docstring).
    design : {"srs", "pips"}
        ``pips``: probability proportional to size within each stratum (conditional Poisson,
        :mod:`riskscore.pips`): weights ``1/π_i`` (× ``n_h/m_h`` when drawn units lack a
        result) and Hájek's variance approximation (:meth:`variance_of_total`).
    """

    stratum: np.ndarray
    N_h: dict
    n_h: dict
    pi: np.ndarray | None = None
    group: dict | None = None
    singleton: str = "collapse"
    design: str = "srs"
    weight: np.ndarray = field(init=False)
    fpc_ok: bool = field(init=False)
    notes: list = field(init=False)

    def __post_init__(self) -> None:
        self.stratum = np.asarray(self.stratum).astype(str)
        self.N_h = {str(k): int(v) for k, v in self.N_h.items()}
        self.n_h = {str(k): int(v) for k, v in self.n_h.items()}
        if self.singleton not in SINGLETON_METHODS:
            raise RiskscoreError(
                f"singleton must be one of {SINGLETON_METHODS}, got {self.singleton!r}"
            )
        self.notes = []
        self._plan = None
        unknown = sorted(set(self.stratum) - set(self.N_h))
        if unknown:
            raise RiskscoreError(
                f"stratum {unknown[0]!r} of an inspected unit is not in the draw frame (N_h)"
            )
        keys, counts = np.unique(self.stratum, return_counts=True)
        m_h = dict(zip(keys.tolist(), counts.tolist(), strict=True))
        self.m_h = {h: int(m_h.get(h, 0)) for h in self.N_h}
        for h, m in self.m_h.items():
            if m > self.N_h[h]:
                raise RiskscoreError(
                    f"stratum {h!r}: {m} inspected units but N_h = {self.N_h[h]} in the frame"
                )
        short = {h: (self.n_h.get(h, 0), m) for h, m in self.m_h.items() if m < self.n_h.get(h, 0)}
        if short:
            miss = sum(a - b for a, b in short.values())
            self.notes.append(
                f"{miss} drawn unit(s) without a result in {len(short)} stratum/strata: "
                "weights adjusted within stratum (N_h/m_h)"
            )
        empty = sorted(h for h, m in self.m_h.items() if m == 0 and self.n_h.get(h, 0) > 0)
        if empty:
            self.notes.append(
                f"stratum/strata {', '.join(empty)} drawn but without any result: their "
                f"{sum(self.N_h[h] for h in empty)} institutions are not represented"
            )
        # Design weights
        self.fpc_ok = True
        self.design_pi = None
        if self.design == "pips":
            if self.pi is None:
                raise RiskscoreError(
                    "the pips design needs the inclusion probability of every unit"
                )
            pi = np.asarray(self.pi, dtype=float)
            if np.any(~np.isfinite(pi)) or np.any(pi <= 0) or np.any(pi > 1):
                raise RiskscoreError("inclusion probability pi must be in (0, 1] for every unit")
            self.fpc_ok = False
            adj = np.array([self.n_h.get(h, 0) / self.m_h[h] for h in self.stratum], dtype=float)
            adj = np.maximum(adj, 1.0)
            self.design_pi = pi
            self.weight = adj / pi
            self.pi = 1.0 / self.weight
            self.notes.append(
                "πps design (conditional Poisson): weights 1/π, Hájek variance approximation"
            )
            return
        if self.design != "srs":
            raise RiskscoreError(f"design must be 'srs' or 'pips', got {self.design!r}")
        if self.pi is not None:
            pi = np.asarray(self.pi, dtype=float)
            if np.any(~np.isfinite(pi)) or np.any(pi <= 0) or np.any(pi > 1):
                raise RiskscoreError("inclusion probability pi must be in (0, 1] for every unit")
            srs_pi = np.array([self.n_h.get(h, 0) / self.N_h[h] for h in self.stratum])
            if not np.allclose(pi, srs_pi, rtol=1e-6, atol=1e-9):
                self.fpc_ok = False
                self.notes.append(
                    "pi differs from n_h/N_h: weights 1/pi, variance without finite-population "
                    "correction (with-replacement approximation)"
                )
                self.weight = 1.0 / pi
                self.pi = pi
                return
        self.weight = np.array([self.N_h[h] / self.m_h[h] for h in self.stratum], dtype=float)
        self.pi = 1.0 / self.weight

    @property
    def n(self) -> int:
        return int(len(self.stratum))

    @property
    def N(self) -> int:
        """Population size of the frame (Σ N_h)."""
        return int(sum(self.N_h.values()))

    @property
    def n_strata(self) -> int:
        return int(sum(1 for m in self.m_h.values() if m > 0))

    # ------------------------------------------------------------------ variance
    def _singleton_partners(self) -> tuple[dict, list[str]]:
        """For every stratum with one sampled unit (n_h = 1 < N_h), the strata whose units
        centre its variance term (see :meth:`variance_of_total`)."""
        notes: list[str] = []
        singles = sorted(h for h, m in self.m_h.items() if m == 1 and self.N_h[h] > 1)
        if not singles or self.singleton == "nan":
            return {}, notes
        others = sorted(h for h, m in self.m_h.items() if m >= 2)
        group = self.group or {}
        by_group: dict = {}
        for h in singles:
            by_group.setdefault(group.get(h, "__all__"), []).append(h)
        partners: dict = {}
        for hs in by_group.values():
            if len(hs) >= 2:
                for h in hs:
                    partners[h] = [o for o in hs if o != h]
                notes.append(
                    f"strata {'+'.join(hs)} (n_h=1) collapsed for variance: each against "
                    "the mean of the others"
                )
                continue
            h = hs[0]
            same = [o for o in others if group.get(o, "__all__") == group.get(h, "__all__")]
            pool = same or others
            if pool:
                target = min(pool, key=lambda o: (self.N_h[o], o))
                partners[h] = [target]
            else:
                rest = [s for s in singles if s != h]
                if not rest:
                    continue
                partners[h] = rest
                target = "+".join(rest)
            notes.append(
                f"stratum {h} (n_h=1) collapsed with {target} for variance: its deviation "
                "from that stratum's mean (conservative)"
            )
        return partners, notes

    def _variance_plan(self):
        """Stratum codes, sizes, fpc and singleton partners (cached: design only)."""
        if getattr(self, "_plan", None) is None:
            partners, notes = self._singleton_partners()
            keys, inv = np.unique(self.stratum, return_inverse=True)
            n_g = np.bincount(inv, minlength=len(keys)).astype(float)
            N_g = np.array([self.N_h[h] for h in keys], dtype=float)
            f_g = n_g / N_g if self.fpc_ok else np.zeros(len(keys))
            pos = {h: k for k, h in enumerate(keys.tolist())}
            part = {pos[h]: [pos[o] for o in os_] for h, os_ in partners.items()}
            self._plan = (keys, inv, n_g, f_g, part, notes)
        return self._plan

    def variance_of_total(self, z: np.ndarray) -> tuple[float, str]:
        """Design variance of the HT total ``Σ w_i z_i`` of a per-unit variable ``z``.

        Strata with ≥ 2 sampled units contribute the textbook term
        ``(1−f_h) n_h/(n_h−1) Σ_{i∈h} (u_i − ū_h)²`` (``u = w z``); a census stratum
        contributes 0. A stratum h with one sampled unit (n_h = 1 < N_h) is *collapsed*
        (default): it contributes ``w_h² (z_h − z̄_P)²`` where ``z̄_P`` is the mean of ``z``
        over the units of its partner stratum(s) P (another stratum of the same tier, else
        the smallest sampled stratum; or the other singletons of its tier). As the partner's
        units are drawn independently of unit h, the expectation of this term is
        ``w_h² [σ_h² + (Z̄_h − E z̄_P)² + Var z̄_P] ≥ N_h² σ_h²``, the true variance of the
        stratum's total: the collapsed estimator is conservative whatever the strata's means
        and sampling fractions.

        Parameters
        ----------
        z : array of float, one per sampled unit

        Returns
        -------
        variance : float
            NaN when a stratum has a single unit and ``singleton="nan"`` (or no other
            stratum was sampled).
        note : str
        """
        z = np.asarray(z, dtype=float)
        u = self.weight * z
        if self.design == "pips":
            return self._pips_variance(u)
        keys, inv, n_g, f_g, part, notes = self._variance_plan()
        notes = list(notes)
        single = (n_g == 1) & (f_g < 1.0)
        unpaired = [k for k in np.flatnonzero(single) if k not in part]
        if unpaired:
            notes.append(f"stratum {keys[unpaired[0]]}: n_h=1, variance not estimable")
            return float("nan"), "; ".join(notes)
        sums = np.bincount(inv, weights=u, minlength=len(keys))
        mean = sums / n_g
        ss = np.bincount(inv, weights=(u - mean[inv]) ** 2, minlength=len(keys))
        ok = n_g > 1
        total = float(np.sum((1.0 - f_g[ok]) * n_g[ok] / (n_g[ok] - 1) * ss[ok]))
        if part:
            zsum = np.bincount(inv, weights=z, minlength=len(keys))
            for k, ps in part.items():
                i = int(np.flatnonzero(inv == k)[0])
                zbar = float(zsum[ps].sum() / n_g[ps].sum())
                total += float((self.weight[i] * (z[i] - zbar)) ** 2)
        return max(total, 0.0), "; ".join(notes)

    def _pips_variance(self, u: np.ndarray) -> tuple[float, str]:
        """Hájek's variance approximation of a πps (conditional Poisson) HT total.

        Per stratum, over its sampled units with π_i < 1 (take-all units contribute
        nothing): ``Σ c_i (u_i − ū*)²`` with ``c_i = (1 − π_i) n'/(n' − 1)``, ``n'`` those
        units and ``ū* = Σ c_i u_i / Σ c_i`` (Hájek 1964; Tillé 2006 §5.6; Berger 2004). With
        equal π it is the textbook ``(1 − f) n/(n − 1) Σ (u_i − ū)²``. A stratum with a
        single such unit contributes the Poisson-sampling term ``(1 − π_i) u_i²``
        (``singleton="nan"``: NaN).
        """
        pi = self.design_pi
        total, notes = 0.0, []
        for h in sorted(set(self.stratum.tolist())):
            idx = np.flatnonzero((self.stratum == h) & (pi < 1.0))
            m = len(idx)
            if m == 0:
                continue
            if m == 1:
                if self.singleton == "nan":
                    return float("nan"), f"stratum {h}: one random unit, variance not estimable"
                i = idx[0]
                total += float((1.0 - pi[i]) * u[i] ** 2)
                notes.append(f"stratum {h} (one random unit): Poisson-sampling term (1−π)u²")
                continue
            c = (1.0 - pi[idx]) * m / (m - 1)
            ubar = float(np.sum(c * u[idx]) / np.sum(c))
            total += float(np.sum(c * (u[idx] - ubar) ** 2))
        return max(total, 0.0), "; ".join(notes)

    def _fpc_weight_sq(self, idx, f: float) -> float:
        """``Σ_{i∈h} (1 − f_h) w_i²``, or ``Σ (1 − π_i) w_i²`` for the pips design."""
        if self.design == "pips":
            return float(np.sum((1.0 - self.design_pi[idx]) * self.weight[idx] ** 2))
        return (1 - f) * float(np.sum(self.weight[idx] ** 2))

    def degenerate_binary_variance(self, y, x, scale: float) -> tuple[float, str]:
        """Small-sample variance term for strata whose 0/1 outcomes are all equal.

        (全同结果分层的小样本方差修正) When every sampled unit of a stratum has the same
        outcome (no finding among its m inspections, or only findings) its within-stratum
        variance estimate is 0, although the stratum's rate is not known exactly: the
        interval of a rate could then shrink to a point (e.g. ``19.3% (19.3%–19.3%)``).
        Such a stratum instead contributes, *to the interval* (the textbook ``se`` is left
        as it is), the variance it would have with the proportion ``p̃ = (k + ½) / (m + 1)``
        (k findings of m; half a finding and half a non-finding added, Jeffreys-style):
        ``(1 − f_h) m/(m−1) Σ_{i∈h} w_i² p̃(1−p̃) · scale²``. Only strata with m ≥ 2,
        ``f_h < 1`` and entirely inside the domain (``x = 1`` for all their units) are
        adjusted; strata outside the domain and strata with varying outcomes are untouched.
        The caller decides that ``y`` is an indicator (by the measure, not by its values).

        Parameters
        ----------
        y : array of 0/1, one per sampled unit
        x : array of 0/1
            Domain indicator (all 1 for the whole population).
        scale : float
            Derivative of the estimate with respect to one unit's weighted outcome
            (``1/N`` for the HT rate, ``1/N̂`` or ``1/N̂_d`` for a Hájek rate, 1 for a total).

        Returns
        -------
        variance : float
            The sum of the adjustment terms (0 when no stratum is degenerate).
        note : str
        """
        y = np.asarray(y, dtype=float)
        x = np.asarray(x, dtype=float)
        extra, hit = 0.0, []
        for h in sorted(self.m_h):
            m = self.m_h[h]
            if m < 2:
                continue
            idx = self.stratum == h
            if not np.all(x[idx] == 1):
                continue
            yh = y[idx]
            k = float(yh.sum())
            if 0 < k < m:
                continue
            f = m / self.N_h[h] if self.fpc_ok else 0.0
            if f >= 1.0:
                continue
            pt = (k + 0.5) / (m + 1)
            extra += m / (m - 1) * self._fpc_weight_sq(idx, f) * pt * (1 - pt)
            hit.append(f"{h} ({int(k)}/{m})")
        if not hit:
            return 0.0, ""
        return extra * scale**2, (
            "small-sample adjustment: all-equal outcomes in stratum/strata "
            + ", ".join(hit)
            + " given the variance of (k+0.5)/(m+1) in the interval"
        )

    def zero_amount_variance(self, y, x) -> tuple[float, str]:
        """Interval term for strata where no inspected unit had an amount (all zero).

        (未发现违规金额分层的小样本方差) With 2–5 inspections a tier, a tier without any finding
        has a zero textbook variance although its unseen violators carry money: the total's
        interval then misses from below. Such a stratum (m ≥ 2, f_h < 1, wholly inside the
        domain) adds ``N_h² (1 − f_h) v / (m − 1)`` with
        ``v = p̃ θ₂ − (p̃ θ₁)²`` the variance of one unit's amount if a share
        ``p̃ = ½ / (m + 1)`` of the stratum had an amount distributed as the amounts found
        in the whole sample (θ₁, θ₂ their first two moments). Used by the ``logt`` interval.
        """
        y = np.asarray(y, dtype=float)
        x = np.asarray(x, dtype=float)
        pos = y[y > 0]
        if len(pos) == 0:
            return 0.0, ""
        th1, th2 = float(pos.mean()), float(np.mean(pos**2))
        extra, hit = 0.0, []
        for h in sorted(self.m_h):
            m = self.m_h[h]
            if m < 2:
                continue
            idx = self.stratum == h
            if not np.all(x[idx] == 1) or np.any(y[idx] != 0):
                continue
            f = m / self.N_h[h] if self.fpc_ok else 0.0
            if f >= 1.0:
                continue
            pt = 0.5 / (m + 1)
            v = pt * th2 - (pt * th1) ** 2
            extra += m / (m - 1) * self._fpc_weight_sq(idx, f) * v
            hit.append(f"{h} (0/{m})")
        if not hit:
            return 0.0, ""
        return extra, (
            "small-sample adjustment: no amount in stratum/strata "
            + ", ".join(hit)
            + " given the variance of half a finding with the sample's amounts"
        )

    def rate_cells(self, y, x) -> list:
        """Per-stratum summaries of a domain rate for the ``beta`` interval (empty when the
        design is not a stratified SRS)."""
        if not self.fpc_ok:
            return []
        y = np.asarray(y, dtype=float)
        d = np.asarray(x, dtype=float) != 0
        cells = []
        for h in sorted(self.m_h):
            idx = (self.stratum == h) & d
            m = int(idx.sum())
            if m == 0:
                continue
            nd = float(self.weight[idx].sum())
            cells.append((h, nd, float(y[idx].sum()), m, self.N_h[h], self.m_h[h]))
        return cells

    def df(self) -> int:
        """Degrees of freedom for t intervals: sampled units minus sampled strata (≥ 1)."""
        return max(self.n - self.n_strata, 1)

    def domain_df(self, domain) -> int:
        """Degrees of freedom of a domain: its sampled units minus the strata they lie in
        (what R's ``degf`` gives on ``subset(design, domain)``), at least 1."""
        d = np.asarray(domain, dtype=float) != 0
        return max(int(d.sum()) - len(set(self.stratum[d].tolist())), 1)


# ------------------------------------------------------------------ intervals
def _tq(df: float) -> float:
    return float(stats.t.ppf(0.975, max(df, 1)))


def interval(
    est: float,
    var: float,
    *,
    ci: str,
    df: int,
    rate: bool,
    n: int,
    n_units: int | None = None,
    nonneg: bool = False,
    cells: list | None = None,
) -> tuple[float, float, str]:
    """95 % interval of an estimate from its variance (区间估计).

    Parameters
    ----------
    est, var : float
        Estimate and the variance to build the interval from.
    ci : {"auto", "normal", "t", "wilson", "kg", "beta", "logt"}
        ``wilson``, ``kg`` and ``beta`` apply to rates of a 0/1 outcome (``beta`` needs
        ``cells``); for other measures they fall back to ``t`` (``kg``, ``beta``) or
        ``normal`` (``wilson``). ``logt``: log-transformed Student t interval
        ``θ̂ exp(± t_df sqrt(log(1 + V/θ̂²)))`` for totals of non-negative amounts.
        ``auto``: ``beta`` for rates, ``logt`` for non-negative totals, ``t`` otherwise.
    df : int
        Design degrees of freedom (of the domain, for ``kg``).
    rate : bool
        A rate of a 0/1 outcome: interval clipped to [0, 1].
    n : int
        Sampled units behind the estimate (the domain's units for a domain rate): the
        effective sample size when the estimate is 0 or 1 (or its variance 0).
    n_units : int, optional
        Rows of the (domain) sample for the Korn–Graubard df factor ``t_{n−1}/t_df``
        (default ``n``).
    nonneg : bool
        Clip the lower bound at 0 (totals of non-negative amounts, lift).
    cells : list, optional
        :meth:`StratifiedSample.rate_cells` of a rate (for ``beta``).

    Returns
    -------
    low, high : float
    method : str
        The method actually used.
    """
    if ci not in CI_METHODS:
        raise RiskscoreError(f"ci must be one of {CI_METHODS}, got {ci!r}")
    if ci == "auto":
        ci = "beta" if rate and cells else "kg" if rate else "logt" if nonneg else "t"
    if ci == "beta" and not (rate and cells):
        ci = "kg" if rate else "t"
    if not np.isfinite(est) or not np.isfinite(var):
        return float("nan"), float("nan"), ci
    if ci == "beta":
        lo, hi = beta_interval(cells)
        return lo, hi, "beta"
    if ci == "logt":
        q = _tq(df)
        if est > 0:
            sl = math.sqrt(math.log1p(var / est**2))
            return est * math.exp(-q * sl), est * math.exp(q * sl), "logt"
        if est == 0 and nonneg:
            return 0.0, q * math.sqrt(var), "logt"
        ci = "t"
    if ci in ("wilson", "kg") and rate:
        p = min(max(est, 0.0), 1.0)
        inner = var > 0 and 0 < p < 1
        n_eff = p * (1 - p) / var if inner else float(max(n, 1))
        if ci == "wilson":
            z = Z95
            denom = 1 + z * z / n_eff
            centre = (p + z * z / (2 * n_eff)) / denom
            half = z * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / denom
            return max(centre - half, 0.0), min(centre + half, 1.0), "wilson"
        # Korn & Graubard (1998), as R's svyciprop(method = "beta"): Clopper–Pearson on the
        # effective sample size scaled by (t_{n−1} / t_df)²
        if inner:
            m = n if n_units is None else n_units
            n_eff *= (_tq(m - 1) / _tq(df)) ** 2
        x = p * n_eff
        lo = float(stats.beta.ppf(0.025, x, n_eff - x + 1)) if x > 0 else 0.0
        hi = float(stats.beta.ppf(0.975, x + 1, n_eff - x)) if x < n_eff else 1.0
        return lo, hi, "kg"
    method = "t" if ci in ("t", "kg") else "normal"
    se = math.sqrt(var)
    q = _tq(df) if method == "t" else Z95
    lo, hi = est - q * se, est + q * se
    if rate:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    elif nonneg:
        lo = max(lo, 0.0)
    return lo, hi, method


def pool_cells(cells_by_round: list[list]) -> list:
    """Pool the ``beta`` cells of several rounds stratum by stratum (findings and units
    added; the year's posterior of each stratum's rate uses all its inspections)."""
    by: dict = {}
    for cells in cells_by_round:
        for h, nd, k, m, N_h, m_h in cells:
            if h in by:
                nd0, k0, m0, _, mh0, r0 = by[h]
                by[h] = (nd0 + nd, k0 + k, m0 + m, N_h, mh0 + m_h, r0 + 1)
            else:
                by[h] = (nd, k, m, N_h, m_h, 1)
    return [(h, nd / r, k, m, N_h, m_h) for h, (nd, k, m, N_h, m_h, r) in sorted(by.items())]


def beta_interval(cells: list) -> tuple[float, float]:
    """Stratified Jeffreys (beta) interval of a rate (分层 Jeffreys 区间).

    Each stratum's rate gets the Jeffreys posterior ``Beta(k + ½, m − k + ½)`` (k findings in
    m inspections); the finite-population rate of the stratum then has mean
    ``f k/m + (1 − f) μ_h`` and variance ``(1 − f)² μ_h(1 − μ_h)/(m + 2) + (1 − f)
    μ_h(1 − μ_h)/N_h`` (μ_h = (k + ½)/(m + 1), f = m_h/N_h); the domain rate Σ W_h p_h
    (W_h = N̂_hd / N̂_d) gets the beta distribution with the same mean and variance, whose
    2.5 % and 97.5 % quantiles are the interval. A tier without a finding thus widens the
    interval by what 4 clean inspections really leave open, not by a normal approximation.

    Parameters
    ----------
    cells : list of (stratum, N̂_hd, k, m, N_h, m_h)

    Returns
    -------
    low, high : float
    """
    tot = sum(c[1] for c in cells)
    if tot <= 0:
        return float("nan"), float("nan")
    mean = var = 0.0
    for _h, nd, k, m, N_h, m_h in cells:
        w = nd / tot
        f = min(m_h / N_h, 1.0)
        mu = (k + 0.5) / (m + 1)
        mean += w * (f * k / m + (1 - f) * mu)
        var += w**2 * ((1 - f) ** 2 * mu * (1 - mu) / (m + 2) + (1 - f) * mu * (1 - mu) / N_h)
    if var <= 0:
        return mean, mean
    mean = min(max(mean, 1e-12), 1 - 1e-12)
    s = mean * (1 - mean) / var - 1
    if s <= 0:
        return 0.0, 1.0
    a, b = mean * s, (1 - mean) * s
    return float(stats.beta.ppf(0.025, a, b)), float(stats.beta.ppf(0.975, a, b))


def _finish(
    est,
    var,
    note,
    sample,
    *,
    ci,
    rate,
    extra=0.0,
    extra_note="",
    n=None,
    domain=None,
    nonneg=False,
    cells=None,
    scale=1.0,
) -> Estimate:
    """Estimate with the textbook se (``var``) and the interval from ``var + extra``
    (``scale`` multiplies a ``beta`` rate interval, for totals of an indicator)."""
    n = sample.n if n is None else int(n)
    var_ci = var + extra if np.isfinite(var) else var
    df = sample.df()
    kg_df = sample.domain_df(domain) if domain is not None else df
    lo, hi, method = interval(
        est / scale,
        var_ci / scale**2,
        ci=ci,
        df=kg_df if ci == "kg" and rate else df,
        rate=rate,
        n=n,
        nonneg=nonneg,
        cells=cells,
    )
    lo, hi = lo * scale, hi * scale
    se = math.sqrt(var) if np.isfinite(var) else float("nan")
    notes = [s for s in [*sample.notes, note, extra_note] if s]
    if np.isfinite(var_ci) and var_ci == 0 and sample.n > 0 and method in ("normal", "t"):
        notes.append("zero estimated variance: interval degenerate (consider ci='kg')")
    if method != "normal":
        notes.append(f"{method} interval")
    return Estimate(
        float(est),
        se,
        lo,
        hi,
        n,
        "; ".join(notes),
        method=method,
        var_ci=float(var_ci),
        df=int(kg_df if ci == "kg" and rate else df),
        cells=list(cells or []),
    )


# ------------------------------------------------------------------ estimators
def ht_total(
    sample: StratifiedSample,
    y,
    *,
    ci: str = "normal",
    indicator: bool = False,
    domain=None,
) -> Estimate:
    """Horvitz–Thompson estimate of a population total (总量估计) ``Σ y_i/π_i``.

    Parameters
    ----------
    sample : StratifiedSample
    y : array of float
        Value of every sampled unit (e.g. improper amount 违规金额, or 0/1 violation).
    ci : {"auto", "normal", "t", "wilson", "kg", "beta", "logt"}
        For amounts: ``t`` and ``kg`` give a Student t interval, ``normal`` and ``wilson`` a
        normal one, ``logt`` / ``auto`` the log-t interval with the no-amount strata term
        (:meth:`StratifiedSample.zero_amount_variance`). For an indicator the interval is
        the domain size times the rate interval (``auto``/``beta``: stratified Jeffreys).
    indicator : bool
        ``y`` is a 0/1 indicator by definition of the measure (e.g. violating
        institutions): the interval then gets the all-equal-strata term. Amounts never do,
        whatever their values.
    domain : array of bool, optional
        Domain of the total (``y`` is zero outside it); strata outside the domain are not
        adjusted.

    Returns
    -------
    Estimate
        With the textbook variance ``Σ_h N_h² (1−f_h) s_h² / n_h``.
    """
    y = _as_y(y, sample)
    d = np.ones_like(y) if domain is None else np.asarray(domain, dtype=float)
    est = float(np.sum(sample.weight * y))
    var, note = sample.variance_of_total(y)
    nonneg = bool(np.all(y >= 0))
    if indicator:
        _check_indicator(y, True)
        extra, extra_note = _adjust_binary(sample, var, y, d, 1.0, True)
        size = float(np.sum(sample.weight * d))
        if size <= 0:
            size = 1.0
        return _finish(
            est,
            var,
            note,
            sample,
            ci=ci,
            rate=True,
            extra=extra,
            extra_note=extra_note,
            nonneg=True,
            cells=sample.rate_cells(y, d),
            scale=size,
            n=int(np.sum(d != 0)),
            domain=d != 0,
        )
    extra, extra_note = 0.0, ""
    if ci in ("auto", "logt") and nonneg and np.isfinite(var):
        extra, extra_note = sample.zero_amount_variance(y, d)
    return _finish(
        est,
        var,
        note,
        sample,
        ci=ci,
        rate=False,
        extra=extra,
        extra_note=extra_note,
        nonneg=nonneg,
    )


def ht_rate(
    sample: StratifiedSample, y, *, N: int | None = None, ci: str = "normal", indicator=True
) -> Estimate:
    """Horvitz–Thompson rate (违规率): HT total divided by the known population size ``N``.

    Parameters
    ----------
    sample : StratifiedSample
    y : array of 0/1 (or any value with ``indicator=False``)
    N : int, optional
        Population size; defaults to ``Σ N_h`` of the frame.
    ci : {"normal", "t", "wilson", "kg"}
    indicator : bool
        ``y`` is a 0/1 outcome (checked): rate interval and all-equal-strata term.
    """
    y = _as_y(y, sample)
    _check_indicator(y, indicator)
    N = sample.N if N is None else int(N)
    est = float(np.sum(sample.weight * y)) / N
    var, note = sample.variance_of_total(y)
    extra, extra_note = _adjust_binary(sample, var, y, np.ones_like(y), 1.0, indicator)
    return _finish(
        est,
        var / N**2,
        note,
        sample,
        ci=ci,
        rate=indicator,
        extra=extra / N**2,
        extra_note=extra_note,
        cells=sample.rate_cells(y, np.ones_like(y)) if indicator else None,
    )


def hajek_ratio(
    sample: StratifiedSample, y, x=None, *, ci: str = "normal", indicator: bool = False
) -> Estimate:
    """Hájek / ratio estimate ``Σ w y / Σ w x`` with linearisation variance.

    With ``x = 1`` this is the Hájek mean (rate) ``Σ(y_i/π_i)/Σ(1/π_i)``; with ``y = y·d``
    and ``x = d`` for a domain indicator ``d`` it is the domain (e.g. per-tier) mean.

    Parameters
    ----------
    sample : StratifiedSample
    y : array
    x : array, optional
        Denominator variable (default 1).
    ci : {"normal", "t", "wilson", "kg"}
    indicator : bool
        ``y`` is 0/1 and ``x`` a 0/1 domain (checked): a rate, with the rate intervals and
        the all-equal-strata term.
    """
    y = _as_y(y, sample)
    x = np.ones_like(y) if x is None else _as_y(x, sample)
    _check_indicator(y, indicator)
    tx = float(np.sum(sample.weight * x))
    if tx <= 0:
        return Estimate(
            float("nan"),
            float("nan"),
            float("nan"),
            float("nan"),
            int(np.sum(x > 0)),
            "no sampled unit in the domain",
            method=ci,
        )
    r = float(np.sum(sample.weight * y)) / tx
    z = (y - r * x) / tx
    var, note = sample.variance_of_total(z)
    extra, extra_note = _adjust_binary(sample, var, y, x, 1.0 / tx, indicator)
    return _finish(
        r,
        var,
        note,
        sample,
        ci=ci,
        rate=indicator,
        extra=extra,
        extra_note=extra_note,
        n=int(np.sum(x != 0)),
        domain=x != 0,
        cells=sample.rate_cells(y, x) if indicator else None,
    )


def hajek_rate(
    sample: StratifiedSample, y, *, domain=None, ci: str = "normal", indicator: bool = True
) -> Estimate:
    """Hájek rate (违规率), overall or in a domain (e.g. one tier 风险等级).

    Parameters
    ----------
    sample : StratifiedSample
    y : array of 0/1 (any value with ``indicator=False``: a domain mean)
    domain : array of bool, optional
        Domain membership of every sampled unit.
    ci : {"normal", "t", "wilson", "kg"}
    indicator : bool
        ``y`` is a 0/1 outcome (default; checked).
    """
    y = _as_y(y, sample)
    d = np.ones_like(y) if domain is None else np.asarray(domain, dtype=float)
    return hajek_ratio(sample, y * d, d, ci=ci, indicator=indicator)


def domain_total(
    sample: StratifiedSample, y, domain, *, ci: str = "normal", indicator: bool = False
) -> Estimate:
    """HT total of ``y`` within a domain (e.g. improper amount in one tier)."""
    y = _as_y(y, sample)
    d = np.asarray(domain, dtype=float)
    out = ht_total(sample, y * d, ci=ci, indicator=indicator, domain=d)
    out.n = int(np.sum(d != 0))
    return out


def naive_rate(y, *, ci: str = "wilson") -> Estimate:
    """Rate among the inspected only (检查对象发现率), ignoring the design — biased upward
    under a risk-targeted draw; shown for comparison only.

    The interval treats the inspected as a simple random sample (Wilson by default), which
    they are not: it describes the inspected, not the province.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), float("nan"), 0, "no inspection")
    p = float(np.mean(y))
    var = p * (1 - p) / n
    se = math.sqrt(var)
    if ci == "wilson":
        z = Z95
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        lo, hi = centre - half, centre + half
    else:
        lo, hi = p - Z95 * se, p + Z95 * se
    return Estimate(
        p,
        se,
        max(lo, 0.0),
        min(hi, 1.0),
        n,
        "inspected-only rate, biased under a targeted draw",
        method="wilson (simple random sample)" if ci == "wilson" else "normal",
        var_ci=var,
        df=max(n - 1, 1),
    )


def lift_vs_uniform(sample: StratifiedSample, y, *, ci: str = "normal") -> Estimate:
    """Lift of the targeted draw over a uniform draw of the same size (命中提升倍数).

    ``lift = (findings / n) / R̂`` where ``R̂`` is the Hájek population rate: the findings of
    the draw divided by the findings expected from a uniform draw of the same size,
    ``n × R̂``. The findings rate ``Σ_s y_i / n`` is itself an HT total of ``π_i y_i / n``,
    so the interval comes from linearising ``T_v T_1 / T_y`` (``ci="t"`` or ``"kg"``: Student
    t with the design df; otherwise normal).
    """
    y = _as_y(y, sample)
    n = sample.n
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), float("nan"), 0, "no inspection")
    w = sample.weight
    v = sample.pi * y / n
    t_v, t_1, t_y = float(np.sum(w * v)), float(np.sum(w)), float(np.sum(w * y))
    if t_y <= 0:
        return Estimate(
            float("nan"),
            float("nan"),
            float("nan"),
            float("nan"),
            n,
            "no violation found: lift undefined",
            method=ci,
        )
    lift = t_v * t_1 / t_y
    z = lift * (v / t_v + 1.0 / t_1 - y / t_y) if t_v > 0 else np.zeros_like(y)
    var, note = sample.variance_of_total(z)
    ci = "t" if ci == "auto" else ci
    return _finish(lift, var, note, sample, ci=ci, rate=False, nonneg=True)


# ------------------------------------------------------------------ helpers
def _adjust_binary(sample: StratifiedSample, var: float, y, x, scale: float, indicator: bool):
    """The all-equal-strata interval term for indicator measures (0 otherwise)."""
    if not indicator or not np.isfinite(var):
        return 0.0, ""
    return sample.degenerate_binary_variance(y, x, scale)


def _check_indicator(y: np.ndarray, indicator: bool) -> None:
    if indicator and not _is_binary(y):
        raise RiskscoreError(
            "a rate needs a 0/1 outcome (violation_found) for every inspected unit; "
            "use indicator=False for the mean of another variable"
        )


def _as_y(y, sample: StratifiedSample) -> np.ndarray:
    arr = np.asarray(y, dtype=float)
    if arr.shape != (sample.n,):
        raise RiskscoreError(f"expected {sample.n} values (one per sampled unit), got {arr.shape}")
    if np.any(~np.isfinite(arr)):
        raise RiskscoreError("outcome values must be finite numbers for every inspected unit")
    return arr


def _is_binary(y: np.ndarray) -> bool:
    return bool(np.all((y == 0) | (y == 1)))


FRAME_COLUMNS = ("fixmedins_code", "tier", "stratum", "N_h", "n_h", "pi", "selected")


def check_frame(frame: pd.DataFrame, source: str = "frame.csv") -> pd.DataFrame:
    """Validate a draw frame (抽样框) and return it typed.

    Parameters
    ----------
    frame : DataFrame
        ``fixmedins_code, tier, stratum, N_h, n_h, pi, selected`` (+ optional ``round``).
    source : str
        File name for messages.

    Raises
    ------
    RiskscoreError
        Missing column, non-numeric probabilities, N_h inconsistent with the frame.
    """
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise RiskscoreError(
            f"{source}: missing column {missing[0]!r}; expected {', '.join(FRAME_COLUMNS)}"
        )
    f = frame.copy()
    for c in ("fixmedins_code", "tier", "stratum"):
        f[c] = f[c].astype("string").str.strip()
        if f[c].isna().any():
            raise RiskscoreError(
                f"{source}: column {c!r} has empty values; expected a value per row"
            )
    for c in ("N_h", "n_h", "pi", "selected"):
        num = pd.to_numeric(f[c], errors="coerce")
        if num.isna().any():
            bad = f.loc[num.isna(), c].iloc[0]
            raise RiskscoreError(f"{source}: column {c!r} has a non-numeric value {bad!r}")
        f[c] = num
    f["N_h"] = f["N_h"].astype(int)
    f["n_h"] = f["n_h"].astype(int)
    f["selected"] = f["selected"].astype(int)
    if not f["selected"].isin([0, 1]).all():
        raise RiskscoreError(f"{source}: column 'selected' must be 0 or 1")
    if ((f["pi"] < 0) | (f["pi"] > 1)).any():
        raise RiskscoreError(f"{source}: column 'pi' must be in [0, 1]")
    if ((f["pi"] == 0) & (f["selected"] == 1)).any():
        raise RiskscoreError(f"{source}: an institution with selected=1 has pi = 0")
    if f["fixmedins_code"].duplicated().any():
        dup = f.loc[f["fixmedins_code"].duplicated(), "fixmedins_code"].iloc[0]
        raise RiskscoreError(
            f"{source}: fixmedins_code {dup!r} appears twice; expected one row per institution "
            "(select one round with --round)"
        )
    sizes = f.groupby("stratum")["N_h"].agg(["first", "nunique", "size"])
    bad = sizes[(sizes["nunique"] > 1) | (sizes["first"] != sizes["size"])]
    if len(bad):
        h = bad.index[0]
        raise RiskscoreError(
            f"{source}: column 'N_h' of stratum {h!r} is {bad.loc[h, 'first']} but the frame has "
            f"{bad.loc[h, 'size']} rows in it; expected N_h = rows of the stratum"
        )
    return f


def sample_from_frame(
    frame: pd.DataFrame,
    codes,
    *,
    singleton: str = "collapse",
    source: str = "frame.csv",
) -> StratifiedSample:
    """Build a :class:`StratifiedSample` for the inspected institutions ``codes``.

    Parameters
    ----------
    frame : DataFrame
        The checked draw frame (:func:`check_frame`).
    codes : sequence of str
        fixmedins_code of the drawn institutions that carry a result, in the order of the
        outcome arrays that will be passed to the estimators.
    singleton : {"collapse", "nan"}
    """
    idx = frame.set_index("fixmedins_code")
    codes = pd.Index(pd.Series(list(codes), dtype="string"))
    unknown = codes.difference(idx.index)
    if len(unknown):
        raise RiskscoreError(f"{source}: drawn institution {unknown[0]!r} not in the frame")
    rows = idx.loc[codes]
    if (rows["pi"] <= 0).any():
        raise RiskscoreError(f"{source}: an inspected drawn institution has pi = 0")
    # strata with π = 0 (exempt) are outside the estimable population
    frame = frame[frame["pi"] > 0]
    strata = frame.groupby("stratum").agg(
        N_h=("N_h", "first"), n_h=("n_h", "first"), tier=("tier", "first")
    )
    design = "srs"
    if "design" in frame.columns:
        kinds = set(frame["design"].astype(str).str.strip())
        if kinds - {"srs", "pips"} or len(kinds) > 1:
            raise RiskscoreError(
                f"{source}: column 'design' has {sorted(kinds)}; expected 'srs' or 'pips'"
            )
        design = kinds.pop() if kinds else "srs"
    return StratifiedSample(
        stratum=rows["stratum"].astype(str).to_numpy(),
        N_h=strata["N_h"].to_dict(),
        n_h=strata["n_h"].to_dict(),
        pi=rows["pi"].to_numpy(dtype=float),
        group=strata["tier"].astype(str).to_dict(),
        singleton=singleton,
        design=design,
    )


def split_by_origin(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split inspection results into draw-origin rows and the rest (set aside 不纳入估计).

    Returns
    -------
    draw, other : DataFrame
        ``origin == "draw"`` rows, and every other row (complaint, special check, referral,
        media, monitoring), which must never enter the estimators.
    """
    origin = results["origin"].astype("string").str.strip().str.lower()
    is_draw = (origin == "draw").fillna(False).to_numpy(dtype=bool)
    return results.loc[is_draw].copy(), results.loc[~is_draw].copy()

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
stratified SRS. A stratum with a single sampled unit (n_h = 1 < N_h) has no estimable
within-stratum variance: by default it is *collapsed* with other strata for the variance
(the collapsed-strata estimator, conservative when the collapsed strata have different
means); ``singleton="nan"`` instead returns NaN with the reason in ``note``. For 0/1
outcomes a stratum whose sampled units all have the same outcome (k = 0 or k = m) would
contribute zero variance; it contributes instead the variance of the proportion
``(k + ½)/(m + 1)`` (:meth:`StratifiedSample.degenerate_binary_variance`), so that an
interval never shrinks to a point because no finding (or only findings) happened to be drawn.

Intervals are normal (``ci="normal"``, the default, ±1.96·se). ``ci="t"`` uses Student t
with ``n − H`` degrees of freedom; ``ci="wilson"`` (rates only) a Wilson interval on the
effective sample size ``n_eff = p(1−p)/v``, which stays inside [0, 1] and is not
degenerate when no violation was found in a small stratum; ``ci="kg"`` (rates only) the
Korn–Graubard (1998) interval — Clopper–Pearson on the effective sample size adjusted by the
design degrees of freedom — conservative, recommended when tiers have only a few inspections. Rate intervals are
clipped to [0, 1]; this never changes whether the true rate is covered.

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

CI_METHODS = ("normal", "t", "wilson", "kg")
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
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    note: str = ""

    def as_dict(self) -> dict:
        return {
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "note": self.note,
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
    """

    stratum: np.ndarray
    N_h: dict
    n_h: dict
    pi: np.ndarray | None = None
    group: dict | None = None
    singleton: str = "collapse"
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
    def _pseudo_strata(self) -> tuple[dict, list[str]]:
        """Map each sampled stratum to a variance pseudo-stratum (collapsing singletons)."""
        notes: list[str] = []
        mapping = {h: h for h, m in self.m_h.items() if m > 0}
        singles = sorted(h for h, m in self.m_h.items() if m == 1 and self.N_h[h] > 1)
        if not singles or self.singleton == "nan":
            return mapping, notes
        others = sorted(h for h, m in self.m_h.items() if m >= 2)
        group = self.group or {}
        pending = list(singles)
        # singles of one group are first collapsed together
        by_group: dict = {}
        for h in pending:
            by_group.setdefault(group.get(h, "__all__"), []).append(h)
        leftovers = []
        for hs in by_group.values():
            if len(hs) >= 2:
                for h in hs:
                    mapping[h] = "collapsed:" + "+".join(hs)
                notes.append(f"strata {'+'.join(hs)} (n_h=1) collapsed for variance")
            else:
                leftovers.append(hs[0])
        for h in leftovers:
            same = [o for o in others if group.get(o, "__all__") == group.get(h, "__all__")]
            pool = same or others
            if not pool:
                rest = [s for s in singles if s != h]
                if rest:
                    target = rest[0]
                    mapping[h] = mapping.get(target, target)
                    notes.append(f"stratum {h} (n_h=1) collapsed with {target} for variance")
                continue
            target = min(pool, key=lambda o: (self.N_h[o], o))
            mapping[h] = mapping[target]
            notes.append(f"stratum {h} (n_h=1) collapsed with {target} for variance")
        return mapping, notes

    def _variance_plan(self):
        """Pseudo-stratum codes, sizes and fpc (cached: they depend on the design only)."""
        if getattr(self, "_plan", None) is None:
            mapping, notes = self._pseudo_strata()
            pseudo = np.array([mapping[h] for h in self.stratum])
            keys, inv = np.unique(pseudo, return_inverse=True)
            n_g = np.bincount(inv, minlength=len(keys)).astype(float)
            N_g = np.zeros(len(keys))
            for k, g in enumerate(keys):
                members = {h for h, m in mapping.items() if m == g}
                N_g[k] = sum(self.N_h[h] for h in members)
            f_g = n_g / N_g if self.fpc_ok else np.zeros(len(keys))
            self._plan = (keys, inv, n_g, f_g, notes)
        return self._plan

    def variance_of_total(self, z: np.ndarray) -> tuple[float, str]:
        """Design variance of the HT total ``Σ w_i z_i`` of a per-unit variable ``z``.

        Parameters
        ----------
        z : array of float, one per sampled unit

        Returns
        -------
        variance : float
            NaN when a stratum has a single unit and ``singleton="nan"`` (or nothing
            can be collapsed).
        note : str
        """
        z = np.asarray(z, dtype=float)
        u = self.weight * z
        keys, inv, n_g, f_g, notes = self._variance_plan()
        notes = list(notes)
        single = (n_g == 1) & (f_g < 1.0)
        if np.any(single):
            notes.append(f"stratum {keys[np.argmax(single)]}: n_h=1, variance not estimable")
            return float("nan"), "; ".join(notes)
        sums = np.bincount(inv, weights=u, minlength=len(keys))
        mean = sums / n_g
        ss = np.bincount(inv, weights=(u - mean[inv]) ** 2, minlength=len(keys))
        ok = n_g > 1
        total = float(np.sum((1.0 - f_g[ok]) * n_g[ok] / (n_g[ok] - 1) * ss[ok]))
        return max(total, 0.0), "; ".join(notes)

    def degenerate_binary_variance(self, y, x, scale: float) -> tuple[float, str]:
        """Small-sample variance term for strata whose 0/1 outcomes are all equal.

        (全同结果分层的小样本方差修正) When every sampled unit of a stratum has the same
        outcome (no finding among its m inspections, or only findings) its within-stratum
        variance estimate is 0, although the stratum's rate is not known exactly: the
        interval of a rate could then shrink to a point (e.g. ``19.3% (19.3%–19.3%)``).
        Such a stratum instead contributes the variance it would have with the
        proportion ``p̃ = (k + ½) / (m + 1)`` (k findings of m; half a finding and half a
        non-finding added, Jeffreys-style):
        ``(1 − f_h) m/(m−1) Σ_{i∈h} w_i² p̃(1−p̃) · scale²``. Only strata with m ≥ 2,
        ``f_h < 1``, not collapsed with others, and entirely inside the domain (``x = 1``
        for all their units) are adjusted; strata with varying outcomes are untouched.

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
        mapping, _ = self._pseudo_strata()
        extra, hit = 0.0, []
        for h in sorted(self.m_h):
            m = self.m_h[h]
            if m < 2 or mapping.get(h) != h:
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
            extra += (1 - f) * m / (m - 1) * float(np.sum(self.weight[idx] ** 2)) * pt * (1 - pt)
            hit.append(f"{h} ({int(k)}/{m})")
        if not hit:
            return 0.0, ""
        return extra * scale**2, (
            "small-sample adjustment: all-equal outcomes in stratum/strata "
            + ", ".join(hit)
            + " given the variance of (k+0.5)/(m+1)"
        )

    def df(self) -> int:
        """Degrees of freedom for t intervals: sampled units minus sampled strata (≥ 1)."""
        return max(self.n - self.n_strata, 1)


# ------------------------------------------------------------------ intervals
def _interval(est: float, var: float, *, ci: str, df: int, rate: bool, n: int) -> tuple:
    if ci not in CI_METHODS:
        raise RiskscoreError(f"ci must be one of {CI_METHODS}, got {ci!r}")
    if not np.isfinite(est) or not np.isfinite(var):
        return float("nan"), float("nan"), float("nan")
    se = math.sqrt(var)
    if ci == "wilson" and rate:
        p = min(max(est, 0.0), 1.0)
        n_eff = p * (1 - p) / var if var > 0 and 0 < p < 1 else float(n)
        n_eff = max(n_eff, 1e-9)
        z = Z95
        denom = 1 + z * z / n_eff
        centre = (p + z * z / (2 * n_eff)) / denom
        half = z * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / denom
        return se, max(centre - half, 0.0), min(centre + half, 1.0)
    if ci == "kg" and rate:
        # Korn & Graubard (1998): Clopper–Pearson on the effective sample size, with the
        # design degrees of freedom
        p = min(max(est, 0.0), 1.0)
        n_eff = p * (1 - p) / var if var > 0 and 0 < p < 1 else float(n)
        n_eff = (
            min(n_eff * (Z95 / float(stats.t.ppf(0.975, df))) ** 2, float(n))
            if (var > 0 and 0 < p < 1)
            else n_eff
        )
        n_eff = max(n_eff, 1e-9)
        x = p * n_eff
        lo = float(stats.beta.ppf(0.025, x, n_eff - x + 1)) if x > 0 else 0.0
        hi = float(stats.beta.ppf(0.975, x + 1, n_eff - x)) if x < n_eff else 1.0
        return se, lo, hi
    q = float(stats.t.ppf(0.975, df)) if ci in ("t", "kg") else Z95
    lo, hi = est - q * se, est + q * se
    if rate:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    return se, lo, hi


def _finish(est, var, note, sample, *, ci, rate) -> Estimate:
    se, lo, hi = _interval(est, var, ci=ci, df=sample.df(), rate=rate, n=sample.n)
    notes = [s for s in [*sample.notes, note] if s]
    if np.isfinite(var) and var == 0 and sample.n > 0:
        notes.append("zero estimated variance: interval degenerate (consider ci='wilson')")
    if ci != "normal":
        notes.append(f"{ci} interval")
    return Estimate(float(est), se, lo, hi, sample.n, "; ".join(notes))


# ------------------------------------------------------------------ estimators
def ht_total(sample: StratifiedSample, y, *, ci: str = "normal") -> Estimate:
    """Horvitz–Thompson estimate of a population total (总量估计) ``Σ y_i/π_i``.

    Parameters
    ----------
    sample : StratifiedSample
    y : array of float
        Value of every sampled unit (e.g. improper amount 违规金额, or 0/1 violation).
    ci : {"normal", "t"}

    Returns
    -------
    Estimate
        With variance ``Σ_h N_h² (1−f_h) s_h² / n_h``.
    """
    y = _as_y(y, sample)
    est = float(np.sum(sample.weight * y))
    var, note = sample.variance_of_total(y)
    var, note = _adjust_binary(sample, var, note, y, np.ones_like(y), 1.0)
    out = _finish(est, var, note, sample, ci="t" if ci == "t" else "normal", rate=False)
    if np.all(y >= 0) and np.isfinite(out.ci_low):
        out.ci_low = max(out.ci_low, 0.0)
    return out


def ht_rate(sample: StratifiedSample, y, *, N: int | None = None, ci: str = "normal") -> Estimate:
    """Horvitz–Thompson rate (违规率): HT total divided by the known population size ``N``.

    Parameters
    ----------
    sample : StratifiedSample
    y : array of 0/1 (or any value)
    N : int, optional
        Population size; defaults to ``Σ N_h`` of the frame.
    ci : {"normal", "t", "wilson", "kg"}
    """
    y = _as_y(y, sample)
    N = sample.N if N is None else int(N)
    est = float(np.sum(sample.weight * y)) / N
    var, note = sample.variance_of_total(y)
    var, note = _adjust_binary(sample, var, note, y, np.ones_like(y), 1.0)
    return _finish(est, var / N**2, note, sample, ci=ci, rate=_is_binary(y))


def hajek_ratio(sample: StratifiedSample, y, x=None, *, ci: str = "normal") -> Estimate:
    """Hájek / ratio estimate ``Σ w y / Σ w x`` with linearisation variance.

    With ``x = 1`` this is the Hájek mean (rate) ``Σ(y_i/π_i)/Σ(1/π_i)``; with ``y = y·d``
    and ``x = d`` for a domain indicator ``d`` it is the domain (e.g. per-tier) rate.

    Parameters
    ----------
    sample : StratifiedSample
    y : array
    x : array, optional
        Denominator variable (default 1).
    ci : {"normal", "t", "wilson", "kg"}
    """
    y = _as_y(y, sample)
    x = np.ones_like(y) if x is None else _as_y(x, sample)
    tx = float(np.sum(sample.weight * x))
    if tx <= 0:
        return Estimate(
            float("nan"),
            float("nan"),
            float("nan"),
            float("nan"),
            int(np.sum(x > 0)),
            "no sampled unit in the domain",
        )
    r = float(np.sum(sample.weight * y)) / tx
    z = (y - r * x) / tx
    var, note = sample.variance_of_total(z)
    var, note = _adjust_binary(sample, var, note, y, x, 1.0 / tx)
    binary = _is_binary(y) and _is_binary(x)
    out = _finish(r, var, note, sample, ci=ci, rate=binary)
    out.n = int(np.sum(x != 0))
    return out


def hajek_rate(sample: StratifiedSample, y, *, domain=None, ci: str = "normal") -> Estimate:
    """Hájek rate (违规率), overall or in a domain (e.g. one tier 风险等级).

    Parameters
    ----------
    sample : StratifiedSample
    y : array of 0/1
    domain : array of bool, optional
        Domain membership of every sampled unit.
    ci : {"normal", "t", "wilson", "kg"}
    """
    y = _as_y(y, sample)
    d = np.ones_like(y) if domain is None else np.asarray(domain, dtype=float)
    return hajek_ratio(sample, y * d, d, ci=ci)


def domain_total(sample: StratifiedSample, y, domain, *, ci: str = "normal") -> Estimate:
    """HT total of ``y`` within a domain (e.g. improper amount in one tier)."""
    y = _as_y(y, sample)
    d = np.asarray(domain, dtype=float)
    out = ht_total(sample, y * d, ci=ci)
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
        p, se, max(lo, 0.0), min(hi, 1.0), n, "inspected-only rate, biased under a targeted draw"
    )


def lift_vs_uniform(sample: StratifiedSample, y, *, ci: str = "normal") -> Estimate:
    """Lift of the targeted draw over a uniform draw of the same size (命中提升倍数).

    ``lift = (findings / n) / R̂`` where ``R̂`` is the Hájek population rate: the findings of
    the draw divided by the findings expected from a uniform draw of the same size,
    ``n × R̂``. The findings rate ``Σ_s y_i / n`` is itself an HT total of ``π_i y_i / n``,
    so the interval comes from linearising ``T_v T_1 / T_y``.
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
        )
    lift = t_v * t_1 / t_y
    z = lift * (v / t_v + 1.0 / t_1 - y / t_y) if t_v > 0 else np.zeros_like(y)
    var, note = sample.variance_of_total(z)
    out = _finish(lift, var, note, sample, ci="t" if ci == "t" else "normal", rate=False)
    if np.isfinite(out.ci_low):
        out.ci_low = max(out.ci_low, 0.0)
    return out


# ------------------------------------------------------------------ helpers
def _adjust_binary(sample: StratifiedSample, var: float, note: str, y, x, scale: float):
    """Add :meth:`StratifiedSample.degenerate_binary_variance` for 0/1 outcomes."""
    if not np.isfinite(var) or not (_is_binary(y) and _is_binary(x)):
        return var, note
    extra, extra_note = sample.degenerate_binary_variance(y, x, scale)
    if extra > 0:
        var += extra
        note = "; ".join(s for s in (note, extra_note) if s)
    return var, note


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
    return StratifiedSample(
        stratum=rows["stratum"].astype(str).to_numpy(),
        N_h=strata["N_h"].to_dict(),
        n_h=strata["n_h"].to_dict(),
        pi=rows["pi"].to_numpy(dtype=float),
        group=strata["tier"].astype(str).to_dict(),
        singleton=singleton,
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

"""Money-aware targeting: conditional Poisson πps sampling within a tier (按金额比例抽样).

Within a tier (stratum) the chance of selection is made proportional to a size measure x_i
(``expected_loss`` from ``scores.csv``, with a floor so that every institution keeps π > 0).
The design is **conditional Poisson sampling** (CPS, the maximum-entropy design of fixed
size, Hájek's *rejective* sampling): Poisson sampling with working probabilities p_i,
conditioned on drawing exactly n units. Its probability of a sample s is proportional to
Π_{i∈s} θ_i with θ_i = p_i / (1 − p_i), and its inclusion probabilities are known exactly
(Chen, Dempster & Liu 1994):

    π_i = θ_i e_{n−1}(θ without i) / e_n(θ)

where e_k is the k-th elementary symmetric polynomial. :func:`cps_inclusion` evaluates it
with prefix and suffix tables of e_k (only additions and multiplications of positive
numbers: no cancellation), :func:`solve_working_probabilities` finds the working
probabilities whose exact π equals the πps target ``n x_i / Σ x`` (fixed point on the logits
with backtracking, to 1e-12), and :func:`pips_targets` applies the take-all rule: a unit whose
target would exceed 1 is taken with certainty (π = 1) and the rest of the tier shares the remaining
n − c selections in proportion to size (iterated until no target exceeds 1).

The draw itself (:func:`riskscore.draw.core.cps_select`) is a pure function of SHA-256
tickets: attempt a = 0, 1, … draws a Poisson sample (unit i in when its ticket of purpose
``…|try<a>`` is below p_i · 2²⁵⁶, compared exactly in integers) and the first attempt with
exactly n units is the sample — that is conditional Poisson sampling by definition.

Variance: Hájek's approximation for rejective sampling (Hájek 1964; Tillé 2006 §5.6; Berger
2004) estimated by ``Σ_{i∈s} c_i (y_i/π_i − Ŷ*)²`` with ``c_i = (1 − π_i) n/(n − 1)`` and
``Ŷ* = Σ c_i y_i/π_i / Σ c_i`` per stratum — with equal π it is the textbook stratified SRS
variance (see :meth:`riskscore.estimate.StratifiedSample.variance_of_total`).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from riskscore.errors import PolicyError

SOLVE_TOL = 1e-12
"""Largest |π − target| accepted when solving the working probabilities."""


def _esf_tables(theta: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Prefix and suffix tables of the elementary symmetric polynomials e_0 … e_n."""
    m = len(theta)
    pre = np.zeros((m + 1, n + 1))
    suf = np.zeros((m + 1, n + 1))
    pre[0, 0] = 1.0
    suf[m, 0] = 1.0
    for i in range(m):
        pre[i + 1] = pre[i]
        pre[i + 1, 1:] += theta[i] * pre[i, :-1]
    for i in range(m - 1, -1, -1):
        suf[i] = suf[i + 1]
        suf[i, 1:] += theta[i] * suf[i + 1, :-1]
    return pre, suf


def cps_inclusion(p, n: int) -> np.ndarray:
    """Exact inclusion probabilities of conditional Poisson sampling of size ``n``.

    Parameters
    ----------
    p : array of float
        Working probabilities in (0, 1]; ``p = 1`` marks a take-all unit (π = 1, outside the
        random part; the others share ``n − c`` selections).
    n : int
        Sample size (including the take-all units).

    Returns
    -------
    numpy.ndarray
        π_i = θ_i e_{n'−1}(θ_{−i}) / e_{n'}(θ) over the non-certain units (θ = p/(1−p),
        n' = n − c), 1 for take-all units.

    Raises
    ------
    PolicyError
        When n is not between the number of take-all units and the number of units, or the
        computation under/overflows.
    """
    p = np.asarray(p, dtype=float)
    if np.any(~np.isfinite(p)) or np.any(p <= 0) or np.any(p > 1):
        raise PolicyError("working probabilities must lie in (0, 1]")
    sure = p >= 1.0
    c = int(sure.sum())
    rest = np.flatnonzero(~sure)
    k = int(n) - c
    if k < 0 or k > len(rest):
        raise PolicyError(
            f"conditional Poisson sample of {n} from {len(p)} units with {c} take-all units"
        )
    out = np.ones(len(p))
    if len(rest) == 0:
        return out
    if k == 0:
        out[rest] = 0.0
        return out
    if k == len(rest):
        out[rest] = 1.0
        return out
    theta = p[rest] / (1.0 - p[rest])
    complement = 2 * k > len(rest)
    if complement:
        # P(S) ∝ Π_{i∈S} θ_i = Π θ / Π_{i∉S} θ_i: the units left out form a conditional
        # Poisson sample of size m − k with θ' = 1/θ, and π_i = 1 − π'_i. Computing the small
        # complement keeps π close to 1 accurate to ~1e-16 (the direct sums cancel).
        theta, k = 1.0 / theta, len(rest) - k
    theta = theta * (k / theta.sum())  # π is invariant to scaling θ; keeps e_k in range
    pre, suf = _esf_tables(theta, k)
    e_n = pre[-1, k]
    loo = np.einsum("ij,ij->i", pre[:-1, :k], suf[1:, k - 1 :: -1])
    pi = theta * loo / e_n
    if not np.isfinite(e_n) or e_n <= 0 or np.any(~np.isfinite(pi)):
        raise PolicyError(
            "conditional Poisson inclusion probabilities under/overflow: size measure too "
            "spread in one tier (raise sampling.size_floor)"
        )
    out[rest] = np.clip(1.0 - pi if complement else pi, 0.0, 1.0)
    return out


def cps_inclusion_bruteforce(p, n: int) -> np.ndarray:
    """π of conditional Poisson sampling by enumerating every sample (tiny frames, tests)."""
    p = np.asarray(p, dtype=float)
    sure = [i for i in range(len(p)) if p[i] >= 1]
    rest = [i for i in range(len(p)) if p[i] < 1]
    k = n - len(sure)
    theta = {i: p[i] / (1 - p[i]) for i in rest}
    tot, acc = 0.0, np.zeros(len(p))
    for s in itertools.combinations(rest, k):
        w = math.prod(theta[i] for i in s)
        tot += w
        for i in s:
            acc[i] += w
    out = acc / tot
    out[sure] = 1.0
    return out


def pips_targets(size, n: int) -> np.ndarray:
    """πps target probabilities with take-all units (按规模成比例的目标入样概率).

    ``π*_i = n' x_i / Σ_{rest} x`` over the units not taken with certainty; units whose
    target would reach 1 are taken with certainty (π* = 1) and removed, repeatedly, until
    every remaining target is below 1 (largest sizes first; a tie at the boundary is taken
    together, so the rule does not depend on row order).

    Parameters
    ----------
    size : array of float
        Size measure, all > 0 (after the floor).
    n : int
        Sample size of the stratum, 0 ≤ n ≤ len(size).
    """
    x = np.asarray(size, dtype=float)
    if np.any(~np.isfinite(x)) or np.any(x <= 0):
        raise PolicyError("size measure must be a positive number for every institution")
    m = len(x)
    if not 0 <= n <= m:
        raise PolicyError(f"sample of {n} from a stratum of {m}")
    out = np.zeros(m)
    if n == 0:
        return out
    sure = np.zeros(m, dtype=bool)
    while True:
        k = n - int(sure.sum())
        rest = ~sure
        if k == 0:
            break
        t = k * x[rest] / x[rest].sum()
        over = t >= 1.0 - 1e-12
        if not over.any():
            out[rest] = t
            break
        idx = np.flatnonzero(rest)[over]
        sure[idx] = True
    out[sure] = 1.0
    return out


NEWTON_AFTER = 200
"""Fixed-point steps after which a small stratum switches to Newton's method."""
NEWTON_MAX_UNITS = 400
"""Largest stratum (units not taken with certainty) given the Newton fallback."""


def _newton_polish(pi_of, cur: np.ndarray, t: np.ndarray, tol: float, h: float = 1e-6):
    """Newton's method on ``π(log θ) = t`` with a central-difference Jacobian.

    The fixed point oscillates when some π are near 1 and others near 1/2 (Jacobian eigenvalues
    of the logit update near 2 and near 0 at once); Newton converges in a few steps there. The
    Jacobian (the covariance of the inclusion indicators) is singular along the scale of θ, so
    the step is the least-squares (minimum-norm) solution; each step is halved until the
    largest error drops.
    """
    pi = pi_of(cur)
    err = float(np.max(np.abs(pi - t)))
    m = len(cur)
    for _ in range(30):
        if err <= tol:
            break
        jac = np.empty((m, m))
        for j in range(m):
            e = np.zeros(m)
            e[j] = h
            jac[:, j] = (pi_of(cur + e) - pi_of(cur - e)) / (2 * h)
        d = np.linalg.lstsq(jac, t - pi, rcond=None)[0]
        step = 1.0
        while step >= 1e-4:
            new = cur + step * d
            pi_new = pi_of(new)
            err_new = float(np.max(np.abs(pi_new - t)))
            if err_new < err:
                break
            step /= 2
        else:
            break
        cur, pi, err = new, pi_new, err_new
    return cur, pi, err


def solve_working_probabilities(target, n: int, tol: float = SOLVE_TOL) -> np.ndarray:
    """Working probabilities p whose conditional Poisson π equals ``target`` (to ``tol``).

    Take-all units (target 1) get p = 1. The others start at p = π* and are updated on the
    logit scale, ``logit p ← logit p + s (logit π* − logit π(p))`` (Deville's fixed point,
    Tillé 2006 §5.6.7, on the logits; the step s is halved while it does not reduce the largest
    error), until ``max |π(p) − π*| ≤ tol``; a stratum of at most ``NEWTON_MAX_UNITS`` units
    still off after ``NEWTON_AFTER`` steps finishes with Newton's method (the fixed point
    oscillates when some π are near 1 and others near 1/2); then θ is rescaled (π is
    invariant to the scale of θ) so that Σ p = n − c, i.e. the Poisson design behind the
    rejective draw has expected size n − c (fewest attempts).

    Returns
    -------
    numpy.ndarray
        p in (0, 1].

    Raises
    ------
    PolicyError
        When the iteration does not reach ``tol`` in 2000 steps.
    """
    tgt = np.asarray(target, dtype=float)
    if abs(tgt.sum() - n) > 1e-9 * max(n, 1):
        raise PolicyError(f"target probabilities sum to {tgt.sum():.12g}, not to n = {n}")
    sure = tgt >= 1.0
    rest = np.flatnonzero(~sure)
    p = np.ones(len(tgt))
    if len(rest) == 0:
        return p
    t = tgt[rest]
    k = n - int(sure.sum())
    if np.any(t <= 0):
        raise PolicyError("every institution needs a target probability > 0 (size floor)")
    if k == len(rest):
        raise PolicyError("all remaining units would be taken: use target 1")

    def logit(v):
        return np.log(v) - np.log1p(-v)

    def pi_of(v):
        return cps_inclusion(1.0 / (1.0 + np.exp(-v)), k)

    lt = logit(t)
    cur = lt.copy()
    pi = pi_of(cur)
    err = float(np.max(np.abs(pi - t)))
    step = 1.0
    for it in range(2000):
        if err <= tol:
            break
        if it == NEWTON_AFTER and len(t) <= NEWTON_MAX_UNITS:
            cur, pi, err = _newton_polish(pi_of, cur, t, tol)
            if err <= tol:
                break
        delta = lt - logit(np.clip(pi, 1e-300, 1 - 1e-16))
        # backtracking: the full step overshoots when few units share the sample (the
        # Jacobian of logit π in log θ has eigenvalues in (0, 2]); halve until the error drops
        while True:
            new = cur + step * delta
            pi_new = pi_of(new)
            err_new = float(np.max(np.abs(pi_new - t)))
            if err_new < err or step < 1e-6:
                break
            step /= 2
        cur, pi, err = new, pi_new, err_new
        step = min(1.0, step * 2)
    else:
        raise PolicyError(
            f"conditional Poisson working probabilities did not converge (max error {err:.2e})"
        )
    # rescale θ so that Σ p = k (Newton on log c)
    theta = np.exp(cur)
    logc = 0.0
    for _ in range(200):
        ct = theta * math.exp(logc)
        f = float(np.sum(ct / (1 + ct))) - k
        if abs(f) < 1e-13 * k:
            break
        logc -= f / float(np.sum(ct / (1 + ct) ** 2))
    ct = theta * math.exp(logc)
    p[rest] = ct / (1 + ct)
    return p


def design_stratum(size, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact π and working probabilities of one stratum's conditional Poisson πps draw.

    Returns
    -------
    pi, p_work : numpy.ndarray
        ``pi`` exact (Chen–Dempster–Liu from ``p_work``), ``|pi − πps target| ≤ 1e-12``.
    """
    x = np.asarray(size, dtype=float)
    if n == 0:
        return np.zeros(len(x)), np.full(len(x), 0.0)
    tgt = pips_targets(x, n)
    p = solve_working_probabilities(tgt, n)
    return cps_inclusion(p, n), p


def size_with_floor(values, floor_share: float) -> np.ndarray:
    """Size measure of one tier with the floor (规模下限): ``max(x_i, floor × mean(x))``.

    Missing or non-positive values (unscored institutions) count as the tier's median of the
    positive values; if no value is positive every institution gets 1 (then the tier is an
    SRS). The floor keeps every institution's π > 0, at least about ``floor`` times the SRS π.
    """
    x = np.asarray(values, dtype=float)
    ok = np.isfinite(x) & (x > 0)
    if not ok.any():
        return np.ones(len(x))
    x = np.where(ok, x, float(np.median(x[ok])))
    return np.maximum(x, floor_share * float(x.mean()))


def hajek_variance_terms(pi, n: int) -> np.ndarray:
    """``c_i = (1 − π_i) n / (n − 1)`` of Hájek's variance approximation (one stratum)."""
    pi = np.asarray(pi, dtype=float)
    if n < 2:
        return np.zeros(len(pi))
    return (1.0 - pi) * n / (n - 1)


__all__ = [
    "cps_inclusion",
    "cps_inclusion_bruteforce",
    "design_stratum",
    "hajek_variance_terms",
    "pips_targets",
    "size_with_floor",
    "solve_working_probabilities",
]

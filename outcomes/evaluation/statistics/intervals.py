"""Within-group effect sizes with intervals whose coverage has been checked (docs/statistics.md §3).

Pure functions over the completers' paired scores (``pre[i]`` and ``post[i]`` are one person);
pairs with a missing score (None or NaN) are dropped. Every effect size has the sign of raw
change, post − pre.

* d_z = d̄ / SD_d with the exact noncentral-t interval (Cumming & Finch 2001).
* d_av = d̄ / ((SD_pre + SD_post) / 2) (Lakens 2013) and g_av = J·d_av, both with the noncentral-t
  interval of Algina & Keselman (2003): the paired t is inverted through the noncentral t and the
  limits are put on d_av's scale by SD_d / (√n · (SD_pre + SD_post) / 2). The interval is for the
  population d_av, which d_av and g_av both estimate; its limits are *not* shrunk by J, because
  shrinking them loses coverage at small n (benchmarks/coverage.py prints both).
* d_rm = d̄ / S_within, S_within = SD_d / √(2(1 − r)) (Lakens 2013; Borenstein et al. 2009 ch. 4),
  g_rm = J·d_rm, with Borenstein's variance V_d = (1/n + d²/(2n))·2(1 − r) and V_g = J²·V_d: the
  variance a meta-analysis pooling within-group change needs.

Zero-variance rule: where the spread an interval depends on is zero (every change identical, or
no spread at one time point so r is undefined) the interval is "not estimable" and its limits
are None. A zero-width interval is never returned.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats
from scipy.optimize import elementwise

Scores = Sequence[float | int | None] | npt.NDArray[np.floating] | npt.NDArray[np.integer]

CONFIDENCE = 0.95
#: Borenstein's normal quantile, as printed there.
Z_95 = 1.96

METHOD_NONCENTRAL_T = "noncentral t"
METHOD_ALGINA_KESELMAN = "noncentral t (Algina & Keselman 2003)"
METHOD_BORENSTEIN = "Borenstein et al. 2009 pre-post variance"

NOT_ESTIMABLE_TOO_FEW = "fewer than 3 people with both scores"
NOT_ESTIMABLE_TOO_FEW_FOR_D_Z = "fewer than 2 people with both scores"
NOT_ESTIMABLE_NO_CHANGE_SPREAD = "every person changed by the same amount, so the change has no spread"
NOT_ESTIMABLE_NO_SCORE_SPREAD = "the scores at one time point have no spread, so the pre-post correlation is undefined"
NOT_ESTIMABLE_PERFECT_R = "pre and post scores are perfectly correlated, so the within-person SD is undefined"
NOT_ESTIMABLE_NUMERICAL = "the interval could not be computed to the required precision"


@dataclass(frozen=True)
class Interval:
    """An effect size, its 95% interval and how the interval was made.

    ``not_estimable`` holds the plain reason when there is no interval; then ``low`` and ``high``
    are None (``estimate`` may still be known, e.g. d_av when every change is identical).
    """

    estimate: float | None
    low: float | None
    high: float | None
    method: str
    not_estimable: str | None = None

    @property
    def estimable(self) -> bool:
        return self.not_estimable is None


@dataclass(frozen=True)
class RepeatedMeasures:
    """d_rm and g_rm with Borenstein's pre-post variance (for meta-analysis)."""

    r: float | None
    s_within: float | None
    j: float | None
    d: Interval
    g: Interval
    v_d: float | None
    se_d: float | None
    v_g: float | None
    se_g: float | None


def hedges_j(df: int) -> float | None:
    """J = 1 − 3/(4·df − 1) (Borenstein et al. 2009), the approximation the reference values use."""
    return 1.0 - 3.0 / (4.0 * df - 1.0) if df >= 2 else None


def _finite(value: float | np.floating | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def completers(pre: Scores, post: Scores) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The pairs with both scores present, as float64 arrays."""
    a = np.array([np.nan if v is None else v for v in pre], dtype=np.float64)
    b = np.array([np.nan if v is None else v for v in post], dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"pre and post must be flat and hold the same people; got {a.shape} and {b.shape}.")
    if np.isinf(a).any() or np.isinf(b).any():
        raise ValueError("Scores must be finite numbers or None.")
    both = ~np.isnan(a) & ~np.isnan(b)
    return a[both], b[both]


def noncentral_t_limits(
    t: float | npt.ArrayLike, df: float | npt.ArrayLike, confidence: float = CONFIDENCE
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Noncentrality limits λ_L, λ_U with P(T ≤ t | df, λ) = (1 + confidence)/2 and (1 − confidence)/2.

    Works element by element on arrays of t (the coverage benchmark inverts thousands at once); an
    element whose root cannot be found (t not finite, or the CDF too flat in a far tail) is NaN.
    """
    t_arr = np.asarray(t, dtype=np.float64)
    df_arr = np.broadcast_to(np.asarray(df, dtype=np.float64), t_arr.shape)
    ok = np.isfinite(t_arr) & (df_arr >= 1)
    limits = []
    for target in ((1 + confidence) / 2, (1 - confidence) / 2):
        out = np.full(t_arr.shape, np.nan)
        if ok.any():
            tt, dd = t_arr[ok], df_arr[ok]

            def f(lam, tt, dd, target=target):
                return stats.nct.cdf(tt, dd, lam) - target

            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                # Start from the normal approximation λ ≈ t ∓ z·√(1 + t²/(2·df)) with a bracket a fifth of
                # its half-width either side (bracket_root widens it where that is not enough): the recompute
                # solves thousands of these, and a tight start halves the CDF evaluations.
                z = stats.norm.ppf(target)
                spread = np.sqrt(1 + tt * tt / (2 * dd))
                guess = tt - z * spread
                step = 0.2 * abs(z) * spread + 0.05
                bracket = elementwise.bracket_root(f, guess - step, guess + step, args=(tt, dd))
                root = elementwise.find_root(
                    f, bracket.bracket, args=(tt, dd), tolerances={"xatol": 1e-12, "xrtol": 1e-12}
                )
                good = bracket.success & root.success & (np.abs(f(root.x, tt, dd)) < 1e-8)
            out[ok] = np.where(good, root.x, np.nan)
        limits.append(out)
    return limits[0], limits[1]


def _limits(t: float, n: int) -> tuple[float, float] | None:
    low, high = noncentral_t_limits(t, n - 1)
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return low, high


def _basics(pre: Scores, post: Scores, minimum: int = 3):
    a, b = completers(pre, post)
    n = int(a.size)
    if n < minimum:
        return None
    diff = b - a
    return n, a, b, float(diff.mean()), float(np.std(diff, ddof=1)), float(np.std(a, ddof=1)), float(np.std(b, ddof=1))


def _pearson(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float | None:
    da, db = a - a.mean(), b - b.mean()
    saa, sbb = float(da @ da), float(db @ db)
    if saa == 0 or sbb == 0:
        return None
    r = float(da @ db) / (math.sqrt(saa) * math.sqrt(sbb))
    # An exact line gives ±1 only up to rounding; snap so √(1 − r) is not 10⁻⁸ instead of 0.
    return math.copysign(1.0, r) if abs(r) > 1 - 1e-12 else r


def d_z(pre: Scores, post: Scores) -> Interval:
    """d_z = d̄/SD_d with the exact interval λ/√n from the noncentral t (Cumming & Finch 2001); from 2 pairs."""
    basics = _basics(pre, post, minimum=2)
    if basics is None:
        return Interval(None, None, None, METHOD_NONCENTRAL_T, NOT_ESTIMABLE_TOO_FEW_FOR_D_Z)
    n, _, _, mean_d, sd_d, _, _ = basics
    if sd_d == 0:
        return Interval(None, None, None, METHOD_NONCENTRAL_T, NOT_ESTIMABLE_NO_CHANGE_SPREAD)
    limits = _limits(mean_d / (sd_d / math.sqrt(n)), n)
    if limits is None:
        return Interval(mean_d / sd_d, None, None, METHOD_NONCENTRAL_T, NOT_ESTIMABLE_NUMERICAL)
    root_n = math.sqrt(n)
    return Interval(mean_d / sd_d, limits[0] / root_n, limits[1] / root_n, METHOD_NONCENTRAL_T)


def _average_sd_interval(pre: Scores, post: Scores, *, corrected: bool) -> Interval:
    basics = _basics(pre, post)
    if basics is None:
        return Interval(None, None, None, METHOD_ALGINA_KESELMAN, NOT_ESTIMABLE_TOO_FEW)
    n, _, _, mean_d, sd_d, sd_pre, sd_post = basics
    s_av = (sd_pre + sd_post) / 2
    j = hedges_j(n - 1) if corrected else 1.0
    estimate = _finite(j * mean_d / s_av) if s_av > 0 else None
    if s_av == 0:
        return Interval(None, None, None, METHOD_ALGINA_KESELMAN, NOT_ESTIMABLE_NO_SCORE_SPREAD)
    if sd_d == 0:
        return Interval(estimate, None, None, METHOD_ALGINA_KESELMAN, NOT_ESTIMABLE_NO_CHANGE_SPREAD)
    se = sd_d / math.sqrt(n)
    limits = _limits(mean_d / se, n)
    if limits is None:
        return Interval(estimate, None, None, METHOD_ALGINA_KESELMAN, NOT_ESTIMABLE_NUMERICAL)
    scale = se / s_av
    return Interval(estimate, limits[0] * scale, limits[1] * scale, METHOD_ALGINA_KESELMAN)


def d_av(pre: Scores, post: Scores) -> Interval:
    """d_av = d̄ / ((SD_pre + SD_post)/2) with the Algina–Keselman noncentral-t interval."""
    return _average_sd_interval(pre, post, corrected=False)


def g_av(pre: Scores, post: Scores) -> Interval:
    """g_av = J·d_av (J with df = n − 1); the interval is d_av's, for the same population value."""
    return _average_sd_interval(pre, post, corrected=True)


def repeated_measures(pre: Scores, post: Scores) -> RepeatedMeasures:
    """d_rm and g_rm with Borenstein's variance; needs r = corr(pre, post)."""

    def none(reason: str, r: float | None = None) -> RepeatedMeasures:
        empty = Interval(None, None, None, METHOD_BORENSTEIN, reason)
        return RepeatedMeasures(r, None, None, empty, empty, None, None, None, None)

    basics = _basics(pre, post)
    if basics is None:
        return none(NOT_ESTIMABLE_TOO_FEW)
    n, a, b, mean_d, sd_d, _, _ = basics
    r = _pearson(a, b)
    if r is None:
        return none(NOT_ESTIMABLE_NO_SCORE_SPREAD)
    if sd_d == 0:
        return none(NOT_ESTIMABLE_NO_CHANGE_SPREAD, r)
    if r == 1.0:
        return none(NOT_ESTIMABLE_PERFECT_R, r)
    s_within = sd_d / math.sqrt(2 * (1 - r))
    d = mean_d / s_within
    j = hedges_j(n - 1)
    v_d = (1 / n + d * d / (2 * n)) * 2 * (1 - r)
    se_d = math.sqrt(v_d)
    g, v_g = j * d, j * j * v_d
    se_g = math.sqrt(v_g)
    return RepeatedMeasures(
        r=r,
        s_within=s_within,
        j=j,
        d=Interval(d, d - Z_95 * se_d, d + Z_95 * se_d, METHOD_BORENSTEIN),
        g=Interval(g, g - Z_95 * se_g, g + Z_95 * se_g, METHOD_BORENSTEIN),
        v_d=v_d,
        se_d=se_d,
        v_g=v_g,
        se_g=se_g,
    )


# --- many samples of one size at once (the recompute's path) -----------------------------------


def paired_intervals_rows(pre: npt.NDArray[np.float64], post: npt.NDArray[np.float64]) -> dict[str, npt.NDArray]:
    """The intervals above for each row of equal-length complete samples (rows are people's pairs).

    Returns arrays, NaN where the single-sample function says "not estimable": ``d_z_ci_low/high`` and
    ``d_rm`` from 2 pairs; from 3 (they need Hedges' J, so df ≥ 2) ``d_av_ci_low/high`` (also g_av's),
    ``g_rm``, ``v_d_rm``, ``v_g_rm``, ``d_rm_ci_low/high`` and ``g_rm_ci_low/high``. Same formulas and
    the same root finder as ``d_z``, ``d_av`` and ``repeated_measures``, so a row's figures equal the
    single-sample ones.
    """
    m, n = pre.shape
    names = (
        "d_z_ci_low", "d_z_ci_high", "d_av_ci_low", "d_av_ci_high", "d_rm", "g_rm", "v_d_rm", "v_g_rm",
        "d_rm_ci_low", "d_rm_ci_high", "g_rm_ci_low", "g_rm_ci_high",
    )  # fmt: skip
    out = {name: np.full(m, np.nan) for name in names}
    if n < 2 or m == 0:
        return out
    with np.errstate(all="ignore"):
        diff = post - pre
        mean_d = diff.mean(axis=1)
        sd_d = diff.std(axis=1, ddof=1)
        s_av = (pre.std(axis=1, ddof=1) + post.std(axis=1, ddof=1)) / 2
        se = sd_d / math.sqrt(n)
        t = np.where(sd_d > 0, mean_d / se, np.nan)
        lam_low, lam_high = noncentral_t_limits(t, n - 1)
        unsolved = np.isnan(lam_low) | np.isnan(lam_high)  # an interval needs both ends, as in ``_limits``
        lam_low, lam_high = np.where(unsolved, np.nan, lam_low), np.where(unsolved, np.nan, lam_high)
        root_n = math.sqrt(n)
        out["d_z_ci_low"], out["d_z_ci_high"] = lam_low / root_n, lam_high / root_n

        da = pre - pre.mean(axis=1, keepdims=True)
        db = post - post.mean(axis=1, keepdims=True)
        saa, sbb = np.einsum("ij,ij->i", da, da), np.einsum("ij,ij->i", db, db)
        r = np.einsum("ij,ij->i", da, db) / (np.sqrt(saa) * np.sqrt(sbb))
        r = np.where(np.abs(r) > 1 - 1e-12, np.sign(r), r)
        r = np.where((saa == 0) | (sbb == 0) | (sd_d == 0) | (r == 1.0), np.nan, r)
        d = mean_d / (sd_d / np.sqrt(2 * (1 - r)))
        out["d_rm"] = d
        if n >= 3:
            scale = np.where(s_av > 0, se / s_av, np.nan)
            out["d_av_ci_low"], out["d_av_ci_high"] = lam_low * scale, lam_high * scale
            j = hedges_j(n - 1)
            v_d = (1 / n + d * d / (2 * n)) * 2 * (1 - r)
            se_d = np.sqrt(v_d)
            out.update(
                g_rm=j * d,
                v_d_rm=v_d,
                v_g_rm=j * j * v_d,
                d_rm_ci_low=d - Z_95 * se_d,
                d_rm_ci_high=d + Z_95 * se_d,
                g_rm_ci_low=j * d - Z_95 * j * se_d,
                g_rm_ci_high=j * d + Z_95 * j * se_d,
            )
    return {name: np.where(np.isfinite(values), values, np.nan) for name, values in out.items()}

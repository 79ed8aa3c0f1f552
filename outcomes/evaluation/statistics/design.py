"""Comparisons between arms that respect the design (docs/statistics.md §9).

An *arm* is a set of groups (one group against the rest of the organisation, or structured against
unstructured groups); people are nested in groups and groups in arms. Two analyses of the same
people, both of the follow-up score adjusted for the baseline score:

* ANCOVA: ordinary least squares of follow-up on arm and baseline. It treats people as independent.
* A linear mixed model with a random intercept per group (statsmodels ``MixedLM``, REML): people in
  one group are allowed to resemble each other. Its variance components give the intra-class
  correlation ICC = τ² / (τ² + σ²) (conditional on arm and baseline) and the design effect
  1 + (m̄ − 1)·ICC with m̄ the mean number of people per group.

With fewer than ``MIN_GROUPS_PER_ARM`` groups on either side the comparison is still computed but
marked as unable to support a conclusion, and no p-value is given: with so few clusters neither the
group variance nor the difference's standard error can be trusted.

Pure functions over plain arrays; only numpy and statsmodels.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning

MIN_GROUPS_PER_ARM = 5
CONFIDENCE = 0.95

CANNOT_SUPPORT = (
    "Fewer than {minimum} groups on one side ({a} and {b}): this comparison cannot support a conclusion, "
    "so no p-value is given."
)
TOO_FEW_PEOPLE = "Too few people with both a baseline and a follow-up score in each arm."
NO_BASELINE_SPREAD = "Everyone had the same baseline score, so nothing can be adjusted for it."


@dataclass(frozen=True)
class Estimate:
    """The adjusted difference (arm A − arm B) with its 95% interval; ``p`` is None when withheld."""

    difference: float
    se: float
    ci_low: float
    ci_high: float
    p: float | None


@dataclass(frozen=True)
class DesignComparison:
    n_a: int
    n_b: int
    groups_a: int
    groups_b: int
    ancova: Estimate | None
    mixed: Estimate | None
    group_variance: float | None
    residual_variance: float | None
    icc: float | None
    mean_group_size: float | None
    design_effect: float | None
    converged: bool
    supports_conclusion: bool
    caveat: str | None


def _inputs(follow_up, baseline, in_arm_a, group) -> tuple[npt.NDArray, npt.NDArray, npt.NDArray, npt.NDArray]:
    y = np.array([np.nan if v is None else v for v in follow_up], dtype=np.float64)
    x = np.array([np.nan if v is None else v for v in baseline], dtype=np.float64)
    arm = np.asarray(in_arm_a, dtype=bool)
    groups = np.asarray(group)
    if not (y.shape == x.shape == arm.shape == groups.shape) or y.ndim != 1:
        raise ValueError("follow_up, baseline, in_arm_a and group must be flat and hold the same people.")
    if np.isinf(y).any() or np.isinf(x).any():
        raise ValueError("Scores must be finite numbers or None.")
    keep = ~np.isnan(y) & ~np.isnan(x)
    y, x, arm, groups = y[keep], x[keep], arm[keep], groups[keep]
    for g in np.unique(groups):
        if np.unique(arm[groups == g]).size > 1:
            raise ValueError(f"Group {g!r} has people in both arms; arms are made of whole groups.")
    return y, x, arm, groups


def _estimate(coef: float, se: float, *, p: float | None, df: float | None) -> Estimate:
    q = stats.t.ppf((1 + CONFIDENCE) / 2, df) if df is not None else stats.norm.ppf((1 + CONFIDENCE) / 2)
    return Estimate(coef, se, float(coef - q * se), float(coef + q * se), p)


def _fit_mixed(y: npt.NDArray, exog: npt.NDArray, groups: npt.NDArray):
    """statsmodels' random-intercept fit by REML, and whether it converged (no ConvergenceWarning either)."""
    _, codes = np.unique(groups, return_inverse=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = sm.MixedLM(y, exog, groups=codes).fit(reml=True)
    converged = bool(fit.converged) and not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return fit, converged


def compare_arms(
    follow_up: Sequence[float | None],
    baseline: Sequence[float | None],
    in_arm_a: Sequence[bool],
    group: Sequence[object],
) -> DesignComparison:
    """ANCOVA and random-intercept comparison of arm A against arm B, one entry per person.

    People missing either score are left out (the analysis set is the completers). The difference
    is arm A − arm B in raw score units, adjusted for baseline; the ANCOVA interval uses t with the
    residual df, the mixed model's the normal quantile, as statsmodels reports it.
    """
    y, x, arm, groups = _inputs(follow_up, baseline, in_arm_a, group)
    n_a, n_b = int(arm.sum()), int((~arm).sum())
    groups_a, groups_b = np.unique(groups[arm]).size, np.unique(groups[~arm]).size
    supports = min(groups_a, groups_b) >= MIN_GROUPS_PER_ARM
    caveat = None if supports else CANNOT_SUPPORT.format(minimum=MIN_GROUPS_PER_ARM, a=groups_a, b=groups_b)
    empty = DesignComparison(n_a, n_b, groups_a, groups_b, None, None, None, None, None, None, None, False, False, None)
    if n_a < 2 or n_b < 2 or n_a + n_b < 4 or np.ptp(x) == 0:
        reason = TOO_FEW_PEOPLE if n_a < 2 or n_b < 2 or n_a + n_b < 4 else NO_BASELINE_SPREAD
        return DesignComparison(**{**empty.__dict__, "caveat": f"{caveat} {reason}" if caveat else reason})

    exog = np.column_stack([np.ones_like(y), arm.astype(np.float64), x])
    ols = sm.OLS(y, exog).fit()
    ancova = _estimate(
        float(ols.params[1]), float(ols.bse[1]), p=float(ols.pvalues[1]) if supports else None, df=ols.df_resid
    )

    mixed = icc = tau2 = sigma2 = mean_size = design_effect = None
    converged = False
    if groups_a + groups_b >= 3:
        fit, converged = _fit_mixed(y, exog, groups)
        tau2, sigma2 = float(fit.cov_re[0, 0]), float(fit.scale)
        coef, se = float(fit.fe_params[1]), float(fit.bse_fe[1])
        if math.isfinite(se):
            p = float(2 * stats.norm.sf(abs(coef / se))) if supports else None
            mixed = _estimate(coef, se, p=p, df=None)
        icc = tau2 / (tau2 + sigma2) if tau2 + sigma2 > 0 else None
        mean_size = float(y.size / (groups_a + groups_b))
        design_effect = 1 + (mean_size - 1) * icc if icc is not None else None
        if not converged:
            caveat = (caveat + " " if caveat else "") + "The mixed model did not converge; its figures are unreliable."

    return DesignComparison(
        n_a=n_a,
        n_b=n_b,
        groups_a=groups_a,
        groups_b=groups_b,
        ancova=ancova,
        mixed=mixed,
        group_variance=tau2,
        residual_variance=sigma2,
        icc=icc,
        mean_group_size=mean_size,
        design_effect=design_effect,
        converged=converged,
        supports_conclusion=supports and converged,
        caveat=caveat,
    )


@dataclass(frozen=True)
class Clustering:
    """The random-intercept model of follow-up on baseline over all groups (no arm): how alike the members of
    one group are, for comparisons of one group against the rest, whose own arm term a random-intercept model
    cannot tell apart from that group's random intercept."""

    groups: int
    n: int
    group_variance: float | None
    residual_variance: float | None
    icc: float | None
    mean_group_size: float | None
    design_effect: float | None
    converged: bool


def clustering(follow_up, baseline, group) -> Clustering:
    """ICC and design effect of the groups (docs/statistics.md §9), from follow-up on baseline with a random
    intercept per group (REML, statsmodels ``MixedLM``). Needs 3 groups and some spread of baseline."""
    y, x, _, groups = _inputs(follow_up, baseline, np.zeros(len(follow_up), dtype=bool), group)
    count = np.unique(groups).size
    if count < 3 or y.size < count + 3 or np.ptp(x) == 0:
        return Clustering(count, int(y.size), None, None, None, None, None, False)
    fit, converged = _fit_mixed(y, np.column_stack([np.ones_like(y), x]), groups)
    tau2, sigma2 = float(fit.cov_re[0, 0]), float(fit.scale)
    icc = tau2 / (tau2 + sigma2) if tau2 + sigma2 > 0 else None
    mean_size = float(y.size / count)
    design_effect = 1 + (mean_size - 1) * icc if icc is not None else None
    return Clustering(count, int(y.size), tau2, sigma2, icc, mean_size, design_effect, converged)


ONE_GROUP = (
    "One group against the other {others}: fewer than {minimum} groups on one side, so this comparison cannot "
    "support a conclusion and no p-value is given. The mixed model gives no difference: with one group on a side, "
    "its own group effect and the difference cannot be told apart; the ICC and design effect are the groups'."
)


def one_group_caveat(groups: int) -> str:
    return ONE_GROUP.format(others=max(groups - 1, 0), minimum=MIN_GROUPS_PER_ARM)


@np.errstate(all="ignore")
def ancova_each_against_rest(
    follow_up: npt.NDArray[np.float64], baseline: npt.NDArray[np.float64], group_pos: npt.NDArray[np.intp]
) -> dict[str, npt.NDArray[np.float64]]:
    """ANCOVA of follow-up on (this group vs every other) and baseline, for every group at once.

    The same least squares as :func:`compare_arms`'s ANCOVA, in closed form from each group's sums: the
    common slope is the within-arm one, c = S_xy/S_xx (sums of products about each arm's means), the
    difference b = (ȳ_g − ȳ_rest) − c·(x̄_g − x̄_rest), with variance s²·(1/n_g + 1/n_rest + (x̄_g − x̄_rest)²/S_xx),
    s² = (S_yy − c·S_xy)/(n − 3), and a t interval with n − 3 df. Arrays indexed by group position
    (``group_pos`` ≥ 0); NaN where there is no estimate (no one, or everyone, in the group; no spread).
    """
    y, x = np.asarray(follow_up, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    where = np.asarray(group_pos, dtype=np.intp)
    size = int(where.max()) + 1 if where.size else 0
    n = y.size
    y, x = y - y.mean() if n else y, x - x.mean() if n else x  # centred: nothing lost to cancellation

    def sums(values):
        return np.bincount(where, weights=values, minlength=size)

    n_g = np.bincount(where, minlength=size).astype(np.float64)
    sx_g, sy_g, sxx_g, sxy_g, syy_g = sums(x), sums(y), sums(x * x), sums(x * y), sums(y * y)
    n_r = n - n_g
    sx_r, sy_r = x.sum() - sx_g, y.sum() - sy_g
    sxx_r, sxy_r, syy_r = float(x @ x) - sxx_g, float(x @ y) - sxy_g, float(y @ y) - syy_g
    mx_g, my_g, mx_r, my_r = sx_g / n_g, sy_g / n_g, sx_r / n_r, sy_r / n_r
    sxx = (sxx_g - n_g * mx_g**2) + (sxx_r - n_r * mx_r**2)
    sxy = (sxy_g - n_g * mx_g * my_g) + (sxy_r - n_r * mx_r * my_r)
    syy = (syy_g - n_g * my_g**2) + (syy_r - n_r * my_r**2)
    slope = sxy / sxx
    difference = (my_g - my_r) - slope * (mx_g - mx_r)
    df = n - 3
    s2 = np.maximum(syy - slope * sxy, 0.0) / df
    se = np.sqrt(s2 * (1 / n_g + 1 / n_r + (mx_g - mx_r) ** 2 / sxx))
    ok = (n_g > 0) & (n_r > 0) & (sxx > 1e-12 * max(float(x @ x), 1.0)) & (df > 0) & np.isfinite(se)
    q = stats.t.ppf((1 + CONFIDENCE) / 2, df) if df > 0 else np.nan
    nan = np.full(size, np.nan)
    return {
        "ancova_difference": np.where(ok, difference, nan),
        "ancova_se": np.where(ok, se, nan),
        "ancova_ci_low": np.where(ok, difference - q * se, nan),
        "ancova_ci_high": np.where(ok, difference + q * se, nan),
    }

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
        return DesignComparison(**{**empty.__dict__, "caveat": TOO_FEW_PEOPLE})

    exog = np.column_stack([np.ones_like(y), arm.astype(np.float64), x])
    ols = sm.OLS(y, exog).fit()
    ancova = _estimate(
        float(ols.params[1]), float(ols.bse[1]), p=float(ols.pvalues[1]) if supports else None, df=ols.df_resid
    )

    mixed = icc = tau2 = sigma2 = mean_size = design_effect = None
    converged = False
    if groups_a + groups_b >= 3:
        _, codes = np.unique(groups, return_inverse=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = sm.MixedLM(y, exog, groups=codes).fit(reml=True)
        converged = bool(fit.converged) and not any(issubclass(w.category, ConvergenceWarning) for w in caught)
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

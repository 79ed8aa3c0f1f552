"""Attrition and sensitivity to missing follow-up scores (docs/statistics.md §5 and §11).

* ``attrition``: the share lost at a time point, against the number enrolled and against the number
  with a baseline score, each carrying its denominator so neither is shown unlabelled.
* ``reasons_for_leaving``: the recorded reasons, counted, with unrecorded ones named as such.
* ``baseline_balance``: completers against non-completers at baseline (means, SDs, and the
  standardised mean difference with Borenstein's interval), so attrition bias can be seen.
* ``impute_mean_change``: the mean change under missing at random, by multiple imputation by chained
  equations (Bayesian normal linear regression for each incomplete variable in turn, numpy's seeded
  generator, so the same data and seed give the same figures) pooled with Rubin's rules, beside the
  completers' figure.

Pure functions over plain arrays; numpy and scipy only.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

Z_95 = 1.96
CONFIDENCE = 0.95
DEFAULT_SEED = 20261204
DEFAULT_IMPUTATIONS = 20
DEFAULT_ITERATIONS = 10
NOT_RECORDED = "not recorded"


def _array(values: Sequence[float | None] | npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    a = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of scores.")
    if np.isinf(a).any():
        raise ValueError(f"{name} must hold finite numbers or None.")
    return a


# --- attrition --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attrition:
    """People lost at one time point. Each share says which denominator it uses."""

    enrolled: int
    with_baseline: int
    with_score: int
    #: 1 − with_score / enrolled
    against_enrolled: float | None
    #: 1 − with_score / with_baseline (people who never gave a baseline score are not counted as lost)
    against_baseline: float | None


def attrition(*, enrolled: int, with_baseline: int, with_score: int) -> Attrition:
    """Attrition at a time point; None where a denominator is 0.

    ``with_score`` counts people with a valid score at the time point, whether or not they also
    have a baseline score; a share can therefore be negative when people missing at baseline return.
    """
    if min(enrolled, with_baseline, with_score) < 0:
        raise ValueError("Counts cannot be negative.")
    if with_baseline > enrolled or with_score > enrolled:
        raise ValueError("No count can exceed the number enrolled.")
    return Attrition(
        enrolled=enrolled,
        with_baseline=with_baseline,
        with_score=with_score,
        against_enrolled=1 - with_score / enrolled if enrolled else None,
        against_baseline=1 - with_score / with_baseline if with_baseline else None,
    )


def reasons_for_leaving(reasons: Iterable[str | None]) -> list[tuple[str, int]]:
    """Each reason with its count, commonest first (then alphabetically); blank reasons are "not recorded"."""
    counts = Counter((r.strip() if isinstance(r, str) and r.strip() else NOT_RECORDED) for r in reasons)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


# --- completers against non-completers at baseline -----------------------------------------


@dataclass(frozen=True)
class BaselineBalance:
    """Baseline scores of completers (a follow-up score present) against non-completers.

    ``smd`` = (mean of completers − mean of non-completers) / pooled SD; its interval is d ± 1.96·√V
    with V = (n₁ + n₂)/(n₁n₂) + d²/(2(n₁ + n₂)) (Borenstein et al. 2009 ch. 4). None when either side
    has fewer than 2 people or the pooled SD is 0.
    """

    n_completers: int
    n_non_completers: int
    mean_completers: float | None
    sd_completers: float | None
    mean_non_completers: float | None
    sd_non_completers: float | None
    smd: float | None
    smd_ci_low: float | None
    smd_ci_high: float | None


def baseline_balance(baseline: Sequence[float | None], completed: Sequence[bool]) -> BaselineBalance:
    """Compare the baseline scores of those who completed with those who did not (missing baselines dropped)."""
    x = _array(baseline, "baseline")
    done = np.asarray(completed, dtype=bool)
    if done.shape != x.shape:
        raise ValueError("baseline and completed must hold the same people.")
    present = ~np.isnan(x)
    a, b = x[present & done], x[present & ~done]
    n1, n2 = int(a.size), int(b.size)

    def mean(v):
        return float(v.mean()) if v.size else None

    def sd(v):
        return float(v.std(ddof=1)) if v.size >= 2 else None

    smd = low = high = None
    if n1 >= 2 and n2 >= 2:
        pooled = math.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
        if pooled > 0:
            smd = float((a.mean() - b.mean()) / pooled)
            se = math.sqrt((n1 + n2) / (n1 * n2) + smd * smd / (2 * (n1 + n2)))
            low, high = smd - Z_95 * se, smd + Z_95 * se
    return BaselineBalance(n1, n2, mean(a), sd(a), mean(b), sd(b), smd, low, high)


# --- Rubin's rules and chained equations ------------------------------------------------------


@dataclass(frozen=True)
class Pooled:
    """An estimate pooled over m imputations by Rubin's rules (Rubin 1987; df after Barnard & Rubin 1999)."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: float
    within: float
    between: float
    #: share of the variance due to the missing data, (1 + 1/m)·B / T
    fraction_missing_information: float
    m: int


def rubin(estimates: Sequence[float], variances: Sequence[float], *, df_complete: float) -> Pooled:
    """Pool m estimates and their squared standard errors.

    Q̄ = mean(Q), Ū = mean(U), B = var(Q) (ddof 1), T = Ū + (1 + 1/m)·B; the interval is Q̄ ± t·√T with
    Barnard & Rubin's small-sample degrees of freedom (which never exceed the complete-data df).
    """
    q = np.asarray(estimates, dtype=np.float64)
    u = np.asarray(variances, dtype=np.float64)
    m = q.size
    if m < 2 or u.shape != q.shape:
        raise ValueError("Rubin's rules need at least two imputations, each with an estimate and a variance.")
    q_bar, u_bar, b = float(q.mean()), float(u.mean()), float(q.var(ddof=1))
    t = u_bar + (1 + 1 / m) * b
    gamma = (1 + 1 / m) * b / t if t > 0 else 0.0
    if gamma == 0:
        df = float(df_complete)
    else:
        df_old = (m - 1) / gamma**2
        df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - gamma)
        df = 1 / (1 / df_old + 1 / df_obs)
    half = stats.t.ppf((1 + CONFIDENCE) / 2, df) * math.sqrt(t)
    return Pooled(q_bar, math.sqrt(t), float(q_bar - half), float(q_bar + half), float(df), u_bar, b, gamma, m)


def _draw_regression(
    rng: np.random.Generator, y: npt.NDArray, x: npt.NDArray, missing: npt.NDArray
) -> npt.NDArray[np.float64]:
    """Impute y[missing] from x by a Bayesian normal linear regression on the observed rows.

    Draws σ² from its scaled inverse-χ² posterior and β from N(β̂, σ²(XᵀX)⁻¹), then y = xβ + ε
    (van Buuren 2018, *Flexible Imputation of Missing Data*, algorithm 3.1, without the ridge).
    """
    xo, yo = x[~missing], y[~missing]
    k = xo.shape[1]
    xtx_inv = np.linalg.pinv(xo.T @ xo)
    beta_hat = xtx_inv @ xo.T @ yo
    resid = yo - xo @ beta_hat
    dof = max(yo.size - k, 1)
    sigma2 = float(resid @ resid) / rng.chisquare(dof)
    beta = rng.multivariate_normal(beta_hat, sigma2 * xtx_inv, method="cholesky" if k > 0 else "svd")
    return x[missing] @ beta + rng.normal(0.0, math.sqrt(sigma2), int(missing.sum()))


@dataclass(frozen=True)
class ImputedChange:
    """Mean change under missing at random (multiple imputation) beside the completers' mean change."""

    n: int
    #: people with neither score and no covariates: left out (they would only add draws from everyone else)
    left_out_without_scores: int
    n_completers: int
    imputed_pre: int
    imputed_post: int
    completers_mean: float | None
    completers_ci_low: float | None
    completers_ci_high: float | None
    pooled: Pooled | None
    seed: int
    iterations: int


def impute_mean_change(
    pre: Sequence[float | None],
    post: Sequence[float | None],
    *,
    covariates: Sequence[Sequence[float]] | npt.ArrayLike | None = None,
    m: int = DEFAULT_IMPUTATIONS,
    iterations: int = DEFAULT_ITERATIONS,
    seed: int = DEFAULT_SEED,
) -> ImputedChange:
    """Mean of post − pre over everyone passed in, with missing scores imputed m times.

    Pass the people the analysis is about (e.g. everyone who started the group), with ``covariates``
    (complete, one row per person, e.g. sessions attended) that help predict the missing scores. Each
    incomplete variable is imputed in turn from all the others, ``iterations`` cycles per imputation,
    starting from draws from the observed values. Within each completed data set the estimate is the
    mean change and its variance SD²/n; the m results are pooled by ``rubin`` with df = n − 1.
    Without covariates, people with neither score are left out (and counted in the result).
    Needs at least 3 completers; otherwise ``pooled`` is None.
    """
    a, b = _array(pre, "pre"), _array(post, "post")
    if a.shape != b.shape:
        raise ValueError("pre and post must hold the same people.")
    z = np.empty((a.size, 0)) if covariates is None else np.asarray(covariates, dtype=np.float64).reshape(a.size, -1)
    if not np.isfinite(z).all():
        raise ValueError("Covariates must be complete and finite.")
    no_scores = np.isnan(a) & np.isnan(b)
    if z.shape[1] == 0:  # nothing is known about them: under MAR they would be draws from everyone else
        a, b, z = a[~no_scores], b[~no_scores], z[~no_scores]
    n = int(a.size)
    both = ~np.isnan(a) & ~np.isnan(b)
    d = b[both] - a[both]
    nc = int(d.size)
    c_mean = c_low = c_high = None
    if nc >= 2:
        c_mean = float(d.mean())
        half = stats.t.ppf((1 + CONFIDENCE) / 2, nc - 1) * d.std(ddof=1) / math.sqrt(nc)
        c_low, c_high = float(c_mean - half), float(c_mean + half)
    miss_a, miss_b = np.isnan(a), np.isnan(b)
    result = {
        "n": n,
        "left_out_without_scores": int(no_scores.sum()) if z.shape[1] == 0 else 0,
        "n_completers": nc,
        "imputed_pre": int(miss_a.sum()),
        "imputed_post": int(miss_b.sum()),
        "completers_mean": c_mean,
        "completers_ci_low": c_low,
        "completers_ci_high": c_high,
        "seed": seed,
        "iterations": iterations,
    }
    if nc < 3 or n < 4:
        return ImputedChange(**result, pooled=None)

    rng = np.random.default_rng(seed)
    ones = np.ones((n, 1))
    estimates, variances = [], []
    for _ in range(m):
        cur_a, cur_b = a.copy(), b.copy()
        cur_a[miss_a] = rng.choice(a[~miss_a], int(miss_a.sum()))
        cur_b[miss_b] = rng.choice(b[~miss_b], int(miss_b.sum()))
        for _ in range(iterations):
            if miss_a.any():
                cur_a[miss_a] = _draw_regression(rng, cur_a, np.hstack([ones, cur_b[:, None], z]), miss_a)
            if miss_b.any():
                cur_b[miss_b] = _draw_regression(rng, cur_b, np.hstack([ones, cur_a[:, None], z]), miss_b)
        change = cur_b - cur_a
        estimates.append(float(change.mean()))
        variances.append(float(change.var(ddof=1)) / n)
    return ImputedChange(**result, pooled=rubin(estimates, variances, df_complete=n - 1))

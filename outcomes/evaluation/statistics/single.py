"""Evaluation statistics for outcome reports.

Pure functions over plain sequences of scores; no models, no database. Every
formula follows ``docs/statistics.md`` (the section is named in each
docstring) and is computed in float64 without rounding: rounding to 2 dp is the
template's job.

Conventions shared by every function here:

* ``None`` and NaN in the input mean "no score" and are dropped (paired
  functions drop the whole pair). Infinite scores are refused with
  ``ValueError``: no instrument produces one, so it is a bug upstream.
* A value that is undefined for the data (an SD from one score, a t statistic
  when every difference is the same, ...) is returned as ``None``, never as NaN
  or infinity, so templates and JSON exports never meet a NaN.
* Change is always raw change, ``post - pre``, and every effect size carries the
  sign of that raw change. Whether a positive change is an improvement depends
  on the instrument, so results carry ``direction`` and an ``improvement`` figure
  signed so that positive means better.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, NamedTuple, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from . import intervals
from .constants import CONFIDENCE, R_UNIT, Z_95
from .signed_rank import wilcoxon_rows

Scores = Sequence[float | int | None] | npt.NDArray[np.floating] | npt.NDArray[np.integer]


_Result = TypeVar("_Result", bound=Any)
_P = ParamSpec("_P")
_T = TypeVar("_T")

HIGHER_IS_BETTER = "higher_is_better"
LOWER_IS_BETTER = "lower_is_better"


def _direction(higher_is_better: bool) -> str:
    return HIGHER_IS_BETTER if higher_is_better else LOWER_IS_BETTER


def _finite(value: float | np.floating | None) -> float | None:
    """A plain float, or None where the arithmetic produced NaN or infinity."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _as_array(values: Scores, *, name: str) -> npt.NDArray[np.float64]:
    """Scores as a 1-D float64 array with NaN standing for missing."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":  # no None in it: no element by element
        array = values.astype(np.float64)
    else:
        array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of scores.")
    if np.isinf(array).any():
        raise ValueError(f"{name} contains an infinite score; scores must be finite numbers or None.")
    return array


def _present(values: Scores, *, name: str) -> npt.NDArray[np.float64]:
    array = _as_array(values, name=name)
    return array[~np.isnan(array)]


def _pairs(pre: Scores, post: Scores) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Completers only: the pairs where both scores are present (docs/statistics.md §5)."""
    pre_a, post_a = _as_array(pre, name="pre"), _as_array(post, name="post")
    if pre_a.shape != post_a.shape:
        raise ValueError(
            f"pre and post must hold the same participants in the same order; got {pre_a.size} and {post_a.size}."
        )
    both = ~np.isnan(pre_a) & ~np.isnan(post_a)
    return pre_a[both], post_a[both]


def _sd(x: npt.NDArray[np.float64]) -> float | None:
    return _finite(np.std(x, ddof=1)) if x.size >= 2 else None


def _t_interval(mean: float, sd: float | None, n: int, *, spread: bool = True) -> tuple[float | None, float | None]:
    """mean ± t(0.975, n-1)·sd/√n. Not estimable (None, None), never of zero width, when the values have no
    spread (all equal: docs/statistics.md §3, the zero-variance rule)."""
    if sd is None or n < 2 or not spread or sd == 0:
        return None, None
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * sd / math.sqrt(n)
    return _finite(mean - half), _finite(mean + half)


def _quietly(func: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run without numpy's floating-point warnings.

    Only absurd scores (beyond ~1e150) overflow float64; what overflows becomes
    None through ``_finite``, so the warning would tell nobody anything.
    """

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with np.errstate(all="ignore"):
            return func(*args, **kwargs)

    return wrapper


def _undefined(cls: type[_Result], **known: object) -> _Result:
    """A result with only ``known`` fields set and every other figure None (too little data)."""
    return cls(**{f.name: known.get(f.name) for f in fields(cls)})


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return _finite(numerator / denominator)


def _times(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return _finite(a * b)


def hedges_j_approx(df: int) -> float | None:
    """Hedges' small-sample correction, J = 1 − 3/(4·df − 1) (Borenstein et al. 2009).

    None for df < 2: with one degree of freedom d has no finite expectation, so
    there is no bias to correct (both the approximate and exact formulas give 0).
    """
    if df < 2:
        return None
    return 1.0 - 3.0 / (4.0 * df - 1.0)


def hedges_j_exact(df: int) -> float | None:
    """Exact J = Γ(df/2) / (√(df/2)·Γ((df−1)/2)) (Hedges 1981), via gammaln so large df do not overflow."""
    if df < 2:
        return None
    return _finite(math.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / math.sqrt(df / 2))


# --- Section 1: descriptives ------------------------------------------------------------------


@dataclass(frozen=True)
class Descriptives:
    """One time point, all available data (docs/statistics.md §1).

    Quartiles use numpy's default linear method (Hyndman–Fan type 7, the same as
    R's ``quantile()`` default; not SPSS/Excel ``QUARTILE.EXC``). The CI is the
    t-interval of the mean.
    """

    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None
    iqr: float | None
    ci_low: float | None
    ci_high: float | None


@_quietly
def describe(x: Scores) -> Descriptives:
    """Describe one time point, ignoring missing scores (None or NaN).

    n counts the non-missing scores. With n = 0 everything else is None; with
    n = 1 the SD and CI are None (no CI is computed for n < 2).
    """
    values = _present(x, name="x")
    n = int(values.size)
    if n == 0:
        return Descriptives(n=0, mean=None, sd=None, median=None, q1=None, q3=None, iqr=None, ci_low=None, ci_high=None)
    mean = _finite(np.mean(values))
    sd = _sd(values)
    q1, q3 = (float(q) for q in np.percentile(values, [25, 75], method="linear"))
    spread = bool(np.ptp(values) > 0)
    ci_low, ci_high = _t_interval(mean, sd, n, spread=spread) if mean is not None else (None, None)
    return Descriptives(
        n=n,
        mean=mean,
        sd=sd,
        median=_finite(np.median(values)),
        q1=_finite(q1),
        q3=_finite(q3),
        iqr=_finite(q3 - q1),
        ci_low=ci_low,
        ci_high=ci_high,
    )


# --- Sections 2 and 3: paired change and within-group effect sizes -----------------------------


@dataclass(frozen=True)
class PairedChange:
    """Pre→post change for completers (docs/statistics.md §2 and §3).

    Sign convention: ``mean_change`` is raw change, post − pre, and every effect
    size (d_z, d_av, d_rm, the g's and all their CIs) has the sign of raw change.
    ``direction`` says whether a rise is good (``"higher_is_better"``) or bad
    (``"lower_is_better"``); ``improvement`` is ``mean_change`` re-signed so that
    positive always means better.

    Hedges' g uses the approximate J (as the reference values do); the exact J is
    reported alongside.
    """

    direction: str
    n_pairs: int
    mean_pre: float | None
    mean_post: float | None
    sd_pre: float | None
    sd_post: float | None
    mean_change: float | None
    improvement: float | None
    sd_change: float | None
    se_change: float | None
    ci_low: float | None
    ci_high: float | None
    df: int | None
    t: float | None
    p: float | None
    wilcoxon_statistic: float | None
    p_wilcoxon: float | None
    wilcoxon_method: str | None
    r_pre_post: float | None
    d_z: float | None
    d_z_ci_low: float | None
    d_z_ci_high: float | None
    d_av: float | None
    d_rm: float | None
    j_approx: float | None
    j_exact: float | None
    g_z: float | None
    g_av: float | None
    g_rm: float | None
    s_within: float | None
    v_d_rm: float | None
    se_d_rm: float | None
    d_rm_ci_low: float | None
    d_rm_ci_high: float | None
    v_g_rm: float | None
    g_rm_ci_low: float | None
    g_rm_ci_high: float | None
    g_av_ci_low: float | None
    g_av_ci_high: float | None


def pearson_r(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float | None:
    if x.size < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx == 0 or syy == 0:
        return None
    # √sxx·√syy rather than √(sxx·syy): the product can underflow to 0 for tiny spreads.
    scale = math.sqrt(sxx) * math.sqrt(syy)
    r = _finite(float(dx @ dy) / scale) if scale > 0 else None
    return None if r is None else exact_unit(r)


def exact_unit(r: float) -> float:
    """r, but ±1 when it is within ``R_UNIT`` of it. Scores on an exact line (post = a·pre + b) give r = ±1
    only up to the rounding of the sums, which can leave it a hair either side; the hair would matter, since
    intervals take √(1 − r): 10⁻¹⁶ becomes 10⁻⁸. Real scores are never that close to a line and off it."""
    return math.copysign(1.0, r) if abs(r) > 1 - R_UNIT else r


def _wilcoxon(
    post: npt.NDArray[np.float64], pre: npt.NDArray[np.float64]
) -> tuple[float | None, float | None, str | None]:
    """Wilcoxon signed-rank with scipy's defaults: statistic, p and the method scipy's "auto" uses.

    The work is ``signed_rank.wilcoxon_rows`` on one row, the same code a recompute runs for
    thousands of cohorts at once.
    """
    if post.size == 0:
        return None, None, None
    statistic, p, method = wilcoxon_rows(post[np.newaxis, :], pre[np.newaxis, :])
    if not method[0] or _finite(p[0]) is None:
        return None, None, None
    return _finite(statistic[0]), _finite(p[0]), str(method[0])


def _borenstein_prepost(d: float | None, r: float | None, n: int, j: float | None) -> tuple[float | None, ...]:
    """V_d = (1/n + d²/(2n))·2(1−r), SE, d CI, V_g = J²·V_d, g CI (Borenstein et al. 2009 ch. 4)."""
    if d is None or r is None or n < 2:
        return (None,) * 7
    v_d = _finite((1 / n + d * d / (2 * n)) * 2 * (1 - r))
    if v_d is None:
        return (None,) * 7
    se_d = math.sqrt(v_d)
    d_low, d_high = _finite(d - Z_95 * se_d), _finite(d + Z_95 * se_d)
    if j is None:
        return v_d, se_d, d_low, d_high, None, None, None
    g, v_g = j * d, j * j * v_d
    se_g = math.sqrt(v_g)
    return v_d, se_d, d_low, d_high, _finite(v_g), _finite(g - Z_95 * se_g), _finite(g + Z_95 * se_g)


@_quietly
def paired_change(pre: Scores, post: Scores, *, higher_is_better: bool) -> PairedChange:
    """Change from pre to post for the completers (pairs with both scores present).

    Reports raw change (post − pre) with its t-interval, the paired t-test
    (df = n − 1) and the Wilcoxon signed-rank test with scipy's defaults
    (``zero_method="wilcox"``, ``method="auto"``; ``wilcoxon_method`` names the
    method actually used: ``"exact"``, ``"permutation"`` or ``"asymptotic"``,
    ``"auto"`` if it could not be confirmed, None when not computed). The
    Wilcoxon test is None when every difference is zero.

    Effect sizes (Lakens 2013): d_z = mean/SD_d with its exact noncentral-t CI
    (:func:`.intervals.d_z`, from 3 pairs);
    d_av = mean/((SD_pre + SD_post)/2); d_rm = mean/S_within with
    S_within = SD_d/√(2(1 − r)). All carry the sign of raw change. g_* = J·d_*
    with the approximate J.

    Intervals (docs/statistics.md §3): ``g_av_ci_*`` is the Algina–Keselman
    noncentral-t interval of :func:`.intervals.g_av`, whose coverage
    ``benchmarks/coverage.py`` shows; it is None ("not estimable") when every
    change is the same. Borenstein et al.'s pre–post variance
    V_d = (1/n + d²/(2n))·2(1 − r) is derived for d standardised by S_within,
    i.e. d_rm, so ``v_d_rm``, ``d_rm_ci_*``, ``v_g_rm`` and ``g_rm_ci_*`` are the
    textbook quantities a meta-analysis needs.

    The SDs, means and r used for effect sizes are the completers' own; use
    ``describe`` for all-available-data descriptives.
    """
    direction = _direction(higher_is_better)
    pre_c, post_c = _pairs(pre, post)
    n = int(pre_c.size)
    if n == 0:
        return _undefined(PairedChange, direction=direction, n_pairs=0)

    diff = post_c - pre_c
    mean_change = _finite(np.mean(diff))
    mean_pre, mean_post = _finite(np.mean(pre_c)), _finite(np.mean(post_c))
    sign = 1.0 if higher_is_better else -1.0
    improvement = None if mean_change is None else sign * mean_change
    sd_change, sd_pre, sd_post = _sd(diff), _sd(pre_c), _sd(post_c)
    se_change = None if sd_change is None else _finite(sd_change / math.sqrt(n))
    spread = bool(np.ptp(diff) > 0)
    ci_low, ci_high = _t_interval(mean_change, sd_change, n, spread=spread) if mean_change is not None else (None, None)

    df = n - 1 if n >= 2 else None
    t = _ratio(mean_change, se_change)
    p = _finite(2 * stats.t.sf(abs(t), df)) if t is not None and df is not None else None
    w_stat, p_w, w_method = _wilcoxon(post_c, pre_c)

    r = pearson_r(pre_c, post_c)
    d_z = _ratio(mean_change, sd_change)
    d_z_interval = intervals.d_z(pre_c, post_c)
    d_z_low, d_z_high = _finite(d_z_interval.low), _finite(d_z_interval.high)
    sd_av = None if sd_pre is None or sd_post is None else (sd_pre + sd_post) / 2
    d_av = _ratio(mean_change, sd_av)
    s_within = None
    if sd_change is not None and r is not None and r < 1:
        s_within = _finite(sd_change / math.sqrt(2 * (1 - r)))
    d_rm = _ratio(mean_change, s_within)

    j_approx = hedges_j_approx(n - 1)
    j_exact = hedges_j_exact(n - 1)
    v_d_rm, se_d_rm, d_rm_low, d_rm_high, v_g_rm, g_rm_low, g_rm_high = _borenstein_prepost(d_rm, r, n, j_approx)
    g_av_interval = intervals.g_av(pre_c, post_c)

    return PairedChange(
        direction=direction,
        n_pairs=n,
        mean_pre=mean_pre,
        mean_post=mean_post,
        sd_pre=sd_pre,
        sd_post=sd_post,
        mean_change=mean_change,
        improvement=improvement,
        sd_change=sd_change,
        se_change=se_change,
        ci_low=ci_low,
        ci_high=ci_high,
        df=df,
        t=t,
        p=p,
        wilcoxon_statistic=w_stat,
        p_wilcoxon=p_w,
        wilcoxon_method=w_method,
        r_pre_post=r,
        d_z=d_z,
        d_z_ci_low=d_z_low,
        d_z_ci_high=d_z_high,
        d_av=d_av,
        d_rm=d_rm,
        j_approx=j_approx,
        j_exact=j_exact,
        g_z=_times(j_approx, d_z),
        g_av=_times(j_approx, d_av),
        g_rm=_times(j_approx, d_rm),
        s_within=s_within,
        v_d_rm=v_d_rm,
        se_d_rm=se_d_rm,
        d_rm_ci_low=d_rm_low,
        d_rm_ci_high=d_rm_high,
        v_g_rm=v_g_rm,
        g_rm_ci_low=g_rm_low,
        g_rm_ci_high=g_rm_high,
        g_av_ci_low=_finite(g_av_interval.low),
        g_av_ci_high=_finite(g_av_interval.high),
    )


# --- Section 4: reliable and clinically significant change --------------------------------------


class ChangeCategory(StrEnum):
    """Jacobson & Truax categories; mutually exclusive, so "improved" excludes "recovered"."""

    RECOVERED = "recovered"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    DETERIORATED = "deteriorated"


class Cutoffs(NamedTuple):
    """Jacobson & Truax cut-offs a, b and c on the instrument's own scale."""

    a: float
    b: float
    c: float


def jt_cutoffs(m_dys: float, s_dys: float, m_fun: float, s_fun: float, higher_is_better: bool) -> Cutoffs:
    """Cut-offs from the dysfunctional (M₁, s₁) and functional (M₀, s₀) populations (Jacobson & Truax 1991).

    a = M₁ ± 2s₁ and b = M₀ ∓ 2s₀, each 2 SD towards the healthy side of its
    population's mean; c = (s₀·M₁ + s₁·M₀)/(s₀ + s₁), the weighted midpoint.
    """
    if s_dys <= 0 or s_fun <= 0:
        raise ValueError("Both population SDs must be positive.")
    healthy = 1.0 if higher_is_better else -1.0
    return Cutoffs(
        a=m_dys + healthy * 2 * s_dys,
        b=m_fun - healthy * 2 * s_fun,
        c=(s_fun * m_dys + s_dys * m_fun) / (s_fun + s_dys),
    )


@dataclass(frozen=True)
class ReliableChange:
    """Reliable Change Index per person and category counts (docs/statistics.md §4).

    ``rci`` and ``categories`` line up with the input (None where a pair is
    incomplete). RCI is raw (post − pre)/S_diff, so its sign is raw change;
    ``direction`` turns it into improved/deteriorated. Counts are over complete
    pairs and are mutually exclusive: with a cut-off, a recovered person is not
    also counted as improved (``n_reliably_improved`` = recovered + improved).
    Without a cut-off ``n_recovered`` is None.
    """

    direction: str
    sd_pre: float
    reliability: float
    se_m: float
    s_diff: float
    change_needed: float
    cutoff: float | None
    n_pairs: int
    rci: tuple[float | None, ...]
    categories: tuple[ChangeCategory | None, ...]
    n_recovered: int | None
    n_improved: int
    n_unchanged: int
    n_deteriorated: int
    n_reliably_improved: int


@_quietly
def reliable_change(
    pre: Scores,
    post: Scores,
    *,
    sd_pre: float,
    reliability: float,
    higher_is_better: bool,
    cutoff: float | None = None,
) -> ReliableChange:
    """Classify each person's change (Jacobson & Truax 1991).

    SE_m = sd_pre·√(1 − reliability); S_diff = √(2·SE_m²); RCI = (post − pre)/S_diff.
    Reliable change means |RCI| > 1.96. ``sd_pre`` is the pre-treatment (or
    normative clinical) SD and ``reliability`` the test–retest r or α; the
    caller should record which.

    With ``cutoff`` (usually c from ``jt_cutoffs``), a reliable improvement
    counts as "recovered" when the person started on the dysfunctional side or
    exactly on c and finished strictly on the healthy side of c.
    """
    if not (sd_pre > 0 and math.isfinite(sd_pre)):
        raise ValueError("sd_pre must be a positive number.")
    if not 0 <= reliability < 1:
        raise ValueError("reliability must be at least 0 and below 1 (a reliability of 1 gives S_diff = 0).")
    if cutoff is not None and not math.isfinite(cutoff):
        raise ValueError("cutoff must be a finite number.")
    pre_a, post_a = _as_array(pre, name="pre"), _as_array(post, name="post")
    if pre_a.shape != post_a.shape:
        raise ValueError("pre and post must hold the same participants in the same order.")

    se_m = sd_pre * math.sqrt(1 - reliability)
    s_diff = math.sqrt(2) * se_m  # = √(2·SE_m²), without squaring a large SD
    healthy = 1.0 if higher_is_better else -1.0
    rcis: list[float | None] = []
    categories: list[ChangeCategory | None] = []
    for x1, x2 in zip(pre_a, post_a, strict=True):
        if math.isnan(x1) or math.isnan(x2):
            rcis.append(None)
            categories.append(None)
            continue
        rci = _finite((x2 - x1) / s_diff)
        rcis.append(rci)
        better = healthy * (x2 - x1) / s_diff  # positive = towards health
        if better > Z_95:
            crossed = cutoff is not None and healthy * (x1 - cutoff) <= 0 < healthy * (x2 - cutoff)
            categories.append(ChangeCategory.RECOVERED if crossed else ChangeCategory.IMPROVED)
        elif better < -Z_95:
            categories.append(ChangeCategory.DETERIORATED)
        else:
            categories.append(ChangeCategory.UNCHANGED)

    counts = {category: categories.count(category) for category in ChangeCategory}
    return ReliableChange(
        direction=_direction(higher_is_better),
        sd_pre=float(sd_pre),
        reliability=float(reliability),
        se_m=se_m,
        s_diff=s_diff,
        change_needed=Z_95 * s_diff,
        cutoff=None if cutoff is None else float(cutoff),
        n_pairs=sum(c is not None for c in categories),
        rci=tuple(rcis),
        categories=tuple(categories),
        n_recovered=None if cutoff is None else counts[ChangeCategory.RECOVERED],
        n_improved=counts[ChangeCategory.IMPROVED],
        n_unchanged=counts[ChangeCategory.UNCHANGED],
        n_deteriorated=counts[ChangeCategory.DETERIORATED],
        n_reliably_improved=counts[ChangeCategory.RECOVERED] + counts[ChangeCategory.IMPROVED],
    )


# --- Section 3 (between groups) ----------------------------------------------------------------


@dataclass(frozen=True)
class BetweenGroups:
    """Standardised difference between two independent groups, group a minus group b.

    After Borenstein et al. 2009 ch. 4, with the Student t-test (pooled
    variance, ``scipy.stats.ttest_ind`` default; not Welch). g uses the
    approximate J with df = n1 + n2 − 2; ``ci_low``/``ci_high`` are the 95% CI
    of g, g ± 1.96·√V_g.
    """

    n1: int
    n2: int
    mean1: float | None
    mean2: float | None
    sd1: float | None
    sd2: float | None
    df: int | None
    s_pooled: float | None
    d: float | None
    v_d: float | None
    se_d: float | None
    j_approx: float | None
    j_exact: float | None
    g: float | None
    v_g: float | None
    se_g: float | None
    ci_low: float | None
    ci_high: float | None
    t: float | None
    p: float | None


@_quietly
def between_groups(a: Scores, b: Scores) -> BetweenGroups:
    """Compare two independent groups (e.g. change scores in two kinds of group); missing scores are dropped.

    Undefined quantities are None: everything needs one score in each group and
    n1 + n2 − 2 ≥ 1; d, t and p also need S_pooled > 0; J and g need df ≥ 2.
    """
    x1, x2 = _present(a, name="a"), _present(b, name="b")
    n1, n2 = int(x1.size), int(x2.size)
    mean1 = _finite(np.mean(x1)) if n1 else None
    mean2 = _finite(np.mean(x2)) if n2 else None
    sd1, sd2 = _sd(x1), _sd(x2)
    df = n1 + n2 - 2
    if n1 == 0 or n2 == 0 or df < 1 or mean1 is None or mean2 is None:
        return _undefined(BetweenGroups, n1=n1, n2=n2, mean1=mean1, mean2=mean2, sd1=sd1, sd2=sd2)

    # Sums of squares rather than (n−1)s², so a group of one contributes 0 instead of an undefined SD.
    ss = float(np.sum((x1 - mean1) ** 2) + np.sum((x2 - mean2) ** 2))
    s_pooled = _finite(math.sqrt(ss / df))
    d = _ratio(mean1 - mean2, s_pooled)
    v_d = None if d is None else _finite((n1 + n2) / (n1 * n2) + d * d / (2 * (n1 + n2)))
    se_d = None if v_d is None else math.sqrt(v_d)
    j_approx, j_exact = hedges_j_approx(df), hedges_j_exact(df)
    g = _times(j_approx, d)
    v_g = None if j_approx is None or v_d is None else _finite(j_approx**2 * v_d)
    se_g = None if v_g is None else math.sqrt(v_g)
    ci_low = None if g is None or se_g is None else _finite(g - Z_95 * se_g)
    ci_high = None if g is None or se_g is None else _finite(g + Z_95 * se_g)
    se_diff = None if s_pooled is None else s_pooled * math.sqrt(1 / n1 + 1 / n2)
    t = _ratio(mean1 - mean2, se_diff)
    p = None if t is None else _finite(2 * stats.t.sf(abs(t), df))
    return BetweenGroups(
        n1=n1,
        n2=n2,
        mean1=mean1,
        mean2=mean2,
        sd1=sd1,
        sd2=sd2,
        df=df,
        s_pooled=s_pooled,
        d=d,
        v_d=v_d,
        se_d=se_d,
        j_approx=j_approx,
        j_exact=j_exact,
        g=g,
        v_g=v_g,
        se_g=se_g,
        ci_low=ci_low,
        ci_high=ci_high,
        t=t,
        p=p,
    )


# --- Section 5: dose ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dose:
    """Sessions attended / sessions offered per member (docs/statistics.md §5, a project convention).

    Members offered no sessions are left out (``n_skipped``). Quartiles use
    numpy's linear method. ``share_at_or_above`` is the fraction (0–1) of the
    ``n_members`` included whose dose is ≥ ``threshold``.
    """

    n_members: int
    n_skipped: int
    median: float | None
    q1: float | None
    q3: float | None
    threshold: float
    n_at_or_above: int
    share_at_or_above: float | None


def dose(attended: Sequence[int], offered: Sequence[int], threshold: float = 0.5) -> Dose:
    """Summarise attendance as a share of the sessions each member was offered.

    ``offered`` should already exclude sessions the group cancelled. Raises
    ValueError for mismatched lengths, negative counts, or more sessions
    attended than offered.
    """
    came, could = np.asarray(attended, dtype=np.int64), np.asarray(offered, dtype=np.int64)
    if came.shape != could.shape or came.ndim != 1:
        raise ValueError("attended and offered must have one entry per member.")
    if not 0 <= threshold <= 1:
        raise ValueError("threshold is a share of sessions offered, between 0 and 1.")
    if (came < 0).any() or (could < 0).any():
        raise ValueError("Session counts cannot be negative.")
    over = np.flatnonzero(came > could)
    if over.size:
        i = over[0]
        raise ValueError(f"A member attended {came[i]} of {could[i]} sessions offered; attended cannot exceed offered.")
    with_sessions = could > 0
    skipped = int(came.size - with_sessions.sum())
    if not with_sessions.any():
        return Dose(0, skipped, None, None, None, float(threshold), 0, None)
    ratios = came[with_sessions] / could[with_sessions]
    values = ratios.astype(np.float64)
    q1, median, q3 = (float(q) for q in np.percentile(values, [25, 50, 75], method="linear"))
    at_or_above = int(np.count_nonzero(values >= threshold))
    return Dose(
        n_members=len(ratios),
        n_skipped=skipped,
        median=median,
        q1=q1,
        q3=q3,
        threshold=float(threshold),
        n_at_or_above=at_or_above,
        share_at_or_above=at_or_above / len(ratios),
    )

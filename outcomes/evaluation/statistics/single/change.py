"""Paired change and the within-group effect sizes (docs/statistics.md §2 and §3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from outcomes.evaluation.statistics import intervals
from outcomes.evaluation.statistics.constants import R_UNIT, Z_95
from outcomes.evaluation.statistics.signed_rank import wilcoxon_rows
from outcomes.evaluation.statistics.single.shared import (
    Scores,
    _direction,
    _finite,
    _pairs,
    _quietly,
    _ratio,
    _sd,
    _t_interval,
    _times,
    _undefined,
    hedges_j_approx,
    hedges_j_exact,
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

"""Wilcoxon signed-rank test of many rows of paired differences at once, as scipy's ``wilcoxon`` computes
it for each. The one-sample code (``single``) runs it on one row and the many-sample code (``many``) on
thousands, so both give the same figures from the same code."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
from scipy import special, stats

Array = npt.NDArray[np.float64]


def _nan(k: int) -> Array:
    return np.full(k, np.nan)


# --- Wilcoxon signed-rank ------------------------------------------------------------------------


def wilcoxon_methods(d: Array) -> npt.NDArray[np.str_]:
    """The method scipy's ``wilcoxon(method="auto")`` uses for each row of differences (scipy 1.17).

    Over 50 pairs: asymptotic. Otherwise exact when a row has no zero and no tied
    |d|; with ties or zeros a permutation test up to 13 pairs (all 2^n sign
    flips, so deterministic), asymptotic above that. Rows whose differences are
    all zero get "" (there is nothing to rank).
    """
    m, n = d.shape
    methods = np.full(m, "", dtype="<U11")
    if n == 0:
        return methods
    absolute = np.sort(np.abs(d), axis=1)
    zeros = (d == 0).any(axis=1)
    ties = (absolute[:, 1:] == absolute[:, :-1]).any(axis=1) if n > 1 else np.zeros(m, dtype=bool)
    if n > 50:
        methods[:] = "asymptotic"
    else:
        methods[:] = np.where(zeros | ties, "permutation" if n <= 13 else "asymptotic", "exact")
    methods[(d == 0).all(axis=1)] = ""
    return methods


@functools.lru_cache(maxsize=4096)
def _sign_flip_cdf(doubled_ranks: tuple[int, ...]) -> npt.NDArray[np.float64]:
    """Cumulative counts of the 2^m sign patterns by value of 2·R₊ (ranks doubled so ties stay integers)."""
    counts = np.zeros(sum(doubled_ranks) + 1)
    counts[0] = 1
    reach = 0  # counts beyond the ranks added so far are zero
    for rank in doubled_ranks:  # each rank ≥ 2: the right side is computed before it is stored
        counts[rank : reach + rank + 1] += counts[: reach + 1].copy()
        reach += rank
    cumulative = np.cumsum(counts)
    cumulative.flags.writeable = False
    return cumulative


def _ranked(d: Array) -> tuple[Array, Array, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each row of differences with its zeros left out, |d| in ascending order: (|d| in that order, inf
    for the zeros put last; d in that order; first and last position of each value's tie group)."""
    m, width = d.shape
    keyed = np.where(d == 0, np.inf, np.abs(d))  # zeros sort last and are left out
    order = np.argsort(keyed, axis=1)  # tied values share their average rank, so their order does not matter
    ordered = np.take_along_axis(keyed, order, axis=1)
    signs = np.take_along_axis(d, order, axis=1)
    index = np.broadcast_to(np.arange(width), (m, width))
    starts = np.ones((m, width), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones((m, width), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, index, 0), axis=1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, index, width), axis=1), axis=1), axis=1)
    return ordered, signs, first, last


def _permutation_rows(d: Array) -> tuple[Array, Array]:
    """Statistic and p of the exact sign-flip test scipy runs for small samples with ties or zeros, per row.

    ``scipy.stats.wilcoxon`` hands these to ``permutation_test``, which for n ≤ 13
    enumerates every sign flip; counting the flips by dynamic programming over the
    (average) ranks gives the same null distribution without enumerating it.
    Zeros take no part in the ranks, and flipping their sign changes nothing, so
    they scale every count alike and leave p unchanged. Every row needs a difference other than zero.
    """
    ordered, signs, first, last = _ranked(d)
    doubled = first + last + 2  # twice the average rank (from 1), an integer even with ties
    counted = np.isfinite(ordered)
    plus = np.where(counted & (signs > 0), doubled, 0).sum(axis=1).tolist()
    minus = np.where(counted & (signs < 0), doubled, 0).sum(axis=1).tolist()
    statistic, p = _nan(d.shape[0]), _nan(d.shape[0])
    for i, (ranks, count) in enumerate(zip(doubled.tolist(), counted.sum(axis=1).tolist(), strict=True)):
        cumulative = _sign_flip_cdf(tuple(ranks[:count]))  # ascending, as the ranks of sorted |d| are
        total, r_plus = cumulative[-1], plus[i]
        at_most = cumulative[r_plus] / total
        at_least = (total - (cumulative[r_plus - 1] if r_plus > 0 else 0.0)) / total
        statistic[i], p[i] = min(r_plus, minus[i]) / 2, min(1.0, 2 * min(at_most, at_least))
    return statistic, p


def _asymptotic_rows(d: Array) -> tuple[Array, Array]:
    """Statistic and p of scipy's normal approximation (no continuity correction) for each row of differences.

    The same sums as ``scipy.stats.wilcoxon(method="asymptotic")``: zeros dropped, |d| ranked with ties
    averaged, z = (R₊ − n(n+1)/4) / √((n(n+1)(2n+1) − Σ(t³ − t)/2) / 24), p = 2·Φ(−|z|); without its
    per-call overhead, which the large cohorts' few big samples paid a second for.
    """
    ordered, signs, first, last = _ranked(d)
    ranks = (first + last) / 2 + 1  # average rank of each tie group
    ties = last - first + 1
    counted = np.isfinite(ordered)
    count = counted.sum(axis=1).astype(np.float64)
    r_plus = np.sum(np.where(signs > 0, ranks, 0.0), axis=1)
    r_minus = np.sum(np.where(signs < 0, ranks, 0.0), axis=1)
    tie_correction = np.sum(np.where(counted, ties * ties - 1.0, 0.0), axis=1)  # Σ over groups of t³ − t
    se = np.sqrt((count * (count + 1.0) * (2.0 * count + 1.0) - tie_correction / 2) / 24)
    z = (r_plus - count * (count + 1.0) * 0.25) / se
    return np.minimum(r_plus, r_minus), 2 * special.ndtr(-np.abs(z))


@np.errstate(all="ignore")
def wilcoxon_rows(post: Array, pre: Array) -> tuple[Array, Array, npt.NDArray[np.str_]]:
    """Wilcoxon signed-rank of each row pair (``zero_method="wilcox"``, two-sided, scipy's "auto" method).

    Returns the statistic (min of R₊ and R₋), p and the method for each row;
    NaN and "" where every difference is zero.
    """
    d = post - pre
    m = d.shape[0]
    statistic, p = _nan(m), _nan(m)
    methods = wilcoxon_methods(d)
    rows = np.flatnonzero(methods == "exact")
    if rows.size:
        result = stats.wilcoxon(post[rows], pre[rows], method="exact", axis=1)
        statistic[rows], p[rows] = result.statistic, result.pvalue
    rows = np.flatnonzero(methods == "asymptotic")
    if rows.size:
        statistic[rows], p[rows] = _asymptotic_rows(d[rows])
    rows = np.flatnonzero(methods == "permutation")
    if rows.size:
        statistic[rows], p[rows] = _permutation_rows(d[rows])
    return statistic, p, methods

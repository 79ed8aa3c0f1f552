"""The figures of ``outcomes.evaluation.statistics.single`` for many cohorts at once.

A full recompute describes tens of thousands of samples (cohort × scale × time
point), most of them small. Calling the one-sample functions in a loop spends
its time in per-call overhead, so these functions take a list of samples, stack
the samples of equal length into one matrix and let numpy and scipy work along
its rows. They compute the same formulas as ``outcomes.evaluation.statistics.single`` (and the
tests hold them to it, and to scipy, to 1e-9); a figure that is undefined for its
data is NaN here and becomes None when it is stored.

Inputs hold no missing values: the caller has already chosen the scores (or the
complete pairs) of each sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats

from .constants import CONFIDENCE, R_UNIT, Z_95
from .intervals import paired_intervals_rows
from .signed_rank import wilcoxon_rows

Array = npt.NDArray[np.float64]
_TAIL = 0.5 + CONFIDENCE / 2


def _by_length(samples: Sequence[Array]) -> dict[int, npt.NDArray[np.intp]]:
    """Indices of the samples, grouped by sample size."""
    sizes = np.fromiter((sample.size for sample in samples), dtype=np.int64, count=len(samples))
    order = np.argsort(sizes, kind="stable")
    bounds = np.flatnonzero(np.diff(sizes[order])) + 1
    return {int(sizes[rows[0]]): rows for rows in np.split(order, bounds) if rows.size}


def _stacked(samples: Sequence[Array], rows: npt.NDArray[np.intp], n: int) -> Array:
    """The samples at ``rows`` (each of size n) as the rows of a matrix (one concatenation: np.stack's
    per-array steps took a tenth of a second over 58,000 small samples)."""
    return np.concatenate([samples[i] for i in rows.tolist()]).reshape(rows.size, n)


def _nan(k: int) -> Array:
    return np.full(k, np.nan)


def _t_half_width(sd: Array, n: int) -> Array:
    return stats.t.ppf(_TAIL, n - 1) * sd / math.sqrt(n)


# --- descriptives ------------------------------------------------------------------------------


DESCRIBE_FIELDS = ("mean", "sd", "median", "q1", "q3", "ci_low", "ci_high")


@np.errstate(all="ignore")
def describe_many(samples: Sequence[Array]) -> dict[str, Array]:
    """``statistics.describe`` of each sample: n and the figures of ``DESCRIBE_FIELDS``, as arrays."""
    k = len(samples)
    out = {name: _nan(k) for name in DESCRIBE_FIELDS}
    out["n"] = np.array([sample.size for sample in samples], dtype=np.int64)
    for n, rows in _by_length(samples).items():
        if n == 0:
            continue
        x = _stacked(samples, rows, n)
        mean = np.mean(x, axis=1)
        out["mean"][rows] = mean
        # One partition for the three (np.median would sort again); the median as the linear 50th percentile,
        # equal to the mean of the middle two to the last bit or so.
        q1, median, q3 = np.percentile(x, [25, 50, 75], axis=1, method="linear")
        out["q1"][rows], out["median"][rows], out["q3"][rows] = q1, median, q3
        if n >= 2:
            sd = np.std(x, axis=1, ddof=1)
            half = np.where(np.ptp(x, axis=1) > 0, _t_half_width(sd, n), np.nan)  # all equal: not estimable
            out["sd"][rows] = sd
            out["ci_low"][rows], out["ci_high"][rows] = mean - half, mean + half
    return out


# --- paired change -------------------------------------------------------------------------------

CHANGE_FIELDS = (
    "mean_change", "sd_change", "ci_low", "ci_high", "t", "p", "p_wilcoxon", "d_z", "d_z_ci_low", "d_z_ci_high",
    "d_av", "g_av", "g_av_ci_low", "g_av_ci_high", "d_rm", "g_rm", "g_rm_ci_low", "g_rm_ci_high", "r_pre_post",
    "sd_pre", "sd_post",
)  # fmt: skip


@np.errstate(all="ignore")
def paired_change_many(pres: Sequence[Array], posts: Sequence[Array]) -> dict[str, np.ndarray]:
    """``statistics.paired_change`` of each (pre, post) pair of complete samples: the stored figures.

    Returns n_pairs, ``CHANGE_FIELDS`` and ``wilcoxon_method`` as arrays. The intervals of d_z, g_av and
    g_rm are :func:`.intervals.paired_intervals_rows`, NaN where they are not estimable.
    """
    k = len(pres)
    out: dict[str, np.ndarray] = {name: _nan(k) for name in CHANGE_FIELDS}
    out["n_pairs"] = np.array([pre.size for pre in pres], dtype=np.int64)
    out["wilcoxon_method"] = np.full(k, "", dtype="<U11")
    for n, rows in _by_length(pres).items():
        if n == 0:
            continue
        pre, post = _stacked(pres, rows, n), _stacked(posts, rows, n)
        diff = post - pre
        mean = np.mean(diff, axis=1)
        out["mean_change"][rows] = mean
        statistic, p_w, methods = wilcoxon_rows(post, pre)
        out["p_wilcoxon"][rows], out["wilcoxon_method"][rows] = p_w, methods
        if n < 2:
            continue
        sd = np.std(diff, axis=1, ddof=1)
        sd_pre, sd_post = np.std(pre, axis=1, ddof=1), np.std(post, axis=1, ddof=1)
        half = np.where(np.ptp(diff, axis=1) > 0, _t_half_width(sd, n), np.nan)  # all equal: not estimable
        t = np.where(sd > 0, mean / (sd / math.sqrt(n)), np.nan)
        r = _pearson_rows(pre, post)
        d_z = np.where(sd > 0, mean / sd, np.nan)
        sd_av = (sd_pre + sd_post) / 2
        d_av = np.where(sd_av > 0, mean / sd_av, np.nan)
        figures = {
            "sd_change": sd,
            "sd_pre": sd_pre,
            "sd_post": sd_post,
            "ci_low": mean - half,
            "ci_high": mean + half,
            "t": t,
            "p": 2 * stats.t.sf(np.abs(t), n - 1),
            "r_pre_post": r,
            "d_z": d_z,
            "d_av": d_av,
        }
        limits = paired_intervals_rows(pre, post)
        figures.update(
            g_av_ci_low=limits["d_av_ci_low"],
            g_av_ci_high=limits["d_av_ci_high"],
            **{name: limits[name] for name in ("d_z_ci_low", "d_z_ci_high", "d_rm", "g_rm", "g_rm_ci_low")},
            g_rm_ci_high=limits["g_rm_ci_high"],
        )
        if n - 1 >= 2:
            figures["g_av"] = (1.0 - 3.0 / (4.0 * (n - 1) - 1.0)) * d_av
        for name, values in figures.items():
            out[name][rows] = values
    return out


def _pearson_rows(x: Array, y: Array) -> Array:
    """``statistics.pearson_r`` of each row pair (NaN where undefined), by the same steps (±1 where it is
    within ``statistics.R_UNIT`` of it)."""
    dx = x - np.mean(x, axis=1, keepdims=True)
    dy = y - np.mean(y, axis=1, keepdims=True)
    sxx, syy, sxy = (np.einsum("ij,ij->i", a, b) for a, b in ((dx, dx), (dy, dy), (dx, dy)))
    scale = np.sqrt(sxx) * np.sqrt(syy)
    r = sxy / np.where(scale > 0, scale, np.nan)
    r = np.where(np.abs(r) > 1 - R_UNIT, np.sign(r), r)
    r = np.where((sxx == 0) | (syy == 0) | ~np.isfinite(r), np.nan, r)
    return np.clip(r, -1.0, 1.0)


# --- reliable change -----------------------------------------------------------------------------


def reliable_change_counts(
    pre: Array, post: Array, *, sd_pre: float, reliability: float, higher_is_better: bool, cutoff: float | None
) -> dict[str, int | None]:
    """The counts of ``statistics.reliable_change`` for complete pairs, without the per-person tuples: one pair
    through ``reliable_change_counts_many``, the code a recompute runs for all pairs at once.

    improved counts every reliable improvement (recovered included), as the summaries store it.
    """
    many = reliable_change_counts_many(
        [pre],
        [post],
        sd_pre=np.array([sd_pre], dtype=np.float64),
        reliability=np.array([reliability], dtype=np.float64),
        higher_is_better=np.array([higher_is_better]),
        cutoff=np.array([np.nan if cutoff is None else cutoff], dtype=np.float64),
    )
    return {name: counts[0] for name, counts in many.items()}


def reliable_change_counts_many(
    pres: Sequence[Array],
    posts: Sequence[Array],
    *,
    sd_pre: Array,
    reliability: Array,
    higher_is_better: npt.NDArray[np.bool_],
    cutoff: Array,
) -> dict[str, list[int | None]]:
    """``reliable_change_counts`` of each (pre, post) pair of samples, with its own parameters (one element of
    each array per pair; a NaN cut-off: none, and "recovered" None), the pairs taken together in runs of about
    ``_CHUNK`` values."""
    counts: dict[str, list[int]] = {name: [] for name in ("improved", "unchanged", "deteriorated", "recovered")}
    s_diff = math.sqrt(2) * sd_pre * np.sqrt(1 - reliability)
    healthy = np.where(higher_is_better, 1.0, -1.0)  # multiplies, so its boundary cases fall alike
    sizes = [pre.size for pre in pres]
    for start, stop in _chunks(sizes, _CHUNK):
        k = stop - start
        which = np.repeat(np.arange(k), sizes[start:stop])
        pre, post = np.concatenate(pres[start:stop]), np.concatenate(posts[start:stop])
        sign = healthy[start:stop][which]
        better = sign * (post - pre) / s_diff[start:stop][which]
        improved = better > Z_95
        c = cutoff[start:stop][which]
        crossed = (sign * (pre - c) <= 0) & (sign * (post - c) > 0)  # False where there is no cut-off (NaN)
        for name, mask in (
            ("improved", improved),
            ("unchanged", ~improved & (better >= -Z_95)),
            ("deteriorated", better < -Z_95),
            ("recovered", improved & crossed),
        ):
            counts[name].extend(np.bincount(which[mask], minlength=k).tolist())
    counts["recovered"] = [
        None if math.isnan(c) else n for c, n in zip(cutoff.tolist(), counts["recovered"], strict=True)
    ]
    return counts


# Pairs are counted in runs of about this many values: a cohort of every member is one run of its own, and the
# small ones go together. Arrays of a few hundred kilobytes stay in the processor's cache and in memory the
# process already has: one pass over all 1.3 million values of a large organisation took a third longer, and in
# a fresh process (every large temporary array new memory, page by page) more than three times as long.
_CHUNK = 1 << 16


def _chunks(sizes: list[int], limit: int) -> list[tuple[int, int]]:
    """(start, stop) of consecutive runs of ``sizes`` that add up to at most ``limit`` (or one larger item)."""
    runs, start, total = [], 0, 0
    for i, size in enumerate(sizes):
        if total and total + size > limit:
            runs.append((start, i))
            start, total = i, 0
        total += size
    if start < len(sizes):
        runs.append((start, len(sizes)))
    return runs


# --- between groups, from sums -------------------------------------------------------------------

BETWEEN_FIELDS = ("mean_a", "mean_b", "sd_a", "sd_b", "g", "g_ci_low", "g_ci_high", "t", "p")


@np.errstate(all="ignore")
def between_groups_from_sums(
    n_a: npt.NDArray[np.int64], sum_a: Array, ss_a: Array, n_b: npt.NDArray[np.int64], sum_b: Array, ss_b: Array
) -> dict[str, Array]:
    """``statistics.between_groups`` (a minus b) for many pairs of groups given n, Σx and Σ(x − mean)² of each.

    Every pair must have n_a ≥ 1 and n_b ≥ 1. Sums let one pass over all members
    compare every group with the rest (the rest's sums are the total's minus the group's).
    """
    n_a, n_b = n_a.astype(np.float64), n_b.astype(np.float64)
    mean_a, mean_b = sum_a / n_a, sum_b / n_b
    df = n_a + n_b - 2
    s_pooled = np.sqrt((ss_a + ss_b) / df)
    diff = mean_a - mean_b
    d = np.where(s_pooled > 0, diff / s_pooled, np.nan)
    v_d = (n_a + n_b) / (n_a * n_b) + d * d / (2 * (n_a + n_b))
    j = np.where(df >= 2, 1.0 - 3.0 / (4.0 * df - 1.0), np.nan)
    g = j * d
    se_g = np.sqrt(j * j * v_d)
    se_diff = s_pooled * np.sqrt(1 / n_a + 1 / n_b)
    t = np.where(se_diff > 0, diff / se_diff, np.nan)
    p = 2 * stats.t.sf(np.abs(t), np.maximum(df, 1))
    return {
        "mean_a": mean_a,
        "mean_b": mean_b,
        "sd_a": np.where(n_a >= 2, np.sqrt(ss_a / (n_a - 1)), np.nan),
        "sd_b": np.where(n_b >= 2, np.sqrt(ss_b / (n_b - 1)), np.nan),
        "g": g,
        "g_ci_low": g - Z_95 * se_g,
        "g_ci_high": g + Z_95 * se_g,
        "t": t,
        "p": np.where(df >= 1, p, np.nan),
    }

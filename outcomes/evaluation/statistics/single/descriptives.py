"""One time point's scores (docs/statistics.md §1) and the dose of sessions attended (§5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from outcomes.evaluation.statistics.single.shared import (
    Scores,
    _finite,
    _present,
    _quietly,
    _sd,
    _t_interval,
)

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

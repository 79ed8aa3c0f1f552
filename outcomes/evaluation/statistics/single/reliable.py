"""Reliable and clinically significant change (docs/statistics.md §4)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from outcomes.evaluation.statistics.constants import Z_95
from outcomes.evaluation.statistics.single.shared import (
    Scores,
    _as_array,
    _direction,
    _finite,
    _quietly,
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

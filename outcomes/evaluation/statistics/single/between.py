"""Two independent groups compared (docs/statistics.md §3, between groups)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from outcomes.evaluation.statistics.constants import Z_95
from outcomes.evaluation.statistics.single.shared import (
    Scores,
    _finite,
    _present,
    _quietly,
    _ratio,
    _sd,
    _times,
    _undefined,
    hedges_j_approx,
    hedges_j_exact,
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

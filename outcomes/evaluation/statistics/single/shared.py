"""What the one-sample statistics share: input checks, None for what is undefined, Hedges' J."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from outcomes.evaluation.statistics.constants import CONFIDENCE

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

"""Secondary outcomes and repeated cohorts (docs/statistics.md §10).

* ``holm``: Holm's step-down adjustment of a family of p-values (Holm 1979), through statsmodels'
  ``multipletests``. Withheld p-values (None) are not tests and are left out of the family.
* ``same_people``: cohorts whose members are exactly those of an earlier cohort (an organisation with
  one delivery mode: the "online" cohort is the organisation). Such a cohort is shown once, as
  "same people as …", and its figures are not extra tests.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

import numpy as np
from statsmodels.stats.multitest import multipletests

Key = TypeVar("Key", bound=Hashable)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values in the input order; None stays None and does not count as a test.

    Adjusted p₍ᵢ₎ = max over j ≤ i of min(1, (k − j + 1)·p₍ⱼ₎) for the k p-values sorted ascending.
    """
    present = [i for i, p in enumerate(p_values) if p is not None]
    values = np.array([p_values[i] for i in present], dtype=np.float64)
    if values.size and (np.isnan(values).any() or (values < 0).any() or (values > 1).any()):
        raise ValueError("p-values must lie between 0 and 1.")
    adjusted: list[float | None] = [None] * len(p_values)
    if values.size:
        _, corrected, _, _ = multipletests(values, method="holm")
        for i, p in zip(present, corrected, strict=True):
            adjusted[i] = float(p)
    return adjusted


def same_people(cohorts: Iterable[tuple[Key, Iterable[Hashable]]]) -> dict[Key, Key | None]:
    """For each cohort, the first earlier cohort with exactly the same members, or None.

    ``cohorts`` are (key, member ids) in the order they are shown (organisation first), so the
    cohort kept is always the one a reader meets first. Empty cohorts are never "the same" as each
    other: they have nobody to be the same people.
    """
    first_with: dict[frozenset, Key] = {}
    result: dict[Key, Key | None] = {}
    for key, members in cohorts:
        if key in result:
            raise ValueError(f"Cohort {key!r} is listed twice.")
        people = frozenset(members)
        earlier = first_with.get(people) if people else None
        result[key] = earlier
        if people and earlier is None:
            first_with[people] = key
    return result


def distinct_tests(p_values: Sequence[float | None], same_as: Sequence[object | None]) -> list[float | None]:
    """Holm over the cohorts that are not repeats: a repeat's adjusted p is None (it is shown once)."""
    if len(p_values) != len(same_as):
        raise ValueError("One 'same people as' entry is needed for each p-value.")
    kept = [p if same is None else None for p, same in zip(p_values, same_as, strict=True)]
    return holm(kept)

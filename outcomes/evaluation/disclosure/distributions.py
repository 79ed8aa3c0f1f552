"""Distributions that give individual scores away, and the statistics hidden so they stay hidden (§6).

A set of scores of k or more people can still tell each person's score:

- **all equal** (SD 0): everyone scored the mean;
- **all but one equal**: n − 1 people scored the median a, and the last one b = n·mean − (n − 1)·a.
  Then SD = |b − a| / √n exactly, so the published mean, median and SD satisfy SD = √n · |mean − median|,
  and the median equals one of the quartiles (the odd score is at one end). Any distribution that satisfies
  both is hidden: a reader who sees them can work out that configuration, and hiding a few more that merely
  look like it costs little.

Such a distribution's mean, SD, median, quartiles and interval are hidden (``Hidden.reveals_scores``); its n
stays. A mean and an SD are sums in disguise (n·mean and (n − 1)·SD² + n·mean² add up over groups), so the
hidden statistics of a cohort would otherwise follow from the organisation's minus its other groups': the
statistics of every cohort that shares a group with it are hidden too (``complementary``; see
:func:`hide_revealing`). Counts are not touched.

Change rows are not touched: a change of SD 0 (everyone changed by the same amount) tells each member's
change, not their scores, and is shown with its interval "not estimable" (docs/statistics.md §3).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence

from .hidden import Hidden, is_hidden

_RELATIVE = 1e-9


def _number(value) -> float | None:
    if value is None or is_hidden(value) or isinstance(value, bool):
        return None
    return float(value)


def outcome_reveals_scores(n, mean, sd, median, q1, q3) -> bool:
    """Whether scores with these published statistics are all equal, or all but one equal (see the module)."""
    n, mean, sd, median = (_number(v) for v in (n, mean, sd, median))
    if n is None or mean is None or sd is None or n < 2:
        return False
    if abs(sd) <= _RELATIVE * max(1.0, abs(mean)):
        return True
    if median is None or n < 3:
        return False
    scale = max(1.0, abs(mean), abs(median), sd)
    quartiles = [_number(q) for q in (q1, q3)]
    at_an_end = any(q is not None and abs(q - median) <= _RELATIVE * scale for q in quartiles)
    return at_an_end and abs(sd - math.sqrt(n) * abs(mean - median)) <= 1e-7 * scale


def hide_revealing(
    rows: Sequence[tuple[dict, Hashable, Hashable]],
    *,
    groups_of: Callable[[], Mapping[Hashable, frozenset]],
    k: int,
    stats: Iterable[str],
    reveals,
) -> None:
    """Hide, in place, the statistics of every row whose distribution ``reveals`` scores, and enough others.

    ``rows`` are (row, cohort key, family) triples: a family is the rows whose statistics add up over the same
    people (one instrument, scale and time point). ``groups_of()`` gives every cohort's groups (called only when
    something reveals scores). ``reveals(row)`` says whether a row's distribution gives scores away. A row whose
    statistics are hidden already keeps its reason.

    The others: every cohort of the family that shares a group with a revealing one. Then every shown sum is
    zero on the revealing cohorts' groups, so no combination of shown sums adds up to a hidden one (each hidden
    one is not zero there). Conservative (a group that reveals scores hides the organisation's statistics of
    that family too), but linear and with no search.
    """
    stats = tuple(stats)
    families: dict[Hashable, list[tuple[dict, Hashable]]] = defaultdict(list)
    for row, cohort, family in rows:
        families[family].append((row, cohort))
    groups: Mapping[Hashable, frozenset] | None = None
    for members in families.values():
        revealing = [(row, c) for row, c in members if not _stats_hidden(row, stats) and reveals(row)]
        if not revealing:
            continue  # the common case: nothing to do, nothing changes
        if groups is None:
            groups = groups_of()

        def parts(cohort, groups=groups):
            return groups.get(cohort) or frozenset({("cohort", cohort)})

        covered = frozenset().union(*(parts(c) for _row, c in revealing))
        for row, _c in revealing:
            _hide_all(row, stats, Hidden.reveals_scores(k))
        for row, cohort in members:
            if not _stats_hidden(row, stats) and parts(cohort) & covered:
                _hide_all(row, stats, Hidden.complementary(k))


def _stats_hidden(row: dict, stats: Sequence[str]) -> bool:
    return any(is_hidden(row.get(name)) for name in stats)


def _hide_all(row: dict, stats: Sequence[str], value: Hidden) -> None:
    for name in stats:
        if row.get(name) is not None and not is_hidden(row.get(name)):
            row[name] = value

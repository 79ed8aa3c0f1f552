"""Disclosure control for exported tables (docs/statistics.md §6).

Two steps, both needed:

1. **Within a row.** A row's counts that add up to a published total (the
   reliable-change categories out of ``n_pairs``, the flow out of ``enrolled``)
   get primary and secondary suppression from :func:`outcomes.evaluation.disclosure.mask.suppression_mask`,
   so a hidden count is never "total minus the shown ones". Categories that are
   never published but follow by subtraction (members still in the group,
   improved but not recovered) take part as cells, so a small one of those is
   protected as well.

2. **Across cohorts.** Every figure of a cohort is the sum of the same figure
   over the cohort's groups (the aggregation counts memberships), so a group's
   hidden n would otherwise be "organisation minus the other groups", and its
   mean "(N·mean − Σ shown n·mean) / n". :func:`protect` treats every published
   count as a sum of *atoms* (group × category) and hides more figures until no
   hidden figure, and no small never-published category, is a linear
   combination of the shown ones. Means, SDs and sums are additive in the same
   way as their n, so a statistic is hidden wherever its n is.

Zero counts are shown, as in :mod:`outcomes.evaluation.disclosure.mask`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

import numpy as np

from outcomes.evaluation.disclosure.mask import DEFAULT_K, MIN_K, suppression_mask

_TOLERANCE = 1e-9


def threshold_for(organisation) -> int:
    """The organisation's suppression threshold k (``Organisation.suppression_threshold``), never below MIN_K."""
    configured = getattr(organisation, "suppression_threshold", None) or DEFAULT_K
    return max(MIN_K, int(configured))


def row_mask(cells: list[int], *, k: int, total_published: bool = True) -> list[bool]:
    """Cells of one row to hide so that none follows from the row total minus the shown cells.

    ``cells`` must add up to the total; pass never-published remainders as cells
    too (they are protected, and hiding them costs nothing). A total of 1 to k − 1
    cannot be published, so call with ``total_published=False`` then.
    """
    if len(cells) < 2:
        return [0 < cell < k for cell in cells]
    mask = suppression_mask([cells], k=k, row_totals_published=total_published, column_totals_published=False)
    return [bool(hidden) for hidden in mask[0]]


@dataclass
class Figure:
    """A count that is published (unless hidden) or, with ``published=False``, follows from published ones.

    ``atoms`` are the disjoint parts it adds up: (group id, category) pairs.
    ``hideable=False`` marks a figure the reader knows whatever we do (an absent row means 0).
    ``cost`` orders the choice of complements: a figure whose hiding takes statistics with it
    (an n) costs more than a plain count, so counts are hidden first.
    """

    atoms: frozenset
    value: int
    published: bool = True
    hideable: bool = True
    hidden: bool = field(default=False)
    cost: int = 0


def _null_space(matrix: np.ndarray, n_atoms: int) -> np.ndarray:
    """An orthonormal basis (as columns) of the vectors every row of ``matrix`` is orthogonal to."""
    if matrix.shape[0] == 0:
        return np.eye(n_atoms)
    _u, singular, vt = np.linalg.svd(matrix, full_matrices=True)
    rank = int((singular > _TOLERANCE * max(matrix.shape) * singular[0]).sum()) if singular.size else 0
    return vt[rank:].T


def protect(figures: Mapping[Hashable, Figure], *, k: int) -> set[Hashable]:
    """Hide published figures until no hidden one, nor any small unpublished one, follows from the shown ones.

    Figures already marked ``hidden`` stay hidden; a published figure of 1 to k − 1
    is hidden first (primary suppression). A figure follows from the shown ones when
    its atom vector lies in their span (any sums and differences of published totals).
    Each round hides the cheapest, then smallest (non-zero first) shown figure used in
    adding up an exposed one, which closes that route; it stops when nothing is exposed. A
    zero that the reader knows anyway (``hideable=False``) is never chosen.
    Returns the keys of the hidden published figures.
    """
    keys = list(figures)
    if not keys:
        return set()
    atoms = sorted({atom for figure in figures.values() for atom in figure.atoms}, key=repr)
    column = {atom: index for index, atom in enumerate(atoms)}
    vectors = np.zeros((len(keys), len(atoms)))
    for row, key in enumerate(keys):
        for atom in figures[key].atoms:
            vectors[row, column[atom]] = 1.0
    values = np.array([figures[key].value for key in keys])
    published = np.array([figures[key].published for key in keys], dtype=bool)
    hideable = np.array([figures[key].hideable for key in keys], dtype=bool)
    costs = np.array([figures[key].cost for key in keys])
    hidden = np.array([figures[key].hidden for key in keys], dtype=bool) & published & hideable
    hidden |= published & hideable & (values > 0) & (values < k)
    small_unpublished = ~published & (values > 0) & (values < k)
    beyond_help = np.zeros(len(keys), dtype=bool)

    while True:
        shown = published & ~hidden
        null = _null_space(vectors[shown], len(atoms))
        # A figure follows from the shown ones when nothing they leave free moves it.
        free = np.abs(vectors @ null).max(axis=1) if null.shape[1] else np.zeros(len(keys))
        follows = (free < 1e-7) & vectors.any(axis=1)
        exposed = np.flatnonzero(follows & (hidden | small_unpublished) & ~beyond_help)
        if exposed.size == 0:
            return {keys[i] for i in np.flatnonzero(hidden)}
        # The shown figures that give each exposed one away: those with a weight in (the least-squares)
        # way of adding it up. One complement per exposed figure per round, unless this round already
        # hid one of its givers (then the next round looks again): far fewer rounds on large tables.
        shown_index = np.flatnonzero(shown)
        weights = np.linalg.lstsq(vectors[shown_index].T, vectors[exposed].T, rcond=None)[0]
        hidden_now: set[int] = set()
        for column_index, target in enumerate(exposed):
            used = shown_index[np.abs(weights[:, column_index]) > 1e-7]
            if hidden_now.intersection(used.tolist()):
                continue
            candidates = [int(i) for i in used if hideable[i]]
            if not candidates:  # only inconsistent inputs get here: fall back to anything sharing a part
                overlap = (vectors @ vectors[target]) > 0
                candidates = [int(i) for i in np.flatnonzero(shown & hideable & overlap) if i not in hidden_now]
            if not candidates:  # what the reader knows anyway gives it away; nothing we hide changes that
                beyond_help[target] = True
                continue
            choice = min(candidates, key=lambda i: (costs[i], values[i] == 0, values[i], i))
            hidden[choice] = True
            hidden_now.add(choice)

"""Small-cell suppression for published tables (docs/statistics.md §6).

Platform rule: a count or statistic based on fewer than k people (default 5,
never below 3) is not shown. For counts, that is *primary* suppression of
1 ≤ count < k. **Zero counts are shown**, as NHS Digital does (it suppresses
1–7 and shows zeros): a zero describes nobody, and hiding zeros would flag the
small non-zero cells next to them.

Because row and column totals are published, one hidden cell in a line can be
recovered by subtraction, so *secondary* (complementary) suppression follows.
We hide more cells until no hidden cell is determined by the published
figures, which covers two attacks:

1. subtraction within one line: a published row or column with exactly one
   hidden cell. The rule: hide the next-smallest shown cell in that line.
2. combining lines: adding and subtracting several row and column totals can
   still isolate a hidden cell even when every line has two or more hidden
   cells (for example, two separate 2×2 blocks of hidden cells joined by one
   hidden cell; that cell equals the sum of the first block's row totals minus
   its column totals). In graph terms, rows and columns are nodes and hidden
   cells are edges; a hidden cell is recoverable exactly when its edge is a
   bridge. We then hide the smallest shown cell that closes a cycle through it.

Complementary cells are chosen smallest first, but non-zero cells before
zeros: a hidden zero next to a hidden 3 only tells the reader that the two
cells add up to 3, which narrows the small cell down far more than hiding a
larger neighbour does.

Scope: one table at a time, with every row and column total published unless
told otherwise. Totals are taken as published as given, so a total below k
must be dealt with (aggregated or suppressed) before calling. Tables in the
same report that share cells or totals, and percentages derived from a
suppressed count, need the same mask applied by the caller.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

#: Platform default threshold `[conv]`.
DEFAULT_K = 5
#: No organisation may configure a threshold below this.
MIN_K = 3

Table = Sequence[Sequence[int]] | npt.NDArray[np.integer]
Mask = npt.NDArray[np.bool_]

# A node is ("row", i) or ("col", j) for a line whose total is published, or
# _FREE for the side of a cell whose line total is not published: such a cell is
# unconstrained in that direction, and merging every unconstrained end into one
# node keeps "recoverable ⇔ bridge" true.
_FREE = ("free", -1)


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"The suppression threshold k must be a whole number of people, not {k!r}.")
    if k < MIN_K:
        raise ValueError(f"The suppression threshold k must be at least {MIN_K}; got {k}.")


def _as_counts(table: Table) -> npt.NDArray[np.int64]:
    array = np.asarray(table, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError("A table must be two-dimensional (rows × columns); wrap a single row in a list.")
    if not np.isfinite(array).all() or (array < 0).any() or (array != np.round(array)).any():
        raise ValueError("Table cells must be counts: whole numbers of zero or more.")
    return array.astype(np.int64)


def suppress_value(n: int, k: int = DEFAULT_K) -> bool:
    """Whether a single figure based on n people must be hidden: True when n < k.

    Use it for means, medians, percentages and whole group reports. n = 0 is
    hidden too: there is no statistic of nobody to show. (A *count* of zero is
    different and is shown; see ``primary_suppression``.)
    """
    _check_k(k)
    if n < 0:
        raise ValueError(f"n is a number of people and cannot be negative; got {n}.")
    return n < k


def primary_suppression(table: Table, *, k: int = DEFAULT_K) -> Mask:
    """Cells holding 1 to k − 1 people. Zeros are shown."""
    _check_k(k)
    counts = _as_counts(table)
    return (counts > 0) & (counts < k)


def suppression_mask(
    table: Table,
    *,
    k: int = DEFAULT_K,
    row_totals_published: bool = True,
    column_totals_published: bool = True,
) -> Mask:
    """Every cell to hide, primary and secondary, as a boolean array shaped like ``table``.

    Raises ValueError when a hidden cell cannot be protected because it is the
    only cell of a line whose total is published (for example a one-column
    table with published row totals): that total would have to go too.
    """
    counts = _as_counts(table)
    mask = primary_suppression(counts, k=k)
    while True:
        exposed = _exposed_cell(mask, row_totals_published, column_totals_published)
        if exposed is None:
            return mask
        mask[_complement_for(counts, mask, exposed, row_totals_published, column_totals_published)] = True


def _ends(cell: tuple[int, int], rows: bool, cols: bool) -> tuple[tuple[str, int], tuple[str, int]]:
    i, j = cell
    return (("row", i) if rows else _FREE), (("col", j) if cols else _FREE)


def _hidden_cells(mask: Mask) -> list[tuple[int, int]]:
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(mask), strict=True)]


def _reachable(start: tuple[str, int], edges: list[tuple[tuple[str, int], tuple[str, int]]]) -> set[tuple[str, int]]:
    neighbours: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for u, v in edges:
        neighbours.setdefault(u, []).append(v)
        neighbours.setdefault(v, []).append(u)
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in neighbours.get(queue.popleft(), []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _exposed_cell(mask: Mask, rows: bool, cols: bool) -> tuple[int, int] | None:
    """A hidden cell the published totals determine (a bridge), preferring the single-line case."""
    hidden = _hidden_cells(mask)
    if rows:
        for i in range(mask.shape[0]):
            if np.count_nonzero(mask[i]) == 1:
                return i, int(np.flatnonzero(mask[i])[0])
    if cols:
        for j in range(mask.shape[1]):
            if np.count_nonzero(mask[:, j]) == 1:
                return int(np.flatnonzero(mask[:, j])[0]), j
    edges = [_ends(cell, rows, cols) for cell in hidden]
    for index, (u, v) in enumerate(edges):
        if u == v:  # neither total published: the cell is constrained by nothing
            continue
        if v not in _reachable(u, edges[:index] + edges[index + 1 :]):
            return hidden[index]
    return None


def _smallest(counts: npt.NDArray[np.int64], candidates: list[tuple[int, int]]) -> tuple[int, int]:
    # Non-zero cells first (see the module docstring), then the smallest, then reading order.
    return min(candidates, key=lambda cell: (counts[cell] == 0, counts[cell], cell))


def _complement_for(
    counts: npt.NDArray[np.int64], mask: Mask, exposed: tuple[int, int], rows: bool, cols: bool
) -> tuple[int, int]:
    i, j = exposed
    if rows and np.count_nonzero(mask[i]) == 1:
        candidates = [(i, jj) for jj in range(mask.shape[1]) if not mask[i, jj]]
        line = f"row {i}"
    elif cols and np.count_nonzero(mask[:, j]) == 1:
        candidates = [(ii, j) for ii in range(mask.shape[0]) if not mask[ii, j]]
        line = f"column {j}"
    else:
        # A bridge inside a larger pattern: hide a shown cell joining its two sides, closing a cycle.
        hidden = [cell for cell in _hidden_cells(mask) if cell != exposed]
        edges = [_ends(cell, rows, cols) for cell in hidden]
        u, v = _ends(exposed, rows, cols)
        side_u, side_v = _reachable(u, edges), _reachable(v, edges)
        candidates = []
        for ii, jj in zip(*np.nonzero(~mask), strict=True):
            a, b = _ends((int(ii), int(jj)), rows, cols)
            if (a in side_u and b in side_v) or (a in side_v and b in side_u):
                candidates.append((int(ii), int(jj)))
        line = "the table"
    if not candidates:
        raise ValueError(
            f"Cell ({i}, {j}) cannot be protected: {line} has no other cell to suppress, so its published "
            "total gives the value away. Suppress that total or combine rows/columns before publishing."
        )
    return _smallest(counts, candidates)

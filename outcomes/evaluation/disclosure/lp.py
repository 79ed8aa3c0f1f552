"""The linear-programming part of the protection of nested tables (docs/statistics.md §6; see
:mod:`.hierarchy`): where no single transfer protects a small figure, an L1 linear programme over the atoms
of a few nearby groups (then more) finds the two moves hiding least, or reaches the labels' limit. Also the
neighbourhoods both searches look in (``_closest_units``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

if TYPE_CHECKING:
    from .hierarchy import Tables, _Search

#: How far inside the labels' limit the moves aim (the limit is a linear programme's optimum).
_SLACK = 1e-6
#: The smallest cohorts holding an atom whose groups count as its neighbours.
_NEAREST_COHORTS = 6


def _closest_units(t: Tables, atom: int, count: int) -> list:
    """Up to ``count`` + 1 units (``atom``'s own first) whose atom of the same category shares most of the
    smallest cohorts holding ``atom``: local work, however large the organisation."""
    holders = t.figures_of(atom)
    nearest = holders[np.argsort(t.size[holders], kind="stable")][:_NEAREST_COHORTS]
    parts = np.concatenate([t.atoms(g) for g in nearest])
    found, shared = np.unique(parts, return_counts=True)
    category = t.atom_keys[atom][2]
    order = np.lexsort((found, -shared))
    units = [t.atom_keys[atom][1]]
    for a in found[order]:
        key = t.atom_keys[int(a)]
        if key[2] == category and key[1] not in units:
            units.append(key[1])
            if len(units) > count:
                break
    return units


def _neighbourhoods(t: Tables, f: int):
    """Ever larger sets of units around figure f: its own with the few groups sharing most cohorts with it,
    then with 30 of them, then every unit of its table."""
    atoms = t.atoms(f)
    units = {t.atom_keys[a][1] for a in atoms}
    mover = int(atoms[np.argmax(t.x[atoms])])
    ranked = _closest_units(t, mover, 30)
    for size in (8, 30):
        yield units | set(ranked[: size + 1])
    yield {key[1] for key in t.atom_keys if key[0] == t.family[f]}


def _moves_by_lp(search: _Search, f: int) -> bool:
    """Two moves of the atoms of some units (F to 0, F to k − 1) keeping every label true and every known
    figure fixed, changing the cheapest set of shown figures (an L1 linear programme); hide what they change.

    Atoms outside the units stay at their values, so the moves are moves of the whole table: sound.
    """
    t, k = search.t, search.k
    families = search.linked_families(t.family[f])
    v = int(t.value[f])
    # A never-published count is safe if it can reach k; failing that (it sits inside a figure labelled
    # small), if it can be anything from 0 to k − 1, as a shown one must.
    targets = [(k - v, 0), (k - 1 - v, -v)] if not t.published[f] else [(k - 1 - v, -v)]
    atoms = np.array([], dtype=np.int64)
    for units in _neighbourhoods(t, f):
        atoms = np.array(
            sorted(i for fam in families for u in units for i in t.atoms_of_unit.get((fam, u), {}).values()),
            dtype=np.int64,
        )
        # Both ways of protecting a never-published count are tried, and the one hiding less is taken (reaching
        # k can need a shown total to change where staying within 0 to k − 1 does not).
        plans = [plan for up, down in targets if (plan := _l1_moves(search, f, atoms, up, down, k)) is not None]
        if plans:
            cost = search.cost_vector()
            search._apply(min(plans, key=lambda plan: (float(cost[sorted(plan)].sum()), len(plan))))
            return True
    # The labels themselves narrow it (whatever is hidden): reach the labels' limit instead.
    limit = _l1_moves(search, f, atoms, None, None, k)
    if limit is not None:
        low, high = limit
        plan = _l1_moves(search, f, atoms, high - v - _SLACK, low - v + _SLACK, k)
        if plan is not None:
            search._apply(plan)
            return True
    return False


def _l1_moves(search: _Search, f: int, atoms: np.ndarray, up, down, k: int):
    """Moves on ``atoms`` changing figure f by ``up`` and by ``down``; the figures they change, or None if none exist.

    With ``up`` and ``down`` None: the labels' limit instead, (lowest, highest) value figure f can take
    when any figure may change (so be hidden), or None.

    Variables: the up move and the down move of each atom, and one slack per shown figure (at least its
    change under either move); the objective is the slacks' weighted sum, so shown figures are changed
    (and so hidden) as little as can be.
    """
    t = search.t
    n = atoms.size
    local = t.by_atom[atoms]  # atoms × figures: only the figures these atoms are in
    figures = np.unique(local.indices)
    column = np.full(len(t.keys), -1)
    column[figures] = np.arange(figures.size)
    local = sp.csr_matrix((local.data, column[local.indices], local.indptr), shape=(n, figures.size))
    sub = local.T.tocsr()
    values = t.value[figures].astype(float)
    published = t.published[figures]
    shown = published & ~search.hidden[figures]
    costly = shown & t.hideable[figures]
    fixed = shown & ~t.hideable[figures]
    bounded = published & ~fixed
    n_s = int(costly.sum())

    def both(block: sp.csr_matrix, slack: sp.csr_matrix | None = None):
        """The rows ``block`` under the up move and under the down move (optionally with a slack block)."""
        rows = block.shape[0]
        z = sp.csr_matrix((rows, n))
        s = slack if slack is not None else sp.csr_matrix((rows, n_s))
        return sp.vstack([sp.hstack([block, z, s]), sp.hstack([z, block, s])])

    # Equalities: the target's two moves; known figures do not move; linked figures move together.
    target = sub[np.flatnonzero(figures == f)]
    eq = [sp.hstack([target, sp.csr_matrix((1, n)), sp.csr_matrix((1, n_s))]),
          sp.hstack([sp.csr_matrix((1, n)), target, sp.csr_matrix((1, n_s))])]  # fmt: skip
    limit = up is None
    if limit:
        eq, b_eq = [], []
    else:
        b_eq = [float(up), float(down)]
    if fixed.any():
        eq.append(both(sub[fixed]))
        b_eq += [0.0] * (2 * int(fixed.sum()))
    position = {int(g): i for i, g in enumerate(figures)}
    link_rows, link_cols, link_vals = [], [], []
    for i, g in enumerate(figures):
        for other in t.linked[g]:
            r = len(link_rows) // 1
            link_rows.append(r)
            link_cols.append(i)
            link_vals.append(1.0)
            j = position.get(int(other))
            if j is not None:
                link_rows.append(r)
                link_cols.append(j)
                link_vals.append(-1.0)
    if link_rows:
        count = max(link_rows) + 1
        difference = sp.csr_matrix((link_vals, (link_rows, link_cols)), shape=(count, figures.size))
        eq.append(both((difference @ sub).tocsr()))
        b_eq += [0.0] * (2 * count)
    # Inequalities: every label stays true (0..k − 1, or k or more); each shown figure's change ≤ its slack.
    small = bounded & (values < k)
    large = bounded & (values >= k)
    ub = [both(sub[small]), both(-sub[small]), both(-sub[large])]
    b_ub = [*(k - 1 - values[small]), *(k - 1 - values[small]), *values[small], *values[small],
            *(values[large] - k), *(values[large] - k)]  # fmt: skip
    if n_s:
        eye = -sp.identity(n_s, format="csr")
        ub += [both(sub[costly], eye), both(-sub[costly], eye)]
        b_ub += [0.0] * (4 * n_s)
    cost = np.concatenate([np.zeros(2 * n), t.weight[figures][costly]])
    if limit:  # maximise f under the up move, minimise it under the down move; hiding is free
        cost = np.zeros(2 * n + n_s)
        row_f = sub[np.flatnonzero(figures == f)].toarray().ravel()
        cost[:n], cost[n : 2 * n] = -row_f, row_f
    lower = np.concatenate([-t.x[atoms], -t.x[atoms], np.zeros(n_s)]).astype(float)
    solution = linprog(
        cost,
        A_ub=sp.vstack(ub).tocsr(),
        b_ub=np.array(b_ub),
        A_eq=sp.vstack(eq).tocsr() if eq else None,
        b_eq=np.array(b_eq) if eq else None,
        bounds=np.column_stack([lower, np.full(2 * n + n_s, np.inf)]),
        method="highs",
    )
    if solution.status != 0:
        return None
    moves = solution.x[: 2 * n]
    if limit:
        value = float(t.value[f])
        return value + float(row_f @ moves[n:]), value + float(row_f @ moves[:n])
    change = np.abs(sub @ moves[:n]) + np.abs(sub @ moves[n:])
    return {int(g) for g, c in zip(figures, change, strict=True) if c > 1e-7}

"""Protection of nested tables of counts (docs/statistics.md §6).

A *table* here is every published figure of one kind (the n at one time point of one scale, the
status counts of the flow, ...) for every cohort: the organisation, each curriculum kind, curriculum,
format, delivery mode, audience, date range and group. Each figure adds up *atoms*: the count of
one category (``"n"``, ``"improved"``, a withdrawal reason) in one group (the *unit*). A
parent-with-children subtable (a curriculum and its groups, a row and its categories) is a set of
figures over the same atoms, so the whole hierarchy is one sparse figures × atoms matrix.

The rule (checked independently by :mod:`.audit`): a figure of 1 to k − 1 people is hidden; a hidden
figure's label says only which side of k it is on ("small": 0 to k − 1, a hidden zero too;
"complementary": k or more), and what is published must leave every value from 0 to k − 1 possible
for a small one, or as much of that range as the labels themselves allow (the *labels' limit*). A
count never published but following from published ones ("still in the group" = enrolled −
completed − withdrawn) must be able to reach k, or be held to the same rule.

How: for each small figure in turn we look for a *transfer*, people moved between one of its atoms
and a partner atom outside it, that takes the figure to k − 1 and (the other way) to 0 while keeping
every atom non-negative and every label true. Every figure the transfer changes is hidden, in every
subtable of the hierarchy it belongs to: the published figures then fit both the true table and the
two moved ones, so (the feasible set being convex) every value between 0 and k − 1 is possible.
Partners are looked for among the figure's nearest relatives first (its own row's other categories,
then the groups of its smallest cohort, and so on up), and the cheapest is taken: the one hiding the
fewest figures not hidden yet, a count before an n (an n takes its statistics with it), smallest
value first. A figure inside a small row total gets a *rectangle* instead (its row's other
categories, and the reverse in a nearby group); where neither fits, an L1 linear programme over the
atoms of a few nearby groups (then more) finds the two moves hiding least. Tables that publish the
same figure (the flow's enrolled in its status, started and assessment tables; an n equal to the
flow's count assessed at that time point) are *linked*: hidden in one, hidden in all, and a transfer
that changes one moves the others the same way (a *mirror* between the same two groups), so the
fixed point across tables holds by construction.

The work per small figure is local (its own cohorts and a few nearby groups), so the cost grows
about linearly with the number of groups. A small figure no move can protect (the labels alone pin
it, as can happen with k = 3) is hidden and reported in ``Protection.unprotected``; the auditor flags it.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .audit import Published
from .hidden import Hidden
from .lp import _closest_units, _moves_by_lp

_BIG = 1e12
#: Candidates whose exact check is tried before the search widens to a larger cohort.
_TRIES = 4
#: Cohorts searched for a partner before the linear programme takes over.
_POOLS = 4


@dataclass
class _Figure:
    key: Hashable
    family: Hashable
    atoms: list[int]
    value: int
    published: bool
    hideable: bool
    weight: int
    forced: bool


class TableBuilder:
    """Collects atoms and figures; :meth:`build` freezes them into a :class:`Tables`.

    An atom is ``(family, unit, category)``; a figure adds up atoms of one family. An atom named by a
    figure but never given a value is a count of nobody (0).
    """

    def __init__(self) -> None:
        self._atoms: dict[tuple, int] = {}
        self._values: list[int] = []
        self._figures: dict[Hashable, _Figure] = {}
        self._links: list[list[Hashable]] = []

    def atom(self, family: Hashable, unit: Hashable, category: Hashable, value: int = 0) -> tuple:
        key = (family, unit, category)
        value = int(value)
        if value < 0:
            raise ValueError(f"A count cannot be negative: {key!r} = {value}.")
        if key in self._atoms:
            self._values[self._atoms[key]] = value
        else:
            self._atoms[key] = len(self._values)
            self._values.append(value)
        return key

    def figure(
        self,
        key: Hashable,
        family: Hashable,
        units: Iterable[Hashable],
        categories: Iterable[Hashable],
        *,
        value: int | None = None,
        published: bool = True,
        hideable: bool = True,
        weight: int = 1,
        hidden: bool = False,
    ) -> Hashable:
        """A figure: the sum of ``family``'s atoms for these units × categories.

        ``value`` is what is published (by default the atoms' sum); ``published=False`` marks a count
        the reader can work out but is never shown; ``hideable=False`` one the reader knows whatever
        we do (a cohort with no row has nobody); ``weight`` what hiding it costs; ``hidden`` hides it
        whatever the counts say.
        """
        if key in self._figures:
            raise ValueError(f"Figure {key!r} is defined twice.")
        categories = list(categories)
        atoms = [self._atoms.get((family, u, c)) for u in units for c in categories]
        missing = [(family, u, c) for u, c, i in zip(*_grid(units, categories), atoms, strict=True) if i is None]
        for atom in missing:
            self.atom(*atom)
        atoms = [self._atoms[(family, u, c)] for u in units for c in categories]
        total = sum(self._values[i] for i in atoms) if value is None else int(value)
        self._figures[key] = _Figure(key, family, sorted(set(atoms)), total, published, hideable, weight, hidden)
        return key

    def link(self, *keys: Hashable) -> None:
        """These figures (of different tables) are the same number: the reader sees one if any is shown."""
        if len(keys) > 1:
            self._links.append(list(keys))

    def build(self) -> Tables:
        return Tables(self._atoms, self._values, list(self._figures.values()), self._links)


def _grid(units, categories):
    units = list(units)
    return [u for u in units for _c in categories], [c for _u in units for c in categories]


class Tables:
    """The figures × atoms matrix and what is known of each figure; built by :class:`TableBuilder`."""

    def __init__(self, atoms: dict[tuple, int], values: list[int], figures: list[_Figure], links) -> None:
        self.atom_keys = [None] * len(values)
        for key, index in atoms.items():
            self.atom_keys[index] = key
        self.atom_index = atoms
        self.x = np.asarray(values, dtype=np.int64)
        self.keys = [f.key for f in figures]
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.family = [f.family for f in figures]
        self.value = np.array([f.value for f in figures], dtype=np.int64)
        self.published = np.array([f.published for f in figures], dtype=bool)
        self.hideable = np.array([f.hideable for f in figures], dtype=bool)
        self.weight = np.array([f.weight for f in figures], dtype=np.float64)
        self.forced = np.array([f.forced for f in figures], dtype=bool)
        rows = np.repeat(np.arange(len(figures)), [len(f.atoms) for f in figures])
        cols = np.fromiter((a for f in figures for a in f.atoms), dtype=np.int64, count=len(rows))
        shape = (len(figures), len(values))
        self.matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
        self.by_atom = self.matrix.T.tocsr()  # atom → the figures holding it
        self.size = np.diff(self.matrix.indptr)
        # Atoms of a family by unit, and the categories of each figure (for mirror transfers).
        self.atoms_of_unit: dict[tuple, dict] = defaultdict(dict)
        for (family, unit, category), i in atoms.items():
            self.atoms_of_unit[(family, unit)][category] = i
        self.linked: list[list[int]] = [[] for _ in figures]
        for group in links:
            members = [self.index[key] for key in group]
            for m in members:
                self.linked[m] = [o for o in members if o != m]

    def atoms(self, figure: int) -> np.ndarray:
        return self.matrix.indices[self.matrix.indptr[figure] : self.matrix.indptr[figure + 1]]

    def figures_of(self, atom: int) -> np.ndarray:
        return self.by_atom.indices[self.by_atom.indptr[atom] : self.by_atom.indptr[atom + 1]]


@dataclass
class Protection:
    """What to hide: figure key → :class:`Hidden`; small figures no transfer could protect."""

    k: int
    hidden: dict[Hashable, Hidden] = field(default_factory=dict)
    unprotected: list[Hashable] = field(default_factory=list)
    transfers: int = 0
    #: Small figures for which no single transfer fitted, protected by a move found by linear programming.
    by_lp: int = 0


def label(value: int, k: int) -> Hidden:
    """A hidden figure's label, which the reader sees: "small" for 0 to k − 1 (a hidden zero too), else
    complementary."""
    return Hidden.small(k) if value < k else Hidden.complementary(k)


def _same_side(before: int, after: int, k: int) -> bool:
    """A move keeps a hidden figure's label true: under k stays in 0..k − 1, k or more stays k or more."""
    return 0 <= after < k if before < k else after >= k


class _Search:
    def __init__(self, tables: Tables, k: int) -> None:
        self.t = tables
        self.k = k
        v, pub = tables.value, tables.published
        self.small = (v > 0) & (v < k)
        self.hidden = (pub & tables.forced) | (pub & self.small)
        self._cost: np.ndarray | None = None

    def linked_families(self, family) -> set:
        """The tables reachable from ``family`` through linked figures (it included)."""
        if not hasattr(self, "_family_closure"):
            neighbours: dict = defaultdict(set)
            for g, others in enumerate(self.t.linked):
                for o in others:
                    neighbours[self.t.family[g]].add(self.t.family[o])
            self._family_closure = {}
            for start in set(self.t.family):
                found, stack = {start}, [start]
                while stack:
                    for nxt in neighbours[stack.pop()] - found:
                        found.add(nxt)
                        stack.append(nxt)
                self._family_closure[start] = found
        return self._family_closure[family]

    def cost_vector(self) -> np.ndarray:
        """What changing each figure costs: its weight if shown, 0 if hidden or never published, too much
        if known anyway. Kept up to date by :meth:`_apply`."""
        if self._cost is None:
            t = self.t
            self._cost = np.where(t.published & ~self.hidden, t.weight, 0.0)
            self._cost[t.published & ~self.hidden & ~t.hideable] = _BIG
        return self._cost

    # --- one small figure ---------------------------------------------------------------------

    def protect(self, f: int) -> bool:
        t, k = self.t, self.k
        v = int(t.value[f])
        atoms = t.atoms(f)
        positive = atoms[t.x[atoms] > 0]
        if positive.size == 0:
            return False
        positive = positive[np.argsort(-t.x[positive], kind="stable")]
        # A shown (hidden) figure must be able to be anything from 0 to k − 1; one never published only needs
        # to be able to reach k (then nobody can tell it is small).
        up = k - 1 - v if t.published[f] else k - v
        down_amounts = self._down_amounts(t.x[positive], v) if t.published[f] else []
        if down_amounts is None:
            return False
        movers = [int(a) for a in positive[: max(1, len(down_amounts))]]
        in_f = np.zeros(t.x.size, dtype=bool)
        in_f[atoms] = True
        cost = self.cost_vector()
        for pool in itertools.islice(self._pools(f, movers[0], in_f), _POOLS):
            candidates = pool[(t.x[pool] >= up) & ~in_f[pool]]
            if candidates.size == 0:
                continue
            ranked = self._rank(candidates, movers, cost)
            for d in ranked[:_TRIES]:
                plan = self._plan(f, int(d), movers[0], up, dict(zip(movers, down_amounts, strict=False)))
                if plan is not None:
                    self._apply(plan)
                    return True
        if len(positive) == 1:
            return self._rectangle(f, movers[0], up, v if t.published[f] else 0)
        return False

    @staticmethod
    def _down_amounts(positive: np.ndarray, total: int) -> list[int] | None:
        """How much each of the figure's atoms (largest first) gives up to bring it down to 0."""
        amounts, left = [], total
        for value in positive:
            if left <= 0:
                break
            take = min(int(value), left)
            amounts.append(take)
            left -= take
        return amounts if left <= 0 else None

    def _pools(self, f: int, mover: int, in_f: np.ndarray):
        """Candidate partners, nearest first: the mover's unit, then each cohort holding it, smallest first."""
        t = self.t
        family, unit, _category = t.atom_keys[mover]
        yield np.fromiter(t.atoms_of_unit[(family, unit)].values(), dtype=np.int64)
        holders = t.figures_of(mover)
        for g in holders[np.argsort(t.size[holders], kind="stable")]:
            if g != f:
                yield t.atoms(g)

    def _rank(self, candidates: np.ndarray, movers: list[int], cost: np.ndarray) -> np.ndarray:
        """Candidates by the cost of the figures their transfer would change (not counting mirrors)."""
        t = self.t
        m = np.zeros(t.value.size)
        for a in movers:
            m[t.figures_of(a)] += 1
        touched = m > 0
        whole = m == len(movers)
        base = cost[touched].sum()
        u = np.where(touched, np.where(whole, -cost, 0.0), cost)
        total = base + t.by_atom[candidates] @ u
        order = np.lexsort((candidates, t.x[candidates], total))
        ranked = candidates[order]
        return ranked[total[order] < _BIG]

    def _plan(self, f: int, d: int, a0: int, up: int, down: dict[int, int]) -> set[int] | None:
        """The figures changed by moving ``up`` from d to a0 and ``down`` from each mover to d (and the mirrors)."""
        return self._plan_moves(f, [(a0, d, up)], [(a, d, -amount) for a, amount in down.items()])

    def _rectangle(self, f: int, a0: int, up: int, down: int) -> bool:
        """Moves inside F's row and the reverse in a nearby group: F's category +up from its row's other
        categories (so a small row total holds), and in group h the other way round; and the same for down.

        Every row total stays, so only the two rows' figures of those categories and the cohorts holding
        one group and not the other change (a rectangle of τ-ARGUS's hypercube method).
        """
        t = self.t
        family, unit, category = t.atom_keys[a0]
        row = t.atoms_of_unit[(family, unit)]
        holders = t.figures_of(a0)
        siblings = [i for i in row.values() if i != a0 and t.x[i] > 0]
        if not siblings:
            return False
        shared = {i: np.intersect1d(holders, t.figures_of(i)).size for i in siblings}
        siblings.sort(key=lambda i: (-shared[i], -t.x[i], i))
        taken, left = [], up
        for i in siblings:
            if left <= 0:
                break
            amount = min(int(t.x[i]), left)
            taken.append((i, amount))
            left -= amount
        if left > 0:
            return False
        first = siblings[0]
        for other in _closest_units(t, a0, 8):
            if other == unit:
                continue
            their = t.atoms_of_unit.get((family, other), {})
            mine = their.get(category)
            if mine is None or t.x[mine] < up:
                continue
            if any(t.atom_keys[i][2] not in their for i, _a in taken):
                continue
            their_first = their.get(t.atom_keys[first][2])
            if down and (their_first is None or t.x[their_first] < down):
                continue
            ups = [(a0, i, a) for i, a in taken] + [(their[t.atom_keys[i][2]], mine, a) for i, a in taken]
            downs = [(first, a0, down), (mine, their_first, down)] if down else []
            plan = self._plan_moves(f, ups, downs)
            if plan is not None:
                self._apply(plan)
                return True
        return False

    def _plan_moves(self, f: int, ups, downs) -> set[int] | None:
        """The figures changed by the up moves and the down moves, each ``(into, out of, amount)`` atoms."""
        t = self.t
        changes_up: dict[int, int] = defaultdict(int)
        changes_down: dict[int, int] = defaultdict(int)
        moves = [(a, b, n, changes_up) for a, b, n in ups] + [(a, b, n, changes_down) for a, b, n in downs]
        family = t.family[f]
        queue = [(family, moves)]
        done_families = {family}
        atom_deltas_up: dict[int, int] = defaultdict(int)
        atom_deltas_down: dict[int, int] = defaultdict(int)
        while queue:
            fam, fam_moves = queue.pop()
            changed_here: set[int] = set()
            for a, b, amount, changes in fam_moves:
                if amount == 0:
                    continue
                deltas = atom_deltas_up if changes is changes_up else atom_deltas_down
                deltas[a] += amount
                deltas[b] -= amount
                for g in t.figures_of(a):
                    changes[int(g)] += amount
                for g in t.figures_of(b):
                    changes[int(g)] -= amount
            for changes in (changes_up, changes_down):
                changed_here.update(g for g, delta in changes.items() if delta and t.family[g] == fam)
            # Linked figures of other tables must move the same way: a mirror transfer between the same units.
            needed: dict[Hashable, set] = defaultdict(set)
            for g in changed_here:
                for other in t.linked[g]:
                    if t.family[other] not in done_families:
                        needed[t.family[other]].add(other)
            for other_family, linked in needed.items():
                mirror = self._mirror(fam, other_family, fam_moves, linked)
                if mirror is None:
                    return None
                done_families.add(other_family)
                queue.append((other_family, mirror))
        for deltas in (atom_deltas_up, atom_deltas_down):
            for atom, delta in deltas.items():
                if t.x[atom] + delta < 0:
                    return None
        plan: set[int] = set()
        for changes in (changes_up, changes_down):
            for g, delta in changes.items():
                if not delta:
                    continue
                if t.published[g] and not self.hidden[g] and not t.hideable[g]:
                    return None
                if t.published[g] and not _same_side(int(t.value[g]), int(t.value[g] + delta), self.k):
                    return None
                plan.add(g)
        # Linked figures whose twin changed must each have changed by the same amount.
        for changes in (changes_up, changes_down):
            for g in plan:
                for other in t.linked[g]:
                    if changes.get(g, 0) != changes.get(other, 0):
                        return None
        return plan

    def _mirror(self, family, other_family, moves, linked: set[int]):
        """The same moves between the same units in ``other_family``, in a category its linked figures count.

        A move ``(a, b, amount)`` adds ``amount`` to atom a and takes it from atom b; its mirror does the
        same to the two units' atoms of one category, the one the giving unit has most of, and (where the table
        has one) the reverse in a category the linked figures do not count, so each unit's total holds.
        """
        t = self.t
        categories: set | None = None
        for g in linked:
            cats = {t.atom_keys[a][2] for a in t.atoms(g)}
            categories = cats if categories is None else categories & cats
        mirrored = []
        for a, b, amount, changes in moves:
            if amount == 0:
                continue
            unit_a, unit_b = t.atom_keys[a][1], t.atom_keys[b][1]
            if unit_a == unit_b:
                return None  # a move inside one unit changes nothing another table can follow
            into = t.atoms_of_unit.get((other_family, unit_a), {})
            out = t.atoms_of_unit.get((other_family, unit_b), {})
            giver = out if amount > 0 else into
            usable = [c for c in sorted(categories or (), key=str) if c in into and c in out]
            if not usable:
                return None
            usable.sort(key=lambda c: -t.x[giver[c]])
            if t.x[giver[usable[0]]] < abs(amount):
                return None
            # Where the table has a category its linked figures do not count (not assessed, beside assessed), the
            # reverse move in it keeps each unit's total (enrolled): a rectangle, so the totals and the tables
            # linked to them need not change. Else the same move, which changes the units' totals too.
            back_giver = into if amount > 0 else out
            complements = [c for c in sorted(into, key=str) if c not in (categories or ()) and c in out]
            rectangle = None
            for best in usable:
                if t.x[giver[best]] < abs(amount):
                    break
                fitting = [c for c in complements if t.x[back_giver[c]] >= abs(amount)]
                if fitting:
                    back = max(fitting, key=lambda c: t.x[back_giver[c]])
                    rectangle = [(into[best], out[best], amount, changes), (out[back], into[back], amount, changes)]
                    break
            mirrored.extend(rectangle or [(into[usable[0]], out[usable[0]], amount, changes)])
        return mirrored

    def _apply(self, seeds) -> None:
        """Hide these figures and, through the links, the same figure in every other table."""
        stack = list(seeds)
        first = set(stack)
        while stack:
            g = stack.pop()
            if self.t.published[g] and (not self.hidden[g] or g in first):
                first.discard(g)
                self.hidden[g] = True
                if self._cost is not None and self.t.hideable[g]:
                    self._cost[g] = 0.0
                stack.extend(o for o in self.t.linked[g] if not self.hidden[o])


def protect(tables: Tables, *, k: int) -> Protection:
    """Hide every small figure and enough others that no small one can be narrowed down (see the module doc)."""
    search = _Search(tables, k)
    t = tables
    # Linked figures share their hidden state from the start.
    search._apply(int(g) for g in np.flatnonzero(search.hidden))
    order = np.flatnonzero(search.small)
    order = order[np.lexsort((order, t.value[order], t.size[order]))]
    result = Protection(k=k)
    blocked = []
    for f in order:
        if search.protect(int(f)):
            result.transfers += 1
        else:
            blocked.append(int(f))
            if t.published[f]:
                search._apply([int(f)])
    # No single transfer fits (other small figures around it are in the way): look for a move of several
    # atoms at once by linear programming, among ever more of the figure's neighbours, hiding least.
    for f in blocked:
        if _moves_by_lp(search, f):
            result.by_lp += 1
        else:
            result.unprotected.append(t.keys[f])
    for g in np.flatnonzero(search.hidden & t.published):
        result.hidden[t.keys[g]] = label(int(t.value[g]), k)
    return result


def published_view(tables: Tables, protection: Protection) -> list:
    """What a reader sees of these tables after ``protection``: the auditor's input (:class:`.audit.Published`)."""
    view = []
    for i, key in enumerate(tables.keys):
        atoms = tuple(tables.atom_keys[a] for a in tables.atoms(i))
        value = None if not tables.published[i] else protection.hidden.get(key, int(tables.value[i]))
        view.append(Published(key, atoms, value, known=not tables.hideable[i]))
    return view


def links_of(tables: Tables) -> list[list[Hashable]]:
    seen, groups = set(), []
    for i, others in enumerate(tables.linked):
        if others and i not in seen:
            group = [i, *others]
            seen.update(group)
            groups.append([tables.keys[g] for g in group])
    return groups

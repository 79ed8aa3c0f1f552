"""The auditor: what a reader can work out from the published figures (docs/statistics.md §6).

It is given only what a lead sees: each figure's place in the tables (which groups and categories it
adds up, which is public: the page names every group's curriculum, format and so on), and either its
shown value, or that it is hidden and why (:class:`~.hidden.Hidden`), or that it is never published
but follows from the structure ("still in the group"). It knows nothing of the protection's choices.

The reader's knowledge is a set of linear constraints on the unknown counts (the *atoms*: one
category in one group): every shown figure is an equality; a figure labelled "small" lies between 1
and k − 1; the same figure in two tables is equal; every count is at least 0. For each hidden or
unpublished figure, :func:`audit` computes the interval of values those constraints allow, by
linear programming (``scipy.optimize.linprog``, HiGHS): the attacker of τ-ARGUS and sdcTable, with
integrality relaxed.

The rule (``violation``). A label is published too: "small" says 0 to k − 1 (a zero hidden beside a
small figure is labelled small as well, so the label never says "at least 1"), "complementary" says
k or more. Labels can narrow a figure whatever is hidden (a complementary cohort of two groups, one
labelled small and the other at most k + 1, says the small one is at least k minus that), so the
rule is measured against the *labels' limit*: the interval the reader would have if every figure
(but those known anyway) were hidden, each labelled as it would be. Then:

- a figure labelled *small* must not be determined (unless as 0, which describes nobody), and the
  published numbers must not narrow it beyond 0 to k − 1, or beyond the labels' limit where that is
  narrower; a figure that is really 0 (``truth``) describes nobody and is only held to the first part;
- a figure labelled *complementary* must not be determined;
- a never-published count, or a hidden figure without a label, that cannot reach k is held to the
  small rule; an unlabelled hidden figure must not be determined either.

Before solving, the reader's subtraction is done directly: a shown figure with one unknown atom left
fixes it, and a shown zero fixes all its atoms at 0. The unknown atoms left fall apart into
independent components (scipy.sparse.csgraph), and each is solved on its own.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from .hidden import Hidden

_EPS = 1e-6


@dataclass(frozen=True)
class Published:
    """One figure as the reader sees it: the atoms it adds up, and its shown value, a Hidden, or None.

    ``known`` marks a shown figure the reader would know even if nothing were published (a cohort
    with no row has nobody in it); ``labelled=False`` a hidden figure whose label says nothing
    (text that calls every hidden figure small, whatever hid it).
    """

    key: Hashable
    atoms: tuple
    value: int | Hidden | None
    known: bool = False
    labelled: bool = True


@dataclass(frozen=True)
class Violation:
    key: Hashable
    low: float
    high: float
    why: str


@dataclass
class AuditResult:
    k: int
    #: figure key → (low, high) from everything published; and from the labels alone (small figures).
    intervals: dict[Hashable, tuple[float, float]] = field(default_factory=dict)
    label_intervals: dict[Hashable, tuple[float, float]] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    lps: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations


def audit(
    figures: Iterable[Published],
    *,
    k: int,
    links: Iterable[Iterable[Hashable]] = (),
    targets: Iterable[Hashable] | None = None,
    truth: dict[Hashable, int] | None = None,
) -> AuditResult:
    """Every hidden and never-published figure's feasible interval (or only ``targets``'), and the rule breaks.

    ``truth`` (figure key → its real value), when given, is used only to judge, never to compute: a figure
    that is really 0 describes nobody, so being narrowed (not determined) is no breach for it.
    """
    figures = list(figures)
    atom_index: dict = {}
    rows: list[np.ndarray] = []
    for figure in figures:
        rows.append(np.array([atom_index.setdefault(a, len(atom_index)) for a in figure.atoms], dtype=np.int64))
    n_atoms = len(atom_index)
    index = {f.key: i for i, f in enumerate(figures)}
    links = [list(group) for group in links]

    def system(with_numbers: bool):
        """The reader's constraints (atom indices, coefficients, low, high).

        Without the numbers: what the reader would know if every figure but the known ones were hidden,
        each labelled as it would be (the limit no amount of hiding gets past).
        """
        constraints = []
        for figure, atoms in zip(figures, rows, strict=True):
            value = figure.value
            if not with_numbers and isinstance(value, int) and not figure.known:
                value = Hidden.small(k) if value < k else Hidden.complementary(k)
            if isinstance(value, Hidden):
                if figure.labelled:
                    low, high = (0.0, float(k - 1)) if value.is_small else (float(k), np.inf)
                    constraints.append((atoms, np.ones(atoms.size), low, high))
            elif value is not None:
                constraints.append((atoms, np.ones(atoms.size), float(value), float(value)))
        for group in links:
            members = [index[key] for key in group]
            for a, b in zip(members, members[1:], strict=False):
                atoms = np.concatenate([rows[a], rows[b]])
                coefs = np.concatenate([np.ones(rows[a].size), -np.ones(rows[b].size)])
                constraints.append((atoms, coefs, 0.0, 0.0))
        fixed = _subtract(constraints, n_atoms)
        components, labels = _components(constraints, fixed, n_atoms)
        return _Solver(constraints, fixed, labels, components)

    published = system(with_numbers=True)
    labels_only: _Solver | None = None
    wanted = None if targets is None else set(targets)
    result = AuditResult(k=k)
    for figure, atoms in zip(figures, rows, strict=True):
        if not isinstance(figure.value, Hidden) and figure.value is not None:
            continue
        if wanted is not None and figure.key not in wanted:
            continue
        low, high = published.interval(atoms)
        result.intervals[figure.key] = (low, high)
        base = None
        value = figure.value if figure.labelled else None
        small_kind = value is None or value.is_small
        # Narrower than 0..k − 1: is that the labels' limit?
        if small_kind and high - low > _EPS and (low > _EPS or high < k - 1 - _EPS):
            labels_only = labels_only or system(with_numbers=False)
            base = labels_only.interval(atoms)
            result.label_intervals[figure.key] = base
        why = _breaks(value, low, high, k, base, None if truth is None else truth.get(figure.key))
        if not figure.labelled and not why and high - low < _EPS and abs(low) > _EPS:
            why = f"hidden, but the published figures determine it: {low:g}"
        if why:
            result.violations.append(Violation(figure.key, low, high, why))
    result.lps = published.lps + (labels_only.lps if labels_only else 0)
    return result


def _breaks(value, low: float, high: float, k: int, base, true_value) -> str:
    determined = high - low < _EPS
    if isinstance(value, Hidden) and not value.is_small:
        return f"hidden, but the published figures determine it: {low:g}" if determined else ""
    # What follows concerns figures that are (or may be) 0 to k − 1.
    if value is None and high > k - 1 + _EPS:
        return ""  # a never-published count that may be k or more gives nobody away
    if determined:
        # Worked out as 0 it describes nobody; worked out as anything else, somebody.
        return "" if abs(low) < _EPS else f"{_what(value)}, but the published figures determine it: {low:g}"
    if true_value == 0:
        return ""
    allowed = (0.0, float(k - 1)) if base is None else (max(0.0, base[0]), min(float(k - 1), base[1]))
    if low > allowed[0] + _EPS or high < allowed[1] - _EPS:
        return (
            f"{_what(value)}, but the published figures narrow it to {low:g}–{high:g} "
            f"(the labels' limit is {allowed[0]:g}–{allowed[1]:g})"
        )
    return ""


def _what(value) -> str:
    return "hidden as small" if isinstance(value, Hidden) else "never published"


def _subtract(constraints, n_atoms: int) -> dict[int, float]:
    """Atoms a reader fixes by subtraction: one unknown left in a shown figure, or a shown figure at its floor."""
    fixed: dict[int, float] = {}
    of_atom: dict[int, list[int]] = defaultdict(list)
    for c, (atoms, _coefs, _lo, _hi) in enumerate(constraints):
        for a in atoms:
            of_atom[int(a)].append(c)
    queue = deque(range(len(constraints)))
    queued = set(queue)
    while queue:
        c = queue.popleft()
        queued.discard(c)
        atoms, coefs, low, high = constraints[c]
        if low != high:
            continue
        unknown = [(int(a), w) for a, w in zip(atoms, coefs, strict=True) if int(a) not in fixed]
        if not unknown:
            continue
        rest = low - sum(w * fixed[int(a)] for a, w in zip(atoms, coefs, strict=True) if int(a) in fixed)
        newly: list[tuple[int, float]] = []
        if len(unknown) == 1:
            a, w = unknown[0]
            newly.append((a, rest / w))
        elif abs(rest) < _EPS and all(w > 0 for _a, w in unknown):
            newly.extend((a, 0.0) for a, _w in unknown)  # a sum of counts at 0: each is 0
        for a, value in newly:
            fixed[a] = value
            for other in of_atom[a]:
                if other not in queued:
                    queue.append(other)
                    queued.add(other)
    return fixed


def _components(constraints, fixed: dict[int, float], n_atoms: int):
    """Components of the unknown atoms, two atoms joined when a constraint holds both."""
    rows, cols = [], []
    for c, (atoms, _coefs, _lo, _hi) in enumerate(constraints):
        for a in atoms:
            if int(a) not in fixed:
                rows.append(c)
                cols.append(int(a))
    n_c = len(constraints)
    graph = sp.coo_matrix((np.ones(len(rows)), (rows, [n_c + a for a in cols])), shape=(n_c + n_atoms,) * 2)
    _count, labels = connected_components(graph, directed=False)
    atom_labels = labels[n_c:]
    members: dict[int, list[int]] = defaultdict(list)
    for a in range(n_atoms):
        if a not in fixed:
            members[int(atom_labels[a])].append(a)
    return members, atom_labels


class _Solver:
    def __init__(self, constraints, fixed, labels, components) -> None:
        self.constraints = constraints
        self.fixed = fixed
        self.labels = labels
        self.components = components
        self.models: dict[int, tuple] = {}
        self.lps = 0

    def _model(self, label: int):
        if label in self.models:
            return self.models[label]
        atoms = self.components[label]
        column = {a: i for i, a in enumerate(atoms)}
        eq_rows, eq_cols, eq_vals, b_eq = [], [], [], []
        ub_rows, ub_cols, ub_vals, b_ub = [], [], [], []
        for atoms_c, coefs, low, high in self.constraints:
            inside = [(column[int(a)], w) for a, w in zip(atoms_c, coefs, strict=True) if int(a) in column]
            if not inside:
                continue
            known = sum(w * self.fixed.get(int(a), 0.0) for a, w in zip(atoms_c, coefs, strict=True))
            # Atoms of other components make the constraint a range here: their own sum is free.
            others = [(int(a), w) for a, w in zip(atoms_c, coefs, strict=True) if int(a) not in column]
            if any(a not in self.fixed for a, _w in others):
                continue  # joined to another component: cannot happen (components are closed)
            if low == high:
                r = len(b_eq)
                for col, w in inside:
                    eq_rows.append(r)
                    eq_cols.append(col)
                    eq_vals.append(w)
                b_eq.append(low - known)
            else:
                for sign, bound in ((1.0, high - known), (-1.0, -(low - known))):
                    if not np.isfinite(bound):
                        continue
                    r = len(b_ub)
                    for col, w in inside:
                        ub_rows.append(r)
                        ub_cols.append(col)
                        ub_vals.append(sign * w)
                    b_ub.append(bound)
        n = len(atoms)
        a_eq = sp.csr_matrix((eq_vals, (eq_rows, eq_cols)), shape=(len(b_eq), n)) if b_eq else None
        a_ub = sp.csr_matrix((ub_vals, (ub_rows, ub_cols)), shape=(len(b_ub), n)) if b_ub else None
        model = (column, a_eq, np.array(b_eq) if b_eq else None, a_ub, np.array(b_ub) if b_ub else None)
        self.models[label] = model
        return model

    def interval(self, atoms: np.ndarray) -> tuple[float, float]:
        low = high = 0.0
        by_component: dict[int, list[int]] = defaultdict(list)
        for a in atoms:
            a = int(a)
            if a in self.fixed:
                low += self.fixed[a]
                high += self.fixed[a]
            else:
                by_component[int(self.labels[a])].append(a)
        for label, parts in by_component.items():
            column, a_eq, b_eq, a_ub, b_ub = self._model(label)
            c = np.zeros(len(column))
            c[[column[a] for a in parts]] = 1.0
            bounds = []
            for sign in (1.0, -1.0):
                self.lps += 1
                solution = linprog(
                    sign * c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs"
                )
                if solution.status == 3:  # unbounded: only a maximum can be
                    bounds.append(np.inf)
                elif solution.status != 0:
                    raise ValueError(f"The published figures contradict each other ({solution.message}).")
                else:
                    bounds.append(sign * solution.fun)
            low += bounds[0]
            high += bounds[1]
        return low, high

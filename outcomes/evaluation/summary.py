"""The organisation's published evaluation figures, after disclosure control.

Reads the aggregates (``OutcomeSummary``, ``ChangeSummary``, ``FlowSummary``, ``ComparisonSummary``) that
``outcomes.evaluation.recompute`` writes and returns them as rows of plain values, each
hidden figure replaced by ``suppressed (<k)`` (a :class:`SuppressedText`, whose ``reason`` says whether
it is about fewer than k people or hidden only so that a small one cannot be worked out; the page says
which). The summary CSV/XLSX and the meta-analysis CSV are written from the same rows, so every file of an
export hides the same cells.

What is hidden (k = :func:`~outcomes.evaluation.disclosure.suppression.threshold_for`):

- a statistic based on fewer than k people (its n or n_pairs below k), and every
  statistic of a row whose n had to be hidden to protect another cohort's;
- a count of 1 to k − 1 (zeros are shown), and further counts until no hidden
  count follows from a published total minus the shown counts, within a row or
  across cohorts (see :mod:`outcomes.evaluation.disclosure.suppression`);
- the share attending half the sessions when the count it stands for is hidden;
- a whole comparison (structured vs unstructured, a group vs the other groups) unless
  each side has at least k members and its counts are exactly ones already shown in
  the change table (see :func:`comparison_shown`), so a comparison tells nothing the
  change table hides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field

from groups.models import SupportGroup, WithdrawalReason
from outcomes.evaluation.cohorts import groups_filter
from outcomes.evaluation.disclosure.suppression import Figure, protect, row_mask, threshold_for
from outcomes.instruments import registry
from outcomes.models import (
    ChangeSummary,
    CohortState,
    ComparisonSummary,
    FlowSummary,
    GroupComparisonSet,
    OutcomeSummary,
    TimePoint,
)

COHORT_COLUMNS = ("cohort_dimension", "cohort_value", "cohort_label")
OUTCOME_STATS = ("mean", "sd", "median", "q1", "q3", "ci_low", "ci_high")
OUTCOME_COLUMNS = (*COHORT_COLUMNS, "instrument", "scale", "time_point", "n", *OUTCOME_STATS)
CHANGE_STATS = (
    "mean_change", "sd_change", "ci_low", "ci_high", "t", "p", "p_wilcoxon", "wilcoxon_method",
    "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "g_av_ci_low", "g_av_ci_high",
    "d_rm", "g_rm", "g_rm_ci_low", "g_rm_ci_high", "r_pre_post",
)  # fmt: skip
CHANGE_COUNTS = ("improved", "unchanged", "deteriorated", "recovered")
RCI_COLUMNS = (
    "rci_sd_pre", "rci_sd_source", "rci_sd_reference", "rci_sd_set_at", "rci_reliability", "rci_reliability_kind",
    "rci_reliability_source", "rci_cutoff",
)  # fmt: skip
CHANGE_COLUMNS = (
    *COHORT_COLUMNS, "instrument", "scale", "from_time_point", "to_time_point", "higher_is_better",
    "n_pairs", *CHANGE_STATS, *CHANGE_COUNTS, *RCI_COLUMNS,
)  # fmt: skip
FLOW_REASONS = (*WithdrawalReason.values, "not_recorded")
FLOW_TIME_POINTS = tuple(TimePoint.values)
FLOW_COLUMNS = (
    *COHORT_COLUMNS, "enrolled", "started", "completed_group", "withdrawn",
    *(f"withdrawn_{reason}" for reason in FLOW_REASONS),
    *(f"assessed_{tp}" for tp in FLOW_TIME_POINTS),
    "dose_n", "dose_median", "dose_q1", "dose_q3", "dose_share_half",
)  # fmt: skip
COMPARISON_STATS = (
    "mean_a", "mean_b", "sd_a", "sd_b", "g", "g_ci_low", "g_ci_high", "t", "p", *ComparisonSummary.DESIGN_FIGURES,
)  # fmt: skip
COMPARISON_COLUMNS = (
    *COHORT_COLUMNS, "kind", "instrument", "scale", "from_time_point", "to_time_point",
    "a_dimension", "a_value", "a_label", "b_label", "n_a", "n_b", *COMPARISON_STATS,
)  # fmt: skip


@dataclass
class SummaryTables:
    k: int
    outcomes: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    flows: list[dict] = field(default_factory=list)
    comparisons: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class _Cohort:
    pk: int
    dimension: str
    value: str
    label: str
    groups: frozenset

    def atoms(self, *categories: str) -> frozenset:
        """The disjoint parts a count of this cohort adds up: (group, category), or the cohort itself."""
        parts = self.groups or frozenset({("cohort", self.pk)})
        return frozenset((part, category) for part in parts for category in categories)


def _cohorts(organisation) -> dict[int, _Cohort]:
    org_groups = SupportGroup.objects.filter(organisation=organisation)
    cohorts = {}
    for state in CohortState.objects.filter(organisation=organisation).order_by("dimension", "value", "pk"):
        try:
            groups = frozenset(
                org_groups.filter(groups_filter(state.dimension, state.value)).values_list("pk", flat=True)
            )
        except (KeyError, ValueError):
            groups = frozenset()  # an unknown dimension: the cohort stands alone
        cohorts[state.pk] = _Cohort(state.pk, state.dimension, state.value, state.label, groups)
    return cohorts


def _cohort_cells(cohort: _Cohort) -> dict:
    return {"cohort_dimension": cohort.dimension, "cohort_value": cohort.value, "cohort_label": cohort.label}


def _small(n: int | None, k: int) -> bool:
    return n is not None and 0 < n < k


# --- outcome rows -------------------------------------------------------------------------------


def _outcome_rows(cohorts: dict[int, _Cohort], k: int) -> list[dict]:
    summaries = list(
        OutcomeSummary.objects.filter(cohort_id__in=cohorts).order_by(
            "instrument_code", "scale", "time_point", "cohort__dimension", "cohort__value"
        )
    )
    families: dict[tuple, list[OutcomeSummary]] = defaultdict(list)
    for summary in summaries:
        families[(summary.instrument_code, summary.scale, summary.time_point)].append(summary)
    hidden: set[Hashable] = set()
    for family in families.values():
        figures = _with_absent_cohorts(
            {s.pk: Figure(atoms=cohorts[s.cohort_id].atoms("n"), value=s.n, cost=1) for s in family},
            cohorts,
            {s.cohort_id for s in family},
            ("n",),
        )
        hidden |= protect(figures, k=k)
    rows = []
    for s in summaries:
        row = {
            **_cohort_cells(cohorts[s.cohort_id]),
            "instrument": s.instrument_code,
            "scale": s.scale,
            "time_point": s.time_point,
            "n": s.n,
            **{name: getattr(s, name) for name in OUTCOME_STATS},
        }
        if s.pk in hidden or s.n < k:  # a statistic of fewer than k people, or of a protected cohort
            _hide(row, OUTCOME_STATS, k, small=s.n < k)
        if s.pk in hidden:
            _hide(row, ("n",), k)
        rows.append(row)
    return rows


def _with_absent_cohorts(figures: dict, cohorts: dict[int, _Cohort], present: set[int], categories) -> dict:
    """A cohort without a row has none of these people: the reader knows that 0, and so must we."""
    for cohort in cohorts.values():
        if cohort.pk not in present:
            figures[("absent", cohort.pk)] = Figure(atoms=cohort.atoms(*categories), value=0, hideable=False)
    return figures


def _hide(row: dict, names, k: int, *, small: bool | None = None) -> None:
    """Hide these cells of the row. ``small`` says whether they are about fewer than k people; left out, each
    cell is a count and is small when it is 1 to k − 1 (otherwise it is hidden to protect another)."""
    for name in names:
        value = row.get(name)
        if value in (None, "") or (isinstance(value, str) and value.startswith("suppressed")):
            continue  # nothing to hide, or hidden already (the first reason stands)
        row[name] = suppressed(k, small=(0 < value < k) if small is None else small)


# --- change rows --------------------------------------------------------------------------------

_CHANGE_ATOMS = ("recovered", "improved_only", "unchanged", "deteriorated", "unclassified")


def _change_figures(c: ChangeSummary, cohort: _Cohort, k: int) -> dict:
    """The published counts of one change row and its unpublished remainders, with within-row suppression."""
    if None in (c.improved, c.unchanged, c.deteriorated):
        return {(c.pk, "n_pairs"): Figure(atoms=cohort.atoms(*_CHANGE_ATOMS), value=c.n_pairs, cost=1)}
    unclassified = c.n_pairs - c.improved - c.unchanged - c.deteriorated
    # The reader knows the three counts add up to n_pairs (the dictionary says so): no unknown part then.
    parts = _CHANGE_ATOMS if unclassified else _CHANGE_ATOMS[:-1]
    figures = {(c.pk, "n_pairs"): Figure(atoms=cohort.atoms(*parts), value=c.n_pairs, cost=1)}
    cells = [c.improved, c.unchanged, c.deteriorated, max(unclassified, 0)]
    mask = row_mask(cells, k=k, total_published=not _small(c.n_pairs, k))
    for (name, atoms), hide in zip(
        (
            ("improved", ("recovered", "improved_only")),
            ("unchanged", ("unchanged",)),
            ("deteriorated", ("deteriorated",)),
        ),
        mask[:3],
        strict=True,
    ):
        figures[(c.pk, name)] = Figure(atoms=cohort.atoms(*atoms), value=getattr(c, name), hidden=hide)
    if unclassified > 0:
        figures[(c.pk, "unclassified")] = Figure(
            atoms=cohort.atoms("unclassified"), value=unclassified, published=False
        )
    if c.recovered is not None:
        improved_only = max(c.improved - c.recovered, 0)
        improved_hidden = figures[(c.pk, "improved")].hidden or _small(c.improved, k)
        hide_recovered, _ = row_mask([c.recovered, improved_only], k=k, total_published=not improved_hidden)
        figures[(c.pk, "recovered")] = Figure(atoms=cohort.atoms("recovered"), value=c.recovered, hidden=hide_recovered)
        figures[(c.pk, "improved_only")] = Figure(
            atoms=cohort.atoms("improved_only"), value=improved_only, published=False
        )
    return figures


def _change_rows(cohorts: dict[int, _Cohort], k: int) -> list[dict]:
    changes = list(
        ChangeSummary.objects.filter(cohort_id__in=cohorts).order_by(
            "instrument_code", "scale", "from_time_point", "to_time_point", "cohort__dimension", "cohort__value"
        )
    )
    families: dict[tuple, list[ChangeSummary]] = defaultdict(list)
    for c in changes:
        families[(c.instrument_code, c.scale, c.from_time_point, c.to_time_point)].append(c)
    hidden: set[Hashable] = set()
    for family in families.values():
        figures: dict = {}
        for c in family:
            figures.update(_change_figures(c, cohorts[c.cohort_id], k))
        figures = _with_absent_cohorts(figures, cohorts, {c.cohort_id for c in family}, _CHANGE_ATOMS)
        hidden |= protect(figures, k=k)
    rows = []
    for c in changes:
        parameters = c.rci_parameters or {}
        row = {
            **_cohort_cells(cohorts[c.cohort_id]),
            "instrument": c.instrument_code,
            "scale": c.scale,
            "from_time_point": c.from_time_point,
            "to_time_point": c.to_time_point,
            "higher_is_better": c.higher_is_better,
            "n_pairs": c.n_pairs,
            **{name: getattr(c, name) for name in CHANGE_STATS},
            **{name: getattr(c, name) for name in CHANGE_COUNTS},
            "rci_sd_pre": parameters.get("sd_pre"),
            "rci_sd_source": parameters.get("sd_source"),
            "rci_sd_reference": parameters.get("sd_reference"),
            "rci_sd_set_at": parameters.get("sd_set_at"),
            "rci_reliability": parameters.get("reliability"),
            "rci_reliability_kind": parameters.get("reliability_kind"),
            "rci_reliability_source": parameters.get("reliability_source"),
            "rci_cutoff": parameters.get("cutoff"),
        }
        pairs_hidden = (c.pk, "n_pairs") in hidden
        if pairs_hidden or c.n_pairs < k:
            # SD₁ is a norm's or the organisation's frozen baseline, not these people's; hidden with the row.
            _hide(row, (*CHANGE_STATS, "rci_sd_pre"), k, small=c.n_pairs < k)
        if pairs_hidden:
            _hide(row, ("n_pairs",), k)
        _hide(row, [name for name in CHANGE_COUNTS if (c.pk, name) in hidden], k)
        rows.append(row)
    return rows


# --- flow rows ----------------------------------------------------------------------------------


def _flow_families(flows: list[FlowSummary], cohorts: dict[int, _Cohort], k: int, hidden_enrolled: set) -> list[dict]:
    """The flow's tables, each a set of linked figures: status and reasons, started, each time point, dose."""
    status, started, dose = {}, {}, {}
    by_time_point: dict[str, dict] = {tp: {} for tp in FLOW_TIME_POINTS}
    reasons = [*FLOW_REASONS, *sorted({r for f in flows for r in f.withdrawal_reasons} - set(FLOW_REASONS))]
    for f in flows:
        cohort = cohorts[f.cohort_id]
        enrolled_small = _small(f.enrolled, k)
        enrolled_key = (f.pk, "enrolled")

        def enrolled(*categories, cohort=cohort, f=f, enrolled_key=enrolled_key):
            return {
                enrolled_key: Figure(
                    atoms=cohort.atoms(*categories),
                    value=f.enrolled,
                    hidden=enrolled_key in hidden_enrolled,
                    cost=1,
                )
            }

        # Status: completed + withdrawn (by reason) + still in the group = enrolled.
        reason_atoms = [f"reason:{r}" for r in reasons]
        status.update(enrolled("completed", "ongoing", *reason_atoms))
        ongoing = f.enrolled - f.completed_group - f.withdrawn
        hide = row_mask([f.completed_group, f.withdrawn, max(ongoing, 0)], k=k, total_published=not enrolled_small)
        status[(f.pk, "completed_group")] = Figure(
            atoms=cohort.atoms("completed"), value=f.completed_group, hidden=hide[0]
        )
        status[(f.pk, "withdrawn")] = Figure(atoms=cohort.atoms(*reason_atoms), value=f.withdrawn, hidden=hide[1])
        if ongoing > 0:
            status[(f.pk, "ongoing")] = Figure(atoms=cohort.atoms("ongoing"), value=ongoing, published=False)
        counts = [int(f.withdrawal_reasons.get(r, 0)) for r in reasons]
        hide = row_mask(counts, k=k, total_published=not (hide[1] or _small(f.withdrawn, k)))
        for reason, count, hide_count in zip(reasons, counts, hide, strict=True):
            status[(f.pk, f"withdrawn_{reason}")] = Figure(
                atoms=cohort.atoms(f"reason:{reason}"), value=count, hidden=hide_count
            )

        # Started (attended at least one session) + not started = enrolled.
        started.update(enrolled("started", "not_started"))
        hide = row_mask([f.started, max(f.enrolled - f.started, 0)], k=k, total_published=not enrolled_small)
        started[(f.pk, "started")] = Figure(atoms=cohort.atoms("started"), value=f.started, hidden=hide[0])
        if f.enrolled - f.started > 0:
            started[(f.pk, "not_started")] = Figure(
                atoms=cohort.atoms("not_started"), value=f.enrolled - f.started, published=False
            )

        # Each time point: assessed + not assessed = enrolled (when the counts are consistent).
        for tp in FLOW_TIME_POINTS:
            done = int(f.assessments_done.get(tp, 0))
            family = by_time_point[tp]
            key = (f.pk, f"assessed_{tp}")
            if done <= f.enrolled:
                family.update(enrolled("assessed", "not_assessed"))
                hide = row_mask([done, f.enrolled - done], k=k, total_published=not enrolled_small)
                family[key] = Figure(atoms=cohort.atoms("assessed"), value=done, hidden=hide[0])
                if f.enrolled - done > 0:
                    family[(f.pk, f"not_assessed_{tp}")] = Figure(
                        atoms=cohort.atoms("not_assessed"), value=f.enrolled - done, published=False
                    )
            else:
                family[key] = Figure(atoms=cohort.atoms(f"assessed_{tp}"), value=done)

        # Dose: at least half the sessions + fewer = dose_n; the share stands for the first count.
        dose[(f.pk, "dose_n")] = Figure(atoms=cohort.atoms("half", "under_half"), value=f.dose_n, cost=1)
        if f.dose_share_half is not None:
            half = round(f.dose_share_half * f.dose_n)
            hide = row_mask([half, f.dose_n - half], k=k, total_published=not _small(f.dose_n, k))
            dose[(f.pk, "dose_half")] = Figure(atoms=cohort.atoms("half"), value=half, hidden=hide[0])
            if f.dose_n - half > 0:
                dose[(f.pk, "dose_under_half")] = Figure(
                    atoms=cohort.atoms("under_half"), value=f.dose_n - half, published=False
                )
    return [status, started, dose, *by_time_point.values()]


def _flow_rows(cohorts: dict[int, _Cohort], k: int) -> list[dict]:
    flows = list(FlowSummary.objects.filter(cohort_id__in=cohorts).order_by("cohort__dimension", "cohort__value", "pk"))
    # "enrolled" is the total of several tables: hidden in one, it must be hidden in all. Repeat until stable.
    hidden_enrolled: set = set()
    while True:
        hidden: set = set()
        for figures in _flow_families(flows, cohorts, k, hidden_enrolled):
            hidden |= protect(figures, k=k)
        now_enrolled = {key for key in hidden if key[1] == "enrolled"}
        if now_enrolled <= hidden_enrolled:
            break
        hidden_enrolled |= now_enrolled
    rows = []
    for f in flows:
        row = {
            **_cohort_cells(cohorts[f.cohort_id]),
            "enrolled": f.enrolled,
            "started": f.started,
            "completed_group": f.completed_group,
            "withdrawn": f.withdrawn,
            **{f"withdrawn_{r}": int(f.withdrawal_reasons.get(r, 0)) for r in FLOW_REASONS},
            **{f"assessed_{tp}": int(f.assessments_done.get(tp, 0)) for tp in FLOW_TIME_POINTS},
            "dose_n": f.dose_n,
            "dose_median": f.dose_median,
            "dose_q1": f.dose_q1,
            "dose_q3": f.dose_q3,
            "dose_share_half": f.dose_share_half,
        }
        # Reasons outside the known list are counted in "withdrawn" but have no column of their own.
        counted = [name for name in FLOW_COLUMNS if (f.pk, name) in hidden]
        _hide(row, counted, k)
        if (f.pk, "dose_n") in hidden or f.dose_n < k:
            _hide(row, ("dose_median", "dose_q1", "dose_q3", "dose_share_half"), k, small=f.dose_n < k)
        if (f.pk, "dose_half") in hidden:  # the share stands for a count: hidden for the reason that count is
            half = round(f.dose_share_half * f.dose_n) if f.dose_share_half is not None else 0
            _hide(row, ("dose_share_half",), k, small=0 < half < k)
        if (f.pk, "dose_n") in hidden:
            _hide(row, ("dose_n",), k)
        rows.append(row)
    return rows


# --- comparison rows ----------------------------------------------------------------------------


def shown_pairs(changes: list[dict]) -> dict[tuple, int]:
    """(cohort dimension, value, instrument, scale, from, to) → n_pairs, for every change row whose n_pairs is shown."""
    columns = ("cohort_dimension", "cohort_value", "instrument", "scale", "from_time_point", "to_time_point")
    return {tuple(r[c] for c in columns): r["n_pairs"] for r in changes if isinstance(r["n_pairs"], int)}


def comparison_shown(c: ComparisonSummary, pairs: dict[tuple, int], k: int) -> bool:
    """Whether a comparison may be published: it must tell nothing the protected change table hides.

    Both sides describe at least k members, and the counts are exactly ones already shown:
    n_a is the n_pairs shown for side a's own cohort, and n_a + n_b the organisation's. Then
    side b ("other groups", or unstructured groups) is the organisation minus side a, and its
    n, mean and SD follow from shown figures anyway, so publishing them (and g, t, p, which are
    made of them) cannot give a hidden count away by subtraction. A comparison computed at
    another moment than the change rows (a recompute in between) fails the equality and waits.
    """
    key = (c.instrument_code, c.scale, c.from_time_point, c.to_time_point)
    return (
        c.n_a >= k
        and c.n_b >= k
        and pairs.get((c.a_dimension, c.a_value, *key)) == c.n_a
        and pairs.get(("organisation", "", *key)) == c.n_a + c.n_b
    )


def comparisons_of(cohorts) -> list[ComparisonSummary]:
    """Every comparison of these cohorts (ids): the rows, and each group against the rest from its sets (as
    unsaved objects), in the page's order."""
    cohorts = list(cohorts)
    found = list(ComparisonSummary.objects.filter(cohort_id__in=cohorts))
    for comparison_set in GroupComparisonSet.objects.filter(cohort_id__in=cohorts):
        found.extend(comparison_set.comparisons())
    return sorted(
        found,
        key=lambda c: (c.kind, c.instrument_code, c.scale, c.from_time_point, c.to_time_point, c.a_label, c.a_value),
    )


def shown_comparisons(cohorts, changes: list[dict], k: int) -> list[ComparisonSummary]:
    """The comparisons of these cohorts (ids) that may be published, in the page's order."""
    pairs = shown_pairs(changes)
    return [c for c in comparisons_of(cohorts) if comparison_shown(c, pairs, k)]


def _comparison_rows(cohorts: dict[int, _Cohort], changes: list[dict], k: int) -> list[dict]:
    """Published comparisons only: one that could not be published is left out, as on the page."""
    return [
        {
            **_cohort_cells(cohorts[c.cohort_id]),
            "kind": c.kind,
            "instrument": c.instrument_code,
            "scale": c.scale,
            "from_time_point": c.from_time_point,
            "to_time_point": c.to_time_point,
            "a_dimension": c.a_dimension,
            "a_value": c.a_value,
            "a_label": c.a_label,
            "b_label": c.b_label,
            "n_a": c.n_a,
            "n_b": c.n_b,
            **{name: getattr(c, name) for name in COMPARISON_STATS},
        }
        for c in shown_comparisons(cohorts, changes, k)
    ]


def summary_tables(organisation) -> SummaryTables:
    """Every outcome, change, flow and comparison figure of the organisation's cohorts, small numbers suppressed."""
    k = threshold_for(organisation)
    cohorts = _cohorts(organisation)
    changes = _change_rows(cohorts, k)
    return SummaryTables(
        k=k,
        outcomes=_outcome_rows(cohorts, k),
        changes=changes,
        flows=_flow_rows(cohorts, k),
        comparisons=_comparison_rows(cohorts, changes, k),
    )


# --- meta-analysis rows -------------------------------------------------------------------------

CHANGE_TO = tuple(tp for tp in TimePoint.values if tp != TimePoint.BASELINE and tp != TimePoint.MID)
META_COLUMNS = (
    *COHORT_COLUMNS,
    "instrument",
    "scale",
    "higher_is_better",
    *(f"{stat}_{tp}" for tp in TimePoint.values for stat in ("n", "mean", "sd")),
    *(f"{stat}_baseline_{tp}" for tp in CHANGE_TO for stat in ("n_pairs", "mean_change", "sd_change", "r_pre_post")),
)


def meta_analysis_rows(tables: SummaryTables) -> list[dict]:
    """One row per cohort × instrument × scale: n, mean, SD per time point and the change from baseline."""
    rows: dict[tuple, dict] = {}

    def row_for(source: dict) -> dict:
        key = (source["cohort_dimension"], source["cohort_value"], source["instrument"], source["scale"])
        if key not in rows:
            rows[key] = {name: None for name in META_COLUMNS} | {
                name: source[name] for name in (*COHORT_COLUMNS, "instrument", "scale")
            }
        return rows[key]

    for source in tables.outcomes:
        row = row_for(source)
        for stat in ("n", "mean", "sd"):
            row[f"{stat}_{source['time_point']}"] = source[stat]
    for source in tables.changes:
        row = row_for(source)
        row["higher_is_better"] = source["higher_is_better"]
        if source["from_time_point"] != TimePoint.BASELINE or source["to_time_point"] not in CHANGE_TO:
            continue
        for stat in ("n_pairs", "mean_change", "sd_change", "r_pre_post"):
            row[f"{stat}_baseline_{source['to_time_point']}"] = source[stat]
    directions = {code: defn.higher_is_better for (code, _version), defn in sorted(registry.installed().items())}
    for row in rows.values():
        if row["higher_is_better"] is None:
            row["higher_is_better"] = directions.get(row["instrument"])
    return [rows[key] for key in sorted(rows)]


# --- the one-file summary ---------------------------------------------------------------------


def _union(*column_lists) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for columns in column_lists:
        seen.update(dict.fromkeys(columns))
    return tuple(seen)


SUMMARY_COLUMNS = _union(("table",), OUTCOME_COLUMNS, CHANGE_COLUMNS, FLOW_COLUMNS, COMPARISON_COLUMNS)


def summary_rows(tables: SummaryTables) -> list[dict]:
    """Outcome, change, flow and comparison rows in one list, each tagged with its table (for the one-file CSV)."""
    return [
        *({"table": "outcome", **row} for row in tables.outcomes),
        *({"table": "change", **row} for row in tables.changes),
        *({"table": "flow", **row} for row in tables.flows),
        *({"table": "comparison", **row} for row in tables.comparisons),
    ]


class SuppressedText(str):
    """The text the exports write for a hidden figure, carrying which rule hid it in ``reason``:
    ``"small"`` (about fewer than k people) or ``"complementary"`` (hidden so that another cannot be worked out).
    """

    reason: str

    def __new__(cls, text: str, reason: str) -> SuppressedText:
        value = super().__new__(cls, text)
        value.reason = reason
        return value


def suppressed(k: int, *, small: bool = True) -> str:
    """The text of a figure hidden by disclosure control (the same for both reasons; ``reason`` tells them apart)."""
    return SuppressedText(f"suppressed (<{k})", "small" if small else "complementary")

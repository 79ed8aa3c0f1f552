"""The organisation's published evaluation figures, after disclosure control.

Reads the aggregates (``OutcomeSummary``, ``ChangeSummary``, ``FlowSummary``, ``ComparisonSummary``) that
``outcomes.evaluation.recompute`` writes and returns them as rows of plain values, each
hidden figure replaced by a typed :class:`~outcomes.evaluation.disclosure.hidden.Hidden`, whose ``reason``
says whether it is about fewer than k people or hidden only so that a small one cannot be worked out (the
page says which, the files write ``suppressed (<k)`` or ``suppressed (complementary)``). The summary
CSV/XLSX and the meta-analysis CSV are written from the same rows, so every file of an export hides the
same cells.

What is hidden is decided by the recompute, not here (``outcomes.evaluation.protection``, stored in the
organisation's ``FigureProtection`` row beside the figures, k included; docs/statistics.md §6). This module
only reads it:

- a count the stored protection hides, with its label (fewer than k, or complementary); any count of 1 to
  k − 1 besides (a safety net: the protection always hides those);
- a statistic of fewer than k people (its n or n_pairs below k), and every statistic of a row whose n is hidden;
- the share attending half the sessions when the count it stands for is hidden;
- the statistics of a distribution that tells individual scores (all equal, or all but one), and of every
  cohort sharing a group with it (:mod:`outcomes.evaluation.disclosure.distributions`);
- a whole comparison (structured vs unstructured, a group vs the other groups) unless
  each side has at least k members and its counts are exactly ones already shown in
  the change table (see :func:`comparison_shown`), so a comparison tells nothing the
  change table hides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from groups.models import WithdrawalReason
from outcomes.evaluation import primary
from outcomes.evaluation.cohorts import cohorts_groups
from outcomes.evaluation.disclosure.distributions import hide_revealing, outcome_reveals_scores
from outcomes.evaluation.disclosure.hidden import Hidden, is_hidden
from outcomes.evaluation.disclosure.suppression import threshold_for
from outcomes.evaluation.protection import StoredProtection
from outcomes.evaluation.protection import stored as stored_protection
from outcomes.instruments import registry
from outcomes.models import (
    AttritionSummary,
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
    "n_pairs", *CHANGE_STATS, *CHANGE_COUNTS, *RCI_COLUMNS, *primary.LABELS,
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

ATTRITION_COLUMNS = (*COHORT_COLUMNS, "instrument", "scale", "time_point", *AttritionSummary.FIGURES)
#: the non-completers' figures: statistics of fewer than k people are hidden with their count
NON_COMPLETER_FIGURES = ("n_non_completers", "mean_non_completers", "sd_non_completers", "smd", "smd_ci_low",
                         "smd_ci_high")  # fmt: skip


@dataclass
class SummaryTables:
    k: int
    outcomes: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    flows: list[dict] = field(default_factory=list)
    comparisons: list[dict] = field(default_factory=list)
    attrition: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class _Cohort:
    pk: int
    dimension: str
    value: str
    label: str


def _cohorts(organisation) -> dict[int, _Cohort]:
    states = CohortState.objects.filter(organisation=organisation).order_by("dimension", "value", "pk")
    return {
        pk: _Cohort(pk, dimension, value, label)
        for pk, dimension, value, label in states.values_list("pk", "dimension", "value", "label")
    }


def _cohort_cells(cohort: _Cohort) -> dict:
    return {"cohort_dimension": cohort.dimension, "cohort_value": cohort.value, "cohort_label": cohort.label}


def _hide(row: dict, names, k: int, *, small: bool | None = None, hidden: Hidden | None = None) -> None:
    """Hide these cells of the row: as ``hidden`` says (the stored label), else ``small`` says whether they are
    about fewer than k people; with neither, each cell is a count and is small when it is 1 to k − 1."""
    for name in names:
        value = row.get(name)
        if is_hidden(value) or value in (None, ""):
            continue  # nothing to hide, or hidden already (the first reason stands)
        if hidden is not None:
            row[name] = suppressed(k, small=hidden.is_small)
        else:
            # A hidden zero is below k too: labelled small, so a label only says which side of k a count is on.
            row[name] = suppressed(k, small=value < k if small is None else small)


def _hide_counts(row: dict, names, k: int, protection: StoredProtection, *place) -> None:
    """Hide each count the stored protection hides, with its label; and, whatever it says, any count of 1 to
    k − 1 (a safety net: the recompute's protection always hides those, so this never finds one)."""
    for name in names:
        label = protection.hidden(*place, name)
        value = row.get(name)
        if label is not None:
            _hide(row, (name,), k, hidden=label)
        elif isinstance(value, int) and 0 < value < k:
            _hide(row, (name,), k, small=True)


# --- outcome rows -------------------------------------------------------------------------------


def _outcome_rows(cohorts: dict[int, _Cohort], k: int, protection: StoredProtection) -> list[dict]:
    summaries = OutcomeSummary.objects.filter(cohort_id__in=cohorts).order_by(
        "instrument_code", "scale", "time_point", "cohort__dimension", "cohort__value"
    )
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
        _hide_counts(row, ("n",), k, protection, "outcome", s.cohort_id, s.instrument_code, s.scale, s.time_point)
        if s.n < k or row["n"] != s.n:  # a statistic of fewer than k people, or of a protected cohort
            _hide(row, OUTCOME_STATS, k, small=s.n < k)
        rows.append(row)
    hide_revealing(  # all scores equal, or all but one: their statistics would tell each person's score
        [
            (row, s.cohort_id, (s.instrument_code, s.scale, s.time_point))
            for row, s in zip(rows, summaries, strict=True)
        ],
        groups_of=lambda: _groups_of(cohorts),
        k=k,
        stats=OUTCOME_STATS,
        reveals=lambda r: outcome_reveals_scores(r["n"], r["mean"], r["sd"], r["median"], r["q1"], r["q3"]),
    )
    return rows


def _groups_of(cohorts: dict[int, _Cohort]) -> dict[int, frozenset]:
    """Each cohort's groups (for the statistics of distributions that reveal scores; docs/statistics.md §6)."""
    states = list(CohortState.objects.filter(pk__in=cohorts).order_by("pk"))
    return {state.pk: frozenset(found) for state, found in zip(states, cohorts_groups(states), strict=True)}


# --- change rows --------------------------------------------------------------------------------


def _change_rows(cohorts: dict[int, _Cohort], k: int, protection: StoredProtection) -> list[dict]:
    changes = ChangeSummary.objects.filter(cohort_id__in=cohorts).order_by(
        "instrument_code", "scale", "from_time_point", "to_time_point", "cohort__dimension", "cohort__value"
    )
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
        place = ("change", c.cohort_id, c.instrument_code, c.scale, c.from_time_point, c.to_time_point)
        _hide_counts(row, ("n_pairs",), k, protection, *place)
        if c.n_pairs < k or row["n_pairs"] != c.n_pairs:
            # SD₁ is a norm's or the organisation's frozen baseline, not these people's; hidden with the row.
            _hide(row, (*CHANGE_STATS, "rci_sd_pre"), k, small=c.n_pairs < k)
        _hide_counts(row, CHANGE_COUNTS, k, protection, *place)
        rows.append(row)
    return rows


# --- flow rows ----------------------------------------------------------------------------------

_FLOW_COUNTS = tuple(name for name in FLOW_COLUMNS if name not in COHORT_COLUMNS and not name.startswith("dose_"))


def _flow_rows(cohorts: dict[int, _Cohort], k: int, protection: StoredProtection) -> list[dict]:
    flows = FlowSummary.objects.filter(cohort_id__in=cohorts).order_by("cohort__dimension", "cohort__value", "pk")
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
        _hide_counts(row, _FLOW_COUNTS, k, protection, "flow", f.cohort_id)
        dose_label = protection.hidden("flow", f.cohort_id, "dose_n")
        if dose_label is not None or f.dose_n < k:
            _hide(row, ("dose_median", "dose_q1", "dose_q3", "dose_share_half"), k, small=f.dose_n < k)
        half = round(f.dose_share_half * f.dose_n) if f.dose_share_half is not None else 0
        half_label = protection.hidden("flow", f.cohort_id, "dose_half")
        if half_label is not None or 0 < half < k:  # the share stands for a count: hidden for the reason that count is
            _hide(row, ("dose_share_half",), k, hidden=half_label, small=True)
        if dose_label is not None:
            _hide(row, ("dose_n",), k, hidden=dose_label)
        elif 0 < f.dose_n < k:
            _hide(row, ("dose_n",), k, small=True)
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


def _attrition_rows(cohorts: dict[int, _Cohort], tables: SummaryTables) -> list[dict]:
    """Published attrition rows (docs/statistics.md §5). Every count in a row is a count the protected tables
    already show for the same cohort — enrolled (flow), with_baseline and with_score (the outcome n), and
    n_completers (the change's n_pairs) — so a row is listed only when all four are shown and equal: it can
    then give nothing away that they do not. The non-completers (with_baseline − n_completers) follow from shown
    figures; still, their statistics describe them alone and are hidden (``Hidden``, small) when they are 1 to
    k − 1 people, and so are their count and the SMD."""
    k = tables.k
    enrolled = {(r["cohort_dimension"], r["cohort_value"]): r["enrolled"] for r in tables.flows}
    n_at = {
        (r["cohort_dimension"], r["cohort_value"], r["instrument"], r["scale"], r["time_point"]): r["n"]
        for r in tables.outcomes
    }
    pairs = shown_pairs(tables.changes)
    rows = []
    for a in AttritionSummary.objects.filter(cohort_id__in=cohorts).order_by(
        "instrument_code", "scale", "time_point", "cohort__dimension", "cohort__value"
    ):
        cohort = cohorts[a.cohort_id]
        at = (cohort.dimension, cohort.value, a.instrument_code, a.scale)
        shown = (
            enrolled.get(at[:2]) == a.enrolled
            and n_at.get((*at, TimePoint.BASELINE)) == a.with_baseline
            and n_at.get((*at, a.time_point)) == a.with_score
            and pairs.get((*at, TimePoint.BASELINE, a.time_point)) == a.n_completers
        )
        if not shown or a.enrolled < k:
            continue
        row = {
            **_cohort_cells(cohort),
            "instrument": a.instrument_code,
            "scale": a.scale,
            "time_point": a.time_point,
            **{name: getattr(a, name) for name in AttritionSummary.FIGURES},
        }
        if 0 < a.n_non_completers < k:
            row.update(dict.fromkeys(NON_COMPLETER_FIGURES, Hidden.small(k)))
        rows.append(row)
    return rows


def summary_tables(organisation) -> SummaryTables:
    """Every outcome, change, flow and comparison figure of the organisation's cohorts, with what the recompute's
    protection hides (``outcomes.evaluation.protection``: stored beside the figures, only read here).

    Figures never protected (written before protection was stored, and not recomputed since) are not
    published: the tables are empty until the next recompute.
    """
    protection = stored_protection(organisation)
    if protection is None:
        return SummaryTables(k=threshold_for(organisation))
    k = protection.k
    cohorts = _cohorts(organisation)
    changes = _change_rows(cohorts, k, protection)
    primary.label_changes(organisation, cohorts, changes)  # primary or secondary, Holm, same people as
    tables = SummaryTables(
        k=k,
        outcomes=_outcome_rows(cohorts, k, protection),
        changes=changes,
        flows=_flow_rows(cohorts, k, protection),
        comparisons=_comparison_rows(cohorts, changes, k),
    )
    tables.attrition = _attrition_rows(cohorts, tables)
    return tables


class _NothingHidden:
    def hidden(self, *place) -> None:
        return None


def figures_as_stored(organisation) -> SummaryTables:
    """Every figure as stored, nothing hidden: only for the auditor to judge with (a hidden figure that is really 0
    describes nobody; ``audit_disclosure``), never for a reader."""
    cohorts = _cohorts(organisation)
    nothing = _NothingHidden()
    return SummaryTables(
        k=1,
        outcomes=_outcome_rows(cohorts, 1, nothing),
        changes=_change_rows(cohorts, 1, nothing),
        flows=_flow_rows(cohorts, 1, nothing),
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


SUMMARY_COLUMNS = _union(
    ("table",), OUTCOME_COLUMNS, CHANGE_COLUMNS, FLOW_COLUMNS, COMPARISON_COLUMNS, ATTRITION_COLUMNS
)


def summary_rows(tables: SummaryTables) -> list[dict]:
    """Outcome, change, flow and comparison rows in one list, each tagged with its table (for the one-file CSV)."""
    return [
        *({"table": "outcome", **row} for row in tables.outcomes),
        *({"table": "change", **row} for row in tables.changes),
        *({"table": "flow", **row} for row in tables.flows),
        *({"table": "comparison", **row} for row in tables.comparisons),
        *({"table": "attrition", **row} for row in tables.attrition),
    ]


def suppressed(k: int, *, small: bool = True) -> Hidden:
    """A figure hidden by disclosure control: about fewer than k people (``small``), or hidden so that another
    cannot be worked out. The exports write ``str()`` of it, the JSON report ``as_json()``."""
    return Hidden.small(k) if small else Hidden.complementary(k)

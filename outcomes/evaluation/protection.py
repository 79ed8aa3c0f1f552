"""Disclosure control of the stored figures: decided once, by the recompute, and only read afterwards.

``protect_organisation`` is called by ``recompute.recompute_organisation`` inside the transaction that
writes the figures, after they are written: it builds the organisation's tables
(:class:`~outcomes.evaluation.disclosure.hierarchy.Tables`) from every stored summary row, runs
:func:`~outcomes.evaluation.disclosure.hierarchy.protect` and saves what it hides in the organisation's
:class:`~outcomes.models.FigureProtection` row, stamped with the cohorts' ``computed_at``. The evaluation
page, the summary CSV/XLSX, the meta-analysis CSV and the JSON report read that row through
``summary.summary_tables`` (``stored``); none of them protects anything on a request.

The tables (docs/statistics.md §6), per cohort and with a group's own rows as the atoms:

- ``outcome`` (instrument, scale, time point): the n;
- ``change`` (instrument, scale, from, to): n_pairs = recovered + improved but not recovered + unchanged
  + deteriorated + unclassified; improved, recovered, unchanged, deteriorated are published, the rest follow;
- ``flow``: status (enrolled = completed + still in the group + each withdrawal reason), started,
  assessed at each time point, dose (dose_n = at least half the sessions + fewer).

Linked figures (one number in two tables): enrolled in every flow table (and the dose's n where equal), and
a cohort's n at a time point with its flow count assessed then where the two are equal. A cohort with no row
in a table has nobody in it: the reader knows that 0 and so does the protection.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Hashable

from django.utils import timezone

from groups.models import WithdrawalReason
from outcomes.evaluation.cohorts import cohorts_groups
from outcomes.evaluation.disclosure.hidden import Hidden, Reason
from outcomes.evaluation.disclosure.hierarchy import Protection, TableBuilder, Tables, protect
from outcomes.evaluation.disclosure.suppression import threshold_for
from outcomes.models import (
    ChangeSummary,
    CohortDimension,
    CohortState,
    FigureProtection,
    FlowSummary,
    OutcomeSummary,
)
from peersupport.models import Organisation

REASONS = (*WithdrawalReason.values, "not_recorded")
CHANGE_PARTS = ("recovered", "improved_only", "unchanged", "deteriorated", "unclassified")
STATUS_FAMILY = ("flow", "status")
STARTED_FAMILY = ("flow", "started")
DOSE_FAMILY = ("flow", "dose")
N_WEIGHT = 3  # hiding an n takes its statistics with it: a count is hidden first
ORGANISATION_WEIGHT = 10  # and an organisation's figure before any other cohort's, a group's last
COHORT_WEIGHT = 3


def _assessed_family(tp: str) -> tuple:
    return ("flow", "assessed", tp)


class _Builder:
    """Figures of the stored rows, with each unit's atoms from the smallest cohort that is that unit alone."""

    def __init__(self, states: list[CohortState]) -> None:
        self.b = TableBuilder()
        groups = cohorts_groups(states) if states else []
        self.units: dict[int, list] = {}
        for state, members in zip(states, groups, strict=True):
            self.units[state.pk] = sorted(members) or [("cohort", state.pk)]
        # A unit's atoms come from its own cohort (a group's row); failing that, any cohort of that unit alone.
        self.scale = {
            state.pk: ORGANISATION_WEIGHT if state.dimension == CohortDimension.ORGANISATION
            else (1 if state.dimension == CohortDimension.GROUP else COHORT_WEIGHT)
            for state in states
        }  # fmt: skip
        order = sorted(states, key=lambda s: (s.dimension != CohortDimension.GROUP, s.pk))
        self.atom_source: dict = {}
        for state in order:
            units = self.units[state.pk]
            if len(units) == 1:
                self.atom_source.setdefault(units[0], state.pk)

    def atoms(self, cohort_id: int, family, values: dict[str, int]) -> None:
        units = self.units[cohort_id]
        if len(units) == 1 and self.atom_source.get(units[0]) == cohort_id:
            for category, value in values.items():
                self.b.atom(family, units[0], category, max(int(value), 0))

    def figure(self, key, family, cohort_id: int, categories, value: int, *, weight: int = 1, **options) -> Hashable:
        # Hiding a larger cohort's figure costs more: the organisation's figures are what a lead reads first.
        weight *= self.scale[cohort_id]
        return self.b.figure(key, family, self.units[cohort_id], categories, value=int(value), weight=weight, **options)

    def known_zero(self, key, family, cohort_id: int, categories) -> None:
        """A cohort without a row in this table: the reader knows it has nobody."""
        if self.units.get(cohort_id):
            self.figure(key, family, cohort_id, categories, 0, hideable=False)


def build_tables(organisation_id: int) -> Tables:
    """The organisation's published counts as nested tables over its groups (see the module doc)."""
    states = list(CohortState.objects.filter(organisation_id=organisation_id).order_by("pk"))
    builder = _Builder(states)
    cohort_ids = [s.pk for s in states]
    of_org = {"cohort__organisation_id": organisation_id}

    # Outcomes: n per (instrument, scale, time point).
    outcome_rows = list(
        OutcomeSummary.objects.filter(**of_org)
        .order_by("cohort_id", "instrument_code", "scale", "time_point")
        .values_list("cohort_id", "instrument_code", "scale", "time_point", "n")
    )
    present: dict[tuple, set[int]] = defaultdict(set)
    n_at: dict[tuple[int, str], list[tuple]] = defaultdict(list)  # (cohort, time point) → (key, n)
    for cohort_id, code, scale, tp, n in outcome_rows:
        family = ("outcome", code, scale, tp)
        builder.atoms(cohort_id, family, {"n": n})
        present[family].add(cohort_id)
    for cohort_id, code, scale, tp, n in outcome_rows:
        family = ("outcome", code, scale, tp)
        key = builder.figure(("outcome", cohort_id, code, scale, tp, "n"), family, cohort_id, ["n"], n, weight=N_WEIGHT)
        n_at[(cohort_id, tp)].append((key, n))
    for family, seen in present.items():
        for cohort_id in cohort_ids:
            if cohort_id not in seen:
                builder.known_zero(("outcome-absent", cohort_id, *family[1:]), family, cohort_id, ["n"])

    # Changes: n_pairs and its reliable-change split.
    change_rows = list(
        ChangeSummary.objects.filter(**of_org)
        .order_by("cohort_id", "instrument_code", "scale", "from_time_point", "to_time_point")
        .values_list(
            "cohort_id", "instrument_code", "scale", "from_time_point", "to_time_point",
            "n_pairs", "improved", "unchanged", "deteriorated", "recovered",
        )
    )  # fmt: skip
    present = defaultdict(set)

    def parts(n_pairs, improved, unchanged, deteriorated, recovered) -> dict[str, int]:
        if None in (improved, unchanged, deteriorated):
            return {"unclassified": n_pairs}
        recovered = recovered or 0
        return {
            "recovered": recovered,
            "improved_only": improved - recovered,
            "unchanged": unchanged,
            "deteriorated": deteriorated,
            "unclassified": n_pairs - improved - unchanged - deteriorated,
        }

    for cohort_id, code, scale, a, b, *counts in change_rows:
        family = ("change", code, scale, a, b)
        builder.atoms(cohort_id, family, parts(*counts))
        present[family].add(cohort_id)
    for cohort_id, code, scale, a, b, n_pairs, improved, unchanged, deteriorated, recovered in change_rows:
        family = ("change", code, scale, a, b)
        key = ("change", cohort_id, code, scale, a, b)
        split = parts(n_pairs, improved, unchanged, deteriorated, recovered)
        builder.figure((*key, "n_pairs"), family, cohort_id, CHANGE_PARTS, n_pairs, weight=N_WEIGHT)
        if "recovered" not in split:
            continue
        builder.figure((*key, "improved"), family, cohort_id, ["recovered", "improved_only"], improved)
        builder.figure((*key, "unchanged"), family, cohort_id, ["unchanged"], unchanged)
        builder.figure((*key, "deteriorated"), family, cohort_id, ["deteriorated"], deteriorated)
        builder.figure((*key, "unclassified"), family, cohort_id, ["unclassified"], max(split["unclassified"], 0),
                       published=False)  # fmt: skip
        if recovered is not None:
            builder.figure((*key, "recovered"), family, cohort_id, ["recovered"], recovered)
            builder.figure((*key, "improved_only"), family, cohort_id, ["improved_only"],
                           max(split["improved_only"], 0), published=False)  # fmt: skip
    for family, seen in present.items():
        for cohort_id in cohort_ids:
            if cohort_id not in seen:
                builder.known_zero(("change-absent", cohort_id, *family[1:]), family, cohort_id, CHANGE_PARTS)

    # The flow.
    flows = list(
        FlowSummary.objects.filter(**of_org)
        .order_by("cohort_id")
        .values_list(
            "cohort_id", "enrolled", "started", "completed_group", "withdrawn", "withdrawal_reasons",
            "assessments_done", "dose_n", "dose_share_half",
        )
    )  # fmt: skip
    time_points = sorted({tp for row in flows for tp, done in (row[6] or {}).items() if done})
    reason_parts = [f"reason:{r}" for r in (*REASONS, "unlisted")]
    status_parts = ["completed", "ongoing", *reason_parts]

    def reasons_of(withdrawn, given: dict) -> dict[str, int]:
        counts = {r: int(given.get(r, 0) or 0) for r in REASONS}
        counts["unlisted"] = max(withdrawn - sum(counts.values()), 0)
        return counts

    def half_of(dose_n, share) -> int | None:
        return None if share is None else round(share * dose_n)

    for cohort_id, enrolled, started, completed, withdrawn, given, done, dose_n, share in flows:
        reasons = reasons_of(withdrawn, given or {})
        builder.atoms(
            cohort_id,
            STATUS_FAMILY,
            {"completed": completed, "ongoing": enrolled - completed - withdrawn}
            | {f"reason:{r}": v for r, v in reasons.items()},
        )
        builder.atoms(cohort_id, STARTED_FAMILY, {"started": started, "not_started": enrolled - started})
        for tp in time_points:
            count = int((done or {}).get(tp, 0))
            builder.atoms(cohort_id, _assessed_family(tp), {"assessed": count, "not_assessed": enrolled - count})
        half = half_of(dose_n, share)
        builder.atoms(cohort_id, DOSE_FAMILY, {"half": half or 0, "under_half": dose_n - (half or 0)})

    links: list[list] = []
    seen_flow = set()
    for cohort_id, enrolled, started, completed, withdrawn, given, done, dose_n, share in flows:
        seen_flow.add(cohort_id)
        reasons = reasons_of(withdrawn, given or {})
        key = ("flow", cohort_id)
        same = [builder.figure((*key, "enrolled", "status"), STATUS_FAMILY, cohort_id, status_parts, enrolled,
                               weight=N_WEIGHT)]  # fmt: skip
        builder.figure((*key, "completed_group"), STATUS_FAMILY, cohort_id, ["completed"], completed)
        builder.figure((*key, "ongoing"), STATUS_FAMILY, cohort_id, ["ongoing"],
                       max(enrolled - completed - withdrawn, 0), published=False)  # fmt: skip
        builder.figure((*key, "withdrawn"), STATUS_FAMILY, cohort_id, reason_parts, withdrawn)
        for reason, count in reasons.items():
            builder.figure((*key, f"withdrawn_{reason}"), STATUS_FAMILY, cohort_id, [f"reason:{reason}"], count,
                           published=reason != "unlisted")  # fmt: skip
        same.append(builder.figure((*key, "enrolled", "started"), STARTED_FAMILY, cohort_id,
                                   ["started", "not_started"], enrolled, weight=N_WEIGHT))  # fmt: skip
        builder.figure((*key, "started"), STARTED_FAMILY, cohort_id, ["started"], started)
        builder.figure((*key, "not_started"), STARTED_FAMILY, cohort_id, ["not_started"],
                       max(enrolled - started, 0), published=False)  # fmt: skip
        for tp in time_points:
            family = _assessed_family(tp)
            count = int((done or {}).get(tp, 0))
            same.append(builder.figure((*key, "enrolled", tp), family, cohort_id, ["assessed", "not_assessed"],
                                       enrolled, weight=N_WEIGHT))  # fmt: skip
            assessed = builder.figure((*key, f"assessed_{tp}"), family, cohort_id, ["assessed"], count)
            builder.figure((*key, f"not_assessed_{tp}"), family, cohort_id, ["not_assessed"],
                           max(enrolled - count, 0), published=False)  # fmt: skip
            # A cohort's n at a time point equal to its count assessed then reads as the same figure.
            equal = [n_key for n_key, n in n_at.get((cohort_id, tp), []) if n == count]
            if equal:
                links.append([assessed, *equal])
        dose = builder.figure((*key, "dose_n"), DOSE_FAMILY, cohort_id, ["half", "under_half"], dose_n,
                              weight=N_WEIGHT)  # fmt: skip
        if dose_n == enrolled:
            same.append(dose)
        half = half_of(dose_n, share)
        if half is not None:
            builder.figure((*key, "dose_half"), DOSE_FAMILY, cohort_id, ["half"], half)
            builder.figure((*key, "dose_under_half"), DOSE_FAMILY, cohort_id, ["under_half"],
                           max(dose_n - half, 0), published=False)  # fmt: skip
        links.append(same)
    if flows:
        for cohort_id in cohort_ids:
            if cohort_id not in seen_flow:
                builder.known_zero(("flow-absent", cohort_id), STATUS_FAMILY, cohort_id, status_parts)
    for group in links:
        builder.b.link(*group)
    return builder.b.build()


def _stored_key(key: tuple) -> list | None:
    """The figure's place in the stored rows ``[table, cohort, *row key, column]``; None for one never shown."""
    if key[0] == "flow" and key[2] == "enrolled":
        return ["flow", key[1], "enrolled"]
    if key[0] in ("outcome", "change", "flow"):
        return list(key)
    return None


def protect_organisation(organisation_id: int, *, computed_at=None) -> FigureProtection:
    """Decide what the organisation's stored figures hide and store it (called inside the recompute's
    transaction, after the figures are written; also after figures are written by hand, e.g. in a test)."""
    organisation = Organisation.objects.get(pk=organisation_id)
    k = threshold_for(organisation)
    started = time.perf_counter()
    tables = build_tables(organisation_id)
    protection: Protection = protect(tables, k=k)
    hidden: dict[tuple, str] = {}
    for key, label in protection.hidden.items():
        place = _stored_key(key)
        if place is not None:
            hidden.setdefault(tuple(place), label.reason.value)
    row, _created = FigureProtection.objects.update_or_create(
        organisation_id=organisation_id,
        defaults={
            "k": k,
            "computed_at": computed_at or timezone.now(),
            "hidden": [[*place, reason] for place, reason in sorted(hidden.items(), key=repr)],
            "figures": int(tables.published.sum()),
            "unprotected": [list(key) for key in protection.unprotected],
            "seconds": time.perf_counter() - started,
        },
    )
    return row


class StoredProtection:
    """The stored protection as the readers use it: ``hidden(place)`` gives the Hidden of a figure or None."""

    def __init__(self, row: FigureProtection) -> None:
        self.k = row.k
        self.computed_at = row.computed_at
        self._hidden = {tuple(entry[:-1]): Hidden(Reason(entry[-1]), row.k) for entry in row.hidden}

    def hidden(self, *place) -> Hidden | None:
        return self._hidden.get(place)

    def __len__(self) -> int:
        return len(self._hidden)


def stored(organisation) -> StoredProtection | None:
    """The organisation's stored protection, or None if its figures have never been protected."""
    row = FigureProtection.objects.filter(organisation=organisation).first()
    return None if row is None else StoredProtection(row)

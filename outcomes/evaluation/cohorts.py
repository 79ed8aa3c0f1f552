"""Cohorts: the sets of groups whose outcomes are computed together.

A response belongs to the cohorts of its group: the organisation, the group,
its curriculum (all versions), curriculum kind, format, delivery mode and audience,
and every period cohort a lead has asked for whose quarters hold the group's start
(see :mod:`outcomes.evaluation.periods`). Period cohorts exist only when a lead asks for
one (:func:`period_cohort`); there are at most :data:`MAX_PERIODS` per organisation.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, Min, OuterRef, Q, Subquery
from django.utils import timezone

from groups.models import SupportGroup
from outcomes.evaluation.periods import MIN_YEAR, Period, Quarter, start_quarter, zone_of
from outcomes.models import CohortDimension, CohortState
from peersupport.audit import record
from peersupport.models import AuditEvent, Organisation
from sessions.models import GroupSession, SessionStatus

from .scheduling import schedule_recompute

CohortKey = tuple[str, str]  # (dimension, value)


def cohort_keys(group: SupportGroup, *, with_periods: bool = True) -> list[CohortKey]:
    """Every cohort the group's answers count in. One query (for the existing period cohorts), none without."""
    keys = [
        (CohortDimension.ORGANISATION, ""),
        (CohortDimension.GROUP, str(group.pk)),
        (CohortDimension.FORMAT, group.format),
        (CohortDimension.DELIVERY, group.delivery),
        (CohortDimension.AUDIENCE, group.audience),
    ]
    if group.curriculum_id:
        keys.append((CohortDimension.CURRICULUM, str(group.curriculum.family)))
        keys.append((CohortDimension.CURRICULUM_KIND, group.curriculum.kind))
    if with_periods:
        keys.extend((CohortDimension.PERIOD, value) for value in periods_of(group))
    return keys


def cohort_label(dimension: str, value: str, *, group: SupportGroup | None = None) -> str:
    if dimension == CohortDimension.ORGANISATION:
        return "All groups"
    if dimension == CohortDimension.GROUP and group is not None:
        return group.name
    if dimension == CohortDimension.CURRICULUM and group is not None and group.curriculum_id:
        return group.curriculum.title
    if dimension == CohortDimension.PERIOD:
        period = Period.parse(value)
        return period.label if period else value
    return value.replace("_", " ").capitalize()


def groups_filter(dimension: str, value: str) -> Q:
    """The groups of a cohort, within its organisation. A period value that does not parse holds no groups."""
    if dimension == CohortDimension.PERIOD:
        period = Period.parse(value)
        return starting_in(period) if period else Q(pk__in=[])
    return {
        CohortDimension.ORGANISATION: Q(),
        CohortDimension.GROUP: Q(pk=int(value) if value.isdigit() else -1),
        CohortDimension.FORMAT: Q(format=value),
        CohortDimension.DELIVERY: Q(delivery=value),
        CohortDimension.AUDIENCE: Q(audience=value),
        CohortDimension.CURRICULUM: Q(curriculum__family=value),
        CohortDimension.CURRICULUM_KIND: Q(curriculum__kind=value),
    }[dimension]


class CurriculumFields(NamedTuple):
    family: str
    title: str
    kind: str


class GroupFields(NamedTuple):
    """What ``cohort_keys`` and ``cohort_label`` read of a group, for thousands of groups at once (as model
    instances with their curricula, 5,000 groups took a tenth of a second to build)."""

    pk: int
    organisation_id: int
    name: str
    format: str
    delivery: str
    audience: str
    curriculum_id: int | None
    curriculum: CurriculumFields | None


def cohorts_groups(states: list[CohortState]) -> list[set[int]]:
    """The pks of the groups in each cohort (of one organisation): a group cohort's own pk without a query, the
    others' in one query (a flag per cohort on every group of the organisation, from ``groups_filter``)."""
    found: list[set[int]] = []
    flags = {}
    for i, state in enumerate(states):
        if state.dimension == CohortDimension.GROUP:
            found.append({int(state.value)} if state.value.isdigit() else set())
        else:
            found.append(set())
            flags[f"in_{i}"] = ExpressionWrapper(groups_filter(state.dimension, state.value), BooleanField())
    if flags:
        groups = SupportGroup.objects.filter(organisation_id=states[0].organisation_id).annotate(**flags)
        chosen = [int(name[3:]) for name in flags]
        for pk, *inside in groups.values_list("pk", *flags):
            for i, yes in zip(chosen, inside, strict=True):
                if yes:
                    found[i].add(pk)
    return found


MAX_PERIODS = 40


def _held(group_ref) -> Q:
    return Q(group=group_ref) & ~Q(status=SessionStatus.CANCELLED)


def starting_in(period: Period) -> Q:
    """The groups that started in ``period`` (a filter on SupportGroup; see the module docstring).

    Quarter boundaries are midnight in each group's own time zone, so the filter has one branch
    per time zone in use (one small query to find them).
    """
    sessions = GroupSession.objects.filter(_held(OuterRef("pk")))
    condition = Q(pk__in=[])
    zones = SupportGroup.objects.order_by().values_list("time_zone", flat=True).distinct()
    for name in zones:
        zone = zone_of(name)
        start = dt.datetime.combine(period.first.first_day, dt.time(), tzinfo=zone)
        end = dt.datetime.combine(period.last.next().first_day, dt.time(), tzinfo=zone)
        first_in_period = Q(Exists(sessions.filter(starts_at__gte=start, starts_at__lt=end))) & ~Q(
            Exists(sessions.filter(starts_at__lt=start))
        )
        created_in_period = ~Q(Exists(sessions)) & Q(created_at__gte=start, created_at__lt=end)
        condition |= Q(time_zone=name) & (first_in_period | created_in_period)
    return condition


def periods_of(group: SupportGroup) -> list[str]:
    """The values of the existing period cohorts of the group's organisation that hold the group. One query."""
    first_session = GroupSession.objects.filter(_held(group.pk)).order_by("starts_at").values("starts_at")[:1]
    rows = (
        CohortState.objects.filter(organisation_id=group.organisation_id, dimension=CohortDimension.PERIOD)
        .annotate(first_session=Subquery(first_session))
        .values_list("value", "first_session")
    )
    values = []
    for value, first in rows:
        period = Period.parse(value)
        if period is not None and start_quarter(group, first) in period:
            values.append(value)
    return values


def quarter_choices(organisation: Organisation) -> list[Quarter]:
    """Quarters a lead can choose: from the organisation's earliest group start to the current quarter."""
    today = timezone.now().astimezone(zone_of(organisation.time_zone)).date()
    current = Quarter.of(today)
    groups = SupportGroup.objects.filter(organisation=organisation)
    earliest = groups.aggregate(
        created=Min("created_at"),
        session=Min("sessions__starts_at", filter=~Q(sessions__status=SessionStatus.CANCELLED)),
    )
    moments = [m for m in earliest.values() if m is not None]
    first = Quarter.of(min(moments).astimezone(zone_of(organisation.time_zone)).date()) if moments else current
    first = max(first, Quarter(MIN_YEAR, 1))
    last = max(current, first)
    quarters = [first]
    while quarters[-1] < last:
        quarters.append(quarters[-1].next())
    return quarters


class PeriodLimitReached(Exception):
    """Every one of the organisation's MAX_PERIODS period cohorts is being computed: none can make room."""


@transaction.atomic
def period_cohort(organisation: Organisation, period: Period, *, by) -> tuple[CohortState, bool]:
    """The organisation's cohort for ``period``, created (stale, recompute queued) if it did not exist.

    Returns (cohort, created). At the limit of MAX_PERIODS, the period computed longest ago gives way
    (its figures are deleted; asking for it again computes them again). Periods still being computed
    are never evicted: when all are, raises PeriodLimitReached.
    """
    periods = CohortState.objects.filter(organisation=organisation, dimension=CohortDimension.PERIOD)
    existing = periods.filter(value=period.value).first()
    if existing is not None:
        return existing, False
    # One lead at a time adds a period, so two at once can neither pass the limit nor both add the same one.
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
    existing = periods.filter(value=period.value).first()
    if existing is not None:
        return existing, False
    evicted = None
    if periods.count() >= MAX_PERIODS:
        oldest = periods.filter(stale=False).order_by("computed_at", "pk").first()
        if oldest is None:
            raise PeriodLimitReached
        evicted = oldest.value
        oldest.delete()
    CohortState.objects.bulk_create(
        [
            CohortState(
                organisation=organisation,
                dimension=CohortDimension.PERIOD,
                value=period.value,
                label=period.label[:200],
                stale=True,
                marked_at=timezone.now(),
            )
        ],
        update_conflicts=True,
        unique_fields=["organisation", "dimension", "value"],
        update_fields=["label"],
    )
    state = CohortState.objects.get(organisation=organisation, dimension=CohortDimension.PERIOD, value=period.value)
    record(
        AuditEvent.Action.EVALUATION_PERIOD_ADDED,
        actor=by,
        organisation=organisation,
        obj=state,
        period=period.value,
        evicted=evicted,
    )
    organisation_id = organisation.pk

    def queue() -> None:
        schedule_recompute(organisation_id)

    transaction.on_commit(queue)
    return state, True

"""Period cohorts: the groups that started in a span of calendar quarters ("2026Q1-2026Q2").

A group starts on the day of its first session that was not cancelled, in the group's own
time zone (a group in Sydney whose first session is on 1 January at 10:00 started in Q1,
although it is still 31 December in UTC). A group without sessions starts on the day it was
created. Scheduling, moving or cancelling sessions can therefore move a group to another
quarter, so a session's change marks every period cohort of the organisation stale
(``outcomes.signals``).

Period cohorts exist only when a lead asks for one (:func:`period_cohort`); there are at most
:data:`MAX_PERIODS` per organisation. Their groups come from :func:`starting_in` (through
``cohorts.groups_filter``), so the exports protect them like any other cohort: a period is a
set of groups, and one period minus another is a set of groups too.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from groups.models import SupportGroup
from peersupport.audit import record
from peersupport.models import Organisation
from sessions.models import GroupSession, SessionStatus

from .models import CohortDimension, CohortState

MIN_YEAR, MAX_YEAR = 2000, 2099
MAX_PERIODS = 40
AUDIT_PERIOD_ADDED = "evaluation_period_added"
_QUARTER = r"([0-9]{4})Q([1-4])"  # ASCII digits only: \d also takes other scripts' digits
_QUARTER_RE = re.compile(rf"\A{_QUARTER}\Z")
_PERIOD_RE = re.compile(rf"\A{_QUARTER}-{_QUARTER}\Z")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter | None:
        """``"2026Q1"`` → Quarter(2026, 1); anything else (other spellings, years outside 2000–2099) → None."""
        match = _QUARTER_RE.match(text or "")
        return cls.checked(int(match[1]), int(match[2])) if match else None

    @classmethod
    def checked(cls, year: int, number: int) -> Quarter | None:
        return cls(year, number) if MIN_YEAR <= year <= MAX_YEAR and 1 <= number <= 4 else None

    @classmethod
    def of(cls, day: dt.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 3 * self.number - 2, 1)

    def next(self) -> Quarter:
        return Quarter(self.year + self.number // 4, self.number % 4 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def label(self) -> str:
        return f"{self.year} Q{self.number}"


@dataclass(frozen=True)
class Period:
    """The quarters from ``first`` to ``last``, both included."""

    first: Quarter
    last: Quarter

    @classmethod
    def parse(cls, value: str) -> Period | None:
        """The canonical value only (``"2026Q1-2026Q2"``, also for one quarter: ``"2026Q1-2026Q1"``), else None."""
        match = _PERIOD_RE.match(value or "")
        if not match:
            return None
        first = Quarter.checked(int(match[1]), int(match[2]))
        last = Quarter.checked(int(match[3]), int(match[4]))
        if first is None or last is None or last < first:
            return None
        return cls(first, last)

    @property
    def value(self) -> str:
        return f"{self.first}-{self.last}"

    def __contains__(self, quarter: Quarter) -> bool:
        return self.first <= quarter <= self.last

    @property
    def label(self) -> str:
        if self.first == self.last:
            return _("Groups starting %(quarter)s") % {"quarter": self.first.label}
        return _("Groups starting %(first)s – %(last)s") % {"first": self.first.label, "last": self.last.label}


def _held(group_ref) -> Q:
    return Q(group=group_ref) & ~Q(status=SessionStatus.CANCELLED)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def start_quarter(group: SupportGroup, first_session: dt.datetime | None) -> Quarter:
    """The quarter a group started in, given the start of its first session that was not cancelled."""
    moment = first_session or group.created_at or timezone.now()
    return Quarter.of(moment.astimezone(_zone(group.time_zone)).date())


def starting_in(period: Period) -> Q:
    """The groups that started in ``period`` (a filter on SupportGroup; see the module docstring).

    Quarter boundaries are midnight in each group's own time zone, so the filter has one branch
    per time zone in use (one small query to find them).
    """
    sessions = GroupSession.objects.filter(_held(OuterRef("pk")))
    condition = Q(pk__in=[])
    zones = SupportGroup.objects.order_by().values_list("time_zone", flat=True).distinct()
    for name in zones:
        zone = _zone(name)
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


# --- choosing a period on the evaluation page ---------------------------------------------------


def quarter_choices(organisation: Organisation) -> list[Quarter]:
    """Quarters a lead can choose: from the organisation's earliest group start to the current quarter."""
    today = timezone.now().astimezone(_zone(organisation.time_zone)).date()
    current = Quarter.of(today)
    groups = SupportGroup.objects.filter(organisation=organisation)
    earliest = groups.aggregate(
        created=Min("created_at"),
        session=Min("sessions__starts_at", filter=~Q(sessions__status=SessionStatus.CANCELLED)),
    )
    moments = [m for m in earliest.values() if m is not None]
    first = Quarter.of(min(moments).astimezone(_zone(organisation.time_zone)).date()) if moments else current
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
    record(AUDIT_PERIOD_ADDED, actor=by, organisation=organisation, obj=state, period=period.value, evicted=evicted)
    organisation_id = organisation.pk

    def queue() -> None:
        from .aggregation import schedule_recompute

        schedule_recompute(organisation_id)

    transaction.on_commit(queue)
    return state, True

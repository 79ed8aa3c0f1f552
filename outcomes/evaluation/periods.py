"""Period cohorts: the groups that started in a span of calendar quarters ("2026Q1-2026Q2").

A group starts on the day of its first session that was not cancelled, in the group's own
time zone (a group in Sydney whose first session is on 1 January at 10:00 started in Q1,
although it is still 31 December in UTC). A group without sessions starts on the day it was
created. Scheduling, moving or cancelling sessions can therefore move a group to another
quarter, so a session's change marks every period cohort of the organisation stale
(``outcomes.signals``).

This module is pure (quarters and periods as values). Period cohorts exist only when a lead
asks for one (``cohorts.period_cohort``); there are at most ``cohorts.MAX_PERIODS`` per
organisation. Their groups come from ``cohorts.starting_in`` (through ``cohorts.groups_filter``),
so the exports protect them like any other cohort: a period is a set of groups, and one period
minus another is a set of groups too.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from groups.models import SupportGroup

MIN_YEAR, MAX_YEAR = 2000, 2099
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


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def start_quarter(group: SupportGroup, first_session: dt.datetime | None) -> Quarter:
    """The quarter a group started in, given the start of its first session that was not cancelled."""
    moment = first_session or group.created_at or timezone.now()
    return Quarter.of(moment.astimezone(zone_of(group.time_zone)).date())

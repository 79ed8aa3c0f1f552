"""Pure recurrence: turn a schedule rule into session start and end times in UTC.

No database here, so it is easy to test across daylight-saving changes.

Decisions (also in docs/architecture.md):

- The rule is in the group's *local* wall-clock time: an 18:00 weekly group meets at
  18:00 local in winter and in summer, so its UTC time moves by the DST shift.
- A local time that does not exist (the spring-forward gap, e.g. 01:30 in London on
  the last Sunday of March) is read with ``fold=0`` as PEP 495 defines it: with the
  offset in force before the change, which moves the session *forward* by the length
  of the gap (01:30 becomes 02:30 BST). No session is dropped.
- A local time that happens twice (the fall-back hour) takes ``fold=0``, the first,
  earlier occurrence (still summer time).
- A session lasts ``duration_minutes`` of real elapsed time, so a session across a
  change ends at the right wall-clock time in UTC terms.
- Skipped dates do not count towards ``count``: "8 sessions skipping the bank holiday"
  still gives 8 sessions, the series ends a week later.
- Fortnightly means every other calendar week (Monday to Sunday), counted from the
  week of ``start_date``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MAX_SESSIONS = 200
MIN_DURATION_MINUTES = 15
MAX_DURATION_MINUTES = 12 * 60
# A rule given "until" a date further than this is refused: it is surely a typo.
MAX_SPAN_DAYS = 5 * 366

WEEKLY = 1
FORTNIGHTLY = 2


class RecurrenceError(ValueError):
    """A rule that cannot produce a schedule. ``messages`` say what to change."""

    def __init__(self, messages: str | list[str]):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__(" ".join(self.messages))


@dataclass(frozen=True)
class Rule:
    """Weekly or fortnightly on ``weekdays`` (0 = Monday) at ``local_time`` in ``time_zone``.

    Give exactly one of ``count`` (number of sessions) and ``until`` (last possible local date, inclusive).
    """

    start_date: dt.date
    weekdays: frozenset[int]
    local_time: dt.time
    time_zone: str
    duration_minutes: int = 90
    interval_weeks: int = WEEKLY
    count: int | None = None
    until: dt.date | None = None
    skip_dates: frozenset[dt.date] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Occurrence:
    starts_at: dt.datetime  # aware, UTC
    ends_at: dt.datetime  # aware, UTC
    local_date: dt.date


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The time zone called ``name``, or RecurrenceError when there is none."""
    try:
        if not name or name not in zoneinfo.available_timezones():
            raise zoneinfo.ZoneInfoNotFoundError(name)
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise RecurrenceError(
            _("“%(name)s” is not a known time zone. Use a name such as Europe/London.") % {"name": name}
        ) from exc


def to_utc(local_date: dt.date, local_time: dt.time, time_zone: str | zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant of a wall-clock time in a zone (fold=0 for gaps and overlaps, see the module docstring)."""
    tz = zone(time_zone) if isinstance(time_zone, str) else time_zone
    local = dt.datetime.combine(local_date, local_time.replace(tzinfo=None, fold=0), tzinfo=tz)
    return local.astimezone(dt.UTC)


def validate(rule: Rule) -> None:
    """Raise RecurrenceError listing everything wrong with the rule."""
    problems: list[str] = []
    try:
        zone(rule.time_zone)
    except RecurrenceError as exc:
        problems.extend(exc.messages)
    if not rule.weekdays:
        problems.append(_("Choose at least one day of the week."))
    elif any(day not in range(7) for day in rule.weekdays):
        problems.append(_("Days of the week go from Monday (0) to Sunday (6)."))
    if rule.interval_weeks not in (WEEKLY, FORTNIGHTLY):
        problems.append(_("Choose weekly or fortnightly."))
    if not MIN_DURATION_MINUTES <= rule.duration_minutes <= MAX_DURATION_MINUTES:
        problems.append(
            _("A session lasts between %(min)s and %(max)s minutes.")
            % {"min": MIN_DURATION_MINUTES, "max": MAX_DURATION_MINUTES}
        )
    if (rule.count is None) == (rule.until is None):
        problems.append(_("Give either a number of sessions or an end date, not both."))
    if rule.count is not None and not 1 <= rule.count <= MAX_SESSIONS:
        problems.append(_("The number of sessions must be between 1 and %(max)s.") % {"max": MAX_SESSIONS})
    if rule.until is not None:
        if rule.until < rule.start_date:
            problems.append(_("The end date is before the start date. Choose an end date on or after the start."))
        elif (rule.until - rule.start_date).days > MAX_SPAN_DAYS:
            problems.append(_("The end date is more than five years away. Check the year."))
    if problems:
        raise RecurrenceError(problems)


def _local_dates(rule: Rule) -> Iterable[dt.date]:
    week_zero = rule.start_date - dt.timedelta(days=rule.start_date.weekday())
    day = rule.start_date
    last = rule.until or rule.start_date + dt.timedelta(days=MAX_SPAN_DAYS)
    while day <= last:
        week_index = (day - week_zero).days // 7
        if day.weekday() in rule.weekdays and week_index % rule.interval_weeks == 0 and day not in rule.skip_dates:
            yield day
        day += dt.timedelta(days=1)


def occurrences(rule: Rule) -> list[Occurrence]:
    """Every session the rule gives, in order. Raises RecurrenceError for a bad rule or too many sessions."""
    validate(rule)
    tz = zone(rule.time_zone)
    duration = dt.timedelta(minutes=rule.duration_minutes)
    result: list[Occurrence] = []
    for day in _local_dates(rule):
        starts_at = to_utc(day, rule.local_time, tz)
        result.append(Occurrence(starts_at=starts_at, ends_at=starts_at + duration, local_date=day))
        if rule.count is not None and len(result) == rule.count:
            break
        if len(result) > MAX_SESSIONS:
            raise RecurrenceError(
                _("This rule gives more than %(max)s sessions. Choose an earlier end date.") % {"max": MAX_SESSIONS}
            )
    if not result:
        raise RecurrenceError(_("This rule gives no sessions. Check the days of the week and the dates."))
    return result

"""Showing UTC instants in a person's or a group's time zone (templates, e-mails, the calendar feed)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import dateformat


def in_zone(value: dt.datetime, time_zone: str) -> dt.datetime:
    """``value`` converted to ``time_zone``; UTC when the name is unknown (an edge must never crash)."""
    try:
        tz = zoneinfo.ZoneInfo(time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    return value.astimezone(tz)


def when(starts_at: dt.datetime, ends_at: dt.datetime, time_zone: str) -> str:
    """E.g. "Thursday 6 March 2025, 18:00–19:30 (GMT)"."""
    start = in_zone(starts_at, time_zone)
    end = in_zone(ends_at, time_zone)
    if start.date() == end.date():
        return f"{dateformat.format(start, 'l j F Y, H:i')}–{dateformat.format(end, 'H:i')} ({start.tzname()})"
    return f"{dateformat.format(start, 'l j F Y, H:i T')} – {dateformat.format(end, 'l j F Y, H:i T')}"


def days_ahead(starts_at: dt.datetime, now: dt.datetime, time_zone: str) -> int:
    """How many calendar days after ``now``'s day the session starts, both seen in ``time_zone``
    (0: later today, 1: tomorrow). The same instants give different answers in different zones."""
    return (in_zone(starts_at, time_zone).date() - in_zone(now, time_zone).date()).days

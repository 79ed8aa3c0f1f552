"""A member's sessions as an iCalendar (RFC 5545) feed, built with the ``icalendar`` library."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from groups.models import MembershipStatus

from . import selectors
from .models import GroupSession, SessionStatus

PRODID = "-//Peer Support Platform//Group sessions//EN"


def feed(sessions: Iterable[GroupSession], *, active_group_ids: set[int]) -> bytes:
    """The ICS bytes for ``sessions``. The online link goes in only for groups in ``active_group_ids``.

    Times are written in UTC (a calendar app shows them in the reader's own zone),
    so the feed needs no VTIMEZONE and is right across daylight-saving changes.
    Each event's UID is the session's random ``uid``: the same whatever address the site is served from.
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("My peer support sessions"))
    stamp = timezone.now()
    for session in sessions:
        group = session.group
        event = Event()
        event.add("uid", str(session.uid))
        event.add("dtstamp", stamp)
        event.add("last-modified", session.updated_at)
        event.add("dtstart", session.starts_at)
        event.add("dtend", session.ends_at)
        event.add("sequence", int(session.updated_at.timestamp()) % 2_000_000_000)
        summary = group.name if session.unit is None else f"{group.name}: {session.unit.title}"
        lines = [group.organisation.name]
        if session.status == SessionStatus.CANCELLED:
            event.add("status", "CANCELLED")
            summary = _("Cancelled: %(summary)s") % {"summary": summary}
            if session.cancellation_note:
                lines.append(session.cancellation_note)
        else:
            event.add("status", "CONFIRMED")
        place = selectors.location(session)
        if place:
            event.add("location", place)
        link = selectors.online_url(session)
        if link and group.pk in active_group_ids and session.status == SessionStatus.SCHEDULED:
            event.add("url", link)
            lines.append(_("Join online: %(url)s") % {"url": link})
        if group.phone_details and group.pk in active_group_ids:
            lines.append(_("By telephone: %(phone)s") % {"phone": group.phone_details})
        event.add("summary", summary)
        event.add("description", "\n".join(lines))
        cal.add_component(event)
    return cal.to_ical()


def member_feed(user) -> bytes:
    sessions = list(selectors.feed_sessions(user))
    # feed_sessions already keeps only active groups; the set is a second, explicit guard for the link.
    active_group_ids = set(user.memberships.filter(status=MembershipStatus.ACTIVE).values_list("group_id", flat=True))
    return feed(sessions, active_group_ids=active_group_ids)

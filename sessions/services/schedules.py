"""Schedules, changes and cancellations of sessions, with the facilitator-overlap check and the members' e-mails."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import dateformat, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groups.models import CurriculumUnit, GroupFormat, SupportGroup
from peersupport import audit
from peersupport.mail import queue_email
from peersupport.models import User

from .. import recurrence, selectors
from ..display import in_zone, when
from ..models import (
    GroupSession,
    SessionReminder,
    SessionStatus,
)
from ..signals import sessions_scheduled
from .actions import Action


class OverlapWarning(Exception):
    """A facilitator would be in two sessions at once. Not a hard block: call again with ``confirm_overlap=True``."""

    def __init__(self, clashes: list[tuple[dt.datetime, GroupSession]]):
        self.clashes = clashes  # (the new or changed start, the existing session it overlaps)
        super().__init__(f"{len(clashes)} overlapping session(s)")


def _as_validation_error(exc: recurrence.RecurrenceError) -> ValidationError:
    return ValidationError(exc.messages)


def _check_overlaps(
    *, group: SupportGroup, slots: list[tuple[dt.datetime, dt.datetime]], exclude_ids: list[int] = ()
) -> list[tuple[dt.datetime, GroupSession]]:
    """Clashes between ``slots`` and the sessions of every group this group's facilitators run. One query."""
    if not slots:
        return []
    existing = selectors.overlapping_sessions(
        facilitator_ids=selectors.facilitator_ids(group),
        starts_at=min(s for s, _ in slots),
        ends_at=max(e for _, e in slots),
        exclude_ids=exclude_ids,
    )
    return [
        (start, other) for start, end in slots for other in existing if other.starts_at < end and other.ends_at > start
    ]


# --- Schedules ---------------------------------------------------------------------------


@transaction.atomic
def schedule_generate(
    *,
    group: SupportGroup,
    rule: recurrence.Rule,
    by: User | None,
    confirm_overlap: bool = False,
    request: HttpRequest | None = None,
) -> list[GroupSession]:
    """Create the sessions a rule gives, appended after the group's last session.

    Generating again never duplicates: every new session must start after the
    group's latest existing session (otherwise ValidationError says from when to
    start), and sequences continue from the last one. A structured group's
    session *n* teaches curriculum unit *n*; sessions beyond the curriculum have no unit.
    Raises OverlapWarning when a facilitator would be in two sessions at once,
    unless ``confirm_overlap``.
    """
    if rule.time_zone != group.time_zone:
        raise ValidationError(_("The schedule must be in the group's time zone (%(tz)s).") % {"tz": group.time_zone})
    try:
        planned = recurrence.occurrences(rule)
    except recurrence.RecurrenceError as exc:
        raise _as_validation_error(exc) from exc
    # Lock the group so two facilitators generating at once cannot interleave sequences.
    SupportGroup.objects.select_for_update().filter(pk=group.pk).first()
    last = GroupSession.objects.filter(group=group).aggregate(seq=Max("sequence"), start=Max("starts_at"))
    if last["start"] is not None and planned[0].starts_at <= last["start"]:
        raise ValidationError(
            _(
                "This group already has sessions until %(date)s. Start the new sessions after that date, "
                "or change single sessions from the schedule."
            )
            % {"date": dateformat.format(in_zone(last["start"], group.time_zone), "j F Y")}
        )
    if not confirm_overlap:
        clashes = _check_overlaps(group=group, slots=[(o.starts_at, o.ends_at) for o in planned])
        if clashes:
            raise OverlapWarning(clashes)
    first_sequence = (last["seq"] or 0) + 1
    units: dict[int, CurriculumUnit] = {}
    if group.format == GroupFormat.STRUCTURED and group.curriculum_id:
        units = {u.position: u for u in CurriculumUnit.objects.filter(curriculum_id=group.curriculum_id)}
    sessions = [
        GroupSession(
            group=group,
            sequence=first_sequence + i,
            unit=units.get(first_sequence + i),
            starts_at=occurrence.starts_at,
            ends_at=occurrence.ends_at,
        )
        for i, occurrence in enumerate(planned)
    ]
    GroupSession.objects.bulk_create(sessions)
    sessions_scheduled.send(sender=GroupSession, group=group)
    audit.record(
        Action.SCHEDULE_GENERATED,
        actor=by,
        organisation=group.organisation,
        obj=group,
        request=request,
        count=len(sessions),
        first_sequence=first_sequence,
        weekdays=sorted(rule.weekdays),
        interval_weeks=rule.interval_weeks,
        local_time=rule.local_time.isoformat(timespec="minutes"),
    )
    return list(GroupSession.objects.filter(group=group, sequence__gte=first_sequence).order_by("sequence"))


def _active_members(group: SupportGroup) -> list[User]:
    return [m.user for m in selectors.active_memberships(group)]


def _email_members(
    *, session: GroupSession, template: str, subject, previous: tuple[dt.datetime, dt.datetime] | None = None
) -> int:
    """One e-mail to each active member (never a shared To: line), after commit. Returns how many.

    Times are in each member's own time zone and language. No online link: that goes
    only in the reminder and on the member's page near the start.
    """
    members = _active_members(session.group)
    for user in members:
        with translation.override(user.preferred_language):
            context = {
                "session": session,
                "group": session.group,
                "user": user,
                "when": when(session.starts_at, session.ends_at, user.time_zone),
                "was": when(*previous, user.time_zone) if previous else "",
            }
            queue_email(
                subject=str(subject) % {"group": session.group.name},
                body=render_to_string(template, context),
                to=[user.email],
            )
    return len(members)


@transaction.atomic
def session_change(
    *,
    session: GroupSession,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    location: str = "",
    online_url: str = "",
    by: User | None,
    confirm_overlap: bool = False,
    request: HttpRequest | None = None,
) -> GroupSession:
    """Edit or reschedule one session. Members are told when its time changes, and reminded again for the new time."""
    session = (
        GroupSession.objects.select_for_update(of=("self",)).select_related("group__organisation").get(pk=session.pk)
    )
    if session.status == SessionStatus.CANCELLED:
        raise ValidationError(_("This session is cancelled and cannot be changed."))
    if ends_at <= starts_at:
        raise ValidationError({"duration_minutes": _("A session must end after it starts.")})
    if not confirm_overlap:
        clashes = _check_overlaps(group=session.group, slots=[(starts_at, ends_at)], exclude_ids=[session.pk])
        if clashes:
            raise OverlapWarning(clashes)
    previous = (session.starts_at, session.ends_at)
    session.starts_at, session.ends_at = starts_at, ends_at
    session.location, session.online_url = location, online_url
    session.full_clean(exclude=["group", "unit"])
    session.save()
    moved = previous != (starts_at, ends_at)
    if moved:
        # A reminder sent for the old time must not stop the reminder for the new one.
        SessionReminder.objects.filter(session=session).delete()
        _email_members(
            session=session,
            template="sessions/email/rescheduled.txt",
            subject=gettext_lazy("%(group)s: a session has moved"),
            previous=previous,
        )
    audit.record(
        Action.SESSION_CHANGED,
        actor=by,
        organisation=session.group.organisation,
        obj=session,
        request=request,
        moved=moved,
        previous_starts_at=previous[0].isoformat(),
        starts_at=starts_at.isoformat(),
    )
    return session


@transaction.atomic
def session_cancel(
    *, session: GroupSession, note: str = "", by: User | None, request: HttpRequest | None = None
) -> GroupSession:
    """Cancel one session and e-mail a notice to each active member after commit. Cancelling twice is a no-op."""
    session = (
        GroupSession.objects.select_for_update(of=("self",)).select_related("group__organisation").get(pk=session.pk)
    )
    if session.status == SessionStatus.CANCELLED:
        return session
    session.status = SessionStatus.CANCELLED
    session.cancellation_note = note.strip()
    session.save(update_fields=["status", "cancellation_note", "updated_at"])
    notified = _email_members(
        session=session,
        template="sessions/email/cancelled.txt",
        subject=gettext_lazy("%(group)s: a session is cancelled"),
    )
    audit.record(
        Action.SESSION_CANCELLED,
        actor=by,
        organisation=session.group.organisation,
        obj=session,
        request=request,
        notified=notified,
    )
    return session

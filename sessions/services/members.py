"""A member's preferences and calendar feed, and the reminder job."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from groups.models import Membership, MembershipStatus
from peersupport import audit
from peersupport.mail import queue_email
from peersupport.models import User
from peersupport.selectors import consent_is_active

from .. import selectors
from ..display import days_ahead, when
from ..models import (
    Attendance,
    AttendanceStatus,
    GroupSession,
    MemberPreferences,
    SessionReminder,
    SessionStatus,
    new_feed_token,
)
from .actions import Action

# --- Member preferences and calendar feed ---------------------------------------------------------------


def _preferences(user: User) -> MemberPreferences:
    prefs, _created = MemberPreferences.objects.get_or_create(user=user)
    return prefs


@transaction.atomic
def reminders_set(*, user: User, email_reminders: bool) -> MemberPreferences:
    prefs = _preferences(user)
    prefs.email_reminders = email_reminders
    prefs.save(update_fields=["email_reminders"])
    return prefs


@transaction.atomic
def calendar_token_create(*, user: User, request: HttpRequest | None = None) -> MemberPreferences:
    """Give the member a new calendar feed address. Any earlier address stops working."""
    prefs = MemberPreferences.objects.select_for_update().filter(pk=_preferences(user).pk).get()
    prefs.calendar_token = new_feed_token()
    prefs.save(update_fields=["calendar_token"])
    audit.record(Action.CALENDAR_TOKEN_CREATED, actor=user, obj=prefs, request=request)
    return prefs


@transaction.atomic
def calendar_token_revoke(*, user: User, request: HttpRequest | None = None) -> MemberPreferences:
    """Stop the member's calendar feed address: it answers 404 from now on."""
    prefs = _preferences(user)
    if prefs.calendar_token:
        prefs.calendar_token = None
        prefs.save(update_fields=["calendar_token"])
        audit.record(Action.CALENDAR_TOKEN_REVOKED, actor=user, obj=prefs, request=request)
    return prefs


# --- Reminders ---------------------------------------------------------------------------------------------


def reminders_send(*, now: dt.datetime | None = None) -> int:
    """E-mail each active, consenting, not-opted-out member about their session in the next 24 hours ("today" or
    "tomorrow" in the member's own time zone). Returns how many.

    Looks at the current state every run (status, membership, consent, preferences, apologies), so
    a cancelled session, a withdrawn member, an opt-out or a member who sent apologies gets nothing. Never twice:
    the SessionReminder row and the queued e-mail commit together or not at all.
    """
    now = now or timezone.now()
    sent = 0
    for session in selectors.sessions_due_a_reminder(now=now):
        memberships = session.group.active_memberships
        if not memberships:
            continue
        user_ids = [m.user_id for m in memberships]
        opted_out = set(
            MemberPreferences.objects.filter(user_id__in=user_ids, email_reminders=False).values_list(
                "user_id", flat=True
            )
        )
        already = set(SessionReminder.objects.filter(session=session).values_list("user_id", flat=True))
        already |= set(  # members who sent their apologies for this session
            Attendance.objects.filter(session=session, status=AttendanceStatus.APOLOGIES).values_list(
                "membership__user_id", flat=True
            )
        )
        for membership in memberships:
            user = membership.user
            if user.pk in opted_out or user.pk in already or not user.is_active:
                continue
            if not consent_is_active(user=user, organisation=session.group.organisation):
                continue
            sent += _remind(session=session, user=user, now=now)
    return sent


@transaction.atomic
def _remind(*, session: GroupSession, user: User, now: dt.datetime) -> int:
    # Re-check inside the transaction: a member may have withdrawn or the session been cancelled meanwhile.
    if not Membership.objects.filter(group=session.group, user=user, status=MembershipStatus.ACTIVE).exists():
        return 0
    if not GroupSession.objects.filter(pk=session.pk, status=SessionStatus.SCHEDULED).exists():
        return 0
    try:
        with transaction.atomic():
            SessionReminder.objects.create(session=session, user=user)
    except IntegrityError:  # another run got there first
        return 0
    # Within REMINDER_AHEAD a session is later today or tomorrow in the member's own zone.
    today = days_ahead(session.starts_at, now, user.time_zone) <= 0
    with translation.override(user.preferred_language):
        context = {
            "session": session,
            "group": session.group,
            "user": user,
            "today": today,
            "when": when(session.starts_at, session.ends_at, user.time_zone),
            # Reminders go only to active members (checked above), so the link may be included.
            "online_url": selectors.online_url(session),
            "location": selectors.location(session),
            "sessions_url": settings.SITE_URL
            + reverse("sessions:member_upcoming", args=[session.group.organisation.slug]),
        }
        queue_email(
            subject=(_("Reminder: %(group)s today") if today else _("Reminder: %(group)s tomorrow"))
            % {"group": session.group.name},
            body=render_to_string("sessions/email/reminder.txt", context),
            to=[user.email],
        )
    return 1

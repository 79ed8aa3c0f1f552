"""Writes for sessions: schedules, changes, cancellations, registers, logs, contacts, preferences, reminders.

Each function is one thing a person (or the reminder job) does: it runs in a
transaction, writes an audit row, and queues e-mail to go after commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groups.models import CurriculumUnit, GroupFormat, Membership, MembershipStatus, SupportGroup
from peersupport import audit
from peersupport.mail import queue_email
from peersupport.models import AuditEvent, Organisation, User
from peersupport.selectors import consent_is_active

from . import recurrence, selectors
from .display import days_ahead, in_zone, when
from .models import (
    Attendance,
    AttendanceStatus,
    FidelityItem,
    GroupSession,
    MemberPreferences,
    OneToOneContact,
    SessionLog,
    SessionReminder,
    SessionStatus,
    new_feed_token,
)
from .signals import register_saved, sessions_scheduled

logger = logging.getLogger(__name__)


class Action:
    """Audit actions of this app: its members of ``AuditEvent.Action``, the one list of action names."""

    SCHEDULE_GENERATED = AuditEvent.Action.SESSION_SCHEDULE_GENERATED
    SESSION_CHANGED = AuditEvent.Action.SESSION_CHANGED
    SESSION_CANCELLED = AuditEvent.Action.SESSION_CANCELLED
    ATTENDANCE_RECORDED = AuditEvent.Action.SESSION_ATTENDANCE_RECORDED
    LOG_SAVED = AuditEvent.Action.SESSION_LOG_SAVED
    CONTACT_RECORDED = AuditEvent.Action.ONE_TO_ONE_CONTACT_RECORDED
    FIDELITY_ITEMS_CHANGED = AuditEvent.Action.FIDELITY_ITEMS_CHANGED
    CALENDAR_TOKEN_CREATED = AuditEvent.Action.CALENDAR_TOKEN_CREATED
    CALENDAR_TOKEN_REVOKED = AuditEvent.Action.CALENDAR_TOKEN_REVOKED
    APOLOGIES_SENT = AuditEvent.Action.SESSION_APOLOGIES_SENT
    APOLOGIES_TAKEN_BACK = AuditEvent.Action.SESSION_APOLOGIES_TAKEN_BACK


DEFAULT_FIDELITY_ITEMS = [
    ("mutuality", gettext_lazy("Mutuality: we related as equals; the facilitator also shared and learned")),
    ("lived_experience", gettext_lazy("Shared lived experience was drawn on, with care")),
    ("choice_and_control", gettext_lazy("Choice and control: members chose what and how much to share")),
    ("hope_and_recovery", gettext_lazy("Hope and recovery focus: strengths and possibilities, not deficits")),
    ("safety", gettext_lazy("Safety: agreements kept; anyone in distress was offered support")),
]

MIN_CONTACT_MINUTES = 1
MAX_CONTACT_MINUTES = 600


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
    session = GroupSession.objects.select_for_update().select_related("group__organisation").get(pk=session.pk)
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
    session = GroupSession.objects.select_for_update().select_related("group__organisation").get(pk=session.pk)
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


# --- Attendance -------------------------------------------------------------------------------


@transaction.atomic
def attendance_record(
    *, session: GroupSession, statuses: Mapping[int, str], by: User | None, request: HttpRequest | None = None
) -> int:
    """Save the register in one go: {membership id: present|absent|apologies}. Returns how many were saved.

    Only the group's active members whose consent is active can be recorded (the
    consent text covers attendance); anything else is refused and nothing is saved.
    A fixed number of queries whatever the group size.
    """
    if session.status == SessionStatus.CANCELLED:
        raise ValidationError(_("This session is cancelled: there is no register to take."))
    rows = {row.membership.pk: row for row in selectors.register_rows(session)}
    problems = []
    for membership_id, status in statuses.items():
        if status not in AttendanceStatus.values:
            problems.append(_("“%(status)s” is not an attendance status.") % {"status": status})
        elif membership_id not in rows:
            problems.append(_("Someone in this register is not an active member of the group. Reload the page."))
        elif not rows[membership_id].consenting:
            problems.append(
                _("%(name)s has not given current consent, so their attendance is not recorded.")
                % {"name": rows[membership_id].membership.user.name}
            )
    if problems:
        raise ValidationError(sorted(set(problems)))
    if not statuses:
        return 0
    Attendance.objects.bulk_create(
        [
            Attendance(session=session, membership_id=mid, status=status, recorded_by=by)
            for mid, status in statuses.items()
        ],
        update_conflicts=True,
        unique_fields=["session", "membership"],
        update_fields=["status", "recorded_by", "recorded_at"],
    )
    register_saved.send(sender=GroupSession, session=session)
    audit.record(
        Action.ATTENDANCE_RECORDED,
        actor=by,
        organisation=session.group.organisation,
        obj=session,
        request=request,
        count=len(statuses),
    )
    return len(statuses)


# --- A member's apologies -------------------------------------------------------------------------


def _member_attendance(*, session: GroupSession, user: User, now: dt.datetime) -> tuple[GroupSession, Membership]:
    """The session (locked) and the user's active membership of its group, if apologies may change now."""
    session = GroupSession.objects.select_for_update().select_related("group__organisation").get(pk=session.pk)
    membership = Membership.objects.filter(group=session.group, user=user, status=MembershipStatus.ACTIVE).first()
    if membership is None:
        raise ValidationError(_("Only active members of the group can send apologies for its sessions."))
    if not consent_is_active(user=user, organisation=session.group.organisation):
        raise ValidationError(_("Your consent is needed before your attendance can be recorded."))
    if session.status == SessionStatus.CANCELLED:
        raise ValidationError(_("This session is cancelled: nobody is expected."))
    if session.starts_at <= now:
        raise ValidationError(_("This session has started: apologies can be sent only before the start."))
    return session, membership


@transaction.atomic
def apologies_send(
    *, session: GroupSession, user: User, now: dt.datetime | None = None, request: HttpRequest | None = None
) -> Attendance:
    """A member says, before it starts, that they cannot come to one session of their group.

    Recorded as their attendance, "apologies" (so the register shows it, and figures count it as an
    apology, not an absence); the facilitator can still mark them present if they come after all.
    No reminder goes to them for that session. Sending twice keeps the first time sent.
    """
    now = now or timezone.now()
    session, membership = _member_attendance(session=session, user=user, now=now)
    attendance = Attendance.objects.filter(session=session, membership=membership).first()
    if attendance is not None and attendance.status == AttendanceStatus.APOLOGIES and attendance.apology_sent_at:
        return attendance
    attendance, _created = Attendance.objects.update_or_create(
        session=session,
        membership=membership,
        defaults={"status": AttendanceStatus.APOLOGIES, "recorded_by": user, "apology_sent_at": now},
    )
    audit.record(
        Action.APOLOGIES_SENT, actor=user, organisation=session.group.organisation, obj=session, request=request
    )
    return attendance


@transaction.atomic
def apologies_take_back(
    *, session: GroupSession, user: User, now: dt.datetime | None = None, request: HttpRequest | None = None
) -> None:
    """The member can come after all (before the start): their apologies are removed. A no-op without any."""
    now = now or timezone.now()
    session, membership = _member_attendance(session=session, user=user, now=now)
    attendance = Attendance.objects.filter(
        session=session, membership=membership, apology_sent_at__isnull=False
    ).first()
    if attendance is None:
        return
    if attendance.status == AttendanceStatus.APOLOGIES:
        attendance.delete()
    else:  # the facilitator recorded something else meanwhile: that stays
        attendance.apology_sent_at = None
        attendance.save(update_fields=["apology_sent_at", "recorded_at"])
    audit.record(
        Action.APOLOGIES_TAKEN_BACK, actor=user, organisation=session.group.organisation, obj=session, request=request
    )


# --- Fidelity checklist and session logs ----------------------------------------------------------


def fidelity_items_for(organisation: Organisation, *, active_only: bool = True) -> list[FidelityItem]:
    """The organisation's checklist, creating the default items the first time it is asked for.

    Idempotent and safe under concurrency (ignore_conflicts on the unique key). Only an
    organisation with no items at all gets the defaults, so a lead's changes stay.
    """
    items = list(FidelityItem.objects.filter(organisation=organisation))
    if not items:
        FidelityItem.objects.bulk_create(
            [
                FidelityItem(organisation=organisation, key=key, label=str(label), position=(i + 1) * 10)
                for i, (key, label) in enumerate(DEFAULT_FIDELITY_ITEMS)
            ],
            ignore_conflicts=True,
        )
        items = list(FidelityItem.objects.filter(organisation=organisation))
    return [item for item in items if item.active or not active_only]


@transaction.atomic
def fidelity_items_save(
    *,
    organisation: Organisation,
    changes: Mapping[int, Mapping],
    new_label: str = "",
    by: User | None,
    request: HttpRequest | None = None,
) -> None:
    """Apply a lead's edits ({item id: {label, position, active}}) and add one item by label.

    Items are switched off, never deleted: logs written against them keep their meaning.
    """
    items = {item.pk: item for item in FidelityItem.objects.select_for_update().filter(organisation=organisation)}
    for item_id, values in changes.items():
        item = items.get(item_id)
        if item is None:
            raise ValidationError(_("That checklist item no longer exists. Reload the page."))
        item.label = values["label"].strip()
        item.position = values["position"]
        item.active = values["active"]
        item.full_clean()
        item.save()
    new_label = new_label.strip()
    if new_label:
        base = slugify(new_label)[:32] or "item"
        key, n = base, 2
        taken = {item.key for item in items.values()}
        while key in taken:
            key, n = f"{base}-{n}", n + 1
        position = max((item.position for item in items.values()), default=0) + 10
        FidelityItem.objects.create(organisation=organisation, key=key, label=new_label[:200], position=position)
    audit.record(
        Action.FIDELITY_ITEMS_CHANGED,
        actor=by,
        organisation=organisation,
        request=request,
        changed=len(changes),
        added=bool(new_label),
    )


@transaction.atomic
def session_log_save(
    *,
    session: GroupSession,
    facilitator: User,
    notes: str,
    fidelity: Mapping[str, bool],
    request: HttpRequest | None = None,
) -> SessionLog:
    """Write or update ``facilitator``'s log of the session (one per facilitator and session)."""
    known = {item.key for item in fidelity_items_for(session.group.organisation, active_only=False)}
    unknown = set(fidelity) - known
    if unknown:
        raise ValidationError(_("Unknown checklist items: %(keys)s.") % {"keys": ", ".join(sorted(unknown))})
    log, _created = SessionLog.objects.update_or_create(
        session=session,
        facilitator=facilitator,
        defaults={"notes": notes.strip(), "fidelity": {key: bool(value) for key, value in fidelity.items()}},
    )
    audit.record(Action.LOG_SAVED, actor=facilitator, organisation=session.group.organisation, obj=log, request=request)
    return log


# --- One-to-one contacts -------------------------------------------------------------------------------


@transaction.atomic
def contact_record(
    *,
    membership: Membership,
    facilitator: User,
    date: dt.date,
    mode: str,
    minutes: int,
    request: HttpRequest | None = None,
) -> OneToOneContact:
    """Record a one-to-one peer contact with a member of the group (1–600 minutes, not in the future)."""
    problems: dict[str, str] = {}
    if membership.status not in (MembershipStatus.ACTIVE, MembershipStatus.COMPLETED):
        problems["membership"] = _("Contacts can be recorded only for active or past members of the group.")
    elif not consent_is_active(user=membership.user, organisation=membership.group.organisation):
        problems["membership"] = _("This member has not given current consent, so contacts are not recorded.")
    if not isinstance(minutes, int) or not MIN_CONTACT_MINUTES <= minutes <= MAX_CONTACT_MINUTES:
        problems["minutes"] = _("Minutes must be a whole number from %(min)s to %(max)s.") % {
            "min": MIN_CONTACT_MINUTES,
            "max": MAX_CONTACT_MINUTES,
        }
    if date > timezone.localdate():
        problems["date"] = _("The date of a contact cannot be in the future.")
    if problems:
        raise ValidationError(problems)
    contact = OneToOneContact(membership=membership, facilitator=facilitator, date=date, mode=mode, minutes=minutes)
    contact.full_clean()
    contact.save()
    audit.record(
        Action.CONTACT_RECORDED,
        actor=facilitator,
        organisation=membership.group.organisation,
        obj=contact,
        request=request,
        minutes=minutes,
        mode=mode,
    )
    return contact


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

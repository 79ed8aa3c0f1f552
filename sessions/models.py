"""Scheduled group sessions, attendance, session logs, one-to-one contacts, reminders and calendar feeds.

Times are stored in UTC and shown in the group's (or the member's) time zone.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from groups.models import CurriculumUnit, Membership, SupportGroup
from peersupport.models import Organisation


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CANCELLED = "cancelled", _("Cancelled")


class GroupSession(models.Model):
    group = models.ForeignKey(SupportGroup, on_delete=models.CASCADE, related_name="sessions")
    # The event's UID in calendar feeds: random (RFC 7986 §5.3 asks that a UID name no host or domain), so moving
    # the site to another address never re-keys a subscriber's events.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sequence = models.PositiveIntegerField(help_text=_("1 for the first session of the group, and so on."))
    unit = models.ForeignKey(CurriculumUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED)
    cancellation_note = models.TextField(blank=True)
    location = models.CharField(max_length=255, blank=True, help_text=_("Only if different from the group's."))
    online_url = models.URLField(blank=True, help_text=_("Only if different from the group's."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["group", "sequence"], name="session_sequence_unique"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"),
            models.CheckConstraint(condition=Q(status__in=SessionStatus.values), name="session_status_valid"),
        ]
        indexes = [models.Index(fields=["starts_at", "status"])]

    def __str__(self) -> str:
        return f"{self.group} #{self.sequence}"


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("Present")
    ABSENT = "absent", _("Absent")
    APOLOGIES = "apologies", _("Sent apologies")


class Attendance(models.Model):
    session = models.ForeignKey(GroupSession, on_delete=models.CASCADE, related_name="attendance")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="attendance")
    status = models.CharField(max_length=12, choices=AttendanceStatus.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now=True)
    # Set when the member sent their apologies themselves before the session (status "apologies" then); kept when
    # the register later says otherwise, so the facilitator sees they had said so.
    apology_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "membership"], name="attendance_unique"),
            models.CheckConstraint(condition=Q(status__in=AttendanceStatus.values), name="attendance_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.membership} at {self.session}: {self.status}"


class FidelityItem(models.Model):
    """One item of an organisation's fidelity checklist to peer-support values. Data, so leads can change it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="fidelity_items")
    key = models.SlugField(max_length=40)
    label = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organisation", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["organisation", "key"], name="fidelity_item_key_unique")]

    def __str__(self) -> str:
        return self.label


class SessionLog(models.Model):
    """A facilitator's short notes on a session and the fidelity checklist ({item key: true/false})."""

    session = models.ForeignKey(GroupSession, on_delete=models.CASCADE, related_name="logs")
    facilitator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="session_logs")
    notes = models.TextField(blank=True)
    fidelity = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "facilitator"], name="session_log_unique")]

    def __str__(self) -> str:
        return f"Log of {self.session} by {self.facilitator}"


class ContactMode(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    TELEPHONE = "telephone", _("Telephone")
    VIDEO = "video", _("Video call")
    MESSAGE = "message", _("Messages")


class OneToOneContact(models.Model):
    """A one-to-one peer contact beside the group (multi-modal support)."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="contacts")
    facilitator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    mode = models.CharField(max_length=12, choices=ContactMode.choices)
    minutes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=1, minutes__lte=600), name="contact_minutes_range"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.mode} {self.minutes} min"


class SessionReminder(models.Model):
    """A reminder sent for one session to one member. The unique row is what makes it never twice."""

    session = models.ForeignKey(GroupSession, on_delete=models.CASCADE, related_name="reminders")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="session_reminder_once")]

    def __str__(self) -> str:
        return f"Reminder for {self.session} to {self.user}"


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class MemberPreferences(models.Model):
    """Per-person settings for sessions: reminder opt-out and the calendar feed token."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_preferences")
    email_reminders = models.BooleanField(_("e-mail me the day before a session"), default=True)
    calendar_token = models.CharField(max_length=64, unique=True, null=True, blank=True)

    def __str__(self) -> str:
        return f"Session preferences of {self.user}"

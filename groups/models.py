"""Curricula, support groups, facilitation and membership.

Membership history is kept, never overwritten: every status change is a
``MembershipEvent``; attrition is computed from those rows.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from peersupport.models import Organisation, validate_time_zone


class CurriculumKind(models.TextChoices):
    SELF_MANAGEMENT = "self_management", _("Self-management")
    ANTI_STIGMA = "anti_stigma", _("Anti-stigma")
    OTHER = "other", _("Other")


class Curriculum(models.Model):
    """One version of a manualised course. A new version is a new row with its own units.

    Rows sharing ``family`` are versions of one curriculum; a group points at the
    exact version it runs, so publishing a new version never changes a running group.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="curricula")
    family = models.UUIDField(default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(default=1)
    kind = models.CharField(_("kind"), max_length=20, choices=CurriculumKind.choices)
    title = models.CharField(_("title"), max_length=160)
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "title", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["family", "version"], name="curriculum_family_version_unique"),
            models.CheckConstraint(condition=Q(kind__in=CurriculumKind.values), name="curriculum_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class CurriculumUnit(models.Model):
    """One class of a curriculum, in order."""

    curriculum = models.ForeignKey(Curriculum, on_delete=models.CASCADE, related_name="units")
    position = models.PositiveIntegerField()
    title = models.CharField(_("title"), max_length=160)
    topics = models.TextField(_("topics"), blank=True)
    duration_minutes = models.PositiveIntegerField(_("planned duration (minutes)"), default=90)

    class Meta:
        ordering = ["curriculum", "position"]
        constraints = [
            models.UniqueConstraint(fields=["curriculum", "position"], name="curriculum_unit_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class GroupFormat(models.TextChoices):
    STRUCTURED = "structured", _("Structured (a course of classes)")
    UNSTRUCTURED = "unstructured", _("Unstructured (mutual support)")


class Facilitation(models.TextChoices):
    PEER_LED = "peer_led", _("Peer-led (1–3 peer facilitators)")
    PEER_TO_PEER = "peer_to_peer", _("Peer-to-peer (no facilitator)")


class Delivery(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    ONLINE = "online", _("Online")
    TELEPHONE = "telephone", _("Telephone")
    BLENDED = "blended", _("Blended")


class Audience(models.TextChoices):
    ADULT = "adult", _("Adults")
    YOUTH = "youth", _("Young people (14–24)")
    ALL = "all", _("Everyone")


class GroupStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    RECRUITING = "recruiting", _("Recruiting")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


YOUTH_MIN_AGE = 14
YOUTH_MAX_AGE = 24
MAX_FACILITATORS = 3


def new_enrolment_code() -> str:
    # 8 characters without look-alikes (0/O, 1/I/L), easy to read out in a session.
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))


def normalise_code(code: str) -> str:
    """An enrolment code as typed (any case, with spaces or dashes) in the form it is stored."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


class SupportGroup(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="support_groups")
    name = models.CharField(_("name"), max_length=160)
    description = models.TextField(_("description"), blank=True)
    curriculum = models.ForeignKey(
        Curriculum, on_delete=models.PROTECT, null=True, blank=True, related_name="groups", verbose_name=_("curriculum")
    )
    format = models.CharField(_("format"), max_length=20, choices=GroupFormat.choices)
    facilitation = models.CharField(_("facilitation"), max_length=20, choices=Facilitation.choices)
    delivery = models.CharField(_("delivery"), max_length=20, choices=Delivery.choices)
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices, default=Audience.ADULT)
    capacity = models.PositiveIntegerField(_("places"))
    time_zone = models.CharField(_("time zone"), max_length=64, validators=[validate_time_zone])
    location = models.CharField(_("where (in person)"), max_length=255, blank=True)
    online_url = models.URLField(_("online meeting link"), blank=True)
    phone_details = models.CharField(_("how to dial in (telephone)"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=GroupStatus.choices, default=GroupStatus.DRAFT)
    open_to_requests = models.BooleanField(
        _("members may ask to join"),
        default=False,
        help_text=_("Shown to the organisation's members while recruiting."),
    )
    listed_publicly = models.BooleanField(
        _("list on the public page"),
        default=False,
        help_text=_(
            "Shown on the organisation's public page while recruiting or running: name, kind, delivery, day and "
            "time, audience and places. Never who is in it or who runs it."
        ),
    )
    enrolment_code = models.CharField(_("enrolment code"), max_length=12, unique=True, default=new_enrolment_code)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    facilitators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="GroupFacilitator", related_name="facilitated_groups"
    )

    class Meta:
        ordering = ["organisation", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(format=GroupFormat.UNSTRUCTURED) | Q(curriculum__isnull=False),
                name="structured_group_has_curriculum",
            ),
            models.CheckConstraint(
                condition=~Q(format=GroupFormat.STRUCTURED, facilitation=Facilitation.PEER_TO_PEER),
                name="structured_group_is_facilitated",
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="group_capacity_positive"),
            models.CheckConstraint(condition=Q(status__in=GroupStatus.values), name="group_status_valid"),
            models.CheckConstraint(condition=Q(format__in=GroupFormat.values), name="group_format_valid"),
            models.CheckConstraint(condition=Q(facilitation__in=Facilitation.values), name="group_facilitation_valid"),
            models.CheckConstraint(condition=Q(delivery__in=Delivery.values), name="group_delivery_valid"),
            models.CheckConstraint(condition=Q(audience__in=Audience.values), name="group_audience_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The rules a single row can check; facilitator counts are checked by ``groups.services``."""
        super().clean()
        errors: dict[str, list] = {}
        if self.format == GroupFormat.STRUCTURED and self.curriculum_id is None:
            errors.setdefault("curriculum", []).append(_("A structured group follows a curriculum: choose one."))
        if self.format == GroupFormat.UNSTRUCTURED and self.curriculum_id is not None:
            errors.setdefault("curriculum", []).append(
                _("Only structured groups follow a curriculum: leave it empty for a mutual-support group.")
            )
        if (
            self.curriculum_id is not None
            and self.organisation_id is not None
            and self.curriculum.organisation_id != self.organisation_id
        ):
            errors.setdefault("curriculum", []).append(_("Choose a curriculum of this organisation."))
        if self.format == GroupFormat.STRUCTURED and self.facilitation == Facilitation.PEER_TO_PEER:
            errors.setdefault("facilitation", []).append(
                _("A structured course needs peer facilitators: choose peer-led, or make the group unstructured.")
            )
        if errors:
            raise ValidationError(errors)


class GroupFacilitator(models.Model):
    """A facilitator of a group: 1 to 3 for a peer-led group, none for peer-to-peer (checked by the service)."""

    group = models.ForeignKey(SupportGroup, on_delete=models.CASCADE, related_name="facilitations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="facilitations")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="group_facilitator_unique")]

    def __str__(self) -> str:
        return f"{self.user} facilitates {self.group}"


class MembershipStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    REQUESTED = "requested", _("Asked to join")
    WAITLISTED = "waitlisted", _("On the waiting list")
    ACTIVE = "active", _("Active")
    WITHDRAWN = "withdrawn", _("Left")
    COMPLETED = "completed", _("Completed")


class WithdrawalReason(models.TextChoices):
    NOT_HELPFUL = "not_helpful", _("The group was not helpful for me")
    TIME_OR_PLACE = "time_or_place", _("The time or place did not suit me")
    HEALTH = "health", _("My health got in the way")
    FEELING_BETTER = "feeling_better", _("I am feeling better and do not need it now")
    OTHER_SUPPORT = "other_support", _("I am getting other support")
    PRACTICAL = "practical", _("Practical reasons (work, care, travel, cost)")
    OTHER = "other", _("Another reason")
    NOT_SAID = "not_said", _("I would rather not say")


class Membership(models.Model):
    """A person's place in a group. One row per person and group; its history is in ``events``."""

    group = models.ForeignKey(SupportGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    status = models.CharField(max_length=20, choices=MembershipStatus.choices)
    joined_at = models.DateTimeField(null=True, blank=True, help_text=_("When the member first became active."))
    left_at = models.DateTimeField(null=True, blank=True)
    waitlisted_at = models.DateTimeField(null=True, blank=True, help_text=_("Order on the waiting list."))
    withdrawal_reason = models.CharField(max_length=20, choices=WithdrawalReason.choices, blank=True)
    withdrawal_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="membership_unique_per_group"),
            models.CheckConstraint(condition=Q(status__in=MembershipStatus.values), name="membership_status_valid"),
        ]
        indexes = [models.Index(fields=["group", "status", "waitlisted_at"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.group} ({self.get_status_display()})"


class MembershipEvent(models.Model):
    """One status change of a membership. Append-only: attrition and flow are computed from these."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, choices=MembershipStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=MembershipStatus.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    via = models.CharField(max_length=30, blank=True, help_text=_("How: code, invitation, request, promotion, …"))
    reason = models.CharField(max_length=20, choices=WithdrawalReason.choices, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["membership", "at"])]

    def __str__(self) -> str:
        return f"{self.membership_id}: {self.from_status or '∅'} → {self.to_status}"

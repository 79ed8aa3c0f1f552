"""People, organisations, roles, consent, invitations and the audit trail (its models in ``audit``, re-exported)."""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from peersupport.models.audit import AuditActionField as AuditActionField
from peersupport.models.audit import AuditEvent as AuditEvent
from peersupport.models.audit import AuditQuerySet as AuditQuerySet


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a known time zone, such as Europe/London."), params={"value": value}
        )


#: The areas of the IANA database's place names: zones such as "Factory", "localtime", "Etc/GMT+5" or the old
#: aliases ("US/Eastern") are never offered (they stay valid for rows that hold them).
ZONE_AREAS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
#: Offered near the top of every time-zone list, after the organisation's own.
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Istanbul",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Hong_Kong",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/St_Johns",
    "America/Halifax",
    "America/Toronto",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Vancouver",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
)


def offered_time_zones() -> list[str]:
    """Every place-named zone, A to Z (about 400), and UTC."""
    names = {name for name in zoneinfo.available_timezones() if name.split("/", 1)[0] in ZONE_AREAS and "/" in name}
    return ["UTC", *sorted(names)]


def _zone_label(name: str) -> str:
    return name.replace("_", " ")


def time_zone_choices(first=()) -> list:
    """Grouped choices for a time-zone picker: ``first`` (the organisation's zone, the current value), the
    common zones, then every other place A to Z. A zone in ``first`` that is not a place name (an old value
    such as "US/Eastern") is still offered, so a saved form keeps it."""
    first = [zone for zone in dict.fromkeys(first) if zone]
    common = [zone for zone in COMMON_ZONES if zone not in first]
    rest = [zone for zone in offered_time_zones() if zone not in first and zone not in COMMON_ZONES]
    groups = []
    if first:
        groups.append((_("Suggested"), [(zone, _zone_label(zone)) for zone in first]))
    groups.append((_("Common time zones"), [(zone, _zone_label(zone)) for zone in common]))
    groups.append((_("All time zones, A to Z"), [(zone, _zone_label(zone)) for zone in rest]))
    return groups


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. The e-mail address is the login."""

    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    year_of_birth = models.PositiveSmallIntegerField(
        _("year of birth"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1900), MaxValueValidator(2100)],
        help_text=_("Optional. Used only to check the age range of youth groups."),
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_time_zone])
    safeguarding_contact = models.CharField(
        _("how staff may reach you if an answer worries them"),
        max_length=200,
        blank=True,
        help_text=_(
            "Optional: a phone number, or another way. Only your group's facilitators and the service's leads see "
            "it, and only on a risk alert about you."
        ),
    )
    name_on_public_pages = models.BooleanField(
        _("show my name on public pages"),
        default=False,
        help_text=_(
            "For facilitators: your display name is shown beside the groups you run on your organisation's public "
            "page. Off unless you turn it on. Members are never named there."
        ),
    )
    is_staff = models.BooleanField(_("staff"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # Data subject rights (peersupport.datarights): when the account was erased (it then names no one), and when
    # the retention job last warned of erasure for inactivity (signing in after it cancels the warning).
    erased_at = models.DateTimeField(null=True, blank=True)
    inactivity_warned_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        if self.erased_at is not None:
            return str(_("Erased account"))
        return self.display_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = type(self).objects.normalize_email(self.email)

    @property
    def name(self) -> str:
        if self.erased_at is not None:
            return str(_("Erased account"))
        return self.display_name or self.email.split("@")[0]


class ErasureRule(models.TextChoices):
    """What an approved erasure keeps of a member's records in an organisation (``peersupport.datarights``)."""

    KEEP_RECORDS = "keep_records", _("Keep attendance and membership history without the name")
    REMOVE_ALL = "remove_all", _("Remove everything, and recompute every figure without the member")


class Organisation(models.Model):
    """A service that runs peer support groups. No data crosses organisations."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("short name in addresses"), max_length=60, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_time_zone])
    crisis_support_text = models.TextField(
        _("crisis-support text"),
        help_text=_("Shown to members wherever they may need urgent help: who to call, and when."),
    )
    alert_escalation_hours = models.PositiveSmallIntegerField(
        _("escalate a risk alert after (hours)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(168)],
        help_text=_(
            "A risk alert nobody has acknowledged by then is e-mailed to every lead; after twice as long, "
            "to the out-of-hours contact too."
        ),
    )
    public_page = models.BooleanField(
        _("public page"),
        default=False,
        help_text=_(
            "Show a page anyone can open (at /p/<short name>/) with what the service is, its crisis-support text "
            "and the groups you choose to list. It never names members or facilitators."
        ),
    )
    public_description = models.TextField(
        _("what the service is"),
        blank=True,
        help_text=_("The first thing a visitor of the public page reads: who the groups are for, what happens."),
    )
    out_of_hours_contact_name = models.CharField(_("out-of-hours contact"), max_length=120, blank=True)
    out_of_hours_contact_email = models.EmailField(
        _("out-of-hours contact's e-mail"),
        blank=True,
        help_text=_("Who is told of a risk alert still unacknowledged after twice the escalation time."),
    )
    member_contact_instructions = models.TextField(
        _("how staff reach a member after a risk alert"),
        blank=True,
        help_text=_(
            "Shown on a risk alert when the member has shared no way to reach them: e.g. where the service keeps "
            "members' phone numbers, or who to call."
        ),
    )
    erasure_rule = models.CharField(
        _("what an erasure keeps"),
        max_length=20,
        choices=ErasureRule.choices,
        default=ErasureRule.KEEP_RECORDS,
        help_text=_(
            "Answers, scores, alerts and everything that names the member always go. Keeping their attendance and "
            "membership history (with nothing that names them) keeps the attendance and participant-flow figures "
            "you already published as they were; removing it recomputes them without the member."
        ),
    )
    inactive_erasure_months = models.PositiveSmallIntegerField(
        _("erase members' accounts inactive for (months)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_(
            "Empty: never. A member who has not signed in for this long is e-mailed a warning, then erased as "
            "above if they still do not sign in. Facilitators' and leads' accounts are never erased this way."
        ),
    )
    inactive_erasure_warning_days = models.PositiveSmallIntegerField(
        _("warn them this many days before"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    require_second_factor_for_members = models.BooleanField(
        _("members need a second factor too"),
        default=False,
        help_text=_(
            "Facilitators and leads always need an authenticator app to open answers, alerts and figures. "
            "Tick this to ask members for one too before their own answers and scores."
        ),
    )
    suppression_threshold = models.PositiveSmallIntegerField(
        _("smallest number of people a published figure may describe (k)"),
        default=5,
        validators=[
            MinValueValidator(
                3, message=_("The threshold cannot be below 3: a figure about 1 or 2 people names them.")
            ),
            MaxValueValidator(100),
        ],
        help_text=_(
            "The evaluation page, the reports and every export hide a figure about fewer people than this, and "
            "whatever would let someone work one out. 5 by default; never below 3. Changing it recomputes the "
            "figures."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(alert_escalation_hours__gte=1, alert_escalation_hours__lte=168),
                name="organisation_escalation_hours_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(suppression_threshold__gte=3), name="organisation_suppression_threshold_floor"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RoleKind(models.TextChoices):
    MEMBER = "member", _("Member")
    FACILITATOR = "facilitator", _("Facilitator")
    LEAD = "lead", _("Service lead")


class Role(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="roles")
    kind = models.CharField(max_length=16, choices=RoleKind.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation", "kind"], name="role_unique_per_triple"),
            models.CheckConstraint(condition=models.Q(kind__in=RoleKind.values), name="role_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_kind_display()} at {self.organisation}"


class Invitation(models.Model):
    """A lead's invitation to join an organisation with a role.

    The link carries a signed token of the id; the row carries expiry and use,
    so a link works once and not after it expires.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    kind = models.CharField(_("role"), max_length=16, choices=RoleKind.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} as {self.get_kind_display()} at {self.organisation}"

    @property
    def is_used(self) -> bool:
        return self.used_at is not None

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at


class ConsentVersion(models.Model):
    """A version of an organisation's consent text. Never edited once members have accepted it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="consent_versions")
    version = models.PositiveIntegerField()
    effective_date = models.DateField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "-version"]
        constraints = [models.UniqueConstraint(fields=["organisation", "version"], name="consent_version_unique")]

    def __str__(self) -> str:
        return f"{self.organisation} consent v{self.version}"


class ConsentDecision(models.Model):
    """One act of giving or withdrawing consent. The history is kept, never overwritten."""

    class Action(models.TextChoices):
        GIVEN = "given", _("Given")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Source(models.TextChoices):
        ONLINE = "online", _("Online, by the person")
        PAPER = "paper", _("On paper, entered by staff")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_decisions")
    consent_version = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, related_name="decisions")
    action = models.CharField(max_length=10, choices=Action.choices)
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ONLINE)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("For a paper consent: who entered it (empty from the command line)."),
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"])]

    def __str__(self) -> str:
        return f"{self.user} {self.get_action_display().lower()} {self.consent_version}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be delivered")
    DELIVERED = "delivered", _("Delivered")


class OutboxMessage(models.Model):
    """A message whose loss would hurt someone (a risk alert's e-mail, an invitation, a reminder), recorded in the
    same transaction as the change that causes it and delivered after commit (``peersupport.outbox``).

    A row that could not be delivered (broker or mail server down) stays pending and is tried again with back-off
    by the periodic ``deliver_outbox`` job, so a message is delayed by an outage, never lost. ``dedupe_key`` makes a
    message unique (one e-mail per recipient per alert, however often the cause is retried).
    """

    kind = models.CharField(max_length=40, help_text=_("The handler that delivers it (peersupport.outbox)."))
    payload = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    subject_type = models.CharField(
        max_length=60, blank=True, help_text=_("What the message is about, e.g. risk_alert.")
    )
    subject_id = models.CharField(max_length=60, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=OutboxStatus.values), name="outbox_status_valid"),
            models.CheckConstraint(
                condition=models.Q(status=OutboxStatus.PENDING) | models.Q(delivered_at__isnull=False),
                name="outbox_delivered_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["subject_type", "subject_id"], name="outbox_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient or '—'} ({self.get_status_display()})"


class CacheFallbackEntry(models.Model):
    """The table the default cache uses while Redis is unreachable (``peersupport.cache``).

    The layout of Django's ``DatabaseCache`` table, created by a migration rather than ``createcachetable``.
    """

    cache_key = models.CharField(max_length=255, primary_key=True)
    value = models.TextField()
    expires = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "peersupport_cache_fallback"

    def __str__(self) -> str:
        return self.cache_key


class ErasureStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a lead")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class ErasureRequest(models.Model):
    """A member's request to have their data erased, reviewed by a lead of one of their organisations.

    One row per organisation the member belongs to, made together (one ``batch``): the erasure is carried out when
    every row of the batch is approved (``peersupport.datarights``). The rows stay after the erasure, attached to the
    erased account, which then names no one: the record that an erasure was asked for and by whom it was decided.
    """

    batch = models.UUIDField(default=uuid.uuid4, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="erasure_requests")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="erasure_requests")
    reason = models.TextField(_("anything you want the lead to know (optional)"), blank=True, max_length=1000)
    status = models.CharField(max_length=10, choices=ErasureStatus.choices, default=ErasureStatus.PENDING)
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, max_length=1000)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=ErasureStatus.values), name="erasure_status_valid"),
            models.UniqueConstraint(
                fields=["user", "organisation"],
                condition=models.Q(status="pending"),
                name="erasure_one_pending_per_organisation",
            ),
        ]

    def __str__(self) -> str:
        return f"Erasure request {self.pk} ({self.get_status_display()}) at {self.organisation}"

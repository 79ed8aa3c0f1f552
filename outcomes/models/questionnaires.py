"""Measurement plans, assessments, responses, licensed item text and risk alerts.

Instrument definitions are data files (``outcomes/instruments/*.json``), not rows:
a response stores the instrument code and version it was answered on and the
scoring version that produced its scores, so a newer definition never changes a
stored score.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from groups.models import Curriculum, Membership, SupportGroup
from peersupport.models import Organisation


class InstrumentText(models.Model):
    """Item wording an organisation supplies for a licensed instrument (it holds the licence, we do not)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="instrument_texts")
    instrument_code = models.CharField(max_length=40)
    instrument_version = models.PositiveIntegerField()
    language = models.CharField(max_length=10, default="en")
    instructions = models.TextField(blank=True)
    items = models.JSONField(help_text=_("Item key → wording."))
    option_labels = models.JSONField(
        default=dict, blank=True, help_text=_("Option set name → {value: label}, for options without a built-in label.")
    )
    licence_declaration = models.TextField(
        help_text=_("Who holds the licence, its reference, and that the wording is unaltered.")
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    uploaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "instrument_code", "instrument_version", "language"],
                name="instrument_text_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument_code}@{self.instrument_version} text for {self.organisation}"


class TimePoint(models.TextChoices):
    BASELINE = "baseline", _("Baseline")
    MID = "mid", _("Mid-group")
    POST = "post", _("End of group")
    FOLLOW_UP_3 = "follow_up_3", _("3-month follow-up")
    FOLLOW_UP_6 = "follow_up_6", _("6-month follow-up")
    FOLLOW_UP_12 = "follow_up_12", _("12-month follow-up")


class Anchor(models.TextChoices):
    FIRST_SESSION = "first_session", _("The group's first session")
    LAST_SESSION = "last_session", _("The group's last session")
    JOINED = "joined", _("The day the member joined")


class MeasurementPlan(models.Model):
    """Which instruments are due when, for a curriculum (all its groups) or one group."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="measurement_plans")
    curriculum = models.ForeignKey(
        Curriculum, on_delete=models.CASCADE, null=True, blank=True, related_name="measurement_plans"
    )
    group = models.ForeignKey(
        SupportGroup, on_delete=models.CASCADE, null=True, blank=True, related_name="measurement_plans"
    )
    name = models.CharField(max_length=160)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(curriculum__isnull=True, group__isnull=False)
                | Q(curriculum__isnull=False, group__isnull=True),
                name="plan_for_curriculum_or_group",
            ),
            models.UniqueConstraint(fields=["group"], condition=Q(group__isnull=False), name="one_plan_per_group"),
            models.UniqueConstraint(
                fields=["curriculum"], condition=Q(curriculum__isnull=False), name="one_plan_per_curriculum"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlanTimePoint(models.Model):
    """One time point of a plan and its window, in days relative to the anchor date."""

    plan = models.ForeignKey(MeasurementPlan, on_delete=models.CASCADE, related_name="time_points")
    time_point = models.CharField(max_length=20, choices=TimePoint.choices)
    anchor = models.CharField(max_length=20, choices=Anchor.choices)
    opens_days = models.IntegerField(help_text=_("Days after the anchor the window opens (negative: before)."))
    closes_days = models.IntegerField(help_text=_("Days after the anchor the window closes."))

    class Meta:
        ordering = ["plan", "opens_days"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "time_point"], name="plan_time_point_unique"),
            models.CheckConstraint(condition=Q(closes_days__gt=F("opens_days")), name="plan_window_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.get_time_point_display()}"


class PlanInstrument(models.Model):
    time_point = models.ForeignKey(PlanTimePoint, on_delete=models.CASCADE, related_name="instruments")
    instrument_code = models.CharField(max_length=40)
    instrument_version = models.PositiveIntegerField()
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["time_point", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["time_point", "instrument_code"], name="plan_instrument_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_code}@{self.instrument_version}"


class PrimaryOutcome(models.Model):
    """A plan's primary outcome as a lead named it: the change from baseline to ``time_point`` on one instrument
    scale. One row per naming, never updated: the latest is in force and the earlier ones show that it changed.
    ``after_follow_up_opened``: a follow-up of the plan had already opened when it was named (the data had begun
    to come in), shown on the plan page and in the report."""

    plan = models.ForeignKey(MeasurementPlan, on_delete=models.CASCADE, related_name="primary_outcomes")
    instrument_code = models.CharField(max_length=40)
    instrument_version = models.PositiveIntegerField()
    scale = models.CharField(max_length=40, default="total")
    time_point = models.CharField(max_length=20, choices=TimePoint.choices)
    named_at = models.DateTimeField()
    named_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    reason = models.TextField(blank=True)
    after_follow_up_opened = models.BooleanField(default=False)

    class Meta:
        ordering = ["plan", "named_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(time_point="baseline"), name="primary_outcome_after_baseline"),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.instrument_code}/{self.scale} at {self.time_point}"


class AssessmentStatus(models.TextChoices):
    UPCOMING = "upcoming", _("Upcoming")
    OPEN = "open", _("Open")
    COMPLETED = "completed", _("Completed")
    EXPIRED = "expired", _("Expired")


class Assessment(models.Model):
    """One member's questionnaires at one time point: the unit of measurement (membership × time point).

    ``instruments`` is copied from the plan when the assessment opens and frozen
    then, so changing a plan affects only assessments not yet opened.
    """

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="assessments")
    time_point = models.CharField(max_length=20, choices=TimePoint.choices)
    plan_time_point = models.ForeignKey(
        PlanTimePoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="assessments"
    )
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=AssessmentStatus.choices, default=AssessmentStatus.UPCOMING)
    instruments = models.JSONField(default=list, blank=True, help_text=_('[["phq9", 1], …], frozen on opening.'))
    invited_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "time_point"], name="assessment_unique_per_time_point"),
            models.CheckConstraint(condition=Q(status__in=AssessmentStatus.values), name="assessment_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "opens_at"]), models.Index(fields=["status", "closes_at"])]

    def __str__(self) -> str:
        return f"{self.membership} — {self.get_time_point_display()}"


class ResponseSource(models.TextChoices):
    ONLINE = "online", _("Answered online")
    IMPORT = "import", _("Imported (paper or another system)")


class Response(models.Model):
    """Answers to one instrument in one assessment. One per assessment and instrument (database constraint).

    A row with ``submitted_at`` unset is a draft saved as the member answers.
    """

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="responses")
    instrument_code = models.CharField(max_length=40)
    instrument_version = models.PositiveIntegerField()
    answers = models.JSONField(default=dict, blank=True, help_text=_("Item key → numeric value."))
    scores = models.JSONField(default=dict, blank=True)
    total = models.FloatField(null=True, blank=True, help_text=_("The primary score; empty when not scorable."))
    scoring_version = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=ResponseSource.choices, default=ResponseSource.ONLINE)
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assessment", "instrument_code"], name="response_unique_per_instrument"),
        ]
        indexes = [models.Index(fields=["instrument_code", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.instrument_code}@{self.instrument_version} for {self.assessment}"


class RiskAlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")


class RiskAlert(models.Model):
    """A risk rule that fired on a response (e.g. PHQ-9 item 9 above 0). Created once per response and rule."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="risk_alerts")
    rule = models.CharField(max_length=60)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="risk_alerts")
    group = models.ForeignKey(SupportGroup, on_delete=models.CASCADE, related_name="risk_alerts")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=14, choices=RiskAlertStatus.choices, default=RiskAlertStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True)
    escalation_level = models.PositiveSmallIntegerField(
        default=0,
        help_text="0: not escalated; 1: e-mailed to every lead; 2: to the out-of-hours contact too.",
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    historical = models.BooleanField(
        default=False,
        help_text="Raised by an import of past answers: recorded for review, never e-mailed or escalated.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["response", "rule"], name="risk_alert_once_per_rule"),
            models.CheckConstraint(condition=models.Q(escalation_level__lte=2), name="risk_alert_escalation_level"),
        ]
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self) -> str:
        return f"{self.rule} on {self.response}"

"""Measurement plans, assessments, responses, licensed item text and risk alerts.

Instrument definitions are data files (``outcomes/instruments/*.json``), not rows:
a response stores the instrument code and version it was answered on and the
scoring version that produced its scores, so a newer definition never changes a
stored score.
"""

from __future__ import annotations

import numpy as np
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

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["response", "rule"], name="risk_alert_once_per_rule")]
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self) -> str:
        return f"{self.rule} on {self.response}"


# --- Evaluation aggregates: written only by outcomes.aggregation ---------------------------------


class CohortDimension(models.TextChoices):
    ORGANISATION = "organisation", _("Whole organisation")
    CURRICULUM = "curriculum", _("Curriculum (programme)")
    GROUP = "group", _("Group")
    FORMAT = "format", _("Group format")
    CURRICULUM_KIND = "curriculum_kind", _("Curriculum kind")
    DELIVERY = "delivery", _("Delivery mode")
    AUDIENCE = "audience", _("Audience")
    PERIOD = "period", _("Start date")


class CohortState(models.Model):
    """A cohort whose figures are computed together, with its freshness.

    ``marked_at`` moves forward whenever a response in the cohort is submitted or
    imported (in the same transaction); a recompute clears ``stale`` only if no
    mark arrived after it started, so a burst during a recompute is never lost.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="cohorts")
    dimension = models.CharField(max_length=20, choices=CohortDimension.choices)
    value = models.CharField(max_length=60, blank=True)
    label = models.CharField(max_length=200, blank=True)
    stale = models.BooleanField(default=True)
    marked_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation", "dimension", "value"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "dimension", "value"], name="cohort_unique"),
        ]
        indexes = [models.Index(fields=["stale", "marked_at"])]

    def __str__(self) -> str:
        return f"{self.organisation} {self.dimension}={self.value or '*'}"


class GroupComparisonSet(models.Model):
    """Each group's change against the other groups' (``ComparisonSummary.Kind.GROUP``) for one scale and pair
    of time points of a cohort: one row holding a comparison per group, as arrays.

    At 5,000 groups that is 21,000 comparisons, rewritten after every submit (every group's "other groups"
    changes); as rows, deleting, writing and checking them took half of that recompute. ``comparisons()``
    gives them back as (unsaved) ``ComparisonSummary`` objects, which is how pages and exports read them.
    """

    cohort = models.ForeignKey(
        CohortState, on_delete=models.CASCADE, related_name="group_comparison_sets", db_index=False
    )  # the unique constraint's index leads with it
    instrument_code = models.CharField(max_length=40)
    scale = models.CharField(max_length=40)
    from_time_point = models.CharField(max_length=20, choices=TimePoint.choices)
    to_time_point = models.CharField(max_length=20, choices=TimePoint.choices)
    group_ids = models.BinaryField(help_text=_("int64, little-endian: group a of each comparison"))
    labels = models.JSONField(default=list, help_text=_("each group's name when computed"))
    counts = models.BinaryField(help_text=_("int64, little-endian: every n_a, then every n_b"))
    figures = models.BinaryField(
        help_text=_("float64, little-endian: every group's mean_a, then every mean_b, sd_a, sd_b, g, g_ci_low, "
                    "g_ci_high, t and p; NaN where undefined")
    )  # fmt: skip

    FIGURES = ("mean_a", "mean_b", "sd_a", "sd_b", "g", "g_ci_low", "g_ci_high", "t", "p")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "instrument_code", "scale", "from_time_point", "to_time_point"],
                name="group_comparison_set_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.cohort} {self.instrument_code}/{self.scale} {self.from_time_point}→{self.to_time_point}"

    def comparisons(self) -> list[ComparisonSummary]:
        """The comparisons, one per group, as unsaved ``ComparisonSummary`` objects (figures None where undefined)."""
        group_ids = np.frombuffer(bytes(self.group_ids), dtype="<i8").tolist()
        size = len(group_ids)
        counts = np.frombuffer(bytes(self.counts), dtype="<i8").reshape(2, size).tolist()
        figures = np.frombuffer(bytes(self.figures), dtype="<f8").reshape(len(self.FIGURES), size)
        columns = []
        for row in figures:
            plain = row.astype(object)
            plain[np.isnan(row)] = None
            columns.append(plain.tolist())
        return [
            ComparisonSummary(
                cohort_id=self.cohort_id,
                kind=ComparisonSummary.Kind.GROUP,
                instrument_code=self.instrument_code,
                scale=self.scale,
                from_time_point=self.from_time_point,
                to_time_point=self.to_time_point,
                a_dimension=CohortDimension.GROUP,
                a_value=str(group_id),
                a_label=label,
                b_label="Other groups",
                n_a=n_a,
                n_b=n_b,
                **dict(zip(self.FIGURES, values, strict=True)),
            )
            for group_id, label, n_a, n_b, *values in zip(
                group_ids, self.labels, counts[0], counts[1], *columns, strict=True
            )
        ]


class GroupData(models.Model):
    """What a group's figures are computed from, saved from the last read, so that the organisation's large
    cohorts can be recomputed from these few thousand rows instead of every response (``outcomes.group_data``).

    A cache with a generation check. A group's generation is ``generation`` plus its ``GroupDataChange`` rows;
    a payload read when it was ``data_generation`` is used only while the two are equal.
    """

    # No database constraints: rows are bumped by receivers of the deletes that cascade from a group (its
    # sessions, memberships…), which could re-create a row after the cascade removed it. A group's row is deleted
    # after the group (``outcomes.signals``), and reads only look at the rows of groups that exist.
    group = models.OneToOneField(
        SupportGroup, on_delete=models.DO_NOTHING, db_constraint=False, primary_key=True, related_name="+"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    generation = models.BigIntegerField(default=0)
    data_generation = models.BigIntegerField(null=True, blank=True)
    payload = models.BinaryField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"data of group {self.group_id} (read at generation {self.data_generation})"


class GroupDataChange(models.Model):
    """One change to what a group's figures are read from, appended in the changing transaction (a response,
    an assessment, a membership or its events, attendance, a session: receivers in ``outcomes.signals``).

    Rows are only ever inserted (and later folded into ``GroupData.generation`` by a recompute), so two
    transactions never wait for each other here: a counter row updated by each change would make an import
    that touches many groups and a submit in one of them wait for each other's locks, in opposite orders.
    """

    group = models.ForeignKey(SupportGroup, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    def __str__(self) -> str:
        return f"change to the data of group {self.group_id}"


class OutcomeSummary(models.Model):
    """Descriptives of one scale at one time point in one cohort (all available data)."""

    cohort = models.ForeignKey(
        CohortState, on_delete=models.CASCADE, related_name="outcome_summaries", db_index=False
    )  # the unique constraint's index leads with it
    instrument_code = models.CharField(max_length=40)
    scale = models.CharField(max_length=40, help_text=_('"total" or a subscale name'))
    time_point = models.CharField(max_length=20, choices=TimePoint.choices)
    n = models.PositiveIntegerField()
    mean = models.FloatField(null=True)
    sd = models.FloatField(null=True)
    median = models.FloatField(null=True)
    q1 = models.FloatField(null=True)
    q3 = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "instrument_code", "scale", "time_point"], name="outcome_summary_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.cohort} {self.instrument_code}/{self.scale} {self.time_point}: n={self.n}"


class ChangeSummary(models.Model):
    """Paired change between two time points over members with both (completers)."""

    cohort = models.ForeignKey(
        CohortState, on_delete=models.CASCADE, related_name="change_summaries", db_index=False
    )  # the unique constraint's index leads with it
    instrument_code = models.CharField(max_length=40)
    scale = models.CharField(max_length=40)
    from_time_point = models.CharField(max_length=20, choices=TimePoint.choices)
    to_time_point = models.CharField(max_length=20, choices=TimePoint.choices)
    higher_is_better = models.BooleanField()
    n_pairs = models.PositiveIntegerField()
    mean_change = models.FloatField(null=True)
    sd_change = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    t = models.FloatField(null=True)
    p = models.FloatField(null=True)
    p_wilcoxon = models.FloatField(null=True)
    wilcoxon_method = models.CharField(max_length=20, blank=True)
    d_z = models.FloatField(null=True)
    d_av = models.FloatField(null=True)
    g_av = models.FloatField(null=True)
    g_av_ci_low = models.FloatField(null=True)
    g_av_ci_high = models.FloatField(null=True)
    r_pre_post = models.FloatField(null=True)
    improved = models.PositiveIntegerField(null=True, help_text=_("Reliably improved (recovered included)."))
    unchanged = models.PositiveIntegerField(null=True)
    deteriorated = models.PositiveIntegerField(null=True)
    recovered = models.PositiveIntegerField(null=True, help_text=_("Of the improved, those who crossed the cut-off c."))
    rci_parameters = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "instrument_code", "scale", "from_time_point", "to_time_point"],
                name="change_summary_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.cohort} {self.instrument_code}/{self.scale} {self.from_time_point}→{self.to_time_point}"


class FlowSummary(models.Model):
    """Participant flow and attendance dose of a cohort (CONSORT-style)."""

    cohort = models.OneToOneField(CohortState, on_delete=models.CASCADE, related_name="flow")
    enrolled = models.PositiveIntegerField()
    started = models.PositiveIntegerField(help_text=_("Attended at least one session."))
    completed_group = models.PositiveIntegerField()
    withdrawn = models.PositiveIntegerField()
    withdrawal_reasons = models.JSONField(default=dict)
    assessments_done = models.JSONField(default=dict, help_text=_("Time point → members with it completed."))
    dose_n = models.PositiveIntegerField(default=0)
    dose_median = models.FloatField(null=True)
    dose_q1 = models.FloatField(null=True)
    dose_q3 = models.FloatField(null=True)
    dose_share_half = models.FloatField(null=True, help_text=_("Share attending at least half the sessions offered."))

    def __str__(self) -> str:
        return f"Flow of {self.cohort}"


# --- Exports -------------------------------------------------------------------------------------


def new_pseudonym_key() -> str:
    import secrets

    return secrets.token_hex(32)


class OrganisationSecret(models.Model):
    """An organisation's key for pseudonymous participant ids in exports. Never shown, never exported.

    Created on the first export (``outcomes.exports.pseudonyms.secret_for``). The same
    key gives the same id to the same person in every export of this organisation;
    ids from two organisations cannot be linked. Replacing the key breaks linkage with
    every earlier export.
    """

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="export_secret")
    pseudonym_key = models.CharField(max_length=64, default=new_pseudonym_key, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Export secret of {self.organisation}"

    def __repr__(self) -> str:
        return f"<OrganisationSecret organisation={self.organisation_id}>"


class ComparisonSummary(models.Model):
    """Change compared between two sets of members as Hedges' g (structured vs unstructured; a group vs the rest)."""

    class Kind(models.TextChoices):
        FORMAT = "format", _("Structured vs unstructured groups")
        GROUP = "group", _("One group vs the organisation's other groups")

    cohort = models.ForeignKey(CohortState, on_delete=models.CASCADE, related_name="comparisons")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    instrument_code = models.CharField(max_length=40)
    scale = models.CharField(max_length=40)
    from_time_point = models.CharField(max_length=20, choices=TimePoint.choices)
    to_time_point = models.CharField(max_length=20, choices=TimePoint.choices)
    a_dimension = models.CharField(max_length=20, choices=CohortDimension.choices)
    a_value = models.CharField(max_length=60)
    a_label = models.CharField(max_length=200)
    b_label = models.CharField(max_length=200)
    n_a = models.PositiveIntegerField()
    n_b = models.PositiveIntegerField()
    mean_a = models.FloatField(null=True)
    mean_b = models.FloatField(null=True)
    sd_a = models.FloatField(null=True)
    sd_b = models.FloatField(null=True)
    g = models.FloatField(null=True)
    g_ci_low = models.FloatField(null=True)
    g_ci_high = models.FloatField(null=True)
    t = models.FloatField(null=True)
    p = models.FloatField(null=True)

    class Meta:
        ordering = ["cohort", "kind", "instrument_code", "scale", "a_label"]

    def __str__(self) -> str:
        return f"{self.instrument_code}/{self.scale}: {self.a_label} vs {self.b_label}"

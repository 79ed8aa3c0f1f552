"""The evaluation's stored figures: cohorts, their summaries and each group's saved data."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from groups.models import SupportGroup
from peersupport.models import Organisation

from .questionnaires import TimePoint

# --- Evaluation aggregates: written only by outcomes.evaluation.recompute ------------------------


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

    adjusted = models.BinaryField(
        default=b"",
        help_text=_("float64, little-endian: every group's ANCOVA difference (follow-up on group and baseline), then "
                    "every ci_low and ci_high; NaN where undefined; empty when computed before there were any"),
    )  # fmt: skip
    clustering = models.JSONField(
        default=dict,
        help_text=_(
            "the groups' random-intercept model of follow-up on baseline: groups, icc, design_effect, converged"
        ),
    )

    FIGURES = ("mean_a", "mean_b", "sd_a", "sd_b", "g", "g_ci_low", "g_ci_high", "t", "p")
    ADJUSTED = ("ancova_difference", "ancova_ci_low", "ancova_ci_high")

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
        adjusted = np.frombuffer(bytes(self.adjusted), dtype="<f8")
        if adjusted.size != len(self.ADJUSTED) * size:  # computed before the adjusted figures existed
            adjusted = np.full(len(self.ADJUSTED) * size, np.nan)
        columns = []
        for row in [*figures, *adjusted.reshape(len(self.ADJUSTED), size)]:
            plain = row.astype(object)
            plain[np.isnan(row)] = None
            columns.append(plain.tolist())
        clustering = self.clustering or {}
        # One group on side a: never a conclusion, so no p-value (docs/statistics.md §9); the groups' ICC.
        design = {
            "groups_a": 1,
            "groups_b": max(size - 1, 0),
            "icc": clustering.get("icc"),
            "design_effect": clustering.get("design_effect"),
            "supports_conclusion": False,
            "conclusion_note": clustering.get("note", ""),
            "t": None,
            "p": None,
        }
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
                **dict(zip((*self.FIGURES, *self.ADJUSTED), values, strict=True)) | design,
            )
            for group_id, label, n_a, n_b, *values in zip(
                group_ids, self.labels, counts[0], counts[1], *columns, strict=True
            )
        ]


class GroupData(models.Model):
    """What a group's figures are computed from, saved from the last read, so that the organisation's large
    cohorts can be recomputed from these few thousand rows instead of every response
    (``outcomes.evaluation.group_data``).

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


class FigureProtection(models.Model):
    """What disclosure control hides of an organisation's stored figures, decided by the recompute that wrote
    them, in the same transaction (``outcomes.evaluation.protection``). Pages, exports and the JSON report only
    read it: a request never protects anything itself.

    ``hidden`` lists each hidden figure as ``[table, cohort id, *its row's key, column, reason]`` with reason
    ``"small"`` or ``"complementary"`` (``disclosure.hidden.Reason``), e.g.
    ``["outcome", 12, "phq9", "total", "post", "n", "small"]``.
    """

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="figure_protection")
    k = models.PositiveSmallIntegerField(help_text=_("The threshold the figures were protected with."))
    computed_at = models.DateTimeField(help_text=_("The same stamp as the cohorts' computed_at of that recompute."))
    hidden = models.JSONField(default=list)
    figures = models.PositiveIntegerField(default=0, help_text=_("Published figures considered."))
    unprotected = models.JSONField(
        default=list, help_text=_("Small figures no move could protect (hidden; the auditor flags them).")
    )
    seconds = models.FloatField(default=0.0, help_text=_("How long the protection took."))

    def __str__(self) -> str:
        return f"Protection of {self.organisation} (k = {self.k}, {len(self.hidden)} hidden)"


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
    g_av_ci_low = models.FloatField(null=True, help_text=_("Algina–Keselman noncentral-t interval of d_av (§3)."))
    g_av_ci_high = models.FloatField(null=True)
    d_z_ci_low = models.FloatField(null=True, help_text=_("Exact noncentral-t interval of d_z."))
    d_z_ci_high = models.FloatField(null=True)
    d_rm = models.FloatField(null=True)
    g_rm = models.FloatField(null=True)
    g_rm_ci_low = models.FloatField(null=True, help_text=_("g_rm ± 1.96·√V_g, Borenstein's pre–post variance."))
    g_rm_ci_high = models.FloatField(null=True)
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


class AttritionSummary(models.Model):
    """Who was lost at a time point and whether they started differently (docs/statistics.md §5, §11): one row
    per cohort (of more than one group), instrument total and time point after baseline.

    Counts of members with a valid score: ``with_baseline`` at baseline, ``with_score`` at the time point (the
    outcome table's n), ``n_completers`` at both (the change table's n_pairs); the non-completers are those
    with a baseline score and none at the time point. The multiple-imputation figures (``mi_*``) are filled
    only for a plan's primary outcome in the organisation's cohort.
    """

    cohort = models.ForeignKey(CohortState, on_delete=models.CASCADE, related_name="attrition", db_index=False)
    instrument_code = models.CharField(max_length=40)
    scale = models.CharField(max_length=40)
    time_point = models.CharField(max_length=20, choices=TimePoint.choices)
    enrolled = models.PositiveIntegerField()
    with_baseline = models.PositiveIntegerField()
    with_score = models.PositiveIntegerField()
    attrition_enrolled = models.FloatField(null=True, help_text=_("1 − with_score / enrolled"))
    attrition_baseline = models.FloatField(null=True, help_text=_("1 − with_score / with_baseline"))
    n_completers = models.PositiveIntegerField()
    mean_completers = models.FloatField(null=True)
    sd_completers = models.FloatField(null=True)
    n_non_completers = models.PositiveIntegerField()
    mean_non_completers = models.FloatField(null=True)
    sd_non_completers = models.FloatField(null=True)
    smd = models.FloatField(null=True, help_text=_("(completers − non-completers) / pooled SD, at baseline"))
    smd_ci_low = models.FloatField(null=True)
    smd_ci_high = models.FloatField(null=True)
    completers_mean_change = models.FloatField(null=True)
    mi_mean_change = models.FloatField(null=True, help_text=_("mean change under MAR: MICE, Rubin's rules"))
    mi_ci_low = models.FloatField(null=True)
    mi_ci_high = models.FloatField(null=True)
    mi_fraction_missing = models.FloatField(null=True)
    mi_n = models.PositiveIntegerField(null=True, help_text=_("members in the imputation model"))
    mi_imputations = models.PositiveIntegerField(null=True)
    mi_seed = models.BigIntegerField(null=True)

    FIGURES = (
        "enrolled", "with_baseline", "with_score", "attrition_enrolled", "attrition_baseline",
        "n_completers", "mean_completers", "sd_completers", "n_non_completers", "mean_non_completers",
        "sd_non_completers", "smd", "smd_ci_low", "smd_ci_high", "completers_mean_change", "mi_mean_change",
        "mi_ci_low", "mi_ci_high", "mi_fraction_missing", "mi_n", "mi_imputations", "mi_seed",
    )  # fmt: skip

    class Meta:
        ordering = ["cohort", "instrument_code", "scale", "time_point"]
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "instrument_code", "scale", "time_point"], name="attrition_summary_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.cohort} {self.instrument_code}/{self.scale} {self.time_point}: lost {self.attrition_baseline}"


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
    # Comparisons that respect the design (docs/statistics.md §9): follow-up adjusted for baseline, arm A − arm B.
    groups_a = models.PositiveIntegerField(null=True, help_text=_("groups with analysed members in side a"))
    groups_b = models.PositiveIntegerField(null=True, help_text=_("groups with analysed members in side b"))
    ancova_difference = models.FloatField(null=True)
    ancova_ci_low = models.FloatField(null=True)
    ancova_ci_high = models.FloatField(null=True)
    ancova_p = models.FloatField(null=True)
    mixed_difference = models.FloatField(null=True)
    mixed_ci_low = models.FloatField(null=True)
    mixed_ci_high = models.FloatField(null=True)
    mixed_p = models.FloatField(null=True)
    icc = models.FloatField(null=True)
    design_effect = models.FloatField(null=True)
    supports_conclusion = models.BooleanField(
        default=False, help_text=_("at least 5 groups on each side and the mixed model converged; else no p-value")
    )
    conclusion_note = models.TextField(blank=True, default="", help_text=_("why no conclusion is supported"))

    #: the design figures, in the order the exports and the JSON report list them
    DESIGN_FIGURES = (
        "groups_a", "groups_b", "ancova_difference", "ancova_ci_low", "ancova_ci_high", "ancova_p",
        "mixed_difference", "mixed_ci_low", "mixed_ci_high", "mixed_p", "icc", "design_effect",
        "supports_conclusion", "conclusion_note",
    )  # fmt: skip

    class Meta:
        ordering = ["cohort", "kind", "instrument_code", "scale", "a_label"]

    def __str__(self) -> str:
        return f"{self.instrument_code}/{self.scale}: {self.a_label} vs {self.b_label}"


class ReliableChangeBaseline(models.Model):
    """The reference SD (SD₁) of the Reliable Change Index for an instrument version and scale whose file
    publishes a reliability but no clinical SD: the organisation's baseline, frozen when the version is first
    used (docs/statistics.md §4), so a member's category is the same in every table. Written only by
    ``outcomes.evaluation.reliable_change``: frozen by a recompute, changed only by a lead (audited)."""

    class How(models.TextChoices):
        FROZEN = "frozen", _("Frozen from the organisation's baseline scores")
        SET_BY_LEAD = "set_by_lead", _("Set by a lead")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="reliable_change_baselines")
    instrument_code = models.CharField(max_length=40)
    instrument_version = models.PositiveIntegerField()
    scale = models.CharField(max_length=40, default="total")
    sd = models.FloatField(help_text=_("SD₁ used for the Reliable Change Index."))
    how = models.CharField(max_length=12, choices=How.choices, default=How.FROZEN)
    set_at = models.DateTimeField(help_text=_("When SD₁ took this value."))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True, help_text=_("Why a lead changed it."))
    # What the organisation's baseline gave when it was frozen (kept when a lead changes ``sd``).
    frozen_sd = models.FloatField()
    frozen_mean = models.FloatField(null=True)
    frozen_n = models.PositiveIntegerField()
    frozen_at = models.DateTimeField()

    class Meta:
        ordering = ["organisation", "instrument_code", "instrument_version", "scale"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "instrument_code", "instrument_version", "scale"],
                name="reliable_change_baseline_unique",
            ),
            models.CheckConstraint(condition=models.Q(sd__gt=0), name="reliable_change_baseline_sd_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.instrument_code}@{self.instrument_version}/{self.scale}: SD₁ {self.sd:g}"

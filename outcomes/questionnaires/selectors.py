"""Reads for questionnaires, completion and a member's own scores."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from groups.models import Membership, MembershipStatus, SupportGroup
from outcomes.instruments import registry
from outcomes.models import Assessment, AssessmentStatus, MeasurementPlan, Response
from peersupport.models import Organisation, User


def assessments_for_member(user: User, organisation: Organisation) -> QuerySet[Assessment]:
    return (
        Assessment.objects.filter(membership__user=user, membership__group__organisation=organisation)
        .exclude(status=AssessmentStatus.UPCOMING)
        .select_related("membership__group")
        .prefetch_related(
            Prefetch("responses", queryset=Response.objects.only("assessment_id", "instrument_code", "submitted_at"))
        )
        .order_by("-opens_at")
    )


def member_assessment(user: User, organisation: Organisation, assessment_id: int) -> Assessment | None:
    """The member's own assessment in this organisation, or None (another member's is never returned)."""
    return (
        Assessment.objects.filter(pk=assessment_id, membership__user=user, membership__group__organisation=organisation)
        .select_related("membership__group__organisation", "membership__user")
        .first()
    )


@dataclass(frozen=True)
class ScorePoint:
    response_id: int
    instrument_code: str
    instrument_title: str
    time_point: str
    time_point_label: str
    submitted_at: object
    total: float | None
    band: str | None
    higher_is_better: bool


@dataclass(frozen=True)
class ScoreSeries:
    """One line of a member's scores: one instrument in one group under one plan, never mixed with another."""

    instrument_code: str
    instrument_title: str
    higher_is_better: bool
    group_id: int
    group_name: str
    plan_id: int | None
    plan_name: str
    points: tuple[ScorePoint, ...]

    @property
    def key(self) -> str:
        """A stable identifier for the page (element ids), unique per series."""
        return f"{self.instrument_code}-{self.group_id}-{self.plan_id or 0}"

    @property
    def label(self) -> str:
        return f"{self.group_name} · {self.plan_name}" if self.plan_name else self.group_name


def member_scores(user: User, organisation: Organisation) -> list[ScoreSeries]:
    """A member's own submitted scores over time: one series per instrument, group and plan.

    Scores from different groups (or plans) are separate series, so a chart never draws one line from a
    score in one group to a score in another, which would read as change. Ordered by instrument, then by
    each series' first answer. One query whatever the number of answers.
    """
    series: dict[tuple, list[ScorePoint]] = defaultdict(list)
    about: dict[tuple, dict] = {}
    responses = (
        Response.objects.filter(
            assessment__membership__user=user,
            assessment__membership__group__organisation=organisation,
            submitted_at__isnull=False,
        )
        .select_related("assessment__membership__group", "assessment__plan_time_point__plan")
        .order_by("submitted_at", "pk")
    )
    for response in responses:
        try:
            defn = registry.get(response.instrument_code, response.instrument_version)
        except LookupError:
            continue
        assessment = response.assessment
        group = assessment.membership.group
        plan = assessment.plan_time_point.plan if assessment.plan_time_point else None
        key = (response.instrument_code, group.pk, plan.pk if plan else None)
        about.setdefault(
            key,
            {
                "instrument_code": response.instrument_code,
                "instrument_title": defn.title,
                "higher_is_better": defn.higher_is_better,
                "group_id": group.pk,
                "group_name": group.name,
                "plan_id": plan.pk if plan else None,
                "plan_name": plan.name if plan else "",
            },
        )
        bands = [label for label in (response.scores.get("bands") or {}).values() if label]
        series[key].append(
            ScorePoint(
                response_id=response.pk,
                instrument_code=response.instrument_code,
                instrument_title=defn.title,
                time_point=assessment.time_point,
                time_point_label=assessment.get_time_point_display(),
                submitted_at=response.submitted_at,
                total=response.total,
                band=bands[0] if bands else None,
                higher_is_better=defn.higher_is_better,
            )
        )
    ordered = sorted(series, key=lambda key: (about[key]["instrument_title"], series[key][0].submitted_at))
    return [ScoreSeries(**about[key], points=tuple(series[key])) for key in ordered]


@dataclass(frozen=True)
class CompletionRow:
    membership: Membership
    assessment: Assessment
    state: str  # "done", "due", "overdue", "missed", "upcoming"


def plans_of(organisation: Organisation) -> QuerySet[MeasurementPlan]:
    """The organisation's measurement plans by name, each with the group or curriculum it covers."""
    return (
        MeasurementPlan.objects.filter(organisation=organisation)
        .select_related("group", "curriculum")
        .order_by("name", "pk")
    )


def completion_assessments(groups: QuerySet[SupportGroup]) -> QuerySet[Assessment]:
    """The assessments of the completion page, by group, member and date (to the last tie, for paging)."""
    return (
        Assessment.objects.filter(membership__group__in=groups)
        .exclude(membership__status=MembershipStatus.WITHDRAWN)
        .select_related("membership__user", "membership__group")
        .order_by("membership__group__name", "membership__user__email", "created_at", "pk")
    )


def completion_rows(assessments: Iterable[Assessment]) -> list[CompletionRow]:
    """Each assessment with its state (done, missed, overdue, due or upcoming), e.g. for one page of them."""
    now = timezone.now()
    rows = []
    for assessment in assessments:
        if assessment.status == AssessmentStatus.COMPLETED:
            state = "done"
        elif assessment.status == AssessmentStatus.EXPIRED:
            state = "missed"
        elif assessment.status == AssessmentStatus.OPEN:
            closing_soon = assessment.closes_at is not None and assessment.closes_at - now < dt.timedelta(days=3)
            overdue = assessment.reminded_at is not None or closing_soon
            state = "overdue" if overdue else "due"
        else:
            state = "upcoming"
        rows.append(CompletionRow(assessment.membership, assessment, state))
    return rows


def member_response(user: User, organisation: Organisation, response_id: int) -> Response | None:
    """The member's own submitted response, or None: another member's answers are never returned."""
    return (
        Response.objects.filter(
            pk=response_id,
            assessment__membership__user=user,
            assessment__membership__group__organisation=organisation,
            submitted_at__isnull=False,
        )
        .select_related("assessment__membership__group")
        .first()
    )

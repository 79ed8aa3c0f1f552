"""Reads for questionnaires, completion and a member's own scores."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from groups.models import Membership, MembershipStatus, SupportGroup
from outcomes.instruments import registry
from outcomes.models import Assessment, AssessmentStatus, Response
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


def member_scores(user: User, organisation: Organisation) -> dict[str, list[ScorePoint]]:
    """A member's own submitted scores over time, by instrument."""
    series: dict[str, list[ScorePoint]] = defaultdict(list)
    responses = (
        Response.objects.filter(
            assessment__membership__user=user,
            assessment__membership__group__organisation=organisation,
            submitted_at__isnull=False,
        )
        .select_related("assessment")
        .order_by("submitted_at")
    )
    for response in responses:
        try:
            defn = registry.get(response.instrument_code, response.instrument_version)
        except LookupError:
            continue
        bands = [label for label in (response.scores.get("bands") or {}).values() if label]
        series[response.instrument_code].append(
            ScorePoint(
                response_id=response.pk,
                instrument_code=response.instrument_code,
                instrument_title=defn.title,
                time_point=response.assessment.time_point,
                time_point_label=response.assessment.get_time_point_display(),
                submitted_at=response.submitted_at,
                total=response.total,
                band=bands[0] if bands else None,
                higher_is_better=defn.higher_is_better,
            )
        )
    return dict(series)


@dataclass(frozen=True)
class CompletionRow:
    membership: Membership
    assessment: Assessment
    state: str  # "done", "due", "overdue", "missed", "upcoming"


def completion_for_groups(groups: QuerySet[SupportGroup]) -> list[CompletionRow]:
    """Who is due, done or overdue in these groups. Never answers or scores: facilitators see completion only."""
    now = timezone.now()
    rows = []
    assessments = (
        Assessment.objects.filter(membership__group__in=groups)
        .exclude(membership__status=MembershipStatus.WITHDRAWN)
        .select_related("membership__user", "membership__group")
        .order_by("membership__group__name", "membership__user__email", "created_at")
    )
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

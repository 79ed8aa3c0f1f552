"""Measurement plans and the assessment lifecycle: create, open (and invite), remind once, expire.

``assessments_advance`` is run periodically by Celery beat. It looks at the
current state every time: nothing is sent for an assessment already completed
or expired, nor to a member who has withdrawn consent or left the group.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from groups.models import Membership, MembershipStatus, SupportGroup
from outcomes.models import Anchor, Assessment, AssessmentStatus, MeasurementPlan, PlanTimePoint
from peersupport.mail import queue_email
from peersupport.selectors import consent_is_active
from sessions.models import SessionStatus

logger = logging.getLogger(__name__)

# Members who finished the group still answer the end and follow-up questionnaires.
COLLECTING_STATUSES = (MembershipStatus.ACTIVE, MembershipStatus.COMPLETED)
REMINDER_AFTER = dt.timedelta(days=3)


def plan_for_group(group: SupportGroup) -> MeasurementPlan | None:
    """The group's own plan, else the plan of the curriculum version it runs."""
    plan = MeasurementPlan.objects.filter(group=group).first()
    if plan is None and group.curriculum_id:
        plan = MeasurementPlan.objects.filter(curriculum_id=group.curriculum_id).first()
    return plan


@dataclass
class Anchors:
    first_session: dt.datetime | None
    last_session: dt.datetime | None


def group_anchors(group_ids) -> dict[int, Anchors]:
    """First and last scheduled (not cancelled) session of each group, in one query."""
    rows = (
        SupportGroup.objects.filter(pk__in=group_ids)
        .annotate(
            first=Min("sessions__starts_at", filter=~Q(sessions__status=SessionStatus.CANCELLED)),
            last=Max("sessions__starts_at", filter=~Q(sessions__status=SessionStatus.CANCELLED)),
        )
        .values_list("pk", "first", "last")
    )
    return {pk: Anchors(first, last) for pk, first, last in rows}


def window_for(
    time_point: PlanTimePoint, *, membership: Membership, anchors: Anchors
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """When the assessment opens and closes; (None, None) while the anchor date is not known."""
    if time_point.anchor == Anchor.FIRST_SESSION:
        base = anchors.first_session
    elif time_point.anchor == Anchor.LAST_SESSION:
        base = anchors.last_session
    else:
        base = membership.joined_at
    if base is None:
        return None, None
    return base + dt.timedelta(days=time_point.opens_days), base + dt.timedelta(days=time_point.closes_days)


def assessments_ensure(membership: Membership) -> int:
    """Create the membership's assessments from its group's plan. Idempotent; returns how many were created."""
    if membership.status not in COLLECTING_STATUSES:
        return 0
    plan = plan_for_group(membership.group)
    if plan is None:
        return 0
    existing = set(membership.assessments.values_list("time_point", flat=True))
    created = 0
    for time_point in plan.time_points.all():
        if time_point.time_point in existing:
            continue
        try:
            with transaction.atomic():
                Assessment.objects.create(
                    membership=membership, time_point=time_point.time_point, plan_time_point=time_point
                )
            created += 1
        except IntegrityError:  # created concurrently
            pass
    return created


def assessment_url(assessment: Assessment) -> str:
    slug = assessment.membership.group.organisation.slug
    return settings.SITE_URL + reverse("outcomes:assessment", args=[slug, assessment.pk])


def _may_collect(assessment: Assessment) -> bool:
    membership = assessment.membership
    return membership.status in COLLECTING_STATUSES and consent_is_active(
        user=membership.user, organisation=membership.group.organisation
    )


def _send(assessment: Assessment, *, template: str, subject: str) -> None:
    context = {"assessment": assessment, "url": assessment_url(assessment), "user": assessment.membership.user}
    queue_email(subject=subject, body=render_to_string(template, context), to=[assessment.membership.user.email])


@dataclass
class AdvanceReport:
    created: int = 0
    opened: int = 0
    invited: int = 0
    reminded: int = 0
    expired: int = 0
    skipped: list[int] = field(default_factory=list)


def assessments_advance(*, now: dt.datetime | None = None) -> AdvanceReport:
    """One pass of the lifecycle over every assessment that may need it."""
    now = now or timezone.now()
    report = AdvanceReport()

    # 1. Memberships that became active without their assessments (a lost message, a new plan).
    planned_groups = SupportGroup.objects.filter(
        Q(measurement_plans__isnull=False) | Q(curriculum__measurement_plans__isnull=False)
    ).values("pk")
    for membership in Membership.objects.filter(
        group__in=planned_groups, status__in=COLLECTING_STATUSES
    ).select_related("group"):
        report.created += assessments_ensure(membership)

    # 2. Upcoming: recompute the window from the current plan (a plan change reaches only these), then open or expire.
    upcoming = Assessment.objects.filter(status=AssessmentStatus.UPCOMING).select_related(
        "membership__group__organisation", "membership__user", "plan_time_point"
    )
    anchors = group_anchors(upcoming.values("membership__group_id"))
    for assessment in upcoming:
        time_point = assessment.plan_time_point
        if time_point is None:
            continue
        opens_at, closes_at = window_for(
            time_point, membership=assessment.membership, anchors=anchors[assessment.membership.group_id]
        )
        with transaction.atomic():
            locked = Assessment.objects.select_for_update().filter(pk=assessment.pk, status=AssessmentStatus.UPCOMING)
            if not locked.exists():
                continue
            assessment.opens_at, assessment.closes_at = opens_at, closes_at
            if opens_at is None or now < opens_at:
                locked.update(opens_at=opens_at, closes_at=closes_at)
                continue
            if now >= closes_at:
                locked.update(opens_at=opens_at, closes_at=closes_at, status=AssessmentStatus.EXPIRED)
                report.expired += 1
                continue
            instruments = [[i.instrument_code, i.instrument_version] for i in time_point.instruments.all()]
            may_collect = _may_collect(assessment)
            locked.update(
                opens_at=opens_at,
                closes_at=closes_at,
                status=AssessmentStatus.OPEN,
                instruments=instruments,
                invited_at=now if may_collect else None,
            )
            report.opened += 1
            if may_collect:
                _send(
                    assessment,
                    template="outcomes/email/assessment_invitation.txt",
                    subject=_("Your questionnaires are ready"),
                )
                report.invited += 1
            else:
                report.skipped.append(assessment.pk)

    # 3. Open: expire when the window has closed; otherwise remind once.
    for assessment in Assessment.objects.filter(status=AssessmentStatus.OPEN).select_related(
        "membership__group__organisation", "membership__user"
    ):
        with transaction.atomic():
            locked = Assessment.objects.select_for_update().filter(pk=assessment.pk, status=AssessmentStatus.OPEN)
            if not locked.exists():
                continue
            if assessment.closes_at is not None and now >= assessment.closes_at:
                locked.update(status=AssessmentStatus.EXPIRED)
                report.expired += 1
                continue
            due_reminder = (
                assessment.reminded_at is None
                and assessment.invited_at is not None
                and now - assessment.invited_at >= REMINDER_AFTER
            )
            if (
                due_reminder
                and _may_collect(assessment)
                and locked.filter(reminded_at__isnull=True).update(reminded_at=now)
            ):
                _send(
                    assessment,
                    template="outcomes/email/assessment_reminder.txt",
                    subject=_("A reminder: your questionnaires"),
                )
                report.reminded += 1
    return report

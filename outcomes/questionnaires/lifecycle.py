"""Measurement plans and the assessment lifecycle: create, open, expire; invite and remind once.

Whether an assessment is open or expired follows from its window and the clock: ``assessments_refresh_*``
bring one member's or some groups' assessments to what the clock says when their pages load, so what a member
sees never waits for a job. They are idempotent, write only what changed and send nothing.
``assessments_advance``, run periodically (Celery beat, or the development server's scheduler), refreshes
every assessment the same way and then sends what is due: one invitation per open assessment and one
reminder. It looks at the current state every time: nothing is sent for an assessment already completed or
expired, nor to a member who has withdrawn consent or left the group.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from groups.models import Membership, MembershipStatus, SupportGroup
from outcomes.models import Anchor, Assessment, AssessmentStatus, MeasurementPlan, PlanTimePoint
from peersupport.mail import queue_email
from peersupport.models import Organisation, User
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


def _planned_groups() -> QuerySet[SupportGroup]:
    return SupportGroup.objects.filter(
        Q(measurement_plans__isnull=False) | Q(curriculum__measurement_plans__isnull=False)
    ).values("pk")


@dataclass
class RefreshReport:
    created: int = 0
    opened: int = 0
    expired: int = 0


def _refresh(
    memberships: QuerySet[Membership], assessments: QuerySet[Assessment], *, now: dt.datetime
) -> RefreshReport:
    """Create the missing assessments of ``memberships`` (collecting ones of planned groups), then bring
    ``assessments`` to their state at ``now``: an upcoming one's window is recomputed from the current plan (a plan
    change reaches only these) and it opens (taking the plan's instruments) or expires; an open one whose window
    has closed expires. Each change is a conditional UPDATE (``status`` still what was read), so a page load and
    the job at the same moment change a row once. Nothing is written when nothing changes."""
    report = RefreshReport()
    for membership in memberships.filter(group__in=_planned_groups(), status__in=COLLECTING_STATUSES).select_related(
        "group"
    ):
        report.created += assessments_ensure(membership)

    upcoming = list(
        assessments.filter(status=AssessmentStatus.UPCOMING, plan_time_point__isnull=False)
        .select_related("membership", "plan_time_point")
        .prefetch_related("plan_time_point__instruments")
    )
    anchors = group_anchors({a.membership.group_id for a in upcoming}) if upcoming else {}
    for assessment in upcoming:
        time_point = assessment.plan_time_point
        opens_at, closes_at = window_for(
            time_point, membership=assessment.membership, anchors=anchors[assessment.membership.group_id]
        )
        still_upcoming = Assessment.objects.filter(pk=assessment.pk, status=AssessmentStatus.UPCOMING)
        if opens_at is None or now < opens_at:
            if (opens_at, closes_at) != (assessment.opens_at, assessment.closes_at):
                still_upcoming.update(opens_at=opens_at, closes_at=closes_at)
        elif now >= closes_at:
            report.expired += still_upcoming.update(
                opens_at=opens_at, closes_at=closes_at, status=AssessmentStatus.EXPIRED
            )
        else:
            instruments = [[i.instrument_code, i.instrument_version] for i in time_point.instruments.all()]
            report.opened += still_upcoming.update(
                opens_at=opens_at, closes_at=closes_at, status=AssessmentStatus.OPEN, instruments=instruments
            )

    closed = list(assessments.filter(status=AssessmentStatus.OPEN, closes_at__lte=now).values_list("pk", flat=True))
    if closed:  # looked for first: on SQLite even an UPDATE that matches nothing takes the write lock
        report.expired += Assessment.objects.filter(pk__in=closed, status=AssessmentStatus.OPEN).update(
            status=AssessmentStatus.EXPIRED
        )
    return report


def assessments_refresh_for_member(
    user: User, organisation: Organisation | None = None, *, now: dt.datetime | None = None
) -> RefreshReport:
    """A member's assessments (in ``organisation``, or everywhere) as the clock says now. For their pages."""
    memberships = Membership.objects.filter(user=user)
    assessments = Assessment.objects.filter(membership__user=user)
    if organisation is not None:
        memberships = memberships.filter(group__organisation=organisation)
        assessments = assessments.filter(membership__group__organisation=organisation)
    return _refresh(memberships, assessments, now=now or timezone.now())


def assessments_refresh_for_groups(groups: QuerySet[SupportGroup], *, now: dt.datetime | None = None) -> RefreshReport:
    """The assessments of every member of ``groups`` as the clock says now. For staff pages about those groups."""
    return _refresh(
        Membership.objects.filter(group__in=groups),
        Assessment.objects.filter(membership__group__in=groups),
        now=now or timezone.now(),
    )


@dataclass
class AdvanceReport:
    created: int = 0
    opened: int = 0
    invited: int = 0
    reminded: int = 0
    expired: int = 0
    skipped: list[int] = field(default_factory=list)


def assessments_advance(*, now: dt.datetime | None = None) -> AdvanceReport:
    """One pass over every assessment: refresh every state, then send what is due (invitations, reminders)."""
    now = now or timezone.now()
    refreshed = _refresh(Membership.objects.all(), Assessment.objects.all(), now=now)
    report = AdvanceReport(created=refreshed.created, opened=refreshed.opened, expired=refreshed.expired)

    open_now = (
        Assessment.objects.filter(status=AssessmentStatus.OPEN)
        .filter(Q(closes_at__isnull=True) | Q(closes_at__gt=now))
        .select_related("membership__group__organisation", "membership__user")
    )
    # Invitations: once per open assessment, whoever opened it (a page load or this job). A member who has
    # started answering already knows: they are counted as invited, so the reminder still comes.
    for assessment in open_now.filter(invited_at__isnull=True):
        if not _may_collect(assessment):
            report.skipped.append(assessment.pk)
            continue
        with transaction.atomic():
            if not Assessment.objects.filter(pk=assessment.pk, invited_at__isnull=True).update(invited_at=now):
                continue  # another run invited it meanwhile
            if assessment.responses.exists():
                continue
            _send(
                assessment,
                template="outcomes/email/assessment_invitation.txt",
                subject=_("Your questionnaires are ready"),
            )
            report.invited += 1

    # Reminders: once, REMINDER_AFTER the invitation, while it is still open.
    due = open_now.filter(reminded_at__isnull=True, invited_at__isnull=False, invited_at__lte=now - REMINDER_AFTER)
    for assessment in due:
        if not _may_collect(assessment):
            continue
        with transaction.atomic():
            if Assessment.objects.filter(
                pk=assessment.pk, status=AssessmentStatus.OPEN, reminded_at__isnull=True
            ).update(reminded_at=now):
                _send(
                    assessment,
                    template="outcomes/email/assessment_reminder.txt",
                    subject=_("A reminder: your questionnaires"),
                )
                report.reminded += 1
    return report

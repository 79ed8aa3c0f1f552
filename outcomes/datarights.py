"""This app's part of a member's download and erasure (``peersupport.datarights``): questionnaires (assessments),
answers and scores, and the risk alerts about the member. Registered by ``OutcomesConfig.ready``.

An erasure always removes the answers, whatever the organisation's rule, and marks the figures of every group the
member was in stale through the entry point a submit uses (``evaluation.marking.mark_stale``), so they are
recomputed without the member after commit (and by the sweep, if that message is lost).
"""

from __future__ import annotations

from django.db.models import Max

from peersupport.datarights import Erasure, Part, Rows, register, when
from peersupport.models import User

from .evaluation.marking import mark_stale, mark_stale_if_computed
from .models import Assessment, Response, RiskAlert


def last_activity(user: User):
    return Response.objects.filter(assessment__membership__user=user).aggregate(at=Max("updated_at"))["at"]


def export(user: User) -> dict[str, Rows]:
    assessments = (
        Assessment.objects.filter(membership__user=user)
        .select_related("membership__group")
        .order_by("membership_id", "opens_at", "id")
    )
    responses = (
        Response.objects.filter(assessment__membership__user=user)
        .select_related("assessment__membership__group")
        .order_by("assessment_id", "id")
    )
    alerts = RiskAlert.objects.filter(member=user).select_related("group", "response").order_by("created_at", "id")
    return {
        "questionnaires": [
            {
                "group": a.membership.group.name,
                "time_point": a.get_time_point_display(),
                "status": a.get_status_display(),
                "opens_at": when(a.opens_at),
                "closes_at": when(a.closes_at),
                "completed_at": when(a.completed_at),
            }
            for a in assessments
        ],
        "answers_and_scores": [
            {
                "group": r.assessment.membership.group.name,
                "time_point": r.assessment.get_time_point_display(),
                "questionnaire": f"{r.instrument_code}@{r.instrument_version}",
                "answers": r.answers,
                "scores": r.scores,
                "total": r.total,
                "how": r.get_source_display(),
                "submitted_at": when(r.submitted_at),
                "last_saved_at": when(r.updated_at),
            }
            for r in responses
        ],
        "alerts_about_you": [
            {
                "group": a.group.name,
                "questionnaire": a.response.instrument_code,
                "rule": a.rule,
                "raised_at": when(a.created_at),
                "status": a.get_status_display(),
                "acknowledged_at": when(a.acknowledged_at),
                "acknowledgement_note": a.acknowledgement_note,
                "escalated_at": when(a.escalated_at),
            }
            for a in alerts
        ],
    }


def erase(erasure: Erasure) -> None:
    user = erasure.user
    groups = {m.group_id: m.group for m in user.memberships.select_related("group")}
    answered = set(
        Response.objects.filter(assessment__membership__user=user, submitted_at__isnull=False).values_list(
            "assessment__membership__group_id", flat=True
        )
    )
    erasure.count("risk_alerts", RiskAlert.objects.filter(member=user).delete()[0])
    responses = Response.objects.filter(assessment__membership__user=user)
    erasure.count("answers", responses.count())
    responses.delete()  # one by one through the signals: each group's saved data go out of date
    erasure.count("questionnaires", Assessment.objects.filter(membership__user=user).delete()[0])
    for group_id, group in groups.items():
        if group_id in answered:
            mark_stale(group)
        else:  # no answers, but attendance and flow may change: only if the group has figures at all
            mark_stale_if_computed(group)


register(
    Part(
        name="outcomes",
        export=export,
        erase=erase,
        order=10,  # first: the answers hang from the memberships the groups part may remove
        last_activity=last_activity,
        covers={
            "outcomes.Assessment.membership": "deleted",
            "outcomes.Response.assessment": "deleted",
            "outcomes.RiskAlert.member": "deleted, with the answers that raised it",
            "outcomes.RiskAlert.response": "deleted",
        },
    )
)

"""Demo measurement plans and answers for the demo groups (called by ``seed_demo`` after sessions).

Answers are made up but plausible: deterministic for each member and time point,
some items and whole time points missing, scores a little better after the group.
Idempotent: plans are found by group, answers only added where none exist. No
risk answers are seeded (they would e-mail facilitators during seeding).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from groups import demo as groups_demo
from groups.models import GroupStatus, Membership, MembershipStatus, SupportGroup
from outcomes.evaluation.recompute import recompute_all
from outcomes.instruments import registry
from outcomes.questionnaires.responses import response_submit
from peersupport.models import Organisation
from sessions.models import SessionStatus

from .models import (
    Anchor,
    Assessment,
    AssessmentStatus,
    MeasurementPlan,
    PlanInstrument,
    PlanTimePoint,
    PrimaryOutcome,
    Response,
    RiskAlert,
)

PLAN = [
    # time point, anchor, opens, closes (days), instruments
    ("baseline", Anchor.FIRST_SESSION, -14, 7, ["phq9", "gad7", "core10"]),
    ("post", Anchor.LAST_SESSION, -3, 21, ["phq9", "gad7", "core10", "acceptability"]),
    ("follow_up_3", Anchor.LAST_SESSION, 76, 104, ["phq9", "gad7", "core10"]),
]


def _plan_for(group: SupportGroup) -> MeasurementPlan:
    plan, created = MeasurementPlan.objects.get_or_create(
        group=group, defaults={"organisation": group.organisation, "name": f"{group.name}: core outcomes"}
    )
    if created:
        for time_point, anchor, opens, closes, codes in PLAN:
            tp = PlanTimePoint.objects.create(
                plan=plan, time_point=time_point, anchor=anchor, opens_days=opens, closes_days=closes
            )
            for position, code in enumerate(codes):
                PlanInstrument.objects.create(
                    time_point=tp, instrument_code=code, instrument_version=1, position=position
                )
        # Named with the plan, before any follow-up: PHQ-9 from baseline to the end of the group.
        PrimaryOutcome.objects.create(
            plan=plan, instrument_code="phq9", instrument_version=1, scale="total", time_point="post",
            named_at=plan.created_at, reason="Named with the demo plan.",
        )  # fmt: skip
    return plan


def _answers(code: str, rng: random.Random, *, better: float) -> dict[str, int]:
    """Plausible answers: each item near a member's level, ``better`` lowers symptom items after the group."""
    defn = registry.get(code, 1)
    answers = {}
    level = rng.uniform(0.8, 2.2)
    risk_items = {rule.item for rule in defn.risk_rules}
    for item in defn.items:
        options = sorted(option.value for option in item.options.choices)
        if not options:
            continue
        if item.key in risk_items:
            answers[item.key] = min(options)  # no risk answers in demo data
            continue
        if rng.random() < 0.03 and not item.required:
            continue  # a skipped item
        if code == "acceptability":
            value = rng.choice(options[-3:])
        else:
            wanted = level - better + rng.uniform(-0.8, 0.8)
            if item.reverse:
                wanted = options[-1] - wanted
            value = min(options, key=lambda v, w=wanted: abs(v - w))
        answers[item.key] = value
    return answers


def _group_window(group: SupportGroup) -> tuple[dt.datetime | None, dt.datetime | None]:
    starts = group.sessions.exclude(status=SessionStatus.CANCELLED).order_by("starts_at")
    first, last = starts.first(), starts.last()
    return (first.starts_at if first else None, last.starts_at if last else None)


@transaction.atomic
def seed(organisations: Sequence[Organisation]) -> dict[str, int]:
    now = timezone.now()
    # Only the demo's own groups: a group someone added later is left for its lead to plan.
    names = [spec.name for spec in groups_demo.GROUPS]
    groups = SupportGroup.objects.filter(organisation__in=organisations, name__in=names).exclude(
        status__in=[GroupStatus.DRAFT, GroupStatus.CANCELLED]
    )
    for group in groups.order_by("pk"):
        plan = _plan_for(group)
        first, last = _group_window(group)
        memberships = Membership.objects.filter(
            group=group, status__in=[MembershipStatus.ACTIVE, MembershipStatus.COMPLETED, MembershipStatus.WITHDRAWN]
        ).select_related("user", "group__organisation")
        for membership in memberships.order_by("pk"):
            for tp in plan.time_points.prefetch_related("instruments"):
                anchor = first if tp.anchor == Anchor.FIRST_SESSION else last
                if anchor is None:
                    continue
                closes = anchor + dt.timedelta(days=tp.closes_days)
                answered_at = anchor + dt.timedelta(days=max(tp.opens_days, 0) + 1)
                if answered_at > now:
                    continue  # not due yet: the lifecycle job opens it when its window comes
                if membership.status == MembershipStatus.WITHDRAWN and tp.time_point != "baseline":
                    continue
                rng = random.Random(f"{membership.user.email}:{group.name}:{tp.time_point}")
                if tp.time_point != "baseline" and rng.random() < 0.2:
                    continue  # lost to follow-up, as many are
                assessment, _ = Assessment.objects.get_or_create(
                    membership=membership,
                    time_point=tp.time_point,
                    defaults={
                        "plan_time_point": tp,
                        "opens_at": anchor + dt.timedelta(days=tp.opens_days),
                        "closes_at": closes,
                        "status": AssessmentStatus.OPEN,
                        "instruments": [[i.instrument_code, i.instrument_version] for i in tp.instruments.all()],
                        "invited_at": anchor + dt.timedelta(days=tp.opens_days),
                    },
                )
                better = {"baseline": 0.0, "post": 0.45, "follow_up_3": 0.35}[tp.time_point]
                for code, _version in assessment.instruments:
                    if Response.objects.filter(assessment=assessment, instrument_code=code).exists():
                        continue
                    response_submit(
                        assessment=assessment,
                        defn=registry.get(code, 1),
                        raw={k: str(v) for k, v in _answers(code, rng, better=better).items()},
                        submitted_at=answered_at,
                        check=False,
                    )
    recompute_all()
    return {
        "questionnaire responses": Response.objects.count(),
        "risk alerts": RiskAlert.objects.count(),
    }

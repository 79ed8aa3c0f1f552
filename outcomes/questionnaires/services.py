"""The writes a lead makes to what members are asked: measurement plans, their time points and the licensed
wording of an instrument. Each runs in one transaction and writes one audit row."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from groups.models import Curriculum, SupportGroup
from outcomes.instruments import registry
from outcomes.instruments.types import InstrumentDefinition
from outcomes.models import (
    Assessment,
    AssessmentStatus,
    InstrumentText,
    MeasurementPlan,
    PlanInstrument,
    PlanTimePoint,
    PrimaryOutcome,
    TimePoint,
)
from peersupport import audit
from peersupport.models import AuditEvent, Organisation, User

Action = AuditEvent.Action


@transaction.atomic
def plan_create(
    *,
    organisation: Organisation,
    name: str,
    target: SupportGroup | Curriculum,
    by: User,
    request: HttpRequest | None = None,
) -> MeasurementPlan:
    """A new plan for a group or a curriculum of ``organisation``; ValidationError when it already has one."""
    kind = "group" if isinstance(target, SupportGroup) else "curriculum"
    if target.organisation_id != organisation.pk:
        raise ValidationError({"target": _("Choose a group or curriculum of this organisation.")})
    if MeasurementPlan.objects.filter(**{kind: target}).exists():
        raise ValidationError({"target": _("This already has a plan: change that one.")})
    try:
        with transaction.atomic():
            plan = MeasurementPlan.objects.create(organisation=organisation, name=name, created_by=by, **{kind: target})
    except IntegrityError:  # another lead made one in between (one_plan_per_group / _curriculum)
        raise ValidationError({"target": _("This already has a plan: change that one.")}) from None
    audit.record(
        Action.MEASUREMENT_PLAN_CREATED,
        actor=by,
        organisation=organisation,
        obj=plan,
        request=request,
        name=name,
        **{kind: target.pk},
    )
    return plan


@transaction.atomic
def time_point_add(
    *,
    plan: MeasurementPlan,
    time_point: str,
    anchor: str,
    opens_days: int,
    closes_days: int,
    instruments: Sequence[str],
    by: User,
    request: HttpRequest | None = None,
) -> PlanTimePoint:
    """Add a time point with its instruments (``code@version``, in the order asked); ValidationError when the
    plan has that time point already."""
    if plan.time_points.filter(time_point=time_point).exists():
        raise ValidationError({"time_point": _("This plan already has that time point.")})
    try:
        with transaction.atomic():
            added = PlanTimePoint.objects.create(
                plan=plan, time_point=time_point, anchor=anchor, opens_days=opens_days, closes_days=closes_days
            )
    except IntegrityError:  # added by another request in between (plan_time_point_unique)
        raise ValidationError({"time_point": _("This plan already has that time point.")}) from None
    for position, key in enumerate(instruments):
        code, _sep, version = key.partition("@")
        PlanInstrument.objects.create(
            time_point=added, instrument_code=code, instrument_version=int(version), position=position
        )
    audit.record(
        Action.PLAN_TIME_POINT_ADDED,
        actor=by,
        organisation=plan.organisation,
        obj=added,
        request=request,
        plan=plan.pk,
        time_point=time_point,
        anchor=anchor,
        opens_days=opens_days,
        closes_days=closes_days,
        instruments=list(instruments),
    )
    return added


def primary_outcome_choices(plan: MeasurementPlan) -> list[tuple[str, str]]:
    """What can be a plan's primary outcome: the change from baseline to one of its later time points on an
    instrument scale asked at both, as (``code@version|scale|time point``, label)."""
    time_points = {tp.time_point: tp for tp in plan.time_points.prefetch_related("instruments")}
    baseline = time_points.get(TimePoint.BASELINE)
    if baseline is None:
        return []
    at_baseline = {(i.instrument_code, i.instrument_version) for i in baseline.instruments.all()}
    labels = dict(TimePoint.choices)
    choices = []
    for value, _label in TimePoint.choices:
        tp = time_points.get(value)
        if tp is None or value == TimePoint.BASELINE:
            continue
        for instrument in tp.instruments.all():
            key = (instrument.instrument_code, instrument.instrument_version)
            if key not in at_baseline:
                continue
            try:
                defn = registry.get(*key)
            except LookupError:
                continue
            for scale, scale_label in [
                ("total", _("total score")),
                *((s.name, s.label or s.name) for s in defn.subscales),
            ]:
                choices.append(
                    (
                        f"{key[0]}@{key[1]}|{scale}|{value}",
                        _("%(title)s, %(scale)s: baseline → %(time_point)s")
                        % {"title": defn.title, "scale": scale_label, "time_point": labels[value]},
                    )
                )
    return choices


def follow_up_opened(plan: MeasurementPlan) -> bool:
    """Whether any member has been asked at a time point of the plan after baseline (a follow-up has opened)."""
    return (
        Assessment.objects.filter(plan_time_point__plan=plan)
        .exclude(time_point=TimePoint.BASELINE)
        .exclude(status=AssessmentStatus.UPCOMING)
        .exists()
    )


@transaction.atomic
def primary_outcome_name(
    *, plan: MeasurementPlan, choice: str, reason: str = "", by: User, request: HttpRequest | None = None
) -> PrimaryOutcome:
    """Name the plan's primary outcome (``choice`` from ``primary_outcome_choices``). Meant before its first
    follow-up opens; naming it again later is allowed with a reason and is kept as a change (the earlier
    namings stay), shown on the plan page and in the report."""
    locked = MeasurementPlan.objects.select_for_update().get(pk=plan.pk)  # one naming at a time per plan
    if choice not in dict(primary_outcome_choices(locked)):
        raise ValidationError(
            {"outcome": _("Choose a questionnaire scale asked at baseline and at a later time point of this plan.")}
        )
    instrument, scale, time_point = choice.split("|")
    code, _sep, version = instrument.partition("@")
    previous = locked.primary_outcomes.order_by("-named_at", "-id").first()
    if previous and (previous.instrument_code, previous.instrument_version, previous.scale, previous.time_point) == (
        code,
        int(version),
        scale,
        time_point,
    ):
        raise ValidationError({"outcome": _("This is already the plan's primary outcome.")})
    late = follow_up_opened(locked)
    reason = (reason or "").strip()
    if (late or previous) and not reason:
        raise ValidationError(
            {
                "reason": _(
                    "Say why the primary outcome is changed: the change is shown on this page and in the report."
                )
                if previous
                else _("A follow-up has already opened: say why the primary outcome is named only now.")
            }
        )
    named = PrimaryOutcome.objects.create(
        plan=locked,
        instrument_code=code,
        instrument_version=int(version),
        scale=scale,
        time_point=time_point,
        named_at=timezone.now(),
        named_by=by,
        reason=reason,
        after_follow_up_opened=late,
    )
    audit.record(
        Action.PRIMARY_OUTCOME_NAMED,
        actor=by,
        organisation=locked.organisation,
        obj=named,
        request=request,
        plan=locked.pk,
        outcome=choice,
        previous=(
            f"{previous.instrument_code}@{previous.instrument_version}|{previous.scale}|{previous.time_point}"
            if previous
            else None
        ),
        after_follow_up_opened=late,
        reason=reason,
    )
    return named


class TimePointInUse(Exception):
    """Members have already been asked at this time point: removing it would orphan their answers."""


@transaction.atomic
def time_point_remove(*, time_point: PlanTimePoint, by: User, request: HttpRequest | None = None) -> None:
    """Remove a time point no member has been asked at yet (its upcoming assessments go with it).

    The time point and its assessments are locked while checked and deleted, so an assessment that opens
    meanwhile (the lifecycle job) either waits for the delete or makes the removal refuse."""
    locked = PlanTimePoint.objects.select_for_update().filter(pk=time_point.pk).first()
    if locked is None:
        return
    statuses = set(locked.assessments.select_for_update().values_list("status", flat=True))
    if statuses - {AssessmentStatus.UPCOMING}:
        raise TimePointInUse
    plan = locked.plan
    upcoming = locked.assessments.count()
    locked.assessments.all().delete()
    locked.delete()
    audit.record(
        Action.PLAN_TIME_POINT_REMOVED,
        actor=by,
        organisation=plan.organisation,
        obj=plan,
        request=request,
        time_point=locked.time_point,
        upcoming_assessments_deleted=upcoming,
    )


@transaction.atomic
def instrument_text_save(
    *,
    organisation: Organisation,
    defn: InstrumentDefinition,
    items: dict[str, str],
    option_labels: dict[str, dict],
    instructions: str,
    licence_declaration: str,
    by: User,
    request: HttpRequest | None = None,
) -> InstrumentText:
    """Store the organisation's licensed wording of an instrument (English), replacing what was there."""
    text, created = InstrumentText.objects.update_or_create(
        organisation=organisation,
        instrument_code=defn.code,
        instrument_version=defn.version,
        language="en",
        defaults={
            "items": items,
            "option_labels": option_labels,
            "instructions": instructions,
            "licence_declaration": licence_declaration,
            "uploaded_by": by,
        },
    )
    audit.record(
        Action.INSTRUMENT_TEXT_SAVED,
        actor=by,
        organisation=organisation,
        obj=text,
        request=request,
        instrument=f"{defn.code}@{defn.version}",
        created=created,
    )
    return text

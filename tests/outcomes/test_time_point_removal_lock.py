"""A time point is removed only if nobody was asked at it, even while the lifecycle job opens an assessment.

PostgreSQL only (SQLite has no row locks and allows one writer at a time).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from outcomes.models import Anchor, Assessment, AssessmentStatus, MeasurementPlan, PlanTimePoint
from outcomes.questionnaires import services
from outcomes.questionnaires.lifecycle import assessments_ensure
from peersupport.models import AuditEvent, RoleKind
from tests.factories import active_member, facilitated_group, person

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_assessment_opening_during_the_removal_keeps_the_time_point_and_its_assessment(real_stack):
    group, _ = facilitated_group()
    lead = person(group.organisation, RoleKind.LEAD)
    plan = MeasurementPlan.objects.create(organisation=group.organisation, group=group, name="Core")
    tp = PlanTimePoint.objects.create(plan=plan, time_point="post", anchor=Anchor.JOINED, opens_days=0, closes_days=9)
    tp.instruments.create(instrument_code="phq9", instrument_version=1)
    assessments_ensure(active_member(group))
    assessment = Assessment.objects.get(plan_time_point=tp)
    assert assessment.status == AssessmentStatus.UPCOMING

    opened, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def open_it():  # what the lifecycle job does, holding its transaction open a moment
        try:
            with transaction.atomic():
                Assessment.objects.select_for_update().filter(pk=assessment.pk).update(status=AssessmentStatus.OPEN)
                opened.set()
                release.wait(timeout=10)
        except BaseException as exc:  # noqa: BLE001 (re-raised in the test thread)
            errors.append(exc)
        finally:
            connection.close()

    job = threading.Thread(target=open_it)
    job.start()
    assert opened.wait(timeout=10)
    threading.Timer(0.5, release.set).start()  # the removal below waits for the job's commit
    with pytest.raises(services.TimePointInUse):
        services.time_point_remove(time_point=tp, by=lead)
    job.join(timeout=10)
    assert not errors, errors
    assert PlanTimePoint.objects.filter(pk=tp.pk).exists()
    assert Assessment.objects.get(pk=assessment.pk).status == AssessmentStatus.OPEN
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PLAN_TIME_POINT_REMOVED).exists()

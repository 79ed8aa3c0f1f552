"""Every write a lead or facilitator makes in outcomes leaves exactly one audit row; a refused one leaves none."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from outcomes.instruments import registry
from outcomes.models import (
    Anchor,
    AssessmentStatus,
    InstrumentText,
    MeasurementPlan,
    PlanTimePoint,
    Response,
    RiskAlert,
    RiskAlertStatus,
)
from outcomes.questionnaires.lifecycle import assessments_ensure
from peersupport.models import AuditEvent, RoleKind
from tests import factories
from tests.factories import OrganisationFactory, active_member, person
from tests.outcomes.test_lead_pages import hhi_post

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
BASELINE = {"time_point": "baseline", "anchor": "joined", "opens_days": "-1", "closes_days": "14"}


@pytest.fixture
def lead_and_group():
    return factories.lead_and_group(name="Thursday group")


def rows(action):
    return list(AuditEvent.objects.filter(action=action))


def plan_for(group):
    return MeasurementPlan.objects.create(organisation=group.organisation, group=group, name="Core")


def test_creating_a_plan_is_audited_once_and_a_second_plan_for_the_same_group_is_refused(client, lead_and_group):
    lead, group, _ = lead_and_group
    client.force_login(lead)
    url = reverse("outcomes:lead_plans", args=[group.organisation.slug])
    assert client.post(url, {"name": "Core", "target": f"group:{group.pk}"}).status_code == 302
    (row,) = rows(Action.MEASUREMENT_PLAN_CREATED)
    assert row.actor == lead and row.organisation == group.organisation and row.detail["group"] == group.pk
    again = client.post(url, {"name": "Other", "target": f"group:{group.pk}"})
    assert "This already has a plan" in again.content.decode()
    assert MeasurementPlan.objects.count() == 1 and len(rows(Action.MEASUREMENT_PLAN_CREATED)) == 1


def test_adding_a_time_point_is_audited_once_and_the_same_time_point_twice_is_refused(client, lead_and_group):
    lead, group, _ = lead_and_group
    plan = plan_for(group)
    client.force_login(lead)
    url = reverse("outcomes:lead_plan", args=[group.organisation.slug, plan.pk])
    assert client.post(url, {**BASELINE, "instruments": ["phq9@1", "gad7@1"]}).status_code == 302
    (row,) = rows(Action.PLAN_TIME_POINT_ADDED)
    assert row.actor == lead and row.detail["instruments"] == ["phq9@1", "gad7@1"]
    again = client.post(url, {**BASELINE, "instruments": ["phq9@1"]})
    assert "This plan already has that time point." in again.content.decode()
    assert PlanTimePoint.objects.count() == 1 and len(rows(Action.PLAN_TIME_POINT_ADDED)) == 1


def time_point_with_member(group):
    plan = plan_for(group)
    tp = PlanTimePoint.objects.create(plan=plan, time_point="post", anchor=Anchor.JOINED, opens_days=60, closes_days=90)
    tp.instruments.create(instrument_code="phq9", instrument_version=1)
    membership = active_member(group)
    assessments_ensure(membership)
    return plan, tp, membership.assessments.get(time_point="post")


def test_removing_a_time_point_nobody_was_asked_at_is_audited_once_with_its_upcoming_assessments(
    client, lead_and_group
):
    lead, group, _ = lead_and_group
    plan, tp, assessment = time_point_with_member(group)
    assert assessment.status == AssessmentStatus.UPCOMING
    client.force_login(lead)
    url = reverse("outcomes:lead_plan_time_point_remove", args=[group.organisation.slug, plan.pk, tp.pk])
    client.post(url)
    assert not PlanTimePoint.objects.exists() and not assessment.__class__.objects.filter(pk=assessment.pk).exists()
    (row,) = rows(Action.PLAN_TIME_POINT_REMOVED)
    assert row.actor == lead and row.detail == {"time_point": "post", "upcoming_assessments_deleted": 1}


def test_a_time_point_members_were_asked_at_is_kept_and_nothing_is_audited(client, lead_and_group):
    lead, group, _ = lead_and_group
    plan, tp, assessment = time_point_with_member(group)
    assessment.status = AssessmentStatus.OPEN
    assessment.save(update_fields=["status"])
    client.force_login(lead)
    url = reverse("outcomes:lead_plan_time_point_remove", args=[group.organisation.slug, plan.pk, tp.pk])
    page = client.post(url, follow=True).content.decode()
    assert "it cannot be removed" in page
    assert PlanTimePoint.objects.filter(pk=tp.pk).exists() and not rows(Action.PLAN_TIME_POINT_REMOVED)


def test_saving_licensed_wording_is_audited_once_and_incomplete_wording_is_not(client, lead_and_group):
    lead, group, _ = lead_and_group
    defn = registry.get("hhi", 1)
    client.force_login(lead)
    url = reverse("outcomes:lead_instrument_text", args=[group.organisation.slug, "hhi", 1])
    incomplete = hhi_post(defn)
    del incomplete["item_" + defn.items[0].key]
    client.post(url, incomplete)
    assert not rows(Action.INSTRUMENT_TEXT_SAVED)
    assert client.post(url, hhi_post(defn)).status_code == 302
    (row,) = rows(Action.INSTRUMENT_TEXT_SAVED)
    assert row.actor == lead and row.detail == {"instrument": "hhi@1", "created": True}
    assert row.object_id == str(InstrumentText.objects.get().pk)


HEADER = "participant_email,group,time_point,instrument,item,value,completed_date\n"
GAD7 = "".join(f"kim@example.org,Thursday group,baseline,gad7,{n},2,2026-02-01\n" for n in range(1, 8))


def test_a_paper_import_is_audited_once_and_a_rejected_file_not_at_all(client, lead_and_group):
    lead, group, _ = lead_and_group
    active_member(group, email="kim@example.org")
    client.force_login(lead)
    url = reverse("outcomes:lead_import", args=[group.organisation.slug])
    bad = HEADER + GAD7 + "x@y.org,Thursday group,baseline,gad7,1,2,2026-02-01\n"
    assert client.post(url, {"file": SimpleUploadedFile("a.csv", bad.encode())}).status_code == 400
    assert not rows(Action.RESPONSES_IMPORTED)
    assert client.post(url, {"file": SimpleUploadedFile("a.csv", (HEADER + GAD7).encode())}).status_code == 302
    (row,) = rows(Action.RESPONSES_IMPORTED)
    assert row.actor == lead and row.organisation == group.organisation
    assert row.detail == {
        "rows": 7,
        "responses_created": 1,
        "responses_unchanged": 0,
        "unscorable": 0,
        "historical_alerts": 0,
        "live_alerts": 0,
    }
    assert Response.objects.count() == 1


def test_acknowledging_an_alert_is_audited_once_however_often_it_is_posted(client, lead_and_group):
    _lead, group, facilitator = lead_and_group
    plan, _tp, assessment = time_point_with_member(group)
    response = Response.objects.create(assessment=assessment, instrument_code="phq9", instrument_version=1)
    alert = RiskAlert.objects.create(
        response=response,
        rule="phq9_item9",
        organisation=group.organisation,
        group=group,
        member=assessment.membership.user,
    )
    client.force_login(facilitator)
    url = reverse("outcomes:alert_acknowledge", args=[group.organisation.slug, alert.pk])
    client.post(url, {"note": " "})
    assert not rows(Action.RISK_ALERT_ACKNOWLEDGED)
    client.post(url, {"note": "Phoned them."})
    client.post(url, {"note": "Phoned them again."})
    (row,) = rows(Action.RISK_ALERT_ACKNOWLEDGED)
    assert row.actor == facilitator and row.object_id == str(alert.pk)
    alert.refresh_from_db()
    assert alert.status == RiskAlertStatus.ACKNOWLEDGED and alert.acknowledgement_note == "Phoned them."


def test_a_facilitator_or_another_organisations_lead_changes_no_plan_and_leaves_no_row(client, lead_and_group):
    _lead, group, facilitator = lead_and_group
    plan, tp, _assessment = time_point_with_member(group)
    outsider = person(OrganisationFactory(), RoleKind.LEAD)
    slug = group.organisation.slug
    for user in (facilitator, outsider):
        client.force_login(user)
        posts = [
            (reverse("outcomes:lead_plans", args=[slug]), {"name": "Mine", "target": f"group:{group.pk}"}),
            (reverse("outcomes:lead_plan", args=[slug, plan.pk]), {**BASELINE, "instruments": ["phq9@1"]}),
            (reverse("outcomes:lead_plan_time_point_remove", args=[slug, plan.pk, tp.pk]), {}),
        ]
        for url, data in posts:
            assert client.post(url, data).status_code == 404
    assert list(PlanTimePoint.objects.all()) == [tp] and MeasurementPlan.objects.count() == 1
    assert not AuditEvent.objects.filter(action__in=[Action.MEASUREMENT_PLAN_CREATED, Action.PLAN_TIME_POINT_ADDED])
    assert not rows(Action.PLAN_TIME_POINT_REMOVED)

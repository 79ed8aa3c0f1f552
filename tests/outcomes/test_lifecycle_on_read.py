"""A questionnaire is open or closed as its window and the clock say when a page is read: no job has to run first.
The periodic job only sends: one invitation per open questionnaire and one reminder."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from outcomes.models import Assessment, AssessmentStatus
from outcomes.questionnaires.lifecycle import (
    assessments_advance,
    assessments_refresh_for_groups,
    assessments_refresh_for_member,
)
from peersupport.models import RoleKind
from tests.factories import active_member, facilitated_group, person
from tests.outcomes.test_questionnaires import PHQ9_ALL_ZERO, answer_url, plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    """An active member of a planned group: baseline open from a day before joining, post in 60 days. No job ran,
    no task made the assessments (their creation waits for a commit the test never makes)."""
    group, facilitator = facilitated_group()
    plan(group)
    membership = active_member(group)  # no assessments_ensure: the page must make them
    assert not Assessment.objects.exists()
    return group, facilitator, membership


def dashboard(client, membership) -> str:
    client.force_login(membership.user)
    return client.get(reverse("member_dashboard", args=[membership.group.organisation.slug])).content.decode()


def test_a_questionnaire_whose_window_is_open_is_there_to_answer_on_the_first_page_with_no_job_run(client, member):
    group, _f, membership = member
    page = dashboard(client, membership)
    baseline = membership.assessments.get(time_point="baseline")
    assert baseline.status == AssessmentStatus.OPEN
    assert baseline.instruments == [["phq9", 1], ["gad7", 1]]
    assert reverse("outcomes:assessment", args=[group.organisation.slug, baseline.pk]) in page
    assert membership.assessments.get(time_point="post").status == AssessmentStatus.UPCOMING
    assert mail.outbox == []  # a page never sends: the job does
    response = client.post(answer_url(group, baseline, "phq9"), {**PHQ9_ALL_ZERO, "action": "submit"})
    assert response.status_code == 302


def test_the_job_then_invites_once_and_reminds_once_whoever_opened_it(client, member, on_commit):
    _g, _f, membership = member
    dashboard(client, membership)
    with on_commit():
        report = assessments_advance()
    assert (report.opened, report.invited) == (0, 1)  # opened by the page, invited by the job
    with on_commit():
        assert assessments_advance().invited == 0
    assert [m.to for m in mail.outbox] == [[membership.user.email]]
    with on_commit():
        assert assessments_advance(now=timezone.now() + dt.timedelta(days=4)).reminded == 1
        assert assessments_advance(now=timezone.now() + dt.timedelta(days=5)).reminded == 0
    assert len(mail.outbox) == 2


def test_a_member_who_started_answering_before_the_job_ran_gets_no_invitation_but_still_a_reminder(
    client, member, on_commit
):
    group, _f, membership = member
    dashboard(client, membership)
    baseline = membership.assessments.get(time_point="baseline")
    autosave = reverse("outcomes:autosave", args=[group.organisation.slug, baseline.pk, "phq9"])
    assert client.post(autosave, {"q1": "1"}).json() == {"saved": True}
    with on_commit():
        assert assessments_advance().invited == 0
    assert mail.outbox == []
    with on_commit():
        assert assessments_advance(now=timezone.now() + dt.timedelta(days=4)).reminded == 1
    assert len(mail.outbox) == 1


def test_a_questionnaire_whose_window_has_closed_is_closed_when_read_and_takes_no_more_answers(client, member):
    group, _f, membership = member
    dashboard(client, membership)
    baseline = membership.assessments.get(time_point="baseline")
    Assessment.objects.filter(pk=baseline.pk).update(closes_at=timezone.now() - dt.timedelta(minutes=1))
    client.force_login(membership.user)
    autosave = reverse("outcomes:autosave", args=[group.organisation.slug, baseline.pk, "phq9"])
    assert client.post(autosave, {"q1": "1"}).status_code == 403
    baseline.refresh_from_db()
    assert baseline.status == AssessmentStatus.EXPIRED
    assert not baseline.responses.exists()
    assert reverse("outcomes:assessment", args=[group.organisation.slug, baseline.pk]) not in dashboard(
        client, membership
    )


def test_refreshing_is_idempotent_and_writes_nothing_when_nothing_changed(member, django_assert_max_num_queries):
    _g, _f, membership = member
    first = assessments_refresh_for_member(membership.user)
    assert (first.created, first.opened, first.expired) == (2, 1, 0)
    again = assessments_refresh_for_member(membership.user)
    assert (again.created, again.opened, again.expired) == (0, 0, 0)
    with django_assert_max_num_queries(12) as queries:
        assessments_refresh_for_member(membership.user, membership.group.organisation)
    assert not [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]


def test_a_facilitators_completion_page_shows_a_questionnaire_due_as_the_clock_says(client, member):
    group, facilitator, membership = member
    client.force_login(facilitator)
    page = client.get(reverse("outcomes:completion", args=[group.organisation.slug])).content.decode()
    assert membership.assessments.get(time_point="baseline").status == AssessmentStatus.OPEN
    assert membership.user.name in page


def test_refreshing_another_organisations_groups_touches_nothing_of_this_one(member):
    _g, _f, membership = member
    other_group, _ = facilitated_group()
    person(other_group.organisation, RoleKind.LEAD)
    assessments_refresh_for_groups(type(other_group).objects.filter(pk=other_group.pk))
    assert not Assessment.objects.filter(membership=membership).exists()


@pytest.mark.parametrize(
    "body",
    [{"nonsense": "1"}, {"q1": "1", "skips_ok": "1"}, {}],
    ids=["only unknown keys", "an unknown key beside an answer", "nothing"],
)
def test_autosave_refuses_a_body_that_is_not_only_answers_with_400_and_saves_nothing(client, member, body):
    group, _f, membership = member
    dashboard(client, membership)
    baseline = membership.assessments.get(time_point="baseline")
    autosave = reverse("outcomes:autosave", args=[group.organisation.slug, baseline.pk, "phq9"])
    response = client.post(autosave, body)
    assert response.status_code == 400
    assert response.json()["saved"] is False and "Nothing saved" in response.json()["errors"][""]
    assert not baseline.responses.exists()

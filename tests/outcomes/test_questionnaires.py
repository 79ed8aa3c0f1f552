"""Answering questionnaires: plans make assessments, the job opens and reminds, submit is idempotent, alerts once."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from groups.models import MembershipEvent, MembershipStatus
from outcomes.models import (
    Assessment,
    AssessmentStatus,
    CohortState,
    PlanInstrument,
    PlanTimePoint,
    Response,
    RiskAlert,
)
from outcomes.questionnaires.lifecycle import assessments_advance, assessments_ensure
from outcomes.questionnaires.risk import alert_notify
from peersupport.models import ConsentDecision, OutboxMessage, OutboxStatus, RoleKind
from peersupport.outbox import deliver_due
from peersupport.tasks import deliver_outbox
from tests.conftest import broker_unreachable
from tests.factories import active_member, facilitated_group, person, plan, planned_member

__all__ = ["PHQ9_ALL_ZERO", "answer_url", "plan"]  # other tests import these from here

pytestmark = pytest.mark.django_db

PHQ9_ALL_ZERO = {f"q{i}": "0" for i in range(1, 10)}


@pytest.fixture
def setup(on_commit):
    group, facilitator, membership = planned_member()
    with on_commit():
        report = assessments_advance()
    assert report.opened == 1 and report.invited == 1
    baseline = membership.assessments.get(time_point="baseline")
    return group, facilitator, membership, baseline


def answer_url(group, assessment, code):
    return reverse("outcomes:instrument", args=[group.organisation.slug, assessment.pk, code])


def test_an_active_member_gets_assessments_and_an_invitation_when_the_window_opens(setup):
    group, _f, membership, baseline = setup
    assert set(membership.assessments.values_list("time_point", "status")) == {
        ("baseline", AssessmentStatus.OPEN),
        ("post", AssessmentStatus.UPCOMING),
    }
    assert baseline.instruments == [["phq9", 1], ["gad7", 1]]
    assert [m.to for m in mail.outbox] == [[membership.user.email]]
    assert f"/questionnaires/{baseline.pk}/" in mail.outbox[0].body


def test_becoming_active_creates_assessments_after_commit(on_commit):
    group, _ = facilitated_group()
    plan(group)
    with on_commit():
        membership = active_member(group)
    assert membership.assessments.count() == 2


def test_the_job_sends_one_reminder_and_nothing_after_completion_or_expiry(setup, on_commit):
    group, _f, membership, baseline = setup
    later = timezone.now() + dt.timedelta(days=4)
    mail.outbox.clear()
    with on_commit():
        assert assessments_advance(now=later).reminded == 1
    with on_commit():
        assert assessments_advance(now=later + dt.timedelta(days=1)).reminded == 0
    assert len(mail.outbox) == 1
    with on_commit():
        report = assessments_advance(now=timezone.now() + dt.timedelta(days=20))
    assert report.expired == 1
    baseline.refresh_from_db()
    assert baseline.status == AssessmentStatus.EXPIRED
    assert len(mail.outbox) == 1


def test_no_invitation_or_reminder_after_consent_is_withdrawn_or_the_member_left(on_commit):
    group, _ = facilitated_group()
    plan(group)
    withdrawn_consent = active_member(group)
    left = active_member(group)
    for m in (withdrawn_consent, left):
        assessments_ensure(m)
    ConsentDecision.objects.create(
        user=withdrawn_consent.user,
        consent_version=group.organisation.consent_versions.get(),
        action=ConsentDecision.Action.WITHDRAWN,
    )
    left.status = MembershipStatus.WITHDRAWN
    left.save()
    with on_commit():
        assessments_advance()
        assessments_advance(now=timezone.now() + dt.timedelta(days=5))
    assert mail.outbox == []


def test_a_plan_change_reaches_only_assessments_not_yet_opened(setup, on_commit):
    group, _f, membership, baseline = setup
    post_tp = PlanTimePoint.objects.get(plan__group=group, time_point="post")
    PlanInstrument.objects.create(time_point=post_tp, instrument_code="gad7", instrument_version=1, position=1)
    PlanInstrument.objects.filter(time_point__time_point="baseline").delete()
    with on_commit():
        assessments_advance(now=timezone.now() + dt.timedelta(days=61))
    baseline.refresh_from_db()
    assert baseline.instruments == [["phq9", 1], ["gad7", 1]]
    post = membership.assessments.get(time_point="post")
    assert post.status == AssessmentStatus.OPEN
    assert post.instruments == [["phq9", 1], ["gad7", 1]]


def test_a_member_answers_one_instrument_per_page_and_completes_the_set(client, setup):
    group, _f, membership, baseline = setup
    client.force_login(membership.user)
    start = client.get(reverse("outcomes:assessment", args=[group.organisation.slug, baseline.pk]))
    assert start.url == answer_url(group, baseline, "phq9")
    page = client.get(start.url).content.decode()
    assert "Questionnaire 1 of 2" in page
    assert "Little interest or pleasure in doing things" in page
    response = client.post(answer_url(group, baseline, "phq9"), {**PHQ9_ALL_ZERO, "action": "submit"})
    assert response.url == reverse("outcomes:assessment", args=[group.organisation.slug, baseline.pk])
    assert client.get(response.url).url == answer_url(group, baseline, "gad7")
    client.post(answer_url(group, baseline, "gad7"), {**{f"q{i}": "1" for i in range(1, 8)}, "action": "submit"})
    baseline.refresh_from_db()
    assert baseline.status == AssessmentStatus.COMPLETED
    scores = dict(Response.objects.filter(assessment=baseline).values_list("instrument_code", "total"))
    assert scores == {"phq9": 0.0, "gad7": 7.0}


def test_a_double_submit_stores_one_response_and_keeps_the_first_answers(client, setup):
    group, _f, membership, baseline = setup
    client.force_login(membership.user)
    url = answer_url(group, baseline, "phq9")
    client.post(url, {**PHQ9_ALL_ZERO, "action": "submit"})
    again = client.post(url, {**{f"q{i}": "3" for i in range(1, 10)}, "action": "submit"})
    assert again.status_code == 302
    assert Response.objects.filter(assessment=baseline, instrument_code="phq9").count() == 1
    assert Response.objects.get(assessment=baseline, instrument_code="phq9").total == 0.0


def test_answers_are_saved_as_given_and_found_again_on_another_device(client, setup):
    group, _f, membership, baseline = setup
    client.force_login(membership.user)
    autosave = reverse("outcomes:autosave", args=[group.organisation.slug, baseline.pk, "phq9"])
    assert client.post(autosave, {"q1": "2"}).json() == {"saved": True}
    assert client.post(autosave, {"q2": "1"}).json() == {"saved": True}
    bad = client.post(autosave, {"q3": "7"})
    assert bad.status_code == 400 and "q3" in bad.json()["errors"]
    assert Response.objects.get(assessment=baseline).answers == {"q1": 2, "q2": 1}
    client.logout()
    client.force_login(membership.user)  # a new session, as on another device
    page = client.get(answer_url(group, baseline, "phq9")).content.decode()
    assert re.search(r'name="q1"[^>]*value="2" checked', page)
    assert re.search(r'name="q2"[^>]*value="1" checked', page)


def test_validation_names_exactly_what_is_wrong_and_stores_nothing_submitted(client, setup):
    group, _f, membership, baseline = setup
    client.force_login(membership.user)
    answers = {**PHQ9_ALL_ZERO, "q7": "9"}
    response = client.post(answer_url(group, baseline, "phq9"), {**answers, "action": "submit"})
    assert response.status_code == 400
    assert "Question 7: choose one of the answers shown." in response.content.decode()
    assert not Response.objects.filter(submitted_at__isnull=False).exists()


def test_a_member_may_skip_items_after_being_told_exactly_which(client, setup):
    group, _f, membership, baseline = setup
    client.force_login(membership.user)
    answers = {**PHQ9_ALL_ZERO}
    for key in ("q4", "q5", "q6"):
        del answers[key]
    first = client.post(answer_url(group, baseline, "phq9"), {**answers, "action": "submit"})
    html = first.content.decode()
    assert first.status_code == 400
    assert "Question 4 is not answered." in html and "Question 6 is not answered." in html
    assert 'name="skips_ok"' in html
    assert not Response.objects.filter(submitted_at__isnull=False).exists()
    second = client.post(answer_url(group, baseline, "phq9"), {**answers, "skips_ok": "1", "action": "submit"})
    assert second.status_code == 302
    stored = Response.objects.get(assessment=baseline, instrument_code="phq9")
    # Three of nine missing is more than the prorating rule allows: stored, but no total (never 0).
    assert stored.submitted_at is not None and stored.total is None


def test_a_risk_answer_shows_crisis_text_and_alerts_staff_once(client, setup, on_commit):
    group, facilitator, membership, baseline = setup
    lead = person(group.organisation, RoleKind.LEAD)
    client.force_login(membership.user)
    mail.outbox.clear()
    url = answer_url(group, baseline, "phq9")
    with on_commit():
        response = client.post(url, {**PHQ9_ALL_ZERO, "q9": "1", "action": "submit"})
    assert response.url.startswith(reverse("outcomes:support", args=[group.organisation.slug, baseline.pk]))
    assert group.organisation.crisis_support_text in client.get(response.url).content.decode()
    with on_commit():
        client.post(url, {**PHQ9_ALL_ZERO, "q9": "1", "action": "submit"})
    assert RiskAlert.objects.count() == 1
    alert_mails = [m for m in mail.outbox if "Safeguarding" in m.subject]
    # One e-mail to each of the group's facilitators and the organisation's leads, once.
    assert sorted(m.to for m in alert_mails) == sorted([[facilitator.email], [lead.email]])
    for message in alert_mails:
        assert "q9" not in message.body and "answers themselves are not in this e-mail" in message.body


def test_the_alert_task_never_sends_twice(setup, on_commit):
    from outcomes.questionnaires.risk import alert_notify
    from outcomes.tasks import notify_risk_alert

    group, _f, membership, baseline = setup
    response = Response.objects.create(assessment=baseline, instrument_code="phq9", instrument_version=1)
    alert = RiskAlert.objects.create(
        response=response, rule="phq9_item9", organisation=group.organisation, group=group, member=membership.user
    )
    mail.outbox.clear()
    notify_risk_alert.delay(alert.pk)
    assert alert_notify(alert.pk) is False
    assert len(mail.outbox) == 1


def test_facilitators_acknowledge_alerts_with_a_note(client, setup):
    group, facilitator, membership, baseline = setup
    response = Response.objects.create(assessment=baseline, instrument_code="phq9", instrument_version=1)
    alert = RiskAlert.objects.create(
        response=response, rule="phq9_item9", organisation=group.organisation, group=group, member=membership.user
    )
    client.force_login(facilitator)
    page = client.get(reverse("outcomes:completion", args=[group.organisation.slug])).content.decode()
    assert membership.user.name in page and "Acknowledge" in page
    url = reverse("outcomes:alert_acknowledge", args=[group.organisation.slug, alert.pk])
    client.post(url, {"note": "  "})
    alert.refresh_from_db()
    assert alert.status == "open"
    client.post(url, {"note": "Phoned, agreed a plan with them."})
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == facilitator
    page = client.get(reverse("outcomes:completion", args=[group.organisation.slug])).content.decode()
    assert "No open alerts." in page


def test_facilitators_see_completion_but_never_answers_or_scores(client, setup):
    group, facilitator, membership, baseline = setup
    client.force_login(membership.user)
    client.post(answer_url(group, baseline, "phq9"), {**{f"q{i}": "2" for i in range(1, 10)}, "action": "submit"})
    client.force_login(facilitator)
    page = client.get(reverse("outcomes:completion", args=[group.organisation.slug])).content.decode()
    assert membership.user.name in page and "Due" in page
    assert ">18<" not in page and " 18 " not in page  # the PHQ-9 total
    assert "Moderately severe" not in page


def test_another_member_cannot_open_or_answer_someone_elses_questionnaire(client, setup):
    group, _f, membership, baseline = setup
    other = active_member(group)
    client.force_login(other.user)
    assert client.get(reverse("outcomes:assessment", args=[group.organisation.slug, baseline.pk])).status_code == 404
    assert client.get(answer_url(group, baseline, "phq9")).status_code == 404
    autosave = reverse("outcomes:autosave", args=[group.organisation.slug, baseline.pk, "phq9"])
    assert client.post(autosave, {"q1": "3"}).status_code == 404
    assert client.post(answer_url(group, baseline, "phq9"), {**PHQ9_ALL_ZERO, "action": "submit"}).status_code == 404
    assert not Response.objects.exists()


def test_another_organisation_cannot_see_completion_or_acknowledge_alerts(client, setup):
    group, _f, membership, baseline = setup
    response = Response.objects.create(assessment=baseline, instrument_code="phq9", instrument_version=1)
    alert = RiskAlert.objects.create(
        response=response, rule="phq9_item9", organisation=group.organisation, group=group, member=membership.user
    )
    _stranger_group, stranger = facilitated_group()
    stranger_lead = person(stranger.roles.get().organisation, RoleKind.LEAD)
    for outsider in (stranger, stranger_lead, membership.user):
        client.force_login(outsider)
        assert client.get(reverse("outcomes:completion", args=[group.organisation.slug])).status_code == 404
        url = reverse("outcomes:alert_acknowledge", args=[group.organisation.slug, alert.pk])
        assert client.post(url, {"note": "Seen it."}).status_code == 404
        # Their own organisation's URL with this alert's id finds nothing either.
        own = reverse("outcomes:alert_acknowledge", args=[stranger.roles.get().organisation.slug, alert.pk])
        assert client.post(own, {"note": "Seen it."}).status_code == 404
    alert.refresh_from_db()
    assert alert.status == "open" and alert.acknowledged_by is None


def test_a_facilitator_of_another_group_does_not_see_its_members_or_alerts(client, setup):
    group, _f, membership, baseline = setup
    _other_group, other_facilitator = facilitated_group(organisation=group.organisation)
    response = Response.objects.create(assessment=baseline, instrument_code="phq9", instrument_version=1)
    alert = RiskAlert.objects.create(
        response=response, rule="phq9_item9", organisation=group.organisation, group=group, member=membership.user
    )
    client.force_login(other_facilitator)
    page = client.get(reverse("outcomes:completion", args=[group.organisation.slug])).content.decode()
    assert membership.user.name not in page
    url = reverse("outcomes:alert_acknowledge", args=[group.organisation.slug, alert.pk])
    assert client.post(url, {"note": "not mine"}).status_code == 404


def test_a_member_sees_their_own_scores_over_time(client, setup):
    group, _f, membership, baseline = setup
    client.force_login(membership.user)
    client.post(answer_url(group, baseline, "phq9"), {**{f"q{i}": "1" for i in range(1, 10)}, "action": "submit"})
    page = client.get(reverse("outcomes:my_scores", args=[group.organisation.slug])).content.decode()
    assert "<svg" in page and "9.00" in page and "Baseline" in page


def test_membership_events_are_history_for_the_signal():
    group, _ = facilitated_group()
    membership = active_member(group)
    assert MembershipEvent.objects.filter(membership=membership).count() == 1
    assert Assessment.objects.count() == 0  # no plan, no assessments


def test_a_member_reads_their_own_answers_and_nobody_else_can(client, setup):
    group, facilitator, membership, baseline = setup
    client.force_login(membership.user)
    client.post(answer_url(group, baseline, "phq9"), {**PHQ9_ALL_ZERO, "q2": "2", "action": "submit"})
    response = Response.objects.get(assessment=baseline, instrument_code="phq9")
    url = reverse("outcomes:my_answers", args=[group.organisation.slug, response.pk])
    scores = client.get(reverse("outcomes:my_scores", args=[group.organisation.slug])).content.decode()
    assert url in scores
    page = client.get(url).content.decode()
    assert "Feeling down, depressed, or hopeless" in page and "More than half the days" in page
    for other in (active_member(group).user, facilitator, person(group.organisation, RoleKind.LEAD)):
        client.force_login(other)
        assert client.get(url).status_code == 404


# --- A crisis alert is never lost: its e-mails are outbox rows written with the answer -----------------


def safeguarding(outbox) -> list:
    return [m for m in outbox if "Safeguarding" in m.subject]


def test_a_risk_answer_while_redis_is_down_shows_the_normal_page_and_alerts_staff_once_it_is_back(
    client, setup, django_capture_on_commit_callbacks
):
    group, facilitator, membership, baseline = setup
    lead = person(group.organisation, RoleKind.LEAD)
    client.force_login(membership.user)
    mail.outbox.clear()
    with broker_unreachable():
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                answer_url(group, baseline, "phq9"), {**PHQ9_ALL_ZERO, "q9": "2", "action": "submit"}
            )
        took = time.monotonic() - started
        # The member sees the crisis page as usual, not an error, and is not kept waiting on the broker.
        assert response.status_code == 302
        assert response.url.startswith(reverse("outcomes:support", args=[group.organisation.slug, baseline.pk]))
        assert took < 5, f"the submit took {took:.1f} s with the broker down"
        assert safeguarding(mail.outbox) == []
    alert = RiskAlert.objects.get()
    waiting = OutboxMessage.objects.filter(subject_type="risk_alert", subject_id=str(alert.pk))
    assert sorted(waiting.values_list("recipient", "status")) == sorted(
        [(facilitator.email, OutboxStatus.PENDING), (lead.email, OutboxStatus.PENDING)]
    )
    # The figures were marked stale with the answer; the sweep recomputes them when the broker is back.
    assert CohortState.objects.filter(organisation=group.organisation, stale=True).exists()

    # The broker is back: the periodic job delivers each recipient's e-mail, once.
    assert deliver_outbox.delay().get() == 2
    sent = safeguarding(mail.outbox)
    assert sorted(m.to[0] for m in sent) == sorted([facilitator.email, lead.email])
    assert all(len(m.to) == 1 for m in sent)
    assert deliver_outbox.delay().get() == 0
    assert alert_notify(alert.pk) is False
    assert len(safeguarding(mail.outbox)) == 2
    alert.refresh_from_db()
    assert alert.notified_at is not None


def test_an_alert_whose_mail_server_is_down_is_retried_with_growing_waits_until_it_goes(setup, settings):
    group, facilitator, membership, baseline = setup
    response = baseline.responses.create(instrument_code="phq9", instrument_version=1)
    alert = RiskAlert.objects.create(
        response=response, rule="phq9_item9", organisation=group.organisation, group=group, member=membership.user
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens there
    mail.outbox.clear()
    assert alert_notify(alert.pk) is False
    message = OutboxMessage.objects.get(subject_type="risk_alert", subject_id=str(alert.pk))
    assert message.status == OutboxStatus.PENDING and message.attempts == 1
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()
    first_wait = message.next_attempt_at - timezone.now()
    assert 20 < first_wait.total_seconds() <= 30

    assert deliver_due() == 0  # not due yet: nothing is tried
    message.refresh_from_db()
    assert message.attempts == 1
    assert deliver_due(now=message.next_attempt_at) == 0  # due, tried, failed again: the wait doubles
    message.refresh_from_db()
    assert message.attempts == 2
    assert 50 < (message.next_attempt_at - timezone.now()).total_seconds() <= 60

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the mail server is back
    assert deliver_due(now=message.next_attempt_at) == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED and message.delivered_at is not None and message.last_error == ""
    assert [m.to for m in safeguarding(mail.outbox)] == [[facilitator.email]]

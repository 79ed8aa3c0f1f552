"""An unacknowledged risk alert is escalated on time, once per step, and its page shows its whole history.

The clock is frozen by passing ``now`` to the escalation service, and by ageing alerts for the periodic task.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from outcomes.models import Response, RiskAlert
from outcomes.questionnaires.risk import alert_acknowledge, alerts_escalate
from outcomes.tasks import escalate_risk_alerts
from peersupport.models import AuditEvent, RoleKind
from peersupport.outbox import deliver_due
from tests.factories import active_member, facilitated_group, person, planned_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    """A facilitated group with a plan, and one active member with a baseline assessment."""
    group, facilitator, membership = planned_member()
    return group, facilitator, membership, membership.assessments.get(time_point="baseline")


RAISED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def raise_alert(group, membership, baseline, *, at=RAISED, code="phq9") -> RiskAlert:
    response = Response.objects.create(assessment=baseline, instrument_code=code, instrument_version=1)
    alert = RiskAlert.objects.create(
        response=response, rule="phq9_item9", organisation=group.organisation, group=group, member=membership.user
    )
    RiskAlert.objects.filter(pk=alert.pk).update(created_at=at)
    alert.refresh_from_db()
    return alert


def escalation_mails():
    return sorted(m.to[0] for m in mail.outbox if "still unacknowledged" in m.subject)


def test_an_alert_nobody_acknowledged_in_the_organisations_time_is_emailed_to_every_lead_once(setup, on_commit):
    group, _facilitator, membership, baseline = setup
    organisation = group.organisation
    organisation.alert_escalation_hours = 6
    organisation.save()
    leads = sorted([person(organisation, RoleKind.LEAD).email, person(organisation, RoleKind.LEAD).email])
    alert = raise_alert(group, membership, baseline)
    mail.outbox.clear()

    with on_commit():
        assert alerts_escalate(now=RAISED + dt.timedelta(hours=5, minutes=59)) == 0
    assert escalation_mails() == []
    with on_commit():
        assert alerts_escalate(now=RAISED + dt.timedelta(hours=6)) == 1
    assert escalation_mails() == leads
    alert.refresh_from_db()
    assert alert.escalation_level == 1 and alert.escalated_at == RAISED + dt.timedelta(hours=6)
    for message in mail.outbox:
        assert membership.user.name in message.body and "answers themselves are not in this e-mail" in message.body

    with on_commit():  # later runs, and a retried or overlapping one, send nothing more
        assert alerts_escalate(now=RAISED + dt.timedelta(hours=7)) == 0
        assert alerts_escalate(now=RAISED + dt.timedelta(hours=11)) == 0
        deliver_due()
    assert escalation_mails() == leads
    events = AuditEvent.objects.filter(action=AuditEvent.Action.RISK_ALERT_ESCALATED)
    assert [(e.detail["level"], e.detail["recipients"], e.organisation_id) for e in events] == [
        (1, leads, organisation.pk)
    ]


def test_after_twice_the_time_the_out_of_hours_contact_is_told_if_one_is_set(setup, on_commit):
    group, _facilitator, membership, baseline = setup
    organisation = group.organisation
    lead = person(organisation, RoleKind.LEAD)
    alert = raise_alert(group, membership, baseline)
    mail.outbox.clear()
    with on_commit():  # default 24 hours; no out-of-hours contact: the leads only, however long it waits
        assert alerts_escalate(now=RAISED + dt.timedelta(hours=24)) == 1
        assert alerts_escalate(now=RAISED + dt.timedelta(days=5)) == 0
    assert escalation_mails() == [lead.email]

    organisation.out_of_hours_contact_name = "Crisis team"
    organisation.out_of_hours_contact_email = "crisis@example.org"
    organisation.save()
    with on_commit():
        assert alerts_escalate(now=RAISED + dt.timedelta(days=5)) == 1
        assert alerts_escalate(now=RAISED + dt.timedelta(days=6)) == 0
    assert escalation_mails() == sorted([lead.email, "crisis@example.org"])
    alert.refresh_from_db()
    assert alert.escalation_level == 2


def test_an_alert_waiting_past_both_steps_at_once_takes_them_in_order(setup, on_commit):
    group, _facilitator, membership, baseline = setup
    organisation = group.organisation
    organisation.out_of_hours_contact_name, organisation.out_of_hours_contact_email = "On call", "oncall@example.org"
    organisation.save()
    lead = person(organisation, RoleKind.LEAD)
    raise_alert(group, membership, baseline)
    mail.outbox.clear()
    with on_commit():
        assert alerts_escalate(now=RAISED + dt.timedelta(hours=49)) == 2
    assert escalation_mails() == sorted([lead.email, "oncall@example.org"])
    assert list(
        AuditEvent.objects.filter(action=AuditEvent.Action.RISK_ALERT_ESCALATED)
        .order_by("pk")
        .values_list("detail__level", flat=True)
    ) == [1, 2]


def test_an_acknowledged_alert_is_never_escalated_and_a_chase_queued_before_it_is_not_sent(setup, on_commit):
    group, facilitator, membership, baseline = setup
    person(group.organisation, RoleKind.LEAD)
    alert = raise_alert(group, membership, baseline)
    other = raise_alert(group, membership, baseline, at=RAISED + dt.timedelta(minutes=1), code="gad7")
    alert_acknowledge(alert=alert, by=facilitator, note="Phoned them.")
    mail.outbox.clear()
    # The chase for `other` is recorded, then someone acknowledges it before the outbox delivers it.
    assert alerts_escalate(now=RAISED + dt.timedelta(hours=30)) == 1
    alert_acknowledge(alert=other, by=facilitator, note="Met them at the group.")
    with on_commit():
        deliver_due(now=timezone.now() + dt.timedelta(hours=1))
    assert escalation_mails() == []
    alert.refresh_from_db()
    assert alert.escalation_level == 0


def test_the_periodic_job_escalates_on_the_default_schedule(setup, on_commit):
    group, _facilitator, membership, baseline = setup
    lead = person(group.organisation, RoleKind.LEAD)
    entry = settings.CELERY_BEAT_SCHEDULE["outcomes-escalate-risk-alerts"]
    assert entry["task"] == escalate_risk_alerts.name and entry["schedule"] <= 300
    fresh = raise_alert(group, membership, baseline, at=timezone.now() - dt.timedelta(hours=23))
    old = raise_alert(group, membership, baseline, at=timezone.now() - dt.timedelta(hours=25), code="gad7")
    mail.outbox.clear()
    with on_commit():
        assert escalate_risk_alerts.delay().get() == 1
    assert escalation_mails() == [lead.email]
    assert RiskAlert.objects.get(pk=old.pk).escalation_level == 1
    assert RiskAlert.objects.get(pk=fresh.pk).escalation_level == 0


def test_the_alert_page_shows_its_whole_history(client, setup, on_commit):
    group, facilitator, membership, baseline = setup
    lead = person(group.organisation, RoleKind.LEAD)
    with on_commit():
        alert = raise_alert(group, membership, baseline, at=timezone.now() - dt.timedelta(hours=30))
        from outcomes.questionnaires.risk import alert_queue_emails

        alert_queue_emails(alert)
    with on_commit():
        alerts_escalate()
    client.force_login(facilitator)
    url = reverse("outcomes:alert", args=[group.organisation.slug, alert.pk])
    page = client.get(url).content.decode()
    assert "Raised by an answer" in page
    assert f"E-mail to {facilitator.email}" in page and f"E-mail to {lead.email}" in page
    assert f"Escalation e-mail to {lead.email}" in page and "Escalated to the service" in page
    assert "not sent yet" not in page  # every e-mail went
    response = client.post(
        reverse("outcomes:alert_acknowledge", args=[group.organisation.slug, alert.pk]),
        {"note": "Called, they are safe tonight.", "from": "alert"},
    )
    assert response.url == url
    page = client.get(url).content.decode()
    assert f"Acknowledged by {facilitator.name}" in page and "Called, they are safe tonight." in page
    assert "Acknowledged</span>" in page


def test_nobody_else_may_open_an_alerts_page(client, setup):
    group, _facilitator, membership, baseline = setup
    alert = raise_alert(group, membership, baseline)
    url = reverse("outcomes:alert", args=[group.organisation.slug, alert.pk])
    other_group, other_facilitator = facilitated_group(organisation=group.organisation)
    outsider_lead = person(facilitated_group()[0].organisation, RoleKind.LEAD)
    for user in (membership.user, other_facilitator, outsider_lead, active_member(other_group).user):
        client.force_login(user)
        assert client.get(url).status_code == 404, user


def test_an_alert_says_how_to_reach_the_member_with_what_they_shared_or_the_services_way(client, setup):
    group, facilitator, membership, baseline = setup
    alert = raise_alert(group, membership, baseline)
    client.force_login(facilitator)
    pages = [
        reverse("outcomes:alert", args=[group.organisation.slug, alert.pk]),
        reverse("outcomes:completion", args=[group.organisation.slug]),
    ]
    for url in pages:  # nothing shared, nothing said: the page says so and what to do
        assert "the service has not said how staff reach members" in client.get(url).content.decode()

    group.organisation.member_contact_instructions = "Phone numbers are in the case records; the duty line is 0100."
    group.organisation.save()
    for url in pages:
        page = client.get(url).content.decode()
        assert "How this service reaches members:" in page and "the duty line is 0100." in page

    membership.user.safeguarding_contact = "Text 07700 900123 after 6pm"
    membership.user.save()
    for url in pages:
        page = client.get(url).content.decode()
        assert "shared by the member for this" in page and "Text 07700 900123 after 6pm" in page
        assert "the duty line is 0100." not in page


def test_a_member_shares_a_way_to_reach_them_on_their_profile(client):
    member = active_member(facilitated_group()[0]).user
    client.force_login(member)
    page = client.get(reverse("profile")).content.decode()
    assert "how staff may reach you if an answer worries them" in page.lower()
    client.post(
        reverse("profile"),
        {
            "display_name": "Sam",
            "preferred_language": member.preferred_language,
            "time_zone": member.time_zone,
            "safeguarding_contact": "07700 900456",
        },
    )
    member.refresh_from_db()
    assert member.safeguarding_contact == "07700 900456"


def test_with_no_lead_the_escalation_goes_to_the_facilitators_and_the_out_of_hours_contact(client, setup, on_commit):
    group, facilitator, membership, baseline = setup
    organisation = group.organisation
    organisation.out_of_hours_contact_name = "Crisis team"
    organisation.out_of_hours_contact_email = "crisis@example.org"
    organisation.save()
    assert not organisation.roles.filter(kind=RoleKind.LEAD).exists()
    alert = raise_alert(group, membership, baseline)
    mail.outbox.clear()

    with on_commit():
        assert alerts_escalate(now=RAISED + dt.timedelta(hours=23, minutes=59)) == 0
    assert escalation_mails() == []
    with on_commit():  # the default 24 hours, frozen: nobody leads the service, so not nobody is told
        assert alerts_escalate(now=RAISED + dt.timedelta(hours=24)) == 1
    assert escalation_mails() == sorted([facilitator.email, "crisis@example.org"])
    event = AuditEvent.objects.get(action=AuditEvent.Action.RISK_ALERT_ESCALATED, object_id=str(alert.pk))
    assert event.detail["recipients"] == sorted([facilitator.email, "crisis@example.org"])
    assert event.detail["no_lead"] is True

    client.force_login(facilitator)
    page = client.get(reverse("outcomes:alert", args=[organisation.slug, alert.pk])).content.decode()
    assert "as the service has no lead" in page
    assert f"Sent to {', '.join(sorted([facilitator.email, 'crisis@example.org']))}." in page
    assert f"Escalation e-mail to {facilitator.email}" in page


def test_with_no_lead_and_no_out_of_hours_contact_the_facilitators_are_told_and_the_history_says_so(
    client, setup, on_commit
):
    group, facilitator, membership, baseline = setup
    alert = raise_alert(group, membership, baseline)
    mail.outbox.clear()
    with on_commit():
        assert alerts_escalate(now=RAISED + dt.timedelta(hours=24)) == 1
    assert escalation_mails() == [facilitator.email]
    client.force_login(facilitator)
    page = client.get(reverse("outcomes:alert", args=[group.organisation.slug, alert.pk])).content.decode()
    assert f"Sent to {facilitator.email}." in page


def test_an_escalation_with_nobody_to_email_says_so_on_the_alert(client, setup, on_commit):
    group, facilitator, membership, baseline = setup
    alert = raise_alert(group, membership, baseline)
    group.facilitators.update(is_active=False)  # the facilitator's account was closed; no lead, no contact
    with on_commit():
        assert alerts_escalate(now=RAISED + dt.timedelta(hours=24)) == 1
    assert escalation_mails() == []
    lead = person(group.organisation, RoleKind.LEAD)  # appointed since: they open the alert
    client.force_login(lead)
    page = client.get(reverse("outcomes:alert", args=[group.organisation.slug, alert.pk])).content.decode()
    assert "There was nobody to e-mail" in page

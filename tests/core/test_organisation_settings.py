"""A lead's settings page: what it changes, who may open it, and that each change is audited."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from peersupport.models import AuditEvent, Organisation, RoleKind
from tests.factories import OrganisationFactory, person

pytestmark = pytest.mark.django_db


def _form(org: Organisation, **changes) -> dict:
    data = {
        "name": org.name,
        "time_zone": org.time_zone,
        "crisis_support_text": org.crisis_support_text,
        "alert_escalation_hours": org.alert_escalation_hours,
        "out_of_hours_contact_name": org.out_of_hours_contact_name,
        "out_of_hours_contact_email": org.out_of_hours_contact_email,
        "suppression_threshold": org.suppression_threshold,
    }
    data.update(changes)
    return data


def test_a_lead_sets_the_escalation_time_and_out_of_hours_contact_and_one_audit_row_says_what_changed(client):
    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD)
    client.force_login(lead)
    assert org.alert_escalation_hours == 24  # the default
    response = client.post(
        reverse("lead_settings", args=[org.slug]),
        _form(
            org,
            alert_escalation_hours=6,
            out_of_hours_contact_name="Crisis line",
            out_of_hours_contact_email="ooh@example.org",
        ),
        follow=True,
    )
    assert "Settings saved." in response.content.decode()
    org.refresh_from_db()
    assert (org.alert_escalation_hours, org.out_of_hours_contact_email) == (6, "ooh@example.org")
    event = AuditEvent.objects.get(action=AuditEvent.Action.ORGANISATION_SETTINGS_CHANGED)
    assert event.actor == lead and event.organisation == org
    assert event.detail["changed"] == {
        "alert_escalation_hours": [24, 6],
        "out_of_hours_contact_email": ["", "ooh@example.org"],
        "out_of_hours_contact_name": ["", "Crisis line"],
    }


def test_saving_without_a_change_writes_no_audit_row(client):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD))
    response = client.post(reverse("lead_settings", args=[org.slug]), _form(org), follow=True)
    assert "Nothing was changed." in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ORGANISATION_SETTINGS_CHANGED).exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"alert_escalation_hours": 0}, "greater than or equal to 1"),
        ({"alert_escalation_hours": 500}, "less than or equal to 168"),
        ({"out_of_hours_contact_email": "not an address", "out_of_hours_contact_name": "X"}, "valid email"),
        ({"out_of_hours_contact_email": "ooh@example.org"}, "Name the out-of-hours contact"),
        ({"time_zone": "Factory/Nowhere"}, "Select a valid choice"),
        ({"crisis_support_text": "  "}, "This field is required"),
    ],
)
def test_bad_settings_are_refused_with_a_message_and_change_nothing(client, changes, message):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD))
    before = Organisation.objects.filter(pk=org.pk).values().get()
    response = client.post(reverse("lead_settings", args=[org.slug]), _form(org, **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Organisation.objects.filter(pk=org.pk).values().get() == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ORGANISATION_SETTINGS_CHANGED).exists()


@pytest.mark.parametrize("kind", [RoleKind.FACILITATOR, RoleKind.MEMBER])
def test_only_a_lead_of_the_organisation_may_open_or_post_its_settings(client, kind):
    org = OrganisationFactory()
    other = OrganisationFactory()
    url = reverse("lead_settings", args=[org.slug])
    client.force_login(person(org, kind))
    assert client.get(url).status_code == 404
    assert client.post(url, _form(org, alert_escalation_hours=2)).status_code == 404
    client.force_login(person(other, RoleKind.LEAD))  # a lead, of another organisation
    assert client.get(url).status_code == 404
    assert client.post(url, _form(org, alert_escalation_hours=2)).status_code == 404
    org.refresh_from_db()
    assert org.alert_escalation_hours == 24


def test_the_database_refuses_an_escalation_time_out_of_range():
    org = OrganisationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.filter(pk=org.pk).update(alert_escalation_hours=0)

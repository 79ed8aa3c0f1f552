"""The consent gate: members accept the current version before any group or questionnaire page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from peersupport import selectors
from peersupport.models import AuditEvent, ConsentDecision, RoleKind
from tests.factories import ConsentVersionFactory, OrganisationFactory, consenting_member, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    organisation = OrganisationFactory()
    ConsentVersionFactory(organisation=organisation, version=1)
    return organisation


def test_a_member_without_consent_is_sent_to_the_consent_page(client, org):
    client.force_login(person(org, RoleKind.MEMBER))
    response = client.get(reverse("member_dashboard", args=[org.slug]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("consent", args=[org.slug]))


def test_accepting_consent_records_it_and_opens_the_member_pages(client, org):
    member = person(org, RoleKind.MEMBER)
    client.force_login(member)
    dashboard = reverse("member_dashboard", args=[org.slug])
    response = client.post(
        reverse("consent", args=[org.slug]) + f"?next={dashboard}", {"accept": "yes", "next": dashboard}
    )
    assert response.status_code == 302 and response.url == dashboard
    decision = ConsentDecision.objects.get(user=member)
    assert decision.action == "given" and decision.consent_version.version == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CONSENT_GIVEN, actor=member).count() == 1
    assert client.get(dashboard).status_code == 200


def test_consent_is_not_recorded_without_the_tick(client, org):
    member = person(org, RoleKind.MEMBER)
    client.force_login(member)
    response = client.post(reverse("consent", args=[org.slug]), {})
    assert response.status_code == 200
    assert "Tick the box" in response.content.decode()
    assert not ConsentDecision.objects.filter(user=member).exists()


def test_the_next_parameter_cannot_send_a_member_to_another_site(client, org):
    client.force_login(person(org, RoleKind.MEMBER))
    response = client.post(reverse("consent", args=[org.slug]), {"accept": "yes", "next": "https://evil.example/"})
    assert response.url == reverse("member_dashboard", args=[org.slug])


def test_a_newer_version_asks_again_once_it_takes_effect(client, org):
    member = consenting_member(org)
    client.force_login(member)
    dashboard = reverse("member_dashboard", args=[org.slug])
    ConsentVersionFactory(organisation=org, version=2, effective_date=timezone.localdate() + dt.timedelta(days=3))
    assert client.get(dashboard).status_code == 200  # not in effect yet
    ConsentVersionFactory(organisation=org, version=3, effective_date=timezone.localdate())
    response = client.get(dashboard)
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "changed since you last agreed" in page


def test_withdrawing_consent_is_recorded_and_stops_data_collection(client, org):
    member = consenting_member(org)
    client.force_login(member)
    assert selectors.consent_is_active(user=member, organisation=org)
    response = client.post(reverse("consent_withdraw", args=[org.slug]))
    assert response.status_code == 302
    assert not selectors.consent_is_active(user=member, organisation=org)
    actions = list(ConsentDecision.objects.filter(user=member).order_by("at", "id").values_list("action", flat=True))
    assert actions == ["given", "withdrawn"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CONSENT_WITHDRAWN, actor=member).exists()
    assert client.get(reverse("member_dashboard", args=[org.slug])).status_code == 302


def test_without_any_consent_text_the_member_is_told_to_come_back(client):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.MEMBER))
    page = client.get(reverse("consent", args=[org.slug]))
    assert "has not published its consent text yet" in page.content.decode()
    assert client.post(reverse("consent", args=[org.slug]), {"accept": "yes"}).status_code == 200
    assert not ConsentDecision.objects.exists()


def test_a_lead_publishes_a_new_version_with_the_next_number(client, org):
    lead = person(org, RoleKind.LEAD)
    client.force_login(lead)
    response = client.post(
        reverse("lead_dashboard", args=[org.slug]),
        {"consent": "1", "consent-text": "New wording.", "consent-effective_date": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    assert list(org.consent_versions.values_list("version", flat=True).order_by("version")) == [1, 2]


def test_a_consent_version_cannot_be_back_dated(client, org):
    client.force_login(person(org, RoleKind.LEAD))
    response = client.post(
        reverse("lead_dashboard", args=[org.slug]),
        {"consent": "1", "consent-text": "Sneaky.", "consent-effective_date": "2001-01-01"},
    )
    assert response.status_code == 200
    assert "cannot take effect in the past" in response.content.decode()
    assert org.consent_versions.count() == 1

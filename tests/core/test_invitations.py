"""Leads invite people with a signed, expiring, single-use link."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from peersupport import services
from peersupport.models import AuditEvent, Invitation, RoleKind
from tests.factories import OrganisationFactory, UserFactory, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganisationFactory()


def invite(client, on_commit, org, email="invitee@example.org", kind="facilitator"):
    client.force_login(person(org, RoleKind.LEAD))
    with on_commit():
        response = client.post(
            reverse("lead_dashboard", args=[org.slug]), {"invite": "1", "invite-email": email, "invite-kind": kind}
        )
    assert response.status_code == 302
    client.logout()
    return re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_an_invited_person_signs_in_and_gets_the_role(client, on_commit, org):
    url = invite(client, on_commit, org)
    invitee = UserFactory(email="invitee@example.org")
    assert mail.outbox[-1].to == ["invitee@example.org"]
    client.force_login(invitee)
    page = client.get(path_of(url))
    assert page.status_code == 200 and org.name in page.content.decode()
    response = client.post(path_of(url))
    assert response.status_code == 302
    assert invitee.roles.filter(organisation=org, kind=RoleKind.FACILITATOR).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.INVITATION_USED, actor=invitee).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ROLE_GRANTED, organisation=org).exists()


def test_an_invitation_link_works_only_once(client, on_commit, org):
    url = invite(client, on_commit, org)
    client.force_login(UserFactory(email="invitee@example.org"))
    client.post(path_of(url))
    again = client.post(path_of(url))
    assert again.status_code == 410
    assert "already been used" in again.content.decode()


def test_an_expired_invitation_is_refused(client, on_commit, org, settings):
    url = invite(client, on_commit, org)
    invitee = UserFactory(email="invitee@example.org")
    client.force_login(invitee)
    settings.INVITATION_MAX_AGE_DAYS = 0  # the signature is now older than allowed
    response = client.post(path_of(url))
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    settings.INVITATION_MAX_AGE_DAYS = 14
    Invitation.objects.update(expires_at="2000-01-01T00:00:00Z")  # the row's own expiry
    response = client.post(path_of(url))
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not invitee.roles.exists()


def test_a_tampered_invitation_is_refused(client, on_commit, org):
    url = invite(client, on_commit, org)
    invitation = Invitation.objects.get()
    other = services.invitation_token(invitation)
    tampered = path_of(url).replace(other[:5], other[:4] + ("A" if other[4] != "A" else "B"), 1)
    client.force_login(UserFactory(email="invitee@example.org"))
    response = client.post(tampered)
    assert response.status_code in (404, 410)
    forged = client.post(reverse("invitation_accept", args=["eyJpIjo5OTl9:forged:signature"]))
    assert forged.status_code == 410
    assert "not valid" in forged.content.decode()
    assert not Invitation.objects.get().is_used


def test_an_invitation_sent_to_someone_else_is_refused(client, on_commit, org):
    url = invite(client, on_commit, org, email="invitee@example.org")
    stranger = UserFactory(email="stranger@example.org")
    client.force_login(stranger)
    response = client.post(path_of(url))
    assert response.status_code == 410
    assert "another e-mail address" in response.content.decode()
    assert not stranger.roles.exists()


def test_a_signed_out_visitor_is_asked_to_sign_in_first(client, on_commit, org):
    url = invite(client, on_commit, org)
    page = client.get(path_of(url))
    assert page.status_code == 200
    assert reverse("account_login") in page.content.decode()
    assert client.post(path_of(url)).status_code == 302
    assert not Invitation.objects.get().is_used


def test_only_leads_can_invite(client, org):
    client.force_login(person(org, RoleKind.FACILITATOR))
    response = client.post(
        reverse("lead_dashboard", args=[org.slug]),
        {"invite": "1", "invite-email": "x@example.org", "invite-kind": "lead"},
    )
    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_a_bad_invitation_form_says_what_is_wrong_and_sends_nothing(client, org):
    client.force_login(person(org, RoleKind.LEAD))
    response = client.post(
        reverse("lead_dashboard", args=[org.slug]),
        {"invite": "1", "invite-email": "not-an-address", "invite-kind": "boss"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert "Select a valid choice." in html
    assert not Invitation.objects.exists()
    assert mail.outbox == []

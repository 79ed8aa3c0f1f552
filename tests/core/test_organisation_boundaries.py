"""Nothing crosses organisations, and each role sees only its own pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from peersupport.models import RoleKind
from tests.factories import OrganisationFactory, consenting_member, person

pytestmark = pytest.mark.django_db

ORG_PAGES = ["member_dashboard", "consent", "facilitator_dashboard", "lead_dashboard"]


@pytest.fixture
def two_orgs():
    return OrganisationFactory(slug="north"), OrganisationFactory(slug="south")


@pytest.mark.parametrize("kind", [RoleKind.MEMBER, RoleKind.FACILITATOR, RoleKind.LEAD])
@pytest.mark.parametrize("page", ORG_PAGES)
def test_a_person_of_organisation_a_gets_404_on_every_page_of_organisation_b(client, two_orgs, kind, page):
    north, south = two_orgs
    client.force_login(person(north, kind))
    response = client.get(reverse(page, args=[south.slug]))
    assert response.status_code == 404


@pytest.mark.parametrize("kind", [RoleKind.MEMBER, RoleKind.FACILITATOR, RoleKind.LEAD])
def test_a_person_of_organisation_a_cannot_post_to_organisation_b(client, two_orgs, kind):
    north, south = two_orgs
    client.force_login(person(north, kind))
    invite = client.post(
        reverse("lead_dashboard", args=[south.slug]),
        {"invite-email": "x@example.org", "invite-kind": "lead", "invite": "1"},
    )
    assert invite.status_code == 404
    assert not south.invitations.exists()
    withdraw = client.post(reverse("consent_withdraw", args=[south.slug]))
    assert withdraw.status_code == 404


def test_a_lead_cannot_remove_a_role_in_another_organisation(client, two_orgs):
    north, south = two_orgs
    client.force_login(person(north, RoleKind.LEAD))
    victim = person(south, RoleKind.FACILITATOR)
    role = victim.roles.get()
    response = client.post(reverse("role_remove", args=[north.slug, role.pk]))
    assert response.status_code == 302
    assert victim.roles.filter(pk=role.pk).exists()
    response = client.post(reverse("role_remove", args=[south.slug, role.pk]))
    assert response.status_code == 404
    assert victim.roles.filter(pk=role.pk).exists()


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        (RoleKind.MEMBER, {"member_dashboard", "consent"}),
        (RoleKind.FACILITATOR, {"facilitator_dashboard"}),
        (RoleKind.LEAD, {"lead_dashboard"}),
    ],
)
def test_each_role_opens_only_its_own_pages_in_its_organisation(client, two_orgs, kind, allowed):
    north, _ = two_orgs
    user = consenting_member(north) if kind == RoleKind.MEMBER else person(north, kind)
    client.force_login(user)
    for page in ORG_PAGES:
        status = client.get(reverse(page, args=[north.slug])).status_code
        assert (status == 200) == (page in allowed), (page, status)
        if page not in allowed:
            assert status == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, two_orgs):
    north, _ = two_orgs
    for page in ORG_PAGES:
        response = client.get(reverse(page, args=[north.slug]))
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))


def test_navigation_shows_only_what_the_roles_allow(client, two_orgs):
    north, south = two_orgs
    user = consenting_member(north)
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    assert reverse("member_dashboard", args=[north.slug]) in html
    assert reverse("lead_dashboard", args=[north.slug]) not in html
    assert reverse("facilitator_dashboard", args=[north.slug]) not in html
    assert south.name not in html

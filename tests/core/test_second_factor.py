"""Facilitators, leads and staff need a second factor before any page showing answers, alerts, the evaluation,
exports or the admin: without one they are sent to a page that says why and how; with one the page opens.
An organisation can ask it of its members too. Nobody who needs one can remove their last."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from peersupport import secondfactor
from peersupport.models import RoleKind
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, consenting_member, person, totp_code

pytestmark = pytest.mark.django_db


def asked_for_second_factor(response, path: str) -> bool:
    return response.status_code == 302 and response.url == (
        reverse("second_factor_required") + "?" + f"next={path.replace('/', '%2F')}"
    )


LEAD_PAGES = {
    "alerts (lead dashboard)": lambda org: reverse("lead_dashboard", args=[org.slug]),
    "evaluation": lambda org: reverse("outcomes:evaluation", args=[org.slug]),
    "exports": lambda org: reverse("outcomes:exports", args=[org.slug]),
    "item-level export": lambda org: reverse("outcomes:export_items_csv", args=[org.slug]),
    "paper answers import": lambda org: reverse("outcomes:lead_import", args=[org.slug]),
    "roster import": lambda org: reverse("outcomes:lead_roster_import", args=[org.slug]),
}


@pytest.mark.parametrize("page", sorted(LEAD_PAGES))
def test_a_lead_without_a_second_factor_is_sent_to_enrol_and_with_one_the_page_opens(client, page):
    org = OrganisationFactory()
    path = LEAD_PAGES[page](org)
    without = person(org, RoleKind.LEAD, second_factor=False)
    client.force_login(without)
    assert asked_for_second_factor(client.get(path), path), page
    client.force_login(person(org, RoleKind.LEAD))
    assert client.get(path).status_code == 200, page


def test_a_facilitator_without_a_second_factor_cannot_open_alerts_or_acknowledge_one(client):
    org = OrganisationFactory()
    facilitator = person(org, RoleKind.FACILITATOR, second_factor=False)
    client.force_login(facilitator)
    dashboard = reverse("facilitator_dashboard", args=[org.slug])
    assert asked_for_second_factor(client.get(dashboard), dashboard)
    acknowledge = reverse("outcomes:alert_acknowledge", args=[org.slug, 1])
    assert asked_for_second_factor(client.post(acknowledge, {"note": "called"}), acknowledge)


def test_staff_without_a_second_factor_cannot_open_the_admin(client):
    staff = UserFactory(is_staff=True, is_superuser=True, second_factor=False)
    client.force_login(staff)
    for path in (reverse("admin:index"), reverse("admin:peersupport_auditevent_changelist")):
        assert asked_for_second_factor(client.get(path), path)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_explanation_says_why_and_links_to_the_enrolment(client):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD, second_factor=False))
    path = reverse("outcomes:evaluation", args=[org.slug])
    html = client.get(client.get(path).url).content.decode()
    assert "shows members' answers, risk alerts or figures about them" in html
    assert reverse("mfa_activate_totp") in html
    assert f'href="{path}"' in html


def test_members_are_not_asked_unless_their_organisation_requires_it(client):
    org = OrganisationFactory()
    member = consenting_member(org)
    client.force_login(member)
    path = reverse("outcomes:questionnaires", args=[org.slug])
    assert client.get(path).status_code == 200
    org.require_second_factor_for_members = True
    org.save()
    assert asked_for_second_factor(client.get(path), path)
    assert client.get(reverse("member_dashboard", args=[org.slug])).status_code == 200  # not an answers page


def test_someone_who_needs_a_second_factor_cannot_remove_their_last(client):
    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD)
    client.force_login(lead)
    client.post(reverse("mfa_deactivate_totp"))
    assert Authenticator.objects.filter(user=lead, type=Authenticator.Type.TOTP).exists()


def test_a_lead_turns_on_an_authenticator_app_signs_in_with_its_code_and_opens_the_evaluation(client):
    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY

    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD, second_factor=False)
    evaluation = reverse("outcomes:evaluation", args=[org.slug])
    client.post(reverse("account_login"), {"login": lead.email, "password": PASSWORD})
    assert asked_for_second_factor(client.get(evaluation), evaluation)
    asked = client.get(reverse("mfa_activate_totp"))
    client.post(asked.url, {"password": PASSWORD})  # allauth asks for the password again first
    client.get(reverse("mfa_activate_totp"))
    secret = client.session[SECRET_SESSION_KEY]
    assert client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)}).status_code == 302
    assert client.get(evaluation).status_code == 200

    client.logout()
    signed = client.post(reverse("account_login"), {"login": lead.email, "password": PASSWORD})
    assert signed.url == reverse("mfa_authenticate")  # the password alone is not enough any more
    assert client.get(evaluation).status_code == 302
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret, at=time.time() + 30)})  # a fresh code
    assert client.get(evaluation).status_code == 200


def test_every_protected_page_name_is_a_page_of_the_site():
    from django.urls import NoReverseMatch
    from django.urls import reverse as rev

    for name in secondfactor.PROTECTED_URL_NAMES | secondfactor.MEMBER_PROTECTED_URL_NAMES:
        for args in ([], ["x"], ["x", 1], ["x", "x"], ["x", 1, 1], ["x", 1, "x"], ["x", "x", 1]):
            try:
                rev(name, args=args)
                break
            except NoReverseMatch:
                continue
        else:
            pytest.fail(f"{name} names no page")
    assert re.match(r"^/", reverse("second_factor_required"))

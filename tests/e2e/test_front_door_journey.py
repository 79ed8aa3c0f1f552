"""Newcomers find a group and join it on a 360 px phone, without a lead's invitation.

Signed out: the organisation's public page, the group's code, sign-up (the code kept), the e-mailed link,
consent, in the group. Signed in with no organisation: "Have a code?" on the home page, consent, in the group.
Every page on the way fits the phone and has no serious or critical axe-core finding.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail

from groups.models import GroupFormat, Membership, MembershipStatus
from peersupport.models import RoleKind
from tests.e2e.conftest import axe_findings, fits_the_phone
from tests.factories import ConsentVersionFactory, OrganisationFactory, facilitated_group

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSPHRASE = "a-long-and-unusual-passphrase"


@pytest.fixture
def harbour():
    org = OrganisationFactory(
        name="Harbour Peer Support",
        slug="harbour",
        public_page=True,
        public_description="Free peer support groups for adults living with anxiety or low mood.",
        crisis_support_text="In a crisis call the harbour line: 0800 123, day or night.",
    )
    ConsentVersionFactory(organisation=org, version=1, text="We keep your answers to learn what helps.")
    group, _ = facilitated_group(
        org,
        name="Thursday evening circle",
        format=GroupFormat.UNSTRUCTURED,
        curriculum=None,
        listed_publicly=True,
        open_to_requests=True,
        capacity=8,
    )
    return org, group


def check(page, seen: list[str]) -> None:
    """The page fits the phone and axe-core finds nothing serious or critical on it."""
    page.wait_for_load_state("load")
    assert fits_the_phone(page), f"{page.url} scrolls sideways at 360 px"
    seen.extend(axe_findings(page))


def sign_up(page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_role("textbox", name=re.compile(r"^Password\*?$")).fill(PASSPHRASE)
    page.get_by_role("textbox", name=re.compile(r"^Password \(again\)")).fill(PASSPHRASE)
    page.get_by_role("button", name="Sign Up").click()
    page.get_by_role("heading", name="Verify Your Email Address").wait_for()


def verify_by_the_emailed_link(page, base_url: str) -> None:
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    page.goto(base_url + re.sub(r"^https?://[^/]+", "", link))
    page.get_by_role("button", name="Confirm").click()


def accept_consent_and_join(page, seen: list[str]) -> None:
    page.get_by_role("heading", name="Join Thursday evening circle").wait_for()
    page.get_by_text("We keep your answers to learn what helps.").wait_for()
    check(page, seen)
    page.get_by_label("I have read this and I agree").check()
    page.get_by_role("button", name="Join the group").click()
    page.get_by_text("You are in Thursday evening circle. Welcome!").wait_for()
    check(page, seen)


def test_signed_out_from_the_public_page_to_the_group(live_server, axe_phone, harbour):
    org, group = harbour
    page, seen = axe_phone, []
    mail.outbox.clear()

    page.goto(f"{live_server.url}/p/{org.slug}/")
    page.get_by_role("heading", name="Harbour Peer Support").wait_for()
    assert page.get_by_text("In a crisis call the harbour line: 0800 123, day or night.").is_visible()
    assert page.get_by_role("heading", name="Thursday evening circle").is_visible()
    check(page, seen)

    page.get_by_label("Enrolment code").fill(group.enrolment_code.lower())
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Join Thursday evening circle").wait_for()
    check(page, seen)
    page.get_by_role("link", name="Create an account").click()
    check(page, seen)
    sign_up(page, "newcomer@example.org")
    check(page, seen)

    verify_by_the_emailed_link(page, live_server.url)
    accept_consent_and_join(page, seen)

    membership = Membership.objects.get(group=group, user__email="newcomer@example.org")
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.user.roles.filter(organisation=org, kind=RoleKind.MEMBER).exists()
    assert seen == [], seen
    assert page.console_errors == [], page.console_errors


def test_a_plain_sign_up_then_a_code_on_the_home_page(live_server, axe_phone, harbour):
    org, group = harbour
    page, seen = axe_phone, []
    mail.outbox.clear()

    page.goto(f"{live_server.url}/accounts/signup/")
    sign_up(page, "walkin@example.org")
    verify_by_the_emailed_link(page, live_server.url)

    page.get_by_role("heading", name="Have a code?").wait_for()
    check(page, seen)
    page.get_by_label("Enrolment code").fill(group.enrolment_code)
    page.get_by_role("button", name="Continue").click()
    accept_consent_and_join(page, seen)

    assert Membership.objects.get(group=group, user__email="walkin@example.org").status == MembershipStatus.ACTIVE
    assert seen == [], seen
    assert page.console_errors == [], page.console_errors


def test_a_wrong_code_on_the_home_page_says_so_and_the_page_still_fits(live_server, axe_phone, harbour):
    page, seen = axe_phone, []
    mail.outbox.clear()
    page.goto(f"{live_server.url}/accounts/signup/")
    sign_up(page, "typo@example.org")
    verify_by_the_emailed_link(page, live_server.url)
    page.get_by_label("Enrolment code").fill("NOTACODE")
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("There is no group with that code.").wait_for()
    check(page, seen)
    assert seen == [], seen
    assert not Membership.objects.filter(user__email="typo@example.org").exists()

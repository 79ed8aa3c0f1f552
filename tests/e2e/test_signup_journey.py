"""A newcomer signs up, verifies the address from the e-mail, accepts consent and lands on their dashboard."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from peersupport import services
from peersupport.models import RoleKind
from tests.factories import ConsentVersionFactory, OrganisationFactory, person

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_up_verify_consent_and_reach_the_member_dashboard(live_server, phone):
    org = OrganisationFactory(name="Harbour Peer Support", crisis_support_text="Call the harbour line: 0800 123.")
    ConsentVersionFactory(organisation=org, version=1, text="We keep your answers to learn what helps.")
    lead = person(org, RoleKind.LEAD)
    invitation = services.invitation_create(organisation=org, email="sam@example.org", kind=RoleKind.MEMBER, by=lead)
    invite_path = re.sub(r"^https?://[^/]+", "", services.invitation_url(invitation))
    mail.outbox.clear()

    page = phone
    page.goto(live_server.url + invite_path)
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill("sam@example.org")
    page.get_by_role("textbox", name=re.compile(r"^Password\*?$")).fill("a-long-and-unusual-passphrase")
    page.get_by_role("textbox", name=re.compile(r"^Password \(again\)")).fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Sign Up").click()
    page.get_by_role("heading", name="Verify Your Email Address").wait_for()

    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    page.goto(live_server.url + re.sub(r"^https?://[^/]+", "", link))
    page.get_by_role("button", name="Confirm").click()

    # Back to the invitation, now signed in.
    page.goto(live_server.url + invite_path)
    page.get_by_role("button", name="Accept the invitation").click()
    page.get_by_role("link", name="My groups").click()

    page.get_by_role("heading", name="Your consent").wait_for()
    page.get_by_text("We keep your answers to learn what helps.").wait_for()
    page.get_by_label("I have read this and I agree").check()
    page.get_by_role("button", name="Give my consent").click()

    page.get_by_role("heading", name="My groups").wait_for()
    assert page.get_by_text("Call the harbour line: 0800 123.").is_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    # Nothing wider than the phone: no sideways scrolling at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.console_errors == [], page.console_errors

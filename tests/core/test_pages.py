"""Every page: language, skip link, landmarks, local assets, a strict CSP."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from peersupport.models import RoleKind
from tests.factories import OrganisationFactory, consenting_member, person

pytestmark = pytest.mark.django_db


def pages_for_everyone(client):
    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD)
    member = consenting_member(org)
    yield "anonymous", client.get(reverse("home"))
    yield "login", client.get(reverse("account_login"))
    yield "signup", client.get(reverse("account_signup"))
    client.force_login(lead)
    yield "lead", client.get(reverse("lead_dashboard", args=[org.slug]))
    yield "profile", client.get(reverse("profile"))
    client.force_login(member)
    yield "member", client.get(reverse("member_dashboard", args=[org.slug]))
    yield "home", client.get(reverse("home"))


def test_every_page_has_language_skip_link_landmarks_and_no_inline_code(client):
    for name, response in pages_for_everyone(client):
        assert response.status_code == 200, name
        html = response.content.decode()
        assert re.search(r'<html lang="en">', html), name
        assert 'href="#main"' in html and 'id="main"' in html, name
        assert "<main" in html and "<nav" in html and "<header" in html, name
        assert 'name="viewport"' in html, name
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script on {name}"
        assert not re.search(r"<style", html), f"inline style on {name}"
        assert not re.search(r'\sstyle="', html), f"style attribute on {name}"
        assert not re.search(r'(src|href)="(https?:)?//', html), f"external asset on {name}"


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get(reverse("account_login"))
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_the_member_dashboard_shows_the_organisations_crisis_text(client):
    org = OrganisationFactory(crisis_support_text="Ring the night line on 0800 000 000.")
    client.force_login(consenting_member(org))
    html = client.get(reverse("member_dashboard", args=[org.slug])).content.decode()
    assert "Ring the night line on 0800 000 000." in html


def test_the_lead_dashboard_counts_people_by_role(client):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD))
    for _ in range(3):
        consenting_member(org)
    person(org, RoleKind.MEMBER)  # no consent yet
    html = client.get(reverse("lead_dashboard", args=[org.slug])).content.decode()
    assert "4 members" in html
    assert "3 with current consent" in html
    assert "1 lead" in html


def test_a_profile_with_an_unknown_time_zone_is_refused(client):
    org = OrganisationFactory()
    user = person(org, RoleKind.MEMBER)
    client.force_login(user)
    response = client.post(
        reverse("profile"), {"display_name": "Sam", "preferred_language": "en", "time_zone": "Mars/Olympus"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    user.refresh_from_db()
    assert user.time_zone == "UTC"
    response = client.post(
        reverse("profile"),
        {"display_name": "Sam", "preferred_language": "en", "time_zone": "America/Chicago", "year_of_birth": "1990"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.time_zone, user.year_of_birth) == ("America/Chicago", 1990)

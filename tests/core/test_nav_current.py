"""The navigation tells a screen reader which page is shown (aria-current="page"), and only that one."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from peersupport.models import RoleKind
from tests.factories import OrganisationFactory, person

pytestmark = pytest.mark.django_db


def current_links(html: str) -> list[str]:
    return re.findall(r'<a class="nav-link active" href="([^"]+)" aria-current="page">', html)


def test_the_page_shown_is_the_one_current_link_of_the_navigation(client):
    organisation = OrganisationFactory(name="Harbour & Co")
    lead = person(organisation, RoleKind.LEAD)
    client.force_login(lead)
    dashboard = reverse("lead_dashboard", args=[organisation.slug])
    html = client.get(dashboard).content.decode()
    assert current_links(html) == [dashboard]
    assert "Harbour &amp; Co: lead" in html  # the organisation's name escaped once
    profile = reverse("profile")
    html = client.get(profile).content.decode()
    assert current_links(html) == [profile]
    assert f'<a class="nav-link" href="{dashboard}">' in html


def test_signed_out_the_sign_in_page_is_current(client):
    html = client.get(reverse("account_login")).content.decode()
    assert current_links(html) == [reverse("account_login")]

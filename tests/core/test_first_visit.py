"""What a first visitor notices: the icon, counted words, the register's buttons, and the time-zone picker."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from peersupport import services
from peersupport.forms import ProfileForm
from peersupport.models import RoleKind
from tests.factories import GroupSessionFactory, OrganisationFactory, UserFactory, active_member, facilitated_group

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_sites_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.url == "/static/favicon.svg"
    assert finders.find("favicon.svg")


def test_the_register_counts_one_member_in_the_singular_and_names_its_second_button_plainly(client):
    group, facilitator = facilitated_group()
    membership = active_member(group)
    session = GroupSessionFactory(group=group)
    client.force_login(facilitator)
    url = reverse("sessions:register", args=[group.organisation.slug, session.pk])
    assert "Save, marking everyone else present" in client.get(url).content.decode()
    response = client.post(url, {f"m{membership.pk}": "present"}, follow=True)
    page = response.content.decode()
    assert "Register saved for 1 member." in page and "1 members" not in page


def test_the_time_zone_picker_offers_the_organisations_zone_first_and_no_pseudo_zones():
    organisation = OrganisationFactory(time_zone="America/New_York")
    user = UserFactory(time_zone="Europe/Paris")
    services.role_grant(user=user, organisation=organisation, kind=RoleKind.MEMBER)
    field = ProfileForm(instance=user).fields["time_zone"]
    groups = dict(field.choices)
    suggested = [zone for zone, _ in next(iter(field.choices))[1]]
    assert suggested == ["Europe/Paris", "America/New_York"]
    every = [zone for options in groups.values() for zone, _ in options]
    for junk in ("Factory", "localtime", "posixrules", "Etc/GMT+5", "US/Eastern"):
        assert junk not in every
    assert len(every) == len(set(every)) and 300 < len(every) < 500
    assert "Pacific/Auckland" in every and "America/Argentina/Buenos_Aires" in every


def test_a_zone_outside_the_list_saved_before_is_kept_when_the_profile_is_saved(client):
    user = UserFactory(time_zone="US/Eastern")
    client.force_login(user)
    data = {"display_name": "Sam", "preferred_language": "en", "time_zone": "US/Eastern"}
    client.post(reverse("profile"), data)
    user.refresh_from_db()
    assert (user.display_name, user.time_zone) == ("Sam", "US/Eastern")


def test_a_new_member_takes_the_organisations_zone_and_keeps_a_zone_they_chose():
    organisation = OrganisationFactory(time_zone="America/New_York")
    newcomer = UserFactory()
    assert newcomer.time_zone == "UTC"
    services.role_grant(user=newcomer, organisation=organisation, kind=RoleKind.MEMBER)
    newcomer.refresh_from_db()
    assert newcomer.time_zone == "America/New_York"

    chose = UserFactory(time_zone="Asia/Tokyo")
    services.role_grant(user=chose, organisation=organisation, kind=RoleKind.MEMBER)
    chose.refresh_from_db()
    assert chose.time_zone == "Asia/Tokyo"

    # A second organisation does not move someone already placed by their first.
    services.role_grant(user=newcomer, organisation=OrganisationFactory(time_zone="Asia/Tokyo"), kind="member")
    newcomer.refresh_from_db()
    assert newcomer.time_zone == "America/New_York"

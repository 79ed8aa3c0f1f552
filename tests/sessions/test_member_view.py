"""Members see their next sessions in their own time zone; the online link only when active and near the start."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from groups.models import Membership, MembershipStatus
from peersupport.models import User
from sessions import selectors
from tests.factories import consenting_member

from .conftest import LINK, session_in

pytestmark = pytest.mark.django_db


def upcoming_html(client, user: User, organisation) -> str:
    client.force_login(user)
    response = client.get(reverse("sessions:member_upcoming", args=[organisation.slug]))
    assert response.status_code == 200
    return response.content.decode()


def test_an_active_member_sees_the_link_from_30_minutes_before_the_start_until_the_end(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(minutes=20))
    html = upcoming_html(client, world.active[0], world.group.organisation)
    assert LINK in html
    assert "Join online now" in html
    now = session.starts_at
    assert selectors.link_is_open(session, now=now - selectors.LINK_OPENS_BEFORE)
    assert not selectors.link_is_open(session, now=now - selectors.LINK_OPENS_BEFORE - dt.timedelta(seconds=1))
    assert selectors.link_is_open(session, now=session.ends_at)
    assert not selectors.link_is_open(session, now=session.ends_at + dt.timedelta(seconds=1))


def test_the_link_is_not_shown_long_before_the_session(client, world):
    session_in(world.group, starts_in=dt.timedelta(hours=2))
    html = upcoming_html(client, world.active[0], world.group.organisation)
    assert world.group.name in html
    assert LINK not in html


def test_a_cancelled_session_shows_as_cancelled_without_a_link(client, world):
    from sessions import services

    session = session_in(world.group, starts_in=dt.timedelta(minutes=5))
    services.session_cancel(session=session, by=None, note="Snow.")
    html = upcoming_html(client, world.active[0], world.group.organisation)
    assert "Cancelled" in html and "Snow." in html
    assert LINK not in html


@pytest.mark.parametrize(
    "who", ["waitlisted", "withdrawn", "requested", "invited", "other group's member", "other organisation's member"]
)
def test_a_member_who_is_not_active_in_the_group_never_sees_its_online_link_on_the_page(client, world, who):
    session_in(world.group, starts_in=dt.timedelta(minutes=5))
    user = world.outsiders[who]
    membership = Membership.objects.filter(user=user).select_related("group__organisation").get()
    html = upcoming_html(client, user, membership.group.organisation)
    assert LINK not in html
    assert not any(row.online_url == LINK for row in selectors.upcoming_for_member(user))


def test_a_member_who_left_no_longer_sees_the_link(client, world):
    session_in(world.group, starts_in=dt.timedelta(minutes=5))
    user = world.active[0]
    Membership.objects.filter(group=world.group, user=user).update(status=MembershipStatus.WITHDRAWN)
    assert LINK not in upcoming_html(client, user, world.group.organisation)


def test_times_are_shown_in_the_members_own_time_zone(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(days=3))
    user = world.active[0]
    user.time_zone = "America/New_York"
    user.save()
    html = upcoming_html(client, user, world.group.organisation)
    local = session.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert local.strftime("%H:%M") in html
    assert "America/New_York" in html


def test_the_upcoming_page_needs_consent(client, world):
    user = consenting_member(world.group.organisation)
    from peersupport import services as core_services

    core_services.consent_withdraw(user=user, organisation=world.group.organisation)
    client.force_login(user)
    response = client.get(reverse("sessions:member_upcoming", args=[world.group.organisation.slug]))
    assert response.status_code == 302
    assert reverse("consent", args=[world.group.organisation.slug]) in response.url

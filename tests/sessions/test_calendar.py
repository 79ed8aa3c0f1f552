"""The member's tokenised calendar feed (ICS)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from icalendar import Calendar

from groups.models import Membership, MembershipStatus
from sessions import recurrence, services
from sessions.models import MemberPreferences

from .conftest import LINK, session_in

pytestmark = pytest.mark.django_db


def feed(client, user):
    token = services.calendar_token_create(user=user).calendar_token
    response = client.get(reverse("sessions:calendar_feed", args=[token]))
    return response


def events(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return [c for c in Calendar.from_ical(response.content).walk() if c.name == "VEVENT"]


def test_the_feed_lists_the_active_members_sessions_in_utc_with_the_online_link(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(days=3))
    [event] = events(feed(client, world.active[0]))
    assert event.decoded("dtstart") == session.starts_at
    assert event.decoded("dtend") == session.ends_at
    assert str(event["url"]) == LINK
    assert LINK in str(event["description"])
    assert str(event["summary"]).startswith(world.group.name)


@pytest.mark.parametrize(
    "who", ["waitlisted", "withdrawn", "requested", "invited", "other group's member", "other organisation's member"]
)
def test_a_member_who_is_not_active_in_the_group_never_gets_its_link_in_the_feed(client, world, who):
    session_in(world.group, starts_in=dt.timedelta(days=3))
    response = feed(client, world.outsiders[who])
    body = response.content.decode()
    assert LINK not in body
    assert world.group.name not in body


def test_a_cancelled_session_is_marked_cancelled_without_a_link(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(days=3))
    services.session_cancel(session=session, by=None)
    [event] = events(feed(client, world.active[0]))
    assert str(event["status"]) == "CANCELLED"
    assert (
        LINK
        not in client.get(
            reverse("sessions:calendar_feed", args=[MemberPreferences.objects.get(user=world.active[0]).calendar_token])
        ).content.decode()
    )


def test_a_revoked_token_gives_404_and_a_new_token_works_while_the_old_one_does_not(client, world):
    user = world.active[0]
    first = services.calendar_token_create(user=user).calendar_token
    assert client.get(reverse("sessions:calendar_feed", args=[first])).status_code == 200
    services.calendar_token_revoke(user=user)
    assert client.get(reverse("sessions:calendar_feed", args=[first])).status_code == 404
    second = services.calendar_token_create(user=user).calendar_token
    assert second != first
    assert client.get(reverse("sessions:calendar_feed", args=[second])).status_code == 200
    assert client.get(reverse("sessions:calendar_feed", args=[first])).status_code == 404
    assert client.get(reverse("sessions:calendar_feed", args=["not-a-token"])).status_code == 404


def test_a_member_who_leaves_drops_out_of_the_feed(client, world):
    session_in(world.group, starts_in=dt.timedelta(days=3))
    user = world.active[0]
    Membership.objects.filter(user=user, group=world.group).update(status=MembershipStatus.WITHDRAWN)
    assert events(feed(client, user)) == []


def test_the_member_creates_revokes_and_recreates_the_address_on_the_settings_page(client, world):
    user = world.active[0]
    client.force_login(user)
    url = reverse("sessions:calendar_settings")
    assert "Make my calendar address" in client.get(url).content.decode()
    client.post(url, {"action": "create"})
    token = MemberPreferences.objects.get(user=user).calendar_token
    assert token and token in client.get(url).content.decode()
    client.post(url, {"action": "revoke"})
    assert MemberPreferences.objects.get(user=user).calendar_token is None
    client.post(url, {"action": "create"})
    assert MemberPreferences.objects.get(user=user).calendar_token not in (None, token)


def test_the_member_switches_reminders_off_and_on_on_the_settings_page(client, world):
    user = world.active[0]
    client.force_login(user)
    url = reverse("sessions:calendar_settings")
    client.post(url, {"action": "reminders"})
    assert MemberPreferences.objects.get(user=user).email_reminders is False
    client.post(url, {"action": "reminders", "email_reminders": "on"})
    assert MemberPreferences.objects.get(user=user).email_reminders is True


def test_an_events_uid_stays_the_same_when_the_site_moves_to_another_address(client, world, settings):
    session = session_in(world.group, starts_in=dt.timedelta(days=3))
    other = session_in(world.group, starts_in=dt.timedelta(days=10))
    token = services.calendar_token_create(user=world.active[0]).calendar_token
    url = reverse("sessions:calendar_feed", args=[token])
    settings.SITE_URL = "http://127.0.0.1:8000"
    before = {str(e["uid"]) for e in events(client.get(url))}
    settings.SITE_URL = "https://peersupport.example.org"
    after = {str(e["uid"]) for e in events(client.get(url))}
    assert before == after == {str(session.uid), str(other.uid)}
    assert all("127.0.0.1" not in uid and "example.org" not in uid and "@" not in uid for uid in after)


def test_each_session_has_its_own_uid_also_when_a_schedule_is_generated_at_once(world):
    rule = recurrence.Rule(
        start_date=dt.date.today() + dt.timedelta(days=1),
        weekdays=frozenset({0, 3}),
        local_time=dt.time(18, 0),
        time_zone=world.group.time_zone,
        duration_minutes=60,
        count=6,
    )
    created = services.schedule_generate(group=world.group, rule=rule, by=None, confirm_overlap=True)
    assert len({s.uid for s in created}) == 6

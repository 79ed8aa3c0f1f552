"""The day-before reminder: once per session and member, never when cancelled, opted out or not active."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from groups.models import Membership, MembershipStatus
from peersupport import services as core_services
from sessions import services
from sessions.models import SessionReminder
from sessions.tasks import send_session_reminders
from tests.factories import GroupSessionFactory

from .conftest import LINK, session_in

pytestmark = pytest.mark.django_db


def run(on_commit) -> int:
    with on_commit():
        return send_session_reminders.delay().get()


def test_the_reminder_task_is_scheduled_by_beat():
    entries = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "sessions.tasks.send_session_reminders"
    ]
    assert len(entries) == 1


def test_a_reminder_task_run_twice_sends_one_email_to_each_active_member(world, on_commit, mailoutbox):
    session = session_in(world.group, starts_in=dt.timedelta(hours=20))
    assert run(on_commit) == len(world.active)
    assert run(on_commit) == 0
    assert sorted(m.to[0] for m in mailoutbox) == sorted(u.email for u in world.active)
    assert SessionReminder.objects.filter(session=session).count() == len(world.active)
    assert all(LINK in m.body for m in mailoutbox)
    assert all(world.group.name in m.subject for m in mailoutbox)


def test_no_reminder_is_sent_for_a_session_more_than_a_day_away_or_already_started(world, on_commit, mailoutbox):
    session_in(world.group, starts_in=dt.timedelta(hours=30))
    session_in(world.group, starts_in=dt.timedelta(minutes=-5))
    assert run(on_commit) == 0
    assert mailoutbox == []


def test_nothing_is_sent_for_a_cancelled_session(world, on_commit, mailoutbox):
    session = session_in(world.group, starts_in=dt.timedelta(hours=20))
    services.session_cancel(session=session, by=None)
    mailoutbox.clear()
    assert run(on_commit) == 0
    assert mailoutbox == []


def test_nothing_is_sent_after_the_member_opts_out(world, on_commit, mailoutbox):
    session_in(world.group, starts_in=dt.timedelta(hours=20))
    opted_out, other = world.active
    services.reminders_set(user=opted_out, email_reminders=False)
    run(on_commit)
    assert [m.to for m in mailoutbox] == [[other.email]]


def test_nothing_is_sent_to_a_member_who_withdrew_consent(world, on_commit, mailoutbox):
    session_in(world.group, starts_in=dt.timedelta(hours=20))
    withdrawn, other = world.active
    core_services.consent_withdraw(user=withdrawn, organisation=world.group.organisation)
    run(on_commit)
    assert [m.to for m in mailoutbox] == [[other.email]]


def test_no_member_who_is_not_active_receives_the_reminder_or_its_link(world, on_commit, mailoutbox):
    session_in(world.group, starts_in=dt.timedelta(hours=20))
    left = world.active[0]
    Membership.objects.filter(group=world.group, user=left).update(status=MembershipStatus.WITHDRAWN)
    run(on_commit)
    recipients = {m.to[0] for m in mailoutbox}
    assert recipients == {world.active[1].email}
    for user in [left, *world.outsiders.values()]:
        assert user.email not in recipients
    assert not any(LINK in m.body for m in mailoutbox if m.to[0] != world.active[1].email)


def test_a_session_moved_after_its_reminder_is_reminded_again_for_the_new_time(world, on_commit, mailoutbox):
    session = session_in(world.group, starts_in=dt.timedelta(hours=20))
    run(on_commit)
    with on_commit():
        services.session_change(
            session=session,
            starts_at=session.starts_at + dt.timedelta(hours=2),
            ends_at=session.ends_at + dt.timedelta(hours=2),
            by=None,
        )
    mailoutbox.clear()
    assert run(on_commit) == len(world.active)


def test_a_member_reminded_in_another_run_concurrently_is_not_reminded_again(world, on_commit, mailoutbox):
    session = session_in(world.group, starts_in=dt.timedelta(hours=20))
    # As if a parallel run committed its row between our read and our write.
    with on_commit():
        assert services.members._remind(session=session, user=world.active[0], now=timezone.now()) == 1
        assert services.members._remind(session=session, user=world.active[0], now=timezone.now()) == 0
    assert len(mailoutbox) == 1


def test_a_reminder_for_a_session_later_the_same_day_says_today_in_the_members_own_zone(world, on_commit, mailoutbox):
    # 08:00 UTC: 08:00 in London, 21:00 in Auckland (UTC+13 in March). The session at 18:00 UTC is this evening
    # in London but 07:00 tomorrow in Auckland.
    now = dt.datetime(2026, 3, 10, 8, 0, tzinfo=dt.UTC)
    london, auckland = world.active
    london.time_zone, auckland.time_zone = "Europe/London", "Pacific/Auckland"
    london.save(update_fields=["time_zone"])
    auckland.save(update_fields=["time_zone"])
    starts_at = dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC)
    GroupSessionFactory(group=world.group, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=90))
    with on_commit():
        assert services.reminders_send(now=now) == 2
    mail = {m.to[0]: m for m in mailoutbox}
    assert mail[london.email].subject.endswith(f"Reminder: {world.group.name} today")
    assert f"{world.group.name} meets today: Tuesday 10 March 2026, 18:00–19:30 (GMT)" in mail[london.email].body
    assert "tomorrow" not in mail[london.email].body
    assert mail[auckland.email].subject.endswith(f"Reminder: {world.group.name} tomorrow")
    assert "meets tomorrow: Wednesday 11 March 2026, 07:00–08:30" in mail[auckland.email].body

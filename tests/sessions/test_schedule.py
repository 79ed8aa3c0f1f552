"""Generating, changing and cancelling sessions."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from groups.models import GroupFormat
from peersupport.models import AuditEvent
from sessions import services
from sessions.models import GroupSession, SessionStatus
from sessions.recurrence import Rule
from tests.factories import SupportGroupFactory, facilitated_group

from .conftest import session_in

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")


def weekly(group, **overrides) -> Rule:
    values = {
        "start_date": dt.date(2030, 3, 1),
        "weekdays": frozenset({3}),
        "local_time": dt.time(18),
        "time_zone": group.time_zone,
        "count": 8,
    }
    values.update(overrides)
    return Rule(**values)


def form_data(**overrides):
    data = {
        "interval_weeks": "1",
        "weekdays": ["3"],
        "start_date": "2030-03-01",
        "local_time": "18:00",
        "duration_minutes": "90",
        "count": "8",
        "until": "",
        "skip_dates": "",
    }
    data.update(overrides)
    return data


def test_a_structured_group_gets_sessions_mapped_to_curriculum_units_in_order():
    group, facilitator = facilitated_group()
    sessions = services.schedule_generate(group=group, rule=weekly(group), by=facilitator)
    assert [s.sequence for s in sessions] == list(range(1, 9))
    assert [s.unit.position for s in sessions] == list(range(1, 9))
    assert all(s.unit.curriculum_id == group.curriculum_id for s in sessions)
    # Stored in UTC: 18:00 GMT in early March is 18:00 UTC; 18:00 BST in April is 17:00 UTC.
    assert sessions[0].starts_at == dt.datetime(2030, 3, 7, 18, tzinfo=dt.UTC)
    assert sessions[-1].starts_at.astimezone(LONDON).time() == dt.time(18)
    assert sessions[-1].starts_at.hour == 17
    assert AuditEvent.objects.filter(action=services.Action.SCHEDULE_GENERATED, actor=facilitator).count() == 1


def test_an_unstructured_group_gets_sessions_without_units():
    group = SupportGroupFactory(format=GroupFormat.UNSTRUCTURED, curriculum=None)
    sessions = services.schedule_generate(group=group, rule=weekly(group, count=3), by=None)
    assert [s.unit for s in sessions] == [None, None, None]


def test_generating_again_appends_after_the_last_session_and_never_duplicates():
    group, facilitator = facilitated_group()
    services.schedule_generate(group=group, rule=weekly(group, count=4), by=facilitator)
    with pytest.raises(ValidationError, match="already has sessions until"):
        services.schedule_generate(group=group, rule=weekly(group, count=4), by=facilitator)
    assert GroupSession.objects.filter(group=group).count() == 4
    more = services.schedule_generate(
        group=group, rule=weekly(group, start_date=dt.date(2030, 4, 1), count=4), by=facilitator
    )
    assert [s.sequence for s in more] == [5, 6, 7, 8]
    assert [s.unit.position for s in more] == [5, 6, 7, 8]
    starts = list(GroupSession.objects.filter(group=group).values_list("starts_at", flat=True))
    assert len(starts) == len(set(starts)) == 8


def test_sessions_beyond_the_curriculum_have_no_unit():
    group, facilitator = facilitated_group()
    sessions = services.schedule_generate(group=group, rule=weekly(group, count=10), by=facilitator)
    assert sessions[7].unit.position == 8
    assert sessions[8].unit is None and sessions[9].unit is None


def test_a_facilitator_in_two_sessions_at_once_is_warned_and_can_confirm_past_it():
    group, facilitator = facilitated_group()
    other = SupportGroupFactory(organisation=group.organisation)
    other.facilitations.create(user=facilitator)
    services.schedule_generate(group=other, rule=weekly(other, count=2), by=facilitator)
    with pytest.raises(services.OverlapWarning) as caught:
        services.schedule_generate(group=group, rule=weekly(group, count=2), by=facilitator)
    assert len(caught.value.clashes) == 2
    assert not GroupSession.objects.filter(group=group).exists()
    created = services.schedule_generate(group=group, rule=weekly(group, count=2), by=facilitator, confirm_overlap=True)
    assert len(created) == 2


def test_the_generate_page_warns_about_an_overlap_and_saves_when_confirmed(client):
    group, facilitator = facilitated_group()
    other = SupportGroupFactory(organisation=group.organisation)
    other.facilitations.create(user=facilitator)
    services.schedule_generate(group=other, rule=weekly(other, count=2), by=facilitator)
    client.force_login(facilitator)
    url = reverse("sessions:generate", args=[group.organisation.slug, group.pk])
    response = client.post(url, form_data(count="2"))
    assert response.status_code == 200
    assert "two sessions at once" in response.content.decode()
    assert not GroupSession.objects.filter(group=group).exists()
    response = client.post(url, form_data(count="2", confirm_overlap="on"))
    assert response.status_code == 302
    assert GroupSession.objects.filter(group=group).count() == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"weekdays": []}, "Choose at least one day of the week."),
        ({"count": "0"}, "between 1 and 200"),
        ({"count": "201"}, "between 1 and 200"),
        ({"count": "", "until": "2030-02-01"}, "The end date is before the start date"),
        ({"count": "", "until": ""}, "either a number of sessions or an end date"),
        ({"skip_dates": "Christmas"}, "is not a date"),
        ({"duration_minutes": "5"}, "greater than or equal to 15"),
    ],
)
def test_a_bad_rule_on_the_generate_page_gets_a_clear_message_and_changes_nothing(client, overrides, message):
    group, facilitator = facilitated_group()
    client.force_login(facilitator)
    response = client.post(
        reverse("sessions:generate", args=[group.organisation.slug, group.pk]), form_data(**overrides)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not GroupSession.objects.exists()


def test_a_group_with_an_unknown_time_zone_gets_a_clear_message_and_no_sessions(client):
    group, facilitator = facilitated_group()
    type(group).objects.filter(pk=group.pk).update(time_zone="Mars/Olympus")
    client.force_login(facilitator)
    response = client.post(reverse("sessions:generate", args=[group.organisation.slug, group.pk]), form_data())
    assert response.status_code == 200
    assert "not a known time zone" in response.content.decode()
    assert not GroupSession.objects.exists()


def test_the_schedule_page_shows_local_times_in_the_groups_time_zone(client):
    group, facilitator = facilitated_group(time_zone="America/New_York")
    services.schedule_generate(
        group=group, rule=weekly(group, start_date=dt.date(2030, 3, 1), count=3, weekdays=frozenset({0})), by=None
    )
    client.force_login(facilitator)
    html = client.get(reverse("sessions:schedule", args=[group.organisation.slug, group.pk])).content.decode()
    # Mon 4 March 2030 (EST) and Mon 11 March (EDT, after the change on the 10th): both at 18:00 local.
    assert "Mon 4 Mar 2030, 18:00–19:30 EST" in html
    assert "Mon 11 Mar 2030, 18:00–19:30 EDT" in html


def test_rescheduling_moves_the_session_tells_active_members_and_allows_a_new_reminder(
    client, world, on_commit, mailoutbox
):
    session = session_in(world.group, starts_in=dt.timedelta(days=3))
    session.reminders.create(user=world.active[0])
    client.force_login(world.facilitator)
    local_day = (session.starts_at + dt.timedelta(days=1)).astimezone(LONDON).date()
    with on_commit():
        response = client.post(
            reverse("sessions:edit", args=[world.group.organisation.slug, session.pk]),
            {
                "date": local_day.isoformat(),
                "local_time": "19:15",
                "duration_minutes": "60",
                "location": "",
                "online_url": "",
            },
        )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.starts_at.astimezone(LONDON).time() == dt.time(19, 15)
    assert session.ends_at - session.starts_at == dt.timedelta(minutes=60)
    assert not session.reminders.exists()
    assert sorted(m.to[0] for m in mailoutbox) == sorted(u.email for u in world.active)
    assert all("has moved" in m.subject for m in mailoutbox)


def test_editing_a_session_where_the_session_ends_before_it_starts_is_refused(world):
    session = session_in(world.group, starts_in=dt.timedelta(days=3))
    with pytest.raises(ValidationError):
        services.session_change(
            session=session, starts_at=session.starts_at, ends_at=session.starts_at - dt.timedelta(hours=1), by=None
        )
    before = session.starts_at
    session.refresh_from_db()
    assert session.starts_at == before


def test_cancel_sends_one_notice_to_each_active_member_and_not_to_others(client, world, on_commit, mailoutbox):
    session = session_in(world.group, starts_in=dt.timedelta(days=2))
    client.force_login(world.facilitator)
    url = reverse("sessions:cancel", args=[world.group.organisation.slug, session.pk])
    with on_commit():
        response = client.post(url, {"note": "The room is flooded."})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED
    recipients = [m.to for m in mailoutbox]
    assert sorted(recipients) == sorted([[u.email] for u in world.active])
    assert all("The room is flooded." in m.body for m in mailoutbox)
    assert all(world.group.online_url not in m.body for m in mailoutbox)
    outsider_emails = {u.email for u in world.outsiders.values()} | {world.facilitator.email}
    assert not outsider_emails & {r[0] for r in recipients}
    # Cancelling again sends nothing more.
    with on_commit():
        client.post(url, {"note": ""})
    assert len(mailoutbox) == len(world.active)


def test_a_cancel_that_rolls_back_sends_nothing(world, mailoutbox, django_capture_on_commit_callbacks):
    session = session_in(world.group, starts_in=dt.timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.session_cancel(session=session, by=world.facilitator)
    deliveries = [c for c in callbacks if getattr(c, "__name__", "") != "_seal_now"]  # the audit row's seal is one more
    assert len(deliveries) == len(world.active)
    assert mailoutbox == []

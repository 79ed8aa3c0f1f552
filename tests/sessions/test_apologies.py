"""A member sends apologies for one session: the register shows them, no reminder goes, figures count an apology."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from groups.models import Membership
from groups.selectors import group_with_figures
from peersupport.models import AuditEvent
from sessions import services
from sessions.models import Attendance, AttendanceStatus, SessionReminder

from .conftest import session_in

pytestmark = pytest.mark.django_db


def apologies_url(session) -> str:
    return reverse("sessions:apologies", args=[session.group.organisation.slug, session.pk])


def upcoming_url(group) -> str:
    return reverse("sessions:member_upcoming", args=[group.organisation.slug])


def test_a_member_sends_apologies_from_their_sessions_page_and_the_register_shows_them(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(days=2))
    member = world.active[0]
    client.force_login(member)
    page = client.get(upcoming_url(world.group)).content.decode()
    assert "Send apologies: I cannot come" in page
    response = client.post(apologies_url(session), {"action": "send", "next": upcoming_url(world.group)}, follow=True)
    page = response.content.decode()
    assert "Your apologies are sent" in page
    assert "Apologies sent" in page and "I can come after all" in page
    membership = Membership.objects.get(group=world.group, user=member)
    attendance = Attendance.objects.get(session=session)
    assert (attendance.membership, attendance.status, attendance.recorded_by) == (membership, "apologies", member)
    assert AuditEvent.objects.filter(action=services.Action.APOLOGIES_SENT, actor=member).count() == 1

    client.force_login(world.facilitator)
    register = client.get(reverse("sessions:register", args=[world.group.organisation.slug, session.pk]))
    html = register.content.decode()
    assert "Sent their apologies on the site" in html
    assert f'name="m{membership.pk}" id="id_m{membership.pk}_2" value="apologies" checked' in html
    schedule = client.get(reverse("sessions:schedule", args=[world.group.organisation.slug, world.group.pk]))
    assert "1 member sent apologies" in schedule.content.decode()


def test_saving_the_register_with_everyone_present_keeps_a_members_apologies(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(hours=2))
    sent, other = world.active
    services.apologies_send(session=session, user=sent)
    # The session has been held; the facilitator saves the register as it was shown, "everyone else present".
    session.starts_at -= dt.timedelta(hours=3)
    session.ends_at -= dt.timedelta(hours=3)
    session.save()
    membership = Membership.objects.get(group=world.group, user=sent)
    client.force_login(world.facilitator)
    client.post(
        reverse("sessions:register", args=[world.group.organisation.slug, session.pk]),
        {f"m{membership.pk}": "apologies", "all_present": "1"},
    )
    statuses = dict(Attendance.objects.filter(session=session).values_list("membership__user", "status"))
    assert statuses == {sent.pk: AttendanceStatus.APOLOGIES, other.pk: AttendanceStatus.PRESENT}
    assert Attendance.objects.get(membership=membership).apology_sent_at is not None


def test_a_member_who_sent_apologies_gets_no_reminder_for_that_session_and_gets_one_after_taking_them_back(
    world, on_commit, mailoutbox
):
    session = session_in(world.group, starts_in=dt.timedelta(hours=20))
    sent, other = world.active
    services.apologies_send(session=session, user=sent)
    with on_commit():
        assert services.reminders_send() == 1
    assert [m.to for m in mailoutbox] == [[other.email]]
    services.apologies_take_back(session=session, user=sent)
    assert not Attendance.objects.filter(session=session).exists()
    with on_commit():
        assert services.reminders_send() == 1
    assert mailoutbox[-1].to == [sent.email]
    assert SessionReminder.objects.filter(session=session).count() == 2


@pytest.mark.parametrize("when", ["started", "cancelled"])
def test_apologies_for_a_session_that_started_or_was_cancelled_are_refused_with_a_message(client, world, when):
    if when == "started":
        session = session_in(world.group, starts_in=dt.timedelta(minutes=-1))
        message = "apologies can be sent only before the start"
    else:
        session = session_in(world.group, starts_in=dt.timedelta(days=1))
        services.session_cancel(session=session, by=None)
        message = "This session is cancelled"
    client.force_login(world.active[0])
    response = client.post(apologies_url(session), {"action": "send"}, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Attendance.objects.exists()


@pytest.mark.parametrize(
    "who", ["waitlisted", "withdrawn", "requested", "invited", "other group's member", "other organisation's member"]
)
def test_nobody_but_an_active_member_of_the_group_can_send_apologies_for_its_session(client, world, who):
    session = session_in(world.group, starts_in=dt.timedelta(days=1))
    client.force_login(world.outsiders[who])
    assert client.post(apologies_url(session), {"action": "send"}).status_code == 404
    assert not Attendance.objects.exists()


def test_a_facilitator_cannot_send_apologies_in_a_members_name(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(days=1))
    client.force_login(world.facilitator)
    assert client.post(apologies_url(session), {"action": "send"}).status_code == 404
    with pytest.raises(ValidationError):
        services.apologies_send(session=session, user=world.facilitator)
    assert not Attendance.objects.exists()


def test_an_unsafe_next_address_is_not_followed(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(days=1))
    client.force_login(world.active[0])
    response = client.post(apologies_url(session), {"action": "send", "next": "https://evil.example.org/"})
    assert response["Location"] == upcoming_url(world.group)


def test_the_groups_figures_count_an_apology_as_an_apology_once_the_session_has_started(world):
    session = session_in(world.group, starts_in=dt.timedelta(hours=1))
    services.apologies_send(session=session, user=world.active[0])

    def figures():
        group = group_with_figures(world.group)
        return group.attendance_recorded, group.attendance_present, group.attendance_apologies

    assert figures() == (0, 0, 0)  # not held yet: nothing counts
    session.starts_at -= dt.timedelta(hours=2)
    session.ends_at -= dt.timedelta(hours=2)
    session.save()
    assert figures() == (1, 0, 1)


def test_the_reminder_says_where_to_send_apologies(world, on_commit, mailoutbox, settings):
    settings.SITE_URL = "https://peersupport.example.org"
    session_in(world.group, starts_in=dt.timedelta(hours=20))
    with on_commit():
        services.reminders_send()
    assert (
        f"send your apologies from your sessions page, https://peersupport.example.org{upcoming_url(world.group)}"
        in (mailoutbox[0].body)
    )

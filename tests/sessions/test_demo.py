"""Demo sessions: history for facilitated groups, none for peer-to-peer logs, and idempotent.

Most run over the shared demo (``demo_db``, tests/conftest.py), which is what ``seed_demo`` leaves; the
reminder test commits for real, so it seeds its own.
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from groups.models import Facilitation as FacilitationKind
from groups.models import GroupFacilitator, GroupFormat, Membership, MembershipStatus, SupportGroup
from peersupport import scheduler
from peersupport.models import Organisation, RoleKind, User
from sessions import demo
from sessions.models import Attendance, GroupSession, SessionLog
from sessions.selectors import REMINDER_AHEAD
from tests.factories import SupportGroupFactory

pytestmark = pytest.mark.django_db


# Bookkeeping of the evaluation's recomputes (each group's saved data and the changes since): how many rows they
# hold depends on when recomputes last ran, not on what the demo created.
RECOMPUTE_BOOKKEEPING = {"outcomes.GroupData", "outcomes.GroupDataChange"}


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.label not in RECOMPUTE_BOOKKEEPING
    }


def seed_demo() -> None:
    call_command("seed_demo", stdout=io.StringIO())


def demo_groups():
    """Two more groups in the (already seeded) demo's first organisation, which the demo has not seen yet."""
    org = Organisation.objects.get(slug="northbridge")
    members = list(User.objects.filter(roles__organisation=org, roles__kind=RoleKind.MEMBER).order_by("email"))
    facilitator = User.objects.get(email="facilitator1@northbridge.example")
    led = SupportGroupFactory(organisation=org, time_zone="Europe/London", status="running")
    GroupFacilitator.objects.create(group=led, user=facilitator)
    p2p = SupportGroupFactory(
        organisation=org,
        format=GroupFormat.UNSTRUCTURED,
        facilitation=FacilitationKind.PEER_TO_PEER,
        curriculum=None,
        status="running",
    )
    for group, people in ((led, members[:6]), (p2p, members[6:10])):
        for user in people:
            Membership.objects.create(group=group, user=user, status=MembershipStatus.ACTIVE, joined_at=timezone.now())
    return led, p2p


def test_the_sessions_seed_leaves_groups_of_other_organisations_alone(demo_db):
    other = SupportGroupFactory(status="running")  # not a demo organisation's group
    seed_demo()  # running again over the demo, now that the other group exists
    assert GroupSession.objects.exists()
    assert not other.sessions.exists()


def test_the_real_demo_gives_facilitated_groups_logs_and_peer_to_peer_groups_none(demo_db):
    assert GroupSession.objects.exists()
    for group in SupportGroup.objects.filter(sessions__isnull=False).distinct():
        logs = SessionLog.objects.filter(session__group=group)
        if group.facilitation == FacilitationKind.PEER_TO_PEER:
            assert not logs.exists(), group
        elif group.status == "running" and group.sessions.filter(ends_at__lt=timezone.now()).exists():
            assert logs.exists(), group


def test_demo_sessions_have_history_for_facilitated_groups_and_running_twice_changes_nothing(demo_db):
    led, p2p = demo_groups()
    demo.seed([led.organisation])
    first = row_counts()
    demo.seed([led.organisation])
    seed_demo()
    assert row_counts() == first
    now = timezone.now()
    assert led.sessions.count() == 8 and led.sessions.filter(unit__isnull=True).count() == 0
    past = led.sessions.filter(ends_at__lt=now)
    assert past.exists() and led.sessions.filter(starts_at__gt=now).exists()
    assert SessionLog.objects.filter(session__group=led).count() == past.count()
    assert Attendance.objects.filter(session__group=led).count() == past.count() * 6
    assert p2p.sessions.exists()
    assert not SessionLog.objects.filter(session__group=p2p).exists()


# Committed for real: the scheduler's job closes its thread's connections when it ends, as in the server.
@pytest.mark.django_db(transaction=True)
def test_after_seed_demo_the_schedulers_first_reminder_run_emails_the_members_of_the_group_meeting_soon(mailoutbox):
    seed_demo()
    now = timezone.now()
    soon = GroupSession.objects.filter(group__name=demo.MEETS_SOON, starts_at__gt=now).order_by("starts_at")
    for org in Organisation.objects.all():
        first = soon.filter(group__organisation=org).first()
        assert first is not None and first.starts_at - now <= REMINDER_AHEAD
    mailoutbox.clear()
    assert scheduler.run_job("sessions.tasks.send_session_reminders")
    # Other demo groups may meet within the day too (their weekday follows their id): those reminders go as well.
    reminders = [m for m in mailoutbox if f"Reminder: {demo.MEETS_SOON}" in m.subject]
    expected = set(
        Membership.objects.filter(group__name=demo.MEETS_SOON, status=MembershipStatus.ACTIVE).values_list(
            "user__email", flat=True
        )
    )
    assert expected and sorted(m.to[0] for m in reminders) == sorted(expected)


@pytest.mark.parametrize(
    ("now_local", "expected"),
    [
        ("2026-03-10 08:10", "2026-03-10 10:30"),  # 2 h later, on the next half hour
        ("2026-03-10 05:00", "2026-03-10 09:30"),  # too early: the morning start
        ("2026-03-10 19:00", "2026-03-11 09:30"),  # too late: next morning
        ("2026-03-10 18:00", "2026-03-10 20:00"),  # the latest start allowed
        ("2026-03-28 23:30", "2026-03-29 09:30"),  # across the spring clock change in London
    ],
)
def test_the_soon_session_is_in_the_daytime_and_inside_the_reminder_window(now_local, expected):
    tz = zoneinfo.ZoneInfo("Europe/London")
    now = dt.datetime.fromisoformat(now_local).replace(tzinfo=tz)
    slot = demo.soon_slot(now, "Europe/London")
    assert slot.strftime("%Y-%m-%d %H:%M") == expected
    assert now + demo.SOON_AFTER <= slot <= now + REMINDER_AHEAD

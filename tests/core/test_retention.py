"""The retention job: a member inactive past their organisation's period is warned by e-mail, then erased.

The clock is frozen by passing ``now`` to the sweep and by setting when the member last signed in.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from groups.models import MembershipEvent
from outcomes.models import Response
from peersupport import datarights, scheduler
from peersupport.models import AuditEvent, Role, RoleKind
from sessions.models import Attendance
from tests.factories import GroupSessionFactory, OrganisationFactory, active_member, facilitated_group, person
from tests.outcomes.test_aggregation import answered

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)  # the member's last sign-in
DAY = dt.timedelta(days=1)


@pytest.fixture
def setup():
    group, facilitator = facilitated_group()
    organisation = group.organisation
    organisation.inactive_erasure_months = 12  # 360 days
    organisation.inactive_erasure_warning_days = 30
    organisation.save()
    membership = active_member(group)
    answered(membership, "baseline", 25)
    # Everything the member did was before their last sign-in.
    Response.objects.filter(assessment__membership=membership).update(updated_at=T0 - 50 * DAY)
    MembershipEvent.objects.filter(membership=membership).update(at=T0 - 100 * DAY)
    member = membership.user
    member.date_joined = T0 - 100 * DAY
    member.last_login = T0
    member.save()
    facilitator.last_login = T0
    facilitator.save()
    return organisation, member, facilitator


def sweep(on_commit, at):
    mail.outbox.clear()
    with on_commit():
        return datarights.inactive_accounts_sweep(now=at)


def warnings():
    return [m.to for m in mail.outbox if "will be erased" in m.subject]


def test_a_member_is_warned_once_then_erased_after_the_notice(setup, on_commit):
    organisation, member, facilitator = setup
    report = sweep(on_commit, T0 + 329 * DAY)
    assert (report.warned, report.erased) == (0, 0) and warnings() == []

    report = sweep(on_commit, T0 + 330 * DAY)
    assert (report.warned, report.erased) == (1, 0)
    assert warnings() == [[member.email]]
    body = mail.outbox[0].body
    assert "31 December 2026" in body and reverse("account_login") in body and "download it from your profile" in body
    assert (
        AuditEvent.objects.filter(action=AuditEvent.Action.INACTIVE_ACCOUNT_WARNED, object_id=str(member.pk)).count()
        == 1
    )

    assert sweep(on_commit, T0 + 331 * DAY).warned == 0 and warnings() == []  # once per stretch of inactivity
    assert sweep(on_commit, T0 + 359 * DAY).erased == 0
    member.refresh_from_db()
    assert member.erased_at is None

    assert sweep(on_commit, T0 + 360 * DAY).erased == 1
    member.refresh_from_db()
    assert member.erased_at is not None and not member.is_active
    assert not Response.objects.filter(assessment__membership__user=member).exists()
    erased = AuditEvent.objects.get(action=AuditEvent.Action.ACCOUNT_ERASED)
    assert erased.actor is None and erased.detail["reason"] == "inactive"
    facilitator.refresh_from_db()
    assert facilitator.erased_at is None  # staff accounts are never erased for inactivity
    assert sweep(on_commit, T0 + 400 * DAY).erased == 0


def test_signing_in_after_the_warning_keeps_the_account(setup, on_commit):
    _organisation, member, _ = setup
    sweep(on_commit, T0 + 330 * DAY)
    member.last_login = T0 + 340 * DAY
    member.save()
    assert sweep(on_commit, T0 + 360 * DAY).erased == 0
    member.refresh_from_db()
    assert member.erased_at is None
    # a new stretch of inactivity gets its own warning before any erasure
    assert sweep(on_commit, T0 + (340 + 330) * DAY).warned == 1


def test_attending_or_answering_counts_as_activity_for_a_member_who_never_signs_in(setup, on_commit):
    """A member entered from a paper roster may never sign in: attending a session keeps their account."""
    _organisation, member, _ = setup
    member.last_login = None
    member.save()
    membership = member.memberships.get()
    session = GroupSessionFactory(group=membership.group, starts_at=T0 + 300 * DAY, ends_at=T0 + 300 * DAY + DAY / 24)
    Attendance.objects.create(session=session, membership=membership, status="present")
    assert datarights.last_active(member) == T0 + 300 * DAY
    assert sweep(on_commit, T0 + 400 * DAY).warned == 0
    assert sweep(on_commit, T0 + (300 + 330) * DAY).warned == 1


def test_a_period_set_late_still_gives_the_full_notice(setup, on_commit):
    _organisation, member, _ = setup
    late = T0 + 800 * DAY  # long past the period when the job first sees the member
    assert sweep(on_commit, late).warned == 1
    assert "on or after" in mail.outbox[0].body
    assert sweep(on_commit, late + 29 * DAY).erased == 0
    assert sweep(on_commit, late + 30 * DAY).erased == 1


def test_off_by_default_and_off_if_any_of_the_members_organisations_has_it_off(setup, on_commit):
    organisation, member, _ = setup
    other = OrganisationFactory()
    assert other.inactive_erasure_months is None
    Role.objects.create(user=member, organisation=other, kind=RoleKind.MEMBER)
    assert sweep(on_commit, T0 + 1000 * DAY).warned == 0
    lonely = person(other)
    lonely.last_login = T0
    lonely.save()
    assert sweep(on_commit, T0 + 5000 * DAY).warned == 0


def test_a_lead_sets_the_period_on_the_settings_page_and_it_is_audited(client, setup):
    organisation, _member, _ = setup
    lead = person(organisation, RoleKind.LEAD)
    client.force_login(lead)
    url = reverse("lead_settings", args=[organisation.slug])
    page = client.get(url).content.decode()
    assert (
        "erase members&#x27; accounts inactive for (months)" in page.lower() and "what an erasure keeps" in page.lower()
    )
    form = {
        "name": organisation.name,
        "time_zone": organisation.time_zone,
        "crisis_support_text": organisation.crisis_support_text,
        "alert_escalation_hours": 24,
        "suppression_threshold": organisation.suppression_threshold,
        "erasure_rule": "remove_all",
        "inactive_erasure_months": "0",
        "inactive_erasure_warning_days": 30,
    }
    response = client.post(url, form)
    assert (
        response.status_code == 200 and "Ensure this value is greater than or equal to 1" in response.content.decode()
    )
    form["inactive_erasure_months"] = "24"
    assert client.post(url, form).status_code == 302
    organisation.refresh_from_db()
    assert organisation.inactive_erasure_months == 24 and organisation.erasure_rule == "remove_all"
    changed = AuditEvent.objects.get(action=AuditEvent.Action.ORGANISATION_SETTINGS_CHANGED).detail["changed"]
    assert changed["inactive_erasure_months"] == [12, 24] and changed["erasure_rule"] == ["keep_records", "remove_all"]


def test_the_job_is_on_the_beat_schedule_and_the_in_process_scheduler(setup):
    task = "peersupport.tasks.erase_inactive_accounts"
    assert task in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    in_process = scheduler.Scheduler(settings.CELERY_BEAT_SCHEDULE)
    assert task in {name for name, _ in in_process.entries.values()}
    assert scheduler.run_job(task)

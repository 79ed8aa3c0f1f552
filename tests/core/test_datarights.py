"""A member downloads everything about them, asks for erasure, and a lead's approval erases them.

What a member would notice: the zip holds their account, consents, groups and their history, attendance and
apologies, answers and scores, alerts about them and who viewed their answers; nobody else can download it; an
approved erasure leaves no answer of theirs, they can no longer sign in, and the figures no longer count them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from outcomes.evaluation import recompute
from outcomes.models import Assessment, CohortState, OutcomeSummary, Response, RiskAlert
from peersupport import audit, datarights
from peersupport.models import AuditEvent, ConsentDecision, ErasureRequest, ErasureRule, ErasureStatus, Role, RoleKind
from sessions.models import Attendance, MemberPreferences, OneToOneContact, SessionReminder
from tests.factories import (
    PASSWORD,
    GroupSessionFactory,
    OrganisationFactory,
    active_member,
    facilitated_group,
    person,
)
from tests.outcomes.test_aggregation import answered

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """A group with figures: the member and two others answered at baseline; the member also has attendance, an
    apology, a one-to-one contact, a reminder, a calendar feed, a risk alert, and a facilitator viewed the alert."""
    group, facilitator = facilitated_group()
    organisation = group.organisation
    lead = person(organisation, RoleKind.LEAD)
    membership = active_member(group, display_name="Robin Member")
    member = membership.user
    others = [active_member(group) for _ in range(2)]
    response = answered(membership, "baseline", 30)
    for i, other in enumerate(others):
        answered(other, "baseline", 20 + i)
    now = timezone.now().replace(microsecond=0)
    held = GroupSessionFactory(group=group, starts_at=now - dt.timedelta(hours=2), ends_at=now - dt.timedelta(hours=1))
    coming = GroupSessionFactory(group=group)
    Attendance.objects.create(session=held, membership=membership, status="present", recorded_by=facilitator)
    Attendance.objects.create(session=coming, membership=membership, status="apologies", apology_sent_at=now)
    OneToOneContact.objects.create(
        membership=membership, facilitator=facilitator, date=now.date(), mode="telephone", minutes=30
    )
    SessionReminder.objects.create(session=coming, user=member)
    MemberPreferences.objects.create(user=member, calendar_token="feed-token")
    alert = RiskAlert.objects.create(
        response=response, rule="phq9_item9", organisation=organisation, group=group, member=member
    )
    audit.record(
        AuditEvent.Action.RESPONSES_VIEWED,
        actor=facilitator,
        organisation=organisation,
        obj=response,
        member_id=member.pk,
        via="alert",
    )
    recompute.recompute_all(organisation_id=organisation.pk)
    return {
        "group": group,
        "organisation": organisation,
        "facilitator": facilitator,
        "lead": lead,
        "member": member,
        "membership": membership,
        "others": others,
        "alert": alert,
    }


def download(client, user) -> dict:
    client.force_login(user)
    response = client.get(reverse("data_download"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="my-data-')
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    for name, rows in data.items():  # each section is also a CSV with one line per row
        table = list(csv.DictReader(io.StringIO(archive.read(f"{name}.csv").decode())))
        assert len(table) == len(rows), name
    assert "README.txt" in archive.namelist()
    return data


def test_the_download_holds_everything_about_the_member_and_is_audited(client, world):
    member = world["member"]
    data = download(client, member)

    assert data["account"][0]["email"] == member.email
    assert data["account"][0]["display_name"] == "Robin Member"
    assert [c["decision"] for c in data["consents"]] == ["Given"]
    assert [r["role"] for r in data["roles"]] == ["Member"]
    assert [m["group"] for m in data["memberships"]] == [world["group"].name]
    assert [e["to"] for e in data["membership_events"]] == ["Active"]
    assert sorted(a["status"] for a in data["attendance"]) == ["Present", "Sent apologies"]
    assert len(data["one_to_one_contacts"]) == 1 and data["one_to_one_contacts"][0]["minutes"] == 30
    assert len(data["session_reminders"]) == 1
    assert data["session_preferences"] == [{"email_reminders": True, "calendar_feed": "on"}]
    assert [q["time_point"] for q in data["questionnaires"]] == ["Baseline"]
    assert data["answers_and_scores"][0]["total"] == 30
    assert [a["rule"] for a in data["alerts_about_you"]] == ["phq9_item9"]
    assert data["who_viewed_your_answers"] == [
        {
            "at": data["who_viewed_your_answers"][0]["at"],
            "who": world["facilitator"].name,
            "organisation": world["organisation"].name,
            "where": "alert",
        }
    ]
    assert data["email_addresses"][0]["email"] == member.email
    assert "secret" not in json.dumps(data["second_factor"])

    downloads = AuditEvent.objects.filter(action=AuditEvent.Action.PERSONAL_DATA_DOWNLOADED)
    assert downloads.count() == 1
    assert downloads.get().actor == member and downloads.get().detail["sections"]["answers_and_scores"] == 1


def test_nobody_else_gets_the_members_data(client, world):
    """The page has no id to change: a facilitator, a lead, another member and a member of another organisation
    each get their own data, with nothing of the member in it; signed out, the page asks to sign in."""
    member = world["member"]
    elsewhere = active_member(facilitated_group(OrganisationFactory())[0]).user
    for other in [world["facilitator"], world["lead"], world["others"][0].user, elsewhere]:
        data = download(client, other)
        text = json.dumps(data)
        assert member.email not in text and "Robin Member" not in text
        assert data["account"][0]["email"] == other.email
        assert all(row.get("total") != 30 for row in data["answers_and_scores"])
        assert data["alerts_about_you"] == [] and data["who_viewed_your_answers"] == []
        client.logout()
    response = client.get(reverse("data_download"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_the_profile_links_to_the_download_and_the_request(client, world):
    client.force_login(world["member"])
    page = client.get(reverse("profile")).content.decode()
    assert reverse("data_download") in page and reverse("erasure_request") in page


def test_the_consent_page_points_at_the_erasure_request(client, world):
    client.force_login(world["member"])
    page = client.get(reverse("consent", args=[world["organisation"].slug])).content.decode()
    assert reverse("erasure_request") in page


def ask(client, member, **data):
    client.force_login(member)
    return client.post(reverse("erasure_request"), data, follow=True)


def test_the_request_page_explains_and_asks_to_confirm(client, world, on_commit):
    member = world["member"]
    client.force_login(member)
    page = client.get(reverse("erasure_request")).content.decode()
    assert "cannot be undone" in page and world["organisation"].name in page

    response = ask(client, member, reason="I moved away")
    assert "Tick the box to confirm" in response.content.decode()
    assert not ErasureRequest.objects.exists()

    mail.outbox.clear()
    with on_commit():
        response = ask(client, member, reason="I moved away", confirm="on")
    assert "Your request is sent" in response.content.decode()
    row = ErasureRequest.objects.get()
    assert row.status == ErasureStatus.PENDING and row.reason == "I moved away"
    assert [m.to for m in mail.outbox if "erased" in m.subject] == [[world["lead"].email]]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ERASURE_REQUESTED, actor=member).count() == 1

    response = ask(client, member, confirm="on")  # asking twice makes nothing more
    assert "waiting for a lead" in response.content.decode()
    assert ErasureRequest.objects.count() == 1


def test_only_a_lead_of_the_organisation_reviews_it(client, world):
    ask(client, world["member"], confirm="on")
    row = ErasureRequest.objects.get()
    org = world["organisation"]
    other_lead = person(OrganisationFactory(), RoleKind.LEAD)
    for user in [world["facilitator"], world["others"][0].user, other_lead]:
        client.force_login(user)
        assert client.get(reverse("lead_erasure_requests", args=[org.slug])).status_code == 404
        url = reverse("lead_erasure_decide", args=[org.slug, row.pk])
        assert client.post(url, {"decision": "approve"}).status_code == 404
    # another organisation's lead, through their own organisation's URL
    client.force_login(other_lead)
    other_slug = Role.objects.get(user=other_lead).organisation.slug
    assert (
        client.post(reverse("lead_erasure_decide", args=[other_slug, row.pk]), {"decision": "approve"}).status_code
        == 404
    )
    row.refresh_from_db()
    assert row.status == ErasureStatus.PENDING
    assert Response.objects.filter(assessment__membership__user=world["member"]).exists()


def test_a_lead_declines_with_a_note_and_the_member_is_told(client, world, on_commit):
    member = world["member"]
    ask(client, member, confirm="on")
    row = ErasureRequest.objects.get()
    lead = world["lead"]
    client.force_login(lead)
    page = client.get(reverse("lead_erasure_requests", args=[world["organisation"].slug])).content.decode()
    assert member.email in page

    url = reverse("lead_erasure_decide", args=[world["organisation"].slug, row.pk])
    response = client.post(url, {"note": ""})
    assert response.status_code == 400 and "Choose to approve or to decline." in response.content.decode()
    response = client.post(url, {"decision": "decline", "note": ""})
    assert response.status_code == 400 and "Say why you decline it" in response.content.decode()
    mail.outbox.clear()
    with on_commit():
        client.post(url, {"decision": "decline", "note": "We must keep safeguarding records for now."})
    row.refresh_from_db()
    assert row.status == ErasureStatus.DECLINED and row.decided_by == lead
    assert [m.to for m in mail.outbox] == [[member.email]]
    assert "We must keep safeguarding records for now." in mail.outbox[0].body
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ERASURE_REQUEST_DECLINED, actor=lead).count() == 1
    member.refresh_from_db()
    assert member.erased_at is None and Response.objects.filter(assessment__membership__user=member).exists()


def summary_n(organisation) -> int:
    return OutcomeSummary.objects.get(
        cohort__organisation=organisation,
        cohort__dimension="organisation",
        instrument_code="wemwbs",
        scale="total",
        time_point="baseline",
    ).n


@pytest.mark.parametrize("rule", [ErasureRule.KEEP_RECORDS, ErasureRule.REMOVE_ALL])
def test_an_approved_erasure_removes_the_answers_and_what_names_the_member_and_recomputes(
    client, world, on_commit, rule
):
    organisation, member, membership = world["organisation"], world["member"], world["membership"]
    organisation.erasure_rule = rule
    organisation.save()
    email = member.email
    assert summary_n(organisation) == 3
    ask(client, member, confirm="on")
    row = ErasureRequest.objects.get()
    client.force_login(world["lead"])
    with on_commit():
        client.post(reverse("lead_erasure_decide", args=[organisation.slug, row.pk]), {"decision": "approve"})

    member.refresh_from_db()
    row.refresh_from_db()
    assert row.status == ErasureStatus.APPROVED and row.erased_at is not None
    # The answers, scores and alert are gone, and the figures no longer count them (recomputed after commit).
    assert not Response.objects.filter(assessment__membership__user=member).exists()
    assert not Assessment.objects.filter(membership__user=member).exists()
    assert not RiskAlert.objects.filter(pk=world["alert"].pk).exists()
    assert summary_n(organisation) == 2
    assert not CohortState.objects.filter(organisation=organisation, stale=True).exists()
    # Nothing names them: the account is blank, its address and links gone, and it cannot sign in.
    assert member.erased_at is not None and not member.is_active and not member.has_usable_password()
    assert member.email.endswith("@erased.invalid") and member.display_name == "" and str(member) == "Erased account"
    assert email not in json.dumps(list(member.__class__.objects.values()), default=str)
    assert not ConsentDecision.objects.filter(user=member).exists() and not Role.objects.filter(user=member).exists()
    assert not SessionReminder.objects.filter(user=member).exists()
    assert not MemberPreferences.objects.filter(user=member).exists()
    client.logout()
    assert not client.login(email=email, password=PASSWORD)
    # The organisation's rule decides the records: kept without the name, or removed.
    kept = membership.__class__.objects.filter(pk=membership.pk).first()
    if rule == ErasureRule.KEEP_RECORDS:
        assert kept is not None and kept.status == "withdrawn" and kept.withdrawal_note == ""
        assert Attendance.objects.filter(membership=kept).count() == 2
    else:
        assert kept is None and not Attendance.objects.filter(membership_id=membership.pk).exists()
    # Audited: the approval, the erasure; the audit rows of what the member did keep their pseudonym.
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ERASURE_REQUEST_APPROVED).count() == 1
    erased = AuditEvent.objects.get(action=AuditEvent.Action.ACCOUNT_ERASED)
    assert erased.actor == world["lead"] and erased.detail["rule"] == rule and erased.detail["removed"]["answers"] == 1
    own = AuditEvent.objects.filter(action=AuditEvent.Action.ERASURE_REQUESTED).get()
    assert own.actor_ref == audit.actor_reference(member.pk)
    assert audit.verify()["broken"] is None


def test_a_member_of_two_organisations_is_erased_when_both_have_approved(client, world, on_commit):
    member = world["member"]
    second, _ = facilitated_group(OrganisationFactory())
    second_lead = person(second.organisation, RoleKind.LEAD)
    Role.objects.create(user=member, organisation=second.organisation, kind=RoleKind.MEMBER)
    ask(client, member, confirm="on")
    first_row = ErasureRequest.objects.get(organisation=world["organisation"])
    second_row = ErasureRequest.objects.get(organisation=second.organisation)
    with on_commit():
        datarights.erasure_decide(erasure_request=first_row, by=world["lead"], approve=True)
    member.refresh_from_db()
    assert member.erased_at is None
    with on_commit():
        datarights.erasure_decide(erasure_request=second_row, by=second_lead, approve=True)
    member.refresh_from_db()
    assert member.erased_at is not None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT_ERASED).count() == 2  # one per organisation


def test_a_lead_cannot_approve_their_own_request(world):
    lead = world["lead"]
    datarights.erasure_request(user=lead)
    row = ErasureRequest.objects.get()
    with pytest.raises(Exception, match="Another lead"):
        datarights.erasure_decide(erasure_request=row, by=lead, approve=True)


def test_erasing_twice_does_nothing_more(world, on_commit):
    member = world["member"]
    with on_commit():
        datarights.erase_user(member, by=world["lead"], reason="request")
        assert datarights.erase_user(member, by=world["lead"], reason="request") == {}
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT_ERASED).count() == 1


@pytest.mark.integration
def test_on_postgresql_an_erasure_leaves_the_append_only_audit_trail_intact(real_stack, world, on_commit):
    """The trigger of migration 0011 refuses UPDATE and DELETE of audit rows: an erasure changes none, so it
    succeeds, the chain verifies, and the member's audit rows keep their pseudonym while the trigger still bites."""
    from django.db import DatabaseError, connection, transaction

    member = world["member"]
    with on_commit():
        datarights.erasure_request(user=member)
    row = ErasureRequest.objects.get()
    with on_commit():
        datarights.erasure_decide(erasure_request=row, by=world["lead"], approve=True)
    member.refresh_from_db()
    assert member.erased_at is not None
    assert audit.verify()["broken"] is None
    own = AuditEvent.objects.get(action=AuditEvent.Action.ERASURE_REQUESTED)
    assert own.actor_ref == audit.actor_reference(member.pk)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEvent._meta.db_table} SET actor_ref = '' WHERE id = %s", [own.pk])  # noqa: S608

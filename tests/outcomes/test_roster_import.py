"""Importing history like an evaluator: a roster (people, paper consent, memberships), then their answers, from a
fresh organisation through the lead's pages or the commands only; problems grouped; nothing half-imported."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from groups.models import Membership, MembershipEvent, SupportGroup
from outcomes.models import Response, RiskAlert
from outcomes.questionnaires.risk import alerts_escalate
from peersupport.models import AuditEvent, ConsentDecision, OutboxMessage, RoleKind, User
from peersupport.selectors import consent_is_active
from tests.factories import ConsentVersionFactory, OrganisationFactory, active_member, facilitated_group, person

pytestmark = pytest.mark.django_db

ROSTER_HEADER = "email,display_name,year_of_birth,group,status,joined_date,left_date,withdrawal_reason,consent_date\n"
ANSWERS_HEADER = "participant_email,group,time_point,instrument,item,value,completed_date\n"


def roster_rows(group="Hope builders", n=30):
    """n people: two in three completed, the rest withdrawn for practical reasons; one is still active."""
    rows = []
    for i in range(n):
        email = f"p{i}@example.org"
        if i == 0:
            rows.append(f"{email},Person {i},1980,{group},active,2025-01-14,,,2025-01-14\n")
        elif i % 3:
            rows.append(f"{email},Person {i},1980,{group},completed,2025-01-14,2025-03-25,,2025-01-14\n")
        else:
            rows.append(f"{email},,,{group},withdrawn,2025-01-14,2025-02-11,practical,2025-01-10\n")
    return "".join(rows)


def phq9(email, time_point, date, values, group="Hope builders", instrument="phq9"):
    return "".join(
        f"{email},{group},{time_point},{instrument},{n},{value},{date}\n" for n, value in enumerate(values, start=1)
    )


def upload(client, url, text, *, check=False):
    data = {"file": SimpleUploadedFile("file.csv", text.encode())}
    if check:
        data["check"] = "1"
    return client.post(url, data)


def problems(response) -> list[str]:
    """The grouped problems the page lists, as a lead reads them."""
    page = response.content.decode()
    block = page.split('role="alert"', 1)[1].split("</div>", 1)[0]
    return [item.split("</li>")[0].strip() for item in block.split("<li>")[1:]]


def test_an_evaluator_imports_history_from_a_fresh_organisation_through_the_pages(client):
    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD)
    client.force_login(lead)
    # The lead publishes the consent text and creates the group on the pages.
    today = timezone.localdate().isoformat()
    client.post(
        reverse("lead_dashboard", args=[org.slug]),
        {"consent": "1", "consent-effective_date": today, "consent-text": "We keep your answers to learn."},
    )
    created = client.post(
        reverse("groups:create", args=[org.slug]),
        {
            "name": "Hope builders",
            "description": "",
            "format": "unstructured",
            "facilitation": "peer_to_peer",
            "delivery": "in_person",
            "location": "Library meeting room",
            "online_url": "",
            "phone_details": "",
            "audience": "adult",
            "capacity": "40",
            "time_zone": "Europe/London",
        },
    )
    assert created.status_code == 302, created.content.decode()[:3000]
    group = SupportGroup.objects.get(organisation=org)
    roster_url = reverse("outcomes:lead_roster_import", args=[org.slug])
    answers_url = reverse("outcomes:lead_import", args=[org.slug])

    # 1. A roster naming the group wrongly on every row, with two other mistakes: one message per problem.
    bad = roster_rows(group="Hope Bulders ") + "x@example.org,,,Hope builders,left,2025-01-14,,,2025-01-14\n"
    bad += "y@example.org,,,Hope builders,withdrawn,2025-03-01,2025-02-01,moved,2025-03-01\n"
    response = upload(client, roster_url, ROSTER_HEADER + bad)
    assert response.status_code == 400
    assert "Nothing was imported: 32 of 32 rows were rejected (5 problems, below)." in response.content.decode()
    assert problems(response) == [
        "30 rows: group “Hope Bulders” not found — did you mean “Hope builders”? (valid: Hope builders) (lines 2–31)",
        "1 row: status “left” not found (valid: active, completed, withdrawn) (line 32)",
        "1 row: left_date (2025-02-01) is before joined_date (2025-03-01) (line 33)",
        "1 row: consent_date (2025-03-01) is after left_date (2025-02-01) (line 33)",
        "1 row: withdrawal_reason “moved” not found (valid: not_helpful, time_or_place, health, feeling_better, "
        "other_support, practical, other, not_said) (line 33)",
    ]
    assert not User.objects.filter(email__startswith="p1").exists()

    # 2. Fixed; "check only" prints the summary and changes nothing.
    response = upload(client, roster_url, ROSTER_HEADER + roster_rows(), check=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Check only, nothing was changed: would import 30 rows: 30 new people" in page
    assert "20 completed" in page and "9 left" in page and "1 active" in page
    assert not Membership.objects.exists() and not User.objects.filter(email="p1@example.org").exists()

    # 3. Imported: accounts without passwords, paper consent by the lead, memberships with their days.
    outbox_before = OutboxMessage.objects.count()
    response = upload(client, roster_url, ROSTER_HEADER + roster_rows())
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said[0].startswith("Imported 30 rows: 30 new people (accounts without a password; nobody is e-mailed)")
    assert "30 paper consents recorded (source: paper)." in said
    assert "30 memberships recorded (1 active, 20 completed, 9 left); 0 were already there, unchanged." in said
    sam = User.objects.get(email="p3@example.org")
    assert not sam.has_usable_password()
    assert consent_is_active(user=sam, organisation=org)
    decision = ConsentDecision.objects.get(user=sam)
    assert (decision.source, decision.entered_by, decision.at.date()) == ("paper", lead, dt.date(2025, 1, 10))
    membership = Membership.objects.get(user=sam, group=group)
    assert (membership.status, membership.withdrawal_reason, membership.left_at.date()) == (
        "withdrawn",
        "practical",
        dt.date(2025, 2, 11),
    )
    assert [(e.to_status, e.at.date(), e.via) for e in MembershipEvent.objects.filter(membership=membership)] == [
        ("active", dt.date(2025, 1, 14), "roster_import"),
        ("withdrawn", dt.date(2025, 2, 11), "roster_import"),
    ]
    assert OutboxMessage.objects.count() == outbox_before  # nobody e-mailed
    (audit,) = AuditEvent.objects.filter(action=AuditEvent.Action.ROSTER_IMPORTED)
    assert audit.actor == lead and audit.detail["people_created"] == 30
    # The same file again changes nothing.
    response = upload(client, roster_url, ROSTER_HEADER + roster_rows())
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert "0 memberships recorded (0 active, 0 completed, 0 left); 30 were already there, unchanged." in said
    assert ConsentDecision.objects.filter(user__email__endswith="@example.org").count() == 30

    # 4. Answers with a misspelt code, post dated before baseline and a value out of range: grouped, nothing stored.
    answers = phq9("p1@example.org", "baseline", "2025-01-14", [2] * 9, instrument="PHQ-9")
    answers += phq9("p2@example.org", "baseline", "2025-01-14", [2] * 9)
    answers += phq9("p2@example.org", "post", "2025-01-07", [1] * 9)
    answers += phq9("p4@example.org", "baseline", "2025-01-14", [2] * 8 + [4])
    response = upload(client, answers_url, ANSWERS_HEADER + answers)
    assert response.status_code == 400
    assert "Nothing was imported: 10 of 36 rows were rejected (2 problems, below)." in response.content.decode()
    found = problems(response)
    assert found[0].startswith("9 rows: instrument “PHQ-9” not found — did you mean phq9? (valid: ")
    assert found[0].endswith("(lines 2–10)")
    assert found[1] == "1 row: phq9 item 9: value “4” is not allowed (allowed: 0–3, or empty) (line 37)"
    # The order of the time points is checked once every row reads well.
    answers = answers.replace("PHQ-9", "phq9").replace(",9,4,", ",9,3,")
    response = upload(client, answers_url, ANSWERS_HEADER + answers)
    assert problems(response) == [
        "1 row: participant “p2@example.org”, phq9: post (2025-01-07) is dated before baseline (2025-01-14) (line 20)"
    ]
    assert not Response.objects.exists()

    # 5. Fixed: imported; the risk flag (item 9 above 0) is a historical alert, for review, e-mailed to nobody;
    # the response with too many unanswered items is counted as unscorable.
    answers = answers.replace("2025-01-07", "2025-03-20")
    answers += phq9("p5@example.org", "baseline", "2025-01-14", [1, 1, 1, "", "", "", 0, 0, 0])
    check = upload(client, answers_url, ANSWERS_HEADER + answers, check=True).content.decode()
    assert "Check only, nothing was changed: would import 5 responses from 45 rows" in check
    assert not Response.objects.exists() and not RiskAlert.objects.exists()
    response = upload(client, answers_url, ANSWERS_HEADER + answers)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [
        "Imported 5 responses from 45 rows (0 were already there, unchanged).",
        "1 response has too many unanswered items to be scored: stored without a total.",
        "4 risk flags in answers older than 14 days are recorded as historical alerts for review (not e-mailed, "
        "not escalated).",
    ]
    assert Response.objects.filter(total__isnull=True).count() == 1
    alerts = RiskAlert.objects.filter(organisation=org)
    assert alerts.count() == 4 and all(alert.historical for alert in alerts)
    assert OutboxMessage.objects.count() == outbox_before
    assert alerts_escalate(now=timezone.now() + dt.timedelta(days=30)) == 0
    assert OutboxMessage.objects.count() == outbox_before
    completion = client.get(reverse("outcomes:completion", args=[org.slug])).content.decode()
    assert "historical: imported, for review" in completion
    dashboard = client.get(reverse("lead_dashboard", args=[org.slug])).content.decode()
    assert "4 historical alerts from imported answers to review." in dashboard
    assert "may need support now" not in dashboard


def test_recent_answers_alert_as_if_answered_online(tmp_path):
    group, facilitator = facilitated_group(name="Tuesday group")
    active_member(group, email="kim@example.org")
    recent = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    path = tmp_path / "answers.csv"
    path.write_text(ANSWERS_HEADER + phq9("kim@example.org", "baseline", recent, [1] * 9, group="Tuesday group"))
    call_command("import_responses", str(path), "--org", group.organisation.slug)
    alert = RiskAlert.objects.get()
    assert not alert.historical
    assert OutboxMessage.objects.filter(recipient=facilitator.email).exists()


def test_the_roster_command_checks_with_dry_run_and_rejects_a_wrong_file_whole(tmp_path, capsys):
    group, _ = facilitated_group(name="Hope builders")
    org = group.organisation
    ConsentVersionFactory(organisation=org, version=1)
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER_HEADER + roster_rows(n=4))
    call_command("import_roster", str(path), "--org", org.slug, "--dry-run")
    out = capsys.readouterr().out
    assert "Check only, nothing was changed: would import 4 rows: 4 new people" in out
    assert not Membership.objects.exists()
    assert not ConsentDecision.objects.exists()

    path.write_text(
        ROSTER_HEADER + roster_rows(n=4) + "not-an-address,,,Hope builders,active,2025-01-14,,,2025-13-01\n"
    )
    with pytest.raises(CommandError, match="Nothing was imported: 1 of 5 rows were rejected"):
        call_command("import_roster", str(path), "--org", org.slug)
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "1 row: email “not-an-address” is not an e-mail address (line 6)",
        "1 row: consent_date “2025-13-01” must be a date like 2026-03-31 (line 6)",
    ]
    assert not User.objects.filter(email="p1@example.org").exists()


def test_a_roster_without_consent_text_in_effect_is_refused(tmp_path, capsys):
    group, _ = facilitated_group(name="Hope builders")
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER_HEADER + roster_rows(n=2))
    with pytest.raises(CommandError):
        call_command("import_roster", str(path), "--org", group.organisation.slug)
    assert "no consent text in effect" in capsys.readouterr().err

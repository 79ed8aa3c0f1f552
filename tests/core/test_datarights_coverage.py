"""Every model that refers to a person is in their download and their erasure, or in the allow-list below.

The links are found through ``django.apps``, not typed here: every foreign key and one-to-one field to the user
model, and (followed down) every link with ``on_delete=CASCADE`` to a row the person owns that way (a membership's
attendance, an assessment's answers). A new model that points at a person fails this test until a part of
``peersupport.datarights`` covers it (download and erasure) or this allow-list says why it stays.

Then, on a member and a facilitator who have a row behind every covered link, each link's rows are counted in
the download, and after an erasure (under ``remove_all``) every link marked "deleted" or "rule:" has none left.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse
from django.utils import timezone

from peersupport import datarights
from peersupport.models import ErasureRequest, ErasureRule, Invitation, RoleKind
from tests.core.test_datarights import world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

#: Links to a person that neither the download nor the erasure covers, each with why. They record what a member
#: of staff did for the service; after an erasure they point at the erased account, which names no one.
ALLOWED = {
    # Django's admin history: which staff account changed which object through the admin (CASCADE: it goes with
    # the account only if the account row is deleted, which an erasure never does).
    "admin.LogEntry.user": "the admin's own history of staff changes",
    # allauth's pending confirmation of an address: a key and a date, deleted with the address (CASCADE).
    "account.EmailConfirmation.email_address": "goes with the e-mail address, which the erasure deletes",
    "peersupport.ConsentDecision.entered_by": "the staff member who entered a consent given on paper",
    "peersupport.Invitation.created_by": "the lead who sent an invitation: the organisation's record",
    "peersupport.ErasureRequest.decided_by": "the lead who decided an erasure request",
    "groups.Curriculum.created_by": "authorship of the service's curriculum",
    "groups.SupportGroup.created_by": "who set up a group",
    "groups.MembershipEvent.by": "who changed a membership (the member's own events are covered by membership)",
    "group_sessions.Attendance.recorded_by": "the facilitator who took the register",
    "group_sessions.SessionLog.facilitator": "a facilitator's log of a session: the group's record, not theirs",
    "group_sessions.OneToOneContact.facilitator": "who gave a contact (the member's side is covered)",
    "outcomes.InstrumentText.uploaded_by": "who uploaded licensed questionnaire wording",
    "outcomes.MeasurementPlan.created_by": "who made a measurement plan",
    "outcomes.ReliableChangeBaseline.set_by": "the lead who set a reliable-change parameter",
    "outcomes.PrimaryOutcome.named_by": "the lead who named a plan's primary outcome",
    "outcomes.RiskAlert.acknowledged_by": "the staff member who acknowledged an alert (the alert is covered)",
}

#: Where each covered link's rows are in the download.
SECTIONS = {
    "account.EmailAddress.user": "email_addresses",
    "mfa.Authenticator.user": "second_factor",
    "peersupport.Role.user": "roles",
    "peersupport.ConsentDecision.user": "consents",
    "peersupport.Invitation.used_by": "invitations_accepted",
    "peersupport.ErasureRequest.user": "erasure_requests",
    "peersupport.AuditEvent.actor": "your_actions_in_the_audit_trail",
    "groups.Membership.user": "memberships",
    "groups.MembershipEvent.membership": "membership_events",
    "groups.GroupFacilitator.user": "groups_you_facilitate",
    "group_sessions.Attendance.membership": "attendance",
    "group_sessions.OneToOneContact.membership": "one_to_one_contacts",
    "group_sessions.SessionReminder.user": "session_reminders",
    "group_sessions.MemberPreferences.user": "session_preferences",
    "outcomes.Assessment.membership": "questionnaires",
    "outcomes.Response.assessment": "answers_and_scores",
    "outcomes.RiskAlert.member": "alerts_about_you",
    "outcomes.RiskAlert.response": "alerts_about_you",
}


def person_links() -> dict[str, str]:
    """``"app.Model.field"`` → the lookup from that model to the person, for every link found through the apps."""
    user_model = get_user_model()
    found: dict[str, str] = {}
    owned = [(user_model, "")]  # models whose rows belong to a person, with the lookup to the person
    seen = {user_model}
    while owned:
        target, path = owned.pop()
        for model in apps.get_models():
            for field in model._meta.get_fields():
                if (
                    not (field.many_to_one or field.one_to_one)
                    or not field.concrete
                    or field.related_model is not target
                ):
                    continue
                if target is not user_model and field.remote_field.on_delete is not models.CASCADE:
                    continue
                lookup = f"{field.name}__{path}".rstrip("_") if path else field.name
                found[f"{model._meta.label}.{field.name}"] = lookup
                if field.remote_field.on_delete is models.CASCADE and model not in seen:
                    seen.add(model)
                    owned.append((model, lookup))
    return found


def test_every_link_to_a_person_is_covered_or_allowed_with_a_reason():
    links = set(person_links())
    covered = datarights.covered_links()
    assert links - set(covered) - set(ALLOWED) == set(), "cover these in peersupport.datarights or allow them here"
    assert set(covered) & set(ALLOWED) == set()
    assert set(ALLOWED) <= links, "an allow-list entry names a link that no longer exists"
    assert set(covered) <= links, "a part covers a link that does not exist"
    assert set(SECTIONS) == set(covered), "say where each covered link is in the download"
    for link, what in covered.items():
        assert what.startswith(("deleted", "kept: ", "rule: ")), link


def counts(user) -> dict[str, int]:
    out = {}
    for link, lookup in person_links().items():
        if link in ALLOWED:
            continue
        label, field = link.rsplit(".", 1)
        out[link] = apps.get_model(label).objects.filter(**{lookup: user}).count()
    return out


def test_each_covered_link_is_in_the_download_and_gone_after_the_erasure(client, world, on_commit):  # noqa: F811
    member, facilitator, organisation = world["member"], world["facilitator"], world["organisation"]
    organisation.erasure_rule = ErasureRule.REMOVE_ALL
    organisation.save()
    # The rows the fixture lacks: an accepted invitation and a declined erasure request.
    Invitation.objects.create(
        organisation=organisation,
        email=member.email,
        kind=RoleKind.MEMBER,
        expires_at=timezone.now() + dt.timedelta(days=1),
        used_at=timezone.now(),
        used_by=member,
    )
    ErasureRequest.objects.create(user=member, organisation=organisation, status="declined")
    subjects = {"member": member, "facilitator": facilitator}
    before = {name: counts(user) for name, user in subjects.items()}
    for link in datarights.covered_links():
        assert any(before[name][link] for name in subjects), f"the fixture has no row behind {link}"

    for name, user in subjects.items():
        client.force_login(user)
        archive = zipfile.ZipFile(io.BytesIO(client.get(reverse("data_download")).content))
        data = json.loads(archive.read("data.json"))
        for link, section in SECTIONS.items():
            if link == "outcomes.RiskAlert.response":  # the same alerts as RiskAlert.member
                continue
            if link == "peersupport.AuditEvent.actor":  # the download's own audit row comes after it is built
                assert len(data[section]) >= before[name][link], (name, link)
                continue
            assert len(data[section]) == before[name][link], (name, link, data[section])

    with on_commit():
        for user in subjects.values():
            datarights.erase_user(user, by=None, reason="request")
    for name, user in subjects.items():
        after = counts(user)
        for link, what in datarights.covered_links().items():
            if what.startswith(("deleted", "rule: ")):
                assert after[link] == 0, (name, link, what)

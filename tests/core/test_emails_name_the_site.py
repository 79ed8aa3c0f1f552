"""Every e-mail the product sends names the site (SITE_NAME) and links only to SITE_URL.

Each e-mail template is sent by the real action that sends it (a lead inviting, a member asking to join, a
session moved, allauth's sign-up …), with a site name and address unlike the defaults. A template added to an
app's ``templates/<app>/email/`` without an entry here fails ``test_every_email_template_is_sent_here``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.test.signals import template_rendered
from django.urls import reverse

from groups.models import Audience, MembershipStatus
from groups.services import membership as membership_services
from peersupport import services
from peersupport.models import RoleKind
from peersupport.sites import sync_site
from tests.factories import (
    PASSWORD,
    GroupSessionFactory,
    UserFactory,
    active_member,
    consenting_member,
    facilitated_group,
    membership_in,
    person,
)

pytestmark = pytest.mark.django_db

SITE_NAME = "Harbour Peers"
SITE_URL = "https://peers.harbour.example:8443"
ROOT = Path(settings.BASE_DIR)
URL = re.compile(r"https?://[^\s<>\"']+")


@pytest.fixture(autouse=True)
def site():
    with override_settings(SITE_NAME=SITE_NAME, SITE_URL=SITE_URL, ACCOUNT_EMAIL_SUBJECT_PREFIX=f"[{SITE_NAME}] "):
        sync_site()
        yield
    sync_site()


@pytest.fixture
def rendered():
    names: list[str] = []

    def collect(sender, template, context, **kwargs):
        names.append(template.name)

    template_rendered.connect(collect)
    yield names
    template_rendered.disconnect(collect)


# --- One action per template ----------------------------------------------------------------------------


def invitation(client, on_commit):
    lead = person(facilitated_group()[0].organisation, RoleKind.LEAD)
    with on_commit():
        services.invitation_create(organisation=lead.roles.get().organisation, email="n@x.org", kind="member", by=lead)


def _open_group(**kwargs):
    group, facilitator = facilitated_group(open_to_requests=True, **kwargs)
    return group, facilitator


def join_requested(client, on_commit):
    group, _ = _open_group()
    with on_commit():
        membership_services.request_to_join(group=group, user=consenting_member(group.organisation))


def place_offered(client, on_commit):
    group, facilitator = _open_group()
    requested = membership_in(group, MembershipStatus.REQUESTED)
    with on_commit():
        membership_services.request_approve(membership=requested, by=facilitator)


def waitlisted(client, on_commit):
    group, facilitator = _open_group(capacity=1)
    active_member(group)
    requested = membership_in(group, MembershipStatus.REQUESTED)
    with on_commit():
        membership_services.request_approve(membership=requested, by=facilitator)


def request_declined(client, on_commit):
    group, facilitator = _open_group(audience=Audience.ADULT)
    requested = membership_in(group, MembershipStatus.REQUESTED)
    with on_commit():
        membership_services.request_decline(membership=requested, by=facilitator)


def _session():
    group, facilitator = facilitated_group()
    active_member(group)
    return GroupSessionFactory(group=group), facilitator


def session_reminder(client, on_commit):
    from sessions.services import reminders_send

    session, _ = _session()
    with on_commit():
        reminders_send(now=session.starts_at - dt.timedelta(hours=20))


def session_cancelled(client, on_commit):
    from sessions.services import session_cancel

    session, facilitator = _session()
    with on_commit():
        session_cancel(session=session, by=facilitator)


def session_rescheduled(client, on_commit):
    from sessions.services import session_change

    session, facilitator = _session()
    later = session.starts_at + dt.timedelta(days=2)
    with on_commit():
        session_change(
            session=session,
            starts_at=later,
            ends_at=later + dt.timedelta(hours=1),
            by=facilitator,
            confirm_overlap=True,
        )


def _assessment(on_commit):
    from outcomes.models import Anchor, MeasurementPlan, PlanInstrument, PlanTimePoint
    from outcomes.questionnaires.lifecycle import assessments_advance, assessments_ensure

    group, facilitator = facilitated_group()
    plan = MeasurementPlan.objects.create(organisation=group.organisation, group=group, name="Plan")
    point = PlanTimePoint.objects.create(
        plan=plan, time_point="baseline", anchor=Anchor.JOINED, opens_days=-1, closes_days=14
    )
    PlanInstrument.objects.create(time_point=point, instrument_code="phq9", instrument_version=1, position=0)
    membership = active_member(group)
    assessments_ensure(membership)
    with on_commit():
        assessments_advance()
    return group, facilitator, membership, membership.assessments.get()


def assessment_invitation(client, on_commit):
    _assessment(on_commit)


def assessment_reminder(client, on_commit):
    from outcomes.questionnaires.lifecycle import assessments_advance

    _group, _f, _m, assessment = _assessment(on_commit)
    mail.outbox.clear()
    with on_commit():
        assessments_advance(now=assessment.closes_at - dt.timedelta(hours=1))


def risk_alert(client, on_commit):
    from outcomes.models import Response
    from outcomes.questionnaires.risk import alerts_raise

    group, _f, membership, assessment = _assessment(on_commit)
    mail.outbox.clear()
    response = Response.objects.create(assessment=assessment, instrument_code="phq9", instrument_version=1)
    with on_commit():
        alerts_raise(response=response, flags=["phq9_item9"])


def risk_escalation(client, on_commit):
    from outcomes.models import Response, RiskAlert
    from outcomes.questionnaires.risk import alerts_escalate

    group, _f, membership, assessment = _assessment(on_commit)
    person(group.organisation, RoleKind.LEAD)
    response = Response.objects.create(assessment=assessment, instrument_code="phq9", instrument_version=1)
    RiskAlert.objects.create(
        response=response, rule="phq9_item9", organisation=group.organisation, group=group, member=membership.user
    )
    mail.outbox.clear()
    with on_commit():
        alerts_escalate(now=dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=2))


def signup(client, on_commit):
    with on_commit():
        client.post(reverse("account_signup"), {"email": "new@x.org", "password1": PASSWORD, "password2": PASSWORD})


def signup_taken(client, on_commit):
    UserFactory(email="taken@x.org")
    with on_commit():
        client.post(reverse("account_signup"), {"email": "taken@x.org", "password1": PASSWORD, "password2": PASSWORD})


def password_reset(client, on_commit):
    UserFactory(email="known@x.org")
    with on_commit():
        client.post(reverse("account_reset_password"), {"email": "known@x.org"})


def password_reset_unknown(client, on_commit):
    with on_commit():
        client.post(reverse("account_reset_password"), {"email": "nobody@x.org"})


def email_added(client, on_commit):
    client.force_login(UserFactory())
    with on_commit():
        client.post(reverse("account_email"), {"action_add": "", "email": "second@x.org"})


ACTIONS = {
    "peersupport/email/invitation.txt": invitation,
    "groups/email/join_requested.txt": join_requested,
    "groups/email/place_offered.txt": place_offered,
    "groups/email/waitlisted.txt": waitlisted,
    "groups/email/request_declined.txt": request_declined,
    "sessions/email/reminder.txt": session_reminder,
    "sessions/email/cancelled.txt": session_cancelled,
    "sessions/email/rescheduled.txt": session_rescheduled,
    "outcomes/email/assessment_invitation.txt": assessment_invitation,
    "outcomes/email/assessment_reminder.txt": assessment_reminder,
    "outcomes/email/risk_alert.txt": risk_alert,
    "outcomes/email/risk_escalation.txt": risk_escalation,
    # allauth's messages this site sends (e-mail verification is mandatory; enumeration is prevented).
    "account/email/email_confirmation_signup_message.txt": signup,
    "account/email/account_already_exists_message.txt": signup_taken,
    "account/email/password_reset_key_message.txt": password_reset,
    "account/email/unknown_account_message.txt": password_reset_unknown,
    "account/email/email_confirmation_message.txt": email_added,
}


def test_every_email_template_is_sent_here():
    ours = {
        str(path.relative_to(path.parents[2]))
        for path in ROOT.glob("*/templates/*/email/*.txt")
        if ".venv" not in path.parts
    }
    assert ours, "no e-mail templates found"
    assert ours <= set(ACTIONS), f"add an action for {sorted(ours - set(ACTIONS))}"


@pytest.mark.parametrize("template", list(ACTIONS))
def test_each_email_names_the_site_and_links_to_site_url(template, client, on_commit, rendered):
    mail.outbox.clear()
    ACTIONS[template](client, on_commit)
    assert template in rendered, f"{ACTIONS[template].__name__} did not send {template}"
    assert mail.outbox, f"{ACTIONS[template].__name__} sent nothing"
    for message in mail.outbox:
        assert SITE_NAME in message.body, message.body
        assert "Hello from !" not in message.body and " on ." not in message.body
        links = URL.findall(message.body)
        assert links, message.body
        for link in links:
            if "online" in link or "meet" in link:  # a group's own meeting link is not ours
                continue
            assert link.startswith(SITE_URL + "/"), f"{link} in {template}"


def test_the_sites_framework_says_what_settings_say():
    from django.contrib.sites.models import Site

    site = Site.objects.get_current()
    assert (site.name, site.domain) == (SITE_NAME, "peers.harbour.example:8443")


def test_page_titles_name_the_site_after_a_separator(client):
    client.force_login(UserFactory())
    page = client.get(reverse("home")).content.decode()
    assert f"<title>Home · {SITE_NAME}</title>" in page


def test_nothing_is_sent_to_a_stale_address_after_site_url_changes(client, on_commit):
    with override_settings(SITE_URL="http://127.0.0.1:8123"):
        sync_site()
        invitation(client, on_commit)
    assert "http://127.0.0.1:8123/invitations/" in mail.outbox[-1].body


def test_make_run_derives_site_url_from_host_and_port():
    import subprocess

    dry = subprocess.run(
        ["make", "-n", "run", "HOST=0.0.0.0", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert 'SITE_URL="http://0.0.0.0:8123"' in dry and "runserver 0.0.0.0:8123" in dry
    assert dry.count('SITE_URL="http://0.0.0.0:8123"') == 3  # migrate, seed_demo and runserver

"""The front door: an organisation's public page, joining with a code, asking to join, and bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from groups.models import Audience, GroupFormat, GroupStatus, Membership, MembershipStatus
from groups.services import EnrolmentError, front_door
from peersupport.adapters import RETURN_TO
from peersupport.models import AuditEvent, ConsentDecision, Role, RoleKind
from peersupport.selectors import consent_is_active
from sessions.models import GroupSession
from tests.factories import (
    ConsentVersionFactory,
    OrganisationFactory,
    UserFactory,
    active_member,
    facilitated_group,
    person,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    organisation = OrganisationFactory(
        name="Harbour Peer Support",
        public_page=True,
        public_description="Free groups for people living with anxiety or low mood.",
        crisis_support_text="In a crisis call the harbour line: 0800 123.",
        time_zone="Europe/London",
    )
    ConsentVersionFactory(organisation=organisation, version=1, text="We keep your answers to learn what helps.")
    return organisation


@pytest.fixture
def listed(org):
    group, facilitator = facilitated_group(
        org, name="Thursday Circle", listed_publicly=True, open_to_requests=True, capacity=3
    )
    return group, facilitator


def counts(user):
    return (
        Role.objects.filter(user=user).count(),
        ConsentDecision.objects.filter(user=user).count(),
        Membership.objects.filter(user=user).count(),
    )


# --- The public page -----------------------------------------------------------------------------------


def test_the_public_page_shows_the_service_its_crisis_text_and_its_listed_groups(client, org, listed):
    group, _ = listed
    GroupSession.objects.create(
        group=group,
        sequence=1,
        starts_at=dt.datetime(2030, 1, 10, 18, 30, tzinfo=dt.UTC),
        ends_at=dt.datetime(2030, 1, 10, 20, 0, tzinfo=dt.UTC),
    )
    active_member(group)
    youth, _ = facilitated_group(
        org,
        name="Young Voices",
        listed_publicly=True,
        audience=Audience.YOUTH,
        format=GroupFormat.UNSTRUCTURED,
        curriculum=None,
        capacity=1,
    )
    active_member(youth)
    facilitated_group(org, name="Unlisted Group")
    facilitated_group(org, name="Draft Group", listed_publicly=True, status=GroupStatus.DRAFT)

    page = client.get(reverse("groups:public", args=[org.slug])).content.decode()

    assert "Free groups for people living with anxiety or low mood." in page
    assert "In a crisis call the harbour line: 0800 123." in page
    assert "Thursday Circle" in page and "Young Voices" in page
    assert "Unlisted Group" not in page and "Draft Group" not in page
    assert "Structured: a course of classes" in page and "Unstructured: mutual support" in page
    assert "Young people (14–24)" in page
    assert "2 places free" in page  # 3 places, 1 taken
    assert "Full at the moment: new members join the waiting list" in page
    assert "Thursday 10 January, 18:30" in page  # London is on UTC in January
    assert "Ask to join" in page


def test_the_public_page_shows_times_in_a_signed_in_visitors_own_zone(client, org, listed):
    group, _ = listed
    GroupSession.objects.create(
        group=group,
        sequence=1,
        starts_at=dt.datetime(2030, 1, 10, 18, 30, tzinfo=dt.UTC),
        ends_at=dt.datetime(2030, 1, 10, 20, 0, tzinfo=dt.UTC),
    )
    client.force_login(UserFactory(time_zone="Asia/Tokyo"))
    page = client.get(reverse("groups:public", args=[org.slug])).content.decode()
    assert "Friday 11 January, 03:30" in page and "Asia/Tokyo" in page


def test_the_public_page_names_no_member_and_no_facilitator(client, org, listed):
    group, facilitator = listed
    member = active_member(group, display_name="Priya Member").user
    facilitator.display_name = "Frank Facilitator"
    facilitator.save()
    page = client.get(reverse("groups:public", args=[org.slug])).content.decode()
    for secret in (member.email, "Priya Member", facilitator.email, "Frank Facilitator", group.enrolment_code):
        assert secret not in page


def test_a_facilitator_who_opts_in_is_named_by_display_name_and_never_by_address(client, org, listed):
    group, facilitator = listed
    facilitator.display_name = "Frank F."
    facilitator.save()
    url = reverse("groups:public", args=[org.slug])
    assert "Frank F." not in client.get(url).content.decode()

    client.force_login(facilitator)
    data = {"display_name": "Frank F.", "preferred_language": "en", "time_zone": "UTC", "name_on_public_pages": "on"}
    client.post(reverse("profile"), data)
    client.logout()
    page = client.get(url).content.decode()
    assert "Run by" in page and "Frank F." in page and facilitator.email not in page


def test_members_are_not_offered_a_public_name(client, org, listed):
    group, _ = listed
    member = active_member(group).user
    client.force_login(member)
    assert "name_on_public_pages" not in client.get(reverse("profile")).content.decode()
    member.name_on_public_pages = True  # even if set some other way, a member is never listed
    member.display_name = "Priya M."
    member.save()
    assert "Priya M." not in client.get(reverse("groups:public", args=[org.slug])).content.decode()


def test_an_organisation_that_has_not_opted_in_has_no_public_page(client, listed):
    other = OrganisationFactory(public_page=False)
    facilitated_group(other, name="Hidden Group", listed_publicly=True, open_to_requests=True)
    hidden = other.support_groups.get()
    assert client.get(reverse("groups:public", args=[other.slug])).status_code == 404
    assert client.get(reverse("groups:public", args=["no-such-service"])).status_code == 404
    assert client.get(reverse("groups:public_ask", args=[other.slug, hidden.pk])).status_code == 404


def test_asking_to_join_a_group_of_another_organisation_through_this_page_is_404(client, org, listed):
    other = OrganisationFactory(public_page=True)
    theirs, _ = facilitated_group(other, listed_publicly=True, open_to_requests=True)
    client.force_login(UserFactory())
    assert client.get(reverse("groups:public_ask", args=[org.slug, theirs.pk])).status_code == 404


# --- Joining with a code -------------------------------------------------------------------------------


def test_a_person_with_no_organisation_joins_with_a_code_in_one_step(client, org, listed, on_commit):
    group, _ = listed
    user = UserFactory()
    client.force_login(user)
    assert "Have a code?" in client.get(reverse("home")).content.decode()

    start = client.post(reverse("groups:join_start"), {"code": group.enrolment_code.lower()})
    assert start.url == reverse("groups:join_group", args=[group.enrolment_code])
    page = client.get(start.url).content.decode()
    assert "We keep your answers to learn what helps." in page and "Thursday Circle" in page

    version = org.consent_versions.get()
    with on_commit():
        done = client.post(start.url, {"accept": "on", "version": version.pk})
    assert done.url == reverse("member_dashboard", args=[org.slug])
    assert Role.objects.filter(user=user, organisation=org, kind=RoleKind.MEMBER).exists()
    assert consent_is_active(user=user, organisation=org)
    assert Membership.objects.get(user=user, group=group).status == MembershipStatus.ACTIVE
    actions = set(AuditEvent.objects.filter(organisation=org, actor=user).values_list("action", flat=True))
    assert {"role_granted", "consent_given", "membership_changed"} <= actions
    assert "You are in Thursday Circle. Welcome!" in client.get(done.url).content.decode()


def test_a_code_for_a_full_group_puts_the_person_on_its_waiting_list(client, org):
    group, _ = facilitated_group(org, capacity=1)
    active_member(group)
    user = UserFactory()
    membership = front_door.join(group=group, user=user, accepted_consent=org.consent_versions.get().pk)
    assert membership.status == MembershipStatus.WAITLISTED


def test_a_member_who_has_consented_is_not_asked_again(client, org, listed):
    group, _ = listed
    other_group, _ = facilitated_group(org)
    user = active_member(other_group).user
    client.force_login(user)
    page = client.get(reverse("groups:join_group", args=[group.enrolment_code])).content.decode()
    assert "We keep your answers" not in page
    client.post(reverse("groups:join_group", args=[group.enrolment_code]), {})
    assert Membership.objects.get(user=user, group=group).status == MembershipStatus.ACTIVE
    assert ConsentDecision.objects.filter(user=user).count() == 1


@pytest.mark.parametrize("code", ["NOPE1234", "", "!!!"])
def test_a_wrong_code_says_so_and_changes_nothing(client, org, code):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("groups:join_start"), {"code": code})
    assert response.status_code == 200
    page = response.content.decode()
    assert "There is no group with that code" in page or "This field is required" in page
    assert counts(user) == (0, 0, 0)


def test_a_wrong_code_in_the_address_is_404_with_the_same_words(client):
    response = client.get(reverse("groups:join_group", args=["ZZZZZZZZ"]))
    assert response.status_code == 404
    assert "There is no group with that code" in response.content.decode()


def test_joining_without_ticking_consent_changes_nothing(client, org, listed):
    group, _ = listed
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("groups:join_group", args=[group.enrolment_code]), {"version": org.consent_versions.get().pk}
    )
    assert "Tick the box to say you agree" in response.content.decode()
    assert counts(user) == (0, 0, 0)


def test_a_consent_text_changed_while_the_person_read_it_is_shown_again(client, org, listed):
    group, _ = listed
    old = org.consent_versions.get()
    ConsentVersionFactory(organisation=org, version=2, effective_date=timezone.localdate(), text="New words.")
    user = UserFactory()
    with pytest.raises(EnrolmentError, match="has just changed"):
        front_door.join(group=group, user=user, accepted_consent=old.pk)
    assert counts(user) == (0, 0, 0)


@pytest.mark.parametrize(
    ("status", "message"),
    [(GroupStatus.DRAFT, "not taking members yet"), (GroupStatus.COMPLETED, "has ended")],
)
def test_a_code_of_a_group_not_taking_members_gives_no_role_and_no_consent(client, org, status, message):
    group, _ = facilitated_group(org, status=status)
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("groups:join_group", args=[group.enrolment_code]),
        {"accept": "on", "version": org.consent_versions.get().pk},
    )
    assert message in response.content.decode()
    assert counts(user) == (0, 0, 0)


def test_a_code_from_another_organisation_cannot_put_a_member_into_its_youth_group(client, org):
    other = OrganisationFactory()
    ConsentVersionFactory(organisation=other, version=1)
    youth, _ = facilitated_group(other, audience=Audience.YOUTH, name="Young Voices")
    adult = UserFactory(year_of_birth=timezone.localdate().year - 40)
    person(org, RoleKind.MEMBER, email="unused@example.org")  # another person, untouched
    client.force_login(adult)
    response = client.post(
        reverse("groups:join_group", args=[youth.enrolment_code]),
        {"accept": "on", "version": other.consent_versions.get().pk},
    )
    page = response.content.decode()
    assert "Young Voices is for young people aged 14 to 24" in page
    assert "you are 40 this year, so you cannot join it, and nothing has changed" in page
    assert counts(adult) == (0, 0, 0)


def test_a_youth_group_asks_for_the_year_of_birth_and_keeps_it_only_if_the_person_joins(client, org):
    youth, _ = facilitated_group(org, audience=Audience.YOUTH, name="Young Voices")
    url = reverse("groups:join_group", args=[youth.enrolment_code])
    version = org.consent_versions.get().pk
    user = UserFactory()
    client.force_login(user)
    assert "Your year of birth" in client.get(url).content.decode()

    too_old = timezone.localdate().year - 30
    response = client.post(url, {"accept": "on", "version": version, "year_of_birth": too_old})
    assert "you are 30 this year" in response.content.decode()
    user.refresh_from_db()
    assert user.year_of_birth is None and counts(user) == (0, 0, 0)

    client.post(url, {"accept": "on", "version": version, "year_of_birth": timezone.localdate().year - 17})
    user.refresh_from_db()
    assert user.year_of_birth == timezone.localdate().year - 17
    assert Membership.objects.get(user=user, group=youth).status == MembershipStatus.ACTIVE


def test_an_organisation_without_consent_text_takes_nobody_through_the_front_door(client):
    organisation = OrganisationFactory(public_page=True)
    group, _ = facilitated_group(organisation)
    user = UserFactory()
    client.force_login(user)
    page = client.get(reverse("groups:join_group", args=[group.enrolment_code])).content.decode()
    assert "is not taking new members online yet" in page
    assert counts(user) == (0, 0, 0)


# --- Asking to join from the public page ---------------------------------------------------------------


def test_asking_to_join_an_open_group_from_the_public_page(client, org, listed, on_commit):
    group, facilitator = listed
    user = UserFactory(display_name="Newcomer")
    client.force_login(user)
    url = reverse("groups:public_ask", args=[org.slug, group.pk])
    with on_commit():
        client.post(url, {"accept": "on", "version": org.consent_versions.get().pk})
    membership = Membership.objects.get(user=user, group=group)
    assert membership.status == MembershipStatus.REQUESTED
    assert [m.to for m in mail.outbox] == [[facilitator.email]]
    assert "Newcomer asked to join Thursday Circle" in mail.outbox[0].subject
    # The facilitator answers as today.
    client.force_login(facilitator)
    client.post(reverse("groups:request_approve", args=[org.slug, group.pk, membership.pk]))
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE


def test_a_listed_group_that_takes_no_requests_cannot_be_asked(client, org):
    group, _ = facilitated_group(org, listed_publicly=True, open_to_requests=False)
    client.force_login(UserFactory())
    assert client.get(reverse("groups:public_ask", args=[org.slug, group.pk])).status_code == 404


# --- Signed out ------------------------------------------------------------------------------------------


def test_a_signed_out_visitor_is_sent_to_sign_up_and_brought_back_after_signing_in(client, org, listed):
    group, _ = listed
    url = reverse("groups:join_group", args=[group.enrolment_code])
    page = client.get(url).content.decode()
    assert "Create an account" in page and f"{reverse('account_signup')}?next=" in page
    assert client.session[RETURN_TO] == url

    user = UserFactory(email="back@example.org")
    signed_in = client.post(reverse("account_login"), {"login": user.email, "password": "correct-horse-battery-staple"})
    assert signed_in.url == url
    assert counts(user) == (0, 0, 0)  # nothing happens until they agree


def test_a_return_address_off_the_site_is_ignored(client):
    user = UserFactory()
    session = client.session
    session[RETURN_TO] = "https://evil.example/"
    session.save()
    response = client.post(reverse("account_login"), {"login": user.email, "password": "correct-horse-battery-staple"})
    assert response.url == reverse("home")


def test_a_lead_opens_the_public_page_from_the_settings_and_closes_it_again(client):
    organisation = OrganisationFactory()
    lead = person(organisation, RoleKind.LEAD)
    client.force_login(lead)
    data = {
        "name": organisation.name,
        "time_zone": organisation.time_zone,
        "crisis_support_text": organisation.crisis_support_text,
        "alert_escalation_hours": 24,
        "suppression_threshold": organisation.suppression_threshold,
        "public_description": "Who we are.",
        "public_page": "on",
    }
    url = reverse("groups:public", args=[organisation.slug])
    client.post(reverse("lead_settings", args=[organisation.slug]), data)
    assert "Who we are." in client.get(url).content.decode()
    assert AuditEvent.objects.filter(action="organisation_settings_changed", organisation=organisation).exists()
    del data["public_page"]
    client.post(reverse("lead_settings", args=[organisation.slug]), data)
    assert client.get(url).status_code == 404


def test_the_settings_page_links_to_the_public_page_once_it_is_open(client, org):
    lead = person(org, RoleKind.LEAD)
    client.force_login(lead)
    page = client.get(reverse("lead_settings", args=[org.slug])).content.decode()
    assert f'href="{reverse("groups:public", args=[org.slug])}"' in page
    org.public_page = False
    org.save()
    page = client.get(reverse("lead_settings", args=[org.slug])).content.decode()
    assert f'href="{reverse("groups:public", args=[org.slug])}"' not in page


def test_guessing_codes_is_stopped_after_twenty_wrong_ones_and_then_even_a_right_code_waits(client, org, listed):
    group, _ = listed
    for n in range(20):
        response = client.post(reverse("groups:join_start"), {"code": f"WRONG{n:03d}"})
        assert "There is no group with that code" in response.content.decode()
    response = client.post(reverse("groups:join_start"), {"code": group.enrolment_code})
    assert response.status_code == 200 and "Too many codes were tried from here" in response.content.decode()
    assert client.get(reverse("groups:join_group", args=[group.enrolment_code])).status_code == 404


def test_with_the_cache_down_codes_still_work_and_a_wrong_one_still_says_so(client, org, listed):
    from tests.conftest import broker_unreachable

    group, _ = listed
    with broker_unreachable():
        wrong = client.post(reverse("groups:join_start"), {"code": "WRONG123"})
        right = client.post(reverse("groups:join_start"), {"code": group.enrolment_code})
    assert "There is no group with that code" in wrong.content.decode()
    assert right.url == reverse("groups:join_group", args=[group.enrolment_code])


def test_the_public_page_takes_the_same_number_of_queries_however_many_groups_it_lists(client, org, listed):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("groups:public", args=[org.slug])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = queries()
    for n in range(5):
        group, _ = facilitated_group(org, name=f"More {n}", listed_publicly=True)
        active_member(group)
    assert queries() == few <= 4

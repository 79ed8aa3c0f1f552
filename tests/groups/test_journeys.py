"""Journeys through the pages: facilitators set groups up and answer requests; members join, ask and leave.

Every bad input gets a clear message and changes nothing.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from groups.models import (
    Audience,
    CurriculumKind,
    Facilitation,
    GroupFacilitator,
    GroupFormat,
    GroupStatus,
    Membership,
    MembershipStatus,
    SupportGroup,
)
from groups.services import membership as membership_services
from peersupport.models import RoleKind
from tests.factories import (
    CurriculumFactory,
    OrganisationFactory,
    consenting_member,
    facilitated_group,
    membership_in,
    person,
)

pytestmark = pytest.mark.django_db


def group_form(**overrides):
    data = {
        "name": "Monday course",
        "description": "",
        "format": GroupFormat.STRUCTURED,
        "facilitation": Facilitation.PEER_LED,
        "delivery": "in_person",
        "location": "Library meeting room",
        "online_url": "",
        "phone_details": "",
        "audience": Audience.ADULT,
        "capacity": "10",
        "time_zone": "Europe/London",
    }
    data.update(overrides)
    return data


def test_a_facilitator_creates_a_group_they_facilitate(client):
    org = OrganisationFactory()
    facilitator = person(org, RoleKind.FACILITATOR)
    curriculum = CurriculumFactory(organisation=org)
    client.force_login(facilitator)
    response = client.post(reverse("groups:create", args=[org.slug]), group_form(curriculum=curriculum.pk))
    group = SupportGroup.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("groups:detail", args=[org.slug, group.pk])
    assert list(group.facilitators.all()) == [facilitator]
    assert group.status == GroupStatus.DRAFT


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "A structured group follows a curriculum: choose one."),
        ({"capacity": "0"}, "Choose between 1 and 500 places."),
        ({"capacity": "many"}, "Enter a whole number."),
        ({"name": ""}, "This field is required."),
        ({"time_zone": "Mars/Olympus"}, "Select a valid choice."),
        ({"online_url": "not a link"}, "Enter a valid URL."),
        (
            {"format": GroupFormat.UNSTRUCTURED, "facilitation": Facilitation.PEER_TO_PEER},
            "Select a valid choice.",  # a facilitator cannot create a group they would not facilitate
        ),
    ],
)
def test_a_bad_group_form_says_what_is_wrong_and_creates_nothing(client, overrides, message):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.FACILITATOR))
    response = client.post(reverse("groups:create", args=[org.slug]), group_form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SupportGroup.objects.exists()


def test_a_curriculum_of_another_organisation_cannot_be_chosen(client):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.FACILITATOR))
    foreign = CurriculumFactory(organisation=OrganisationFactory())
    response = client.post(reverse("groups:create", args=[org.slug]), group_form(curriculum=foreign.pk))
    assert "Select a valid choice" in response.content.decode()
    assert not SupportGroup.objects.exists()


def test_a_lead_creates_a_peer_to_peer_group_and_too_many_facilitators_are_refused(client):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD))
    people = [person(org, RoleKind.FACILITATOR) for _ in range(4)]
    data = group_form(format=GroupFormat.UNSTRUCTURED, facilitators=[p.pk for p in people])
    response = client.post(reverse("groups:create", args=[org.slug]), data)
    assert "A peer-led group has 1 to 3 facilitators." in response.content.decode()
    data = group_form(
        format=GroupFormat.UNSTRUCTURED, facilitation=Facilitation.PEER_TO_PEER, facilitators=[people[0].pk]
    )
    response = client.post(reverse("groups:create", args=[org.slug]), data)
    assert "A peer-to-peer group has no facilitator" in response.content.decode()
    assert not SupportGroup.objects.exists()
    data = group_form(format=GroupFormat.UNSTRUCTURED, facilitation=Facilitation.PEER_TO_PEER)
    assert client.post(reverse("groups:create", args=[org.slug]), data).status_code == 302
    assert SupportGroup.objects.get().facilitators.count() == 0


def test_a_facilitator_edits_their_group_but_cannot_remove_themselves(client):
    group, facilitator = facilitated_group(format=GroupFormat.UNSTRUCTURED, curriculum=None)
    colleague = person(group.organisation, RoleKind.FACILITATOR)
    client.force_login(facilitator)
    url = reverse("groups:edit", args=[group.organisation.slug, group.pk])
    data = group_form(format=GroupFormat.UNSTRUCTURED, name="Renamed", facilitators=[colleague.pk])
    response = client.post(url, data)
    assert response.status_code == 302  # they are kept as facilitator automatically
    group.refresh_from_db()
    assert group.name == "Renamed"
    assert set(group.facilitators.all()) == {facilitator, colleague}


def test_a_lead_cannot_cut_places_below_the_active_members(client):
    group, _ = facilitated_group(format=GroupFormat.UNSTRUCTURED, curriculum=None, capacity=3)
    facilitator = group.facilitators.get()
    for _ in range(3):
        membership_in(group)
    client.force_login(person(group.organisation, RoleKind.LEAD))
    data = group_form(format=GroupFormat.UNSTRUCTURED, capacity="2", facilitators=[facilitator.pk])
    response = client.post(reverse("groups:edit", args=[group.organisation.slug, group.pk]), data)
    assert response.status_code == 200
    assert "3 members are active" in response.content.decode()
    group.refresh_from_db()
    assert group.capacity == 3


def test_a_facilitator_moves_a_group_through_its_statuses_and_a_bad_status_is_refused(client):
    group, facilitator = facilitated_group(status=GroupStatus.DRAFT)
    client.force_login(facilitator)
    url = reverse("groups:status", args=[group.organisation.slug, group.pk])
    response = client.post(url, {"status": GroupStatus.COMPLETED}, follow=True)
    assert "Choose one of the statuses offered." in response.content.decode()
    group.refresh_from_db()
    assert group.status == GroupStatus.DRAFT
    client.post(url, {"status": GroupStatus.RECRUITING})
    group.refresh_from_db()
    assert group.status == GroupStatus.RECRUITING


def test_a_member_joins_by_code_from_the_dashboard(client):
    group, _ = facilitated_group(status=GroupStatus.RECRUITING)
    member = consenting_member(group.organisation)
    client.force_login(member)
    response = client.post(
        reverse("groups:join_code", args=[group.organisation.slug]), {"code": group.enrolment_code}, follow=True
    )
    html = response.content.decode()
    assert f"You are in {group.name}. Welcome!" in html
    assert group.name in html  # listed under "Your groups"
    assert Membership.objects.get(user=member).status == MembershipStatus.ACTIVE


@pytest.mark.parametrize("code", ["", "WRONG123"])
def test_a_wrong_or_empty_code_says_so_and_changes_nothing(client, code):
    group, _ = facilitated_group()
    client.force_login(consenting_member(group.organisation))
    response = client.post(reverse("groups:join_code", args=[group.organisation.slug]), {"code": code})
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is no group with that code" in html or "This field is required." in html
    assert not Membership.objects.exists()


def test_a_young_person_without_a_year_of_birth_is_sent_to_their_profile(client):
    group, _ = facilitated_group(audience=Audience.YOUTH)
    client.force_login(consenting_member(group.organisation))
    response = client.post(reverse("groups:join_code", args=[group.organisation.slug]), {"code": group.enrolment_code})
    assert "Add your year of birth in your profile" in response.content.decode()
    assert not Membership.objects.exists()


def test_a_member_joining_a_full_group_sees_their_place_on_the_waiting_list(client):
    group, _ = facilitated_group(capacity=1)
    membership_in(group)
    membership_in(group, MembershipStatus.WAITLISTED)
    member = consenting_member(group.organisation)
    client.force_login(member)
    response = client.post(
        reverse("groups:join_code", args=[group.organisation.slug]), {"code": group.enrolment_code}, follow=True
    )
    html = response.content.decode()
    assert "is full, so you are on its waiting list" in html
    assert "Waiting list: number 2" in html


def test_a_member_leaves_with_a_reason_and_the_first_waiting_member_is_told(client, on_commit):
    group, _ = facilitated_group(capacity=1)
    mine = membership_in(group)
    waiting = membership_in(group, MembershipStatus.WAITLISTED)
    client.force_login(mine.user)
    url = reverse("groups:leave", args=[group.organisation.slug, group.pk])
    response = client.post(url, {"reason": "bored", "note": ""})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    mine.refresh_from_db()
    assert mine.status == MembershipStatus.ACTIVE
    with on_commit():
        response = client.post(url, {"reason": "practical", "note": "Childcare."})
    assert response.status_code == 302
    mine.refresh_from_db()
    waiting.refresh_from_db()
    assert (mine.status, mine.withdrawal_reason, mine.withdrawal_note) == ("withdrawn", "practical", "Childcare.")
    assert waiting.status == MembershipStatus.ACTIVE
    assert mail.outbox[-1].to == [waiting.user.email]
    # Gone from "Your groups", kept under finished or left.
    html = client.get(reverse("member_dashboard", args=[group.organisation.slug])).content.decode()
    assert "Groups you have finished or left" in html


def test_a_member_asks_to_join_an_open_group_and_a_facilitator_accepts(client, on_commit):
    group, facilitator = facilitated_group(open_to_requests=True, status=GroupStatus.RECRUITING)
    closed, _ = facilitated_group(organisation=group.organisation, open_to_requests=False)
    member = consenting_member(group.organisation)
    client.force_login(member)
    html = client.get(reverse("groups:open", args=[group.organisation.slug])).content.decode()
    assert group.name in html and closed.name not in html
    response = client.post(reverse("groups:ask", args=[group.organisation.slug, closed.pk]), follow=True)
    assert "not open to requests" in response.content.decode()
    with on_commit():
        response = client.post(reverse("groups:ask", args=[group.organisation.slug, group.pk]), follow=True)
    assert "A facilitator will reply soon." in response.content.decode()
    membership = Membership.objects.get(user=member, group=group)
    assert membership.status == MembershipStatus.REQUESTED
    assert mail.outbox[-1].to == [facilitator.email]

    client.force_login(facilitator)
    detail = reverse("groups:detail", args=[group.organisation.slug, group.pk])
    assert "Asked to join" in client.get(detail).content.decode()
    with on_commit():
        response = client.post(
            reverse("groups:request_approve", args=[group.organisation.slug, group.pk, membership.pk]), follow=True
        )
    assert f"{member.name} has a place." in response.content.decode()
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE
    response = client.post(
        reverse("groups:request_approve", args=[group.organisation.slug, group.pk, membership.pk]), follow=True
    )
    assert "already been answered" in response.content.decode()


def test_a_facilitator_marks_completion_and_records_a_leaver_from_the_group_page(client):
    group, facilitator = facilitated_group()
    done = membership_in(group)
    leaver = membership_in(group)
    client.force_login(facilitator)
    slug = group.organisation.slug
    client.post(reverse("groups:membership_complete", args=[slug, group.pk, done.pk]))
    response = client.post(
        reverse("groups:membership_remove", args=[slug, group.pk, leaver.pk]), {"reason": "nonsense"}, follow=True
    )
    assert "Choose a reason from the list" in response.content.decode()
    client.post(reverse("groups:membership_remove", args=[slug, group.pk, leaver.pk]), {"reason": "health"})
    done.refresh_from_db()
    leaver.refresh_from_db()
    assert done.status == MembershipStatus.COMPLETED
    assert (leaver.status, leaver.withdrawal_reason) == ("withdrawn", "health")
    assert leaver.events.last().via == "staff"


def test_the_invitation_link_asks_for_sign_in_then_consent_then_joins(client):
    group, _ = facilitated_group()
    url = reverse("groups:join_link", args=[membership_services.group_invitation_token(group)])
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response.url
    member = person(group.organisation, RoleKind.MEMBER)
    client.force_login(member)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("consent", args=[group.organisation.slug]))
    member = consenting_member(group.organisation)
    client.force_login(member)
    assert client.get(url).status_code == 200
    response = client.post(url)
    assert response.status_code == 302
    assert Membership.objects.get(user=member).status == MembershipStatus.ACTIVE


def test_a_broken_invitation_link_explains_itself(client):
    group, _ = facilitated_group()
    client.force_login(consenting_member(group.organisation))
    response = client.get(reverse("groups:join_link", args=["not-a-token"]))
    assert response.status_code == 410
    assert "Check that you copied the whole link" in response.content.decode()


def test_the_demo_data_has_the_four_kinds_of_group_in_both_organisations(demo_db):
    for slug in ("northbridge", "riverside"):
        groups = {g.name: g for g in SupportGroup.objects.filter(organisation__slug=slug)}
        assert len(groups) == 6  # the four kinds, a finished run of the course, and a finished circle
        finished = groups["Steering my own recovery (spring course)"]
        assert finished.status == "completed"
        assert finished.memberships.filter(status=MembershipStatus.COMPLETED).count() == 13
        kinds = {(g.format, g.facilitation, g.curriculum.kind if g.curriculum else None) for g in groups.values()}
        assert (GroupFormat.STRUCTURED, Facilitation.PEER_LED, CurriculumKind.SELF_MANAGEMENT) in kinds
        assert (GroupFormat.STRUCTURED, Facilitation.PEER_LED, CurriculumKind.ANTI_STIGMA) in kinds
        assert (GroupFormat.UNSTRUCTURED, Facilitation.PEER_TO_PEER, None) in kinds
        peer_to_peer = next(g for g in groups.values() if g.facilitation == Facilitation.PEER_TO_PEER)
        assert not GroupFacilitator.objects.filter(group=peer_to_peer).exists()
        memberships = Membership.objects.filter(group__organisation__slug=slug)
        assert memberships.filter(status=MembershipStatus.WITHDRAWN).exclude(withdrawal_reason="").count() == 3
        waiting = memberships.get(status=MembershipStatus.WAITLISTED)
        assert waiting.group.memberships.filter(status=MembershipStatus.ACTIVE).count() == waiting.group.capacity
        assert memberships.filter(user__email=f"member01@{slug}.example").exists()

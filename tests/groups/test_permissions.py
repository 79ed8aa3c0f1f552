"""Every crossing: between groups, organisations and roles. Anything not allowed is a 404 and changes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from groups.models import Curriculum, GroupStatus, Membership, MembershipStatus, SupportGroup
from groups.services.membership import group_invitation_token
from peersupport.models import Role, RoleKind
from tests.factories import (
    OrganisationFactory,
    consenting_member,
    facilitated_group,
    membership_in,
    person,
)

pytestmark = pytest.mark.django_db


def staff_urls(group, membership):
    slug, gid, mid = group.organisation.slug, group.pk, membership.pk
    return {
        "get": [
            reverse("groups:detail", args=[slug, gid]),
            reverse("groups:edit", args=[slug, gid]),
        ],
        "post": [
            (reverse("groups:edit", args=[slug, gid]), {"name": "Taken over"}),
            (reverse("groups:status", args=[slug, gid]), {"status": GroupStatus.COMPLETED}),
            (reverse("groups:renew_code", args=[slug, gid]), {}),
            (reverse("groups:request_approve", args=[slug, gid, mid]), {}),
            (reverse("groups:request_decline", args=[slug, gid, mid]), {}),
            (reverse("groups:membership_complete", args=[slug, gid, mid]), {}),
            (reverse("groups:membership_remove", args=[slug, gid, mid]), {}),
        ],
    }


def snapshot(group):
    group.refresh_from_db()
    return (
        group.name,
        group.status,
        group.enrolment_code,
        tuple(group.memberships.order_by("pk").values_list("status", flat=True)),
    )


def assert_all_404(client, group, membership):
    before = snapshot(group)
    urls = staff_urls(group, membership)
    for url in urls["get"]:
        assert client.get(url).status_code == 404, url
    for url, data in urls["post"]:
        assert client.post(url, data).status_code == 404, url
    assert snapshot(group) == before


def test_a_facilitator_of_group_a_cannot_see_or_change_group_b(client):
    group_a, facilitator_a = facilitated_group()
    group_b, _ = facilitated_group(organisation=group_a.organisation)
    membership = membership_in(group_b, MembershipStatus.REQUESTED)
    client.force_login(facilitator_a)
    assert_all_404(client, group_b, membership)
    html = client.get(reverse("groups:list", args=[group_a.organisation.slug])).content.decode()
    assert group_a.name in html and group_b.name not in html


def test_a_facilitator_or_lead_of_another_organisation_gets_404(client):
    group, _ = facilitated_group()
    membership = membership_in(group, MembershipStatus.REQUESTED)
    other = OrganisationFactory()
    for kind in (RoleKind.FACILITATOR, RoleKind.LEAD):
        client.force_login(person(other, kind))
        assert_all_404(client, group, membership)
        # Their own organisation's slug with this group's id is no better.
        assert client.get(reverse("groups:detail", args=[other.slug, group.pk])).status_code == 404


def test_a_member_cannot_open_facilitator_pages(client):
    group, _ = facilitated_group()
    membership = membership_in(group, MembershipStatus.REQUESTED)
    client.force_login(membership_in(group).user)
    assert_all_404(client, group, membership)
    slug = group.organisation.slug
    for url in (
        reverse("groups:list", args=[slug]),
        reverse("groups:create", args=[slug]),
        reverse("groups:curricula", args=[slug]),
        reverse("groups:curriculum_detail", args=[slug, group.curriculum_id]),
    ):
        assert client.get(url).status_code == 404, url


def test_a_facilitator_who_lost_the_role_no_longer_manages_their_group(client):
    group, facilitator = facilitated_group()
    membership = membership_in(group, MembershipStatus.REQUESTED)
    Role.objects.filter(user=facilitator, kind=RoleKind.FACILITATOR).delete()
    person_role = Role.objects.create(user=facilitator, organisation=group.organisation, kind=RoleKind.MEMBER)
    assert person_role.pk
    client.force_login(facilitator)
    assert_all_404(client, group, membership)


def test_a_lead_manages_every_group_of_their_organisation(client):
    group, _ = facilitated_group()
    lead = person(group.organisation, RoleKind.LEAD)
    client.force_login(lead)
    assert client.get(reverse("groups:detail", args=[group.organisation.slug, group.pk])).status_code == 200
    html = client.get(reverse("groups:list", args=[group.organisation.slug])).content.decode()
    assert group.name in html


def test_a_facilitator_cannot_create_or_version_curricula(client):
    group, facilitator = facilitated_group()
    slug = group.organisation.slug
    client.force_login(facilitator)
    count = Curriculum.objects.count()
    assert client.get(reverse("groups:curriculum_create", args=[slug])).status_code == 404
    assert client.post(reverse("groups:curriculum_create", args=[slug]), {"title": "Mine"}).status_code == 404
    assert client.get(reverse("groups:curriculum_new_version", args=[slug, group.curriculum_id])).status_code == 404
    assert client.post(reverse("groups:starter_curricula", args=[slug])).status_code == 404
    assert Curriculum.objects.count() == count
    # They may read the curricula they deliver.
    assert client.get(reverse("groups:curricula", args=[slug])).status_code == 200
    assert client.get(reverse("groups:curriculum_detail", args=[slug, group.curriculum_id])).status_code == 200


def test_a_lead_cannot_open_another_organisations_curriculum(client):
    group, _ = facilitated_group()
    other = OrganisationFactory()
    client.force_login(person(other, RoleKind.LEAD))
    assert client.get(reverse("groups:curriculum_detail", args=[other.slug, group.curriculum_id])).status_code == 404
    url = reverse("groups:curriculum_new_version", args=[other.slug, group.curriculum_id])
    assert client.get(url).status_code == 404


def test_a_member_of_organisation_a_cannot_see_or_join_organisation_bs_groups(client):
    group_b, _ = facilitated_group(open_to_requests=True, status=GroupStatus.RECRUITING)
    org_a = OrganisationFactory()
    group_a, _ = facilitated_group(organisation=org_a, open_to_requests=True, status=GroupStatus.RECRUITING)
    member_a = consenting_member(org_a)
    client.force_login(member_a)
    slug_b = group_b.organisation.slug
    # B's member pages are 404 for A's member.
    assert client.get(reverse("groups:open", args=[slug_b])).status_code == 404
    assert client.post(reverse("groups:ask", args=[slug_b, group_b.pk])).status_code == 404
    assert client.post(reverse("groups:join_code", args=[slug_b]), {"code": group_b.enrolment_code}).status_code == 404
    # In A, B's groups do not show, and B's id or code are unknown.
    html = client.get(reverse("groups:open", args=[org_a.slug])).content.decode()
    assert group_a.name in html and group_b.name not in html
    response = client.post(reverse("groups:ask", args=[org_a.slug, group_b.pk]))
    assert response.status_code == 302
    response = client.post(reverse("groups:join_code", args=[org_a.slug]), {"code": group_b.enrolment_code})
    assert "There is no group with that code" in response.content.decode()
    # B's invitation link is a 404 too.
    assert client.get(reverse("groups:join_link", args=[group_invitation_token(group_b)])).status_code == 404
    assert client.post(reverse("groups:join_link", args=[group_invitation_token(group_b)])).status_code == 404
    assert not Membership.objects.filter(group=group_b).exists()


def test_a_member_cannot_leave_for_someone_else(client):
    group, _ = facilitated_group()
    someone = membership_in(group)
    client.force_login(consenting_member(group.organisation))
    url = reverse("groups:leave", args=[group.organisation.slug, group.pk])
    assert client.post(url, {"reason": ""}).status_code == 404
    someone.refresh_from_db()
    assert someone.status == MembershipStatus.ACTIVE


def test_anonymous_visitors_are_sent_to_sign_in(client):
    group, _ = facilitated_group()
    slug = group.organisation.slug
    for url in (
        reverse("groups:list", args=[slug]),
        reverse("groups:detail", args=[slug, group.pk]),
        reverse("groups:join_code", args=[slug]),
        reverse("groups:curricula", args=[slug]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url, url
    assert SupportGroup.objects.count() == 1

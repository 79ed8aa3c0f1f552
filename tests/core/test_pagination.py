"""Lists that grow with the service come a page at a time: the same cost at 5 rows and 5,000, links a
keyboard and a screen reader can use, and page numbers that cannot break the page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from groups.models import GroupFacilitator, GroupStatus, SupportGroup
from peersupport.models import Invitation, Role, RoleKind
from tests.factories import (
    CurriculumFactory,
    OrganisationFactory,
    SupportGroupFactory,
    UserFactory,
    consenting_member,
    facilitated_group,
    person,
)

pytestmark = pytest.mark.django_db

PAGE = settings.LIST_PAGE_SIZE


def many_groups(organisation, n: int, *, prefix: str = "Group", **fields) -> list[SupportGroup]:
    curriculum = CurriculumFactory(organisation=organisation, units=2)
    groups = [
        SupportGroupFactory.build(organisation=organisation, curriculum=curriculum, name=f"{prefix} {i:04d}", **fields)
        for i in range(n)
    ]
    return SupportGroup.objects.bulk_create(groups)


def group_names(html: str) -> list[str]:
    return re.findall(r'<a href="/o/[^/]+/groups/\d+/">([^<]+)</a>', html)


def nav(html: str, label: str) -> str:
    found = re.search(rf'<nav aria-label="{label}">(.*?)</nav>', html, re.S)
    assert found, f"no nav labelled {label!r}"
    return found.group(1)


def test_the_group_list_shows_every_group_once_across_its_pages_in_name_order(client):
    organisation = OrganisationFactory()
    lead = person(organisation, RoleKind.LEAD)
    many_groups(organisation, PAGE * 2 + 7)
    client.force_login(lead)
    url = reverse("groups:list", args=[organisation.slug])

    seen = []
    for number in (1, 2, 3):
        html = client.get(url, {"page": number}).content.decode()
        names = group_names(html)
        assert len(names) == (PAGE if number < 3 else 7), number
        seen += names
    # Before paging, one page held all 107: now no group is lost or shown twice, and the order is the name's.
    assert seen == sorted(seen) and len(set(seen)) == PAGE * 2 + 7
    assert f"Showing {PAGE + 1} to {PAGE * 2} of {PAGE * 2 + 7}" in client.get(url, {"page": 2}).content.decode()


def test_page_links_are_labelled_mark_the_current_page_and_link_previous_and_next(client):
    organisation = OrganisationFactory()
    lead = person(organisation, RoleKind.LEAD)
    many_groups(organisation, PAGE * 3)
    client.force_login(lead)
    html = client.get(reverse("groups:list", args=[organisation.slug]), {"page": 2}).content.decode()
    links = nav(html, "Pages of groups")
    current = re.findall(r'<a class="page-link" href="([^"]+)" aria-current="page">', links)
    assert current == ["?page=2#groups-heading"]
    assert 'href="?page=1#groups-heading" rel="prev">Previous' in links
    assert 'href="?page=3#groups-heading" rel="next">Next' in links
    # Every page link is a real link (reachable by Tab), named for a screen reader as "Page N".
    assert len(re.findall(r'<span class="visually-hidden">Page </span>[123]</a>', links)) == 3


def test_a_short_list_has_no_page_links(client):
    group, facilitator = facilitated_group()
    client.force_login(facilitator)
    html = client.get(reverse("groups:list", args=[group.organisation.slug])).content.decode()
    assert group.name in html
    assert "Pages of groups" not in html


@pytest.mark.parametrize(
    ("asked", "shown"),
    [("abc", 1), ("", 1), ("1.5", 1), ("2", 2), ("3", 3), ("4", 3), ("99999999999999999999", 3), ("0", 3), ("-1", 3)],
)
def test_a_page_number_that_is_not_a_page_gives_the_first_or_last_page_never_an_error(client, asked, shown):
    organisation = OrganisationFactory()
    lead = person(organisation, RoleKind.LEAD)
    many_groups(organisation, PAGE * 2 + 1)
    client.force_login(lead)
    response = client.get(reverse("groups:list", args=[organisation.slug]), {"page": asked})
    assert response.status_code == 200
    assert response.context["groups"].number == shown


def test_the_group_list_costs_the_same_queries_at_5_groups_and_at_5000(client, django_assert_max_num_queries):
    counts = {}
    for size in (5, 5000):
        organisation = OrganisationFactory()
        lead = person(organisation, RoleKind.LEAD)
        groups = many_groups(organisation, size)
        facilitator = person(organisation, RoleKind.FACILITATOR)
        GroupFacilitator.objects.bulk_create(GroupFacilitator(group=g, user=facilitator) for g in groups)
        client.force_login(lead)
        url = reverse("groups:list", args=[organisation.slug])
        with django_assert_max_num_queries(12) as captured:
            response = client.get(url, {"page": 2 if size > PAGE else 1})
        assert len(group_names(response.content.decode())) == min(size, PAGE)
        counts[size] = len(captured.captured_queries)
        # A page's HTML is bounded by the page size, not by the service's size.
        assert len(response.content) < 120_000, len(response.content)
    assert counts[5] == counts[5000], counts
    print(f"group list queries per page: {counts}")  # noqa: T201 (reported with -s)


def test_a_facilitator_pages_through_only_their_own_groups(client):
    organisation = OrganisationFactory()
    facilitator = person(organisation, RoleKind.FACILITATOR)
    mine = many_groups(organisation, PAGE + 3, prefix="Mine")
    many_groups(organisation, PAGE + 3, prefix="Theirs")
    GroupFacilitator.objects.bulk_create(GroupFacilitator(group=g, user=facilitator) for g in mine)
    client.force_login(facilitator)
    url = reverse("groups:list", args=[organisation.slug])
    names = []
    for number in (1, 2, 3):
        names += group_names(client.get(url, {"page": number}).content.decode())
    # Page 3 is past the end of their own groups and repeats page 2; another facilitator's never appear.
    assert set(names) == {g.name for g in mine}
    assert not any(n.startswith("Theirs") for n in names)


def test_a_lead_cannot_page_into_another_organisations_groups(client):
    organisation, other = OrganisationFactory(), OrganisationFactory()
    lead = person(organisation, RoleKind.LEAD)
    many_groups(other, PAGE + 1, prefix="Foreign")
    client.force_login(lead)
    assert client.get(reverse("groups:list", args=[other.slug]), {"page": 2}).status_code in (403, 404)
    html = client.get(reverse("groups:list", args=[organisation.slug]), {"page": 2}).content.decode()
    assert "Foreign" not in html


def test_the_dashboards_show_one_page_of_groups_with_links_to_the_rest(client):
    organisation = OrganisationFactory()
    lead = person(organisation, RoleKind.LEAD)
    many_groups(organisation, PAGE + 4)
    client.force_login(lead)
    url = reverse("lead_dashboard", args=[organisation.slug])
    html = client.get(url).content.decode()
    assert len(group_names(html)) == PAGE
    assert 'href="?groups=2#staff-groups-heading" rel="next"' in nav(html, "Pages of groups")
    assert len(group_names(client.get(url, {"groups": 2}).content.decode())) == 4


def test_the_lead_pages_people_and_invitations_separately(client):
    organisation = OrganisationFactory()
    lead = person(organisation, RoleKind.LEAD)
    users = UserFactory.create_batch(PAGE + 2)
    Role.objects.bulk_create(Role(organisation=organisation, user=u, kind=RoleKind.MEMBER) for u in users)
    expires = timezone.now() + dt.timedelta(days=7)
    Invitation.objects.bulk_create(
        Invitation(
            organisation=organisation, email=f"invitee{i:03d}@example.org", kind=RoleKind.MEMBER, expires_at=expires
        )
        for i in range(PAGE + 5)
    )
    client.force_login(lead)
    url = reverse("lead_dashboard", args=[organisation.slug])

    response = client.get(url, {"people": 2, "invitations": 2})
    html = response.content.decode()
    # PAGE + 3 roles (the lead too): page 2 holds 3; PAGE + 5 invitations: page 2 holds 5.
    assert len(response.context["people"]) == 3
    assert len(response.context["invitations"]) == 5
    assert len(re.findall(r"<li>invitee\d{3}@example.org", html)) == 5
    # The people list opens where it was paged, and each list's links keep the other's page.
    assert "<details open>" in html
    assert 'href="?people=1&amp;invitations=2#people-heading"' in nav(html, "Pages of people")
    assert 'href="?people=2&amp;invitations=1#invite-heading"' in nav(html, "Pages of invitations")


def test_a_member_pages_through_the_groups_open_to_requests(client):
    organisation = OrganisationFactory()
    member = consenting_member(organisation)
    many_groups(organisation, PAGE + 2, open_to_requests=True, status=GroupStatus.RECRUITING)
    client.force_login(member)
    url = reverse("groups:open", args=[organisation.slug])
    first = client.get(url).content.decode()
    assert first.count("Ask to join<span") == PAGE
    assert client.get(url, {"page": 2}).content.decode().count("Ask to join<span") == 2
    assert "?page=2" in nav(first, "Pages of open groups")

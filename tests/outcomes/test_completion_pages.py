"""The completion page comes a page at a time: a lead of a large service is not sent every assessment."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from groups.models import Membership, MembershipStatus
from outcomes.models import Assessment, AssessmentStatus
from peersupport.models import RoleKind
from tests.factories import UserFactory, facilitated_group, person

pytestmark = pytest.mark.django_db

PAGE = settings.LIST_PAGE_SIZE


def group_with_assessments(n: int, **group_fields):
    group, facilitator = facilitated_group(capacity=n + 1, **group_fields)
    users = UserFactory.create_batch(n)
    memberships = Membership.objects.bulk_create(
        Membership(group=group, user=u, status=MembershipStatus.ACTIVE) for u in users
    )
    Assessment.objects.bulk_create(
        Assessment(membership=m, time_point="baseline", status=AssessmentStatus.UPCOMING) for m in memberships
    )
    return group, facilitator


def member_rows(html: str) -> int:
    return len(re.findall(r'<span class="badge [^"]*">Upcoming</span>', html))


def test_the_completion_page_shows_every_assessment_once_across_its_pages(client):
    group, facilitator = group_with_assessments(PAGE + 6)
    client.force_login(facilitator)
    url = reverse("outcomes:completion", args=[group.organisation.slug])
    first = client.get(url).content.decode()
    assert member_rows(first) == PAGE  # before paging: all PAGE + 6 on one page
    assert 'aria-current="page"' in first and '<nav aria-label="Pages of completion">' in first
    assert member_rows(client.get(url, {"page": 2}).content.decode()) == 6
    assert client.get(url, {"page": "x"}).status_code == 200
    assert member_rows(client.get(url, {"page": 99}).content.decode()) == 6  # past the end: the last page


def test_the_completion_page_costs_the_same_queries_at_3_rows_and_at_120(client):
    counts = {}
    for size in (3, 120):
        group, facilitator = group_with_assessments(size)
        client.force_login(facilitator)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("outcomes:completion", args=[group.organisation.slug]))
        assert member_rows(response.content.decode()) == min(size, PAGE)
        counts[size] = len(ctx.captured_queries)
    assert counts[3] == counts[120], counts


def test_a_facilitator_pages_only_through_their_own_groups(client):
    group, facilitator = group_with_assessments(PAGE + 2)
    other, _someone = group_with_assessments(5, organisation=group.organisation, name="Elsewhere circle")
    client.force_login(facilitator)
    url = reverse("outcomes:completion", args=[group.organisation.slug])
    pages = [client.get(url, {"page": n}).content.decode() for n in (1, 2)]
    assert sum(member_rows(p) for p in pages) == PAGE + 2
    assert not any(other.name in p for p in pages)
    lead = person(group.organisation, RoleKind.LEAD)
    client.force_login(lead)
    assert member_rows(client.get(url, {"page": 2}).content.decode()) == 7  # a lead sees both groups

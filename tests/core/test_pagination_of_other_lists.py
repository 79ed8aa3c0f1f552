"""The other lists that grow with the service come a page at a time too: curricula, measurement plans, a
group's schedule and its one-to-one contacts, and a facilitator's groups on their dashboard. One more row than
a page puts the last on a second page, and a full page costs the same queries as a list of two."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from groups.models import Curriculum, GroupFacilitator, SupportGroup
from outcomes.models import MeasurementPlan
from peersupport.models import RoleKind
from sessions.models import ContactMode, GroupSession, OneToOneContact
from tests.factories import (
    OrganisationFactory,
    SupportGroupFactory,
    active_member,
    facilitated_group,
    person,
)

pytestmark = pytest.mark.django_db

PAGE = settings.LIST_PAGE_SIZE


@dataclass
class Listing:
    user: object
    url: str
    row: str  # a regular expression matching one row of the list, with the row's label as group 1
    nav: str  # the label of the list's page links
    param: str = "page"


def curricula(n: int) -> Listing:
    organisation = OrganisationFactory()
    Curriculum.objects.bulk_create(
        Curriculum(organisation=organisation, kind="self_management", title=f"Course {i:03d}") for i in range(n)
    )
    return Listing(
        person(organisation, RoleKind.LEAD),
        reverse("groups:curricula", args=[organisation.slug]),
        r'<a href="/o/[^/]+/curricula/\d+/">(Course \d+)</a>',
        "Pages of curricula",
    )


def plans(n: int) -> Listing:
    organisation = OrganisationFactory()
    courses = Curriculum.objects.bulk_create(
        Curriculum(organisation=organisation, kind="self_management", title=f"Course {i:03d}") for i in range(n)
    )  # one plan per curriculum (or group)
    MeasurementPlan.objects.bulk_create(
        MeasurementPlan(organisation=organisation, curriculum=c, name=f"Plan {i:03d}") for i, c in enumerate(courses)
    )
    return Listing(
        person(organisation, RoleKind.LEAD),
        reverse("outcomes:lead_plans", args=[organisation.slug]),
        r'<a href="/o/[^/]+/lead/plans/\d+/">(Plan \d+)</a>',
        "Pages of measurement plans",
    )


def schedule(n: int) -> Listing:
    group, facilitator = facilitated_group()
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)  # all to come: the first page opens
    GroupSession.objects.bulk_create(
        GroupSession(
            group=group,
            sequence=i + 1,
            starts_at=start + dt.timedelta(weeks=i),
            ends_at=start + dt.timedelta(weeks=i, minutes=90),
        )
        for i in range(n)
    )
    return Listing(
        facilitator,
        reverse("sessions:schedule", args=[group.organisation.slug, group.pk]),
        r'<span class="fw-semibold">(\d+)\. ',
        "Pages of sessions",
    )


def contacts(n: int) -> Listing:
    group, facilitator = facilitated_group()
    membership = active_member(group)
    today = timezone.localdate()
    OneToOneContact.objects.bulk_create(
        OneToOneContact(
            membership=membership,
            facilitator=facilitator,
            date=today - dt.timedelta(days=i),
            mode=ContactMode.values[0],
            minutes=i + 1,
        )
        for i in range(n)
    )
    return Listing(
        facilitator,
        reverse("sessions:contacts", args=[group.organisation.slug, group.pk]),
        r"<td>[^<]*</td><td>[^<]*</td><td>(\d+)</td>",
        "Pages of contacts",
    )


def facilitator_dashboard(n: int) -> Listing:
    organisation = OrganisationFactory()
    facilitator = person(organisation, RoleKind.FACILITATOR)
    groups = SupportGroup.objects.bulk_create(
        SupportGroupFactory.build(organisation=organisation, curriculum=None, format="unstructured", name=f"G {i:03d}")
        for i in range(n)
    )
    GroupFacilitator.objects.bulk_create(GroupFacilitator(group=g, user=facilitator) for g in groups)
    return Listing(
        facilitator,
        reverse("facilitator_dashboard", args=[organisation.slug]),
        r'<a class="fw-semibold" href="/o/[^/]+/sessions/group/\d+/">(G \d+)</a>',
        "Pages of the groups you facilitate",
        param="facilitated",
    )


LISTS = [curricula, plans, schedule, contacts, facilitator_dashboard]


def rows(listing: Listing, html: str) -> list[str]:
    return re.findall(listing.row, html)


@pytest.mark.parametrize("make", LISTS, ids=lambda f: f.__name__)
def test_one_more_than_a_page_puts_the_last_row_on_a_second_page(client, make):
    listing = make(PAGE + 1)
    client.force_login(listing.user)

    first = client.get(listing.url)
    assert first.status_code == 200
    html = first.content.decode()
    assert len(rows(listing, html)) == PAGE
    assert f'<nav aria-label="{listing.nav}">' in html
    assert f"{listing.param}=2" in html

    second = client.get(listing.url, {listing.param: 2}).content.decode()
    shown = rows(listing, html) + rows(listing, second)
    assert len(rows(listing, second)) == 1
    assert len(set(shown)) == PAGE + 1  # none lost, none twice


@pytest.mark.parametrize("make", LISTS, ids=lambda f: f.__name__)
def test_a_full_page_costs_the_queries_of_a_short_list(client, django_assert_max_num_queries, make):
    short = make(2)
    client.force_login(short.user)
    client.get(short.url)  # warm: the session, the per-request role cache
    with django_assert_max_num_queries(100) as small:
        assert client.get(short.url).status_code == 200
    queries = len(small)  # now: the next request empties the log it slices
    assert queries

    long = make(PAGE + 1)
    client.force_login(long.user)
    client.get(long.url)
    with django_assert_max_num_queries(queries):
        assert len(rows(long, client.get(long.url).content.decode())) == PAGE


def test_the_schedule_opens_at_the_page_of_the_next_session(client):
    group, facilitator = facilitated_group()
    start = timezone.now().replace(microsecond=0) - dt.timedelta(weeks=PAGE + 2)
    GroupSession.objects.bulk_create(
        GroupSession(
            group=group,
            sequence=i + 1,
            starts_at=start + dt.timedelta(weeks=i),
            ends_at=start + dt.timedelta(weeks=i, minutes=90),
        )
        for i in range(PAGE + 5)
    )
    client.force_login(facilitator)
    url = reverse("sessions:schedule", args=[group.organisation.slug, group.pk])
    # PAGE + 2 sessions are over: the next is number PAGE + 3, on the second page, which opens first.
    html = client.get(url).content.decode()
    assert re.findall(r'<span class="fw-semibold">(\d+)\. ', html) == [str(n) for n in range(PAGE + 1, PAGE + 6)]
    assert '<a class="page-link" href="?page=2#schedule-heading" aria-current="page">' in html
    # The past is a link away.
    past = client.get(url, {"page": 1}).content.decode()
    assert re.findall(r'<span class="fw-semibold">(\d+)\. ', past)[:2] == ["1", "2"]

"""The dashboards' count of members with current consent: each member's latest decision decides."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from peersupport.models import ConsentDecision, RoleKind
from peersupport.selectors import consented_member_count
from tests.factories import ConsentVersionFactory, OrganisationFactory, RoleFactory, person

pytestmark = pytest.mark.django_db

GIVEN, WITHDRAWN = ConsentDecision.Action.GIVEN, ConsentDecision.Action.WITHDRAWN


def decide(user, version, action, *, days_ago: int):
    ConsentDecision.objects.create(
        user=user, consent_version=version, action=action, at=timezone.now() - dt.timedelta(days=days_ago)
    )


def test_only_members_whose_latest_decision_accepts_the_current_version_are_counted():
    organisation, other = OrganisationFactory(), OrganisationFactory()
    today = timezone.localdate()
    old = ConsentVersionFactory(organisation=organisation, version=1, effective_date=today - dt.timedelta(days=90))
    current = ConsentVersionFactory(organisation=organisation, version=2, effective_date=today - dt.timedelta(days=10))
    elsewhere = ConsentVersionFactory(organisation=other, version=1)

    gave = person(organisation)
    decide(gave, old, GIVEN, days_ago=80)
    decide(gave, current, GIVEN, days_ago=5)
    withdrew = person(organisation)
    decide(withdrew, current, GIVEN, days_ago=6)
    decide(withdrew, current, WITHDRAWN, days_ago=2)
    came_back = person(organisation)
    decide(came_back, current, WITHDRAWN, days_ago=6)
    decide(came_back, current, GIVEN, days_ago=1)
    only_old = person(organisation)
    decide(only_old, old, GIVEN, days_ago=60)
    never = person(organisation)  # noqa: F841 - a member who never decided
    staff = person(organisation, RoleKind.FACILITATOR)
    decide(staff, current, GIVEN, days_ago=3)
    # A member of both organisations withdrew in the other one later: that does not withdraw them here.
    both = person(organisation)
    RoleFactory(user=both, organisation=other)
    decide(both, current, GIVEN, days_ago=4)
    decide(both, elsewhere, WITHDRAWN, days_ago=1)

    assert consented_member_count(organisation) == 3  # gave, came_back, both
    assert consented_member_count(other) == 0


def test_the_count_takes_the_same_queries_at_3_members_and_at_60():
    counts = {}
    for size in (3, 60):
        organisation = OrganisationFactory()
        version = ConsentVersionFactory(organisation=organisation, version=1)
        for i in range(size):
            decide(person(organisation), version, GIVEN, days_ago=i % 7 + 1)
        with CaptureQueriesContext(connection) as ctx:
            assert consented_member_count(organisation) == size
        counts[size] = len(ctx.captured_queries)
    assert counts[3] == counts[60] <= 2, counts

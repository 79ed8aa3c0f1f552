"""My scores: one series per group and plan, so a member in two groups never sees one line across them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from outcomes.instruments import registry
from outcomes.questionnaires.lifecycle import assessments_advance, assessments_ensure
from outcomes.questionnaires.responses import response_submit
from outcomes.questionnaires.selectors import member_scores
from tests.factories import facilitated_group, membership_in
from tests.outcomes.test_questionnaires import plan

pytestmark = pytest.mark.django_db

PHQ9 = registry.get("phq9", 1)


def answered(membership, time_point: str, value: str, *, days_ago: int) -> None:
    assessment = membership.assessments.get(time_point=time_point)
    response_submit(
        assessment=assessment,
        defn=PHQ9,
        raw={f"q{i}": value for i in range(1, 10)},
        submitted_at=timezone.now() - dt.timedelta(days=days_ago),
        check=False,
    )


def member_in_two_groups():
    """A member who answered PHQ-9 at baseline and at the end in the Tuesday group (27 → 9), then at baseline
    in the Friday group (18): joined up, the three scores would read as one course of treatment."""
    tuesday, _ = facilitated_group(name="Tuesday group")
    friday, _ = facilitated_group(organisation=tuesday.organisation, name="Friday group")
    spec = {"baseline": (["phq9"], -1, 400), "post": (["phq9"], -1, 400)}
    plan(tuesday, spec)
    plan(friday, spec)
    first = membership_in(tuesday)
    second = membership_in(friday, user=first.user)
    for membership in (first, second):
        assessments_ensure(membership)
    assessments_advance()
    answered(first, "baseline", "3", days_ago=30)
    answered(first, "post", "1", days_ago=20)
    answered(second, "baseline", "2", days_ago=10)
    return first.user, tuesday, friday


@pytest.fixture
def two_groups():
    return member_in_two_groups()


def test_each_group_has_its_own_labelled_series(two_groups):
    user, tuesday, friday = two_groups
    series = member_scores(user, tuesday.organisation)
    assert [(s.group_name, [p.total for p in s.points]) for s in series] == [
        ("Tuesday group", [27, 9]),
        ("Friday group", [18]),
    ]
    assert all(s.label.startswith(s.group_name) and "Plan" in s.label for s in series)
    assert len({s.key for s in series}) == 2


def test_the_page_draws_one_chart_per_group_and_no_line_joins_them(client, two_groups):
    user, tuesday, _friday = two_groups
    client.force_login(user)
    page = client.get(reverse("outcomes:my_scores", args=[tuesday.organisation.slug])).content.decode()
    assert page.count("<svg") == 2
    assert "Tuesday group · Plan" in page and "Friday group · Plan" in page
    # The Tuesday chart describes its two scores; the Friday one only its own.
    assert "Baseline: score 27.00; End of group: score 9.00</desc>" in page
    friday_chart = page[page.index("Friday group · Plan") :]
    assert "Baseline: score 18.00</desc>" in friday_chart.split("</svg>")[0]


def test_another_members_scores_are_not_in_the_series(two_groups):
    user, tuesday, _friday = two_groups
    stranger = membership_in(tuesday)
    assert member_scores(stranger.user, tuesday.organisation) == []

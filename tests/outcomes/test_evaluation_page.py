"""The lead's evaluation page: says which rule hid a figure, breaks a chart's line at a hidden point, prints
p < 0.001 as such, and keeps its scrolling tables reachable from the keyboard."""

from __future__ import annotations

import pytest
from django.urls import reverse

from outcomes.charts import series_chart
from outcomes.evaluation import recompute
from outcomes.evaluation.disclosure.hidden import Hidden
from outcomes.evaluation.presentation import COMPLEMENTARY, SMALL, figure, hidden_reason, p_value
from outcomes.evaluation.summary import summary_tables
from peersupport.models import RoleKind
from tests.factories import active_member, facilitated_group, person
from tests.outcomes.test_aggregation import answered

pytestmark = pytest.mark.django_db


@pytest.fixture
def seventeen_and_three():
    """17 members in one group, 3 in another, answering at baseline; 20 and 6 of them at the end.

    The small group's 3 is hidden as fewer than 5; the big group's 17 must be hidden too, or the
    organisation's 20 minus 17 would give the 3 away."""
    big, _ = facilitated_group(name="Big group")
    small, _ = facilitated_group(organisation=big.organisation, name="Small group")
    for group, n in ((big, 17), (small, 3)):
        for i in range(n):
            m = active_member(group)
            answered(m, "baseline", 20 + i)
            answered(m, "post", 30 + i)
            answered(m, "mid", 25 + i) if group is big and i < 3 else None
    recompute.recompute_all(organisation_id=big.organisation_id)
    client_user = person(big.organisation, RoleKind.LEAD)
    return big, small, client_user


def test_the_tables_carry_which_rule_hid_each_figure(seventeen_and_three):
    big, small, _lead = seventeen_and_three
    rows = {
        (r["cohort_value"], r["time_point"]): r
        for r in summary_tables(big.organisation).outcomes
        if r["cohort_dimension"] == "group" and r["scale"] == "total"
    }
    assert hidden_reason(rows[(str(small.pk), "baseline")]["n"]) == SMALL
    assert hidden_reason(rows[(str(big.pk), "baseline")]["n"]) == COMPLEMENTARY
    assert rows[(str(big.pk), "baseline")]["n"] == Hidden.complementary(5)  # a typed value, not a text
    # The files write which rule hid the cell: 17 people are not "fewer than 5".
    assert str(rows[(str(big.pk), "baseline")]["n"]) == "suppressed (complementary)"
    assert str(rows[(str(small.pk), "baseline")]["n"]) == "suppressed (<5)"


def test_the_page_says_why_a_figure_is_hidden(client, seventeen_and_three):
    big, small, lead = seventeen_and_three
    client.force_login(lead)
    url = reverse("outcomes:evaluation", args=[big.organisation.slug])
    big_page = client.get(url + f"?cohort=group:{big.pk}").content.decode()
    assert 'data-hidden="complementary">Not shown: hidden so that another figure cannot be worked out' in big_page
    assert ">17<" not in big_page
    small_page = client.get(url + f"?cohort=group:{small.pk}").content.decode()
    assert 'data-hidden="small">Not shown: fewer than 5 people' in small_page
    assert 'data-hidden="complementary"' not in small_page


def test_a_chart_with_a_hidden_point_says_so_and_draws_no_line_across_it(client, seventeen_and_three):
    big, _small, lead = seventeen_and_three
    client.force_login(lead)
    page = client.get(reverse("outcomes:evaluation", args=[big.organisation.slug])).content.decode()
    # Whole organisation: baseline 20 and end 20 shown, mid-point 3 hidden: two dots, no line between them.
    assert "No point is drawn for Mid-group: its figure is hidden" in page
    chart = series_chart([("Baseline", 20.0), ("Mid", None), ("End", 30.0)])
    assert len(chart.points) == 2 and chart.segments == () and chart.missing == ("Mid",)
    joined = series_chart([("Baseline", 20.0), ("Mid", 25.0), ("End", None)])
    assert len(joined.segments) == 1 and joined.missing == ("End",)


def test_scrollable_tables_are_focusable_regions_with_names(client, seventeen_and_three):
    big, _small, lead = seventeen_and_three
    client.force_login(lead)
    page = client.get(reverse("outcomes:evaluation", args=[big.organisation.slug])).content.decode()
    assert page.count('class="table-responsive') == page.count('tabindex="0" role="region" aria-label="')
    assert "How these are computed" in page


def test_figures_are_written_plainly():
    assert p_value(0.0004, 5) == "< 0.001" and p_value(0.0312, 5) == "0.031" and p_value(None, 5) == "—"
    assert figure(1.23456, 5, 2) == "1.23" and figure(None, 5) == "—"
    assert figure(Hidden.small(5), 5) == "fewer than 5 people"
    assert figure(Hidden.complementary(5), 5) == "hidden so that another figure cannot be worked out"
    assert figure(Hidden.reveals_scores(5), 5).startswith("hidden: the scores are all the same")
    # A text is a text: nothing reads a reason out of display strings.
    assert figure("suppressed (<5)", 5) == "suppressed (<5)" and hidden_reason("suppressed (<5)") is None

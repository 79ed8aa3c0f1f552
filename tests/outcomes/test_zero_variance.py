"""The zero-variance rule (docs/statistics.md §3): with no spread an interval is "not estimable", never of zero
width — for the mean at a time point and for the mean change, in both implementations and in the product."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from outcomes.evaluation import recompute
from outcomes.evaluation.report import evaluation_report
from outcomes.evaluation.statistics import many, single
from peersupport.models import RoleKind
from tests.factories import active_member, facilitated_group, person
from tests.outcomes.test_aggregation import answered


def test_every_change_the_same_gives_no_interval_of_the_mean_change_and_no_interval_of_equal_scores():
    pre, post = [10.0, 12.0, 15.0, 20.0, 11.0], [13.0, 15.0, 18.0, 23.0, 14.0]  # everyone +3
    change = single.paired_change(pre, post, higher_is_better=True)
    assert change.mean_change == 3 and change.sd_change == 0
    assert (change.ci_low, change.ci_high) == (None, None)
    described = single.describe([7.0] * 6)
    assert described.mean == 7 and (described.ci_low, described.ci_high) == (None, None)
    rows = many.paired_change_many([np.array(pre)], [np.array(post)])
    assert np.isnan(rows["ci_low"][0]) and np.isnan(rows["ci_high"][0])
    d = many.describe_many([np.full(6, 7.0), np.array([1.0, 2.0, 3.0])])
    assert np.isnan(d["ci_low"][0]) and np.isnan(d["ci_high"][0])
    assert d["ci_low"][1] == pytest.approx(single.describe([1.0, 2.0, 3.0]).ci_low, abs=1e-12)  # spread: an interval


@pytest.mark.django_db
def test_the_page_and_the_json_report_say_not_estimable_rather_than_a_zero_width_interval(client):
    group, _ = facilitated_group(name="Steady group")
    for i in range(6):
        membership = active_member(group)
        answered(membership, "baseline", 30 + i)
        answered(membership, "post", 34 + i)  # everyone +4
    recompute.recompute_all(organisation_id=group.organisation_id)
    report = evaluation_report(group.organisation)
    (row,) = [r for r in report["changes"] if r["cohort"]["dimension"] == "organisation"]
    assert row["mean_change"] == 4 and row["sd_change"] == 0
    assert row["ci_low"] is None and row["ci_high"] is None and row["g_av_ci_low"] is None
    assert row["p"] is None and row["t"] is None  # no p-value without its effect size and interval
    client.force_login(person(group.organisation, RoleKind.LEAD))
    page = client.get(reverse("outcomes:evaluation", args=[group.organisation.slug])).content.decode()
    assert page.count("interval not estimable") >= 2  # the mean change's and g_av's
    assert "4.00 to 4.00" not in page and "(4.00 – 4.00)" not in page

"""A distribution that tells each person's score is not published (issue 15 item 4b).

All scores equal (SD 0), or the same for all but one person: the mean, SD, median, quartiles and interval are
hidden with their own reason (``reveals_scores``) on the page, in every file and in the JSON report, while n
stays; and the statistics of every cohort sharing a group with it are hidden, so that the organisation's minus
the others' does not give them back.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from django.urls import reverse

from outcomes.evaluation import recompute
from outcomes.evaluation.disclosure.distributions import outcome_reveals_scores
from outcomes.evaluation.report import evaluation_report
from peersupport.models import RoleKind
from tests.factories import active_member, facilitated_group, person
from tests.outcomes.test_aggregation import answered

REVEALS = "suppressed (reveals scores)"
HIDDEN = ("suppressed (<5)", "suppressed (complementary)", REVEALS)


def _stats(values):
    values = np.asarray(values, dtype=float)
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return len(values), values.mean(), values.std(ddof=1), median, q1, q3


@pytest.mark.parametrize(
    ("values", "reveals"),
    [
        ([20] * 6, True),  # all equal
        ([20] * 5 + [26], True),  # all but one: the 26 follows from the mean
        ([3] + [20] * 8, True),  # the odd one below
        ([20] * 3 + [29], True),
        ([20, 21, 22, 23, 24, 25], False),
        ([20] * 4 + [26, 27], False),  # two differ: no one score follows
        ([10, 20, 20, 20, 30], False),
    ],
)
def test_which_distributions_tell_individual_scores(values, reveals):
    assert outcome_reveals_scores(*_stats(values)) is reveals


def _summary(client, org) -> list[dict]:
    content = client.get(reverse("outcomes:export_summary_csv", args=[org.slug])).content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _row(rows, table, dimension, value="", **match):
    return next(
        r
        for r in rows
        if r["table"] == table
        and r["cohort_dimension"] == dimension
        and r["cohort_value"] == value
        and r["scale"] == "total"
        and all(r[key] == v for key, v in match.items())
    )


def _service(same_scores):
    """Group "Same" answers ``same_scores`` at baseline and each adds 3 at the end; group "Varied" differs."""
    same, _ = facilitated_group(name="Same")
    org = same.organisation
    varied, _ = facilitated_group(organisation=org, name="Varied")
    for score in same_scores:
        m = active_member(same)
        answered(m, "baseline", score)
        answered(m, "post", score + 3)
    for i in range(8):
        m = active_member(varied)
        answered(m, "baseline", 15 + 2 * i)
        answered(m, "post", 16 + 3 * i)
    recompute.recompute_all(organisation_id=org.pk)
    return org, same, varied


@pytest.mark.django_db
@pytest.mark.parametrize("same_scores", [[20] * 6, [20] * 5 + [26]], ids=["all-equal", "all-but-one"])
def test_the_statistics_of_scores_that_tell_each_persons_are_hidden_everywhere_and_n_stays(client, same_scores):
    org, same, varied = _service(same_scores)
    client.force_login(person(org, RoleKind.LEAD))
    rows = _summary(client, org)

    baseline = _row(rows, "outcome", "group", str(same.pk), time_point="baseline")
    assert baseline["n"] == "6"
    for stat in ("mean", "sd", "median", "q1", "q3"):
        assert baseline[stat] == REVEALS, stat
    for stat in ("ci_low", "ci_high"):  # no interval of scores that do not vary: nothing to hide then
        assert baseline[stat] in (REVEALS, ""), stat
    # The organisation's mean minus the varied group's would give it back: one of them is hidden too.
    whole = _row(rows, "outcome", "organisation", time_point="baseline")
    other = _row(rows, "outcome", "group", str(varied.pk), time_point="baseline")
    assert whole["n"] == "14" and other["n"] == "8"
    assert whole["mean"] in HIDDEN or other["mean"] in HIDDEN
    assert (whole["mean"] in HIDDEN) == (whole["sd"] in HIDDEN)
    assert (other["mean"] in HIDDEN) == (other["sd"] in HIDDEN)

    # Everyone in "Same" changed by exactly 3: that tells each member's change, not their score, and is shown
    # (its interval "not estimable", docs/statistics.md §3).
    change = _row(rows, "change", "group", str(same.pk), from_time_point="baseline", to_time_point="post")
    assert change["n_pairs"] == "6" and float(change["mean_change"]) == 3

    meta = list(
        csv.DictReader(
            io.StringIO(
                client.get(reverse("outcomes:export_meta_analysis_csv", args=[org.slug])).content.decode("utf-8-sig")
            )
        )
    )
    meta_row = next(r for r in meta if r["cohort_dimension"] == "group" and r["cohort_value"] == str(same.pk))
    assert meta_row["n_baseline"] == "6" and meta_row["mean_baseline"] == REVEALS and meta_row["sd_baseline"] == REVEALS

    report = evaluation_report(org)
    json_row = next(
        r
        for r in report["outcomes"]
        if r["cohort"]["value"] == str(same.pk) and r["time_point"] == "baseline" and r["scale"] == "total"
    )
    assert json_row["n"] == 6 and json_row["mean"] == {"hidden": "reveals_scores", "k": 5}

    page = client.get(reverse("outcomes:evaluation", args=[org.slug]) + f"?cohort=group:{same.pk}").content.decode()
    assert 'data-hidden="reveals_scores">Not shown: hidden: the scores are all the same, or all but one' in page
    assert "<td>6</td>" in page


@pytest.mark.django_db
def test_a_distribution_that_tells_nothing_is_shown_as_before(client):
    org, same, _varied = _service([18, 19, 20, 22, 23, 25])
    client.force_login(person(org, RoleKind.LEAD))
    rows = _summary(client, org)
    baseline = _row(rows, "outcome", "group", str(same.pk), time_point="baseline")
    assert baseline["n"] == "6" and float(baseline["mean"]) == pytest.approx(127 / 6)
    assert not [r for r in rows if REVEALS in r.values() and r["table"] == "outcome"]

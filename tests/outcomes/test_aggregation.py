"""The evaluation engine: stale marking with the submit, atomic idempotent recompute, figures that match scipy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.db import transaction
from django.utils import timezone
from scipy import stats

from groups.models import MembershipStatus
from outcomes.evaluation import cohorts, engine, marking, recompute
from outcomes.models import (
    ChangeSummary,
    CohortState,
    FlowSummary,
    OutcomeSummary,
)
from tests.factories import active_member, answered, facilitated_group

pytestmark = pytest.mark.django_db

PRE = [40, 45, 38, 50, 42, 36, 48, 41]
POST = [46, 48, 45, 51, 40, 44, 57, 45]


@pytest.fixture
def worked_example():
    """docs/statistics.md §8: eight members with baseline and post scores, plus one with baseline only."""
    group, _ = facilitated_group()
    for pre, post in zip(PRE, POST, strict=True):
        m = active_member(group)
        answered(m, "baseline", pre)
        answered(m, "post", post)
    dropout = active_member(group)
    answered(dropout, "baseline", 44)
    dropout.status = MembershipStatus.WITHDRAWN
    dropout.withdrawal_reason = "time_or_place"
    dropout.save()
    recompute.recompute_all(organisation_id=group.organisation_id)
    return group


def cohort(group, dimension="group"):
    value = str(group.pk) if dimension == "group" else ""
    return CohortState.objects.get(organisation=group.organisation, dimension=dimension, value=value)


def test_change_figures_match_the_worked_example_and_scipy(worked_example):
    change = ChangeSummary.objects.get(cohort=cohort(worked_example), instrument_code="wemwbs", scale="total")
    pre, post = np.array(PRE, float), np.array(POST, float)
    diff = post - pre
    ttest = stats.ttest_rel(post, pre)
    ci = ttest.confidence_interval(0.95)
    assert change.n_pairs == 8
    assert change.mean_change == pytest.approx(diff.mean(), abs=1e-9)
    assert change.sd_change == pytest.approx(diff.std(ddof=1), abs=1e-9)
    assert (change.ci_low, change.ci_high) == (pytest.approx(ci.low, abs=1e-9), pytest.approx(ci.high, abs=1e-9))
    assert change.t == pytest.approx(ttest.statistic, abs=1e-9)
    assert change.p == pytest.approx(ttest.pvalue, abs=1e-9)
    assert change.p_wilcoxon == pytest.approx(stats.wilcoxon(post, pre).pvalue, abs=1e-9)
    assert change.r_pre_post == pytest.approx(stats.pearsonr(pre, post).statistic, abs=1e-9)
    assert change.d_z == pytest.approx(diff.mean() / diff.std(ddof=1), abs=1e-9)
    d_av = diff.mean() / ((pre.std(ddof=1) + post.std(ddof=1)) / 2)
    assert change.d_av == pytest.approx(d_av, abs=1e-9)
    assert change.g_av == pytest.approx((1 - 3 / (4 * 7 - 1)) * d_av, abs=1e-9)
    # The published reference values (docs/statistics.md, 6 significant figures).
    assert change.t == pytest.approx(3.40168, rel=1e-5)
    assert change.p_wilcoxon == pytest.approx(0.0234375, rel=1e-5)
    assert change.g_av == pytest.approx(0.802627, rel=1e-5)
    # The intervals of docs/statistics.md §3 and §8: g_av's noncentral t, d_z's exact one, g_rm's Borenstein.
    assert (change.g_av_ci_low, change.g_av_ci_high) == (
        pytest.approx(0.189201, rel=1e-5),
        pytest.approx(1.58269, rel=1e-5),
    )
    assert (change.d_z_ci_low, change.d_z_ci_high) == (
        pytest.approx(0.252003, rel=1e-5),
        pytest.approx(2.10804, rel=1e-5),
    )
    assert (change.d_rm, change.g_rm) == (pytest.approx(0.900674, rel=1e-5), pytest.approx(0.800600, rel=1e-5))
    assert (change.g_rm_ci_low, change.g_rm_ci_high) == (
        pytest.approx(0.253697, rel=1e-5),
        pytest.approx(1.34750, rel=1e-5),
    )


def test_descriptives_use_all_available_data_at_each_time_point(worked_example):
    summaries = {s.time_point: s for s in OutcomeSummary.objects.filter(cohort=cohort(worked_example), scale="total")}
    baseline = np.array([*PRE, 44], float)
    assert summaries["baseline"].n == 9 and summaries["post"].n == 8
    assert summaries["baseline"].mean == pytest.approx(baseline.mean(), abs=1e-9)
    assert summaries["baseline"].sd == pytest.approx(baseline.std(ddof=1), abs=1e-9)
    q1, q3 = np.percentile(baseline, [25, 75])
    assert (summaries["baseline"].q1, summaries["baseline"].q3) == (pytest.approx(q1), pytest.approx(q3))
    low, high = stats.t.interval(0.95, 8, loc=baseline.mean(), scale=stats.sem(baseline))
    assert summaries["baseline"].ci_low == pytest.approx(low, abs=1e-9)
    assert summaries["baseline"].ci_high == pytest.approx(high, abs=1e-9)
    assert summaries["post"].mean == pytest.approx(47.0, abs=1e-9)


def test_participant_flow_counts_enrolment_assessments_and_withdrawal_reasons(worked_example):
    flow = FlowSummary.objects.get(cohort=cohort(worked_example))
    assert flow.enrolled == 9
    assert flow.withdrawn == 1
    assert flow.withdrawal_reasons == {"time_or_place": 1}
    assert flow.assessments_done == {"baseline": 9, "post": 8}


def test_every_cohort_of_the_group_is_computed(worked_example):
    dimensions = set(CohortState.objects.values_list("dimension", flat=True))
    assert dimensions == {"organisation", "group", "format", "delivery", "audience", "curriculum", "curriculum_kind"}
    assert not CohortState.objects.filter(stale=True).exists()
    org_change = ChangeSummary.objects.get(cohort=cohort(worked_example, "organisation"), scale="total")
    assert org_change.n_pairs == 8


def test_recompute_is_idempotent(worked_example):
    before = list(
        OutcomeSummary.objects.order_by("cohort", "time_point").values_list("cohort", "time_point", "n", "mean")
    )
    recompute.recompute_all(organisation_id=worked_example.organisation_id)
    after = list(
        OutcomeSummary.objects.order_by("cohort", "time_point").values_list("cohort", "time_point", "n", "mean")
    )
    assert before == after
    assert ChangeSummary.objects.filter(cohort=cohort(worked_example)).count() == 1


def test_edge_cases_give_no_figure_rather_than_a_wrong_one():
    group, _ = facilitated_group()
    lone = active_member(group)
    answered(lone, "baseline", 30)
    answered(lone, "post", 35)
    same = active_member(group)
    answered(same, "baseline", 30)  # no post: follow-up all missing
    recompute.recompute_all(organisation_id=group.organisation_id)
    change = ChangeSummary.objects.get(cohort=cohort(group), scale="total", to_time_point="post")
    assert change.n_pairs == 1 and change.mean_change == 5.0
    assert change.sd_change is None and change.t is None and change.p is None and change.d_z is None
    assert not ChangeSummary.objects.filter(cohort=cohort(group), to_time_point="follow_up_3").exists()
    post = OutcomeSummary.objects.get(cohort=cohort(group), scale="total", time_point="post")
    assert post.n == 1 and post.sd is None and post.ci_low is None


def test_zero_variance_change_gives_no_t_or_effect_size():
    group, _ = facilitated_group()
    for pre in (10, 12, 14):
        m = active_member(group)
        answered(m, "baseline", pre)
        answered(m, "post", pre + 2)
    recompute.recompute_all(organisation_id=group.organisation_id)
    change = ChangeSummary.objects.get(cohort=cohort(group), scale="total")
    assert change.mean_change == 2.0 and change.sd_change == 0.0
    assert change.t is None and change.d_z is None


def test_seeded_random_data_matches_scipy():
    rng = np.random.default_rng(20261128)
    group, _ = facilitated_group()
    pre = rng.normal(20, 6, 40).round(1)
    post = (pre - rng.normal(3, 4, 40)).round(1)
    for a, b in zip(pre, post, strict=True):
        m = active_member(group)
        answered(m, "baseline", float(a), code="phq9")
        answered(m, "post", float(b), code="phq9")
    recompute.recompute_all(organisation_id=group.organisation_id)
    change = ChangeSummary.objects.get(cohort=cohort(group), instrument_code="phq9", scale="total")
    ttest = stats.ttest_rel(post, pre)
    assert change.t == pytest.approx(ttest.statistic, abs=1e-9)
    assert change.p == pytest.approx(ttest.pvalue, abs=1e-9)
    assert change.p_wilcoxon == pytest.approx(stats.wilcoxon(post, pre).pvalue, abs=1e-9)
    assert change.higher_is_better is False
    # PHQ-9's file publishes alpha and no clinical SD: SD₁ is the organisation's baseline SD, frozen.
    assert change.rci_parameters["sd_source"] == "organisation baseline"
    assert change.rci_parameters["sd_pre"] == pytest.approx(float(np.std(pre, ddof=1)), abs=1e-9)
    assert change.rci_parameters["reliability"] == 0.89
    assert change.improved + change.unchanged + change.deteriorated == 40


def test_a_submit_marks_its_cohorts_stale_in_the_same_transaction(on_commit):
    group, _ = facilitated_group()
    m = active_member(group)
    with pytest.raises(RuntimeError), transaction.atomic():
        marking.mark_stale(group)
        raise RuntimeError("the submit failed")
    assert not CohortState.objects.exists()
    marking.mark_stale(group)
    assert CohortState.objects.filter(stale=True).count() == 7
    answered(m, "baseline", 20)
    with on_commit():
        marking.mark_stale(group)
    assert not CohortState.objects.filter(stale=True).exists()  # recomputed after commit (tasks in-process here)


def test_a_mark_that_arrives_during_a_recompute_keeps_the_cohort_stale():
    group, _ = facilitated_group()
    answered(active_member(group), "baseline", 20)
    marking.mark_stale(group)
    state = CohortState.objects.get(dimension="group")
    CohortState.objects.filter(pk=state.pk).update(marked_at=timezone.now() + dt.timedelta(seconds=30))
    recompute.recompute_cohort(state.pk)
    state.refresh_from_db()
    assert state.stale is True and state.computed_at is not None
    assert recompute.recompute_stale() == 7
    state.refresh_from_db()
    assert state.stale is True  # the late mark is still in the future; the sweep will pick it up again


def test_evaluation_report_prints_only_unsuppressed_figures_with_documented_keys(worked_example):
    import io
    import json

    from django.core.management import call_command

    out = io.StringIO()
    call_command("evaluation_report", "--org", worked_example.organisation.slug, "--format", "json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["suppression_threshold"] == 5
    baseline = next(
        r for r in report["outcomes"] if r["cohort"]["dimension"] == "group" and r["time_point"] == "baseline"
    )
    assert set(baseline) >= {
        "cohort",
        "instrument",
        "time_point",
        "n",
        "mean",
        "sd",
        "median",
        "q1",
        "q3",
        "ci_low",
        "ci_high",
    }
    # One group: its cohort is the organisation's people, so its changes are listed once, under the organisation.
    assert {"dimension": "group", "value": str(worked_example.pk), "label": worked_example.name} in [
        s["cohort"] for s in report["same_people"]
    ]
    change = next(r for r in report["changes"] if r["cohort"]["dimension"] == "organisation")
    assert set(change) >= {
        "from", "to", "n_pairs", "mean_change", "sd_change", "ci_low", "ci_high", "t", "p", "p_wilcoxon",
        "wilcoxon_method", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "g_av_ci_low", "g_av_ci_high",
        "d_rm", "g_rm", "g_rm_ci_low", "g_rm_ci_high", "r_pre_post", "improved", "unchanged", "deteriorated",
        "reliable_change_parameters", "outcome_role", "primary_note", "p_holm",
    }  # fmt: skip
    assert change["n_pairs"] == 8 and change["from"] == "baseline" and change["to"] == "post"
    # what the figures are, and the figures an evaluator asked for (docs/evaluation-report.md)
    assert report["design"] == "uncontrolled pre-post" and "regression to the mean" in report["design_note"]
    assert change["wilcoxon_method"] == "exact"
    assert change["g_av_ci_low"] == pytest.approx(0.189201, rel=1e-5)
    assert change["g_rm_ci_high"] == pytest.approx(1.34750, rel=1e-5)
    assert change["p"] == pytest.approx(0.0114163, rel=1e-5)  # shown: g_av and its interval are shown
    flow = next(r for r in report["flow"] if r["cohort"]["dimension"] == "group")
    assert "dose_share_half" in flow


def test_the_report_hides_every_cell_about_fewer_than_five_people_and_says_why():
    import io
    import json

    from django.core.management import call_command

    group, _ = facilitated_group()
    for pre in (10, 12, 14, 16):
        m = active_member(group)
        answered(m, "baseline", pre)
        answered(m, "post", pre + 1)
    recompute.recompute_all(organisation_id=group.organisation_id)
    out = io.StringIO()
    call_command("evaluation_report", "--org", group.organisation.slug, stdout=out)
    report = json.loads(out.getvalue())
    # Every row is there, but each figure about the 4 people is hidden, saying why: never their numbers.
    hidden = {"hidden": "small", "k": 5}
    assert report["outcomes"] and report["changes"] and report["flow"]
    for row in report["outcomes"]:
        assert all(row[key] == hidden for key in ("n", "mean", "sd", "median", "q1", "q3")), row
    for row in report["changes"]:
        assert row["n_pairs"] == hidden and row["mean_change"] == hidden and row["g_av"] == hidden, row
    for row in report["flow"]:
        done = row["assessments_done"]
        assert row["enrolled"] == hidden and done["baseline"] == done["post"] == hidden, row


def test_recompute_outcomes_command_recomputes_stale_or_all(worked_example):
    import io

    from django.core.management import CommandError, call_command

    CohortState.objects.update(stale=True)
    out = io.StringIO()
    call_command("recompute_outcomes", "--org", worked_example.organisation.slug, stdout=out)
    assert "Recomputed 7 cohorts." in out.getvalue()
    assert not CohortState.objects.filter(stale=True).exists()
    out = io.StringIO()
    call_command("recompute_outcomes", "--all", stdout=out)
    assert "Recomputed 7 cohorts." in out.getvalue()
    with pytest.raises(CommandError, match="No organisation"):
        call_command("recompute_outcomes", "--org", "nope")


def test_a_lead_sees_the_evaluation_page_with_figures_chart_and_flow(client, worked_example):
    from django.urls import reverse

    from peersupport.models import RoleKind
    from tests.factories import person

    client.force_login(person(worked_example.organisation, RoleKind.LEAD))
    url = reverse("outcomes:evaluation", args=[worked_example.organisation.slug])
    page = client.get(url + f"?cohort=group:{worked_example.pk}").content.decode()
    assert "Participant flow" in page and "<svg" in page
    assert "4.50 (1.37 to 7.63)" in page  # mean change and its CI, docs/statistics.md §8
    assert "42.67" in page  # baseline mean of all nine available scores (384 / 9)
    assert "Computed at" in page
    assert "uncontrolled pre–post design" in page and "regression to the mean" in page
    assert 'href="#controlled-evaluation"' in page and 'id="controlled-evaluation"' in page
    assert "0.80 (0.19 to 1.58)" in page  # g_av with its noncentral-t interval, docs/statistics.md §8


def test_the_page_shows_no_p_value_where_g_av_has_no_interval(client):
    from django.urls import reverse

    from peersupport.models import RoleKind
    from tests.factories import person

    group, _ = facilitated_group()
    for pre in (40, 44, 47, 51, 38, 42):  # everyone gains 3 points: no spread of change, no interval
        m = active_member(group)
        answered(m, "baseline", pre)
        answered(m, "post", pre + 3)
    recompute.recompute_all(organisation_id=group.organisation_id)
    client.force_login(person(group.organisation, RoleKind.LEAD))
    page = client.get(reverse("outcomes:evaluation", args=[group.organisation.slug]) + f"?cohort=group:{group.pk}")
    text = page.content.decode()
    assert "interval not estimable" in text
    first = text.index("interval not estimable")  # the mean change's; then the p cell, then g_av's
    second = text.index("interval not estimable", first + 1)
    assert "<td>—</td>" in text[first:second]  # the p cell beside it


def test_the_evaluation_page_suppresses_small_cohorts(client):
    from django.urls import reverse

    from peersupport.models import RoleKind
    from tests.factories import person

    group, _ = facilitated_group()
    for pre in (10, 12, 14):
        m = active_member(group)
        answered(m, "baseline", pre)
        answered(m, "post", pre + 3)
    recompute.recompute_all(organisation_id=group.organisation_id)
    client.force_login(person(group.organisation, RoleKind.LEAD))
    page = client.get(reverse("outcomes:evaluation", args=[group.organisation.slug])).content.decode()
    assert "Not shown: fewer than 5 people" in page
    assert "12.00" not in page and "15.00" not in page


def test_facilitators_members_and_other_organisations_cannot_open_the_evaluation(client, worked_example):
    from django.urls import reverse

    from peersupport.models import RoleKind
    from tests.factories import OrganisationFactory, person

    url = reverse("outcomes:evaluation", args=[worked_example.organisation.slug])
    facilitator = worked_example.facilitators.first()
    member = worked_example.memberships.first().user
    outsider = person(OrganisationFactory(), RoleKind.LEAD)
    for user in (facilitator, member, outsider):
        client.force_login(user)
        assert client.get(url).status_code == 404


def test_the_page_and_the_json_report_hide_what_the_export_hides(client):
    """A count hidden in the export must not be shown on the page or in the report (section 6: all tables)."""
    import io
    import json

    from django.core.management import call_command
    from django.urls import reverse

    from outcomes.evaluation.disclosure.hidden import is_hidden
    from outcomes.evaluation.summary import summary_tables
    from peersupport.models import RoleKind
    from tests.factories import person

    big, _ = facilitated_group()
    small, _ = facilitated_group(organisation=big.organisation)
    for group, n in ((big, 17), (small, 3)):
        for i in range(n):
            m = active_member(group)
            answered(m, "baseline", 20 + i)
    recompute.recompute_all(organisation_id=big.organisation_id)
    tables = summary_tables(big.organisation)
    hidden = {
        (r["cohort_dimension"], r["cohort_value"], r["time_point"])
        for r in tables.outcomes
        if is_hidden(r["n"]) and r["scale"] == "total"
    }
    assert ("group", str(big.pk), "baseline") in hidden  # 20 − 17 would give the small group's 3 away
    out = io.StringIO()
    call_command("evaluation_report", "--org", big.organisation.slug, stdout=out)
    report = json.loads(out.getvalue())
    shown = {
        (r["cohort"]["dimension"], r["cohort"]["value"], r["time_point"])
        for r in report["outcomes"]
        if isinstance(r["n"], int)
    }
    assert not shown & hidden
    client.force_login(person(big.organisation, RoleKind.LEAD))
    page = client.get(reverse("outcomes:evaluation", args=[big.organisation.slug]) + f"?cohort=group:{big.pk}")
    assert ">17<" not in page.content.decode()


def test_structured_and_unstructured_groups_are_compared_as_hedges_g():
    from groups.models import GroupFormat
    from outcomes.evaluation.summary import comparisons_of
    from outcomes.models import ComparisonSummary
    from tests.factories import SupportGroupFactory

    structured, _ = facilitated_group()
    unstructured = SupportGroupFactory(
        organisation=structured.organisation, format=GroupFormat.UNSTRUCTURED, curriculum=None
    )
    a = [6, 3, 7, 1, -2, 8, 9, 4]  # docs/statistics.md §8, the between-group fixture (change scores)
    b = [2, -1, 4, 0, 3, 1, -2, 5]
    for group, changes in ((structured, a), (unstructured, b)):
        for change in changes:
            m = active_member(group)
            answered(m, "baseline", 30)
            answered(m, "post", 30 + change)
    recompute.recompute_all(organisation_id=structured.organisation_id)
    row = ComparisonSummary.objects.get(kind="format", scale="total")
    assert (row.n_a, row.n_b) == (8, 8)
    assert row.g == pytest.approx(0.896937, rel=1e-5)
    assert (row.g_ci_low, row.g_ci_high) == (pytest.approx(-0.0803380, rel=1e-5), pytest.approx(1.87421, rel=1e-5))
    # one group a side: the t-test is computed but, like every p of it, withheld (docs/statistics.md §9)
    assert stats.ttest_ind(a, b).pvalue < 0.1 and row.p is None and row.t is None
    assert (row.groups_a, row.groups_b, row.supports_conclusion) == (1, 1, False)
    assert "cannot support a conclusion" in row.conclusion_note
    by_group = next(c for c in comparisons_of([row.cohort_id]) if c.a_value == str(structured.pk))
    assert by_group.g == pytest.approx(row.g, abs=1e-9)  # with two groups, a group vs the rest is the same split
    from outcomes.evaluation.report import evaluation_report

    shown = evaluation_report(structured.organisation)["comparisons"]
    assert {c["kind"] for c in shown} == {"format", "group"}
    assert shown[0]["g"] == pytest.approx(0.896937, rel=1e-5)


def test_comparisons_appear_in_the_report_only_when_both_sides_are_large_enough():
    import io
    import json

    from django.core.management import call_command

    from groups.models import GroupFormat
    from tests.factories import SupportGroupFactory

    structured, _ = facilitated_group()
    unstructured = SupportGroupFactory(
        organisation=structured.organisation, format=GroupFormat.UNSTRUCTURED, curriculum=None
    )
    for group, n in ((structured, 8), (unstructured, 3)):
        for i in range(n):
            m = active_member(group)
            answered(m, "baseline", 30)
            answered(m, "post", 31 + i)
    recompute.recompute_all(organisation_id=structured.organisation_id)
    out = io.StringIO()
    call_command("evaluation_report", "--org", structured.organisation.slug, stdout=out)
    assert json.loads(out.getvalue())["comparisons"] == []  # three unstructured members: not shown


def test_a_group_comparison_set_gives_back_each_groups_comparison_with_undefined_figures_as_none():
    import numpy as np

    from outcomes.models import GroupComparisonSet

    group, _ = facilitated_group()
    marking.mark_stale(group)
    cohort = CohortState.objects.get(dimension="organisation")
    figures = np.arange(18, dtype=float).reshape(9, 2)
    figures[4, 1] = np.nan  # g of the second group undefined
    stored = GroupComparisonSet.objects.create(
        cohort=cohort,
        instrument_code="wemwbs",
        scale="total",
        from_time_point="baseline",
        to_time_point="post",
        group_ids=np.array([7, 9], dtype="<i8").tobytes(),
        labels=["Seven", "Nine"],
        counts=np.array([5, 6, 30, 29], dtype="<i8").tobytes(),
        figures=figures.astype("<f8").tobytes(),
    )
    first, second = GroupComparisonSet.objects.get(pk=stored.pk).comparisons()
    assert (first.a_value, first.a_label, first.n_a, first.n_b, first.b_label) == ("7", "Seven", 5, 30, "Other groups")
    # one group against the rest: a p-value is never given back, even one stored before that rule
    assert (first.mean_a, first.mean_b, first.g, first.p, first.t) == (0.0, 2.0, 8.0, None, None)
    assert (second.a_value, second.n_a, second.n_b, second.g, second.p) == ("9", 6, 29, None, None)
    assert first.ancova_difference is None and (first.groups_a, first.groups_b) == (1, 1)  # no adjusted array yet
    adjusted = np.array([[1.5, np.nan], [0.5, np.nan], [2.5, np.nan]])
    GroupComparisonSet.objects.filter(pk=stored.pk).update(adjusted=adjusted.astype("<f8").tobytes())
    first, second = GroupComparisonSet.objects.get(pk=stored.pk).comparisons()
    assert (first.ancova_difference, first.ancova_ci_low, first.ancova_ci_high) == (1.5, 0.5, 2.5)
    assert second.ancova_difference is None and not second.supports_conclusion
    assert first.kind == second.kind == "group" and first.cohort_id == cohort.pk


def test_a_full_recompute_makes_missing_cohorts_and_refreshes_a_renamed_groups_label():
    from groups.models import SupportGroup

    group, _ = facilitated_group()
    answered(active_member(group), "baseline", 20)
    recompute.recompute_all(organisation_id=group.organisation_id)
    SupportGroup.objects.filter(pk=group.pk).update(name="Renamed circle")  # a bulk edit: no receiver saw it
    CohortState.objects.filter(dimension="format").delete()
    recompute.recompute_all(organisation_id=group.organisation_id)
    assert CohortState.objects.get(dimension="group", value=str(group.pk)).label == "Renamed circle"
    assert CohortState.objects.get(dimension="format").outcome_summaries.get(time_point="baseline").n == 1
    assert not CohortState.objects.filter(stale=True).exists()


def test_the_groups_of_every_cohort_come_from_one_query_and_equal_each_cohorts_own_filter():
    """Every dimension, a period and a period value that does not parse."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from groups.models import GroupFormat, SupportGroup
    from outcomes.evaluation.cohorts import groups_filter

    first, _ = facilitated_group(delivery="online")
    org = first.organisation
    facilitated_group(org, delivery="in_person", format=GroupFormat.UNSTRUCTURED, curriculum=None)
    facilitated_group(org, delivery="telephone")
    for group in SupportGroup.objects.filter(organisation=org):
        answered(active_member(group), "baseline", 10)
    recompute.recompute_all(organisation_id=org.pk)
    CohortState.objects.create(organisation=org, dimension="period", value="2020Q1-2030Q4")
    CohortState.objects.create(organisation=org, dimension="period", value="not a period")
    states = list(CohortState.objects.filter(organisation=org).order_by("dimension", "value"))
    assert {state.dimension for state in states} >= {"organisation", "group", "format", "delivery", "period"}

    with CaptureQueriesContext(connection) as queries:
        found = cohorts.cohorts_groups(states)
    # one for every cohort; building a period's filter reads the groups' time zones (one period parses)
    assert len(queries) == 2, [q["sql"][:300] for q in queries]

    for state, groups in zip(states, found, strict=True):
        expected = SupportGroup.objects.filter(organisation=org).filter(groups_filter(state.dimension, state.value))
        assert groups == set(expected.values_list("pk", flat=True)), (state.dimension, state.value)
    assert found[[s.value for s in states].index("not a period")] == set()
    assert len(found[[s.dimension for s in states].index("organisation")]) == 3


@pytest.mark.django_db
def test_summary_json_values_equal_in_python_but_not_in_json_are_written_each_as_itself():
    """The writer encodes each distinct JSON value once; 1, 1.0 and True must not share an encoding."""
    group, _ = facilitated_group()
    cohort = CohortState.objects.create(organisation=group.organisation, dimension="group", value=str(group.pk))
    others = [
        CohortState.objects.create(organisation=group.organisation, dimension="format", value=value)
        for value in ("a", "b")
    ]
    rows = [
        (state.pk, 0, 0, 0, 0, reasons, {}, 0, None, None, None, None)
        for state, reasons in zip([cohort, *others], [{"x": 1}, {"x": 1.0}, {"x": True}], strict=True)
    ]
    recompute._insert(FlowSummary, engine.FLOW_COLUMNS, rows)
    stored = dict(FlowSummary.objects.values_list("cohort_id", "withdrawal_reasons"))
    assert [type(stored[state.pk]["x"]) for state in (cohort, *others)] == [int, float, bool]


def test_a_within_group_p_value_is_never_reported_without_g_av_and_its_interval():
    from outcomes.evaluation.report import _change

    row = {
        "cohort_dimension": "group", "cohort_value": "1", "cohort_label": "G", "instrument": "wemwbs",
        "scale": "total", "from_time_point": "baseline", "to_time_point": "post", "higher_is_better": True,
        "n_pairs": 8, "mean_change": 4.5, "sd_change": 3.7, "ci_low": 1.4, "ci_high": 7.6, "t": 3.4, "p": 0.011,
        "p_wilcoxon": 0.023, "wilcoxon_method": "exact", "d_z": 1.2, "d_z_ci_low": 0.25, "d_z_ci_high": 2.1,
        "d_av": 0.9, "g_av": 0.8, "g_av_ci_low": 0.19, "g_av_ci_high": 1.58, "d_rm": 0.9, "g_rm": 0.8,
        "g_rm_ci_low": 0.25, "g_rm_ci_high": 1.35, "r_pre_post": 0.72, "improved": None, "unchanged": None,
        "deteriorated": None, "rci_reliability": None,
    }  # fmt: skip
    assert _change(row)["p"] == 0.011
    not_estimable = _change({**row, "g_av_ci_low": None, "g_av_ci_high": None})
    assert (not_estimable["t"], not_estimable["p"], not_estimable["p_wilcoxon"]) == (None, None, None)
    assert not_estimable["mean_change"] == 4.5 and not_estimable["reliable_change_parameters"] is None

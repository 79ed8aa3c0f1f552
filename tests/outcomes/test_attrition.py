"""Attrition you can see (issue 16 item 5; docs/statistics.md §5, §11), in the product.

Seeded data where people with low baselines leave: the recompute stores attrition against enrolled and against
baseline, the completers' and non-completers' baselines with their SMD, and for the plan's primary outcome the
mean change under missing at random; the page, the JSON report and the exports show them, with the
non-completers' figures hidden when they are fewer than k.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from groups.models import MembershipStatus, WithdrawalReason
from outcomes.evaluation import recompute
from outcomes.evaluation.report import evaluation_report
from outcomes.evaluation.statistics import missing
from outcomes.models import AttritionSummary, MeasurementPlan, PrimaryOutcome
from peersupport.models import RoleKind
from tests.factories import active_member, facilitated_group, person
from tests.outcomes.test_aggregation import answered

pytestmark = pytest.mark.django_db


def _seed(rng, group, n, *, leave_below):
    """n members answering at baseline; those below ``leave_below`` leave (withdrawn, moved away) unanswered."""
    pre, post = [], []
    for _ in range(n):
        membership = active_member(group)
        baseline = float(np.round(rng.normal(40, 8), 1))
        answered(membership, "baseline", baseline)
        pre.append(baseline)
        if baseline < leave_below:
            membership.status = MembershipStatus.WITHDRAWN
            membership.withdrawal_reason = WithdrawalReason.values[0]
            membership.save(update_fields=["status", "withdrawal_reason"])
            post.append(None)
        else:
            later = float(np.round(baseline + 3 + rng.normal(0, 2), 1))
            answered(membership, "post", later)
            post.append(later)
    return pre, post


@pytest.fixture
def leavers():
    rng = np.random.default_rng(20261204)
    first, _ = facilitated_group(name="First")
    org = first.organisation
    second, _ = facilitated_group(org, name="Second")
    pre, post = _seed(rng, first, 14, leave_below=38)
    more_pre, more_post = _seed(rng, second, 12, leave_below=38)
    plan = MeasurementPlan.objects.create(organisation=org, curriculum=first.curriculum, name="Plan")
    PrimaryOutcome.objects.create(
        plan=plan, instrument_code="wemwbs", instrument_version=1, time_point="post", named_at=timezone.now()
    )
    recompute.recompute_all(organisation_id=org.id)
    return {"org": org, "pre": pre + more_pre, "post": post + more_post, "lead": person(org, RoleKind.LEAD)}


def test_the_recompute_stores_attrition_the_baseline_comparison_and_the_imputed_change(leavers):
    pre, post = np.array(leavers["pre"]), np.array([np.nan if v is None else v for v in leavers["post"]])
    row = AttritionSummary.objects.get(cohort__dimension="organisation", instrument_code="wemwbs", time_point="post")
    stayed = ~np.isnan(post)
    assert (row.enrolled, row.with_baseline, row.with_score) == (26, 26, int(stayed.sum()))
    assert row.attrition_enrolled == pytest.approx(1 - stayed.sum() / 26)
    assert row.attrition_baseline == pytest.approx(1 - stayed.sum() / 26)
    balance = missing.baseline_balance(pre, stayed)
    assert (row.n_completers, row.n_non_completers) == (int(stayed.sum()), int((~stayed).sum()))
    assert row.smd == pytest.approx(balance.smd) and row.smd > 0.5  # those who stayed started higher
    assert (row.smd_ci_low, row.smd_ci_high) == (pytest.approx(balance.smd_ci_low), pytest.approx(balance.smd_ci_high))
    imputed = missing.impute_mean_change(pre, post)
    assert row.mi_mean_change == pytest.approx(imputed.pooled.estimate, abs=1e-12)  # fixed seed: reproducible
    assert (row.mi_seed, row.mi_imputations, row.mi_n) == (missing.DEFAULT_SEED, 20, 26)
    assert row.completers_mean_change == pytest.approx(float(np.mean(post[stayed] - pre[stayed])))
    group_row = AttritionSummary.objects.filter(cohort__dimension="group").first()
    assert group_row is None or group_row.mi_mean_change is None  # imputation: the organisation's primary only


def test_the_json_report_page_and_exports_show_attrition_with_both_denominators(client, leavers):
    org, lead = leavers["org"], leavers["lead"]
    report = evaluation_report(org)
    (mine,) = [
        r for r in report["attrition"] if r["cohort"]["dimension"] == "organisation" and r["time_point"] == "post"
    ]
    stored = AttritionSummary.objects.get(cohort__dimension="organisation", time_point="post")
    assert mine["attrition_enrolled"] == stored.attrition_enrolled and mine["attrition_baseline"] is not None
    assert mine["smd"] == stored.smd and mine["mi_mean_change"] == stored.mi_mean_change
    client.force_login(lead)
    page = client.get(reverse("outcomes:evaluation", args=[org.slug])).content.decode()
    assert "Lost against enrolled" in page and "Lost against baseline" in page
    assert "Reasons for leaving the group" in page
    assert f"{stored.smd:.2f}" in page and f"{stored.mi_mean_change:.2f}" in page and "seed 20261204" in page
    content = client.get(reverse("outcomes:export_summary_csv", args=[org.slug])).content.decode("utf-8-sig")
    rows = [r for r in csv.DictReader(io.StringIO(content)) if r["table"] == "attrition"]
    (exported,) = [r for r in rows if r["cohort_dimension"] == "organisation" and r["time_point"] == "post"]
    assert float(exported["smd"]) == pytest.approx(stored.smd, abs=1e-12)
    workbook = openpyxl.load_workbook(
        io.BytesIO(client.get(reverse("outcomes:export_summary_xlsx", args=[org.slug])).content)
    )
    assert "Attrition" in workbook.sheetnames


def test_fewer_than_k_non_completers_are_hidden_with_their_statistics(client):
    rng = np.random.default_rng(7)
    group, _ = facilitated_group(name="Mostly stayed")
    second, _ = facilitated_group(group.organisation, name="Also stayed")
    _seed(rng, group, 10, leave_below=30)  # a few at most leave
    _seed(rng, second, 10, leave_below=30)
    recompute.recompute_all(organisation_id=group.organisation_id)
    stored = AttritionSummary.objects.get(cohort__dimension="organisation", time_point="post")
    assert 0 < stored.n_non_completers < 5  # the seed makes a few leave
    assert stored.mean_non_completers is not None  # computed; never published as a number
    report = evaluation_report(group.organisation)
    for row in report["attrition"]:  # left out where protection hid a count it repeats; else hidden
        assert row["n_non_completers"] is None or row["n_non_completers"] == 0 or row["n_non_completers"] >= 5
        if row["n_non_completers"] is None:
            assert row["mean_non_completers"] is None and row["smd"] is None
    assert not any(
        r["cohort"]["dimension"] == "organisation" and r["mean_non_completers"] is not None for r in report["attrition"]
    )
    client.force_login(person(group.organisation, RoleKind.LEAD))
    url = reverse("outcomes:export_summary_csv", args=[group.organisation.slug])
    text = client.get(url).content.decode("utf-8-sig")
    for r in csv.DictReader(io.StringIO(text)):
        if r["table"] == "attrition" and r["n_non_completers"] not in ("0", ""):
            assert (
                r["n_non_completers"] == r["mean_non_completers"] == r["smd"] == "suppressed (<5)"
                or int(r["n_non_completers"]) >= 5
            )
    page = client.get(reverse("outcomes:evaluation", args=[group.organisation.slug])).content.decode()
    assert f"{stored.mean_non_completers:.2f}" not in page

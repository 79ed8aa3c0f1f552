"""Comparisons that respect the design, in the product (docs/statistics.md §9; issue 16 item 2).

Seeded clustered data with a known ICC go in through members' answers; the recompute stores the ANCOVA and
mixed-model comparison, which must match statsmodels' formula interface on the same numbers (to 1e-6), and
the evaluation page, the JSON report and the summary export give a p-value only with at least 5 groups on each
side, saying otherwise that the comparison cannot support a conclusion.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from django.urls import reverse

from groups.models import GroupFormat, SupportGroup
from outcomes.evaluation import recompute
from outcomes.evaluation.report import evaluation_report
from outcomes.models import ComparisonSummary
from peersupport.models import RoleKind
from tests.factories import active_member, facilitated_group, person
from tests.outcomes.test_export_comparisons import answered, group_comparison, unstructured

pytestmark = pytest.mark.django_db

TOL = 1e-6
ICC = 0.3
SIZE = 8


def _clustered(groups: int, seed: int = 20261204) -> pd.DataFrame:
    """post = 12 + 0.6·baseline + 3·structured + group effect + noise; residual variance 16 split by ICC."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), SIZE)
    structured = (g % 2 == 0).astype(float)
    baseline = np.round(rng.normal(40, 6, g.size), 2)
    u = rng.normal(0, math.sqrt(ICC * 16), groups)[g]
    e = rng.normal(0, math.sqrt((1 - ICC) * 16), g.size)
    post = np.round(12 + 0.6 * baseline + 3 * structured + u + e, 2)
    return pd.DataFrame({"y": post, "baseline": baseline, "arm": structured, "g": g})


@pytest.fixture
def ten_groups():
    """Five structured and five unstructured groups of eight completers each."""
    df = _clustered(10)
    first, _ = facilitated_group(name="Group 0")
    org = first.organisation
    groups = [first] + [
        facilitated_group(org, name=f"Group {i}")[0] if i % 2 == 0 else unstructured(org, name=f"Group {i}")
        for i in range(1, 10)
    ]
    for row in df.itertuples():
        membership = active_member(groups[row.g])
        answered(membership, "baseline", float(row.baseline))
        answered(membership, "post", float(row.y))
    recompute.recompute_all(organisation_id=org.id)
    return {"org": org, "groups": groups, "df": df, "lead": person(org, RoleKind.LEAD)}


def _report_comparisons(org, kind: str) -> list[dict]:
    return [c for c in evaluation_report(org)["comparisons"] if c["kind"] == kind]


def test_the_stored_comparison_matches_statsmodels_on_clustered_data_with_a_known_icc(ten_groups):
    df = ten_groups["df"]
    stored = ComparisonSummary.objects.get(kind="format", instrument_code="wemwbs", to_time_point="post")
    mixed = smf.mixedlm("y ~ arm + baseline", df, groups=df["g"]).fit(reml=True)
    ols = smf.ols("y ~ arm + baseline", df).fit()
    tau2, sigma2 = float(mixed.cov_re.iloc[0, 0]), float(mixed.scale)
    assert (stored.groups_a, stored.groups_b, stored.n_a, stored.n_b) == (5, 5, 40, 40)
    assert stored.supports_conclusion and stored.conclusion_note == ""
    assert stored.mixed_difference == pytest.approx(mixed.fe_params["arm"], abs=TOL)
    low, high = mixed.conf_int().loc["arm"]
    assert (stored.mixed_ci_low, stored.mixed_ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
    assert stored.mixed_p == pytest.approx(mixed.pvalues["arm"], abs=TOL)
    assert stored.icc == pytest.approx(tau2 / (tau2 + sigma2), abs=TOL)
    assert stored.design_effect == pytest.approx(1 + (SIZE - 1) * stored.icc, abs=TOL)
    assert stored.ancova_difference == pytest.approx(ols.params["arm"], abs=TOL)
    low, high = ols.conf_int().loc["arm"]
    assert (stored.ancova_ci_low, stored.ancova_ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
    assert stored.ancova_p == pytest.approx(ols.pvalues["arm"], abs=TOL)
    assert 0.05 < stored.icc < 0.6  # the data were made with an ICC of 0.3: ten groups estimate it roughly


def test_one_group_against_the_rest_gets_the_ancova_and_the_groups_icc_but_no_p_value(ten_groups):
    df, org, groups = ten_groups["df"], ten_groups["org"], ten_groups["groups"]
    comparison = group_comparison(org, groups[3])
    one = df.assign(arm=(df.g == 3).astype(float))
    ols = smf.ols("y ~ arm + baseline", one).fit()
    low, high = ols.conf_int().loc["arm"]
    assert comparison.ancova_difference == pytest.approx(ols.params["arm"], abs=TOL)
    assert (comparison.ancova_ci_low, comparison.ancova_ci_high) == (
        pytest.approx(low, abs=TOL),
        pytest.approx(high, abs=TOL),
    )
    groups_model = smf.mixedlm("y ~ baseline", df, groups=df["g"]).fit(reml=True)
    tau2, sigma2 = float(groups_model.cov_re.iloc[0, 0]), float(groups_model.scale)
    assert comparison.icc == pytest.approx(tau2 / (tau2 + sigma2), abs=TOL)
    assert (comparison.groups_a, comparison.groups_b) == (1, 9)
    assert comparison.p is None and comparison.mixed_p is None and comparison.mixed_difference is None
    assert not comparison.supports_conclusion and "cannot support a conclusion" in comparison.conclusion_note
    shown = {c["a"]: c for c in _report_comparisons(org, "group")}
    assert shown["Group 3"]["p"] is None and shown["Group 3"]["ancova_p"] is None
    assert shown["Group 3"]["ancova_difference"] == pytest.approx(ols.params["arm"], abs=TOL)


def test_with_five_groups_a_side_the_page_json_and_export_give_the_mixed_models_p(client, ten_groups):
    org, lead = ten_groups["org"], ten_groups["lead"]
    (fmt,) = _report_comparisons(org, "format")
    assert fmt["supports_conclusion"] is True and fmt["mixed_p"] is not None and fmt["p"] is not None
    assert (fmt["groups_a"], fmt["groups_b"]) == (5, 5) and fmt["icc"] is not None
    client.force_login(lead)
    page = client.get(reverse("outcomes:evaluation", args=[org.slug])).content.decode()
    assert page.count("Cannot support a conclusion") == len(_report_comparisons(org, "group"))  # the groups' only


def test_with_four_groups_on_a_side_no_view_gives_a_p_value(client, ten_groups):
    org, lead, groups = ten_groups["org"], ten_groups["lead"], ten_groups["groups"]
    SupportGroup.objects.filter(pk=groups[0].pk).update(format=GroupFormat.UNSTRUCTURED, curriculum=None)
    recompute.recompute_all(organisation_id=org.id)
    (fmt,) = _report_comparisons(org, "format")
    assert (fmt["groups_a"], fmt["groups_b"]) == (4, 6)
    assert fmt["supports_conclusion"] is False
    assert fmt["p"] is None and fmt["t"] is None and fmt["ancova_p"] is None and fmt["mixed_p"] is None
    assert fmt["mixed_difference"] is not None and fmt["ancova_ci_low"] is not None  # the figures, without a p
    assert "cannot support a conclusion" in fmt["conclusion_note"] and "(4 and 6)" in fmt["conclusion_note"]

    client.force_login(lead)
    page = client.get(reverse("outcomes:evaluation", args=[org.slug])).content.decode()
    assert page.count("Cannot support a conclusion") == len(_report_comparisons(org, "group")) + 1
    content = client.get(reverse("outcomes:export_summary_csv", args=[org.slug])).content.decode("utf-8-sig")
    rows = [r for r in csv.DictReader(io.StringIO(content)) if r["table"] == "comparison"]
    assert rows and all(r["p"] == "" and r["mixed_p"] == "" and r["ancova_p"] == "" for r in rows)
    (exported,) = [r for r in rows if r["kind"] == "format"]
    assert exported["supports_conclusion"] == "false" and exported["groups_a"] == "4"

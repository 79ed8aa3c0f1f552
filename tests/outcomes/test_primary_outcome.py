"""Primary and secondary outcomes (docs/statistics.md §10): a lead names each plan's primary outcome before its
first follow-up opens (a change later is kept and shown), everything else is secondary with Holm-adjusted
p-values, and a cohort of the same people as another is shown once."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse
from statsmodels.stats.multitest import multipletests

from outcomes.evaluation import recompute
from outcomes.evaluation.report import evaluation_report
from outcomes.models import Assessment, AssessmentStatus, PrimaryOutcome
from outcomes.questionnaires import services
from peersupport.models import AuditEvent, RoleKind
from tests.factories import OrganisationFactory, active_member, facilitated_group, person
from tests.outcomes.test_aggregation import answered

pytestmark = pytest.mark.django_db

PHQ9_POST = "phq9@1|total|post"


@pytest.fixture
def planned():
    """One online group of 14 with a plan (baseline, post, 3 months; PHQ-9 and WEMWBS at each) and answers."""
    group, facilitator = facilitated_group(capacity=20)
    lead = person(group.organisation, RoleKind.LEAD)
    plan = services.plan_create(organisation=group.organisation, name="Plan", target=group, by=lead)
    tps = {
        tp: services.time_point_add(
            plan=plan, time_point=tp, anchor="first_session", opens_days=o, closes_days=o + 14,
            instruments=["phq9@1", "wemwbs@1"], by=lead,
        )
        for tp, o in (("baseline", -7), ("post", 60), ("follow_up_3", 150))
    }  # fmt: skip
    rng = np.random.default_rng(7)
    members = []
    for _ in range(14):
        m = active_member(group)
        members.append(m)
        phq, wem = float(rng.integers(8, 22)), float(rng.integers(30, 50))
        answered(m, "baseline", phq, code="phq9")
        answered(m, "baseline", wem, code="wemwbs")
        for tp, shift in (("post", 4), ("follow_up_3", 2)):
            answered(m, tp, float(round(max(0.0, phq - rng.normal(shift, 3)))), code="phq9")
            answered(m, tp, float(round(wem + rng.normal(shift, 4))), code="wemwbs")
    return group, facilitator, lead, plan, tps, members


def _open_a_follow_up(tps, member):
    Assessment.objects.filter(membership=member, time_point="post").update(
        plan_time_point=tps["post"], status=AssessmentStatus.OPEN
    )


def test_a_lead_names_the_primary_outcome_before_the_first_follow_up_and_it_is_recorded(client, planned):
    group, _, lead, plan, _, _ = planned
    client.force_login(lead)
    url = reverse("outcomes:lead_plan", args=[group.organisation.slug, plan.pk])
    page = client.get(url).content.decode()
    assert "No primary outcome named yet." in page
    assert PHQ9_POST in page and "phq9@1|total|baseline" not in page  # baseline is not an outcome
    response = client.post(
        reverse("outcomes:lead_plan_primary_outcome", args=[group.organisation.slug, plan.pk]), {"outcome": PHQ9_POST}
    )
    assert response.status_code == 302
    named = PrimaryOutcome.objects.get(plan=plan)
    assert (named.instrument_code, named.scale, named.time_point, named.named_by) == ("phq9", "total", "post", lead)
    assert named.named_at is not None and named.after_follow_up_opened is False
    event = AuditEvent.objects.get(action=AuditEvent.Action.PRIMARY_OUTCOME_NAMED)
    assert event.actor == lead and event.detail["outcome"] == PHQ9_POST and event.detail["previous"] is None
    page = client.get(url).content.decode()
    assert "Named " in page and "after a follow-up had opened" not in page


def test_changing_it_after_a_follow_up_opened_needs_a_reason_and_is_shown_as_a_change(client, planned):
    group, _, lead, plan, tps, members = planned
    services.primary_outcome_name(plan=plan, choice=PHQ9_POST, by=lead)
    _open_a_follow_up(tps, members[0])
    client.force_login(lead)
    post_url = reverse("outcomes:lead_plan_primary_outcome", args=[group.organisation.slug, plan.pk])
    refused = client.post(post_url, {"outcome": "wemwbs@1|total|follow_up_3"})
    assert "Say why the primary outcome is changed" in refused.content.decode()
    assert PrimaryOutcome.objects.filter(plan=plan).count() == 1
    client.post(post_url, {"outcome": "wemwbs@1|total|follow_up_3", "reason": "PHQ-9 was dropped by the funder"})
    namings = list(PrimaryOutcome.objects.filter(plan=plan).order_by("named_at", "id"))
    assert len(namings) == 2 and namings[-1].after_follow_up_opened and namings[0].instrument_code == "phq9"
    page = client.get(reverse("outcomes:lead_plan", args=[group.organisation.slug, plan.pk])).content.decode()
    assert "after a follow-up had opened" in page and "PHQ-9 was dropped by the funder" in page

    recompute.recompute_all(organisation_id=group.organisation_id)
    report = evaluation_report(group.organisation)
    (history,) = report["primary_outcomes"]
    assert history["changed"] and history["after_follow_up_opened"] and len(history["namings"]) == 2
    (primary_row,) = [c for c in report["changes"] if c["outcome_role"] == "primary"]
    assert (primary_row["instrument"], primary_row["to"]) == ("wemwbs", "follow_up_3")
    assert "after a follow-up had opened" in primary_row["primary_note"]
    assert "changed from phq9 total at post" in primary_row["primary_note"]


def test_secondaries_get_holm_p_values_and_cohorts_of_the_same_people_are_shown_once(client, planned):
    group, _, lead, plan, _, _ = planned
    services.primary_outcome_name(plan=plan, choice=PHQ9_POST, by=lead)
    recompute.recompute_all(organisation_id=group.organisation_id)
    report = evaluation_report(group.organisation)

    # One group: its own cohort, its curriculum, format and delivery mode are the organisation's people.
    repeated = {(s["cohort"]["dimension"], s["same_people_as"]) for s in report["same_people"]}
    assert {"group", "curriculum", "format", "delivery"} <= {d for d, _ in repeated}
    assert {same for _, same in repeated} == {"All groups"}
    assert {c["cohort"]["dimension"] for c in report["changes"]} == {"organisation"}

    primary = [c for c in report["changes"] if c["outcome_role"] == "primary"]
    assert [(c["instrument"], c["scale"], c["from"], c["to"]) for c in primary] == [
        ("phq9", "total", "baseline", "post")
    ]
    assert primary[0]["p_holm"] is None and primary[0]["p"] is not None
    secondary = [c for c in report["changes"] if c["outcome_role"] == "secondary" and c["p"] is not None]
    assert len(secondary) >= 3
    _, expected, _, _ = multipletests([c["p"] for c in secondary], method="holm")
    assert [c["p_holm"] for c in secondary] == pytest.approx(expected.tolist(), abs=1e-12)
    assert report["multiplicity"]["family_size"] == len(secondary)

    client.force_login(lead)
    url = reverse("outcomes:evaluation", args=[group.organisation.slug])
    page = client.get(url).content.decode()
    assert page.count("data-primary") == 1 and page.count("data-holm") == len(secondary)
    same = client.get(url, {"cohort": "delivery:online"}).content.decode()
    assert "Same people as “All groups”" in same and "data-holm" not in same and "Participant flow" in same

    csv = client.get(reverse("outcomes:export_summary_csv", args=[group.organisation.slug])).content.decode()
    header = csv.splitlines()[0]
    assert all(name in header for name in ("outcome_role", "p_holm", "same_people_as", "primary_note"))


def test_only_a_lead_of_the_organisation_names_it(client, planned):
    group, facilitator, _, plan, _, _ = planned
    url = reverse("outcomes:lead_plan_primary_outcome", args=[group.organisation.slug, plan.pk])
    for user in (facilitator, person(OrganisationFactory(), RoleKind.LEAD)):
        client.force_login(user)
        assert client.post(url, {"outcome": PHQ9_POST}).status_code == 404
    assert not PrimaryOutcome.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PRIMARY_OUTCOME_NAMED).exists()

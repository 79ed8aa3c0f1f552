"""One reliable-change rule (docs/statistics.md §4): the parameters come from the instrument file or from the
organisation's baseline frozen when an instrument version is first used, so a member's category is the same in
every table and the groups' counts add up to the organisation's."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from django.template.defaultfilters import floatformat
from django.urls import reverse

from groups.models import GroupFormat
from outcomes.evaluation import recompute, reliable_change
from outcomes.evaluation.cohorts import cohorts_groups
from outcomes.evaluation.report import evaluation_report
from outcomes.evaluation.statistics import single
from outcomes.instruments import registry
from outcomes.models import ChangeSummary, CohortDimension, CohortState, ReliableChangeBaseline
from peersupport.models import AuditEvent, Organisation, RoleKind
from tests.factories import CurriculumFactory, OrganisationFactory, active_member, facilitated_group, person
from tests.outcomes.test_aggregation import answered

pytestmark = pytest.mark.django_db

COUNTS = ("improved", "unchanged", "deteriorated", "recovered")


def _seeded_organisation(seed: int = 20261204):
    """Six groups of 3 to 14 members (two curricula, structured and unstructured, two delivery modes), each
    member with PHQ-9 (SD₁ from the organisation's baseline) and CORE-10 (SD₁ from the file's clinical norm)
    at baseline, most at the end and some at 3 months. Returns (organisation, {membership pk: group pk},
    {(code, time point): {membership pk: (pre, post)}}, [PHQ-9 baseline scores])."""
    rng = np.random.default_rng(seed)
    organisation = OrganisationFactory()
    courses = [CurriculumFactory(organisation=organisation), CurriculumFactory(organisation=organisation)]
    layout = [
        (GroupFormat.STRUCTURED, courses[0], "online"),
        (GroupFormat.STRUCTURED, courses[0], "telephone"),
        (GroupFormat.STRUCTURED, courses[1], "online"),
        (GroupFormat.UNSTRUCTURED, None, "online"),
        (GroupFormat.UNSTRUCTURED, None, "telephone"),
        (GroupFormat.UNSTRUCTURED, None, "online"),
    ]
    group_of, pairs, phq9_baselines = {}, {}, []
    for fmt, course, delivery in layout:
        group, _ = facilitated_group(organisation, format=fmt, curriculum=course, delivery=delivery, capacity=20)
        for _ in range(int(rng.integers(3, 15))):
            m = active_member(group)
            group_of[m.pk] = group.pk
            for code, high, spread in (("phq9", 27, 6), ("core10", 40, 8)):
                pre = float(np.clip(rng.normal(high * 0.55, spread), 0, high).round())
                answered(m, "baseline", pre, code=code)
                if code == "phq9":
                    phq9_baselines.append(pre)
                for time_point, shift in (("post", 4), ("follow_up_3", 6)):
                    if rng.random() < (0.8 if time_point == "post" else 0.4):
                        post = float(np.clip(pre - rng.normal(shift, 5), 0, high).round())
                        answered(m, time_point, post, code=code)
                        pairs.setdefault((code, time_point), {})[m.pk] = (pre, post)
    return organisation, group_of, pairs, phq9_baselines


def _category_counts(members, pairs, parameters, higher_is_better):
    """Counts from each member's own Jacobson–Truax category (``statistics.single``), as the summaries store them
    (improved includes recovered)."""
    pre = [pairs[m][0] for m in members]
    post = [pairs[m][1] for m in members]
    result = single.reliable_change(
        pre,
        post,
        sd_pre=parameters["sd_pre"],
        reliability=parameters["reliability"],
        higher_is_better=higher_is_better,
        cutoff=parameters["cutoff"],
    )
    counted = Counter(result.categories)
    return {
        "improved": counted["recovered"] + counted["improved"],
        "unchanged": counted["unchanged"],
        "deteriorated": counted["deteriorated"],
        "recovered": counted["recovered"] if parameters["cutoff"] is not None else None,
    }


def test_on_seeded_data_each_members_category_is_the_same_in_every_table_and_groups_add_up():
    organisation, group_of, pairs, phq9_baselines = _seeded_organisation()
    recompute.recompute_all(organisation_id=organisation.pk)
    states = list(CohortState.objects.filter(organisation=organisation))
    members_of = {
        state.pk: {m for m, g in group_of.items() if g in groups}
        for state, groups in zip(states, cohorts_groups(states), strict=True)
    }
    dimensions = {state.dimension for state in states}
    assert {"organisation", "group", "curriculum", "format", "delivery"} <= dimensions

    baseline = ReliableChangeBaseline.objects.get(organisation=organisation, instrument_code="phq9")
    assert baseline.frozen_n == len(group_of) == len(phq9_baselines)
    assert baseline.sd == pytest.approx(float(np.std(phq9_baselines, ddof=1)), abs=1e-12)

    checked = 0
    for (code, time_point), found in pairs.items():
        defn = registry.get(code, 1)
        rows = ChangeSummary.objects.filter(
            cohort__organisation=organisation, instrument_code=code, scale="total", to_time_point=time_point
        ).select_related("cohort")
        # One set of parameters for the whole organisation, in every table.
        assert len({tuple(sorted(r.rci_parameters.items())) for r in rows}) == 1
        parameters = rows[0].rci_parameters
        expected_source = "clinical norm" if code == "core10" else "organisation baseline"
        assert parameters["sd_source"] == expected_source
        for row in rows:
            members = sorted(m for m in members_of[row.cohort_id] if m in found)
            assert row.n_pairs == len(members)
            expected = _category_counts(members, found, parameters, defn.higher_is_better)
            assert {name: getattr(row, name) for name in COUNTS} == expected, (code, time_point, row.cohort)
            checked += 1
        # The groups' counts add up to the organisation's, and so do the formats' and the delivery modes'.
        by_dimension: dict[str, Counter] = {}
        for row in rows:
            totals = by_dimension.setdefault(row.cohort.dimension, Counter())
            totals.update({name: getattr(row, name) or 0 for name in COUNTS})
        for dimension in ("group", "format", "delivery"):
            assert by_dimension[dimension] == by_dimension["organisation"], (code, time_point, dimension)
    assert checked > 40


def test_the_baseline_is_frozen_once_from_enough_scores_and_later_ones_do_not_move_it():
    group, _ = facilitated_group(capacity=40)
    members = [active_member(group) for _ in range(reliable_change.MIN_BASELINE_SCORES + 5)]
    few = members[: reliable_change.MIN_BASELINE_SCORES - 1]
    for i, m in enumerate(few):
        answered(m, "baseline", 8.0 + i, code="phq9")
        answered(m, "post", 2.0 + i, code="phq9")
    recompute.recompute_all(organisation_id=group.organisation_id)
    change = ChangeSummary.objects.get(cohort__dimension="organisation", instrument_code="phq9", scale="total")
    # Nine baseline scores: nothing frozen yet, so no counts (never counts from this table's own SD).
    assert change.rci_parameters == {} and change.improved is None
    assert not ReliableChangeBaseline.objects.exists()

    for i, m in enumerate(members[len(few) :]):
        answered(m, "baseline", 20.0 - i, code="phq9")
    recompute.recompute_all(organisation_id=group.organisation_id)
    row = ReliableChangeBaseline.objects.get(organisation=group.organisation, instrument_code="phq9")
    scores = [8.0 + i for i in range(len(few))] + [20.0 - i for i in range(len(members) - len(few))]
    assert row.frozen_n == len(scores) and row.how == "frozen"
    assert row.sd == pytest.approx(float(np.std(scores, ddof=1)), abs=1e-12)
    frozen = AuditEvent.objects.get(action=AuditEvent.Action.RELIABLE_CHANGE_SD_FROZEN)
    assert frozen.detail["n"] == len(scores) and frozen.organisation_id == group.organisation_id
    change = ChangeSummary.objects.get(cohort__dimension="organisation", instrument_code="phq9", scale="total")
    assert change.rci_parameters["sd_pre"] == row.sd
    assert change.improved + change.unchanged + change.deteriorated == len(few)

    # A new member's baseline far from the rest changes the figures but not SD₁.
    late = active_member(group)
    answered(late, "baseline", 0.0, code="phq9")
    recompute.recompute_all(organisation_id=group.organisation_id)
    assert ReliableChangeBaseline.objects.get(pk=row.pk).sd == row.sd
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RELIABLE_CHANGE_SD_FROZEN).count() == 1


def test_instruments_without_a_published_reliability_get_no_counts():
    defn = registry.get("state_hope", 1)
    assert reliable_change.reliability_of(defn) is None
    assert reliable_change.file_parameters(defn) is None
    # A range of alpha values is not one coefficient: none is picked from it.
    assert reliable_change.reliability_of(registry.get("wemwbs", 1)) is None
    core10 = reliable_change.file_parameters(registry.get("core10", 1))
    assert core10["sd_pre"] == 7.7 and core10["reliability"] == 0.9 and core10["reliability_kind"] == "alpha"
    assert core10["cutoff"] == pytest.approx((4.8 * 19.7 + 7.7 * 4.7) / (4.8 + 7.7), abs=1e-9)  # c ≈ 10.46


@pytest.fixture
def frozen_organisation():
    group, facilitator = facilitated_group(capacity=40)
    for i in range(12):
        m = active_member(group)
        answered(m, "baseline", 6.0 + i, code="phq9")
        answered(m, "post", 6.0 + i - (8 if i % 2 else 1), code="phq9")
    recompute.recompute_all(organisation_id=group.organisation_id)
    return group, facilitator


def test_a_lead_sees_and_changes_sd1_with_a_reason_and_the_figures_follow(client, frozen_organisation, on_commit):
    group, _ = frozen_organisation
    organisation = group.organisation
    row = ReliableChangeBaseline.objects.get(organisation=organisation, instrument_code="phq9")
    lead = person(organisation, RoleKind.LEAD)
    client.force_login(lead)
    url = reverse("outcomes:reliable_change", args=[organisation.slug])
    page = client.get(url).content.decode()
    assert "Reliable change" in page and floatformat(row.sd, -4) in page and "frozen from 12 baseline scores" in page
    assert "Kroenke, Spitzer &amp; Williams 2001" in page  # the reliability's source, from the file
    assert "Connell &amp; Barkham 2007" in page  # CORE-10's SD₁ from its clinical norm

    refused = client.post(url, {"baseline": row.pk, "sd": "5", "note": ""})
    assert "Say why" in refused.content.decode()
    assert ReliableChangeBaseline.objects.get(pk=row.pk).sd == row.sd

    with on_commit():
        response = client.post(url, {"baseline": row.pk, "sd": "5.5", "note": "Published SD of a comparable service"})
    assert response.status_code == 302
    changed = ReliableChangeBaseline.objects.get(pk=row.pk)
    assert (changed.sd, changed.how, changed.set_by, changed.frozen_sd) == (5.5, "set_by_lead", lead, row.sd)
    event = AuditEvent.objects.get(action=AuditEvent.Action.RELIABLE_CHANGE_SD_CHANGED)
    assert event.actor == lead and event.detail["sd_before"] == row.sd and event.detail["sd_after"] == 5.5
    # Every figure of the organisation is recomputed with it (the test's tasks run at once).
    change = ChangeSummary.objects.get(
        cohort__organisation=organisation, cohort__dimension=CohortDimension.ORGANISATION, instrument_code="phq9"
    )
    assert change.rci_parameters["sd_pre"] == 5.5
    assert "set by a lead" in change.rci_parameters["sd_reference"]
    assert not CohortState.objects.filter(organisation=organisation, stale=True).exists()


def test_a_bad_sd1_or_another_organisations_baseline_is_refused_and_nothing_changes(client, frozen_organisation):
    group, _ = frozen_organisation
    organisation = group.organisation
    row = ReliableChangeBaseline.objects.get(organisation=organisation, instrument_code="phq9")
    client.force_login(person(organisation, RoleKind.LEAD))
    url = reverse("outcomes:reliable_change", args=[organisation.slug])
    for bad in ("0", "-2", "many"):
        page = client.post(url, {"baseline": row.pk, "sd": bad, "note": "a reason"})
        assert page.status_code == 200, bad
        assert "SD₁ must be above 0." in page.content.decode() or "Enter a number." in page.content.decode(), bad
    other = OrganisationFactory()
    # Another organisation's address with this baseline's id: the baseline is not found there.
    client.force_login(person(other, RoleKind.LEAD))
    foreign = client.post(
        reverse("outcomes:reliable_change", args=[other.slug]), {"baseline": row.pk, "sd": "5", "note": "a reason"}
    )
    assert foreign.status_code == 404
    assert ReliableChangeBaseline.objects.get(pk=row.pk).sd == row.sd
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RELIABLE_CHANGE_SD_CHANGED).exists()


def test_a_facilitator_or_another_organisations_lead_cannot_change_sd1(client, frozen_organisation):
    group, facilitator = frozen_organisation
    row = ReliableChangeBaseline.objects.get(organisation=group.organisation, instrument_code="phq9")
    url = reverse("outcomes:reliable_change", args=[group.organisation.slug])
    other_lead = person(OrganisationFactory(), RoleKind.LEAD)
    for user in (facilitator, other_lead):
        client.force_login(user)
        assert client.post(url, {"baseline": row.pk, "sd": "1", "note": "x"}).status_code == 404
    other_url = reverse("outcomes:reliable_change", args=[other_lead.roles.get().organisation.slug])
    assert client.post(other_url, {"baseline": row.pk, "sd": "1", "note": "x"}).status_code == 404
    assert ReliableChangeBaseline.objects.get(pk=row.pk).sd == row.sd
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RELIABLE_CHANGE_SD_CHANGED).exists()


def test_the_report_the_page_and_the_export_name_the_parameters_used(client, frozen_organisation):
    group, _ = frozen_organisation
    organisation = group.organisation
    row = ReliableChangeBaseline.objects.get(organisation=organisation, instrument_code="phq9")
    client.force_login(person(organisation, RoleKind.LEAD))
    page = client.get(reverse("outcomes:evaluation", args=[organisation.slug])).content.decode()
    assert "the same in every table" in page and "organisation baseline: frozen from 12 baseline scores" in page
    assert reverse("outcomes:reliable_change", args=[organisation.slug]) in page
    text = client.get(reverse("outcomes:export_summary_csv", args=[organisation.slug])).content.decode("utf-8-sig")
    assert "rci_reliability_source" in text and "rci_sd_reference" in text
    assert "Kroenke, Spitzer & Williams 2001" in text and "frozen from 12 baseline scores" in text
    assert row.set_at.isoformat() in text
    report = evaluation_report(organisation)
    used = [c["reliable_change_parameters"] for c in report["changes"] if c["instrument"] == "phq9"]
    assert used and all(u == used[0] for u in used)
    assert used[0]["sd_source"] == "organisation baseline" and used[0]["reliability"] == 0.89
    assert used[0]["reliability_source"].startswith("Kroenke") and used[0]["sd_set_at"] == row.set_at.isoformat()


def test_on_the_demo_the_groups_counts_add_up_to_the_organisations_and_the_primary_outcome_is_marked():
    import io

    from django.core.management import call_command

    from outcomes.evaluation.summary import summary_tables

    call_command("seed_demo", stdout=io.StringIO())
    for organisation in Organisation.objects.all():
        rows = ChangeSummary.objects.filter(cohort__organisation=organisation, scale="total").select_related("cohort")
        sums: dict[tuple, Counter] = {}
        for row in rows.filter(cohort__dimension__in=["group", "organisation"], improved__isnull=False):
            key = (row.instrument_code, row.to_time_point, row.cohort.dimension)
            sums.setdefault(key, Counter()).update({name: getattr(row, name) or 0 for name in COUNTS})
            assert row.rci_parameters["reliability_source"]
        organisation_keys = [key for key in sums if key[2] == "organisation"]
        assert organisation_keys, organisation.slug
        for code, to, _ in organisation_keys:
            assert sums[(code, to, "group")] == sums[(code, to, "organisation")], (organisation.slug, code, to)
        tables = summary_tables(organisation)
        primary = [
            r for r in tables.changes if r["outcome_role"] == "primary" and r["cohort_dimension"] == "organisation"
        ]
        assert [(r["instrument"], r["to_time_point"]) for r in primary] == [("phq9", "post")], organisation.slug

"""Disclosure control decided once, by the recompute, stored beside the figures and only read by pages and exports."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from outcomes.evaluation import recompute
from outcomes.evaluation.disclosure import hierarchy
from outcomes.evaluation.disclosure.audit import audit
from outcomes.evaluation.disclosure.published import published_figures
from outcomes.evaluation.summary import FLOW_REASONS, FLOW_TIME_POINTS, OUTCOME_STATS, summary_tables
from outcomes.management.commands.audit_disclosure import cohort_groups
from outcomes.models import CohortState, FigureProtection, FlowSummary, OutcomeSummary
from peersupport.models import Organisation, RoleKind
from tests.factories import active_member, facilitated_group, person
from tests.outcomes.test_aggregation import answered

pytestmark = pytest.mark.django_db

READS = ("outcomes:export_summary_csv", "outcomes:export_summary_xlsx", "outcomes:export_meta_analysis_csv")


@pytest.fixture
def service():
    """Three groups of 17, 9 and 3 members answering at baseline and (most of them) at the end."""
    groups = [facilitated_group(name=name)[0] for name in ("Big group",)]
    org = groups[0].organisation
    groups += [facilitated_group(org, name=name)[0] for name in ("Middle group", "Small group")]
    for group, n in zip(groups, (17, 9, 3), strict=True):
        for i in range(n):
            m = active_member(group)
            answered(m, "baseline", 20 + i)
            if i % 4:
                answered(m, "post", 30 + i)
    recompute.recompute_all(organisation_id=org.pk)
    return org, groups, person(org, RoleKind.LEAD)


def _whole_n(tables, time_point="baseline"):
    return next(
        r["n"]
        for r in tables.outcomes
        if r["cohort_dimension"] == "organisation" and r["time_point"] == time_point and r["scale"] == "total"
    )


def test_the_recompute_stores_what_is_hidden_with_the_same_stamp_as_the_figures(service):
    org, groups, _lead = service
    protection = FigureProtection.objects.get(organisation=org)
    stamps = set(CohortState.objects.filter(organisation=org).values_list("computed_at", flat=True))
    assert stamps == {protection.computed_at}
    assert protection.k == 5 and protection.hidden and protection.figures > len(protection.hidden)
    assert protection.unprotected == []
    # The small group's n at baseline (3) is stored as hidden for being small.
    small = CohortState.objects.get(organisation=org, dimension="group", value=str(groups[2].pk))
    entries = {tuple(entry[:-1]): entry[-1] for entry in protection.hidden}
    assert entries[("outcome", small.pk, "wemwbs", "total", "baseline", "n")] == "small"


def test_pages_exports_and_the_json_report_never_run_the_protection(client, service, monkeypatch):
    org, groups, lead = service

    def refuse(*args, **kwargs):
        raise AssertionError("disclosure control ran on a request")

    monkeypatch.setattr(hierarchy, "protect", refuse)
    monkeypatch.setattr("outcomes.evaluation.protection.protect", refuse)
    client.force_login(lead)
    url = reverse("outcomes:evaluation", args=[org.slug])
    assert client.get(url).status_code == 200
    page = client.get(url + f"?cohort=group:{groups[2].pk}")
    assert page.status_code == 200 and b"Not shown" in page.content
    for name in READS:
        response = client.get(reverse(name, args=[org.slug]))
        assert response.status_code == 200, name
        b"".join(response.streaming_content) if response.streaming else response.content
    out = io.StringIO()
    call_command("evaluation_report", "--org", org.slug, stdout=out)
    assert json.loads(out.getvalue())
    # A recompute does protect: the same spy stops it.
    with pytest.raises(AssertionError, match="disclosure control ran"):
        recompute.recompute_all(organisation_id=org.pk)


def test_what_a_lead_reads_is_what_the_recompute_stored(client, service):
    org, _groups, lead = service
    protection = FigureProtection.objects.get(organisation=org)
    whole = CohortState.objects.get(organisation=org, dimension="organisation")
    place = ["outcome", whole.pk, "wemwbs", "total", "baseline", "n"]
    assert isinstance(_whole_n(summary_tables(org)), int)
    # Stored as hidden (as a recompute would, had it decided so): every reader hides it, with that label.
    protection.hidden = [*protection.hidden, [*place, "complementary"]]
    protection.save()
    n = _whole_n(summary_tables(org))
    assert str(n).startswith("suppressed") and n.reason == "complementary"
    client.force_login(lead)
    csv_text = client.get(reverse("outcomes:export_summary_csv", args=[org.slug])).content.decode("utf-8-sig")
    organisation_rows = [line for line in csv_text.splitlines() if line.startswith("outcome,organisation")]
    assert organisation_rows and all("suppressed" in line for line in organisation_rows if ",baseline," in line)


def test_figures_never_protected_are_not_published(client, service):
    org, _groups, lead = service
    FigureProtection.objects.filter(organisation=org).delete()
    tables = summary_tables(org)
    assert (tables.outcomes, tables.changes, tables.flows, tables.comparisons) == ([], [], [], [])
    client.force_login(lead)
    page = client.get(reverse("outcomes:evaluation", args=[org.slug])).content.decode()
    assert ">17<" not in page and ">29<" not in page


def test_the_auditor_finds_nothing_to_work_out_in_what_the_recompute_stored(service):
    org, _groups, _lead = service
    tables = summary_tables(org)
    figures, links = published_figures(tables, cohort_groups(org), reasons=FLOW_REASONS, time_points=FLOW_TIME_POINTS)
    result = audit(figures, k=tables.k, links=links)
    assert result.intervals and result.violations == []


def _hidden(value) -> bool:
    return getattr(value, "reason", None) is not None  # a hidden figure carries which rule hid it


def test_on_the_demo_data_the_protection_only_hides_and_the_auditor_finds_nothing():
    """Where a figure is shown it is the stored figure, unchanged (where nothing is hidden, the tables are the
    figures as computed); and no hidden figure of the demo's organisations can be narrowed down."""
    call_command("seed_demo", stdout=io.StringIO())
    for org in Organisation.objects.all():
        tables = summary_tables(org)
        assert tables.outcomes and tables.flows, org.slug
        outcomes = {
            (s.cohort.dimension, s.cohort.value, s.instrument_code, s.scale, s.time_point): s
            for s in OutcomeSummary.objects.filter(cohort__organisation=org).select_related("cohort")
        }
        assert len(tables.outcomes) == len(outcomes)
        for r in tables.outcomes:
            s = outcomes[(r["cohort_dimension"], r["cohort_value"], r["instrument"], r["scale"], r["time_point"])]
            for name in ("n", *OUTCOME_STATS):
                assert _hidden(r[name]) or r[name] == getattr(s, name), (org.slug, name)
        flows = {
            (f.cohort.dimension, f.cohort.value): f
            for f in FlowSummary.objects.filter(cohort__organisation=org).select_related("cohort")
        }
        for r in tables.flows:
            f = flows[(r["cohort_dimension"], r["cohort_value"])]
            for name in ("enrolled", "started", "completed_group", "withdrawn", "dose_n"):
                assert _hidden(r[name]) or r[name] == getattr(f, name), (org.slug, name)
        call_command("audit_disclosure", "--org", org.slug, stdout=io.StringIO())  # raises on a breach

"""Comparisons of change (structured vs unstructured, a group vs the other groups) in the summary exports.

They are published under the same rule as on the evaluation page and in the JSON report, and no
published comparison count, together with the rest of the export, gives a hidden count away.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import openpyxl
import pytest
from django.urls import reverse

from groups.models import GroupFormat, SupportGroup
from outcomes.evaluation import recompute
from outcomes.evaluation.cohorts import groups_filter
from outcomes.evaluation.disclosure.mask import DEFAULT_K
from outcomes.evaluation.report import evaluation_report
from outcomes.evaluation.summary import COMPARISON_COLUMNS, SUMMARY_COLUMNS, comparisons_of
from outcomes.models import CohortState, ComparisonSummary
from peersupport.models import AuditEvent, RoleKind
from tests.factories import (
    OrganisationFactory,
    SupportGroupFactory,
    active_member,
    answered,
    facilitated_group,
    person,
)

pytestmark = pytest.mark.django_db

HOSTILE = '=HYPERLINK("http://x","y")'
K = DEFAULT_K
SUPPRESSED = f"suppressed (<{K})"
HIDDEN = (SUPPRESSED, "suppressed (complementary)")


def completers(group, changes):
    for index, change in enumerate(changes):
        membership = active_member(group)
        answered(membership, "baseline", 40 + index)
        answered(membership, "post", 40 + index + change)


def unstructured(organisation, **kwargs):
    return SupportGroupFactory(
        organisation=organisation,
        format=GroupFormat.UNSTRUCTURED,
        curriculum=None,
        facilitation="peer_to_peer",
        **kwargs,
    )


def download(client, user, name, org) -> bytes:
    client.force_login(user)
    response = client.get(reverse(name, args=[org.slug]))
    assert response.status_code == 200, name
    return response.content


def read_csv(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.fixture
def hostile_pair():
    """A structured group with a formula for a name and an unstructured group, six completers each."""
    group, facilitator = facilitated_group(name=HOSTILE)
    org = group.organisation
    completers(group, [6, 3, 7, 1, -2, 8])
    completers(unstructured(org, name="Thursday circle"), [2, -1, 4, 0, 3, 1])
    recompute.recompute_all(organisation_id=org.id)
    return {"org": org, "group": group, "facilitator": facilitator, "lead": person(org, RoleKind.LEAD)}


@pytest.fixture
def with_small_group():
    """27 completers: structured groups of 8 and 9, unstructured groups of 7 and 3 (the small one)."""
    monday, _ = facilitated_group(name="Monday course")
    org = monday.organisation
    wednesday, _ = facilitated_group(org, name="Wednesday course")
    circle = unstructured(org, name="Thursday circle")
    small = unstructured(org, name="Small circle")
    completers(monday, [6, 3, 7, 1, -2, 8, 9, 4])
    completers(wednesday, [5, 1, 2, 0, 3, 4, 6, 2, 1])
    completers(circle, [2, -1, 4, 0, 3, 1, 2])
    completers(small, [5, 1, 2])
    recompute.recompute_all(organisation_id=org.id)
    return {"org": org, "small": small, "circle": circle, "lead": person(org, RoleKind.LEAD)}


def group_comparison(org, group) -> ComparisonSummary:
    """The computed (stored) comparison of ``group`` with the organisation's other groups."""
    cohorts = CohortState.objects.filter(organisation=org).values_list("pk", flat=True)
    return next(c for c in comparisons_of(cohorts) if c.kind == "group" and c.a_value == str(group.pk))


def test_comparisons_appear_in_the_summary_csv_and_in_their_own_xlsx_sheet(client, hostile_pair):
    org, lead, group = hostile_pair["org"], hostile_pair["lead"], hostile_pair["group"]
    rows = [
        r for r in read_csv(download(client, lead, "outcomes:export_summary_csv", org)) if r["table"] == "comparison"
    ]
    assert {(r["kind"], r["a_dimension"]) for r in rows} == {("format", "format"), ("group", "group")}
    fmt = next(r for r in rows if r["kind"] == "format")
    stored = ComparisonSummary.objects.get(kind="format")
    assert (fmt["a_label"], fmt["b_label"], fmt["n_a"], fmt["n_b"]) == (
        "Structured groups",
        "Unstructured groups",
        "6",
        "6",
    )
    assert float(fmt["g"]) == pytest.approx(stored.g, abs=1e-12)  # full precision, not rounded
    assert (fmt["instrument"], fmt["from_time_point"], fmt["to_time_point"]) == ("wemwbs", "baseline", "post")
    assert fmt["cohort_dimension"] == "organisation"
    assert set(COMPARISON_COLUMNS) <= set(SUMMARY_COLUMNS)

    workbook = openpyxl.load_workbook(io.BytesIO(download(client, lead, "outcomes:export_summary_xlsx", org)))
    assert workbook.sheetnames == ["Outcomes", "Change", "Flow", "Comparisons", "Attrition", "About"]
    sheet = workbook["Comparisons"]
    header = [cell.value for cell in sheet[1]]
    assert tuple(header) == COMPARISON_COLUMNS
    body = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(body) == len(rows) == 3  # structured vs unstructured; each group vs the other
    by_value = {row[header.index("a_value")]: row for row in body}
    assert by_value[str(group.pk)][header.index("n_a")] == 6  # a number cell
    assert by_value["structured"][header.index("g")] == pytest.approx(stored.g, abs=1e-12)


def test_a_hostile_group_name_used_as_a_comparison_label_is_neutralised_in_the_csv_and_the_xlsx(client, hostile_pair):
    org, lead, group = hostile_pair["org"], hostile_pair["lead"], hostile_pair["group"]
    rows = [
        r for r in read_csv(download(client, lead, "outcomes:export_summary_csv", org)) if r["table"] == "comparison"
    ]
    mine = next(r for r in rows if r["a_value"] == str(group.pk))
    assert mine["a_label"] == "'" + HOSTILE
    assert not any(r[c].startswith(("=", "+", "@")) for r in rows for c in ("a_label", "b_label", "cohort_label"))
    assert mine["mean_a"].startswith("-") is False and float(mine["g"]) == pytest.approx(group_comparison(org, group).g)

    workbook = openpyxl.load_workbook(io.BytesIO(download(client, lead, "outcomes:export_summary_xlsx", org)))
    cells = [cell for row in workbook["Comparisons"].iter_rows(min_row=2) for cell in row]
    hostile = [cell for cell in cells if isinstance(cell.value, str) and "HYPERLINK" in cell.value]
    assert hostile
    for cell in hostile:
        assert cell.data_type == "s" and cell.value == "'" + HOSTILE
    assert not any(cell.data_type == "f" for cell in cells)
    negative = [cell for cell in cells if isinstance(cell.value, float) and cell.value < 0]
    assert negative and all(cell.data_type == "n" for cell in negative)  # "other groups" vs a group: g < 0


def _count_vectors(rows: list[dict], org) -> tuple[list, list, list[int]]:
    """Every published and every hidden count of people in change and comparison rows, as a vector over groups."""
    group_ids = sorted(SupportGroup.objects.filter(organisation=org).values_list("pk", flat=True))
    index = {pk: i for i, pk in enumerate(group_ids)}
    org_groups = SupportGroup.objects.filter(organisation=org)

    def vector(dimension, value, *, complement=False):
        members = set(org_groups.filter(groups_filter(dimension, value)).values_list("pk", flat=True))
        if complement:
            members = set(group_ids) - members
        v = np.zeros(len(group_ids))
        for pk in members:
            v[index[pk]] = 1
        return v

    shown, hidden = [], []
    for r in rows:
        if r["table"] == "change" and (r["instrument"], r["to_time_point"]) == ("wemwbs", "post"):
            v = vector(r["cohort_dimension"], r["cohort_value"])
            (hidden if r["n_pairs"] in HIDDEN else shown).append((r["cohort_label"], v))
        if r["table"] == "comparison" and (r["instrument"], r["to_time_point"]) == ("wemwbs", "post"):
            shown.append((f"n_a {r['a_label']}", vector(r["a_dimension"], r["a_value"])))
            shown.append((f"n_b {r['a_label']}", vector(r["a_dimension"], r["a_value"], complement=True)))
    return shown, hidden, group_ids


def test_a_small_groups_comparison_is_left_out_and_no_hidden_count_follows_from_the_published_ones(
    client, with_small_group
):
    org, lead, small = with_small_group["org"], with_small_group["lead"], with_small_group["small"]
    # The engine computed it (3 vs 24); disclosure control keeps it out.
    assert group_comparison(org, small).n_a == 3
    rows = read_csv(download(client, lead, "outcomes:export_summary_csv", org))
    comparisons = [r for r in rows if r["table"] == "comparison"]
    assert comparisons  # something is published, so the check below means something
    assert str(small.pk) not in {r["a_value"] for r in comparisons}
    assert "Small circle" not in {r["a_label"] for r in comparisons}
    assert all(int(r["n_a"]) >= K and int(r["n_b"]) >= K for r in comparisons)

    # Each published comparison repeats counts the change rows already show: nothing new to subtract.
    change = {
        (r["cohort_dimension"], r["cohort_value"]): r["n_pairs"]
        for r in rows
        if r["table"] == "change" and r["to_time_point"] == "post"
    }
    for r in comparisons:
        assert change[(r["a_dimension"], r["a_value"])] == r["n_a"]
        assert int(change[("organisation", "")]) == int(r["n_a"]) + int(r["n_b"])

    # The strong attack: a hidden count is disclosed when its groups are a combination of published counts'.
    shown, hidden, _ = _count_vectors(rows, org)
    assert any(label == "Small circle" for label, _ in hidden)
    published = np.array([v for _, v in shown])
    rank = np.linalg.matrix_rank(published)
    for label, v in hidden:
        assert np.linalg.matrix_rank(np.vstack([published, v])) > rank, label


def test_a_comparison_whose_side_is_hidden_by_secondary_suppression_is_left_out(client, with_small_group):
    """A group of at least k whose count is hidden to protect the small group's: "it vs the other groups"
    would publish that count as n_a (and the organisation's minus it as n_b), so it is left out too."""
    org, lead = with_small_group["org"], with_small_group["lead"]
    rows = read_csv(download(client, lead, "outcomes:export_summary_csv", org))
    change = {
        (r["cohort_dimension"], r["cohort_value"]): r["n_pairs"]
        for r in rows
        if r["table"] == "change" and r["to_time_point"] == "post"
    }
    published = {(r["a_dimension"], r["a_value"]) for r in rows if r["table"] == "comparison"}
    computed = {
        (c.a_dimension, c.a_value): c.n_a
        for c in comparisons_of(CohortState.objects.filter(organisation=org).values_list("pk", flat=True))
    }
    protected = [key for key, n_a in computed.items() if n_a >= K and change[key] in HIDDEN]
    assert protected  # the fixture does exercise the rule
    assert not published & set(protected)
    assert published == {key for key, n_a in computed.items() if change[key] not in HIDDEN and n_a >= K}


def test_the_page_the_json_report_and_the_export_publish_the_same_comparisons(client, with_small_group):
    org, lead = with_small_group["org"], with_small_group["lead"]
    exported = {
        (r["kind"], r["a_label"], r["n_a"], r["n_b"])
        for r in read_csv(download(client, lead, "outcomes:export_summary_csv", org))
        if r["table"] == "comparison"
    }
    reported = {(c["kind"], c["a"], str(c["n_a"]), str(c["n_b"])) for c in evaluation_report(org)["comparisons"]}
    assert exported == reported
    page = client.get(reverse("outcomes:evaluation", args=[org.slug])).content.decode()
    for _kind, label, n_a, n_b in exported:
        assert f"{n_a} / {n_b}" in page and label in page
    assert "Small circle vs" not in page


def test_facilitators_and_other_organisations_leads_get_404_on_the_summaries_with_comparisons(client, hostile_pair):
    org = hostile_pair["org"]
    outsider = person(OrganisationFactory(), RoleKind.LEAD)
    for user in (hostile_pair["facilitator"], outsider):
        client.force_login(user)
        for name in ("outcomes:export_summary_csv", "outcomes:export_summary_xlsx", "outcomes:evaluation"):
            response = client.get(reverse(name, args=[org.slug]))
            assert response.status_code == 404, (user, name)
            assert b"HYPERLINK" not in response.content
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_the_data_dictionary_describes_the_comparison_columns(client, hostile_pair):
    rows = read_csv(download(client, hostile_pair["lead"], "outcomes:export_dictionary_csv", hostile_pair["org"]))
    described = {row["column"]: row["description"] for row in rows if row["section"] == "column"}
    for column in COMPARISON_COLUMNS:
        assert described.get(column), column
    assert "Comparison rows" in described["t"] and "Comparison rows" in described["n_a"]
    assert any("Comparisons" in row["description"] for row in rows if row["section"] == "note")

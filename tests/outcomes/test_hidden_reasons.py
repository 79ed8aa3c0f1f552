"""Every hidden figure says which rule hid it, as a typed value, wherever it is published (issue 15 item 6).

A figure about fewer than k people is "small"; one of k or more hidden so that a small one cannot be worked
out is "complementary". The page, the summary CSV and XLSX, the meta-analysis CSV and the JSON report each
carry the reason; nothing reads it back out of a display string.
"""

from __future__ import annotations

import csv
import io
import pathlib

import openpyxl
import pytest
from django.urls import reverse

from outcomes.evaluation import recompute
from outcomes.evaluation.disclosure.hidden import Hidden
from outcomes.evaluation.report import evaluation_report
from outcomes.evaluation.summary import summary_tables
from peersupport.models import RoleKind
from tests.factories import active_member, facilitated_group, person
from tests.outcomes.test_aggregation import answered

pytestmark = pytest.mark.django_db

SMALL = "suppressed (<5)"
COMPLEMENTARY = "suppressed (complementary)"


@pytest.fixture
def seventeen_and_three(client):
    """Two groups, 17 and 3 people: the 3 is small, and the 17 is hidden, or 20 − 17 would give the 3 away."""
    big, _ = facilitated_group(name="Big group")
    small, _ = facilitated_group(organisation=big.organisation, name="Small group")
    for group, n in ((big, 17), (small, 3)):
        for i in range(n):
            m = active_member(group)
            answered(m, "baseline", 20 + i)
            answered(m, "post", 30 + i)
    recompute.recompute_all(organisation_id=big.organisation_id)
    client.force_login(person(big.organisation, RoleKind.LEAD))
    return big, small


def _get(client, name, org) -> bytes:
    response = client.get(reverse(name, args=[org.slug]))
    assert response.status_code == 200
    return response.content


def _csv(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _group_rows(rows, group, **match):
    return [
        r
        for r in rows
        if r["cohort_dimension"] == "group"
        and r["cohort_value"] == str(group.pk)
        and all(r.get(k) == v for k, v in match.items())
    ]


def test_the_summary_csv_writes_a_complementary_cell_as_complementary_not_as_fewer_than_k(client, seventeen_and_three):
    big, small = seventeen_and_three
    rows = _csv(_get(client, "outcomes:export_summary_csv", big.organisation))
    (big_baseline,) = _group_rows(rows, big, table="outcome", time_point="baseline", scale="total")
    (small_baseline,) = _group_rows(rows, small, table="outcome", time_point="baseline", scale="total")
    assert small_baseline["n"] == SMALL and small_baseline["mean"] == SMALL
    # 17 people are not "fewer than 5": the file says the cell is hidden to protect another.
    assert big_baseline["n"] == COMPLEMENTARY and big_baseline["mean"] == COMPLEMENTARY
    (big_change,) = _group_rows(rows, big, table="change", scale="total")
    assert big_change["n_pairs"] == COMPLEMENTARY and big_change["mean_change"] == COMPLEMENTARY


def test_the_meta_analysis_csv_carries_the_reason_too(client, seventeen_and_three):
    big, small = seventeen_and_three
    rows = _csv(_get(client, "outcomes:export_meta_analysis_csv", big.organisation))
    (big_row,) = _group_rows(rows, big, scale="total")
    (small_row,) = _group_rows(rows, small, scale="total")
    assert big_row["n_baseline"] == COMPLEMENTARY and big_row["sd_post"] == COMPLEMENTARY
    assert small_row["n_baseline"] == SMALL and small_row["n_pairs_baseline_post"] == SMALL


def test_the_workbook_carries_the_reason_and_its_about_sheet_explains_each_label(client, seventeen_and_three):
    big, small = seventeen_and_three
    workbook = openpyxl.load_workbook(io.BytesIO(_get(client, "outcomes:export_summary_xlsx", big.organisation)))
    sheet = workbook["Outcomes"]
    header = [cell.value for cell in sheet[1]]
    n_of = {
        (row[header.index("cohort_value")], row[header.index("time_point")]): row[header.index("n")]
        for row in sheet.iter_rows(min_row=2, values_only=True)
        if row[header.index("cohort_dimension")] == "group" and row[header.index("scale")] == "total"
    }
    assert n_of[(str(big.pk), "baseline")] == COMPLEMENTARY
    assert n_of[(str(small.pk), "baseline")] == SMALL
    about = dict(workbook["About"].iter_rows(min_row=2, values_only=True))
    assert about["suppression_threshold_k"] == 5
    assert "fewer than 5 people" in about[SMALL]
    assert "5 or more people" in about[COMPLEMENTARY] and "give away" in about[COMPLEMENTARY]
    assert "each person's score" in about["suppressed (reveals scores)"]


def test_the_json_report_gives_each_hidden_figure_its_reason(seventeen_and_three):
    big, small = seventeen_and_three
    report = evaluation_report(big.organisation)

    def outcome(group):
        return next(
            r
            for r in report["outcomes"]
            if r["cohort"]["value"] == str(group.pk) and r["time_point"] == "baseline" and r["scale"] == "total"
        )

    assert outcome(small)["n"] == {"hidden": "small", "k": 5}
    assert outcome(big)["n"] == {"hidden": "complementary", "k": 5}
    assert outcome(big)["mean"] == {"hidden": "complementary", "k": 5}
    whole = next(r for r in report["outcomes"] if r["cohort"]["dimension"] == "organisation")
    assert whole["n"] == 20  # shown figures are numbers, as before


def test_the_tables_hold_typed_values_and_the_page_says_why(client, seventeen_and_three):
    big, small = seventeen_and_three
    tables = summary_tables(big.organisation)
    hidden = [v for row in tables.outcomes for v in row.values() if isinstance(v, Hidden)]
    assert hidden and not [v for row in tables.outcomes for v in row.values() if isinstance(v, str) and "suppr" in v]
    page = client.get(
        reverse("outcomes:evaluation", args=[big.organisation.slug]) + f"?cohort=group:{big.pk}"
    ).content.decode()
    assert 'data-hidden="complementary"' in page


def test_no_code_reads_a_reason_out_of_a_display_string():
    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for app in ("outcomes", "peersupport", "groups", "sessions")
        for path in (root / app).rglob("*.py")
        if 'startswith("suppressed' in path.read_text() or "startswith('suppressed" in path.read_text()
    ]
    assert offenders == []

"""The demo's first hour: after ``seed_demo`` alone, member01 of each demo organisation has questionnaires to answer
(no job run), and the evaluation compares structured with unstructured groups on enough people to show."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from outcomes.models import Assessment, AssessmentStatus
from peersupport.models import Organisation, RoleKind, User

pytestmark = pytest.mark.django_db


def test_after_seed_demo_member01_has_a_questionnaire_to_answer_and_the_comparison_has_people_on_both_sides(
    client, demo_db
):
    # demo_db: the shared demo, as seed_demo alone leaves it (tests/conftest.py)
    organisations = list(Organisation.objects.order_by("slug"))
    assert len(organisations) == 2
    for org in organisations:
        member01 = User.objects.get(email__startswith="member01@", roles__organisation=org)
        client.force_login(member01)
        page = client.get(reverse("member_dashboard", args=[org.slug])).content.decode()
        open_ones = Assessment.objects.filter(
            membership__user=member01, membership__group__organisation=org, status=AssessmentStatus.OPEN
        )
        assert open_ones.exists(), org.slug
        for assessment in open_ones:
            assert reverse("outcomes:assessment", args=[org.slug, assessment.pk]) in page
        first = open_ones.first()
        start = client.get(reverse("outcomes:assessment", args=[org.slug, first.pk]))
        assert start.status_code == 302 and client.get(start.url).status_code == 200  # the first questionnaire

        lead = User.objects.get(roles__organisation=org, roles__kind=RoleKind.LEAD)
        client.force_login(lead)
        xlsx = client.get(reverse("outcomes:export_summary_xlsx", args=[org.slug]))
        assert xlsx.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content))["Comparisons"]
        header = [cell.value for cell in sheet[1]]
        rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]
        formats = [r for r in rows if r["kind"] == "format" and r["cohort_dimension"] == "organisation"]
        assert formats, f"no structured-vs-unstructured comparison in {org.slug}'s export"
        assert all(isinstance(r["n_a"], int) and r["n_a"] >= 5 and r["n_b"] >= 5 for r in formats)

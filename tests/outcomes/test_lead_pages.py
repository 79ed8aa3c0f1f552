"""Leads supply licensed wording, build measurement plans and import answers; nobody else can."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from outcomes.instruments import registry
from outcomes.instruments.text import questionnaire_for
from outcomes.models import InstrumentText, MeasurementPlan, PlanTimePoint, Response
from peersupport.models import RoleKind
from tests import factories
from tests.factories import OrganisationFactory, active_member, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_and_group():
    return factories.lead_and_group(name="Thursday group")


def hhi_post(defn):
    data = {
        "licence_declaration": "Licence ref 123, held by our trust; wording unaltered.",
        "instructions": "Read each.",
    }
    for item in defn.items:
        data[f"item_{item.key}"] = f"Licensed wording {item.number}"
    for name, option_set in defn.option_sets.items():
        for option in option_set.choices:
            data[f"option_{name}_{option.value}"] = f"Label {option.value}"
    return data


def test_a_licensed_instrument_cannot_be_asked_until_the_lead_supplies_its_wording(client, lead_and_group):
    lead, group, _ = lead_and_group
    defn = registry.get("hhi", 1)
    assert questionnaire_for(defn, group.organisation) is None
    client.force_login(lead)
    listing = client.get(reverse("outcomes:lead_instruments", args=[group.organisation.slug])).content.decode()
    assert "Add the wording" in listing
    url = reverse("outcomes:lead_instrument_text", args=[group.organisation.slug, "hhi", 1])
    incomplete = hhi_post(defn)
    del incomplete["item_" + defn.items[0].key]
    assert client.post(url, incomplete).status_code == 200
    assert not InstrumentText.objects.exists()
    assert client.post(url, hhi_post(defn)).status_code == 302
    shown = questionnaire_for(defn, group.organisation)
    assert shown is not None and shown.items[0].text == "Licensed wording 1"
    other_org = OrganisationFactory()
    assert questionnaire_for(defn, other_org) is None  # the wording stays with the licensee


def test_a_lead_builds_a_plan_and_bad_windows_are_refused(client, lead_and_group):
    lead, group, _ = lead_and_group
    client.force_login(lead)
    org = group.organisation
    response = client.post(
        reverse("outcomes:lead_plans", args=[org.slug]), {"name": "Core", "target": f"group:{group.pk}"}
    )
    plan = MeasurementPlan.objects.get()
    assert response.url == reverse("outcomes:lead_plan", args=[org.slug, plan.pk])
    url = reverse("outcomes:lead_plan", args=[org.slug, plan.pk])
    bad = client.post(
        url,
        {
            "time_point": "baseline",
            "anchor": "first_session",
            "opens_days": "7",
            "closes_days": "0",
            "instruments": ["phq9@1"],
        },
    )
    assert "The window must close after it opens." in bad.content.decode()
    not_ready = client.post(
        url,
        {
            "time_point": "baseline",
            "anchor": "first_session",
            "opens_days": "-7",
            "closes_days": "7",
            "instruments": ["hhi@1"],
        },
    )
    assert "Select a valid choice" in not_ready.content.decode()  # licensed wording missing
    assert not PlanTimePoint.objects.exists()
    client.post(
        url,
        {
            "time_point": "baseline",
            "anchor": "first_session",
            "opens_days": "-7",
            "closes_days": "7",
            "instruments": ["phq9@1", "gad7@1"],
        },
    )
    tp = PlanTimePoint.objects.get()
    assert [str(i) for i in tp.instruments.all()] == ["phq9@1", "gad7@1"]
    page = client.get(url).content.decode()
    assert "Generalized Anxiety Disorder Assessment (GAD-7)" in page  # names a lead reads, not codes
    assert "gad7@1" not in page.split("Add a time point")[0]


def test_a_lead_imports_a_file_on_the_page_and_sees_every_rejected_row(client, lead_and_group):
    lead, group, _ = lead_and_group
    active_member(group, email="kim@example.org")
    client.force_login(lead)
    url = reverse("outcomes:lead_import", args=[group.organisation.slug])
    header = "participant_email,group,time_point,instrument,item,value,completed_date\n"
    rows = "".join(f"kim@example.org,Thursday group,baseline,gad7,{n},2,2026-02-01\n" for n in range(1, 8))
    bad = client.post(
        url,
        {
            "file": SimpleUploadedFile(
                "a.csv", (header + rows + "x@y.org,Thursday group,baseline,gad7,1,2,2026-02-01\n").encode()
            )
        },
    )
    assert bad.status_code == 400
    assert (
        "1 row: participant “x@y.org” is not a member of “Thursday group” (import the roster first) (line 9)"
        in bad.content.decode()
    )
    assert not Response.objects.exists()
    latin1 = client.post(url, {"file": SimpleUploadedFile("b.csv", "Zoë".encode("latin-1"))})
    assert "not UTF-8" in latin1.content.decode()
    good = client.post(url, {"file": SimpleUploadedFile("a.csv", (header + rows).encode())})
    assert good.status_code == 302
    assert Response.objects.get().total == 14.0


@pytest.mark.parametrize("name", ["lead_instruments", "lead_plans", "lead_import", "lead_roster_import"])
def test_facilitators_members_and_other_organisations_cannot_open_lead_pages(client, lead_and_group, name):
    lead, group, facilitator = lead_and_group
    outsider = person(OrganisationFactory(), RoleKind.LEAD)
    member = active_member(group).user
    for user in (facilitator, member, outsider):
        client.force_login(user)
        assert client.get(reverse(f"outcomes:{name}", args=[group.organisation.slug])).status_code == 404

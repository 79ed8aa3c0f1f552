"""Curricula: versions never change a running group; the starter curricula load once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from groups.models import Curriculum, CurriculumKind, CurriculumUnit
from groups.services import curricula as curriculum_services
from peersupport.models import RoleKind
from tests.factories import CurriculumFactory, OrganisationFactory, facilitated_group, person

pytestmark = pytest.mark.django_db


def test_the_starter_curricula_are_a_ten_unit_self_management_and_an_eight_unit_anti_stigma_course():
    entries = {entry["kind"]: entry for entry in curriculum_services.starter_curricula()}
    assert len(entries[CurriculumKind.SELF_MANAGEMENT]["units"]) == 10
    assert len(entries[CurriculumKind.ANTI_STIGMA]["units"]) == 8
    titles = " ".join(u["title"] + u["topics"] for u in entries[CurriculumKind.ANTI_STIGMA]["units"]).lower()
    assert "tell" in titles and "story" in titles


def test_loading_the_starter_curricula_twice_adds_them_once():
    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD)
    created = curriculum_services.starter_curricula_load(organisation=org, by=lead)
    assert [c.kind for c in created] == [CurriculumKind.SELF_MANAGEMENT, CurriculumKind.ANTI_STIGMA]
    assert curriculum_services.starter_curricula_load(organisation=org, by=lead) == []
    assert Curriculum.objects.filter(organisation=org).count() == 2
    assert CurriculumUnit.objects.filter(curriculum__organisation=org).count() == 18
    # Another organisation gets its own copies.
    other = OrganisationFactory()
    assert len(curriculum_services.starter_curricula_load(organisation=other)) == 2


def test_a_starter_curriculum_already_versioned_is_not_added_again():
    org = OrganisationFactory()
    first, _ = curriculum_services.starter_curricula_load(organisation=org)
    curriculum_services.curriculum_new_version(curriculum=first, by=None, title="Our own take")
    assert curriculum_services.starter_curricula_load(organisation=org) == []
    assert Curriculum.objects.filter(family=first.family).count() == 2


def test_a_lead_loads_the_starter_curricula_with_one_click_and_a_second_click_changes_nothing(client):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD))
    url = reverse("groups:starter_curricula", args=[org.slug])
    response = client.post(url, follow=True)
    assert "Added: Steering my own recovery, Owning my story." in response.content.decode()
    response = client.post(url, follow=True)
    assert "You already have the starter curricula." in response.content.decode()
    assert Curriculum.objects.filter(organisation=org).count() == 2


def test_a_new_version_copies_the_units_and_leaves_the_running_group_on_the_old_one():
    group, _ = facilitated_group()
    old = group.curriculum
    new = curriculum_services.curriculum_new_version(
        curriculum=old,
        by=None,
        units=[{"title": "Only class", "topics": "Everything", "duration_minutes": 60}],
    )
    assert (new.family, new.version) == (old.family, old.version + 1)
    assert list(new.units.values_list("position", "title")) == [(1, "Only class")]
    assert old.units.count() == 8
    group.refresh_from_db()
    assert group.curriculum_id == old.pk
    copied = curriculum_services.curriculum_new_version(curriculum=new, by=None)
    assert copied.version == old.version + 2
    assert list(copied.units.values_list("title", "duration_minutes")) == [("Only class", 60)]


def test_a_curriculum_needs_a_title_a_known_kind_and_sensible_units():
    org = OrganisationFactory()
    good_unit = [{"title": "Class", "duration_minutes": 90}]
    bad = [
        {"kind": "astrology", "title": "Stars", "units": good_unit},
        {"kind": CurriculumKind.OTHER, "title": "  ", "units": good_unit},
        {"kind": CurriculumKind.OTHER, "title": "No units", "units": []},
        {"kind": CurriculumKind.OTHER, "title": "Blank unit", "units": [{"title": " "}]},
        {"kind": CurriculumKind.OTHER, "title": "Long", "units": [{"title": "All day", "duration_minutes": 900}]},
    ]
    for fields in bad:
        with pytest.raises(ValidationError):
            curriculum_services.curriculum_create(organisation=org, by=None, **fields)
    assert not Curriculum.objects.exists()


def post_curriculum(client, url, units, **fields):
    data = {
        "kind": CurriculumKind.SELF_MANAGEMENT,
        "title": "Coping skills",
        "description": "",
        "units-TOTAL_FORMS": str(len(units)),
        "units-INITIAL_FORMS": "0",
        "units-MIN_NUM_FORMS": "1",
        "units-MAX_NUM_FORMS": "40",
    }
    data.update(fields)
    for i, unit in enumerate(units):
        for key, value in unit.items():
            data[f"units-{i}-{key}"] = value
    return client.post(url, data)


def test_a_lead_writes_a_curriculum_with_ordered_units(client):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD))
    url = reverse("groups:curriculum_create", args=[org.slug])
    response = post_curriculum(
        client,
        url,
        [
            {"title": "Second", "topics": "b", "duration_minutes": "60", "ORDER": "2"},
            {"title": "First", "topics": "a", "duration_minutes": "90", "ORDER": "1"},
            {"title": "", "topics": "", "duration_minutes": "90", "ORDER": ""},  # an empty extra row
        ],
    )
    assert response.status_code == 302
    curriculum = Curriculum.objects.get(organisation=org)
    assert list(curriculum.units.values_list("position", "title", "duration_minutes")) == [
        (1, "First", 90),
        (2, "Second", 60),
    ]


@pytest.mark.parametrize(
    ("units", "fields", "message"),
    [
        ([{"title": "", "duration_minutes": "90"}], {}, "Add at least one unit"),
        ([{"title": "Class", "duration_minutes": "2"}], {}, "greater than or equal to 5"),
        ([{"title": "Class", "duration_minutes": "ninety"}], {}, "Enter a whole number."),
        ([{"title": "Class", "duration_minutes": "90"}], {"title": ""}, "This field is required."),
        ([{"title": "Class", "duration_minutes": "90"}], {"kind": "astrology"}, "Select a valid choice."),
    ],
)
def test_a_bad_curriculum_form_says_what_is_wrong_and_creates_nothing(client, units, fields, message):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD))
    response = post_curriculum(client, reverse("groups:curriculum_create", args=[org.slug]), units, **fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Curriculum.objects.exists()


def test_the_more_rows_button_adds_empty_unit_rows_without_saving(client):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD))
    response = post_curriculum(
        client,
        reverse("groups:curriculum_create", args=[org.slug]),
        [{"title": "Class", "duration_minutes": "90"}],
        more_units="1",
    )
    assert response.status_code == 200
    assert response.context["units"].total_form_count() == 6
    assert not Curriculum.objects.exists()


def test_a_lead_publishes_a_new_version_from_the_page(client):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD))
    old = CurriculumFactory(organisation=org, units=2)
    url = reverse("groups:curriculum_new_version", args=[org.slug, old.pk])
    data = {
        "kind": old.kind,
        "title": old.title,
        "description": "Revised",
        "units-TOTAL_FORMS": "3",
        "units-INITIAL_FORMS": "2",
        "units-MIN_NUM_FORMS": "1",
        "units-MAX_NUM_FORMS": "40",
        "units-0-title": "Class 1",
        "units-0-duration_minutes": "90",
        "units-0-ORDER": "1",
        "units-1-title": "Class 2",
        "units-1-duration_minutes": "90",
        "units-1-ORDER": "2",
        "units-1-DELETE": "on",
        "units-2-title": "A new class",
        "units-2-duration_minutes": "45",
        "units-2-ORDER": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    new = Curriculum.objects.get(family=old.family, version=2)
    assert list(new.units.values_list("title", flat=True)) == ["Class 1", "A new class"]
    assert old.units.count() == 2

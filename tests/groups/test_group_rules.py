"""Group rules: in the model (clean), in the services (which call full_clean) and in the database."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from groups import services
from groups.models import (
    Facilitation,
    GroupFacilitator,
    GroupFormat,
    GroupStatus,
    MembershipEvent,
    MembershipStatus,
    SupportGroup,
)
from groups.services import curricula as curriculum_services
from groups.services import groups as group_services
from peersupport.models import AuditEvent, RoleKind
from tests.factories import (
    CurriculumFactory,
    OrganisationFactory,
    SupportGroupFactory,
    facilitated_group,
    membership_in,
    person,
)

pytestmark = pytest.mark.django_db


def group_fields(**overrides):
    fields = {
        "name": "Tuesday course",
        "format": GroupFormat.STRUCTURED,
        "facilitation": Facilitation.PEER_LED,
        "delivery": "in_person",
        "capacity": 10,
        "time_zone": "Europe/London",
        "location": "Community room",
    }
    fields.update(overrides)
    return fields


def test_a_lead_creates_a_structured_group_in_draft_with_its_facilitators():
    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD)
    f1, f2 = person(org, RoleKind.FACILITATOR), person(org, RoleKind.FACILITATOR)
    curriculum = CurriculumFactory(organisation=org)
    group = group_services.group_create(
        organisation=org, by=lead, facilitators=[f1, f2], curriculum=curriculum, **group_fields()
    )
    assert group.status == GroupStatus.DRAFT
    assert set(group.facilitators.all()) == {f1, f2}
    assert AuditEvent.objects.filter(action=services.Action.GROUP_CREATED, object_id=str(group.pk)).exists()


def test_a_structured_group_without_a_curriculum_is_refused_with_a_message():
    org = OrganisationFactory()
    facilitator = person(org, RoleKind.FACILITATOR)
    with pytest.raises(ValidationError) as exc:
        group_services.group_create(organisation=org, by=facilitator, facilitators=[facilitator], **group_fields())
    assert "curriculum" in exc.value.message_dict
    assert SupportGroup.objects.count() == 0


def test_a_curriculum_of_another_organisation_is_refused():
    org, other = OrganisationFactory(), OrganisationFactory()
    facilitator = person(org, RoleKind.FACILITATOR)
    with pytest.raises(ValidationError) as exc:
        group_services.group_create(
            organisation=org,
            by=facilitator,
            facilitators=[facilitator],
            curriculum=CurriculumFactory(organisation=other),
            **group_fields(),
        )
    assert exc.value.message_dict["curriculum"] == ["Choose a curriculum of this organisation."]
    assert SupportGroup.objects.count() == 0


def test_an_unstructured_group_does_not_follow_a_curriculum():
    org = OrganisationFactory()
    facilitator = person(org, RoleKind.FACILITATOR)
    with pytest.raises(ValidationError) as exc:
        group_services.group_create(
            organisation=org,
            by=facilitator,
            facilitators=[facilitator],
            curriculum=CurriculumFactory(organisation=org),
            **group_fields(format=GroupFormat.UNSTRUCTURED),
        )
    assert "curriculum" in exc.value.message_dict


def test_a_structured_group_cannot_be_peer_to_peer():
    org = OrganisationFactory()
    with pytest.raises(ValidationError) as exc:
        group_services.group_create(
            organisation=org,
            by=person(org, RoleKind.LEAD),
            curriculum=CurriculumFactory(organisation=org),
            **group_fields(facilitation=Facilitation.PEER_TO_PEER),
        )
    assert "facilitation" in exc.value.message_dict


def test_a_peer_to_peer_group_has_no_facilitator():
    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD)
    facilitator = person(org, RoleKind.FACILITATOR)
    fields = group_fields(format=GroupFormat.UNSTRUCTURED, facilitation=Facilitation.PEER_TO_PEER)
    with pytest.raises(ValidationError) as exc:
        group_services.group_create(organisation=org, by=lead, facilitators=[facilitator], **fields)
    assert "no facilitator" in exc.value.message_dict["facilitators"][0]
    group = group_services.group_create(organisation=org, by=lead, **fields)
    assert group.facilitators.count() == 0


@pytest.mark.parametrize("count", [0, 4])
def test_a_peer_led_group_has_one_to_three_facilitators(count):
    org = OrganisationFactory()
    people = [person(org, RoleKind.FACILITATOR) for _ in range(count)]
    with pytest.raises(ValidationError) as exc:
        group_services.group_create(
            organisation=org,
            by=person(org, RoleKind.LEAD),
            facilitators=people,
            **group_fields(format=GroupFormat.UNSTRUCTURED),
        )
    assert exc.value.message_dict["facilitators"] == ["A peer-led group has 1 to 3 facilitators."]
    assert SupportGroup.objects.count() == 0


def test_a_facilitator_must_hold_the_facilitator_role_in_that_organisation():
    org, other = OrganisationFactory(), OrganisationFactory()
    outsider = person(other, RoleKind.FACILITATOR, display_name="Outside Olly")
    member = person(org, RoleKind.MEMBER, display_name="Member Mo")
    with pytest.raises(ValidationError) as exc:
        group_services.group_create(
            organisation=org,
            by=person(org, RoleKind.LEAD),
            facilitators=[outsider, member],
            **group_fields(format=GroupFormat.UNSTRUCTURED),
        )
    message = exc.value.message_dict["facilitators"][0]
    assert "Outside Olly" in message and "Member Mo" in message


def test_the_database_refuses_a_structured_group_without_a_curriculum():
    group = SupportGroupFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        SupportGroup.objects.filter(pk=group.pk).update(curriculum=None)


def test_the_database_refuses_a_structured_peer_to_peer_group_and_zero_places():
    group = SupportGroupFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        SupportGroup.objects.filter(pk=group.pk).update(facilitation=Facilitation.PEER_TO_PEER)
    with pytest.raises(IntegrityError), transaction.atomic():
        SupportGroup.objects.filter(pk=group.pk).update(capacity=0)


def test_status_moves_forward_from_draft_to_completed_or_is_cancelled():
    group, facilitator = facilitated_group(status=GroupStatus.DRAFT)
    for status in (GroupStatus.RECRUITING, GroupStatus.RUNNING, GroupStatus.COMPLETED):
        group = group_services.group_set_status(group=group, status=status, by=facilitator)
    assert group.status == GroupStatus.COMPLETED
    with pytest.raises(ValidationError):
        group_services.group_set_status(group=group, status=GroupStatus.RUNNING, by=facilitator)
    other, _ = facilitated_group(status=GroupStatus.RECRUITING)
    assert group_services.group_set_status(group=other, status=GroupStatus.CANCELLED, by=None).status == "cancelled"


def test_a_group_cannot_skip_or_go_back_a_status():
    group, facilitator = facilitated_group(status=GroupStatus.DRAFT)
    with pytest.raises(ValidationError) as exc:
        group_services.group_set_status(group=group, status=GroupStatus.RUNNING, by=facilitator)
    assert exc.value.message_dict["status"] == ["A draft group cannot become running."]
    group.refresh_from_db()
    assert group.status == GroupStatus.DRAFT


def test_more_places_promote_the_waiting_list_and_fewer_than_active_members_is_refused(on_commit):
    group, facilitator = facilitated_group(capacity=2)
    membership_in(group)
    membership_in(group)
    first = membership_in(group, MembershipStatus.WAITLISTED)
    with pytest.raises(ValidationError) as exc:
        group_services.group_update(group=group, by=facilitator, capacity=1)
    assert "capacity" in exc.value.message_dict
    with on_commit():
        group_services.group_update(group=group, by=facilitator, capacity=3)
    first.refresh_from_db()
    assert first.status == MembershipStatus.ACTIVE
    assert MembershipEvent.objects.filter(membership=first, via="promotion").exists()


def test_the_curriculum_of_a_running_group_cannot_change():
    group, facilitator = facilitated_group(status=GroupStatus.RUNNING)
    newer = curriculum_services.curriculum_new_version(curriculum=group.curriculum, by=None)
    with pytest.raises(ValidationError) as exc:
        group_services.group_update(group=group, by=facilitator, curriculum=newer)
    assert "curriculum" in exc.value.message_dict
    group_services.group_update(group=group, by=facilitator, curriculum=group.curriculum, name="Renamed")
    group.refresh_from_db()
    assert group.name == "Renamed"


def test_facilitators_are_replaced_on_update_within_the_rules():
    group, facilitator = facilitated_group(format=GroupFormat.UNSTRUCTURED, curriculum=None)
    colleague = person(group.organisation, RoleKind.FACILITATOR)
    group_services.group_update(group=group, by=facilitator, facilitators=[facilitator, colleague])
    assert set(GroupFacilitator.objects.filter(group=group).values_list("user_id", flat=True)) == {
        facilitator.pk,
        colleague.pk,
    }
    group_services.group_update(group=group, by=None, facilitators=[], facilitation=Facilitation.PEER_TO_PEER)
    assert not GroupFacilitator.objects.filter(group=group).exists()

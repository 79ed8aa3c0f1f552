"""Joining by code, link or request; the waiting list; leaving and completing. History is never overwritten."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from groups import services
from groups.models import Audience, GroupStatus, Membership, MembershipEvent, MembershipStatus, WithdrawalReason
from groups.services import EnrolmentError
from groups.services import groups as group_services
from groups.services import membership as membership_services
from peersupport import services as core_services
from peersupport.models import AuditEvent, RoleKind
from tests.factories import (
    OrganisationFactory,
    consenting_member,
    facilitated_group,
    membership_in,
    person,
)

pytestmark = pytest.mark.django_db


def statuses(membership: Membership) -> list[tuple[str, str, str]]:
    return list(membership.events.order_by("at", "id").values_list("from_status", "to_status", "via"))


def test_a_member_joins_by_code_in_any_case_and_with_spaces():
    group, _ = facilitated_group(status=GroupStatus.RECRUITING)
    member = consenting_member(group.organisation)
    code = group.enrolment_code
    membership = membership_services.enrol_by_code(
        organisation=group.organisation, code=f" {code[:4].lower()} {code[4:]} ", user=member
    )
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.joined_at is not None
    assert statuses(membership) == [("", "active", "code")]
    assert AuditEvent.objects.filter(action=services.Action.MEMBERSHIP_CHANGED, object_id=str(membership.pk)).exists()


def test_joining_twice_changes_nothing():
    group, _ = facilitated_group()
    member = consenting_member(group.organisation)
    first = membership_services.enrol_by_code(organisation=group.organisation, code=group.enrolment_code, user=member)
    second = membership_services.enrol_by_code(organisation=group.organisation, code=group.enrolment_code, user=member)
    assert first.pk == second.pk
    assert MembershipEvent.objects.filter(membership=first).count() == 1


def test_a_wrong_code_and_another_organisations_code_get_the_same_message():
    group, _ = facilitated_group()
    other_org = OrganisationFactory()
    outsider = consenting_member(other_org)
    with pytest.raises(EnrolmentError) as wrong:
        membership_services.enrol_by_code(
            organisation=group.organisation, code="ZZZZZZZZ", user=consenting_member(group.organisation)
        )
    with pytest.raises(EnrolmentError) as crossing:
        membership_services.enrol_by_code(organisation=other_org, code=group.enrolment_code, user=outsider)
    assert str(wrong.value) == str(crossing.value) == membership_services.no_such_code_message()
    assert not Membership.objects.exists()


def test_a_member_of_another_organisation_cannot_join_even_if_asked_for_the_right_one():
    group, _ = facilitated_group()
    outsider = consenting_member(OrganisationFactory())
    with pytest.raises(EnrolmentError) as exc:
        membership_services.enrol_by_code(organisation=group.organisation, code=group.enrolment_code, user=outsider)
    assert str(exc.value) == membership_services.no_such_code_message()
    assert not Membership.objects.exists()


def test_joining_needs_the_member_role_and_active_consent():
    group, facilitator = facilitated_group()
    org = group.organisation
    with pytest.raises(EnrolmentError, match="Only members"):
        membership_services.enrol_member(group, facilitator, by=facilitator, via="test")
    no_consent = person(org, RoleKind.MEMBER)
    with pytest.raises(EnrolmentError, match="give your consent"):
        membership_services.enrol_member(group, no_consent, by=no_consent, via="test")
    withdrawn = consenting_member(org)
    core_services.consent_withdraw(user=withdrawn, organisation=org)
    with pytest.raises(EnrolmentError, match="give your consent"):
        membership_services.enrol_member(group, withdrawn, by=withdrawn, via="test")
    assert not Membership.objects.exists()


@pytest.mark.parametrize("status", [GroupStatus.DRAFT, GroupStatus.COMPLETED, GroupStatus.CANCELLED])
def test_groups_that_are_not_recruiting_or_running_take_no_members(status):
    group, _ = facilitated_group(status=status)
    member = consenting_member(group.organisation)
    with pytest.raises(EnrolmentError):
        membership_services.enrol_by_code(organisation=group.organisation, code=group.enrolment_code, user=member)
    assert not Membership.objects.exists()


def test_a_youth_group_admits_members_aged_14_to_24_by_year_of_birth():
    group, _ = facilitated_group(audience=Audience.YOUTH)
    year = timezone.localdate().year
    for age in (14, 24):
        member = consenting_member(group.organisation, year_of_birth=year - age)
        assert membership_services.enrol_member(group, member, by=member, via="test").status == MembershipStatus.ACTIVE
    for age in (13, 25):
        member = consenting_member(group.organisation, year_of_birth=year - age)
        with pytest.raises(EnrolmentError) as exc:
            membership_services.enrol_member(group, member, by=member, via="test")
        assert "aged 14 to 24" in str(exc.value) and f"you are {age}" in str(exc.value)


def test_a_member_without_a_year_of_birth_is_asked_to_add_it_for_a_youth_group():
    group, _ = facilitated_group(audience=Audience.YOUTH)
    member = consenting_member(group.organisation)
    with pytest.raises(EnrolmentError) as exc:
        membership_services.enrol_member(group, member, by=member, via="test")
    assert "Add your year of birth in your profile" in str(exc.value)


def test_a_full_group_puts_newcomers_on_the_waiting_list_in_order():
    group, _ = facilitated_group(capacity=1)
    membership_in(group)
    first, second = consenting_member(group.organisation), consenting_member(group.organisation)
    a = membership_services.enrol_member(group, first, by=first, via="code")
    b = membership_services.enrol_member(group, second, by=second, via="code")
    assert (a.status, b.status) == (MembershipStatus.WAITLISTED, MembershipStatus.WAITLISTED)
    assert a.waitlisted_at < b.waitlisted_at
    assert group.memberships.filter(status=MembershipStatus.ACTIVE).count() == 1


def test_leaving_promotes_the_first_waiting_member_and_emails_them_after_commit(on_commit):
    group, facilitator = facilitated_group(capacity=2)
    leaver = membership_in(group)
    membership_in(group)
    first = membership_in(group, MembershipStatus.WAITLISTED)
    second = membership_in(group, MembershipStatus.WAITLISTED)
    with on_commit():
        membership_services.membership_withdraw(
            membership=leaver, by=leaver.user, reason=WithdrawalReason.TIME_OR_PLACE, note="Moved shifts."
        )
    leaver.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert leaver.status == MembershipStatus.WITHDRAWN
    assert leaver.left_at is not None
    assert (leaver.withdrawal_reason, leaver.withdrawal_note) == ("time_or_place", "Moved shifts.")
    assert statuses(leaver)[-1] == ("active", "withdrawn", "self")
    assert first.status == MembershipStatus.ACTIVE
    assert statuses(first)[-1] == ("waitlisted", "active", "promotion")
    assert second.status == MembershipStatus.WAITLISTED
    assert group.memberships.filter(status=MembershipStatus.ACTIVE).count() == 2
    assert [m.to for m in mail.outbox] == [[first.user.email]]
    assert group.name in mail.outbox[0].subject


def test_the_promotion_email_waits_for_the_commit(django_capture_on_commit_callbacks):
    group, _ = facilitated_group(capacity=1)
    leaver = membership_in(group)
    membership_in(group, MembershipStatus.WAITLISTED)
    with django_capture_on_commit_callbacks() as callbacks:
        membership_services.membership_withdraw(membership=leaver, by=leaver.user)
    assert len(callbacks) >= 1  # queued, not yet sent
    assert mail.outbox == []


def test_leaving_the_waiting_list_promotes_nobody():
    group, _ = facilitated_group(capacity=1)
    membership_in(group)
    waiting = membership_in(group, MembershipStatus.WAITLISTED)
    behind = membership_in(group, MembershipStatus.WAITLISTED)
    membership_services.membership_withdraw(membership=waiting, by=waiting.user)
    behind.refresh_from_db()
    assert behind.status == MembershipStatus.WAITLISTED


def test_a_bad_withdrawal_reason_changes_nothing():
    group, _ = facilitated_group()
    membership = membership_in(group)
    with pytest.raises(ValidationError):
        membership_services.membership_withdraw(membership=membership, by=membership.user, reason="bored")
    with pytest.raises(ValidationError):
        membership_services.membership_withdraw(membership=membership, by=membership.user, note="x" * 2001)
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.events.count() == 1


def test_leaving_twice_is_refused_with_a_message():
    group, _ = facilitated_group()
    membership = membership_in(group)
    membership_services.membership_withdraw(membership=membership, by=membership.user)
    with pytest.raises(EnrolmentError, match="already left"):
        membership_services.membership_withdraw(membership=membership, by=membership.user)


def test_a_member_who_left_can_join_again_and_keeps_their_history():
    group, _ = facilitated_group()
    membership = membership_in(group)
    first_joined = membership.joined_at
    membership_services.membership_withdraw(membership=membership, by=membership.user, reason=WithdrawalReason.HEALTH)
    again = membership_services.enrol_member(group, membership.user, by=membership.user, via="code")
    assert again.pk == membership.pk
    assert again.status == MembershipStatus.ACTIVE
    assert again.joined_at == first_joined
    assert (again.left_at, again.withdrawal_reason) == (None, "")
    assert [to for _, to, _ in statuses(again)] == ["active", "withdrawn", "active"]
    assert again.events.get(to_status="withdrawn").reason == "health"


def test_a_facilitator_marks_an_active_member_completed_without_promoting_anyone():
    group, facilitator = facilitated_group(capacity=1)
    membership = membership_in(group)
    waiting = membership_in(group, MembershipStatus.WAITLISTED)
    membership_services.membership_complete(membership=membership, by=facilitator)
    membership.refresh_from_db()
    waiting.refresh_from_db()
    assert membership.status == MembershipStatus.COMPLETED
    assert waiting.status == MembershipStatus.WAITLISTED
    assert statuses(membership)[-1] == ("active", "completed", "facilitator")
    with pytest.raises(EnrolmentError):
        membership_services.membership_complete(membership=waiting, by=facilitator)
    with pytest.raises(EnrolmentError, match="already completed"):
        membership_services.enrol_member(group, membership.user, by=membership.user, via="code")


def test_asking_to_join_an_open_group_needs_a_facilitators_yes(on_commit):
    group, facilitator = facilitated_group(open_to_requests=True, status=GroupStatus.RECRUITING)
    member = consenting_member(group.organisation)
    with on_commit():
        membership = membership_services.request_to_join(group=group, user=member)
    assert membership.status == MembershipStatus.REQUESTED
    assert [m.to for m in mail.outbox] == [[facilitator.email]]
    with on_commit():
        membership = membership_services.request_approve(membership=membership, by=facilitator)
    assert membership.status == MembershipStatus.ACTIVE
    assert mail.outbox[-1].to == [member.email]
    assert [(f, t, v) for f, t, v in statuses(membership)] == [
        ("", "requested", "request"),
        ("requested", "active", "request_approved"),
    ]
    with pytest.raises(EnrolmentError, match="already been answered"):
        membership_services.request_approve(membership=membership, by=facilitator)


def test_a_request_to_a_full_group_goes_on_the_waiting_list_when_accepted():
    group, facilitator = facilitated_group(open_to_requests=True, capacity=1)
    membership_in(group)
    member = consenting_member(group.organisation)
    membership = membership_services.request_to_join(group=group, user=member)
    assert (
        membership_services.request_approve(membership=membership, by=facilitator).status == MembershipStatus.WAITLISTED
    )


def test_a_declined_request_is_kept_with_its_reason_and_the_member_is_told(on_commit):
    group, facilitator = facilitated_group(open_to_requests=True)
    member = consenting_member(group.organisation)
    membership = membership_services.request_to_join(group=group, user=member)
    with on_commit():
        membership_services.request_decline(membership=membership, by=facilitator, note="This group is for carers.")
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.WITHDRAWN
    assert statuses(membership)[-1] == ("requested", "withdrawn", "request_declined")
    assert "This group is for carers." in mail.outbox[-1].body


def test_a_group_that_is_not_open_takes_no_requests():
    group, _ = facilitated_group(open_to_requests=False)
    with pytest.raises(EnrolmentError, match="does not take requests"):
        membership_services.request_to_join(group=group, user=consenting_member(group.organisation))


def test_requests_to_a_peer_to_peer_group_go_to_the_leads(on_commit):
    from groups.models import Facilitation, GroupFormat
    from tests.factories import SupportGroupFactory

    group = SupportGroupFactory(
        format=GroupFormat.UNSTRUCTURED,
        curriculum=None,
        facilitation=Facilitation.PEER_TO_PEER,
        open_to_requests=True,
    )
    lead = person(group.organisation, RoleKind.LEAD)
    with on_commit():
        membership_services.request_to_join(group=group, user=consenting_member(group.organisation))
    assert [m.to for m in mail.outbox] == [[lead.email]]


def test_a_member_joins_by_invitation_link_and_a_new_code_retires_old_links():
    group, facilitator = facilitated_group()
    member = consenting_member(group.organisation)
    token = membership_services.group_invitation_token(group)
    assert membership_services.enrol_by_link(token=token, user=member).status == MembershipStatus.ACTIVE
    group_services.group_renew_code(group=group, by=facilitator)
    with pytest.raises(EnrolmentError, match="replaced"):
        membership_services.enrol_by_link(token=token, user=consenting_member(group.organisation))
    with pytest.raises(EnrolmentError, match="not valid"):
        membership_services.enrol_by_link(token=token + "x", user=member)


def test_an_invitation_link_does_not_let_another_organisations_member_in():
    group, _ = facilitated_group()
    outsider = consenting_member(OrganisationFactory())
    with pytest.raises(EnrolmentError):
        membership_services.enrol_by_link(token=membership_services.group_invitation_token(group), user=outsider)
    assert not Membership.objects.exists()


def test_opening_a_recruiting_group_fills_free_places_from_the_waiting_list():
    group, facilitator = facilitated_group(status=GroupStatus.RECRUITING, capacity=1)
    waiting = membership_in(group, MembershipStatus.WAITLISTED)
    group_services.group_set_status(group=group, status=GroupStatus.RUNNING, by=facilitator)
    waiting.refresh_from_db()
    assert waiting.status == MembershipStatus.ACTIVE

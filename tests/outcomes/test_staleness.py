"""Everything the figures are computed from marks them stale: registers, memberships, sessions, group changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from groups.models import GroupFormat, GroupStatus
from groups.services import groups as group_services
from groups.services import membership as membership_services
from outcomes.evaluation import marking, recompute
from outcomes.models import CohortState, FlowSummary, GroupData, GroupDataChange, OutcomeSummary
from outcomes.tasks import sweep_stale_cohorts
from sessions import services as session_services
from sessions.models import Attendance
from tests.factories import GroupSessionFactory, UserFactory, active_member, facilitated_group
from tests.outcomes.test_aggregation import answered

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed_group():
    """A group with figures: three members answered at baseline, one session already held, all fresh."""
    group, facilitator = facilitated_group(format=GroupFormat.STRUCTURED)
    members = [active_member(group) for _ in range(3)]
    for i, m in enumerate(members):
        answered(m, "baseline", 20 + i)
    now = timezone.now().replace(microsecond=0)
    session = GroupSessionFactory(
        group=group, starts_at=now - dt.timedelta(hours=2), ends_at=now - dt.timedelta(hours=1)
    )
    recompute.recompute_all(organisation_id=group.organisation_id)
    assert not CohortState.objects.filter(stale=True).exists()
    return group, facilitator, members, session


def own_flow(group) -> FlowSummary:
    return FlowSummary.objects.get(cohort__dimension="group", cohort__value=str(group.pk))


def test_saving_a_register_refreshes_the_groups_attendance_figures(computed_group, on_commit):
    group, facilitator, members, session = computed_group
    assert own_flow(group).started == 0
    with on_commit():
        session_services.attendance_record(
            session=session, statuses={members[0].pk: "present", members[1].pk: "present"}, by=facilitator
        )
    assert own_flow(group).started == 2  # recomputed after commit (tasks run in-process here)
    assert own_flow(group).dose_n == 3
    organisation_flow = FlowSummary.objects.get(
        cohort__organisation=group.organisation, cohort__dimension="organisation"
    )
    assert organisation_flow.started == 2


def test_a_withdrawal_refreshes_the_flow(computed_group, on_commit):
    group, facilitator, members, _ = computed_group
    with on_commit():
        membership_services.membership_withdraw(membership=members[2], by=facilitator, reason="health")
    flow = own_flow(group)
    assert flow.withdrawn == 1
    assert flow.withdrawal_reasons == {"health": 1}


def test_changing_a_groups_format_moves_it_between_format_cohorts(computed_group, on_commit):
    group, facilitator, _, _ = computed_group
    group.status = GroupStatus.RECRUITING  # the format is fixed once a group runs; baseline comes before that
    group.save(update_fields=["status"])
    recompute.recompute_stale()
    states = CohortState.objects.filter(organisation=group.organisation, dimension="format")
    assert FlowSummary.objects.get(cohort=states.get(value=GroupFormat.STRUCTURED)).enrolled == 3
    with on_commit():
        group_services.group_update(group=group, by=facilitator, format=GroupFormat.UNSTRUCTURED, curriculum=None)
    assert FlowSummary.objects.get(cohort=states.get(value=GroupFormat.UNSTRUCTURED)).enrolled == 3
    assert FlowSummary.objects.get(cohort=states.get(value=GroupFormat.STRUCTURED)).enrolled == 0
    assert not CohortState.objects.filter(stale=True).exists()


def test_a_session_that_starts_later_marks_the_group_stale_at_the_next_sweep(computed_group):
    group, _, _, _ = computed_group
    assert own_flow(group).dose_n == 3
    now = timezone.now()
    later = GroupSessionFactory(group=group, starts_at=now + dt.timedelta(hours=1))
    assert marking.mark_stale_for_sessions_started(now=now) == 0  # not started yet
    assert marking.mark_stale_for_sessions_started(now=later.starts_at + dt.timedelta(minutes=1)) == 1
    assert CohortState.objects.get(dimension="group", value=str(group.pk)).stale


def test_activity_in_a_group_without_figures_creates_no_cohorts(on_commit):
    group, facilitator = facilitated_group()
    member = active_member(group)
    now = timezone.now().replace(microsecond=0)
    session = GroupSessionFactory(
        group=group, starts_at=now - dt.timedelta(hours=2), ends_at=now - dt.timedelta(hours=1)
    )
    with on_commit():
        session_services.attendance_record(session=session, statuses={member.pk: "present"}, by=facilitator)
    assert not CohortState.objects.exists()


# --- Changes that mark nothing as they happen: deletes in the admin, cascades --------------------------


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def admin_delete(client, obj) -> None:
    """Delete ``obj`` through its admin page, confirming, as staff do."""
    meta = obj._meta
    response = client.post(reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk]), {"post": "yes"})
    assert response.status_code == 302, response.content[:2000]
    assert not type(obj).objects.filter(pk=obj.pk).exists()


def organisation_flow(organisation) -> FlowSummary:
    return FlowSummary.objects.get(cohort__organisation=organisation, cohort__dimension="organisation")


def test_attendance_deleted_in_the_admin_leaves_the_figures_at_the_next_sweep(computed_group, staff_client, on_commit):
    group, facilitator, members, session = computed_group
    with on_commit():
        session_services.attendance_record(
            session=session, statuses={members[0].pk: "present", members[1].pk: "present"}, by=facilitator
        )
    assert own_flow(group).started == organisation_flow(group.organisation).started == 2
    admin_delete(staff_client, Attendance.objects.get(session=session, membership=members[0]))
    assert not CohortState.objects.filter(stale=True).exists()  # nothing marked it: the sweep will
    sweep_stale_cohorts()
    assert own_flow(group).started == organisation_flow(group.organisation).started == 1
    assert not CohortState.objects.filter(stale=True).exists()


def test_a_members_account_deleted_leaves_the_figures_at_the_next_sweep(computed_group):
    group, _, members, _ = computed_group
    # Not through the admin, which refuses to delete memberships; as an erasure script would, through the ORM.
    members[2].user.delete()  # cascades: membership, its events, assessment, response
    sweep_stale_cohorts()
    baseline = OutcomeSummary.objects.get(
        cohort__dimension="organisation", scale="total", time_point="baseline", cohort__organisation=group.organisation
    )
    assert (baseline.n, baseline.mean) == (2, 20.5)
    assert own_flow(group).enrolled == organisation_flow(group.organisation).enrolled == 2


def test_a_change_nobody_marked_is_in_the_next_recompute_of_its_organisation_without_a_sweep(
    computed_group, staff_client, on_commit
):
    group, facilitator, members, session = computed_group
    other, _ = facilitated_group(group.organisation)
    answered(active_member(other), "baseline", 30)
    with on_commit():
        session_services.attendance_record(session=session, statuses={members[0].pk: "present"}, by=facilitator)
        marking.mark_stale(other)
    assert own_flow(group).started == 1
    admin_delete(staff_client, Attendance.objects.get(session=session, membership=members[0]))
    with on_commit():  # a submit in the other group: its recompute folds the first group's change and marks it
        answered(active_member(other), "baseline", 31)
        marking.mark_stale(other)
    assert own_flow(group).started == organisation_flow(group.organisation).started == 0
    assert not CohortState.objects.filter(stale=True).exists()


def test_a_member_joining_a_group_without_figures_is_counted_in_the_organisations_flow(computed_group):
    group, _, _, _ = computed_group
    quiet, _ = facilitated_group(group.organisation)  # no answers: no cohort of its own
    active_member(quiet)
    sweep_stale_cohorts()
    assert organisation_flow(group.organisation).enrolled == 4
    assert not CohortState.objects.filter(dimension="group", value=str(quiet.pk)).exists()


def test_the_sweep_folds_the_changes_of_an_organisation_without_figures_and_creates_no_cohort():
    group, _ = facilitated_group()
    for _ in range(3):
        active_member(group)
    assert GroupDataChange.objects.filter(organisation_id=group.organisation_id).count() > 3
    sweep_stale_cohorts()
    assert not GroupDataChange.objects.exists()  # folded: they do not pile up until the first answer
    assert GroupData.objects.get(group=group).generation > 3  # the group's data count as changed all the same
    assert not CohortState.objects.exists()


def test_a_deleted_group_loses_its_cohort_and_leaves_the_organisations_figures(computed_group, on_commit):
    group, _, _, _ = computed_group
    other, _ = facilitated_group(group.organisation)
    answered(active_member(other), "baseline", 40)
    recompute.recompute_all(organisation_id=group.organisation_id)
    assert organisation_flow(group.organisation).enrolled == 4
    with on_commit():
        group.delete()  # through the ORM: the admin refuses while the group has memberships
    assert not CohortState.objects.filter(dimension="group", value=str(group.pk)).exists()
    assert organisation_flow(group.organisation).enrolled == 1  # recomputed after the commit
    baseline = OutcomeSummary.objects.get(
        cohort__dimension="organisation", scale="total", time_point="baseline", cohort__organisation=group.organisation
    )
    assert (baseline.n, baseline.mean) == (1, 40)

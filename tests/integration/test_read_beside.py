"""On PostgreSQL a large read runs its membership, attendance and session queries on a second connection
(``engine.load(beside=True)``), while the first reads the scores. The data and figures must be those of a
read on one connection, the second connection must be closed after, and a recompute inside a caller's
transaction (whose rows another connection cannot see) must not use it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups.services import membership as membership_services
from outcomes.evaluation import engine, recompute
from outcomes.models import ChangeSummary, CohortState, FlowSummary, OutcomeSummary
from sessions import services as session_services
from sessions.models import Attendance
from tests.factories import GroupSessionFactory, active_member, facilitated_group
from tests.outcomes.test_aggregation import answered
from tests.outcomes.test_group_data import assert_same

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def every_read_beside(real_stack, monkeypatch):
    """Reads of any size use the second connection (a real one needs 200 groups)."""
    monkeypatch.setattr(engine.reading, "BESIDE_MIN_GROUPS", 1)


@pytest.fixture
def organisation():
    """Three groups: answers at baseline and post, sessions held and due, attendance, a withdrawal with a reason.
    Gives the organisation and its first group with that group's facilitator."""
    now = timezone.now().replace(microsecond=0)
    organisation = first = None
    for i in range(3):
        group, facilitator = facilitated_group(organisation)
        organisation = group.organisation
        members = [active_member(group) for _ in range(4)]
        for j, member in enumerate(members):
            answered(member, "baseline", 18 + i + 2 * j, subscales={"a": 1.0 + j})
            if j != 1:
                answered(member, "post", 24 - j + i)
        held = now - dt.timedelta(days=2)
        session = GroupSessionFactory(group=group, starts_at=held, ends_at=held + dt.timedelta(hours=1))
        GroupSessionFactory(
            group=group, starts_at=now + dt.timedelta(days=5), ends_at=now + dt.timedelta(days=5, hours=1)
        )
        present = {member.pk: "present" for member in members[: 2 + i % 2]}
        session_services.attendance_record(session=session, statuses=present, by=facilitator)
        membership_services.membership_withdraw(membership=members[-1], by=facilitator, reason="health")
        first = first or (group, facilitator)
    return organisation, first


def backend_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def figures(organisation) -> dict:
    of = {"cohort__organisation": organisation}
    return {
        "outcomes": sorted(OutcomeSummary.objects.filter(**of).values_list("cohort__value", "scale", "time_point",
                                                                            "n", "mean", "sd", "q1", "q3")),
        "changes": sorted(ChangeSummary.objects.filter(**of).values_list("cohort__value", "scale", "n_pairs",
                                                                          "mean_change", "p_wilcoxon", "g_av")),
        "flows": sorted(FlowSummary.objects.filter(**of).values_list("cohort__value", "enrolled", "started",
                                                                      "withdrawn", "withdrawal_reasons", "dose_n")),
    }  # fmt: skip


def test_a_read_beside_equals_a_read_on_one_connection_and_closes_its_connection(every_read_beside, organisation):
    organisation, _ = organisation
    before = backend_connections()
    with CaptureQueriesContext(connection) as on_this_one:
        beside = engine.load(organisation.pk, beside=True)
    assert backend_connections() == before  # the second connection is closed, not left open
    assert not any(Attendance._meta.db_table in query["sql"] for query in on_this_one)  # read on the other
    with CaptureQueriesContext(connection) as on_this_one:
        alone = engine.load(organisation.pk)
    assert any(Attendance._meta.db_table in query["sql"] for query in on_this_one)
    assert_same(beside, alone)
    np.testing.assert_array_equal(beside.next_start, alone.next_start)
    assert beside.m_present.sum() == 7 and (beside.m_status == "withdrawn").sum() == 3  # the data are there
    assert sorted(set(beside.m_reason.tolist())) == ["", "health"]


def test_a_recompute_reads_beside_and_stores_the_figures_of_a_recompute_on_one_connection(
    every_read_beside, organisation
):
    organisation, _ = organisation
    recompute.recompute_all(organisation_id=organisation.pk)  # no caller's transaction: reads beside
    beside = figures(organisation)
    assert len(beside["flows"]) == CohortState.objects.filter(organisation=organisation).count()
    with transaction.atomic():  # a caller's transaction: one connection
        recompute.recompute_all(organisation_id=organisation.pk)
    assert figures(organisation) == beside


def test_inside_a_callers_transaction_a_recompute_sees_its_uncommitted_rows(every_read_beside, organisation):
    organisation, (group, facilitator) = organisation
    recompute.recompute_all(organisation_id=organisation.pk)
    with transaction.atomic():
        joined = active_member(group)
        answered(joined, "baseline", 30)
        membership_services.membership_withdraw(membership=joined, by=facilitator, reason="feeling_better")
        recompute.recompute_all(organisation_id=organisation.pk)  # a second connection would not see them
        whole = FlowSummary.objects.get(cohort__organisation=organisation, cohort__dimension="organisation")
        assert whole.withdrawn == 4 and whole.withdrawal_reasons.get("feeling_better") == 1
        baseline = OutcomeSummary.objects.get(
            cohort__organisation=organisation, cohort__dimension="organisation", scale="total", time_point="baseline"
        )
        assert baseline.n == 13

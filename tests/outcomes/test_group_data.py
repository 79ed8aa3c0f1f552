"""Each group's saved data (outcomes.evaluation.group_data): the large cohorts are computed from them, so they must
never be out of date when used. Every change a group's figures depend on is made here through the code a
user's action runs, and after each the data read through the saved parts must equal a fresh read."""

from __future__ import annotations

import datetime as dt
import math
import time

import numpy as np
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups.models import GroupFormat
from groups.services import membership as membership_services
from outcomes.evaluation import engine, group_data, marking, recompute
from outcomes.models import Assessment, CohortState, GroupData, GroupDataChange, OutcomeSummary, Response
from sessions import services as session_services
from tests.factories import GroupSessionFactory, active_member, facilitated_group
from tests.outcomes.test_aggregation import answered
from tests.sessions.test_schedule import weekly

pytestmark = pytest.mark.django_db


@pytest.fixture
def organisation_with_figures():
    """Four groups (the last without answers) with baseline and post answers and a held session each, computed.
    Gives the organisation and, per group, (group, its facilitator, its three members, its session)."""
    groups = []
    now = timezone.now().replace(microsecond=0)
    organisation = None
    for i in range(4):
        group, facilitator = facilitated_group(
            organisation, format=GroupFormat.UNSTRUCTURED if i % 2 else GroupFormat.STRUCTURED
        )
        organisation = group.organisation
        members = [active_member(group) for _ in range(3)]
        if i < 3:
            for j, m in enumerate(members):
                answered(m, "baseline", 20 + i + j, subscales={"a": 1.0 + j})
                answered(m, "post", 25 + i * j)
        held = now - dt.timedelta(days=1)
        session = GroupSessionFactory(group=group, starts_at=held, ends_at=held + dt.timedelta(hours=1))
        groups.append((group, facilitator, members, session))
    recompute.recompute_all(organisation_id=organisation.pk)
    return organisation, groups


def assert_same(a: engine.Data, b: engine.Data) -> None:
    assert a.group_ids.tolist() == b.group_ids.tolist()
    assert sorted(a.scales) == sorted(b.scales)
    for key in a.scales:
        assert a.scales[key].group_pos.tolist() == b.scales[key].group_pos.tolist(), key
        np.testing.assert_array_equal(a.scales[key].values, b.scales[key].values)  # NaN == NaN here
    for name in ("m_group_pos", "m_enrolled", "m_present", "m_done", "offered"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.m_status.tolist() == b.m_status.tolist()
    assert a.m_reason.tolist() == b.m_reason.tolist()


def current(group) -> bool:
    """Whether the group's saved data are current (saved at the group's present generation)."""
    ((*_, has_row, generation, data_generation, _),) = group_data._generations(group.organisation_id, [group.pk])
    return has_row and data_generation == generation


def read_matches_a_fresh_read(organisation) -> group_data.ReadResult:
    """Read through the saved parts, save what was read afresh, and check it equals a read of everything."""
    result = group_data.read(organisation.pk)
    result.save()
    assert_same(result.data, group_data.read(organisation.pk, fresh=True).data)
    return result


def test_a_payload_round_trips():
    values = np.full((2, len(engine.TIME_POINTS)), math.nan)
    values[0, 0], values[1, 2] = 7.25, -1.5
    done = np.zeros((2, len(engine.TIME_POINTS)), dtype=bool)
    done[0, 0] = True
    piece = group_data.Piece(
        scales={("phq9", "total"): values},
        enrolled=np.array([True, False]),
        status=["active", "withdrawn"],
        reason=[None, "health: “moved” \t\n"],
        present=np.array([3, 0]),
        done=done,
        offered=4,
        next_start=math.nan,
    )
    back = group_data.Piece.decode(piece.encode())
    np.testing.assert_array_equal(back.scales[("phq9", "total")], values)
    assert (back.status, back.reason, back.offered) == (piece.status, piece.reason, 4)
    assert back.enrolled.tolist() == [True, False] and back.present.tolist() == [3, 0]
    assert back.done.tolist() == done.tolist() and math.isnan(back.next_start)
    assert group_data.Piece.decode(b"\x09\x00" + piece.encode()[2:]) is None  # another format: read afresh
    assert group_data.Piece.decode(b"") is None


def test_split_and_join_give_back_the_same_data(organisation_with_figures):
    organisation, _ = organisation_with_figures
    data = engine.load(organisation.pk)
    assert_same(group_data.join(engine.group_info(organisation.pk), group_data.split(data)), data)


def test_a_full_recompute_saves_every_groups_data_and_the_next_read_needs_no_response(organisation_with_figures):
    organisation, groups = organisation_with_figures
    assert all(current(group) for group, *_ in groups)  # the group without answers too
    with CaptureQueriesContext(connection) as queries:
        result = group_data.read(organisation.pk)
    assert result.from_saved == 4 and result.to_save == {}
    assert not any("outcomes_response" in q["sql"] for q in queries.captured_queries)
    assert_same(result.data, engine.load(organisation.pk))


def test_every_change_to_a_groups_data_is_seen_by_the_next_read(organisation_with_figures):
    organisation, groups = organisation_with_figures
    (g0, f0, m0, _), (g1, f1, m1, s1), (g2, f2, m2, _), (g3, f3, m3, s3) = groups
    read_matches_a_fresh_read(organisation)

    changes = [
        (g0, lambda: answered(m0[0], "follow_up_3", 31)),  # a response
        (g1, lambda: session_services.attendance_record(session=s1, statuses={m1[0].pk: "present"}, by=f1)),
        (g2, lambda: membership_services.membership_withdraw(membership=m2[1], by=f2, reason="health")),
        (g3, lambda: session_services.session_cancel(session=s3, by=f3)),  # no longer offered
        (g3, lambda: session_services.schedule_generate(group=g3, rule=weekly(g3, count=2), by=f3)),
        (g0, lambda: Response.objects.filter(assessment__membership=m0[1], assessment__time_point="post").delete()),
        (g1, lambda: Assessment.objects.get(membership=m1[2], time_point="post").delete()),
        (g2, lambda: m2[2].delete()),  # a membership (and its answers) erased
        (g3, lambda: active_member(g3)),  # someone joins the group without answers: the flow changes
    ]
    for group, change in changes:
        with transaction.atomic():  # no recompute follows here (its on-commit job is not run)
            change()
        assert not current(group)
        others = [other for other, *_ in groups if other != group]
        result = read_matches_a_fresh_read(organisation)
        assert result.from_saved == 3 and list(result.to_save) == [group.pk]  # only the changed group re-read
        assert current(group) and all(current(other) for other in others)


def test_the_organisations_figures_follow_changes_through_the_saved_data(organisation_with_figures, on_commit):
    organisation, groups = organisation_with_figures
    (g0, _, m0, _), *_ = groups
    whole = CohortState.objects.get(organisation=organisation, dimension="organisation")
    baseline = OutcomeSummary.objects.get(cohort=whole, scale="total", time_point="baseline")
    assert baseline.n == 9
    with on_commit():
        answered(active_member(g0), "baseline", 40)
        marking.mark_stale(g0)  # as a submit does (tasks run in-process here)
    baseline = OutcomeSummary.objects.get(cohort=whole, scale="total", time_point="baseline")
    assert baseline.n == 10
    assert baseline.mean == pytest.approx(np.mean([20, 21, 22, 21, 22, 23, 22, 23, 24, 40]), abs=1e-12)


def test_a_session_that_starts_after_the_read_makes_the_saved_data_out_of_date(organisation_with_figures):
    organisation, groups = organisation_with_figures
    group = groups[0][0]
    soon = timezone.now() + dt.timedelta(seconds=1)
    GroupSessionFactory(group=group, starts_at=soon, ends_at=soon + dt.timedelta(hours=1))
    first = read_matches_a_fresh_read(organisation)
    position = int(np.searchsorted(first.data.group_ids, group.pk))
    assert first.data.offered[position] == 1 and current(group)
    time.sleep(max(0.0, (soon - timezone.now()).total_seconds()) + 0.05)
    later = read_matches_a_fresh_read(organisation)  # current generation, but a session has started since
    assert list(later.to_save) == [group.pk]
    assert later.data.offered[position] == 2


def test_a_change_after_the_generation_was_read_leaves_the_saved_data_out_of_date(organisation_with_figures):
    organisation, groups = organisation_with_figures
    group, _, members, _ = groups[0]
    answered(members[0], "follow_up_3", 30)
    result = group_data.read(organisation.pk)
    assert list(result.to_save) == [group.pk]
    answered(members[1], "follow_up_3", 33)  # lands after the read: not in ``result``
    result.save()
    assert not current(group)  # stored at the generation it was read at, which has moved on
    read_matches_a_fresh_read(organisation)
    assert current(group)


def test_deleting_a_group_deletes_its_saved_data(organisation_with_figures):
    organisation, groups = organisation_with_figures
    group = groups[1][0]
    assert GroupData.objects.filter(group_id=group.pk).exists()
    group.delete()  # cascades to sessions, memberships and answers, whose receivers bump the row first
    assert not GroupData.objects.filter(group_id=group.pk).exists()
    assert group_data.read(organisation.pk).data.group_ids.size == 3


def test_groups_without_a_row_get_one_when_their_data_are_saved(organisation_with_figures):
    organisation, groups = organisation_with_figures
    GroupData.objects.all().delete()  # as for groups created in bulk, which no receiver saw
    result = group_data.read(organisation.pk)
    assert result.from_saved == 0 and result.save() == 4
    assert all(current(group) for group, *_ in groups)
    assert group_data.read(organisation.pk).from_saved == 4


def test_recomputes_fold_the_change_rows_without_changing_any_generation(organisation_with_figures):
    organisation, groups = organisation_with_figures
    group, _, members, _ = groups[0]
    answered(members[0], "follow_up_3", 31)
    before = {row[0]: row[4] for row in group_data._generations(organisation.pk, None)}
    assert GroupDataChange.objects.filter(organisation_id=organisation.pk).exists()
    assert group_data.fold_changes(organisation.pk) == {group.pk}  # the groups that changed
    assert not GroupDataChange.objects.filter(organisation_id=organisation.pk).exists()
    assert {row[0]: row[4] for row in group_data._generations(organisation.pk, None)} == before
    assert not current(group) and all(current(other) for other, *_ in groups[1:])
    read_matches_a_fresh_read(organisation)
    assert current(group)


def test_an_older_read_never_replaces_a_newer_saved_payload(organisation_with_figures):
    organisation, groups = organisation_with_figures
    group, _, members, _ = groups[0]
    answered(members[0], "follow_up_3", 31)
    older = group_data.read(organisation.pk)
    answered(members[1], "follow_up_3", 32)
    newer = group_data.read(organisation.pk)
    assert newer.save() == 1 and current(group)
    assert older.save() == 0 and current(group)


def test_patching_the_groups_that_changed_into_the_last_join_equals_joining_every_group(organisation_with_figures):
    organisation, groups = organisation_with_figures
    (g0, _, m0, _), (g1, _, m1, _), (g2, _, m2, _), (g3, _, _, _) = groups
    info = engine.group_info(organisation.pk)
    before = group_data.split(engine.load(organisation.pk))
    answered(m0[0], "follow_up_3", 31, code="phq9")  # a scale no group had
    Response.objects.filter(assessment__membership__in=m1).delete()  # a group's every answer: scales vanish there
    m2[2].delete()  # a member fewer
    active_member(g3)  # a member more, in the group without answers
    after = group_data.split(engine.load(organisation.pk))
    positions = {pk: i for i, (pk, _, _) in enumerate(info)}
    changed = {positions[group.pk]: after[group.pk] for group in (g0, g1, g2, g3)}
    assert_same(group_data.patch(group_data.join(info, before), changed), group_data.join(info, after))
    one = {positions[g2.pk]: after[g2.pk]}
    assert_same(
        group_data.patch(group_data.join(info, before), one), group_data.join(info, {**before, g2.pk: after[g2.pk]})
    )


def test_a_worker_patches_its_last_join_and_gives_the_same_data_as_a_fresh_read(organisation_with_figures):
    organisation, groups = organisation_with_figures
    group, _, members, _ = groups[2]
    read_matches_a_fresh_read(organisation)
    answered(members[0], "follow_up_3", 30)
    result = read_matches_a_fresh_read(organisation)  # joined by patching the previous join (one group changed)
    assert list(result.to_save) == [group.pk] and result.from_saved == 3

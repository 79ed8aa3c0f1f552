"""The engine's fast paths give what its general paths give: the figures of every single-group cohort are
computed for all groups at once (samples split at group boundaries, flows by ``bincount``), and on PostgreSQL
the rows are read as packed binary numbers. Each is checked here against the one-cohort-at-a-time code (or
numpy itself) on data built to hold the edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from groups.models import MembershipStatus
from outcomes.evaluation import engine
from outcomes.models import Response, TimePoint
from tests.factories import active_member, facilitated_group
from tests.outcomes.test_aggregation import answered

STATUSES = [MembershipStatus.ACTIVE, MembershipStatus.COMPLETED, MembershipStatus.WITHDRAWN, MembershipStatus.INVITED]
REASONS = ["", "time_or_place", "felt_better", "other"]


def synthetic(seed: int, groups: int = 40) -> engine.Data:
    """Groups of 0 to 12 members (some with no members at all, some offered no session), random statuses,
    reasons, attendance, assessments and scores with gaps: ``load``'s shapes, without a database."""
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(np.arange(1, 10 * groups), groups, replace=False)).astype(np.int64)
    data = engine.empty([(int(pk), f"Group {pk}", "structured" if pk % 2 else "unstructured") for pk in ids])
    sizes = rng.integers(0, 13, groups)
    sizes[::7] = 0
    group_pos = np.repeat(np.arange(groups), sizes)
    m = group_pos.size
    data.m_group_pos = group_pos
    data.m_status = np.array(rng.choice(STATUSES, m), dtype=object)
    data.m_reason = np.array(
        [rng.choice(REASONS) if s == MembershipStatus.WITHDRAWN else "" for s in data.m_status], dtype=object
    )
    data.m_enrolled = np.isin(data.m_status, STATUSES[:3]) | (rng.random(m) < 0.1)
    data.offered = rng.integers(0, 9, groups)
    data.offered[::5] = 0
    data.m_present = rng.integers(0, 11, m)  # sometimes more than offered (a session since cancelled)
    data.m_done = rng.random((m, len(engine.TIME_POINTS))) < 0.5
    data.next_start = np.full(groups, np.nan)
    for code in ("phq9", "gad7"):
        rows = np.flatnonzero(rng.random(m) < 0.8)
        values = rng.integers(0, 27, (rows.size, len(engine.TIME_POINTS))).astype(float)
        values[rng.random(values.shape) < 0.45] = np.nan
        data.scales[(code, "total")] = engine.Scale(group_pos=group_pos[rows], values=values)
    return data


def one_cohort_each(data: engine.Data):
    """A pretend cohort per group (pk = 1000 + position) and the group positions of each."""

    class State:
        def __init__(self, pk):
            self.pk, self.dimension = pk, "group"

    return [(State(1000 + p), np.array([p])) for p in range(data.group_ids.size)]


def by_key(keys, *columns):
    return {key: tuple(c[i].tolist() for c in columns) for i, key in enumerate(keys)}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_groups_samples_split_at_once_equal_each_groups_own(seed):
    data = synthetic(seed)
    cohorts = one_cohort_each(data)
    single = {int(pos[0]): [state.pk] for state, pos in cohorts}
    (fast_keys, fast_values), (fast_pairs, fast_pre, fast_post) = engine.samples(data, single, [])
    (keys, values), (pair_keys, pres, posts) = engine.samples(data, {}, cohorts)
    assert by_key(fast_keys, fast_values) == by_key(keys, values)
    assert by_key(fast_pairs, fast_pre, fast_post) == by_key(pair_keys, pres, posts)
    assert len(fast_keys) == len(keys) > 0 and len(fast_pairs) == len(pair_keys) > 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_groups_flow_counted_at_once_equals_each_groups_own(seed):
    data = synthetic(seed)
    flows = engine._flows_by_group(data)
    for position in range(data.group_ids.size):
        one = engine.participant_flow(data, np.array([position]))
        if position not in flows:  # no members
            assert one["enrolled"] == 0 and not np.any(data.m_group_pos == position)
            continue
        assert flows[position] == one, position
    assert any(flow["dose_n"] for flow in flows.values()) and any(flow["withdrawal_reasons"] for flow in flows.values())


def test_quartiles_by_group_are_numpys_linear_percentiles_exactly():
    rng = np.random.default_rng(4)
    group = np.repeat(np.arange(30), rng.integers(0, 9, 30))
    values = rng.integers(0, 7, group.size) / rng.integers(1, 8, group.size)  # ties and awkward fractions
    q1, median, q3 = engine._quartiles_by_group(values, group, 31)
    for g in range(31):
        mine = values[group == g]
        if not mine.size:
            assert np.isnan([q1[g], median[g], q3[g]]).all()
            continue
        assert [q1[g], median[g], q3[g]] == np.percentile(mine, [25, 50, 75], method="linear").tolist()


@pytest.mark.django_db
def test_fetch_numbers_gives_numbers_nan_for_null_and_positions_for_text():
    group, _ = facilitated_group()
    first, second = active_member(group), active_member(group)
    answered(first, TimePoint.BASELINE, 12.5)
    answered(second, TimePoint.POST, None, code="unknown-code")
    rows = Response.objects.filter(assessment__membership__group=group).values_list(
        "assessment__membership_id", "assessment__time_point", "instrument_code", "total"
    )
    table = engine.fetch_numbers(rows, texts={1: engine.TIME_POINTS, 2: ["phq9", "wemwbs"]})
    found = sorted(map(tuple, table.tolist()), key=lambda row: row[0])
    post = engine.TIME_POINTS.index(TimePoint.POST) + 1
    assert found[0] == (first.pk, 1.0, 2.0, 12.5)
    assert found[1][:3] == (second.pk, post, 0.0) and np.isnan(found[1][3])
    assert engine.fetch_numbers(rows.filter(pk=-1)).shape == (0, 4)

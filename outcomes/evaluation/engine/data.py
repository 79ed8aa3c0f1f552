"""The data the figures are computed from: one organisation's groups, their members' scores and flow, as numpy
arrays ordered by group, so the members of a group are one slice and the members of any cohort a boolean mask.
``reading`` fills them from the database, ``computing`` makes the figures from them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from outcomes.models import (
    TimePoint,
)

CHANGE_PAIRS = [
    (TimePoint.BASELINE, TimePoint.POST),
    (TimePoint.BASELINE, TimePoint.FOLLOW_UP_3),
    (TimePoint.BASELINE, TimePoint.FOLLOW_UP_6),
    (TimePoint.BASELINE, TimePoint.FOLLOW_UP_12),
]
TIME_POINTS = [value for value, _ in TimePoint.choices]
_TP_INDEX = {tp: i for i, tp in enumerate(TIME_POINTS)}


@dataclass
class Scale:
    """One instrument scale: a row per membership with a score, a column per time point (NaN = none)."""

    group_pos: np.ndarray  # position of each row's group in Data.group_ids (rows sorted by it)
    values: np.ndarray  # rows × time points


@dataclass
class Data:
    group_ids: np.ndarray  # sorted group pks
    group_names: dict[int, str]
    group_format: dict[int, str]
    scales: dict[tuple[str, str], Scale] = field(default_factory=dict)
    # memberships, sorted by group position
    m_group_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    m_enrolled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    m_status: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    m_reason: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    m_present: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    m_done: np.ndarray = field(default_factory=lambda: np.zeros((0, len(TIME_POINTS)), dtype=bool))
    offered: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # per group position
    # per group position: when its next session starts (POSIX seconds, NaN if none is due), after which
    # ``offered`` is out of date
    next_start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))

    def positions(self, group_ids) -> np.ndarray:
        if len(group_ids) == 1:  # a group's own cohort: thousands of them in a full recompute
            (pk,) = group_ids
            at = int(np.searchsorted(self.group_ids, pk))
            found = at < self.group_ids.size and self.group_ids[at] == pk
            return np.array([at] if found else [], dtype=np.int64)
        ids = np.fromiter(group_ids, dtype=np.int64)
        pos = np.searchsorted(self.group_ids, ids)
        keep = (pos < self.group_ids.size) & (self.group_ids[np.minimum(pos, self.group_ids.size - 1)] == ids)
        return np.unique(pos[keep])


def empty(info: list[tuple[int, str, str]]) -> Data:
    """A ``Data`` of these groups with nothing loaded yet."""
    return Data(
        group_ids=np.array([pk for pk, _, _ in info], dtype=np.int64),
        group_names={pk: name for pk, name, _ in info},
        group_format={pk: fmt for pk, _, fmt in info},
    )

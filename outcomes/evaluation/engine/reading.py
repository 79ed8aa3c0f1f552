"""Reading from the database what the figures of a set of groups need, in a handful of queries (no query per
cohort, member or response), into a ``Data``."""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Min, Q
from django.db.models.fields.json import KT
from django.utils import timezone

from groups.models import Membership, MembershipEvent, MembershipStatus, SupportGroup
from outcomes.evaluation.engine.data import _TP_INDEX, TIME_POINTS, Data, Scale, empty
from outcomes.instruments import registry
from outcomes.models import (
    Assessment,
    AssessmentStatus,
    Response,
)
from sessions.models import Attendance, AttendanceStatus, GroupSession, SessionStatus


def group_info(organisation_id: int, group_ids: list[int] | None = None) -> list[tuple[int, str, str]]:
    """(pk, name, format) of these groups (all the organisation's when None), by pk."""
    groups = SupportGroup.objects.filter(organisation_id=organisation_id)
    if group_ids is not None:
        groups = groups.filter(pk__in=group_ids)
    return sorted(groups.values_list("pk", "name", "format"))


# Below this many groups a read is quick, and a second connection would cost more than it saves.
BESIDE_MIN_GROUPS = 200


def load(organisation_id: int, group_ids: list[int] | None = None, *, info=None, beside: bool = False) -> Data:
    """Everything the figures of these groups (all the organisation's when None) are computed from.

    ``beside``: on PostgreSQL, a read of many groups reads the memberships, attendance and sessions on a second
    connection, in a thread, while this one reads the scores (the database works on both at once). Only for a
    caller whose data are all committed: the second connection cannot see this one's uncommitted rows.
    """
    data = empty(group_info(organisation_id, group_ids) if info is None else info)
    if data.group_ids.size:

        def where(prefix: str = "") -> Q:
            """These groups, seen from a model ``prefix`` away from Membership (e.g. ``membership__``)."""
            q = Q(**{f"{prefix}group__organisation_id": organisation_id})
            return q & Q(**{f"{prefix}group_id__in": group_ids}) if group_ids is not None else q

        if beside and connection.vendor == "postgresql" and data.group_ids.size >= BESIDE_MIN_GROUPS:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outcomes-read") as executor:
                flow = executor.submit(_on_own_connection, _load_flow, data, where)
                _load_scores(data, where("assessment__membership__"))
                flow.result()
        else:
            _load_scores(data, where("assessment__membership__"))
            _load_flow(data, where)
    return data


def _on_own_connection(function, *args):
    """``function(*args)`` in one read-only, repeatable-read transaction on this thread's own connection, which is
    closed after (a thread's connection is its own in Django)."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return function(*args)
    finally:
        connection.close()


def _load_scores(data: Data, in_groups: Q) -> None:
    responses = Response.objects.filter(in_groups, submitted_at__isnull=False)
    definitions = registry.installed()
    codes = sorted({code for code, _ in definitions})
    with_subscales = {code for (code, _), defn in definitions.items() if defn.subscales}
    # One response per assessment and instrument (a constraint), so no two rows share a cell; no order needed.
    table = fetch_numbers(
        responses.values_list(
            "assessment__membership_id",
            "assessment__membership__group_id",
            "assessment__time_point",
            "instrument_code",
            "total",
        ),
        texts={2: TIME_POINTS, 3: codes},
    )
    cells: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    scored = (table[:, 2] > 0) & ~np.isnan(table[:, 4])
    for number in np.unique(table[scored, 3]).astype(np.int64).tolist():
        if number:  # 0: an instrument no definition knows, read below
            chosen = table[scored & (table[:, 3] == number)]
            chosen[:, 2] -= 1  # time point positions count from 1 in the table
            cells[(codes[number - 1], "total")].append(chosen[:, [0, 1, 2, 4]])
    # Subscale scores are in each response's scores JSON: read them as text, only for instruments that have
    # them (and everything of an instrument no definition knows).
    found = {codes[n - 1] if n else None for n in np.unique(table[:, 3]).astype(np.int64).tolist()}
    if found & with_subscales or None in found:
        others = responses.filter(Q(instrument_code__in=sorted(with_subscales)) | ~Q(instrument_code__in=codes))
        _text_score_cells(others, known=set(codes), cells=cells)
    width = len(TIME_POINTS)
    for key, parts in cells.items():
        table = np.concatenate(parts)
        membership_a, tps = table[:, 0].astype(np.int64), table[:, 2].astype(np.int64)
        group_pos = np.searchsorted(data.group_ids, table[:, 1].astype(np.int64))
        # Rows ordered by group, one per membership (a membership is in one group, so its responses are
        # adjacent once sorted); each (membership, time point) has at most one response (constraints).
        order = np.lexsort((membership_a, group_pos))
        sorted_members = membership_a[order]
        starts = np.r_[True, sorted_members[1:] != sorted_members[:-1]]
        row = np.cumsum(starts) - 1
        matrix = np.full((int(row[-1]) + 1, width), np.nan)
        matrix[row, tps[order]] = table[order, 3]
        data.scales[key] = Scale(group_pos=group_pos[order][starts], values=matrix)


def _text_score_cells(responses, *, known: set[str], cells: dict) -> None:
    """Add the subscale scores of these responses to ``cells`` (and the totals of instruments not ``known``)."""
    rows = responses.values_list(
        "assessment__membership_id",
        "assessment__membership__group_id",
        "assessment__time_point",
        "instrument_code",
        "total",
        KT("scores__subscales"),
    )
    found: dict[tuple[str, str], list[tuple[int, int, int, float]]] = defaultdict(list)
    for membership, group, time_point, code, total, subscales in fetch_rows(rows):
        tp = _TP_INDEX.get(time_point)
        if tp is None:
            continue
        if total is not None and code not in known:
            found[(code, "total")].append((membership, group, tp, total))
        if subscales and subscales not in ("{}", "null"):
            for name, value in json.loads(subscales).items():
                if value is not None:
                    found[(code, name)].append((membership, group, tp, value))
    for key, values in found.items():
        cells[key].append(np.array(values, dtype=np.float64))  # ids are far below 2**53, so exact as floats


def fetch_rows(queryset, size: int = 20_000):
    """The rows of a ``values_list`` queryset of plain columns, without Django's per-row conversion.

    Reading half a million responses through ``QuerySet.iterator`` costs ~10 s, through the cursor ~2.5 s.
    The queryset still writes the SQL; only columns that need no ``from_db_value`` may be selected.
    """
    sql, params = queryset.order_by().query.sql_with_params()  # unordered: a model's default order adds columns
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(size):
            yield from chunk


def _load_flow(data: Data, where) -> None:
    statuses = list(MembershipStatus.values)
    members = fetch_numbers(
        Membership.objects.filter(where()).values_list("group_id", "pk", "status"), texts={2: statuses}
    ).astype(np.int64)
    order = np.lexsort((members[:, 1], members[:, 0]))
    members = members[order]
    pks = members[:, 1]
    data.m_group_pos = np.searchsorted(data.group_ids, members[:, 0])
    data.m_status = np.array([None, *statuses], dtype=object)[members[:, 2]]
    unknown = np.flatnonzero(members[:, 2] == 0)
    if unknown.size:  # a status the code does not know (kept as it is, counted nowhere)
        found = dict(Membership.objects.filter(pk__in=pks[unknown].tolist()).values_list("pk", "status"))
        data.m_status[unknown] = [found.get(pk) for pk in pks[unknown].tolist()]
    data.m_reason = np.full(pks.size, "", dtype=object)
    by_pk = np.argsort(pks)

    def rows_of(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the row of each of ``ids`` found among the memberships, which of ``ids`` were found)."""
        if not pks.size:
            return np.zeros(0, dtype=np.int64), np.zeros(ids.size, dtype=bool)
        at = by_pk[np.minimum(np.searchsorted(pks, ids, sorter=by_pk), pks.size - 1)]
        hit = pks[at] == ids
        return at[hit], hit

    given = Membership.objects.filter(where()).exclude(withdrawal_reason="")
    reasons = dict(fetch_rows(given.values_list("pk", "withdrawal_reason")))
    if reasons:
        rows, hit = rows_of(np.fromiter(reasons, dtype=np.int64))
        data.m_reason[rows] = np.array(list(reasons.values()), dtype=object)[hit]

    enrolled = np.isin(data.m_status, [MembershipStatus.ACTIVE, MembershipStatus.COMPLETED])
    ever_active = MembershipEvent.objects.filter(where("membership__"), to_status=MembershipStatus.ACTIVE)
    rows, _ = rows_of(fetch_numbers(ever_active.values_list("membership_id").distinct())[:, 0].astype(np.int64))
    enrolled[rows] = True
    data.m_enrolled = enrolled

    data.m_present = np.zeros(pks.size, dtype=np.int64)
    present = fetch_numbers(
        Attendance.objects.filter(where("membership__"), status=AttendanceStatus.PRESENT)
        .values("membership_id")
        .annotate(n=Count("pk"))
        .values_list("membership_id", "n")
    ).astype(np.int64)
    rows, hit = rows_of(present[:, 0])
    data.m_present[rows] = present[hit, 1]

    data.offered = np.zeros(data.group_ids.size, dtype=np.int64)
    data.next_start = np.full(data.group_ids.size, np.nan)
    now = timezone.now()
    offered = (
        GroupSession.objects.filter(where())
        .exclude(status=SessionStatus.CANCELLED)
        .values("group_id")
        .annotate(n=Count("pk", filter=Q(starts_at__lte=now)), next_start=Min("starts_at", filter=Q(starts_at__gt=now)))
        .values_list("group_id", "n", "next_start")
    )
    for group_id, n, next_start in offered:
        position = np.searchsorted(data.group_ids, group_id)
        data.offered[position] = n
        if next_start is not None:
            data.next_start[position] = next_start.timestamp()

    data.m_done = np.zeros((pks.size, len(TIME_POINTS)), dtype=bool)
    done = fetch_numbers(
        Assessment.objects.filter(where("membership__"), status=AssessmentStatus.COMPLETED)
        .values_list("membership_id", "time_point")
        .distinct(),
        texts={1: TIME_POINTS},
    ).astype(np.int64)
    done = done[done[:, 1] > 0]
    rows, hit = rows_of(done[:, 0])
    data.m_done[rows, done[hit, 1] - 1] = True


def fetch_numbers(queryset, texts: dict[int, list[str]] | None = None) -> np.ndarray:
    """The rows of a ``values_list`` queryset of plain columns as one float64 array (a column per field), NULL
    as NaN. A column in ``texts`` holds text and comes back as its position in ``texts[column]``, counted from 1
    (0: not in it). Ids and counts are exact as floats (far below 2**53). Rows come in no particular order.

    On PostgreSQL the server packs every row into one ``bytea`` (``float8send``: 8 big-endian bytes a value)
    that numpy reads in one step: read row by row into Python tuples, the 950,000 rows of a large
    organisation's recompute took seconds. The packed value may not exceed PostgreSQL's 1 GB, 25 million
    rows of five columns.
    """
    texts = texts or {}
    width = len(queryset._fields)
    if connection.vendor != "postgresql":
        lookup = {column: {text: n for n, text in enumerate(values, 1)} for column, values in texts.items()}
        rows = [
            [lookup[i].get(value, 0) if i in lookup else value for i, value in enumerate(row)]
            for row in fetch_rows(queryset)
        ]
        return np.array(rows, dtype=np.float64).reshape(len(rows), width)  # None → NaN
    inner, params = queryset.order_by().query.sql_with_params()
    columns = [f"c{i}" for i in range(width)]

    def position(column: str, values: list[str]) -> str:  # a CASE: cheaper per row than array_position
        whens = " ".join(f"WHEN %s THEN {n}" for n in range(1, len(values) + 1))
        return f"CASE {column}::text {whens} ELSE 0 END" if values else "0"

    packed = " || ".join(
        f"float8send({position(column, texts[i])})" if i in texts else f"float8send(coalesce({column}::float8, 'NaN'))"
        for i, column in enumerate(columns)
    )
    # Only the ORM's SQL (its values are in ``params``) and names made here; the texts go as parameters.
    statement = f"SELECT string_agg({packed}, ''::bytea) FROM ({inner}) AS rows ({', '.join(columns)})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(statement, [*(text for i in range(width) if i in texts for text in texts[i]), *params])
        (value,) = cursor.fetchone()
    return np.frombuffer(value or b"", dtype=">f8").astype(np.float64).reshape(-1, width)

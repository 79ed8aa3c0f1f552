"""Each group's data, saved from the last read, so large cohorts are computed without reading every response.

A recompute of an organisation's large cohorts (the organisation, each format,
delivery mode, audience…) needs every member's scores, which means reading
every response of the organisation: seconds at 100,000 members. Between two
recomputes only a few groups change. So ``read`` takes each group's part of
``engine.Data`` from its ``GroupData`` row (one small binary payload per group)
when that is still current, reads only the other groups from the database, and
``ReadResult.save`` stores those groups' parts for next time.

Current means: the group's generation is the one the payload was read at, and
no session of the group has started since (that changes the sessions offered).
A group's generation counts the changes to what its figures are computed from:
anything that changes it appends a ``GroupDataChange`` row in the same
transaction as the change (``invalidate``, called by the receivers in
``outcomes.signals``), and the generation is ``GroupData.generation`` plus
those rows (recomputes fold them in, ``fold_changes``). The generations are
read (in one statement) before the data, so a change that commits after that
leaves the payload out of date rather than wrong. Appending waits for nobody,
so a change never waits for another change here (an import touching many groups
and a submit in one of them would otherwise lock rows in opposite orders).

Saving never waits for a row another transaction holds, so a recompute never
holds up a submit. ``recompute_all`` reads everything afresh and saves every
group's part.
"""

from __future__ import annotations

import json
import math
import struct
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

import numpy as np
import psycopg
from django.db import OperationalError, connection, transaction
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from groups.models import Membership, SupportGroup
from outcomes.evaluation import engine
from outcomes.evaluation.engine import TIME_POINTS, Data, Scale
from outcomes.models import Assessment, GroupData, GroupDataChange

FORMAT = 1  # of the payload; a payload of another format is read afresh
_WIDTH = len(TIME_POINTS)
_HEADER = struct.Struct("<HI")  # format, length of the JSON part


@dataclass
class Piece:
    """One group's part of ``engine.Data``: its rows of every scale and its memberships, in ``load``'s order."""

    scales: dict[tuple[str, str], np.ndarray]  # rows × time points
    enrolled: np.ndarray  # bool, per membership
    status: list[str]
    reason: list[str | None]
    present: np.ndarray  # int64
    done: np.ndarray  # bool, memberships × time points
    offered: int
    next_start: float  # POSIX seconds, NaN if no session is due

    def encode(self) -> bytes:
        keys = sorted(self.scales)
        head = json.dumps(
            {
                "scales": [[code, name, int(self.scales[(code, name)].shape[0])] for code, name in keys],
                "status": self.status,
                "reason": self.reason,
                "offered": self.offered,
                "next_start": None if math.isnan(self.next_start) else self.next_start,
            },
            separators=(",", ":"),
        ).encode()
        parts = [_HEADER.pack(FORMAT, len(head)), head]
        parts += [np.ascontiguousarray(self.scales[key], dtype="<f8").tobytes() for key in keys]
        parts += [
            self.enrolled.astype(np.uint8).tobytes(),
            np.ascontiguousarray(self.present, dtype="<i8").tobytes(),
            self.done.astype(np.uint8).tobytes(),
        ]
        return b"".join(parts)

    @classmethod
    def decode(cls, payload: bytes) -> Piece | None:
        """The piece in ``payload``, or None if it was written in another format."""
        view = memoryview(payload)
        if len(view) < _HEADER.size:
            return None
        version, length = _HEADER.unpack_from(view)
        if version != FORMAT:
            return None
        at = _HEADER.size + length
        head = json.loads(bytes(view[_HEADER.size : at]))

        def take(dtype, count: int) -> np.ndarray:
            nonlocal at
            size = np.dtype(dtype).itemsize * count
            array = np.frombuffer(view[at : at + size], dtype=dtype)
            at += size
            return array

        scales = {}
        for code, name, rows in head["scales"]:
            scales[(code, name)] = take("<f8", rows * _WIDTH).reshape(rows, _WIDTH)
        n = len(head["status"])
        next_start = head["next_start"]
        return cls(  # read-only views of the payload (``join`` copies them)
            scales=scales,
            enrolled=take(np.bool_, n),
            status=head["status"],
            reason=head["reason"],
            present=take("<i8", n),
            done=take(np.bool_, n * _WIDTH).reshape(n, _WIDTH),
            offered=int(head["offered"]),
            next_start=math.nan if next_start is None else float(next_start),
        )


def split(data: Data) -> dict[int, Piece]:
    """Each group's part of ``data``."""
    pieces = {}
    bounds = {key: _bounds(scale.group_pos, data.group_ids.size) for key, scale in data.scales.items()}
    member_bounds = _bounds(data.m_group_pos, data.group_ids.size)
    for position, group_id in enumerate(data.group_ids.tolist()):
        start, stop = member_bounds[position], member_bounds[position + 1]
        scales = {}
        for key, scale in data.scales.items():
            lo, hi = bounds[key][position], bounds[key][position + 1]
            if hi > lo:
                scales[key] = scale.values[lo:hi]
        pieces[group_id] = Piece(
            scales=scales,
            enrolled=data.m_enrolled[start:stop],
            status=data.m_status[start:stop].tolist(),
            reason=data.m_reason[start:stop].tolist(),
            present=data.m_present[start:stop],
            done=data.m_done[start:stop],
            offered=int(data.offered[position]),
            next_start=float(data.next_start[position]),
        )
    return pieces


def _bounds(group_pos: np.ndarray, groups: int) -> list[int]:
    """Where each group position's rows start in ``group_pos`` (sorted), and where the last ends."""
    return np.searchsorted(group_pos, np.arange(groups + 1), "left").tolist()


def join(info: list[tuple[int, str, str]], pieces: dict[int, Piece]) -> Data:
    """The ``Data`` of the groups in ``info`` (as ``engine.group_info`` gives them) from their pieces."""
    data = engine.empty(info)
    chosen = [pieces[pk] for pk, _, _ in info]
    keys = sorted({key for piece in chosen for key in piece.scales})
    for key in keys:
        blocks = [(position, piece.scales[key]) for position, piece in enumerate(chosen) if key in piece.scales]
        data.scales[key] = Scale(
            group_pos=np.repeat(
                np.array([p for p, _ in blocks], dtype=np.int64), [block.shape[0] for _, block in blocks]
            ),
            values=np.concatenate([block for _, block in blocks]),
        )
    sizes = [len(piece.status) for piece in chosen]
    data.m_group_pos = np.repeat(np.arange(len(chosen), dtype=np.int64), sizes)
    if chosen:
        data.m_enrolled = np.concatenate([piece.enrolled for piece in chosen])
        data.m_status = _objects([s for piece in chosen for s in piece.status])
        data.m_reason = _objects([r for piece in chosen for r in piece.reason])
        data.m_present = np.concatenate([piece.present for piece in chosen])
        data.m_done = np.concatenate([piece.done for piece in chosen]).reshape(-1, _WIDTH)
    data.offered = np.array([piece.offered for piece in chosen], dtype=np.int64)
    data.next_start = np.array([piece.next_start for piece in chosen], dtype=np.float64)
    return data


# The last join of all of each organisation's groups this worker made, with the pieces it was made of: the
# next recompute usually differs in a few groups, whose rows are swapped in rather than every group joined again.
_joined: OrderedDict[int, tuple[list, dict[int, Piece], Data]] = OrderedDict()
JOINED_LIMIT = 4  # organisations
PATCH_LIMIT = 64  # changed groups; beyond that a full join is as quick


def _join(organisation_id: int, group_ids, info: list[tuple[int, str, str]], pieces: dict[int, Piece]) -> Data:
    """``join(info, pieces)``; of every group of the organisation (``group_ids`` None), by patching this
    organisation's previous join when only a few groups changed."""
    if group_ids is not None:
        return join(info, pieces)
    previous = _joined.get(organisation_id)
    data = None
    if previous is not None and previous[0] == info:
        old_pieces, old = previous[1], previous[2]
        changed = [i for i, (pk, _, _) in enumerate(info) if pieces[pk] is not old_pieces.get(pk)]
        if len(changed) <= PATCH_LIMIT:
            data = patch(old, {i: pieces[info[i][0]] for i in changed}) if changed else old
    if data is None:
        data = join(info, pieces)
    _joined[organisation_id] = (info, dict(pieces), data)
    _joined.move_to_end(organisation_id)
    while len(_joined) > JOINED_LIMIT:
        _joined.popitem(last=False)
    return data


def patch(data: Data, replaced: dict[int, Piece]) -> Data:
    """A new ``Data`` equal to ``data`` with the groups at these positions (of ``data.group_ids``) given by
    new pieces: ``join`` of every piece, without touching the groups that did not change."""
    positions = sorted(replaced)
    result = engine.empty([(pk, data.group_names[pk], data.group_format[pk]) for pk in data.group_ids.tolist()])
    keys = sorted(set(data.scales) | {key for piece in replaced.values() for key in piece.scales})
    for key in keys:
        scale = data.scales.get(key)
        old_pos = scale.group_pos if scale is not None else np.zeros(0, dtype=np.int64)
        old_values = scale.values if scale is not None else np.zeros((0, _WIDTH))
        blocks = {p: replaced[p].scales.get(key, np.zeros((0, _WIDTH))) for p in positions}
        group_pos, (values,) = _spliced(
            old_pos, positions, {p: b.shape[0] for p, b in blocks.items()}, [(old_values, blocks)]
        )
        if group_pos.size:
            result.scales[key] = Scale(group_pos=group_pos, values=values)
    sizes = {p: len(replaced[p].status) for p in positions}
    members = [
        (data.m_enrolled, {p: replaced[p].enrolled for p in positions}),
        (data.m_status, {p: _objects(replaced[p].status) for p in positions}),
        (data.m_reason, {p: _objects(replaced[p].reason) for p in positions}),
        (data.m_present, {p: replaced[p].present for p in positions}),
        (data.m_done, {p: replaced[p].done for p in positions}),
    ]
    result.m_group_pos, (
        result.m_enrolled, result.m_status, result.m_reason, result.m_present, result.m_done
    ) = _spliced(data.m_group_pos, positions, sizes, members)  # fmt: skip
    result.offered, result.next_start = data.offered.copy(), data.next_start.copy()
    for p in positions:
        result.offered[p], result.next_start[p] = replaced[p].offered, replaced[p].next_start
    return result


def _spliced(group_pos: np.ndarray, positions: list[int], sizes: dict[int, int], columns: list[tuple]):
    """Rows sorted by group position with the rows of the groups at ``positions`` replaced: the new group
    positions, and for each (old array, {position: new rows}) in ``columns`` the new array."""
    bounds = [(np.searchsorted(group_pos, p, "left"), np.searchsorted(group_pos, p, "right")) for p in positions]
    cuts = [0, *(edge for lo_hi in bounds for edge in lo_hi), group_pos.size]
    new_pos = []
    for i, p in enumerate(positions):
        new_pos += [group_pos[cuts[2 * i] : cuts[2 * i + 1]], np.full(sizes[p], p, dtype=np.int64)]
    new_pos.append(group_pos[cuts[-2] : cuts[-1]])
    arrays = []
    for old, new in columns:
        parts = []
        for i, p in enumerate(positions):
            parts += [old[cuts[2 * i] : cuts[2 * i + 1]], new[p]]
        parts.append(old[cuts[-2] : cuts[-1]])
        arrays.append(np.concatenate(parts))
    return np.concatenate(new_pos), arrays


def _objects(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


@dataclass
class ReadResult:
    data: Data
    organisation_id: int
    read_at: object
    to_save: dict[int, Piece] = field(default_factory=dict)  # groups read afresh
    generations: dict[int, int] = field(default_factory=dict)  # of the groups read afresh, as before the read
    without_row: set[int] = field(default_factory=set)  # groups read afresh that have no GroupData row yet
    from_saved: int = 0  # groups whose saved data were used

    def save(self) -> int:
        """Store the parts of the groups read afresh, for the next ``read``. Returns how many were stored."""
        return _save(self.organisation_id, self.to_save, self.generations, self.without_row, self.read_at)


def _generations(organisation_id: int, group_ids: list[int] | None):
    """(group, name, format, has a row, generation, data generation, read at) of each group by pk, in one
    statement (one snapshot of the rows and the changes). ``read at`` is text (as ``_pieces`` reads it too): it is
    only compared, and parsing 5,000 timestamps took a tenth of a second of every recompute."""
    only = "AND g.id IN ({})".format(", ".join(["%s"] * len(group_ids))) if group_ids is not None else ""
    sql = f"""
        SELECT g.id, g.name, g.format, d.group_id IS NOT NULL, COALESCE(d.generation, 0) + COALESCE(c.n, 0),
               d.data_generation, CAST(d.read_at AS text)
          FROM {SupportGroup._meta.db_table} g
          LEFT JOIN {GroupData._meta.db_table} d ON d.group_id = g.id
          LEFT JOIN (
              SELECT group_id, COUNT(*) AS n FROM {GroupDataChange._meta.db_table}
               WHERE organisation_id = %s GROUP BY group_id
          ) c ON c.group_id = g.id
         WHERE g.organisation_id = %s {only}
         ORDER BY g.id
    """  # noqa: S608 - table names are ours; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [organisation_id, organisation_id, *(group_ids or [])])
        return cursor.fetchall()


def fold_changes(organisation_id: int) -> set[int]:
    """Fold the organisation's change rows into its groups' ``GroupData.generation`` (the sum stays the same),
    in the caller's transaction. Recomputes and the sweep call it under the organisation's lock. Returns the
    groups that had changes (their cohorts may need marking: ``aggregation.mark_changed_groups``)."""
    changes = list(GroupDataChange.objects.filter(organisation_id=organisation_id).values_list("pk", "group_id"))
    if not changes:
        return set()
    counts = Counter(group_id for _, group_id in changes)
    ids = [pk for pk, _ in changes]
    for chunk in range(0, len(ids), 2000):
        GroupDataChange.objects.filter(pk__in=ids[chunk : chunk + 2000]).delete()
    GroupData.objects.bulk_create(
        [GroupData(group_id=group_id, organisation_id=organisation_id) for group_id in sorted(counts)],
        ignore_conflicts=True,
    )
    by_count: dict[int, list[int]] = {}
    for group_id, n in counts.items():
        by_count.setdefault(n, []).append(group_id)
    for n, group_ids in by_count.items():
        GroupData.objects.filter(group_id__in=group_ids).update(generation=F("generation") + n)
    return set(counts)


def read(
    organisation_id: int, group_ids: list[int] | None = None, *, fresh: bool = False, beside: bool = False
) -> ReadResult:
    """The ``Data`` of these groups (all the organisation's when None), from saved parts where current
    (``beside``: as ``engine.load`` takes it)."""
    now = timezone.now()
    info: list[tuple[int, str, str]] = []  # as engine.group_info gives it
    generations: dict[int, int] = {}
    current: dict[int, tuple] = {}  # group → (data generation, read at) of its current payload
    with_row: set[int] = set()
    # The generations are read before any data, so a change committed after this leaves them behind.
    for group_id, name, group_format, has_row, generation, data_generation, read_at in _generations(
        organisation_id, group_ids
    ):
        info.append((group_id, name, group_format))
        generations[group_id] = generation
        if has_row:
            with_row.add(group_id)
        if not fresh and data_generation is not None and data_generation == generation:
            current[group_id] = (data_generation, read_at)
    ids = [pk for pk, _, _ in info]
    saved = _pieces(current, now.timestamp())
    missing = [pk for pk in ids if pk not in saved]
    result = ReadResult(data=engine.empty(info), organisation_id=organisation_id, read_at=now)
    result.generations = {pk: generations[pk] for pk in missing}
    result.without_row = {pk for pk in missing if pk not in with_row}
    if not missing:
        result.data, result.from_saved = _join(organisation_id, group_ids, info, saved), len(saved)
        return result
    if len(missing) * 2 > len(ids):  # mostly out of date: one read of them all is quicker
        result.data = engine.load(organisation_id, group_ids, info=info, beside=beside)
        pieces = split(result.data)
        result.to_save = {pk: pieces[pk] for pk in missing}
        return result
    wanted = set(missing)
    loaded = engine.load(organisation_id, missing, info=[row for row in info if row[0] in wanted], beside=beside)
    result.to_save = split(loaded)
    result.data = _join(organisation_id, group_ids, info, saved | result.to_save)
    result.from_saved = len(saved)
    return result


# Decoded payloads, by group, with the (data generation, read at) they were saved with: a worker that
# recomputes an organisation again decodes only the groups saved since. Bounded; least recently used go first.
_decoded: OrderedDict[int, tuple[tuple, Piece]] = OrderedDict()
DECODED_LIMIT = 50_000


def _pieces(current: dict[int, tuple], now: float) -> dict[int, Piece]:
    """The pieces of the groups with a current payload (as ``current`` gives them) whose sessions offered have
    not changed since: decoded before, or read and decoded now."""
    pieces, wanted = {}, []
    for group_id, key in current.items():
        known = _decoded.get(group_id)
        if known is not None and known[0] == key:
            _decoded.move_to_end(group_id)
            pieces[group_id] = known[1]
        else:
            wanted.append(group_id)
    for chunk in range(0, len(wanted), 2000):
        payloads = GroupData.objects.filter(group_id__in=wanted[chunk : chunk + 2000]).values_list(
            "group_id", "data_generation", Cast("read_at", TextField()), "payload"
        )
        for group_id, data_generation, read_at, payload in engine.fetch_rows(payloads):
            key = (data_generation, read_at)
            piece = Piece.decode(bytes(payload)) if key == current[group_id] and payload is not None else None
            if piece is not None:  # else saved again since the generations were read: read afresh
                pieces[group_id] = piece
                _decoded[group_id] = (key, piece)
                _decoded.move_to_end(group_id)
    while len(_decoded) > DECODED_LIMIT:
        _decoded.popitem(last=False)
    return {pk: piece for pk, piece in pieces.items() if not piece.next_start <= now}


def _save(organisation_id: int, pieces: dict[int, Piece], generations: dict[int, int], without_row: set[int], read_at):
    if not pieces:
        return 0
    missing = sorted(pk for pk in pieces if pk in without_row)
    items = [(pk, generations[pk], piece.encode()) for pk, piece in sorted(pieces.items())]
    if connection.vendor != "postgresql":
        with transaction.atomic():
            GroupData.objects.bulk_create(
                [GroupData(group_id=pk, organisation_id=organisation_id) for pk in missing], ignore_conflicts=True
            )
            return sum(
                GroupData.objects.filter(group_id=pk)
                .filter(Q(data_generation__isnull=True) | Q(data_generation__lte=generation))
                .update(payload=payload, data_generation=generation, read_at=read_at)
                for pk, generation, payload in items
            )
    if missing:
        _insert_rows_postgresql(organisation_id, missing)
    stored = 0
    for chunk in range(0, len(items), 1000):
        with transaction.atomic():
            stored += _save_postgresql(items[chunk : chunk + 1000], read_at)
    return stored


def _insert_rows_postgresql(organisation_id: int, group_ids: list[int]) -> None:
    """Create the rows of groups that have none, giving up at once rather than wait for another transaction
    (which could be creating one of them too: waiting while holding the others could deadlock with it)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '100ms'")
            cursor.execute(
                f"""
                INSERT INTO {GroupData._meta.db_table} (group_id, organisation_id, generation)
                SELECT unnest(%s::bigint[]), %s, 0
                ON CONFLICT (group_id) DO NOTHING
                """,  # noqa: S608 - the table name is ours
                [group_ids, organisation_id],
            )
    except OperationalError:  # lock_timeout: these groups' data are saved next time
        pass


def _save_postgresql(part: list[tuple[int, int, bytes]], read_at) -> int:
    """One UPDATE; rows another transaction holds (a recompute folding changes) are skipped, and a payload read
    at a later generation is never replaced by an older one.

    A plain psycopg cursor (server-side binding), so the payloads travel as binary parameters: Django's
    client-side binding would inline them in the SQL as hex, three times the bytes, parsed back by the server.
    """
    table = GroupData._meta.db_table
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS d
               SET payload = v.payload, data_generation = v.generation, read_at = %s
              FROM unnest(%s::bigint[], %s::bigint[], %b::bytea[]) AS v(group_id, generation, payload)
             WHERE d.group_id = v.group_id
               AND (d.data_generation IS NULL OR d.data_generation <= v.generation)
               AND d.group_id IN (
                   SELECT group_id FROM {table} WHERE group_id = ANY(%s) FOR UPDATE SKIP LOCKED
               )
            """,  # noqa: S608 - the table name is ours; values are parameters
            [read_at, [pk for pk, _, _ in part], [g for _, g, _ in part], [p for _, _, p in part],
             [pk for pk, _, _ in part]],
        )  # fmt: skip
        return cursor.rowcount


def invalidate(group_ids) -> None:
    """Mark the saved data of these groups out of date, in the caller's transaction (one insert a group)."""
    for group_id in sorted({int(pk) for pk in group_ids if pk is not None}):
        _bump("", "g.id = %s", group_id)


def invalidate_membership(membership_id: int) -> None:
    """Mark the saved data of the membership's group out of date (one statement)."""
    _bump("JOIN {membership} m ON m.group_id = g.id", "m.id = %s", membership_id)


def invalidate_assessment(assessment_id: int) -> None:
    """Mark the saved data of the assessment's group out of date (one statement)."""
    _bump(
        "JOIN {membership} m ON m.group_id = g.id JOIN {assessment} a ON a.membership_id = m.id",
        "a.id = %s",
        assessment_id,
    )


def _bump(joins: str, where: str, pk: int) -> None:
    """Append a change row for the group found through ``joins`` and ``where`` (an insert: it waits for nobody)."""
    tables = {"membership": Membership._meta.db_table, "assessment": Assessment._meta.db_table}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {GroupDataChange._meta.db_table} (group_id, organisation_id)
            SELECT g.id, g.organisation_id FROM {SupportGroup._meta.db_table} g {joins.format(**tables)}
             WHERE {where}
            """,  # noqa: S608 - table names are ours; the key is a parameter
            [pk],
        )

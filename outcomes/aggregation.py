"""The evaluation engine: cohorts marked stale by submits, recomputed in the background.

- ``mark_stale_for_response`` runs inside the submit's (or import's) transaction,
  and queues a recompute of the organisation after commit.
- ``schedule_recompute`` coalesces bursts: one recompute per organisation is
  queued at a time (a cache key), a short while later, and it recomputes every
  stale cohort then.
- ``recompute_organisation`` is idempotent and atomic: the old figures of the
  cohorts it recomputes are replaced by new ones in one transaction, so readers
  see the old figures or the new, never half. Two workers on one organisation
  take turns (a PostgreSQL advisory lock), and the second finds nothing stale. A
  mark that arrives during a recompute keeps the cohort stale for the next run.
  The organisation's data are read once per recompute (``outcomes.engine``),
  not once per cohort, and only for the groups that changed since the last
  (``outcomes.group_data`` keeps each group's data); group cohorts go first,
  in their own transaction, so a facilitator's figures do not wait for the
  organisation's.
- ``tasks.sweep_stale_cohorts`` (Celery beat) recomputes anything still stale, so a lost
  message delays a figure but never loses it. A change that marks nothing as
  it happens (an admin's delete, a cascade) leaves a change row for its group's
  saved data, and ``mark_changed_groups`` marks its cohorts from that at the
  next recompute of the organisation or the next sweep.

Figures are computed by ``outcomes.statistics_many`` (numpy/scipy; the same
formulas as ``outcomes.statistics``); see STATISTICS.md.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from typing import NamedTuple

from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    JSONField,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone

from groups.models import SupportGroup
from peersupport.jobs import BROKER_ERRORS, enqueue
from sessions.models import GroupSession, SessionStatus

from . import engine, group_data
from .cohorts import cohort_keys, cohort_label, groups_filter
from .models import (
    ChangeSummary,
    CohortDimension,
    CohortState,
    ComparisonSummary,
    FlowSummary,
    GroupComparisonSet,
    GroupDataChange,
    OutcomeSummary,
    Response,
)

logger = logging.getLogger(__name__)

COALESCE_SECONDS = 0.1  # a burst of submits within this shares one recompute (see docs/architecture.md)
_LOCK_NAMESPACE = 0x0C0401  # high bits of the advisory-lock key of a cohort recompute


# --- Marking and scheduling -------------------------------------------------------------------


def _stale_rows(group: SupportGroup | _Group, keys) -> list[tuple[int, str, str, str]]:
    """(organisation, dimension, value, label) of the group's cohorts with these keys."""
    return [
        (group.organisation_id, dimension, value, cohort_label(dimension, value, group=group)[:200])
        for dimension, value in keys
    ]


def _upsert_stale(rows: list[tuple[int, str, str, str]], now) -> None:
    """Create the cohort rows (organisation, dimension, value, label), or mark existing ones stale (and refresh
    their labels). On PostgreSQL one statement over arrays: a full recompute of a new organisation creates
    thousands, which as model instances through ``bulk_create`` took half a second."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        CohortState.objects.bulk_create(
            [
                CohortState(organisation_id=o, dimension=d, value=v, label=label, stale=True, marked_at=now)
                for o, d, v, label in rows
            ],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["organisation", "dimension", "value"],
            update_fields=["stale", "marked_at", "label"],
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {CohortState._meta.db_table} AS c (organisation_id, dimension, value, label, stale, marked_at)
            SELECT o, d, v, l, true, %s FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS r(o, d, v, l)
            ON CONFLICT (organisation_id, dimension, value)
            DO UPDATE SET stale = true, marked_at = EXCLUDED.marked_at, label = EXCLUDED.label
            """,  # noqa: S608 - the table name is ours; values are parameters
            [now, *(list(column) for column in zip(*rows, strict=True))],
        )


def mark_stale(group: SupportGroup) -> None:
    """Mark every cohort of ``group`` stale (in the caller's transaction) and queue a recompute after commit."""
    _upsert_stale(_stale_rows(group, cohort_keys(group)), timezone.now())
    organisation_id = group.organisation_id
    transaction.on_commit(lambda: schedule_recompute(organisation_id))


def mark_stale_for_response(response: Response) -> None:
    mark_stale(response.assessment.membership.group)


def mark_stale_if_computed(group: SupportGroup, *, whole_organisation: bool = False, periods: bool = False) -> None:
    """Something a group's figures are computed from changed (attendance, a membership, a session): mark its
    cohorts stale, if it has figures at all. ``whole_organisation`` also marks every other cohort of the
    organisation except other groups' own (a group's format or curriculum decides which cohorts it is in);
    ``periods`` every period cohort of the organisation (a session decides which quarter a group started in)."""
    own = CohortState.objects.filter(
        organisation_id=group.organisation_id, dimension=CohortDimension.GROUP, value=str(group.pk)
    )
    if not own.exists():
        return
    mark_stale(group)
    others = CohortState.objects.filter(organisation_id=group.organisation_id)
    if whole_organisation:
        others.exclude(dimension=CohortDimension.GROUP).update(stale=True, marked_at=timezone.now())
    elif periods:
        others.filter(dimension=CohortDimension.PERIOD).update(stale=True, marked_at=timezone.now())


def mark_changed_groups(organisation_id: int, group_ids: set[int]) -> int:
    """Mark stale every fresh cohort of the organisation that holds one of these groups, whose data changed
    (they have ``GroupDataChange`` rows). Most changes mark their cohorts as they happen; these catch the ones
    that do not: an edit or delete in the admin, a cascade from a deleted account, a member joining a group that
    has no figures of its own (the organisation's flow counts them). Creates no cohort. Returns how many.

    Recomputes call it before folding the change rows (so folding never loses a change nobody marked), and the
    sweep for organisations nothing has recomputed since."""
    if not group_ids:
        return 0
    fresh = CohortState.objects.filter(organisation_id=organisation_id, stale=False)
    own = fresh.filter(dimension=CohortDimension.GROUP, value__in=[str(pk) for pk in sorted(group_ids)])
    others = list(fresh.exclude(dimension=CohortDimension.GROUP))
    ids = [*own.values_list("pk", flat=True)]
    ids += [state.pk for state, groups in zip(others, cohorts_groups(others), strict=True) if groups & group_ids]
    if ids:
        CohortState.objects.filter(pk__in=ids).update(stale=True, marked_at=timezone.now())
        transaction.on_commit(lambda: schedule_recompute(organisation_id))
    return len(ids)


def mark_stale_for_changed_data() -> int:
    """For every organisation with change rows no recompute has folded yet (the sweep): mark the cohorts of the
    groups that changed and fold the rows, as a recompute would (so they do not pile up in an organisation that
    has no figures yet, which nothing recomputes). Returns how many cohorts were marked."""
    marked = 0
    for organisation_id in sorted(set(GroupDataChange.objects.values_list("organisation_id", flat=True))):
        with transaction.atomic():
            _lock(organisation_id)
            marked += mark_changed_groups(organisation_id, group_data.fold_changes(organisation_id))
    return marked


def forget_deleted_group(group: SupportGroup) -> None:
    """A group was deleted: its own cohort goes (its figures describe nobody now), and every other cohort of its
    organisation but other groups' own is marked stale (the group's members counted in them)."""
    states = CohortState.objects.filter(organisation_id=group.organisation_id)
    states.filter(dimension=CohortDimension.GROUP, value=str(group.pk)).delete()
    marked = states.exclude(dimension=CohortDimension.GROUP).update(stale=True, marked_at=timezone.now())
    if marked:
        organisation_id = group.organisation_id
        transaction.on_commit(lambda: schedule_recompute(organisation_id))


def mark_stale_for_sessions_started(*, now: dt.datetime | None = None) -> int:
    """Mark the cohorts of groups with a session that started after their figures were computed (the sessions
    offered, and so the attendance dose, changed with no one saving anything). Returns how many groups."""
    now = now or timezone.now()
    started = (
        GroupSession.objects.filter(
            group_id=Cast(OuterRef("value"), IntegerField()),
            starts_at__gt=OuterRef("computed_at"),
            starts_at__lte=now,
        )
        .exclude(status=SessionStatus.CANCELLED)
        .values("pk")
    )
    fresh_groups = CohortState.objects.filter(dimension=CohortDimension.GROUP, stale=False, computed_at__isnull=False)
    group_ids = [int(v) for v in fresh_groups.filter(Exists(started)).values_list("value", flat=True) if v.isdigit()]
    for group in SupportGroup.objects.filter(pk__in=group_ids).select_related("curriculum"):
        with transaction.atomic():
            mark_stale(group)
    return len(group_ids)


def _scheduled_key(organisation_id: int) -> str:
    return f"outcomes:recompute-scheduled:{organisation_id}"


def schedule_recompute(organisation_id: int) -> bool:
    """Queue one recompute of the organisation's stale cohorts unless one is already queued.

    Never raises into the caller (a submit's page): with the cache or the broker down the figures stay stale,
    and the sweep recomputes them when it can."""
    try:
        if not cache.add(_scheduled_key(organisation_id), "1", timeout=60):
            return False
    except BROKER_ERRORS as exc:  # Redis is the cache too: without it, queue anyway (a duplicate is harmless)
        logger.warning("Could not note the recompute of organisation %s in the cache: %s", organisation_id, exc)
    return enqueue("outcomes.tasks.recompute_organisation", organisation_id, countdown=COALESCE_SECONDS)


# --- Recomputing --------------------------------------------------------------------------------


def recompute_stale(
    *,
    organisation_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    tiered: bool = True,
    fresh: bool = False,
) -> int:
    """Recompute every stale cohort (of one organisation, or all). Returns how many were recomputed.

    ``tiered``: each organisation's group cohorts first, in their own transaction (they need only their
    groups' data, so a facilitator's figures are fresh in well under a second), then its larger cohorts,
    which need all of the organisation's data (from each group's saved data where current, see
    ``outcomes.group_data``; ``fresh`` reads everything from the database).
    """
    if organisation_id is not None:
        cache.delete(_scheduled_key(organisation_id))
    states = CohortState.objects.filter(stale=True)
    if organisation_id is not None:
        states = states.filter(organisation_id=organisation_id)
    counts = Counter(states.values_list("organisation_id", flat=True))
    total, done = sum(counts.values()), 0
    for org_id in sorted(counts):
        tiers = [Q(dimension=CohortDimension.GROUP), ~Q(dimension=CohortDimension.GROUP)] if tiered else [Q()]
        for tier in tiers:
            done += recompute_organisation(org_id, which=tier, fresh=fresh)
            if progress:
                progress(min(done, total), total)
    return done


class _Curriculum(NamedTuple):
    family: str
    title: str
    kind: str


class _Group(NamedTuple):
    """What ``cohort_keys`` and ``cohort_label`` read of a group, for thousands of groups at once (as model
    instances with their curricula, 5,000 groups took a tenth of a second to build)."""

    pk: int
    organisation_id: int
    name: str
    format: str
    delivery: str
    audience: str
    curriculum_id: int | None
    curriculum: _Curriculum | None


def ensure_cohorts(*, organisation_id: int | None = None) -> None:
    """Create (stale) the cohort rows of every group that has answers, for a full recompute."""
    answered = Response.objects.filter(assessment__membership__group=OuterRef("pk"), submitted_at__isnull=False)
    groups = SupportGroup.objects.filter(Exists(answered))
    if organisation_id is not None:
        groups = groups.filter(organisation_id=organisation_id)
    fields = [field for field in _Group._fields if field != "curriculum"]
    curriculum = [f"curriculum__{field}" for field in _Curriculum._fields]
    now = timezone.now()
    labelled_by: dict[tuple[int, str, str], _Group] = {}
    for *values, family, title, kind in groups.values_list(*fields, *curriculum):
        group = _Group(*values, curriculum=_Curriculum(str(family), title, kind) if values[-1] else None)
        # Period cohorts exist only when a lead asked for one; recompute_all marks them stale with the rest.
        for dimension, value in cohort_keys(group, with_periods=False):
            labelled_by[(group.organisation_id, dimension, value)] = group
    existing = (
        CohortState.objects.all()
        if organisation_id is None
        else CohortState.objects.filter(organisation_id=organisation_id)
    )
    labels = {
        (o, d, v): label for o, d, v, label in existing.values_list("organisation", "dimension", "value", "label")
    }
    # Only rows that are new or whose label changed: upserting thousands of unchanged rows took most of a second.
    rows = [row for key, group in labelled_by.items() for row in _stale_rows(group, [key[1:]])]
    _upsert_stale([row for row in rows if labels.get(row[:3]) != row[3]], now)


def recompute_all(*, organisation_id: int | None = None, progress=None) -> int:
    """Mark every cohort stale and recompute them all (``recompute_outcomes --all``)."""
    with _collector_paused():  # thousands of cohort keys and labels, no cycles
        ensure_cohorts(organisation_id=organisation_id)
    states = CohortState.objects.all()
    if organisation_id is not None:
        states = states.filter(organisation_id=organisation_id)
    states.filter(stale=False).update(stale=True, marked_at=timezone.now())  # the stale ones already are
    return recompute_stale(organisation_id=organisation_id, progress=progress, tiered=False, fresh=True)


def _lock(organisation_id: int) -> None:
    """Serialise recomputes of one organisation across workers (PostgreSQL); SQLite serialises writes itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [(_LOCK_NAMESPACE << 32) + organisation_id])


def recompute_cohort(cohort_id: int) -> bool:
    """Recompute one cohort now, stale or not. Returns False if the cohort no longer exists."""
    state = CohortState.objects.filter(pk=cohort_id).first()
    if state is None:
        return False
    recompute_organisation(state.organisation_id, cohort_ids=[cohort_id])
    return True


def recompute_organisation(
    organisation_id: int, *, which: Q | None = None, cohort_ids: list[int] | None = None, fresh: bool = False
) -> int:
    """Replace the figures of the organisation's stale cohorts (those matching ``which``, or ``cohort_ids``
    stale or not) in one transaction, so readers see the old figures or the new, never a mixture. Returns how many.

    The data are read after taking the organisation's lock and after noting the start time, so a submit
    that lands during the recompute leaves its cohorts stale (its mark is newer) for the next run. Groups whose
    saved data were out of date (or all, if ``fresh``) are read from the database and their data saved after
    the commit.
    """
    with transaction.atomic(), _collector_paused():
        _lock(organisation_id)
        mark_changed_groups(organisation_id, group_data.fold_changes(organisation_id))
        started = timezone.now()
        states = CohortState.objects.filter(organisation_id=organisation_id)
        chosen = Q(pk__in=cohort_ids) if cohort_ids is not None else (which or Q()) & Q(stale=True)
        states = list(states.filter(chosen).order_by("dimension", "value"))
        if not states:
            return 0
        cohorts = list(zip(states, cohorts_groups(states), strict=True))
        everything = any(state.dimension == CohortDimension.ORGANISATION for state in states)
        group_ids = None if everything else sorted(set().union(*(groups for _, groups in cohorts)))
        # Only this transaction is open (no caller's, e.g. a test's, with rows another connection cannot see).
        read = group_data.read(organisation_id, group_ids, fresh=fresh, beside=len(connection.atomic_blocks) == 1)
        figures = engine.compute(read.data, cohorts)
        ids = [state.pk for state in states]
        for model in (OutcomeSummary, ChangeSummary, FlowSummary, ComparisonSummary, GroupComparisonSet):
            _delete_rows(model, ids)
        for model, columns, rows in figures.tables():
            _insert(model, columns, rows)
        now = timezone.now()
        # Stale stays as it is where a mark arrived after the start (that change is not in these figures).
        CohortState.objects.filter(pk__in=ids).update(
            computed_at=now, stale=Case(When(marked_at__gt=started, then=F("stale")), default=Value(False))
        )
    try:
        read.save()
    except DatabaseError:  # the figures are committed; the groups' data will be read again next time
        logger.exception("Saving the data of %d groups of organisation %s failed", len(read.to_save), organisation_id)
    return len(states)


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off for the duration. A full recompute keeps some 100,000 row tuples
    alive until it writes them, and the collector walked them again and again for nothing (0.1–0.2 s); they
    hold no cycles, and whatever cycles arise meanwhile are collected once it is back on. The switch is the
    process's: a worker runs one task at a time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _delete_rows(model, cohort_ids: list[int]) -> None:
    """Delete the summary rows of these cohorts: on PostgreSQL one statement with the ids as one array (in
    chunks of 500 ids, the 50 statements of a full recompute took 0.4 s even with nothing to delete)."""
    if connection.vendor != "postgresql":
        for chunk in range(0, len(cohort_ids), 500):
            model.objects.filter(cohort_id__in=cohort_ids[chunk : chunk + 500]).delete()
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {model._meta.db_table} WHERE cohort_id = ANY(%s)",  # noqa: S608 - the table name is ours
            [cohort_ids],
        )


def _insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Write summary rows (attribute values in ``columns`` order): PostgreSQL's COPY, else ``bulk_create``.

    A full recompute of a large organisation writes ~100,000 rows; COPY takes a second where building
    model instances and an INSERT takes a minute. Binary COPY: no number is formatted as text and parsed back.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=500)
        return
    from psycopg import sql
    from psycopg.types.json import Jsonb

    fields = {f.attname: f for f in model._meta.concrete_fields}
    json_at = [i for i, name in enumerate(columns) if isinstance(fields[name], JSONField)]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(sql.Identifier(fields[c].column) for c in columns)
    )
    # Each distinct JSON value encoded once: 30,000 small dicts (mostly a handful of distinct ones) through
    # json.dumps one by one took half a second of a full recompute.
    encoded: dict[object, Jsonb] = {}

    def jsonb(value) -> Jsonb:
        try:  # with each value's type: 1, 1.0 and True are equal keys but not the same JSON
            items = value.items() if isinstance(value, dict) else [(None, value)]
            key = tuple((name, type(item), item) for name, item in items)
            hash(key)
        except TypeError:  # nested: no key, encoded on its own
            return Jsonb(value)
        found = encoded.get(key)
        if found is None:
            found = encoded[key] = Jsonb(json.dumps(value).encode(), dumps=_encoded)
        return found

    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([_copy_type(fields[name]) for name in columns])
        for row in rows:
            if json_at:
                row = list(row)
                for i in json_at:
                    row[i] = jsonb(row[i])
            copy.write_row(row)


def _encoded(value: bytes) -> bytes:
    """The ``dumps`` of a JSON value already encoded."""
    return value


def _copy_type(field) -> str:
    """The PostgreSQL type name of a column, as psycopg's binary COPY wants it ("varchar(40)" → "varchar")."""
    return field.db_type(connection).split("(")[0]


def cohorts_groups(states: list[CohortState]) -> list[set[int]]:
    """The pks of the groups in each cohort (of one organisation): a group cohort's own pk without a query, the
    others' in one query (a flag per cohort on every group of the organisation, from ``groups_filter``)."""
    found: list[set[int]] = []
    flags = {}
    for i, state in enumerate(states):
        if state.dimension == CohortDimension.GROUP:
            found.append({int(state.value)} if state.value.isdigit() else set())
        else:
            found.append(set())
            flags[f"in_{i}"] = ExpressionWrapper(groups_filter(state.dimension, state.value), BooleanField())
    if flags:
        groups = SupportGroup.objects.filter(organisation_id=states[0].organisation_id).annotate(**flags)
        chosen = [int(name[3:]) for name in flags]
        for pk, *inside in groups.values_list("pk", *flags):
            for i, yes in zip(chosen, inside, strict=True):
                if yes:
                    found[i].add(pk)
    return found


def cohort_age(state: CohortState) -> dt.timedelta | None:
    return timezone.now() - state.computed_at if state.computed_at else None

"""Recomputing the figures of stale cohorts (marked by ``marking``, queued by ``scheduling``).

- ``recompute_organisation`` is idempotent and atomic: the old figures of the
  cohorts it recomputes are replaced by new ones in one transaction, so readers
  see the old figures or the new, never half. Two workers on one organisation
  take turns (a PostgreSQL advisory lock), and the second finds nothing stale. A
  mark that arrives during a recompute keeps the cohort stale for the next run.
  The organisation's data are read once per recompute (``engine``),
  not once per cohort, and only for the groups that changed since the last
  (``group_data`` keeps each group's data). All of an organisation's stale
  cohorts go in one pass, with one protection of its figures (protecting is
  the costly step, and each transaction protects the whole organisation).
- ``tasks.sweep_stale_cohorts`` (Celery beat) recomputes anything still stale, so a lost
  message delays a figure but never loses it. A change that marks nothing as
  it happens (an admin's delete, a cascade) leaves a change row for its group's
  saved data, and ``marking.mark_changed_groups`` marks its cohorts from that at the
  next recompute of the organisation or the next sweep (``mark_stale_for_changed_data``).

Figures are computed by ``statistics.many`` (numpy/scipy; the same
formulas as ``statistics.single``); see docs/statistics.md.
"""

from __future__ import annotations

import gc
import json
import logging
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager

from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, Exists, F, JSONField, OuterRef, Q, Value, When
from django.utils import timezone
from psycopg import sql
from psycopg.types.json import Jsonb

from groups.models import SupportGroup
from outcomes.evaluation import engine, group_data, reliable_change
from outcomes.evaluation.cohorts import CurriculumFields, GroupFields, cohort_keys, cohorts_groups
from outcomes.evaluation.protection import protect_organisation
from outcomes.models import (
    AttritionSummary,
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

from .marking import mark_changed_groups, stale_rows, upsert_stale
from .scheduling import scheduled_key

logger = logging.getLogger(__name__)

_LOCK_NAMESPACE = 0x0C0401  # high bits of the advisory-lock key of a cohort recompute


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


def recompute_stale(
    *,
    organisation_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    tiered: bool = False,
    fresh: bool = False,
) -> int:
    """Recompute every stale cohort (of one organisation, or all). Returns how many were recomputed.

    Each organisation's stale cohorts are recomputed together, in one transaction, with one protection of its
    figures (docs/statistics.md §6). ``tiered``: its group cohorts first, in their own transaction, then its
    larger cohorts, which need all of the organisation's data; it was the default while a group's figures
    took well under a second, but each transaction now protects the whole organisation's figures, which costs
    seconds, so one pass is quicker to fresh figures everywhere. Data come from each group's saved data where
    current (``outcomes.evaluation.group_data``); ``fresh`` reads everything from the database.
    """
    if organisation_id is not None:
        cache.delete(scheduled_key(organisation_id))
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


def ensure_cohorts(*, organisation_id: int | None = None) -> None:
    """Create (stale) the cohort rows of every group that has answers, for a full recompute."""
    answered = Response.objects.filter(assessment__membership__group=OuterRef("pk"), submitted_at__isnull=False)
    groups = SupportGroup.objects.filter(Exists(answered))
    if organisation_id is not None:
        groups = groups.filter(organisation_id=organisation_id)
    fields = [field for field in GroupFields._fields if field != "curriculum"]
    curriculum = [f"curriculum__{field}" for field in CurriculumFields._fields]
    now = timezone.now()
    labelled_by: dict[tuple[int, str, str], GroupFields] = {}
    for *values, family, title, kind in groups.values_list(*fields, *curriculum):
        group = GroupFields(*values, curriculum=CurriculumFields(str(family), title, kind) if values[-1] else None)
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
    rows = [row for key, group in labelled_by.items() for row in stale_rows(group, [key[1:]])]
    upsert_stale([row for row in rows if labels.get(row[:3]) != row[3]], now)


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
        ids = [state.pk for state in states]
        # The organisation's reliable-change parameters (frozen baselines), the same for all its cohorts.
        figures = engine.compute(read.data, cohorts, rci=reliable_change.parameters_for(organisation_id, computing=ids))
        for model in (
            OutcomeSummary, ChangeSummary, FlowSummary, ComparisonSummary, GroupComparisonSet, AttritionSummary,
        ):  # fmt: skip
            _delete_rows(model, ids)
        for model, columns, rows in figures.tables():
            _insert(model, columns, rows)
        now = timezone.now()
        # What the figures hide, decided once, here, over all of the organisation's figures (docs/statistics.md §6).
        protect_organisation(organisation_id, computed_at=now)
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

"""Marking cohorts stale: what a change of their data (a submit, an import, attendance, a membership, a
session) does to the figures, inside the change's transaction. A recompute is queued after the commit
(``scheduling``); the figures themselves are replaced by ``recompute``."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Exists, IntegerField, OuterRef
from django.db.models.functions import Cast
from django.utils import timezone

from groups.models import SupportGroup
from outcomes.models import CohortDimension, CohortState, Response
from sessions.models import GroupSession, SessionStatus

from .cohorts import GroupFields, cohort_keys, cohort_label, cohorts_groups
from .scheduling import schedule_recompute


def stale_rows(group: SupportGroup | GroupFields, keys) -> list[tuple[int, str, str, str]]:
    """(organisation, dimension, value, label) of the group's cohorts with these keys."""
    return [
        (group.organisation_id, dimension, value, cohort_label(dimension, value, group=group)[:200])
        for dimension, value in keys
    ]


def upsert_stale(rows: list[tuple[int, str, str, str]], now) -> None:
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
    upsert_stale(stale_rows(group, cohort_keys(group)), timezone.now())
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


def forget_deleted_group(group: SupportGroup) -> None:
    """A group was deleted: its own cohort goes (its figures describe nobody now), and every other cohort of its
    organisation but other groups' own is marked stale (the group's members counted in them)."""
    states = CohortState.objects.filter(organisation_id=group.organisation_id)
    states.filter(dimension=CohortDimension.GROUP, value=str(group.pk)).delete()
    marked = states.exclude(dimension=CohortDimension.GROUP).update(stale=True, marked_at=timezone.now())
    if marked:
        organisation_id = group.organisation_id
        transaction.on_commit(lambda: schedule_recompute(organisation_id))


def mark_organisation_stale(organisation_id: int) -> int:
    """Mark every cohort of the organisation stale (in the caller's transaction) and queue a recompute after commit:
    something every figure depends on changed, such as the suppression threshold k, which decides what is hidden.
    Creates no cohort. Returns how many were marked."""
    marked = CohortState.objects.filter(organisation_id=organisation_id).update(stale=True, marked_at=timezone.now())
    if marked:
        transaction.on_commit(lambda: schedule_recompute(organisation_id))
    return marked


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

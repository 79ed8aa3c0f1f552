"""Migrations of the sessions app that change existing rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.factories import facilitated_group

BEFORE = [("group_sessions", "0001_initial")]
AFTER = [("group_sessions", "0002_groupsession_uid")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_the_latest_schema():
    """Every later test needs the whole schema: migrate forward to the latest migrations whatever happened."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_sessions_saved_before_calendar_uids_each_get_their_own_and_reversing_removes_them(back_to_the_latest_schema):
    group, _ = facilitated_group()
    old = migrate(BEFORE)
    OldSession = old.get_model("group_sessions", "GroupSession")
    start = timezone.now().replace(microsecond=0)
    for n in range(1, 4):
        OldSession.objects.create(
            group_id=group.pk,
            sequence=n,
            starts_at=start + dt.timedelta(days=7 * n),
            ends_at=start + dt.timedelta(days=7 * n, hours=1),
        )
    new = migrate(AFTER)
    uids = list(new.get_model("group_sessions", "GroupSession").objects.values_list("uid", flat=True))
    assert len(uids) == 3 and None not in uids and len(set(uids)) == 3
    migrate(BEFORE)
    with connection.cursor() as cursor:
        columns = [
            c.name for c in connection.introspection.get_table_description(cursor, "group_sessions_groupsession")
        ]
    assert "uid" not in columns
    migrate(AFTER)

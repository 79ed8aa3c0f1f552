"""A row lock locks that row, not the organisation it was read with.

``select_for_update()`` with ``select_related("organisation")`` locks every joined row, so each submit and
register in an organisation took its organisation row FOR UPDATE; any other write that refers to the
organisation (an audit row, a cohort marked stale: a foreign-key check takes FOR KEY SHARE on it) then waited,
and under the load benchmark two such writes deadlocked (a 503 for a facilitator saving a register). Locks
name their own table (``of=("self",)``).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from django.db import OperationalError, connection, transaction

from groups.services.membership import lock_group
from tests.factories import facilitated_group

ROOT = Path(__file__).resolve().parents[2]


def test_no_lock_in_the_code_also_locks_the_rows_it_joins():
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text()
        for found in re.finditer(r"select_for_update\(([^)]*)\)\s*\.select_related\(", text):
            if "of=" not in found.group(1):
                offenders.append(f"{path.relative_to(ROOT)}:{text[: found.start()].count(chr(10)) + 1}")
    assert not offenders, "lock only the row meant: select_for_update(of=('self',)) at " + ", ".join(offenders)


def _in_other_connection(sql: str, params: list) -> BaseException | None:
    outcome: list[BaseException | None] = [None]

    def run():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
                cursor.execute(sql, params)
        except BaseException as exc:  # noqa: BLE001 (returned to the test thread)
            outcome[0] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return outcome[0]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_locking_a_group_leaves_its_organisation_free_for_other_writers(real_stack):
    group, _ = facilitated_group()
    with transaction.atomic():
        lock_group(group)
        # What a foreign-key check of any insert naming the organisation takes: it does not wait.
        assert (
            _in_other_connection(
                "SELECT 1 FROM peersupport_organisation WHERE id = %s FOR KEY SHARE", [group.organisation_id]
            )
            is None
        )
        # The group row itself is locked.
        refused = _in_other_connection("SELECT 1 FROM groups_supportgroup WHERE id = %s FOR UPDATE NOWAIT", [group.pk])
        assert isinstance(refused, OperationalError)

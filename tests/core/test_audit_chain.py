"""The audit trail is tamper-evident: each row is sealed into a hash chain after commit, `verify_audit` names the
first row changed or removed behind the application's back, PostgreSQL itself refuses UPDATE and DELETE, and a
deleted user's rows keep a stable pseudonym of them."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from peersupport import audit
from peersupport.models import AuditEvent, RoleKind
from tests.factories import OrganisationFactory, UserFactory, person

pytestmark = pytest.mark.django_db

TABLE = AuditEvent._meta.db_table


@contextmanager
def trigger_disabled():
    """What someone with the table owner's rights could do: switch the append-only trigger off (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for no deferred check
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER peersupport_audit_append_only")
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER peersupport_audit_append_only")


def raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def three_sealed_rows(on_commit) -> list[AuditEvent]:
    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD)
    with on_commit():
        audit.record(AuditEvent.Action.SIGN_IN, actor=lead)
        audit.record(AuditEvent.Action.EXPORT, actor=lead, organisation=org, kind="items")
        audit.record(AuditEvent.Action.SIGN_IN_FAILED, attempted="someone@example.org")
    return list(AuditEvent.objects.order_by("chain_seq"))


def verify_output() -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_rows_are_sealed_in_a_chain_after_their_commit_and_verify_finds_it_intact(on_commit):
    rows = three_sealed_rows(on_commit)
    assert [row.chain_seq for row in rows] == [1, 2, 3]
    assert rows[0].prev_hash == audit.GENESIS
    assert [row.prev_hash for row in rows[1:]] == [row.hash for row in rows[:2]]
    assert "Audit chain intact: 3 rows checked." in verify_output()


def test_a_row_is_not_sealed_before_its_transaction_commits(on_commit):
    with on_commit(), transaction.atomic():
        event = audit.record(AuditEvent.Action.SIGN_IN)
        assert AuditEvent.objects.get(pk=event.pk).chain_seq is None
    assert AuditEvent.objects.get(pk=event.pk).chain_seq == 1


def test_verify_audit_names_a_row_altered_with_the_trigger_disabled(on_commit):
    rows = three_sealed_rows(on_commit)
    with trigger_disabled():
        raw(f"UPDATE {TABLE} SET detail = %s WHERE id = %s", ['{"kind": "aggregates"}', rows[1].pk])
    with pytest.raises(CommandError) as broken:
        call_command("verify_audit")
    message = str(broken.value)
    assert f"chain position 2 (audit event {rows[1].pk}," in message
    assert "changed after it was written" in message
    assert "after 1 good rows" in message


def test_verify_audit_names_the_gap_of_a_deleted_row(on_commit):
    rows = three_sealed_rows(on_commit)
    with trigger_disabled():
        raw(f"DELETE FROM {TABLE} WHERE id = %s", [rows[1].pk])
    with pytest.raises(CommandError, match="position 2 is missing .*a row was deleted"):
        call_command("verify_audit")


def test_rows_left_unsealed_by_a_lost_commit_hook_are_sealed_by_the_job():
    from peersupport.tasks import seal_audit

    audit.record(AuditEvent.Action.SIGN_IN)  # the test's transaction never commits: no seal yet
    assert AuditEvent.objects.get().chain_seq is None
    assert seal_audit() == 1
    assert AuditEvent.objects.get().chain_seq == 1
    assert "intact: 1 rows" in verify_output()


def test_deleting_a_user_keeps_a_stable_pseudonym_on_their_rows_and_the_chain_intact(on_commit):
    user = UserFactory()
    other = UserFactory()
    with on_commit():
        first = audit.record(AuditEvent.Action.SIGN_IN, actor=user)
        second = audit.record(AuditEvent.Action.SIGN_IN, actor=user)
        audit.record(AuditEvent.Action.SIGN_IN, actor=other)
    reference = AuditEvent.objects.get(pk=first.pk).actor_ref
    assert reference.startswith("u-") and str(user.pk) not in reference[2:4]
    assert AuditEvent.objects.get(pk=second.pk).actor_ref == reference
    assert AuditEvent.objects.exclude(pk__in=[first.pk, second.pk]).get().actor_ref != reference
    user.delete()
    kept = AuditEvent.objects.get(pk=first.pk)
    assert kept.actor is None
    assert kept.actor_ref == reference == audit.actor_reference(first.actor_id)
    assert "intact: 3 rows" in verify_output()


@pytest.mark.integration
def test_on_postgresql_the_database_refuses_update_and_delete_on_the_audit_table(real_stack, on_commit):
    rows = three_sealed_rows(on_commit)
    for statement in (
        f"UPDATE {TABLE} SET action = 'export' WHERE id = {rows[0].pk}",
        f"UPDATE {TABLE} SET actor_ref = 'u-someone-else' WHERE id = {rows[0].pk}",
        f"UPDATE {TABLE} SET hash = repeat('0', 64) WHERE id = {rows[0].pk}",
        f"DELETE FROM {TABLE} WHERE id = {rows[0].pk}",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            raw(statement)
    assert AuditEvent.objects.count() == 3
    assert "intact: 3 rows" in verify_output()

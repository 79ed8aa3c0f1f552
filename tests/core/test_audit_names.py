"""Audit action names: one list (``AuditEvent.Action``), one convention, and every write names its action from it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from groups.services import Action as GroupsAction
from peersupport.models import AuditEvent
from sessions.services import Action as SessionsAction

ROOT = Path(__file__).resolve().parents[2]
# The thing first, then what happened to it in the past tense ("group_created", "data_exported", "signed_in").
CONVENTION = re.compile(r"\A([a-z0-9]+_)*([a-z]+(ed|en)|sent|withdrawn)(_in|_out|_back)?\Z")


@pytest.mark.parametrize("name", AuditEvent.Action.values)
def test_every_action_name_says_what_happened_in_the_past_tense(name):
    assert CONVENTION.match(name), name


def test_the_apps_action_names_are_members_of_the_one_list():
    for app in (GroupsAction, SessionsAction):
        names = {value for key, value in vars(app).items() if key.isupper()}
        assert names <= set(AuditEvent.Action.values), names - set(AuditEvent.Action.values)


def test_every_audit_record_call_names_its_action_from_a_list_not_a_string():
    """``audit.record("...")`` with a literal would escape the list and its convention."""
    literal = []
    for app in ("peersupport", "groups", "sessions", "outcomes"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
                if name == "record" and owner in ("audit", "") and isinstance(node.args[0], ast.Constant):
                    literal.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert literal == []


@pytest.mark.django_db(transaction=True)
def test_the_migration_renames_stored_names_and_back():
    executor = MigrationExecutor(connection)
    before = [("peersupport", "0008_user_name_on_public_pages")]
    after = [("peersupport", "0009_audit_action_names_one_convention")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("peersupport", "AuditEvent")
    old.objects.create(action="export")
    old.objects.create(action="sign_in")
    old.objects.create(action="group_created")
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    assert sorted(AuditEvent.objects.values_list("action", flat=True)) == [
        "data_exported",
        "group_created",
        "signed_in",
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    assert sorted(old.objects.values_list("action", flat=True)) == ["export", "group_created", "sign_in"]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

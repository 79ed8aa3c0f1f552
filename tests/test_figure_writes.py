"""Writes that skip the model signals (``QuerySet.update``, ``bulk_create``, ``bulk_update``) on the rows the
evaluation figures are computed from are allowed only where the code marks the figures itself.

``outcomes.signals`` keeps the figures and each group's saved data true by listening to saves and deletes of
these models; a write that bypasses the signals leaves them wrong until the next full recompute. Each entry of
the allow-list says why it is safe; a new one needs the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("peersupport", "groups", "sessions", "outcomes")
FEEDING = {"Response", "Assessment", "Membership", "MembershipEvent", "Attendance", "GroupSession", "SupportGroup"}
RELATED = {  # related managers that reach those models
    "responses": "Response",
    "assessments": "Assessment",
    "memberships": "Membership",
    "events": "MembershipEvent",
    "attendance": "Attendance",
    "sessions": "GroupSession",
    "support_groups": "SupportGroup",
}
BYPASSING = {"update", "bulk_create", "bulk_update"}

ALLOWED = {
    ("sessions/services/schedules.py", "schedule_generate", "GroupSession"): (
        "sends sessions_scheduled, which outcomes hears"
    ),
    (
        "sessions/services/attendance.py",
        "attendance_record",
        "Attendance",
    ): "sends register_saved, which outcomes hears",
    ("outcomes/questionnaires/lifecycle.py", "assessments_advance", "Assessment"): (
        "windows, expiry and reminders: the figures read completed assessments only, which a submit saves"
    ),
    ("outcomes/questionnaires/lifecycle.py", "_refresh", "Assessment"): (
        "a questionnaire's state as its window and the clock say, changed only if still as read: the figures read "
        "completed assessments only, which a submit saves"
    ),
}


def _root(node: ast.AST) -> tuple[str | None, list[str]]:
    """The name a call chain starts from, and the attributes along it."""
    attributes = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            attributes.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return (node.id if isinstance(node, ast.Name) else None), attributes


def _model(node: ast.AST, local: dict[str, str]) -> str | None:
    root, attributes = _root(node)
    if root in FEEDING:
        return root
    if root in local:
        return local[root]
    return next((RELATED[a] for a in reversed(attributes) if a in RELATED), None)


def bypassing_writes(source: str) -> list[tuple[str, str, int]]:
    """(function, model, line) of each signal-bypassing write on a figure-feeding model in ``source``."""
    found = []
    tree = ast.parse(source)
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for function in functions:
        local: dict[str, str] = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                model = _model(node.value, local)
                if model:
                    local[node.targets[0].id] = model
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in BYPASSING:
                model = _model(node.func.value, local)
                if model:
                    found.append((function.name, model, node.lineno))
    return sorted(set(found))


def test_no_write_skips_the_signals_the_figures_rely_on_outside_the_allow_list():
    unexpected, used = [], set()
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            relative = path.relative_to(ROOT).as_posix()
            for function, model, line in bypassing_writes(path.read_text(encoding="utf-8")):
                key = (relative, function, model)
                if key in ALLOWED:
                    used.add(key)
                else:
                    unexpected.append(f"{relative}:{line} {function}: {model}")
    assert unexpected == []
    assert used == set(ALLOWED), "an allow-list entry no longer matches any write: remove it"


def test_the_check_finds_an_update_of_responses_and_a_bulk_create_of_attendance():
    source = """
def fix_totals(group):
    Response.objects.filter(assessment__membership__group=group).update(total=0)

def quick_register(session, rows):
    queryset = Attendance.objects.filter(session=session)
    queryset.update(status="present")
    session.attendance.bulk_create(rows)

def harmless():
    CohortState.objects.update(stale=True)
"""
    assert bypassing_writes(source) == [
        ("fix_totals", "Response", 3),
        ("quick_register", "Attendance", 7),
        ("quick_register", "Attendance", 8),
    ]

"""The project's import rules, checked on its own source with the standard library's ``ast``.

Each rule keeps a room of the house closed to another (docs/architecture.md):

- ``outcomes.instruments`` imports nothing else of ``outcomes`` but its models;
- ``outcomes.questionnaires`` uses the instruments and one entry of the evaluation, ``marking``
  (marking figures stale inside a submit's transaction);
- ``outcomes.evaluation`` never imports ``outcomes.questionnaires``;
- nothing imports ``outcomes.exports`` (but the URLconf, which routes to its views);
- the one-sample and the many-sample statistics never import each other; periods are pure;
- no module imports an app's ``tasks`` (tasks call services; services queue tasks by name);
- ``peersupport`` imports no feature app; ``groups`` does not import ``sessions``;
- an import inside a function has a ``# why:`` comment on the line before it (or before the run of
  imports it belongs to).

The checker is fed synthetic modules below, one per rule, to show that it bites.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("peersupport", "groups", "sessions", "outcomes")
FEATURE_APPS = ("groups", "sessions", "outcomes")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (``from a import b`` gives a.b when b is a module, else a)
    line: int
    in_function: bool
    why: bool  # a ``# why:`` comment on the line before (or before the run of imports it is in)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, source: str, *, is_package: bool = False, is_module=lambda name: False) -> list[Import]:
    """Every import statement of ``module``, at any depth (functions, ``TYPE_CHECKING`` blocks)."""
    lines = source.splitlines()
    tree = ast.parse(source)
    found: list[Import] = []

    def why_above(node: ast.stmt, body: list[ast.stmt]) -> bool:
        # The comment may sit above the first of consecutive import statements.
        index = body.index(node)
        while index > 0 and isinstance(body[index - 1], ast.Import | ast.ImportFrom):
            index -= 1
        line = body[index].lineno - 2
        return line >= 0 and lines[line].strip().startswith("# why:")

    def visit(body: list[ast.stmt], in_function: bool) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                why = why_above(node, body)
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                else:
                    base = _resolve(module, is_package, node)
                    targets = [
                        f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base for alias in node.names
                    ]
                for target in dict.fromkeys(targets):
                    found.append(Import(module, target, node.lineno, in_function, why))
            inner = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if isinstance(children, list) and children and isinstance(children[0], ast.stmt | ast.excepthandler):
                    if field == "handlers":
                        for handler in children:
                            visit(handler.body, in_function or inner)
                    else:
                        visit(children, in_function or inner)

    visit(tree.body, False)
    return found


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(imports: list[Import]) -> list[str]:
    """Each broken rule as ``module:line: why``."""
    broken = []

    def no(imp: Import, why: str) -> None:
        broken.append(f"{imp.module}:{imp.line}: {why} ({imp.target})")

    for imp in imports:
        src, dst = imp.module, imp.target
        if (
            _inside(src, "outcomes.instruments")
            and _inside(dst, "outcomes")
            and not (_inside(dst, "outcomes.instruments") or _inside(dst, "outcomes.models"))
        ):
            no(imp, "instruments imports nothing else from outcomes but its models")
        if (
            _inside(src, "outcomes.questionnaires")
            and _inside(dst, "outcomes.evaluation")
            and dst != "outcomes.evaluation.marking"
        ):
            no(imp, "questionnaires reaches the evaluation only through evaluation.marking")
        if _inside(src, "outcomes.evaluation") and _inside(dst, "outcomes.questionnaires"):
            no(imp, "evaluation never imports questionnaires")
        if _inside(dst, "outcomes.exports") and not (_inside(src, "outcomes.exports") or src == "outcomes.urls"):
            no(imp, "nothing imports exports")
        single, many = "outcomes.evaluation.statistics.single", "outcomes.evaluation.statistics.many"
        if (_inside(src, single) and _inside(dst, many)) or (_inside(src, many) and _inside(dst, single)):
            no(imp, "the one-sample and the many-sample statistics never import each other")
        if src == "outcomes.evaluation.periods" and (_inside(dst, "django.db") or _inside(dst, "outcomes.models")):
            no(imp, "periods are pure: no database")
        if dst.split(".")[-1] == "tasks" and dst.split(".")[0] in APPS and src != dst:
            no(imp, "no module imports tasks (queue them by name through peersupport.jobs)")
        if _inside(src, "peersupport") and any(_inside(dst, app) for app in FEATURE_APPS):
            no(imp, "peersupport imports no feature app")
        if _inside(src, "groups") and _inside(dst, "sessions"):
            no(imp, "groups does not import sessions")
        if imp.in_function and not imp.why:
            no(imp, "an import inside a function needs a '# why:' comment on the line before")
    return broken


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def project_imports() -> list[Import]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module, is_package = _module_name(path)
            found += imports_of(module, path.read_text(encoding="utf-8"), is_package=is_package, is_module=_is_module)
    return found


def test_the_project_keeps_its_import_rules():
    imports = project_imports()
    assert len(imports) > 500  # the walk found the apps' modules
    assert violations(imports) == []


def test_the_recompute_task_is_queued_only_by_scheduling():
    queuers = [
        path.relative_to(ROOT).as_posix()
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if '"outcomes.tasks.recompute_organisation"' in path.read_text(encoding="utf-8")
    ]
    assert queuers == ["outcomes/evaluation/scheduling.py"]


SYNTHETIC = {
    "outcomes.instruments.bad": ("from outcomes.evaluation import engine", "instruments imports nothing"),
    "outcomes.questionnaires.bad": ("from outcomes.evaluation.recompute import recompute_all", "questionnaires"),
    "outcomes.evaluation.bad": ("from ..questionnaires import responses", "evaluation never imports"),
    "outcomes.evaluation.report_bad": ("from outcomes.exports import writers", "nothing imports exports"),
    "outcomes.evaluation.statistics.single": ("from .many import describe_many", "never import each other"),
    "outcomes.evaluation.periods": ("from django.db import models", "periods are pure"),
    "outcomes.questionnaires.services": ("from outcomes import tasks", "no module imports tasks"),
    "peersupport.bad": ("import groups.models", "peersupport imports no feature app"),
    "groups.bad": ("from sessions.selectors import next_session", "groups does not import sessions"),
    "sessions.bad": ("def f():\n    from groups import models\n", "needs a '# why:' comment"),
}


@pytest.mark.parametrize("module", SYNTHETIC)
def test_the_checker_bites_on_a_module_breaking_a_rule(module):
    source, rule = SYNTHETIC[module]
    modules = {"outcomes.exports.writers", "outcomes.tasks", "outcomes.evaluation.engine", "groups.models"}
    imports = imports_of(module, source, is_module=modules.__contains__)
    broken = violations(imports)
    assert len(broken) == 1 and rule in broken[0], broken


def test_an_import_in_a_function_with_its_reason_passes():
    source = (
        "def f():\n    # why: the app registry is ready only here\n    from groups import models\n    import json\n"
    )
    assert violations(imports_of("sessions.fine", source)) == []

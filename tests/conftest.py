"""Fixtures shared by every test.

Services: a test that needs PostgreSQL or Redis asks for the ``real_stack``
fixture. On a laptop without them it is skipped; with CI=true set, a skipped
test fails the run (see ``pytest_runtest_makereport``).

The demo: a test that asks for ``demo_db`` runs over the demo as ``seed_demo`` leaves it, seeded once for all
of them (see "The shared demo database" below).
"""

from __future__ import annotations

import io
import os
from contextlib import contextmanager

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from peersupport.celery import app as celery_app

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config):
    # Fast hashing: tests create many users. Production keeps Django's default.
    django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _real_stack_configured() -> bool:
    return bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config, items):
    """Without DATABASE_URL and REDIS_URL, tests marked ``integration`` are deselected, not skipped.

    `make test` with both set (as .ci/run does on its second pass) runs them.

    Tests over the shared demo run last, one after another, so the demo is seeded once (pytest-django has
    already put the transactional tests after the others; this runs after it).
    """
    items[:] = [i for i in items if not _uses_demo(i)] + [i for i in items if _uses_demo(i)]
    if _real_stack_configured():
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("integration") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        config._real_stack_deselected = len(drop)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    n = getattr(config, "_real_stack_deselected", 0)
    if n:
        terminalreporter.write_line(
            f"{n} integration tests need PostgreSQL and Redis: run `make test` with DATABASE_URL and REDIS_URL set."
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"Skipped under CI=true, where nothing may be skipped: {report.longrepr}"


@pytest.fixture(autouse=True)
def _clean_cache():
    """allauth's rate limits live in the cache: start every test with none used."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _tasks_run_in_process(request):
    """Tasks run eagerly unless the test drives a real worker (``real_worker`` marker)."""
    if request.node.get_closest_marker("real_worker"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def real_stack():
    """Require the real PostgreSQL + Redis stack (DATABASE_URL and REDIS_URL)."""
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (the real stack)")
    if django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("needs PostgreSQL")


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (e-mail, jobs) as a committed request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _reset_broker_pools() -> None:
    # Celery keeps its connection pools; they must be rebuilt for a changed broker_url (as after a fork).
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker_unreachable():
    """The broker and the cache down, as when Redis has stopped: a closed port for both, and tasks queued for
    real (not run in-process), so queueing fails exactly as it does in production."""
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager = False
    conf.broker_url = "redis://127.0.0.1:9/0"
    _reset_broker_pools()
    # The production cache: Redis falling back to its database table (peersupport/cache.py).
    down = {"default": {"BACKEND": "peersupport.cache.FailoverCache", "LOCATION": "redis://127.0.0.1:9/0"}}
    try:
        with override_settings(CACHES=down):
            yield
    finally:
        conf.task_always_eager, conf.broker_url = saved
        _reset_broker_pools()


# --- The shared demo database ----------------------------------------------------------------------------------
#
# Seeding the demo is the slowest thing a test can do, and a dozen tests want the demo as ``seed_demo`` leaves
# it. A test that asks for ``demo_db`` gets it without paying for it: the demo is seeded once, inside a
# transaction that stays open, and each test runs in its own transaction (a savepoint) over it, rolled back
# after the test as usual, so a test may write freely. Before the first test that does not ask for
# ``demo_db`` (or at the end of the run) that outer transaction is rolled back too, so no other test ever
# sees the demo; a later ``demo_db`` test seeds it again. ``pytest_collection_modifyitems`` runs the demo
# tests together, so in a whole run that happens once. A ``transaction=True`` test cannot share it (its
# transactions really commit, then the database is flushed): it calls ``seed_demo`` itself. The one test
# that ``seed_demo`` changes nothing the second time runs it once more over the shared demo
# (tests/core/test_seed_demo.py).


class _SharedDemo:
    blocker = None  # pytest-django's django_db_blocker, known once the session fixture has run
    atomic = None  # the open transaction that holds the seeded demo


_shared_demo = _SharedDemo()


def _uses_demo(item) -> bool:
    return "demo_db" in getattr(item, "fixturenames", ())


def _demo_seed() -> None:
    with _shared_demo.blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        # As Django's TestCase marks its own: product code's durable blocks inside the test stay allowed.
        atomic._from_testcase = True
        _shared_demo.atomic = atomic
        call_command("seed_demo", stdout=io.StringIO())


def _demo_discard() -> None:
    atomic, _shared_demo.atomic = _shared_demo.atomic, None
    if atomic is not None:
        with _shared_demo.blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Before any fixture of the test (its own transaction included): drop the demo it must not see, or seed
    # the demo again for a demo test that follows one that dropped it.
    if not _uses_demo(item):
        _demo_discard()
    elif _shared_demo.atomic is None and _shared_demo.blocker is not None:
        _demo_seed()


@pytest.fixture(scope="session")
def _shared_demo_database(django_db_setup, django_db_blocker):
    # Session-scoped, so it is set up before the first demo test's own transaction is opened.
    _shared_demo.blocker = django_db_blocker
    if _shared_demo.atomic is None:
        _demo_seed()
    yield
    _demo_discard()


@pytest.fixture
def demo_db(request, _shared_demo_database, db):
    """The demo as ``seed_demo`` leaves it (shared, seeded once: see above); the test's writes are rolled back."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        pytest.fail("demo_db cannot serve a transaction=True test: call seed_demo in the test instead")
    assert _shared_demo.atomic is not None, "the shared demo was not seeded before this test's transaction"

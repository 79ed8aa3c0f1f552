"""Autosave hammered from several threads against a real server: no server error, no answer lost.

Members tick answers in quick succession; each tick is a request that writes the same row. On SQLite (``make
run``) a read-then-write transaction that meets another writer used to fail at once with "database is locked"
(HTTP 500); with WAL, IMMEDIATE transactions and a busy timeout (settings) writers wait their turn. The same
test runs against PostgreSQL (gunicorn with threads, as in production).

The server is a real process with its own connections (Django's test client shares one connection, and the
test database of SQLite is in memory), so the locking is the one users meet.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

ROOT = Path(__file__).resolve().parents[2]
THREADS = 9  # one per PHQ-9 item, so each thread's last answer is known
ROUNDS = 12

# Run in the server's database by a separate process: a member with an open baseline questionnaire, signed in.
PREPARE = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse
from outcomes.questionnaires.lifecycle import assessments_advance, assessments_ensure
from tests.factories import active_member, facilitated_group
from tests.outcomes.test_questionnaires import plan

group, _ = facilitated_group()
plan(group)
membership = active_member(group)
assessments_ensure(membership)
assessments_advance()
baseline = membership.assessments.get(time_point="baseline")
session = SessionStore()
session[SESSION_KEY] = str(membership.user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = membership.user.get_session_auth_hash()
session.create()
url = reverse("outcomes:autosave", args=[group.organisation.slug, baseline.pk, "phq9"])
print(json.dumps({"session": session.session_key, "url": url, "assessment": baseline.pk}))
"""

READ_BACK = """
import json
from outcomes.models import Response
print(json.dumps(Response.objects.get(assessment_id={assessment}, instrument_code="phq9").answers))
"""


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def shell(env: dict, code: str) -> dict:
    out = manage(env, "shell", "-c", code)
    return json.loads(out.strip().splitlines()[-1])


def server_env(database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "IN_PROCESS_SCHEDULE", "DATABASE_URL")}
    # No broker: tasks run in-process, as under make run. No scheduler thread: nothing else writes meanwhile.
    env.update(DATABASE_URL=database_url, DJANGO_DEBUG="1", PYTHONUNBUFFERED="1", IN_PROCESS_SCHEDULE="0")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, server: subprocess.Popen, within: float = 90) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=10).close()  # noqa: S310
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            assert server.poll() is None, server.stdout.read()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def hammer(port: int, url: str, session_key: str) -> tuple[Counter, dict[str, int]]:
    """THREADS threads, each ticking its own item ROUNDS times as fast as it can. Returns the status codes and
    each item's last value sent."""
    csrf = secrets.token_hex(16)  # any 32 characters: the cookie and the header must match
    cookie = f"sessionid={session_key}; csrftoken={csrf}"
    statuses: Counter = Counter()
    lock = threading.Lock()
    last: dict[str, int] = {}
    start = threading.Barrier(THREADS)

    def tick(item: int) -> None:
        key = f"q{item}"
        start.wait()
        for n in range(ROUNDS):
            value = (item + n) % 4
            request = urllib.request.Request(  # noqa: S310
                f"http://127.0.0.1:{port}{url}",
                data=f"{key}={value}".encode(),
                headers={
                    "Cookie": cookie,
                    "X-CSRFToken": csrf,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                    status = answer.status
            except urllib.error.HTTPError as error:
                status = error.code
            with lock:
                statuses[status] += 1
                if status == 200:
                    last[key] = value

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(1, THREADS + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return statuses, last


def runserver(port: int) -> list[str]:
    """``make run``'s server: Django's development server, a thread per request."""
    return [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]


def gunicorn(port: int) -> list[str]:
    """Production's: gunicorn, two processes of eight threads."""
    return [sys.executable, "-m", "gunicorn", "peersupport.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--threads", "8"]  # fmt: skip


def run_against(database_url: str, server_command, label: str) -> None:
    env = server_env(database_url)
    prepared = shell(env, PREPARE)
    port = free_port()
    server = subprocess.Popen(
        server_command(port), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_listening(port, server)
        began = time.monotonic()
        statuses, last = hammer(port, prepared["url"], prepared["session"])
        took = time.monotonic() - began
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"\n[{label}] {sum(statuses.values())} autosaves from {THREADS} threads in {took:.1f} s: {dict(statuses)}")
    assert statuses == Counter({200: THREADS * ROUNDS})  # no 500, nothing refused
    stored = shell(env, READ_BACK.format(assessment=int(prepared["assessment"])))
    assert stored == last  # every item's last answer is kept: no save overwrote another's


@pytest.fixture
def migrated_sqlite(tmp_path, django_db_blocker) -> str:
    """The address of a SQLite file holding what ``migrate`` makes, as ``make run`` starts from.

    On SQLite it is a copy of the test database, which pytest-django has just migrated (and every test leaves
    as it found it): the same schema as running ``migrate`` in another process, without paying for it again.
    """
    path = tmp_path / "db.sqlite3"
    database_url = f"sqlite:///{path}"
    if connection.vendor != "sqlite":
        manage(server_env(database_url), "migrate", "--noinput", "-v0")
        return database_url
    with django_db_blocker.unblock():
        connection.ensure_connection()
        assert not connection.in_atomic_block  # nothing uncommitted is copied
        executor = MigrationExecutor(connection)
        assert not executor.migration_plan(executor.loader.graph.leaf_nodes())  # every migration is applied
        copy = sqlite3.connect(path)
        try:
            connection.connection.backup(copy)
        finally:
            copy.close()
    return database_url


# transaction=True: no transaction of the test's own is open when the test database is copied.
@pytest.mark.django_db(transaction=True)
def test_autosave_from_several_threads_on_sqlite_never_errs_and_loses_nothing(migrated_sqlite):
    run_against(migrated_sqlite, runserver, "SQLite, runserver")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_autosave_from_several_threads_on_postgresql_never_errs_and_loses_nothing(real_stack):
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    run_against(database_url, gunicorn, "PostgreSQL, gunicorn")

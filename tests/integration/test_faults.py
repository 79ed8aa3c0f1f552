"""Faults on the real stack (PostgreSQL, Redis, real Celery workers): a bad day loses nothing.

- The broker is unreachable while members answer (as when Redis stops): no page fails, and every risk alert's
  e-mails go out exactly once when it is back, its connections having died as in a restart.
- A worker is killed in the middle of a recompute: the figures stay stale, and the sweep makes them fresh.
- The database drops every connection (as in a restart): the next page works without restarting anything.

Redis and PostgreSQL themselves are not stopped (other test runs may share them): the broker is pointed at a
closed port, which a client sees exactly as a stopped server, and connections are killed server-side
(Redis ``CLIENT KILL``, PostgreSQL ``pg_terminate_backend``), which is what a restart does to them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import connection, connections, transaction

from outcomes.evaluation import marking, recompute
from outcomes.models import CohortState, RiskAlert
from outcomes.questionnaires.lifecycle import assessments_advance, assessments_ensure
from outcomes.tasks import recompute_organisation, sweep_stale_cohorts
from peersupport.celery import app as celery_app
from peersupport.models import OutboxMessage, OutboxStatus, RoleKind
from peersupport.tasks import deliver_outbox, ping
from tests.conftest import broker_unreachable
from tests.factories import active_member, facilitated_group, person
from tests.outcomes.test_aggregation import answered
from tests.outcomes.test_questionnaires import PHQ9_ALL_ZERO, answer_url, plan

pytestmark = [pytest.mark.integration, pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker(real_stack):
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    yield
    celery_app.control.purge()


def kill_redis_clients() -> int:
    """Close every connection to our Redis database from the server side, as a Redis restart would."""
    url = redis.connection.parse_url(settings.REDIS_URL)
    admin = redis.Redis(host=url.get("host", "127.0.0.1"), port=url.get("port", 6379))
    db = url.get("db", 0)
    killed = 0
    for client in admin.client_list():
        if int(client.get("db", -1)) == int(db) and client["id"] != str(admin.client_id()):
            killed += admin.client_kill_filter(_id=client["id"])
    admin.close()
    return killed


def test_members_answering_while_the_broker_is_down_see_no_error_and_each_alert_goes_out_once_when_it_is_back(
    client, broker
):
    group, facilitator = facilitated_group()
    lead = person(group.organisation, RoleKind.LEAD)
    plan(group, {"baseline": (["phq9"], -1, 14)})
    memberships = [active_member(group) for _ in range(5)]
    for membership in memberships:
        assessments_ensure(membership)
    celery_app.conf.task_always_eager = True
    assessments_advance()
    celery_app.conf.task_always_eager = False
    mail.outbox.clear()

    statuses = []
    with broker_unreachable():
        for membership in memberships:
            client.force_login(membership.user)
            baseline = membership.assessments.get(time_point="baseline")
            response = client.post(
                answer_url(group, baseline, "phq9"), {**PHQ9_ALL_ZERO, "q9": "1", "action": "submit"}
            )
            statuses.append(response.status_code)
    assert statuses == [302] * 5  # the crisis page, every time: no server error
    assert RiskAlert.objects.count() == 5
    assert [m for m in mail.outbox if "Safeguarding" in m.subject] == []
    assert OutboxMessage.objects.filter(subject_type="risk_alert", status=OutboxStatus.PENDING).count() == 10

    # Redis is back, and restarted: every connection made before (the one this ping opens) is dead.
    ping.delay()
    assert kill_redis_clients() >= 1
    celery_app.control.purge()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert deliver_outbox.delay().get(timeout=60) == 10  # the periodic job, through the broker and a worker
        assert deliver_outbox.delay().get(timeout=60) == 0  # and again: nothing is sent twice
        assert sweep_stale_cohorts.delay().get(timeout=120) > 0  # the figures the outage left stale
    sent = Counter((m.to[0], m.body) for m in mail.outbox if "Safeguarding" in m.subject)
    assert len(sent) == 10 and set(sent.values()) == {1}
    assert Counter(m.to[0] for m in mail.outbox if "Safeguarding" in m.subject) == {
        facilitator.email: 5,
        lead.email: 5,
    }
    assert not CohortState.objects.filter(organisation=group.organisation, stale=True).exists()


def test_a_worker_killed_during_a_recompute_leaves_the_figures_stale_and_the_sweep_makes_them_fresh(broker):
    group, _ = facilitated_group()
    for score in (10, 14, 18, 22, 26):
        answered(active_member(group), "baseline", score)
    with transaction.atomic():
        marking.mark_stale(group)
    celery_app.control.purge()  # the message the mark queued: the worker below is given its own
    stale = CohortState.objects.filter(organisation=group.organisation, stale=True).count()
    assert stale > 0

    # Hold the organisation's recompute lock, so the worker's recompute is caught inside its transaction.
    holder = connections.create_connection("default")
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [lock_key(group.organisation_id)])
    env = {
        **os.environ,
        "DATABASE_URL": _url_of_test_database(),
        "CELERY_TRACE_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "peersupport", "worker", "--pool", "solo", "--without-heartbeat",
         "--without-gossip", "--without-mingle", "-Q", "celery", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        recompute_organisation.delay(group.organisation_id)
        assert _wait_for_lock_waiter(group.organisation_id), "the worker never started the recompute"
        worker.send_signal(signal.SIGKILL)  # killed mid-recompute: its transaction dies with it
        worker.wait(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")
        holder.close()
    assert CohortState.objects.filter(organisation=group.organisation, stale=True).count() == stale
    celery_app.control.purge()  # acks_late left the message for redelivery an hour later; the sweep is sooner
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert sweep_stale_cohorts.delay().get(timeout=120) == stale
    assert not CohortState.objects.filter(organisation=group.organisation, stale=True).exists()
    own = CohortState.objects.get(organisation=group.organisation, dimension="group", value=str(group.pk))
    assert own.outcome_summaries.get(scale="total", time_point="baseline").n == 5


def test_the_web_process_works_again_after_the_database_drops_every_connection(real_stack):
    """A real server (gunicorn, persistent connections with health checks), not the test client: Django's test
    client turns off the per-request connection checks that make this work."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own = cursor.fetchone()[0]
    port = free_port()
    env = {**os.environ, "DATABASE_URL": _url_of_test_database(), "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "peersupport.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert health(port)["database"] == "ok"
        with side_cursor() as cursor:  # what a restart does to every client
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s)",
                [own],
            )
            assert cursor.fetchone()[0] >= 1  # the server's connection among them
        after = [health(port, within=0) for _ in range(2)]
        assert [answer["database"] for answer in after] == ["ok", "ok"]  # no restart of the web process needed
    finally:
        server.terminate()
        server.wait(timeout=20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(port: int, *, within: float = 60) -> dict:
    """GET /health/ (the database part runs a query on the server's persistent connection), waiting up to
    ``within`` seconds for the server to listen."""
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=10) as answer:  # noqa: S310
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:  # 503 names what is down
            return json.loads(error.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def lock_key(organisation_id: int) -> int:
    return (recompute._LOCK_NAMESPACE << 32) + organisation_id


@contextmanager
def side_cursor():
    """A cursor on a connection of its own (not the test's), closed afterwards."""
    side = connections.create_connection("default")
    try:
        with side.cursor() as cursor:
            yield cursor
    finally:
        side.close()


def _url_of_test_database() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for_lock_waiter(organisation_id: int, *, within: float = 60) -> bool:
    """Whether another session is waiting for the organisation's recompute lock (the worker, inside its recompute)."""
    key = lock_key(organisation_id)
    deadline = time.monotonic() + within
    with side_cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND ((classid::bigint << 32) | objid::bigint) = %s",
                [key],
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.2)
    return False

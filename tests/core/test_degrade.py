"""A bad day degrades, it does not fail: sign-in without Redis, a 503 page without the database.

Redis "down" is a closed local port, which a client sees exactly as a stopped server. The database "down" is a
real server (gunicorn) started with a database nobody can open: a SQLite file in a missing directory, and a
PostgreSQL address where nothing listens.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import override_settings
from django.urls import reverse

from peersupport.models import AuditEvent, CacheFallbackEntry
from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_down():
    """The production cache (Redis with its database fallback) pointed at a Redis that is not there."""
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": "peersupport.cache.FailoverCache",
                "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }
    )


@pytest.mark.django_db
def test_members_sign_in_while_redis_is_down_and_the_switch_to_the_database_is_logged(client, caplog):
    UserFactory(email="amy@example.org")
    with redis_down(), caplog.at_level(logging.WARNING, logger="peersupport.cache"):
        response = client.post(reverse("account_login"), {"login": "amy@example.org", "password": PASSWORD})
        assert response.status_code == 302
        assert response.url == reverse("home")
        assert client.get(reverse("home")).context["user"].email == "amy@example.org"
        health = client.get(reverse("health")).json()
    assert health["cache"] == "down" and health["database"] == "ok"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_IN).count() == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "peersupport.cache"]
    assert len(warnings) == 1 and "Cache unreachable" in warnings[0]


@pytest.mark.django_db
def test_failed_sign_ins_are_still_limited_while_redis_is_down_by_counters_in_the_database(client):
    UserFactory(email="target@example.org")
    with redis_down():
        answers = [
            client.post(reverse("account_login"), {"login": "target@example.org", "password": f"guess-{i}"})
            for i in range(12)
        ]
        assert CacheFallbackEntry.objects.filter(cache_key__contains="login_failed").exists()
        last = client.post(reverse("account_login"), {"login": "target@example.org", "password": PASSWORD})
    limited = [a for a in answers if a.status_code == 429 or b"Too many failed" in a.content]
    assert limited, "no failed sign-in was limited"
    assert last.status_code != 302 and "_auth_user_id" not in client.session


@pytest.mark.integration
@pytest.mark.django_db
def test_the_cache_goes_back_to_redis_when_it_answers(real_stack, caplog):
    from peersupport.cache import FailoverCache, _down_until

    live = FailoverCache(os.environ["REDIS_URL"], {"RETRY_AFTER": 0})
    _down_until[live.location] = 0.0  # as after a failure whose back-off has passed
    with caplog.at_level(logging.WARNING, logger="peersupport.cache"):
        live.set("degrade-test", "from-redis", 10)
    assert live.primary.get("degrade-test") == "from-redis"
    assert not CacheFallbackEntry.objects.exists()
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    live.delete("degrade-test")


@pytest.mark.integration
def test_the_default_cache_is_redis_with_the_database_fallback_on_the_real_stack(real_stack):
    from peersupport.cache import FailoverCache

    assert isinstance(caches["default"], FailoverCache)


@pytest.mark.django_db
def test_every_page_carries_a_permissions_policy_denying_camera_microphone_and_location(client):
    for url in (reverse("home"), reverse("account_login"), reverse("health")):
        policy = client.get(url).headers["Permissions-Policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
            assert feature in policy, (url, feature)


def _serve(database_url: str):
    port = closed_port()
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "peersupport.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    return server, port


def _get(port: int, path: str, *, within: float = 60):
    """GET as a signed-in visitor would (a session cookie, which is read from the database)."""
    deadline = time.monotonic() + within
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Cookie": "sessionid=0123456789abcdef0123456789abcdef"}
    )
    while True:
        try:
            with urllib.request.urlopen(request, timeout=20) as answer:  # noqa: S310
                return answer.status, dict(answer.headers), answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.parametrize(
    "database_url",
    [
        pytest.param(lambda tmp: f"sqlite:///{tmp / 'missing-directory' / 'db.sqlite3'}", id="sqlite"),
        pytest.param(lambda tmp: f"postgres://postgres@127.0.0.1:{closed_port()}/nothing", id="postgresql"),
    ],
)
def test_with_the_database_down_pages_answer_a_short_503_with_retry_after_and_health_names_it(database_url, tmp_path):
    server, port = _serve(database_url(tmp_path))
    try:
        status, headers, body = _get(port, "/health/")
        assert status == 503
        assert '"database": "down"' in body
        for path in ("/", "/accounts/login/", "/profile/"):
            status, headers, body = _get(port, path)
            assert status == 503, (path, status, body[:300])
            assert headers["Retry-After"] == "30"
            assert "briefly unavailable" in body
            assert "Traceback" not in body and len(body) < 2000
            assert "Permissions-Policy" in headers
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "Database unavailable" in output

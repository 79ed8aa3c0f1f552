"""The settings read the environment: SQLite or PostgreSQL, eager tasks or Redis, dev or production."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "health": db.get("CONN_HEALTH_CHECKS"),
    "max_age": db.get("CONN_MAX_AGE"), "broker": settings.CELERY_BROKER_URL,
    "eager": settings.CELERY_TASK_ALWAYS_EAGER, "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"].get("LOCATION"),
    "debug": settings.DEBUG,
}))
"""

BASE_ENV = {
    k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"}
}
BASE_ENV["DJANGO_SETTINGS_MODULE"] = "peersupport.settings"


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**BASE_ENV, **env}, capture_output=True, text=True, timeout=60
    )


def probe(**env: str) -> dict:
    result = run_python(PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_database_url_the_site_uses_a_sqlite_file_under_var():
    found = probe()
    assert found["engine"] == "django.db.backends.sqlite3"
    assert Path(found["name"]) == ROOT / "var" / "db.sqlite3"


def test_database_url_switches_to_postgresql_with_persistent_checked_connections():
    found = probe(DATABASE_URL="postgres://someone:secret@db.internal:5433/peers")
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["name"] == "peers"
    assert found["health"] is True
    assert found["max_age"] == 60


def test_without_redis_url_tasks_run_in_process_and_the_cache_is_local_memory():
    found = probe()
    assert found["eager"] is True
    assert found["cache"] == "django.core.cache.backends.locmem.LocMemCache"


def test_redis_url_makes_redis_the_broker_and_the_cache():
    found = probe(REDIS_URL="redis://cache.internal:6379/2")
    assert found["eager"] is False
    assert found["broker"] == "redis://cache.internal:6379/2"
    # Redis, falling back to a database table while it cannot be reached (peersupport/cache.py).
    assert found["cache"] == "peersupport.cache.FailoverCache"
    assert found["cache_location"] == "redis://cache.internal:6379/2"


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = run_python(PROBE, DJANGO_DEBUG="0", ALLOWED_HOSTS="peers.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DJANGO_DEBUG=0" in result.stderr


def test_production_mode_refuses_to_start_without_allowed_hosts():
    result = run_python(
        PROBE, DJANGO_DEBUG="0", SECRET_KEY="x" * 10 + "a-real-looking-secret-Qm9vYmFyYmF6cXV4MTIzNDU2Nzg5"
    )
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set when DJANGO_DEBUG=0" in result.stderr


def test_check_deploy_reports_no_issue_in_production_mode():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **BASE_ENV,
            "DJANGO_DEBUG": "0",
            "SECRET_KEY": "k3Y-4_production_6f1e0c9b2a7d4e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c",
            "ALLOWED_HOSTS": "peers.example.org",
            "SITE_URL": "https://peers.example.org",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_in_production_links_default_to_https_on_the_first_allowed_host_and_a_deploy_check_says_to_set_site_url():
    code = "import django; from django.conf import settings; django.setup(); print(settings.SITE_URL)"
    prod = {"DJANGO_DEBUG": "0", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "peers.example.org,www.peers.example.org"}
    result = run_python(code, **prod)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "https://peers.example.org"
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={**BASE_ENV, **prod},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "peersupport.W002" in check.stderr + check.stdout
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={**BASE_ENV, **prod, "SITE_URL": "https://peers.example.org"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "peersupport.W002" not in check.stderr + check.stdout

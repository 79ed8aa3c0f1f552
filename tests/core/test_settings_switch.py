"""The settings read the environment: SQLite or PostgreSQL, eager tasks or Redis, dev or production.

Each variant's environment is read by the settings module afresh, all in ONE child Python process (starting
Django is what costs; ``settings_probe.py`` runs every variant and the deploy checks there, in that order).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BASE_ENV = {
    k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"}
}
BASE_ENV["DJANGO_SETTINGS_MODULE"] = "peersupport.settings"

PRODUCTION_LINKS = {
    "DJANGO_DEBUG": "0",
    "SECRET_KEY": "x" * 60,
    "ALLOWED_HOSTS": "peers.example.org,www.peers.example.org",
}

# name -> environment, on top of the test run's own (without DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS)
VARIANTS = {
    "default": {},
    "postgresql": {"DATABASE_URL": "postgres://someone:secret@db.internal:5433/peers"},
    "redis": {"REDIS_URL": "redis://cache.internal:6379/2"},
    "production without a secret key": {"DJANGO_DEBUG": "0", "ALLOWED_HOSTS": "peers.example.org"},
    "production without allowed hosts": {
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": "x" * 10 + "a-real-looking-secret-Qm9vYmFyYmF6cXV4MTIzNDU2Nzg5",
    },
    "production links": PRODUCTION_LINKS,
}

# `manage.py check --deploy` in production mode: (name, environment, fail level). Django starts with the first.
CHECKS = [
    (
        "production",
        {
            "DJANGO_DEBUG": "0",
            "SECRET_KEY": "k3Y-4_production_6f1e0c9b2a7d4e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c",
            "ALLOWED_HOSTS": "peers.example.org",
            "SITE_URL": "https://peers.example.org",
        },
        "WARNING",
    ),
    ("production links", PRODUCTION_LINKS, "ERROR"),
    ("production links with site url", {**PRODUCTION_LINKS, "SITE_URL": "https://peers.example.org"}, "ERROR"),
]


@pytest.fixture(scope="module")
def probed() -> dict:
    """What the settings made of each variant, and what each deploy check printed: one child process for all."""
    plan = {"variants": VARIANTS, "checks": [{"name": n, "env": e, "fail_level": f} for n, e, f in CHECKS]}
    result = subprocess.run(
        [sys.executable, "-m", "tests.core.settings_probe"],
        cwd=ROOT,
        env=BASE_ENV,
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def variant(probed, name: str) -> dict:
    found = probed["variants"][name]
    assert "refused" not in found, found["refused"]
    return found


def test_without_database_url_the_site_uses_a_sqlite_file_under_var(probed):
    found = variant(probed, "default")
    assert found["engine"] == "django.db.backends.sqlite3"
    assert Path(found["name"]) == ROOT / "var" / "db.sqlite3"


def test_database_url_switches_to_postgresql_with_persistent_checked_connections(probed):
    found = variant(probed, "postgresql")
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["name"] == "peers"
    assert found["health"] is True
    assert found["max_age"] == 60


def test_without_redis_url_tasks_run_in_process_and_the_cache_is_local_memory(probed):
    found = variant(probed, "default")
    assert found["eager"] is True
    assert found["cache"] == "django.core.cache.backends.locmem.LocMemCache"


def test_redis_url_makes_redis_the_broker_and_the_cache(probed):
    found = variant(probed, "redis")
    assert found["eager"] is False
    assert found["broker"] == "redis://cache.internal:6379/2"
    # Redis, falling back to a database table while it cannot be reached (peersupport/cache.py).
    assert found["cache"] == "peersupport.cache.FailoverCache"
    assert found["cache_location"] == "redis://cache.internal:6379/2"


def test_production_mode_refuses_to_start_without_a_secret_key(probed):
    refused = probed["variants"]["production without a secret key"].get("refused", "")
    assert "SECRET_KEY must be set when DJANGO_DEBUG=0" in refused


def test_production_mode_refuses_to_start_without_allowed_hosts(probed):
    refused = probed["variants"]["production without allowed hosts"].get("refused", "")
    assert "ALLOWED_HOSTS must be set when DJANGO_DEBUG=0" in refused


def test_check_deploy_reports_no_issue_in_production_mode(probed):
    check = probed["checks"]["production"]
    assert check["passed"], check["output"]
    assert "System check identified no issues (0 silenced)." in check["output"]


def test_in_production_links_default_to_https_on_the_first_allowed_host_and_a_deploy_check_says_to_set_site_url(
    probed,
):
    assert variant(probed, "production links")["site_url"] == "https://peers.example.org"
    assert "peersupport.W002" in probed["checks"]["production links"]["output"]
    assert "peersupport.W002" not in probed["checks"]["production links with site url"]["output"]


def test_the_probe_reads_the_settings_module_afresh_for_each_variant(probed):
    """Guard on the batching itself: variants do not leak into one another."""
    assert variant(probed, "default")["debug"] is True
    assert variant(probed, "production links")["debug"] is False
    assert variant(probed, "default")["engine"] != variant(probed, "postgresql")["engine"]

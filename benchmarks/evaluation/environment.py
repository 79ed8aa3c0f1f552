"""Environment: the scratch PostgreSQL database and Redis, Django, the machine."""

from __future__ import annotations

import os
import platform
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from .config import POSTGRES_SCHEMES, ROOT


def database_url_or_exit() -> str:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        sys.exit(
            "benchmarks/evaluation needs PostgreSQL: set DATABASE_URL to a scratch database, e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/9 "
            ".venv/bin/python -m benchmarks.evaluation\n"
            f"(got {'nothing' if not url else parts.scheme + '://…'}; SQLite and other databases are not measured)."
        )
    name = parts.path.lstrip("/")
    if not name.startswith("bench"):
        sys.exit(
            f"The database is dropped and re-created at every run: its name must start with 'bench' (not {name!r})."
        )
    return url


def redis_url_or_exit() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url.startswith(("redis://", "rediss://")):
        sys.exit(
            "benchmarks/evaluation needs REDIS_URL (a scratch Redis database, e.g. redis://127.0.0.1:6379/9): "
            "the latency phase runs a real Celery worker."
        )
    return url


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ["DJANGO_SETTINGS_MODULE"] = "peersupport.settings"
    # As in production: no per-query log in the process (DEBUG keeps one). A benchmark-only key.
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + uuid.uuid4().hex)
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    import django

    django.setup()


def machine() -> dict[str, str]:
    from django.db import connection

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()[0]
    import django

    return {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "postgresql": f"{pg} (shared_buffers {shared_buffers}, work_mem {work_mem})",
        "python": f"{platform.python_version()}, Django {django.get_version()}, numpy {np.__version__}",
    }

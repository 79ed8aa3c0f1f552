"""Liveness of the parts the site needs: database, cache and broker."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from kombu import Connection

from .cache import primary_of

logger = logging.getLogger(__name__)


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_cache() -> str:
    """Redis itself, even while the default cache is answering from its database fallback."""
    redis_cache = primary_of(cache)
    key = f"health:{uuid.uuid4().hex}"
    redis_cache.set(key, "1", timeout=10)
    if redis_cache.get(key) != "1":
        raise RuntimeError("value written was not read back")
    redis_cache.delete(key)
    return "ok"


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok (tasks run in-process)"
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker}


def check_all() -> dict:
    parts: dict[str, str] = {}
    down: list[str] = []
    for name, check in CHECKS.items():
        try:
            parts[name] = check()
        except Exception as exc:  # any failure means the part is down; say which
            logger.warning("health: %s is down: %s", name, exc)
            parts[name] = "down"
            down.append(name)
    return {"status": "ok" if not down else "down", "down": down, **parts}

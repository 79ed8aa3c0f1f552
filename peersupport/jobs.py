"""Queueing Celery tasks from a request without ever failing it.

Everything queued from a page is also done by a periodic job (the outbox delivery, the sweep of stale figures,
the assessments' lifecycle), so a task that cannot be queued because the broker is down is only late. ``enqueue``
therefore logs a broker failure instead of raising it into the member's page, and retries once at once instead of
Celery's default of three growing waits (with the connection's own retries, they held a submit for up to 19 s
with Redis down; the connection's retries are set in ``CELERY_BROKER_TRANSPORT_OPTIONS``).

Tasks that run in-process (no ``REDIS_URL``, and tests) are applied as they always are: their own errors
propagate, because they are bugs, not outages.
"""

from __future__ import annotations

import logging

from celery import current_app
from celery.exceptions import NotRegistered
from kombu.exceptions import KombuError, OperationalError

logger = logging.getLogger(__name__)

# What a broker (or the Redis client under it) raises when it cannot be reached.
BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, KombuError, ConnectionError, TimeoutError, OSError)
try:  # redis-py's errors do not derive from the built-in ConnectionError
    import redis.exceptions

    BROKER_ERRORS += (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
except ImportError:  # pragma: no cover - redis is a pinned requirement
    pass


#: One quick retry of a publish (a pooled connection that died with a Redis restart), instead of Celery's default
#: of three with growing waits.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def task_named(name: str):
    """The registered task called ``name``, importing every app's ``tasks`` module first if need be (Celery's
    autodiscovery is lazy: a web process imports them only when asked)."""
    try:
        return current_app.tasks[name]
    except NotRegistered:
        current_app.loader.import_default_modules()
        return current_app.tasks[name]


def enqueue(task, *args, countdown: float | None = None) -> bool:
    """Queue ``task(*args)`` (a task, or its registered name). Returns False, logging why, when the broker cannot
    take it. A name lets a service queue a task without importing the module that defines it (no service imports
    ``tasks``: the tasks import the services)."""
    if isinstance(task, str):
        task = task_named(task)
    if current_app.conf.task_always_eager:
        task.apply_async(args, countdown=countdown)
        return True
    try:
        task.apply_async(args, countdown=countdown, retry=True, retry_policy=PUBLISH_RETRY)
    except BROKER_ERRORS as exc:
        logger.warning("Could not queue %s%r (the periodic job will do it): %s", task.name, args, exc)
        return False
    return True

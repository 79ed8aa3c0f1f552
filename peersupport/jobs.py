"""Queueing Celery tasks from a request without ever failing it.

Everything queued from a page is also done by a periodic job (the outbox delivery, the sweep of stale figures,
the assessments' lifecycle), so a task that cannot be queued because the broker is down is only late. ``enqueue``
therefore logs a broker failure instead of raising it into the member's page, and retries once at once instead of
Celery's default of three growing waits (with the connection's own retries, they held a submit for up to 19 s
with Redis down; the connection's retries are set in ``CELERY_BROKER_TRANSPORT_OPTIONS``).

Tasks that run in-process (no ``REDIS_URL``, and tests) are applied as they always are: their own errors
propagate, because they are bugs, not outages. Under ``make run`` the in-process scheduler also turns on
:func:`run_in_background`: a task queued with ``background=True`` (the recompute of the figures, which takes
seconds) then runs in one background thread, in order, as a worker would, so the member's submit does not wait
for it.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from celery import current_app
from celery.exceptions import NotRegistered
from django.db import connections
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


_background: ThreadPoolExecutor | None = None


def run_in_background() -> None:
    """From now on, in-process tasks queued with ``background=True`` run in one background thread (``make run``'s
    stand-in for a worker; started with the in-process scheduler, never in tests unless a test asks)."""
    global _background
    if _background is None:
        _background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="in-process-task")


def stop_background(*, wait: bool = True) -> None:
    """Stop the background thread (after the tasks already queued, with ``wait``); tasks run in the caller again."""
    global _background
    executor, _background = _background, None
    if executor is not None:
        executor.shutdown(wait=wait)


def _apply_in_thread(task, args) -> None:
    """Run one task in the background thread. Logs, never raises: nobody is waiting for it."""
    try:
        result = task.apply(args)
        if result.failed():
            logger.error("Background task %s%r failed: %r", task.name, args, result.result)
    except Exception:
        logger.exception("Background task %s%r failed", task.name, args)
    finally:
        connections.close_all()  # this thread's connections; the server's own are untouched


def enqueue(task, *args, countdown: float | None = None, background: bool = False) -> bool | Future:
    """Queue ``task(*args)`` (a task, or its registered name). Returns False, logging why, when the broker cannot
    take it. A name lets a service queue a task without importing the module that defines it (no service imports
    ``tasks``: the tasks import the services). ``background``: a slow task the caller need not wait for, run in
    the background thread when there is one (see :func:`run_in_background`; its future is returned)."""
    if isinstance(task, str):
        task = task_named(task)
    if current_app.conf.task_always_eager:
        executor = _background
        if background and executor is not None:
            return executor.submit(_apply_in_thread, task, args)
        task.apply_async(args, countdown=countdown)
        return True
    try:
        task.apply_async(args, countdown=countdown, retry=True, retry_policy=PUBLISH_RETRY)
    except BROKER_ERRORS as exc:
        logger.warning("Could not queue %s%r (the periodic job will do it): %s", task.name, args, exc)
        return False
    return True

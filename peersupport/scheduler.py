"""The periodic jobs, run in-process when there is no broker (``make run``).

In production Celery beat queues the jobs of ``CELERY_BEAT_SCHEDULE`` (reminders, questionnaires' lifecycle, the
sweep of stale figures, the outbox). Without ``REDIS_URL`` there is no beat and no worker, so the development
server starts this scheduler in a daemon thread instead: the same schedule, each job run in the thread (tasks run
eagerly without a broker), so the demo behaves as production does. Every job looks at the current state each
time it runs, so a run missed while the server was stopped is simply done at the next start.

It is started by ``PeerSupportConfig.ready`` in the serving process of ``runserver`` when ``IN_PROCESS_SCHEDULE``
is on (the default without ``REDIS_URL``); never in tests, migrations or other commands, and never beside beat.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading

from celery.schedules import maybe_schedule
from django.db import connections
from django.utils import timezone

from .jobs import run_in_background, task_named

logger = logging.getLogger(__name__)

#: Seconds after start before the first run of every job (the server is up by then).
FIRST_RUN_AFTER = 3.0
#: The longest the thread sleeps between looks at the schedule.
TICK = 5.0


def run_job(task_name: str) -> bool:
    """Run one periodic task in this thread. Logs, never raises: one failing job must not stop the others."""
    try:
        result = task_named(task_name).apply()
        if result.failed():
            logger.error("Periodic job %s failed: %r", task_name, result.result)
            return False
        return True
    except Exception:
        logger.exception("Periodic job %s failed", task_name)
        return False
    finally:
        connections.close_all()  # this thread's connections; the server's own are untouched


class Scheduler(threading.Thread):
    """Runs every entry of a beat schedule (``{name: {"task": …, "schedule": seconds | schedule}}``) when due."""

    def __init__(self, schedule: dict, *, first_run_after: float = FIRST_RUN_AFTER, tick: float = TICK):
        super().__init__(name="in-process-scheduler", daemon=True)
        self.entries = {name: (entry["task"], maybe_schedule(entry["schedule"])) for name, entry in schedule.items()}
        self.first_run_after = first_run_after
        self.tick = tick
        self.stopped = threading.Event()
        self.runs: dict[str, int] = dict.fromkeys(self.entries, 0)

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        if self.stopped.wait(self.first_run_after):
            return
        last_run: dict[str, dt.datetime] = {}
        while not self.stopped.is_set():
            wait = self.tick
            for name, (task, schedule) in self.entries.items():
                due, next_in = (True, 0.0) if name not in last_run else schedule.is_due(last_run[name])
                if due:
                    last_run[name] = timezone.now()
                    run_job(task)
                    self.runs[name] += 1
                    next_in = schedule.is_due(last_run[name])[1]
                wait = min(wait, max(next_in, 0.5))
            self.stopped.wait(wait)


def serving_process() -> bool:
    """True in the process of ``manage.py runserver`` that serves requests (the autoreloader's child, or the
    only process with ``--noreload``); False in its watching parent and in every other command."""
    if len(sys.argv) < 2 or sys.argv[1] != "runserver":
        return False
    return os.environ.get("RUN_MAIN") == "true" or "--noreload" in sys.argv


_started: Scheduler | None = None


def start(schedule: dict) -> Scheduler:
    """Start the scheduler once per process."""
    global _started
    if _started is None:
        run_in_background()  # and, as a worker would, the recompute a submit queues runs beside the request
        _started = Scheduler(schedule)
        _started.start()
        names = ", ".join(sorted(entry["task"].rsplit(".", 1)[-1] for entry in schedule.values()))
        logger.info("In-process scheduler started (no broker): %s", names)
    return _started

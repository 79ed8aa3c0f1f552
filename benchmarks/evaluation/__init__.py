"""Scale benchmark of the evaluation engine: full recompute, submit-to-fresh latency and the item-level export.

Run (from the repository root, against a scratch PostgreSQL database that is DROPPED and re-created):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python -m benchmarks.evaluation [--members 100000] [--groups 5000]

Phases (each a module of this package):

1. ``generate``   a synthetic organisation written with PostgreSQL COPY into the real tables
                  (``copying``: the COPY helpers; ``scoring``: vectorised scoring, checked on a sample).
2. ``recompute``  (a) ``recompute_all`` against a bare ``GROUP BY GROUPING SETS`` over the same cells.
3. ``latency``    (b) submit → every cohort of the member's group fresh, with a real Celery worker.
4. ``export``     (c) the long-format item CSV (rows/s, memory) against ``COPY … TO STDOUT``;
                  run in a child process so its memory figures start from a clean baseline.

``cli`` runs them and reports; ``environment`` (database, Redis, Django, machine), ``output`` and ``config``
(constants, targets) are shared, also by ``benchmarks/reads.py`` and ``benchmarks/load/run.py``, which use the
names below. Prints figures and targets; asserts nothing about timings. See benchmarks/README.md.
"""

from .environment import (
    database_url_or_exit,
    django_setup,
    machine,
    recreate_database,
    redis_url_or_exit,
)
from .export import reset_peak_rss, vm_kib
from .generate import Generated, generate, vacuum_analyze
from .latency import start_worker, stop_worker, wait_for_worker
from .output import mark, note, say, seconds
from .recompute import BARE_SQL, timed_sql

__all__ = [
    "BARE_SQL",
    "Generated",
    "database_url_or_exit",
    "django_setup",
    "generate",
    "machine",
    "mark",
    "note",
    "recreate_database",
    "redis_url_or_exit",
    "reset_peak_rss",
    "say",
    "seconds",
    "start_worker",
    "stop_worker",
    "timed_sql",
    "vacuum_analyze",
    "vm_kib",
    "wait_for_worker",
]

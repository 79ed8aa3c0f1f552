"""Constants of the evaluation benchmark: paths, the synthetic plan, the targets."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis"}

INSTRUMENTS = ("phq9", "gad7", "core10")  # built-in wording: no InstrumentText needed
TIME_POINTS = ("baseline", "post", "follow_up_3")
# (time point, anchor, opens, closes in days) as in outcomes/demo.py
PLAN = (
    ("baseline", "first_session", -14, 7),
    ("post", "last_session", -3, 21),
    ("follow_up_3", "last_session", 76, 104),
)
TARGET_RECOMPUTE_RATIO = 3.0
TARGET_RECOMPUTE_SECONDS = 60.0
TARGET_LATENCY_MEDIAN = 1.0
TARGET_EXPORT_ROWS_PER_S = 100_000
TARGET_EXPORT_MB = 50.0
TRACED_ROWS = 500_000  # rows of the export traced by tracemalloc (the untraced pass exports them all)

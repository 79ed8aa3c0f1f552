"""2. (a) Full recompute (``recompute_all``) against a bare ``GROUP BY GROUPING SETS`` over the same cells."""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass

from .output import note, say, seconds

BARE_SQL = """
WITH r AS (
    SELECT m.group_id, c.family::text AS family, c.kind, g.format, g.delivery, g.audience,
           r.instrument_code, a.time_point, r.total
    FROM outcomes_response r
    JOIN outcomes_assessment a ON a.id = r.assessment_id
    JOIN groups_membership m ON m.id = a.membership_id
    JOIN groups_supportgroup g ON g.id = m.group_id
    LEFT JOIN groups_curriculum c ON c.id = g.curriculum_id
    WHERE g.organisation_id = %s AND r.submitted_at IS NOT NULL AND r.total IS NOT NULL
)
SELECT CASE
         WHEN GROUPING(group_id) = 0 THEN 'group'
         WHEN GROUPING(family) = 0 THEN 'curriculum'
         WHEN GROUPING(kind) = 0 THEN 'curriculum_kind'
         WHEN GROUPING(format) = 0 THEN 'format'
         WHEN GROUPING(delivery) = 0 THEN 'delivery'
         WHEN GROUPING(audience) = 0 THEN 'audience'
         ELSE 'organisation'
       END AS dimension,
       COALESCE(group_id::text, family, kind, format, delivery, audience, '') AS value,
       instrument_code, time_point, count(*), avg(total), stddev_samp(total) {extra}
FROM r
GROUP BY GROUPING SETS (
    (instrument_code, time_point),
    (group_id, instrument_code, time_point),
    (family, instrument_code, time_point),
    (kind, instrument_code, time_point),
    (format, instrument_code, time_point),
    (delivery, instrument_code, time_point),
    (audience, instrument_code, time_point)
)
HAVING NOT (GROUPING(family) = 0 AND family IS NULL) AND NOT (GROUPING(kind) = 0 AND kind IS NULL)
"""
QUARTILES = ", percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY total)"


def timed_sql(sql: str, params) -> tuple[float, list]:
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        return time.perf_counter() - started, rows


@dataclass
class RecomputeResult:
    seconds: float
    cohorts: int
    phases: dict[str, float]  # seconds by phase of recompute_all
    sql_seconds: float
    sql_quartiles_seconds: float
    cells: int
    rows: dict[str, int]
    agree: str

    @property
    def ratio(self) -> float:
        return self.seconds / self.sql_seconds


@contextmanager
def phase_timer(phases: dict[str, float]):
    """Time ``engine.load``, ``engine.compute`` and the saving of each group's data (``group_data.split`` and
    ``ReadResult.save``) inside ``recompute_all`` by wrapping them for the duration (instrumentation in this
    process only: no application file is changed)."""
    from outcomes.evaluation import engine, group_data

    targets = [
        (engine, "load", "load"),
        (engine, "compute", "compute"),
        (group_data, "split", "save"),
        (group_data.ReadResult, "save", "save"),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]

    def timed(original, label):
        def call(*args, **kwargs):
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                phases[label] = phases.get(label, 0.0) + time.perf_counter() - began

        return call

    for (owner, name, label), (_, _, original) in zip(targets, originals, strict=True):
        setattr(owner, name, timed(original, label))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def recompute_measured(organisation_id: int, *, profile: bool) -> tuple[float, int, dict[str, float]]:
    """``recompute_all`` as it is: (seconds, cohorts, seconds by phase)."""
    from outcomes.evaluation.recompute import recompute_all

    phases: dict[str, float] = {}
    started = time.perf_counter()
    with phase_timer(phases):
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            cohorts = recompute_all(organisation_id=organisation_id)
            profiler.disable()
            elapsed = time.perf_counter() - started
            say(f"\ncProfile of recompute_all ({seconds(elapsed)} under the profiler, {cohorts} cohorts)")
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(45)
        else:
            cohorts = recompute_all(organisation_id=organisation_id)
            elapsed = time.perf_counter() - started
    load, compute, save = (phases.get(name, 0.0) for name in ("load", "compute", "save"))
    return (
        elapsed,
        cohorts,
        {
            "read (engine.load)": load,
            "figures (engine.compute)": compute,
            "saving each group's data (group_data)": save,
            "the rest (marking, writing, commit)": elapsed - load - compute - save,
        },
    )


def bench_recompute(organisation_id: int, *, profile: bool = False):
    from outcomes.models import (
        ChangeSummary,
        CohortState,
        ComparisonSummary,
        FlowSummary,
        GroupComparisonSet,
        OutcomeSummary,
    )

    note("recompute_all …")
    elapsed, cohorts, phases = recompute_measured(organisation_id, profile=profile)

    bare = BARE_SQL.format(extra="")
    timed_sql(bare, [organisation_id])  # warm
    runs = [timed_sql(bare, [organisation_id]) for _ in range(3)]
    sql_seconds = sorted(t for t, _ in runs)[1]
    cells = {(dim, value, code, tp): (n, mean) for dim, value, code, tp, n, mean, _sd in runs[0][1]}
    quartiles_seconds, _ = timed_sql(BARE_SQL.format(extra=QUARTILES), [organisation_id])

    # The same cells, computed both ways, must agree (a check of the benchmark, not of timing).
    stored = OutcomeSummary.objects.filter(cohort__organisation_id=organisation_id, scale="total").values_list(
        "cohort__dimension", "cohort__value", "instrument_code", "time_point", "n", "mean"
    )
    n_stored = matched = 0
    for dim, value, code, tp, n, mean in stored:
        n_stored += 1
        sql = cells.get((dim, value, code, tp))
        matched += bool(sql and sql[0] == n and math.isclose(sql[1], mean, rel_tol=1e-9))
    agree = f"{matched:,} of {n_stored:,} stored OutcomeSummary cells (scale total) equal the SQL's n and mean"
    of_org = {"cohort__organisation_id": organisation_id}
    rows = {
        "cohort states": CohortState.objects.filter(organisation_id=organisation_id).count(),
        "outcome summaries": OutcomeSummary.objects.filter(**of_org).count(),
        "change summaries": ChangeSummary.objects.filter(**of_org).count(),
        "comparison summaries": ComparisonSummary.objects.filter(**of_org).count(),
        "group vs rest (sets)": sum(
            len(group_ids) // 8
            for group_ids in GroupComparisonSet.objects.filter(**of_org).values_list("group_ids", flat=True)
        ),
        "flow summaries": FlowSummary.objects.filter(**of_org).count(),
    }
    return RecomputeResult(elapsed, cohorts, phases, sql_seconds, quartiles_seconds, len(cells), rows, agree)

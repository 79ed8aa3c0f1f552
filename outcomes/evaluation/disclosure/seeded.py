"""Seeded organisations shaped like ours, as :class:`~.hierarchy.Tables`: for the tests and the benchmark.

Groups sit in a curriculum (of a kind), a format, a delivery mode, an audience and some of the date
ranges a lead asked for. Each organisation has the tables the evaluation publishes, per cohort:

- ``n:<time point>``: the n of one scale at baseline and at the end (one category per group);
- ``change``: the paired change's n and its reliable-change categories (improved = recovered +
  improved but not recovered; the second part is never published);
- ``status``, ``started``, ``assessed:<time point>``: the flow, each table a split of enrolled.

Enrolled is the same figure in the four flow tables, and a cohort's n at a time point is linked to
its flow count assessed then whenever the two are equal (a reader would take them for one figure).
"""

from __future__ import annotations

import numpy as np

from .hierarchy import TableBuilder, Tables

TIME_POINTS = ("baseline", "end")
REASONS = ("moved", "health", "other")
KINDS = ("recovery", "wellbeing", "anti_stigma")
FORMATS = ("closed", "rolling", "drop_in")
DELIVERIES = ("in_person", "online", "hybrid")
AUDIENCES = ("adults", "young_adults", "carers", "peers")


def seeded_tables(groups: int, *, seed: int = 0, members: tuple[int, int] = (2, 16), periods: int = 3) -> Tables:
    """An organisation of ``groups`` groups whose member counts are drawn uniformly from ``members``."""
    rng = np.random.default_rng(seed)
    curricula = max(2, groups // 12)
    cohorts: dict[tuple[str, str], list[int]] = {("organisation", ""): list(range(groups))}
    curriculum_kind = {c: KINDS[c % len(KINDS)] for c in range(curricula)}
    starts = rng.integers(0, 12, size=groups)  # start quarter
    for g in range(groups):
        curriculum = int(rng.integers(0, curricula))
        for dimension, value in (
            ("group", str(g)),
            ("curriculum", str(curriculum)),
            ("curriculum_kind", curriculum_kind[curriculum]),
            ("format", FORMATS[int(rng.integers(0, len(FORMATS)))]),
            ("delivery", DELIVERIES[int(rng.integers(0, len(DELIVERIES)))]),
            ("audience", AUDIENCES[int(rng.integers(0, len(AUDIENCES)))]),
        ):
            cohorts.setdefault((dimension, value), []).append(g)
    for _period in range(periods):
        first = int(rng.integers(0, 10))
        cohorts[("period", f"q{first}-q{first + 2}")] = [g for g in range(groups) if first <= starts[g] <= first + 2]
    cohorts = {key: units for key, units in cohorts.items() if units}

    b = TableBuilder()
    low, high = members
    enrolled = rng.integers(low, high + 1, size=groups)
    ended = rng.random(groups) < 0.8  # the rest have not reached the end yet
    flow_families = ["status", "started", *(f"assessed:{tp}" for tp in TIME_POINTS)]
    for g in range(groups):
        e = int(enrolled[g])
        withdrawn = rng.binomial(e, 0.2)
        reasons = rng.multinomial(withdrawn, [0.5, 0.3, 0.2])
        completed = (e - withdrawn) if ended[g] else int(rng.binomial(e - withdrawn, 0.3))
        b.atom("status", g, "completed", completed)
        b.atom("status", g, "ongoing", e - withdrawn - completed)
        for reason, count in zip(REASONS, reasons, strict=True):
            b.atom("status", g, f"reason:{reason}", count)
        started = e - int(rng.binomial(e, 0.08))
        b.atom("started", g, "started", started)
        b.atom("started", g, "not_started", e - started)
        assessed = {}
        for tp in TIME_POINTS:
            done = (
                int(rng.binomial(e, 0.9))
                if tp == "baseline"
                else (int(rng.binomial(completed, 0.8)) if ended[g] else 0)
            )
            assessed[tp] = done
            b.atom(f"assessed:{tp}", g, "assessed", done)
            b.atom(f"assessed:{tp}", g, "not_assessed", e - done)
            # The scale's n: most who were assessed, all of them for most groups.
            n = done if rng.random() < 0.7 else int(rng.binomial(done, 0.9))
            b.atom(f"n:{tp}", g, "n", n)
        pairs = min(int(rng.binomial(assessed["end"], 0.9)), assessed["baseline"]) if ended[g] else 0
        split = rng.multinomial(pairs, [0.3, 0.2, 0.4, 0.1])  # recovered, improved only, unchanged, deteriorated
        for category, count in zip(("recovered", "improved_only", "unchanged", "deteriorated"), split, strict=True):
            b.atom("change", g, category, count)

    for (dimension, value), units in cohorts.items():
        c = (dimension, value)
        has_end = any(ended[g] for g in units)
        for tp in TIME_POINTS:
            # A cohort with nobody at a time point has no row: the reader knows its n is 0.
            present = tp == "baseline" or has_end
            b.figure((c, f"n:{tp}"), f"n:{tp}", units, ["n"], weight=3, hideable=present, published=True)
        b.figure((c, "n_pairs"), "change", units, ["recovered", "improved_only", "unchanged", "deteriorated"], weight=3)
        b.figure((c, "improved"), "change", units, ["recovered", "improved_only"])
        b.figure((c, "recovered"), "change", units, ["recovered"])
        b.figure((c, "improved_only"), "change", units, ["improved_only"], published=False)
        b.figure((c, "unchanged"), "change", units, ["unchanged"])
        b.figure((c, "deteriorated"), "change", units, ["deteriorated"])
        status_all = ["completed", "ongoing", *(f"reason:{r}" for r in REASONS)]
        for family in flow_families:
            categories = status_all if family == "status" else None
            if family == "started":
                categories = ["started", "not_started"]
            elif family.startswith("assessed"):
                categories = ["assessed", "not_assessed"]
            b.figure((c, f"enrolled@{family}"), family, units, categories, weight=3)
        b.link(*((c, f"enrolled@{family}") for family in flow_families))
        b.figure((c, "completed"), "status", units, ["completed"])
        b.figure((c, "ongoing"), "status", units, ["ongoing"], published=False)
        b.figure((c, "withdrawn"), "status", units, [f"reason:{r}" for r in REASONS])
        for reason in REASONS:
            b.figure((c, f"withdrawn:{reason}"), "status", units, [f"reason:{reason}"])
        b.figure((c, "started"), "started", units, ["started"])
        b.figure((c, "not_started"), "started", units, ["not_started"], published=False)
        for tp in TIME_POINTS:
            b.figure((c, f"assessed:{tp}"), f"assessed:{tp}", units, ["assessed"])
            b.figure((c, f"not_assessed:{tp}"), f"assessed:{tp}", units, ["not_assessed"], published=False)
    tables_so_far = b
    # Link each cohort's n at a time point to its count assessed then when they are equal.
    built = tables_so_far.build()
    for dimension, value in cohorts:
        c = (dimension, value)
        for tp in TIME_POINTS:
            n, done = built.index[(c, f"n:{tp}")], built.index[(c, f"assessed:{tp}")]
            if built.value[n] == built.value[done]:
                tables_so_far.link((c, f"n:{tp}"), (c, f"assessed:{tp}"))
    return tables_so_far.build()

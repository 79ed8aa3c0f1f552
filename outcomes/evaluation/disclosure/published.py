"""What a lead can read of an organisation's figures, as the auditor's input (docs/statistics.md §6).

The evaluation page, the summary CSV/XLSX, the meta-analysis CSV and the JSON report are all written
from the same protected rows (``SummaryTables``), including every custom date range that exists, so
the auditor reads those rows: each figure with the groups and categories it adds up, and its value
or that it is hidden and why: the rows carry each hidden figure's label (small or complementary, as the
recompute's protection stored it), which a reader sees too. Text without a label is taken as unlabelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .audit import Published
from .hidden import Hidden

OUTCOME = "outcome"
CHANGE_PARTS = ("recovered", "improved_only", "unchanged", "deteriorated", "unclassified")


def _value(value, k: int):
    """A shown count, a Hidden (labelled by its reason), or (any text where a figure would be) an unlabelled
    hidden figure."""
    if isinstance(value, Hidden) or value is None:
        return value, True
    if isinstance(value, str):
        return Hidden.complementary(1), False
    return int(value), True


def _cohort_units(row: Mapping, groups_of: Mapping[tuple[str, str], Iterable]) -> list:
    cohort = (row["cohort_dimension"], row["cohort_value"])
    groups = sorted(groups_of.get(cohort) or ())
    return groups or [("cohort", *cohort)]  # a cohort whose groups are unknown stands alone


def published_figures(tables, groups_of: Mapping[tuple[str, str], Iterable], *, reasons: Iterable[str], time_points):
    """(figures, links) for :func:`.audit.audit` from the protected rows ``tables`` (a ``SummaryTables``).

    ``groups_of`` maps (cohort dimension, value) to its groups' ids; ``reasons`` are the withdrawal reasons
    with a column of their own and ``time_points`` the flow's.
    """
    figures: list[Published] = []
    links: list[list] = []
    cohorts = sorted(groups_of)

    def add(key, family, units, categories, value):
        shown, labelled = _value(value, tables.k)
        atoms = tuple((family, u, c) for u in units for c in categories)
        figures.append(Published(key, atoms, shown, labelled=labelled))

    def table(rows, family_of, figures_of):
        present: dict = {}
        for row in rows:
            family = family_of(row)
            units = _cohort_units(row, groups_of)
            present.setdefault(family, set()).add((row["cohort_dimension"], row["cohort_value"]))
            for name, categories, value in figures_of(row):
                add((family, row["cohort_dimension"], row["cohort_value"], name), family, units, categories, value)
        return present

    # Outcomes: each (instrument, scale, time point) is a table of n by cohort. A cohort without a row has nobody.
    present = table(
        tables.outcomes,
        lambda r: (OUTCOME, r["instrument"], r["scale"], r["time_point"]),
        lambda r: [("n", ["n"], r["n"])],
    )
    for family, seen in present.items():
        for cohort in cohorts:
            if cohort not in seen and groups_of.get(cohort):
                units = sorted(groups_of[cohort])
                atoms = tuple((family, u, "n") for u in units)
                figures.append(Published((family, *cohort, "n"), atoms, 0, known=True))

    def change_figures(r):
        out = [
            ("n_pairs", CHANGE_PARTS, r["n_pairs"]),
            ("improved", ["recovered", "improved_only"], r["improved"]),
            ("unchanged", ["unchanged"], r["unchanged"]),
            ("deteriorated", ["deteriorated"], r["deteriorated"]),
            ("unclassified", ["unclassified"], None),
        ]
        if r.get("recovered") is not None:
            out += [("recovered", ["recovered"], r["recovered"]), ("improved_only", ["improved_only"], None)]
        return [item for item in out if item[2] is not None or item[0] in ("unclassified", "improved_only")]

    present = table(
        tables.changes,
        lambda r: ("change", r["instrument"], r["scale"], r["from_time_point"], r["to_time_point"]),
        change_figures,
    )
    # As for outcomes: a cohort without a change row has no pairs (the page says so), in every category.
    for family, seen in present.items():
        for cohort in cohorts:
            if cohort not in seen and groups_of.get(cohort):
                atoms = tuple((family, u, c) for u in sorted(groups_of[cohort]) for c in CHANGE_PARTS)
                figures.append(Published((family, *cohort, "n_pairs"), atoms, 0, known=True))

    # The flow: status, started and each time point split enrolled; enrolled is one figure in all of them.
    reason_parts = [f"reason:{reason}" for reason in reasons]
    flow_tables = [("status",), ("started",), *(("assessed", tp) for tp in time_points)]
    for r in tables.flows:
        units = _cohort_units(r, groups_of)
        cohort = (r["cohort_dimension"], r["cohort_value"])
        status_parts = ["completed", "ongoing", "reason:unlisted", *reason_parts]
        split = {
            ("status",): [
                ("completed_group", ["completed"], r["completed_group"]),
                ("withdrawn", ["reason:unlisted", *reason_parts], r["withdrawn"]),
                ("ongoing", ["ongoing"], None),
                *((f"withdrawn_{reason}", [f"reason:{reason}"], r[f"withdrawn_{reason}"]) for reason in reasons),
            ],
            ("started",): [("started", ["started"], r["started"]), ("not_started", ["not_started"], None)],
        }
        for tp in time_points:
            split[("assessed", tp)] = [
                (f"assessed_{tp}", ["assessed"], r[f"assessed_{tp}"]),
                (f"not_assessed_{tp}", ["not_assessed"], None),
            ]
        parts = {("status",): status_parts, ("started",): ["started", "not_started"]}
        for tp in time_points:
            parts[("assessed", tp)] = ["assessed", "not_assessed"]
        enrolled_keys = []
        for family in flow_tables:
            key = (("flow", *family), *cohort, "enrolled")
            add(key, ("flow", *family), units, parts[family], r["enrolled"])
            enrolled_keys.append(key)
            for name, categories, value in split[family]:
                add((("flow", *family), *cohort, name), ("flow", *family), units, categories, value)
        links.append(enrolled_keys)
    return figures, links

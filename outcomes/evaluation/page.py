"""What the evaluation page shows of one cohort, from the protected summary tables: a pure presenter.

The view (:mod:`outcomes.evaluation.views`) picks the cohort and audits the view; this module turns the
cohort's rows into the page's sections: one per instrument and scale (time points, changes, chart), the
participant flow and, for the organisation, the comparisons.
"""

from __future__ import annotations

from collections import defaultdict

from outcomes.charts import series_chart
from outcomes.evaluation.disclosure.hidden import is_hidden
from outcomes.evaluation.presentation import hidden_reason
from outcomes.evaluation.report import visible_comparisons
from outcomes.instruments import registry
from outcomes.models import CohortState, TimePoint

TIME_ORDER = {tp: i for i, tp in enumerate(TimePoint.values)}
TIME_LABELS = dict(TimePoint.choices)


def _mine(rows: list[dict], cohort: CohortState) -> list[dict]:
    return [r for r in rows if r["cohort_dimension"] == cohort.dimension and r["cohort_value"] == cohort.value]


def cohort_sections(organisation, tables, cohort: CohortState) -> dict:
    """The page's context for one computed cohort: instruments, flow, comparisons and instrument titles."""
    titles = {code: defn.title for (code, _v), defn in registry.installed().items()}
    # The same people as a cohort a reader meets first: said above its figures, which are not extra tests.
    repeat = next((r for r in _mine(tables.changes, cohort) if r.get("same_people_as")), None)
    return {
        "same_people": (
            {"label": repeat["same_people_as"], "cohort": repeat["same_people_as_key"]} if repeat else None
        ),
        "instruments": instrument_sections(tables, cohort, titles),
        **flow_section(tables, cohort),
        "comparisons": visible_comparisons(organisation, tables) if cohort.dimension == "organisation" else [],
        **attrition_section(tables, cohort),
        "titles": titles,
    }


def instrument_sections(tables, cohort: CohortState, titles: dict) -> list[dict]:
    """One section per instrument and scale: its time points, its changes and its chart."""
    outcomes = defaultdict(list)
    for r in _mine(tables.outcomes, cohort):
        outcomes[(r["instrument"], r["scale"])].append({**r, "label": TIME_LABELS.get(r["time_point"], "")})
    changes = defaultdict(list)
    for r in _mine(tables.changes, cohort):
        changes[(r["instrument"], r["scale"])].append(
            {
                **r,
                "from_label": TIME_LABELS.get(r["from_time_point"], ""),
                "to_label": TIME_LABELS.get(r["to_time_point"], ""),
                "shown": not is_hidden(r["n_pairs"]),
                "reason": hidden_reason(r["n_pairs"]) or hidden_reason(r["mean_change"]),
                "counts_shown": not any(is_hidden(r[key]) for key in ("improved", "unchanged", "deteriorated")),
            }
        )
    instruments = []
    for key in sorted(outcomes, key=lambda kv: (kv[0], kv[1] != "total", kv[1])):
        rows = sorted(outcomes[key], key=lambda r: TIME_ORDER.get(r["time_point"], 99))
        for r in rows:
            r["shown"] = not is_hidden(r["n"]) and not is_hidden(r["mean"]) and r["mean"] is not None
            r["n_shown"] = not is_hidden(r["n"])
            r["reason"] = hidden_reason(r["n"]) or hidden_reason(r["mean"])
        instruments.append(
            {
                "code": key[0],
                "scale": key[1],
                "title": titles.get(key[0], key[0]),
                "rows": rows,
                # Every time point keeps its place; a hidden one is a gap, never a line across it.
                "chart": series_chart(
                    [(r["label"], r["mean"] if r["shown"] else None) for r in rows],
                    intervals=[(r["ci_low"], r["ci_high"]) if r["shown"] else (None, None) for r in rows],
                ),
                "lower_is_better": any(c["higher_is_better"] is False for c in changes.get(key, [])),
                "chart_id": f"chart-{key[0]}-{key[1]}",
                "changes": sorted(changes.get(key, []), key=lambda c: TIME_ORDER.get(c["to_time_point"], 99)),
                "rci": _rci_used(changes.get(key, [])),
            }
        )
    return instruments


def flow_section(tables, cohort: CohortState) -> dict:
    """The cohort's participant flow, with the dose and the counts assessed at each time point."""
    flows = _mine(tables.flows, cohort)
    flow = flows[0] if flows else None
    if flow is not None:
        flow = {
            **flow,
            "dose_shown": flow["dose_median"] is not None and not is_hidden(flow["dose_median"]),
            "assessed": [
                (TIME_LABELS.get(key.removeprefix("assessed_"), key), flow[key])
                for key in flow
                if key.startswith("assessed_") and flow[key] not in (None, 0)
            ],
        }
    return {"flow": flow, "flow_shown": flow is not None and not is_hidden(flow["enrolled"])}


def _rci_used(rows: list[dict]) -> dict | None:
    """The reliable-change parameters of an instrument's change rows (one set for the whole organisation)."""
    used = next((r for r in rows if r.get("rci_reliability")), None)
    if used is None:
        return None
    sd = next(
        (r["rci_sd_pre"] for r in rows if r.get("rci_sd_pre") is not None and not is_hidden(r["rci_sd_pre"])), None
    )
    return {**used, "sd_shown": sd}


def attrition_section(tables, cohort: CohortState) -> dict:
    """Who was lost at each time point, against enrolled and against baseline, why people left, and whether
    those who stayed started differently; the sensitivity analysis beside the completers' change."""
    rows = sorted(_mine(tables.attrition, cohort), key=lambda r: (r["instrument"], TIME_ORDER[r["time_point"]]))
    flows = _mine(tables.flows, cohort)
    reasons = []
    if flows and not is_hidden(flows[0]["enrolled"]):
        reasons = [
            (key.removeprefix("withdrawn_").replace("_", " "), value)
            for key, value in flows[0].items()
            if key.startswith("withdrawn_") and value not in (None, 0)
        ]
    return {
        "attrition": [{**r, "time_label": TIME_LABELS.get(r["time_point"], r["time_point"])} for r in rows],
        "leaving_reasons": reasons,
    }

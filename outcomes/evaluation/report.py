"""The machine-readable evaluation report (``evaluation_report --format json``); schema in docs/evaluation-report.md.

It is built from the same protected tables as the exports and the evaluation page
(:func:`outcomes.evaluation.summary.summary_tables`), so every view of the figures
hides the same cells and none can be recovered by comparing them.
"""

from __future__ import annotations

from outcomes.evaluation import primary
from outcomes.evaluation.disclosure.hidden import Hidden
from outcomes.evaluation.summary import shown_comparisons, summary_tables
from outcomes.models import AttritionSummary, CohortState, ComparisonSummary

OUTCOME_KEYS = ("n", "mean", "sd", "median", "q1", "q3", "ci_low", "ci_high")
CHANGE_KEYS = (
    "n_pairs", "mean_change", "sd_change", "ci_low", "ci_high", "t", "p", "p_wilcoxon", "wilcoxon_method",
    "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "g_av_ci_low", "g_av_ci_high",
    "d_rm", "g_rm", "g_rm_ci_low", "g_rm_ci_high", "r_pre_post", "improved", "unchanged", "deteriorated",
)  # fmt: skip
#: p-values of within-group change, shown only beside an effect size and its interval
WITHIN_GROUP_P = ("t", "p", "p_wilcoxon")
RCI_KEYS = {
    "rci_sd_pre": "sd_pre",
    "rci_sd_source": "sd_source",
    "rci_sd_reference": "sd_reference",
    "rci_sd_set_at": "sd_set_at",
    "rci_reliability": "reliability",
    "rci_reliability_kind": "reliability_kind",
    "rci_reliability_source": "reliability_source",
    "rci_cutoff": "cutoff",
}
FLOW_KEYS = (
    "enrolled", "started", "completed_group", "withdrawn", "dose_median", "dose_q1", "dose_q3", "dose_share_half",
)  # fmt: skip

#: What every within-group figure is: change in the people who stayed, not an effect of the group.
DESIGN = "uncontrolled pre-post"
DESIGN_NOTE = (
    "Within-group change is change in the people who stayed, not an effect of the group: without a comparison "
    "group it also contains regression to the mean, natural recovery and the effect of being measured."
)


def _shown(value):
    """A figure as the report writes it: a hidden one as ``{"hidden": reason, "k": k}`` (its typed reason)."""
    return value.as_json() if isinstance(value, Hidden) else value


def _cohort(row: dict) -> dict:
    return {"dimension": row["cohort_dimension"], "value": row["cohort_value"], "label": row["cohort_label"]}


COMPARISON_KEYS = (
    "n_a", "n_b", "mean_a", "mean_b", "sd_a", "sd_b", "g", "g_ci_low", "g_ci_high", "t", "p",
    *ComparisonSummary.DESIGN_FIGURES,
)  # fmt: skip


def visible_comparisons(organisation, tables) -> list[ComparisonSummary]:
    """The comparisons the exports publish (:func:`~outcomes.evaluation.summary.comparison_shown`): both sides
    at least k members, with counts equal to ones the protected change table already shows, so no view
    shows a comparison another hides."""
    cohorts = CohortState.objects.filter(organisation=organisation).values_list("pk", flat=True)
    return shown_comparisons(cohorts, tables.changes, tables.k)


def _change(r: dict) -> dict:
    """A change row; its p-values only when g_av and its interval are shown too (docs/evaluation-report.md)."""
    row = {
        "cohort": _cohort(r),
        "instrument": r["instrument"],
        "scale": r["scale"],
        "from": r["from_time_point"],
        "to": r["to_time_point"],
        "higher_is_better": r["higher_is_better"],
        **{key: _shown(r[key]) for key in CHANGE_KEYS},
        "outcome_role": r.get("outcome_role"),
        "primary_note": r.get("primary_note") or None,
        "p_holm": _shown(r.get("p_holm")),
        "reliable_change_parameters": (
            {name: _shown(r[column]) for column, name in RCI_KEYS.items()} if r.get("rci_reliability") else None
        ),
    }
    if any(row[key] is None for key in ("g_av", "g_av_ci_low", "g_av_ci_high")):
        row.update(dict.fromkeys(WITHIN_GROUP_P))
    return row


def evaluation_report(organisation) -> dict:
    """Every figure of the organisation's cohorts; a hidden one is ``{"hidden": reason, "k": k}`` instead of its
    value (``small``: fewer than k people; ``complementary``: hidden so that another cannot be worked out;
    ``reveals_scores``: a distribution that would tell individual scores)."""
    tables = summary_tables(organisation)
    outcomes = [
        {
            "cohort": _cohort(r),
            "instrument": r["instrument"],
            "scale": r["scale"],
            "time_point": r["time_point"],
            **{key: _shown(r[key]) for key in OUTCOME_KEYS},
        }
        for r in tables.outcomes
    ]
    # A cohort of the same people as one shown before it is listed once, not as extra tests.
    changes = [_change(r) for r in tables.changes if not r.get("same_people_as")]
    same_people = sorted(
        {(r["cohort_dimension"], r["cohort_value"], r["cohort_label"], r["same_people_as"]) for r in tables.changes}
        - {(r["cohort_dimension"], r["cohort_value"], r["cohort_label"], None) for r in tables.changes}
    )
    flows = [
        {
            "cohort": _cohort(r),
            **{key: _shown(r[key]) for key in FLOW_KEYS},
            "assessments_done": {
                key.removeprefix("assessed_"): _shown(r[key])
                for key in r
                if key.startswith("assessed_") and r[key] is not None
            },
        }
        for r in tables.flows
    ]
    comparisons = [
        {
            "kind": r["kind"],
            "instrument": r["instrument"],
            "scale": r["scale"],
            "from": r["from_time_point"],
            "to": r["to_time_point"],
            "a": r["a_label"],
            "b": r["b_label"],
            **{key: r[key] for key in COMPARISON_KEYS},
        }
        for r in tables.comparisons
    ]
    attrition = [
        {
            "cohort": _cohort(r),
            "instrument": r["instrument"],
            "scale": r["scale"],
            "time_point": r["time_point"],
            **{key: None if isinstance(r[key], Hidden) else r[key] for key in AttritionSummary.FIGURES},
        }
        for r in tables.attrition
    ]
    return {
        "organisation": organisation.slug,
        "design": DESIGN,
        "design_note": DESIGN_NOTE,
        "suppression_threshold": tables.k,
        "outcomes": outcomes,
        "primary_outcomes": primary.history(organisation),
        "multiplicity": {
            "method": "holm",
            "adjusted": "p (paired t-test) of every secondary change shown, cohorts of the same people left out",
            "family_size": sum(1 for c in changes if c["p_holm"] is not None),
        },
        "same_people": [
            {"cohort": {"dimension": d, "value": v, "label": label}, "same_people_as": same}
            for d, v, label, same in same_people
        ],
        "changes": changes,
        "flow": flows,
        "comparisons": comparisons,
        "attrition": attrition,
    }

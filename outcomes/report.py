"""The machine-readable evaluation report (``evaluation_report --format json``); schema in docs/evaluation-report.md."""

from __future__ import annotations

from .disclosure import DEFAULT_K, MIN_K
from .models import ChangeSummary, CohortState, FlowSummary, OutcomeSummary

OUTCOME_KEYS = ("n", "mean", "sd", "median", "q1", "q3", "ci_low", "ci_high")
CHANGE_KEYS = (
    "n_pairs", "mean_change", "sd_change", "ci_low", "ci_high", "t", "p", "p_wilcoxon",
    "d_z", "d_av", "g_av", "g_av_ci_low", "g_av_ci_high", "r_pre_post",
)  # fmt: skip
COUNT_KEYS = ("improved", "unchanged", "deteriorated")


def threshold(organisation) -> int:
    return max(MIN_K, getattr(organisation, "suppression_threshold", None) or DEFAULT_K)


def _cohort(state: CohortState) -> dict:
    return {"dimension": state.dimension, "value": state.value, "label": state.label}


def evaluation_report(organisation) -> dict:
    """Every figure describing at least k people. Smaller cells are left out, not shown as zero."""
    k = threshold(organisation)
    states = CohortState.objects.filter(organisation=organisation)
    outcomes, changes, flows = [], [], []
    for s in OutcomeSummary.objects.filter(cohort__in=states).select_related("cohort").order_by("cohort_id", "pk"):
        if s.n < k:
            continue
        outcomes.append(
            {
                "cohort": _cohort(s.cohort),
                "instrument": s.instrument_code,
                "scale": s.scale,
                "time_point": s.time_point,
                **{key: getattr(s, key) for key in OUTCOME_KEYS},
            }
        )
    for c in ChangeSummary.objects.filter(cohort__in=states).select_related("cohort").order_by("cohort_id", "pk"):
        if c.n_pairs < k:
            continue
        row = {
            "cohort": _cohort(c.cohort),
            "instrument": c.instrument_code,
            "scale": c.scale,
            "from": c.from_time_point,
            "to": c.to_time_point,
            "higher_is_better": c.higher_is_better,
            **{key: getattr(c, key) for key in CHANGE_KEYS},
        }
        counts = [getattr(c, key) for key in COUNT_KEYS]
        # A count below k, or one recoverable from n_pairs minus the others, is left out with its partners.
        if None not in counts and all(n == 0 or n >= k for n in counts):
            row.update(dict(zip(COUNT_KEYS, counts, strict=True)))
        else:
            row.update(dict.fromkeys(COUNT_KEYS))
        changes.append(row)
    for f in FlowSummary.objects.filter(cohort__in=states).select_related("cohort"):
        if f.enrolled < k:
            continue
        flows.append(
            {
                "cohort": _cohort(f.cohort),
                "enrolled": f.enrolled,
                "started": f.started if f.started >= k or f.started == 0 else None,
                "withdrawn": f.withdrawn if f.withdrawn >= k or f.withdrawn == 0 else None,
                "assessments_done": {tp: n for tp, n in f.assessments_done.items() if n >= k},
                "dose_median": f.dose_median if f.dose_n >= k else None,
            }
        )
    return {
        "organisation": organisation.slug,
        "suppression_threshold": k,
        "outcomes": outcomes,
        "changes": changes,
        "flow": flows,
    }

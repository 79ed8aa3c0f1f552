"""Computing the figures of many cohorts of one organisation from one load of its data.

``load`` (``reading``) reads what the figures need, for a set of groups, in a handful of
queries (no query per cohort, member or response) into numpy arrays ordered by
group (``data``), so the members of a group are one slice and the members of any cohort are
a boolean mask. ``compute`` (``computing``) then builds the summary rows of every cohort asked
for, with ``outcomes.evaluation.statistics.many`` doing the arithmetic for all samples of a
kind at once. Orchestration (which cohorts, locks, transactions, writes) is
``outcomes.evaluation.recompute``'s job.

The names other modules, the tests and the benchmarks use are re-exported here: call them as ``engine.<name>``
(a patch of ``engine.load`` or ``engine.compute`` reaches every caller, which look them up here). Settings a
function reads at call time (``BESIDE_MIN_GROUPS``) are patched in the module that reads them (``reading``).
"""

from outcomes.evaluation.engine.computing import (
    ATTRITION_COLUMNS,
    ATTRITION_TIME_POINTS,
    CHANGE_COLUMNS,
    CHANGE_COUNTS,
    COMPARISON_COLUMNS,
    COMPARISON_SET_COLUMNS,
    FLOW_COLUMNS,
    OUTCOME_COLUMNS,
    Figures,
    _flows_by_group,
    _quartiles_by_group,
    attrition_rows,
    compare_changes,
    compute,
    design_figures,
    participant_flow,
    rci_parameters,
    samples,
)
from outcomes.evaluation.engine.data import CHANGE_PAIRS, TIME_POINTS, Data, Scale, empty
from outcomes.evaluation.engine.reading import BESIDE_MIN_GROUPS, fetch_numbers, fetch_rows, group_info, load

__all__ = [
    "ATTRITION_COLUMNS",
    "ATTRITION_TIME_POINTS",
    "BESIDE_MIN_GROUPS",
    "CHANGE_COLUMNS",
    "CHANGE_COUNTS",
    "CHANGE_PAIRS",
    "COMPARISON_COLUMNS",
    "COMPARISON_SET_COLUMNS",
    "FLOW_COLUMNS",
    "OUTCOME_COLUMNS",
    "TIME_POINTS",
    "Data",
    "Figures",
    "Scale",
    "_flows_by_group",
    "_quartiles_by_group",
    "attrition_rows",
    "compare_changes",
    "compute",
    "design_figures",
    "empty",
    "fetch_numbers",
    "fetch_rows",
    "group_info",
    "load",
    "participant_flow",
    "rci_parameters",
    "samples",
]

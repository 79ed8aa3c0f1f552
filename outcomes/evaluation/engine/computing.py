"""The summary rows of many cohorts of one organisation from one ``Data``, with
``outcomes.evaluation.statistics.many`` doing the arithmetic for all samples of a kind at once."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from groups.models import GroupFormat, MembershipStatus
from outcomes.evaluation import reliable_change
from outcomes.evaluation.engine.data import _TP_INDEX, CHANGE_PAIRS, TIME_POINTS, Data
from outcomes.evaluation.statistics import design, many, missing, single
from outcomes.instruments.types import InstrumentDefinition
from outcomes.models import (
    AttritionSummary,
    ChangeSummary,
    CohortState,
    ComparisonSummary,
    FlowSummary,
    GroupComparisonSet,
    OutcomeSummary,
    PrimaryOutcome,
    TimePoint,
)

OUTCOME_COLUMNS = ("cohort_id", "instrument_code", "scale", "time_point", "n", *many.DESCRIBE_FIELDS)
_CHANGE_FIGURES = tuple(name for name in many.CHANGE_FIELDS if name not in ("sd_pre", "sd_post"))
CHANGE_COUNTS = ("improved", "unchanged", "deteriorated", "recovered")
CHANGE_COLUMNS = (
    "cohort_id", "instrument_code", "scale", "from_time_point", "to_time_point", "higher_is_better", "n_pairs",
    "wilcoxon_method", "rci_parameters", *_CHANGE_FIGURES, *CHANGE_COUNTS,
)  # fmt: skip
FLOW_COLUMNS = (
    "cohort_id", "enrolled", "started", "completed_group", "withdrawn", "withdrawal_reasons", "assessments_done",
    "dose_n", "dose_median", "dose_q1", "dose_q3", "dose_share_half",
)  # fmt: skip
COMPARISON_COLUMNS = (
    "cohort_id", "kind", "instrument_code", "scale", "from_time_point", "to_time_point", "a_dimension", "a_value",
    "a_label", "b_label", "n_a", "n_b", *many.BETWEEN_FIELDS, *ComparisonSummary.DESIGN_FIGURES,
)  # fmt: skip


ATTRITION_COLUMNS = ("cohort_id", "instrument_code", "scale", "time_point", *AttritionSummary.FIGURES)
#: the time points attrition is counted at: those a change from baseline is computed to
ATTRITION_TIME_POINTS = tuple(after for _, after in CHANGE_PAIRS)
COMPARISON_SET_COLUMNS = (
    "cohort_id", "instrument_code", "scale", "from_time_point", "to_time_point", "group_ids", "labels", "counts",
    "figures", "adjusted", "clustering",
)  # fmt: skip


@dataclass
class Figures:
    """Summary rows, as tuples in the order of the ``*_COLUMNS`` (model attribute names)."""

    outcomes: list[tuple] = field(default_factory=list)
    changes: list[tuple] = field(default_factory=list)
    flows: list[tuple] = field(default_factory=list)
    comparisons: list[tuple] = field(default_factory=list)
    comparison_sets: list[tuple] = field(default_factory=list)
    attrition: list[tuple] = field(default_factory=list)

    def tables(self):
        """(model, columns, rows) for each summary table."""
        return (
            (OutcomeSummary, OUTCOME_COLUMNS, self.outcomes),
            (ChangeSummary, CHANGE_COLUMNS, self.changes),
            (FlowSummary, FLOW_COLUMNS, self.flows),
            (ComparisonSummary, COMPARISON_COLUMNS, self.comparisons),
            (GroupComparisonSet, COMPARISON_SET_COLUMNS, self.comparison_sets),
            (AttritionSummary, ATTRITION_COLUMNS, self.attrition),
        )


def _floats(values: np.ndarray) -> list[float | None]:
    """Stored figures: plain floats, None where undefined (NaN or infinite)."""
    plain = np.asarray(values, dtype=np.float64).astype(object)
    plain[~np.isfinite(values)] = None
    return plain.tolist()


def rci_parameters(defn: InstrumentDefinition | None) -> dict | None:
    """SD₁, r_xx and the cut-off c the instrument file alone gives (docs/statistics.md §4); the organisation's
    frozen baselines come from ``reliable_change.parameters_for``."""
    return reliable_change.file_parameters(defn)


def _selector(positions: np.ndarray, group_pos: np.ndarray):
    """The rows (sorted by group position) that belong to the groups at ``positions`` (sorted, unique): a slice,
    a view with nothing copied, when they are consecutive (one group; every group, for the organisation)."""
    if positions.size and positions[-1] - positions[0] + 1 == positions.size:
        return slice(
            np.searchsorted(group_pos, positions[0], "left"), np.searchsorted(group_pos, positions[-1], "right")
        )
    wanted = np.zeros(int(group_pos.max(initial=-1)) + 2 if group_pos.size else 1, dtype=bool)
    wanted[positions[positions < wanted.size]] = True
    return wanted[group_pos] if group_pos.size else slice(0, 0)


def compute(
    data: Data, cohorts: list[tuple[CohortState, set[int]]], *, rci: dict[str, dict | None] | None = None
) -> Figures:
    """The summary rows of each (cohort, its group pks). ``rci``: the reliable-change parameters of each
    instrument (``reliable_change.parameters_for``, the same for every cohort of the organisation); without it,
    only what the instrument files alone give."""
    figures = Figures()
    definitions = reliable_change.latest_definitions()
    if rci is None:
        rci = {code: rci_parameters(defn) for code, defn in definitions.items()}
    positions = [data.positions(groups) for _, groups in cohorts]
    single, several = _single_group(cohorts, positions)
    _outcomes_and_changes(data, single, several, definitions, rci, figures)
    flows = _flows_by_group(data) if single else {}
    no_members = None
    for position, cohort_ids in single.items():
        flow = flows.get(position)
        if flow is None:
            flow = no_members = no_members or participant_flow(data, np.zeros(0, dtype=np.int64))
        values = [flow[name] for name in FLOW_COLUMNS[1:]]
        figures.flows.extend([(cohort_id, *values) for cohort_id in cohort_ids])
    primary = _primary_outcomes(several)
    for state, pos in several:
        flow = participant_flow(data, pos)
        figures.flows.append((state.pk, *(flow[name] for name in FLOW_COLUMNS[1:])))
        imputed = primary if state.dimension == "organisation" else set()
        figures.attrition.extend(attrition_rows(data, state, pos, flow["enrolled"], imputed))
        if state.dimension == "organisation":
            rows, sets = compare_changes(data, state, pos)
            figures.comparisons.extend(rows)
            figures.comparison_sets.extend(sets)
    return figures


def _single_group(cohorts, positions) -> tuple[dict[int, list[int]], list[tuple[CohortState, np.ndarray]]]:
    """The cohorts of one group (each group's own, a curriculum with one group…) as {group position: cohort
    pks}, computed for all groups at once; and the other cohorts, (state, group positions), one by one.

    An organisation cohort is always in the second list (its comparisons are computed there)."""
    single: dict[int, list[int]] = defaultdict(list)
    several = []
    for (state, _), pos in zip(cohorts, positions, strict=True):
        if pos.size == 1 and state.dimension != "organisation":
            single[int(pos[0])].append(state.pk)
        else:
            several.append((state, pos))
    return single, several


def _split_by_group(group_pos: np.ndarray, *columns: np.ndarray):
    """(group position, that group's part of each column) for each group in ``group_pos`` (sorted); the parts
    are views."""
    if not group_pos.size:
        return
    starts = np.flatnonzero(np.r_[True, group_pos[1:] != group_pos[:-1]])
    bounds = list(zip(starts.tolist(), [*starts[1:].tolist(), group_pos.size], strict=True))
    parts = [[column[start:stop] for start, stop in bounds] for column in columns]  # np.split: 5× slower
    yield from zip(group_pos[starts].tolist(), *parts, strict=True)


def samples(data: Data, single: dict[int, list[int]], several: list[tuple[CohortState, np.ndarray]]):
    """The samples each cohort's figures describe: ([(cohort pk, scale key, time point)], [scores]) and the
    complete pairs of each pair of time points ([(cohort pk, scale key, before, after)], [pre], [post])."""
    sample_keys, values = [], []
    pair_keys, pres, posts = [], [], []
    pair_columns = [(before, after, _TP_INDEX[before], _TP_INDEX[after]) for before, after in CHANGE_PAIRS]
    for key in sorted(data.scales):
        scale = data.scales[key]
        present = ~np.isnan(scale.values)
        # Cohorts of one group: every group at once, split at the group boundaries.
        if single:
            for tp_index in np.flatnonzero(present.any(axis=0)):
                chosen = present[:, tp_index]
                for position, part in _split_by_group(scale.group_pos[chosen], scale.values[chosen, tp_index]):
                    for cohort_id in single.get(position, ()):
                        sample_keys.append((cohort_id, key, TIME_POINTS[tp_index]))
                        values.append(part)
            for before, after, b, a in pair_columns:
                both = present[:, b] & present[:, a]
                parts = _split_by_group(scale.group_pos[both], scale.values[both, b], scale.values[both, a])
                for position, pre, post in parts:
                    for cohort_id in single.get(position, ()):
                        pair_keys.append((cohort_id, key, before, after))
                        pres.append(pre)
                        posts.append(post)
        if several:  # larger cohorts pick whole time points: a time point's scores contiguous, not strided
            by_time_point = np.ascontiguousarray(scale.values.T)
            present_at = np.ascontiguousarray(present.T)
        for state, pos in several:
            if not pos.size:
                continue
            chosen = _selector(pos, scale.group_pos)
            columns, here = by_time_point[:, chosen], present_at[:, chosen]
            if not columns.shape[1]:
                continue
            for tp_index in np.flatnonzero(here.any(axis=1)):
                sample_keys.append((state.pk, key, TIME_POINTS[tp_index]))
                values.append(columns[tp_index][here[tp_index]])
            for before, after, b, a in pair_columns:
                both = here[b] & here[a]
                if both.any():
                    pair_keys.append((state.pk, key, before, after))
                    pres.append(columns[b][both])
                    posts.append(columns[a][both])
    return (sample_keys, values), (pair_keys, pres, posts)


def _outcomes_and_changes(data, single, several, definitions, rci, figures: Figures) -> None:
    (sample_keys, values), (pair_keys, pres, posts) = samples(data, single, several)
    described = many.describe_many(values)
    stats_columns = [_floats(described[name]) for name in many.DESCRIBE_FIELDS]
    for (cohort_id, (code, scale_name), time_point), n, *figures_of in zip(
        sample_keys, described["n"].tolist(), *stats_columns, strict=True
    ):
        figures.outcomes.append((cohort_id, code, scale_name, time_point, n, *figures_of))

    changes = many.paired_change_many(pres, posts)
    change_columns = [_floats(changes[name]) for name in _CHANGE_FIGURES]
    methods = changes["wilcoxon_method"].tolist()
    n_pairs = changes["n_pairs"].tolist()
    # One set of parameters per instrument for every cohort: a member's category is the same in every table.
    parameters = [rci.get(code) if scale_name == "total" else None for _, (code, scale_name), _, _ in pair_keys]
    higher = [getattr(definitions.get(code), "higher_is_better", True) for _, (code, _), _, _ in pair_keys]
    counted = [i for i, found in enumerate(parameters) if found]
    counts = many.reliable_change_counts_many(
        [pres[i] for i in counted],
        [posts[i] for i in counted],
        sd_pre=np.array([parameters[i]["sd_pre"] for i in counted], dtype=np.float64),
        reliability=np.array([parameters[i]["reliability"] for i in counted], dtype=np.float64),
        higher_is_better=np.array([higher[i] for i in counted], dtype=bool),
        cutoff=np.array([np.nan if parameters[i]["cutoff"] is None else parameters[i]["cutoff"] for i in counted]),
    )
    counts_of = dict(zip(counted, zip(*(counts[name] for name in CHANGE_COUNTS), strict=True), strict=True))
    no_counts = (None,) * len(CHANGE_COUNTS)
    for i, ((cohort_id, (code, scale_name), before, after), *figures_of) in enumerate(
        zip(pair_keys, *change_columns, strict=True)
    ):
        figures.changes.append(
            (cohort_id, code, scale_name, before, after, higher[i], n_pairs[i], methods[i], parameters[i] or {},
             *figures_of, *counts_of.get(i, no_counts))
        )  # fmt: skip


def compare_changes(data: Data, state: CohortState, positions: np.ndarray) -> tuple[list[tuple], list[tuple]]:
    """Change compared as Hedges' g: structured vs unstructured groups (``COMPARISON_COLUMNS`` rows), and each
    group vs the other groups (``COMPARISON_SET_COLUMNS`` rows, one per scale and pair of time points)."""
    rows: list[tuple] = []
    sets: list[tuple] = []
    formats = [data.group_format[g] for g in data.group_ids.tolist()]
    structured_group = np.array([f == GroupFormat.STRUCTURED for f in formats], dtype=bool)
    unstructured_group = np.array([f == GroupFormat.UNSTRUCTURED for f in formats], dtype=bool)
    for key in sorted(data.scales):
        scale = data.scales[key]
        chosen = _selector(positions, scale.group_pos) if positions.size else slice(0, 0)
        values, group_pos = scale.values[chosen], scale.group_pos[chosen]
        for before, after in CHANGE_PAIRS:
            b, a = _TP_INDEX[before], _TP_INDEX[after]
            both = ~np.isnan(values[:, b]) & ~np.isnan(values[:, a])
            if not both.any():
                continue
            pre, post, where = values[both, b], values[both, a], group_pos[both]
            change = post - pre
            structured, unstructured = change[structured_group[where]], change[unstructured_group[where]]
            if structured.size and unstructured.size:
                r = single.between_groups(structured, unstructured)
                in_two = structured_group[where] | unstructured_group[where]
                d = design.compare_arms(post[in_two], pre[in_two], structured_group[where][in_two], where[in_two])
                # The t-test of change is a p-value too: withheld with the others when no conclusion is supported.
                t, p = (r.t, r.p) if d.supports_conclusion else (None, None)
                rows.append(
                    (state.pk, ComparisonSummary.Kind.FORMAT, *key, before, after, "format", GroupFormat.STRUCTURED,
                     "Structured groups", "Unstructured groups", int(r.n1), int(r.n2), r.mean1, r.mean2, r.sd1, r.sd2,
                     r.g, r.ci_low, r.ci_high, t, p, *design_figures(d))
                )  # fmt: skip
            against_rest = _each_group_against_the_rest(change, where)
            if against_rest is not None:
                present, n_a, n_b, columns = against_rest
                columns["t"] = columns["p"] = np.full(present.size, np.nan)  # one group: never a p-value
                adjusted = design.ancova_each_against_rest(post, pre, where)
                clustered = design.clustering(post, pre, where)
                group_ids = data.group_ids[present]
                sets.append(
                    (
                        state.pk, *key, before, after,
                        group_ids.astype("<i8").tobytes(),
                        [data.group_names[group_id][:200] for group_id in group_ids.tolist()],
                        np.concatenate([n_a, n_b]).astype("<i8").tobytes(),
                        np.stack([columns[name] for name in GroupComparisonSet.FIGURES]).astype("<f8").tobytes(),
                        np.stack([adjusted[name][present] for name in GroupComparisonSet.ADJUSTED])
                        .astype("<f8").tobytes(),
                        _clustering_figures(clustered),
                    )
                )  # fmt: skip
    return rows, sets


def _plain(value) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def design_figures(d: design.DesignComparison) -> tuple:
    """``ComparisonSummary.DESIGN_FIGURES`` of a comparison of arms (docs/statistics.md §9)."""
    ancova, mixed = d.ancova, d.mixed

    def estimate(e) -> tuple:
        if e is None:
            return None, None, None, None
        return _plain(e.difference), _plain(e.ci_low), _plain(e.ci_high), _plain(e.p)

    return (
        d.groups_a, d.groups_b, *estimate(ancova), *estimate(mixed), _plain(d.icc), _plain(d.design_effect),
        d.supports_conclusion, d.caveat or "",
    )  # fmt: skip


def _clustering_figures(c: design.Clustering) -> dict:
    note = design.one_group_caveat(c.groups)
    if c.icc is not None and not c.converged:
        note += " The groups' mixed model did not converge; its ICC is unreliable."
    return {
        "groups": c.groups,
        "icc": _plain(c.icc),
        "design_effect": _plain(c.design_effect),
        "mean_group_size": _plain(c.mean_group_size),
        "converged": c.converged,
        "note": note,
    }


def _each_group_against_the_rest(change: np.ndarray, where: np.ndarray):
    """Each group's change against every other group's: (group positions, n_a, n_b, {figure: column}, NaN
    where undefined), or None if no group has others to compare with.

    One pass gives each group's n, Σx and Σx² (of x centred on the overall mean, so nothing is lost
    to cancellation); the rest's are the total's minus the group's.
    """
    shift = change.mean()
    centred = change - shift
    size = int(where.max()) + 1
    n_g = np.bincount(where, minlength=size)
    s_g = np.bincount(where, weights=centred, minlength=size)
    q_g = np.bincount(where, weights=centred * centred, minlength=size)
    present = np.flatnonzero(n_g)
    n_b = change.size - n_g[present]
    present = present[n_b > 0]
    if not present.size:
        return None
    n_a, s_a, q_a = n_g[present], s_g[present], q_g[present]
    n_b, s_b, q_b = change.size - n_a, centred.sum() - s_a, float(centred @ centred) - q_a
    ss_a = np.maximum(q_a - s_a * s_a / n_a, 0.0)
    ss_b = np.maximum(q_b - s_b * s_b / n_b, 0.0)
    f = many.between_groups_from_sums(n_a, s_a, ss_a, n_b, s_b, ss_b)
    f["mean_a"], f["mean_b"] = f["mean_a"] + shift, f["mean_b"] + shift
    return present, n_a, n_b, {name: np.where(np.isfinite(f[name]), f[name], np.nan) for name in f}


def _flows_by_group(data: Data) -> dict[int, dict]:
    """``participant_flow`` of each group with members (by group position), all groups in one pass."""
    size, positions = data.group_ids.size, data.m_group_pos
    if not positions.size:
        return {}
    enrolled = data.m_enrolled
    group, status, present = positions[enrolled], data.m_status[enrolled], data.m_present[enrolled]
    offered = data.offered[group]

    def per_group(where=None) -> list[int]:
        return np.bincount(group if where is None else group[where], minlength=size).tolist()

    withdrawn = status == MembershipStatus.WITHDRAWN
    reasons: dict[int, Counter] = defaultdict(Counter)
    for position, reason in zip(group[withdrawn].tolist(), data.m_reason[enrolled][withdrawn].tolist(), strict=True):
        reasons[position][reason] += 1
    done = [np.bincount(positions[data.m_done[:, i]], minlength=size).tolist() for i in range(len(TIME_POINTS))]
    with_sessions = offered > 0
    # single.dose's ratios: sessions attended (never more than offered) / sessions offered
    dose_group = group[with_sessions]
    ratios = np.minimum(present, offered)[with_sessions] / offered[with_sessions]
    dose_n = np.bincount(dose_group, minlength=size)
    q1, median, q3 = _quartiles_by_group(ratios, dose_group, size)
    at_or_above = np.bincount(dose_group[ratios >= 0.5], minlength=size)
    share = np.where(dose_n > 0, at_or_above / np.maximum(dose_n, 1), np.nan)
    columns = {
        "enrolled": per_group(),
        "started": per_group(present > 0),
        "completed_group": per_group(status == MembershipStatus.COMPLETED),
        "withdrawn": per_group(withdrawn),
        "dose_n": dose_n.tolist(),
        "dose_median": _floats(median),
        "dose_q1": _floats(q1),
        "dose_q3": _floats(q3),
        "dose_share_half": _floats(share),
    }
    flows = {}
    for position in np.unique(positions).tolist():
        flow = {name: values[position] for name, values in columns.items()}
        flow["withdrawal_reasons"] = {r or "not_recorded": n for r, n in sorted(reasons[position].items())}
        flow["assessments_done"] = {
            tp: n for tp, n in sorted((tp, counts[position]) for tp, counts in zip(TIME_POINTS, done, strict=True)) if n
        }
        flows[position] = flow
    return flows


def _quartiles_by_group(values: np.ndarray, group: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    """numpy's ``percentile(…, [25, 50, 75], method="linear")`` of each group's values (NaN for a group with
    none), with numpy's own steps: index (n − 1)·q between two sorted values, interpolated as ``_lerp`` does."""
    order = np.lexsort((values, group))
    ordered = values[order]
    counts = np.bincount(group, minlength=size)
    starts = np.cumsum(counts) - counts
    some = counts > 0
    n, start = counts[some], starts[some]
    found = []
    for q in (0.25, 0.5, 0.75):
        virtual = (n - 1) * q
        below = np.floor(virtual)
        gamma = virtual - below
        lower = start + below.astype(np.int64)
        upper = start + np.minimum(below.astype(np.int64) + 1, n - 1)
        a, b = ordered[lower], ordered[upper]
        difference = b - a
        result = np.where(gamma >= 0.5, b - difference * (1 - gamma), a + difference * gamma)
        column = np.full(size, np.nan)
        column[some] = result
        found.append(column)
    return tuple(found)


def participant_flow(data: Data, positions: np.ndarray) -> dict:
    """Enrolled → started → assessments done → completed or withdrawn (with reasons), and attendance dose."""
    if positions.size and data.m_group_pos.size:
        chosen = _selector(positions, data.m_group_pos)
        group_pos = data.m_group_pos[chosen]
        enrolled, status, reason = data.m_enrolled[chosen], data.m_status[chosen], data.m_reason[chosen]
        present, done = data.m_present[chosen], data.m_done[chosen]
    else:
        group_pos = np.zeros(0, dtype=np.int64)
        enrolled, status, reason = np.zeros(0, dtype=bool), np.zeros(0, dtype=object), np.zeros(0, dtype=object)
        present, done = np.zeros(0, dtype=np.int64), np.zeros((0, len(TIME_POINTS)), dtype=bool)
    e_status, e_present, e_offered = status[enrolled], present[enrolled], data.offered[group_pos[enrolled]]
    withdrawn = e_status == MembershipStatus.WITHDRAWN
    reasons = Counter(reason[enrolled][withdrawn].tolist())
    with_sessions = e_offered > 0
    dose = single.dose(np.minimum(e_present, e_offered)[with_sessions], e_offered[with_sessions], threshold=0.5)
    done_counts = done.sum(axis=0)
    return {
        "enrolled": int(enrolled.sum()),
        "started": int((e_present > 0).sum()),
        "completed_group": int((e_status == MembershipStatus.COMPLETED).sum()),
        "withdrawn": int(withdrawn.sum()),
        "withdrawal_reasons": {r or "not_recorded": n for r, n in sorted(reasons.items())},
        "assessments_done": dict(sorted((tp, int(n)) for tp, n in zip(TIME_POINTS, done_counts, strict=True) if n)),
        "dose_n": dose.n_members,
        "dose_median": dose.median,
        "dose_q1": dose.q1,
        "dose_q3": dose.q3,
        "dose_share_half": dose.share_at_or_above,
    }


# --- attrition and the sensitivity analysis (docs/statistics.md §5, §11) ------------------------------------


def _primary_outcomes(several) -> set[tuple[str, str, str]]:
    """(instrument, scale, time point) of the primary outcome in force in each of the organisation's plans, if an
    organisation cohort is being computed (its multiple imputation is only for them)."""
    organisations = {state.organisation_id for state, _ in several if state.dimension == "organisation"}
    if not organisations:
        return set()
    latest: dict[int, tuple[str, str, str]] = {}
    named = PrimaryOutcome.objects.filter(plan__organisation_id__in=organisations).order_by("named_at", "id")
    for plan_id, code, scale, time_point in named.values_list("plan_id", "instrument_code", "scale", "time_point"):
        latest[plan_id] = (code, scale, time_point)
    return set(latest.values())


def attrition_rows(data: Data, state: CohortState, positions: np.ndarray, enrolled: int, imputed: set) -> list[tuple]:
    """``ATTRITION_COLUMNS`` rows of one cohort: each instrument total and time point after baseline with a score.

    Members with a valid baseline score who have none at the time point are its non-completers; their baseline
    is compared with the completers'. For a primary outcome in ``imputed`` the mean change is also estimated
    under missing at random (chained equations, fixed seed, Rubin's rules) over everyone with either score.
    """
    rows: list[tuple] = []
    b = _TP_INDEX[TimePoint.BASELINE]
    for key in sorted(data.scales):
        code, scale_name = key
        if scale_name != "total":
            continue
        scale = data.scales[key]
        chosen = _selector(positions, scale.group_pos) if positions.size else slice(0, 0)
        values = scale.values[chosen]
        if not values.shape[0]:
            continue
        baseline = values[:, b]
        has_baseline = ~np.isnan(baseline)
        for time_point in ATTRITION_TIME_POINTS:
            later = values[:, _TP_INDEX[time_point]]
            has_later = ~np.isnan(later)
            with_baseline, with_score = int(has_baseline.sum()), int(has_later.sum())
            if not with_score:
                continue
            balance = missing.baseline_balance(baseline[has_baseline], has_later[has_baseline])
            both = has_baseline & has_later
            completers_change = float(np.mean(later[both] - baseline[both])) if both.any() else None
            mi = (None,) * 7
            if (code, scale_name, time_point) in imputed:
                either = has_baseline | has_later
                result = missing.impute_mean_change(baseline[either], later[either])
                if result.pooled is not None:
                    pooled = result.pooled
                    mi = (pooled.estimate, pooled.ci_low, pooled.ci_high, pooled.fraction_missing_information,
                          result.n, pooled.m, result.seed)  # fmt: skip
            rows.append(
                (state.pk, code, scale_name, time_point, enrolled, with_baseline, with_score,
                 1 - with_score / enrolled if enrolled else None,
                 1 - with_score / with_baseline if with_baseline else None,
                 balance.n_completers, balance.mean_completers, balance.sd_completers, balance.n_non_completers,
                 balance.mean_non_completers, balance.sd_non_completers, balance.smd, balance.smd_ci_low,
                 balance.smd_ci_high, completers_change, *mi)
            )  # fmt: skip
    return rows

"""The evaluation engine: cohorts marked stale by submits, recomputed in the background.

- ``mark_stale_for_response`` runs inside the submit's (or import's) transaction,
  and queues a recompute of the organisation after commit.
- ``schedule_recompute`` coalesces bursts: one recompute per organisation is
  queued at a time (a cache key), a short while later, and it recomputes every
  stale cohort then.
- ``recompute_cohort`` is idempotent and atomic: old rows are replaced by new
  ones in one transaction, so readers see the old figures or the new, never half.
  Two workers on one cohort take turns (a PostgreSQL advisory lock). A mark that
  arrives during a recompute keeps the cohort stale for the next run.
- ``sweep_stale`` (Celery beat) recomputes anything still stale, so a lost
  message delays a figure but never loses it.

Figures are computed by ``outcomes.statistics`` (numpy/scipy); see STATISTICS.md.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from groups.models import MembershipEvent, MembershipStatus, SupportGroup
from sessions.models import AttendanceStatus, GroupSession, SessionStatus

from . import statistics
from .cohorts import cohort_keys, cohort_label, groups_filter
from .definitions import InstrumentDefinition, load_all
from .models import (
    Assessment,
    AssessmentStatus,
    ChangeSummary,
    CohortState,
    ComparisonSummary,
    FlowSummary,
    OutcomeSummary,
    Response,
    TimePoint,
)

logger = logging.getLogger(__name__)

COALESCE_SECONDS = 0.5
_LOCK_NAMESPACE = 0x0C0401  # high bits of the advisory-lock key of a cohort recompute
CHANGE_PAIRS = [
    (TimePoint.BASELINE, TimePoint.POST),
    (TimePoint.BASELINE, TimePoint.FOLLOW_UP_3),
    (TimePoint.BASELINE, TimePoint.FOLLOW_UP_6),
    (TimePoint.BASELINE, TimePoint.FOLLOW_UP_12),
]


# --- Marking and scheduling -------------------------------------------------------------------


def mark_stale(group: SupportGroup) -> None:
    """Mark every cohort of ``group`` stale (in the caller's transaction) and queue a recompute after commit."""
    now = timezone.now()
    rows = [
        CohortState(
            organisation_id=group.organisation_id,
            dimension=dimension,
            value=value,
            label=cohort_label(dimension, value, group=group)[:200],
            stale=True,
            marked_at=now,
        )
        for dimension, value in cohort_keys(group)
    ]
    CohortState.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["organisation", "dimension", "value"],
        update_fields=["stale", "marked_at", "label"],
    )
    organisation_id = group.organisation_id
    transaction.on_commit(lambda: schedule_recompute(organisation_id))


def mark_stale_for_response(response: Response) -> None:
    mark_stale(response.assessment.membership.group)


def _scheduled_key(organisation_id: int) -> str:
    return f"outcomes:recompute-scheduled:{organisation_id}"


def schedule_recompute(organisation_id: int) -> bool:
    """Queue one recompute of the organisation's stale cohorts unless one is already queued."""
    from .tasks import recompute_organisation

    if not cache.add(_scheduled_key(organisation_id), "1", timeout=60):
        return False
    recompute_organisation.apply_async((organisation_id,), countdown=COALESCE_SECONDS)
    return True


# --- Recomputing --------------------------------------------------------------------------------


def recompute_stale(*, organisation_id: int | None = None, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every stale cohort (of one organisation, or all). Returns how many were recomputed."""
    if organisation_id is not None:
        cache.delete(_scheduled_key(organisation_id))
    states = CohortState.objects.filter(stale=True)
    if organisation_id is not None:
        states = states.filter(organisation_id=organisation_id)
    ids = list(states.order_by("organisation_id", "dimension", "value").values_list("pk", flat=True))
    for done, pk in enumerate(ids, start=1):
        recompute_cohort(pk)
        if progress:
            progress(done, len(ids))
    return len(ids)


def ensure_cohorts(*, organisation_id: int | None = None) -> None:
    """Create (stale) the cohort rows of every group that has answers, for a full recompute."""
    groups = SupportGroup.objects.filter(
        memberships__assessments__responses__submitted_at__isnull=False
    ).select_related("curriculum")
    if organisation_id is not None:
        groups = groups.filter(organisation_id=organisation_id)
    for group in groups.distinct():
        with transaction.atomic():
            mark_stale(group)


def recompute_all(*, organisation_id: int | None = None, progress=None) -> int:
    """Mark every cohort stale and recompute them all (``recompute_outcomes --all``)."""
    ensure_cohorts(organisation_id=organisation_id)
    states = CohortState.objects.all()
    if organisation_id is not None:
        states = states.filter(organisation_id=organisation_id)
    states.update(stale=True, marked_at=timezone.now())
    return recompute_stale(organisation_id=organisation_id, progress=progress)


def _lock(cohort_id: int) -> None:
    """Serialise recomputes of one cohort across workers (PostgreSQL); SQLite serialises writes itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [(_LOCK_NAMESPACE << 32) + cohort_id])


def recompute_cohort(cohort_id: int) -> bool:
    """Replace one cohort's figures atomically. Returns False if the cohort no longer exists."""
    with transaction.atomic():
        _lock(cohort_id)
        state = CohortState.objects.filter(pk=cohort_id).first()
        if state is None:
            return False
        started = timezone.now()
        figures = compute_cohort(state)
        OutcomeSummary.objects.filter(cohort=state).delete()
        ChangeSummary.objects.filter(cohort=state).delete()
        FlowSummary.objects.filter(cohort=state).delete()
        ComparisonSummary.objects.filter(cohort=state).delete()
        OutcomeSummary.objects.bulk_create(figures.outcomes)
        ComparisonSummary.objects.bulk_create(figures.comparisons)
        ChangeSummary.objects.bulk_create(figures.changes)
        FlowSummary.objects.create(**figures.flow)
        fresh = CohortState.objects.filter(pk=cohort_id).filter(Q(marked_at__isnull=True) | Q(marked_at__lte=started))
        if not fresh.update(stale=False, computed_at=timezone.now()):
            CohortState.objects.filter(pk=cohort_id).update(computed_at=timezone.now())
    return True


# --- Computing ------------------------------------------------------------------------------------


@dataclass
class CohortFigures:
    outcomes: list[OutcomeSummary]
    changes: list[ChangeSummary]
    flow: dict
    comparisons: list[ComparisonSummary]


def _latest_definitions() -> dict[str, InstrumentDefinition]:
    latest: dict[str, InstrumentDefinition] = {}
    for (code, version), defn in load_all().items():
        if code not in latest or version > latest[code].version:
            latest[code] = defn
    return latest


def _scale_values(response_scores: dict, total: float | None) -> Iterable[tuple[str, float | None]]:
    yield "total", total
    yield from (response_scores.get("subscales") or {}).items()


def _rci_parameters(defn: InstrumentDefinition | None, baseline_sd: float | None) -> dict | None:
    """SD₁, r_xx and the cut-off c for the Reliable Change Index (Jacobson & Truax), with their sources."""
    if defn is None or defn.reliability is None:
        return None
    reliability = defn.reliability.test_retest or defn.reliability.alpha
    if reliability is None:
        return None
    clinical = next((n for n in defn.norms if n.kind == "clinical" and n.sd), None)
    normative = next((n for n in defn.norms if n.kind == "normative" and n.sd), None)
    sd_pre, sd_source = (clinical.sd, "clinical norm") if clinical else (baseline_sd, "baseline SD of completers")
    if not sd_pre:
        return None
    cutoff = None
    if clinical and normative:
        cutoff = statistics.jt_cutoffs(
            clinical.mean, clinical.sd, normative.mean, normative.sd, defn.higher_is_better
        ).c
    return {
        "sd_pre": sd_pre,
        "sd_source": sd_source,
        "reliability": reliability,
        "reliability_kind": "test-retest" if defn.reliability.test_retest else "alpha",
        "reliability_source": defn.reliability.source,
        "cutoff": cutoff,
    }


def compute_cohort(state: CohortState) -> CohortFigures:
    groups = SupportGroup.objects.filter(organisation_id=state.organisation_id).filter(
        groups_filter(state.dimension, state.value)
    )
    definitions = _latest_definitions()

    # scores[(code, scale)][time_point][membership_id] = value
    scores: dict[tuple[str, str], dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    rows = Response.objects.filter(assessment__membership__group__in=groups, submitted_at__isnull=False).values_list(
        "assessment__membership_id", "assessment__time_point", "instrument_code", "total", "scores"
    )
    for membership_id, time_point, code, total, response_scores in rows.iterator(chunk_size=5000):
        for scale, value in _scale_values(response_scores or {}, total):
            if value is not None:
                scores[(code, scale)][time_point][membership_id] = float(value)

    outcomes: list[OutcomeSummary] = []
    changes: list[ChangeSummary] = []
    for (code, scale), by_time in sorted(scores.items()):
        defn = definitions.get(code)
        higher_is_better = defn.higher_is_better if defn else True
        for time_point, values in sorted(by_time.items()):
            d = statistics.describe(list(values.values()))
            outcomes.append(
                OutcomeSummary(
                    cohort=state,
                    instrument_code=code,
                    scale=scale,
                    time_point=time_point,
                    n=d.n,
                    mean=d.mean,
                    sd=d.sd,
                    median=d.median,
                    q1=d.q1,
                    q3=d.q3,
                    ci_low=d.ci_low,
                    ci_high=d.ci_high,
                )
            )
        for before, after in CHANGE_PAIRS:
            pre_by_member, post_by_member = by_time.get(before, {}), by_time.get(after, {})
            members = sorted(set(pre_by_member) & set(post_by_member))
            if not members:
                continue
            pre = [pre_by_member[m] for m in members]
            post = [post_by_member[m] for m in members]
            change = statistics.paired_change(pre, post, higher_is_better=higher_is_better)
            counts = {"improved": None, "unchanged": None, "deteriorated": None, "recovered": None}
            parameters = _rci_parameters(defn if scale == "total" else None, change.sd_pre)
            if parameters:
                rc = statistics.reliable_change(
                    pre,
                    post,
                    sd_pre=parameters["sd_pre"],
                    reliability=parameters["reliability"],
                    higher_is_better=higher_is_better,
                    cutoff=parameters["cutoff"],
                )
                counts = {
                    # Reliably improved, recovered or not, so the three counts add up to n_pairs.
                    "improved": rc.n_reliably_improved,
                    "unchanged": rc.n_unchanged,
                    "deteriorated": rc.n_deteriorated,
                    "recovered": rc.n_recovered,
                }
            changes.append(
                ChangeSummary(
                    cohort=state,
                    instrument_code=code,
                    scale=scale,
                    from_time_point=before,
                    to_time_point=after,
                    higher_is_better=higher_is_better,
                    n_pairs=change.n_pairs,
                    mean_change=change.mean_change,
                    sd_change=change.sd_change,
                    ci_low=change.ci_low,
                    ci_high=change.ci_high,
                    t=change.t,
                    p=change.p,
                    p_wilcoxon=change.p_wilcoxon,
                    wilcoxon_method=change.wilcoxon_method or "",
                    d_z=change.d_z,
                    d_av=change.d_av,
                    g_av=change.g_av,
                    g_av_ci_low=change.g_av_ci_low,
                    g_av_ci_high=change.g_av_ci_high,
                    r_pre_post=change.r_pre_post,
                    rci_parameters=parameters or {},
                    **counts,
                )
            )
    comparisons = compare_changes(state, groups, scores) if state.dimension == "organisation" else []
    return CohortFigures(
        outcomes=outcomes, changes=changes, flow={"cohort": state, **participant_flow(groups)}, comparisons=comparisons
    )


def compare_changes(state: CohortState, groups, scores) -> list[ComparisonSummary]:
    """Change compared as Hedges' g: structured vs unstructured groups, and each group vs the other groups."""
    from groups.models import GroupFormat, Membership

    group_of = dict(Membership.objects.filter(group__in=groups).values_list("pk", "group_id"))
    info = {g.pk: g for g in groups.only("pk", "name", "format")}
    rows: list[ComparisonSummary] = []
    for (code, scale), by_time in sorted(scores.items()):
        for before, after in CHANGE_PAIRS:
            pre, post = by_time.get(before, {}), by_time.get(after, {})
            change = {m: post[m] - pre[m] for m in set(pre) & set(post) if m in group_of}
            if not change:
                continue
            splits = []
            structured = [v for m, v in change.items() if info[group_of[m]].format == GroupFormat.STRUCTURED]
            unstructured = [v for m, v in change.items() if info[group_of[m]].format == GroupFormat.UNSTRUCTURED]
            splits.append(
                (ComparisonSummary.Kind.FORMAT, "format", GroupFormat.STRUCTURED, "Structured groups",
                 "Unstructured groups", structured, unstructured)
            )  # fmt: skip
            for group_id in sorted({group_of[m] for m in change}):
                inside = [v for m, v in change.items() if group_of[m] == group_id]
                outside = [v for m, v in change.items() if group_of[m] != group_id]
                splits.append(
                    (ComparisonSummary.Kind.GROUP, "group", str(group_id), info[group_id].name, "Other groups",
                     inside, outside)
                )  # fmt: skip
            for kind, dimension, value, a_label, b_label, a, b in splits:
                if not a or not b:
                    continue
                result = statistics.between_groups(a, b)
                rows.append(
                    ComparisonSummary(
                        cohort=state,
                        kind=kind,
                        instrument_code=code,
                        scale=scale,
                        from_time_point=before,
                        to_time_point=after,
                        a_dimension=dimension,
                        a_value=value,
                        a_label=a_label[:200],
                        b_label=b_label,
                        n_a=result.n1,
                        n_b=result.n2,
                        mean_a=result.mean1,
                        mean_b=result.mean2,
                        sd_a=result.sd1,
                        sd_b=result.sd2,
                        g=result.g,
                        g_ci_low=result.ci_low,
                        g_ci_high=result.ci_high,
                        t=result.t,
                        p=result.p,
                    )
                )
    return rows


def participant_flow(groups) -> dict:
    """Enrolled → started → assessments done → completed or withdrawn (with reasons), and attendance dose."""
    from groups.models import Membership

    memberships = Membership.objects.filter(group__in=groups)
    ever_active = set(
        MembershipEvent.objects.filter(membership__group__in=groups, to_status=MembershipStatus.ACTIVE).values_list(
            "membership_id", flat=True
        )
    )
    enrolled_ids = ever_active | set(
        memberships.filter(status__in=[MembershipStatus.ACTIVE, MembershipStatus.COMPLETED]).values_list(
            "pk", flat=True
        )
    )
    status_of = dict(memberships.filter(pk__in=enrolled_ids).values_list("pk", "status"))
    reasons = Counter(
        memberships.filter(pk__in=enrolled_ids, status=MembershipStatus.WITHDRAWN).values_list(
            "withdrawal_reason", flat=True
        )
    )
    now = timezone.now()
    present = dict(
        memberships.filter(pk__in=enrolled_ids)
        .annotate(n=Count("attendance", filter=Q(attendance__status=AttendanceStatus.PRESENT)))
        .values_list("pk", "n")
    )
    offered_by_group = dict(
        GroupSession.objects.filter(group__in=groups, starts_at__lte=now)
        .exclude(status=SessionStatus.CANCELLED)
        .values("group_id")
        .annotate(n=Count("pk"))
        .values_list("group_id", "n")
    )
    group_of = dict(memberships.filter(pk__in=enrolled_ids).values_list("pk", "group_id"))
    attended, offered = [], []
    for membership_id in enrolled_ids:
        n_offered = offered_by_group.get(group_of[membership_id], 0)
        if n_offered:
            attended.append(min(present.get(membership_id, 0), n_offered))
            offered.append(n_offered)
    dose = statistics.dose(attended, offered, threshold=0.5)
    done = dict(
        Assessment.objects.filter(membership__group__in=groups, status=AssessmentStatus.COMPLETED)
        .values("time_point")
        .annotate(n=Count("membership", distinct=True))
        .values_list("time_point", "n")
    )
    return {
        "enrolled": len(enrolled_ids),
        "started": sum(1 for m in enrolled_ids if present.get(m, 0) > 0),
        "completed_group": sum(1 for s in status_of.values() if s == MembershipStatus.COMPLETED),
        "withdrawn": sum(1 for s in status_of.values() if s == MembershipStatus.WITHDRAWN),
        "withdrawal_reasons": {reason or "not_recorded": n for reason, n in sorted(reasons.items())},
        "assessments_done": dict(sorted(done.items())),
        "dose_n": dose.n_members,
        "dose_median": dose.median,
        "dose_q1": dose.q1,
        "dose_q3": dose.q3,
        "dose_share_half": dose.share_at_or_above,
    }


def cohort_age(state: CohortState) -> dt.timedelta | None:
    return timezone.now() - state.computed_at if state.computed_at else None

"""Primary and secondary outcomes, and cohorts of the same people (docs/statistics.md §10), on the change rows of
the published tables.

- A cohort's **primary outcome** is the one its groups' plans name (``PrimaryOutcome``, the latest naming of
  each plan): the change from baseline to that time point on that instrument scale. When the groups with
  members follow plans naming different primary outcomes, or some name none, the cohort has none.
- Every other change row is **secondary**. Secondary p-values (the paired t-test's) are offered
  Holm-adjusted over the family of one report: every secondary p-value the report shows (withheld ones,
  without an effect size and its interval, are not tests), cohorts of the same people left out.
- A cohort whose members are exactly those of one shown before it (an organisation with one delivery mode) is
  "same people as …": its rows are not extra tests.
"""

from __future__ import annotations

from collections import defaultdict

from groups.models import Membership, SupportGroup
from outcomes.evaluation.cohorts import cohorts_groups
from outcomes.evaluation.disclosure.hidden import is_hidden
from outcomes.evaluation.statistics import multiplicity
from outcomes.models import CohortDimension, CohortState, MeasurementPlan, PrimaryOutcome, TimePoint

# The order cohorts are shown in (broad to narrow), so the one kept of the same people is the broadest.
DISPLAY_ORDER = (
    CohortDimension.ORGANISATION,
    CohortDimension.FORMAT,
    CohortDimension.CURRICULUM_KIND,
    CohortDimension.CURRICULUM,
    CohortDimension.DELIVERY,
    CohortDimension.AUDIENCE,
    CohortDimension.PERIOD,
    CohortDimension.GROUP,
)
ROLE_PRIMARY = "primary"
ROLE_SECONDARY = "secondary"
LABELS = ("outcome_role", "primary_note", "p_holm", "same_people_as")


def _shown_number(value) -> bool:
    """A figure the report shows: a number (a hidden one is a ``Hidden`` or "suppressed (<k)" text)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and not is_hidden(value)


def _key(naming: PrimaryOutcome) -> tuple[str, str, str]:
    return (naming.instrument_code, naming.scale, naming.time_point)


def plan_namings(organisation) -> dict[int, list[PrimaryOutcome]]:
    """Each plan's namings of its primary outcome, oldest first (the last is in force)."""
    namings: dict[int, list[PrimaryOutcome]] = defaultdict(list)
    for naming in PrimaryOutcome.objects.filter(plan__organisation=organisation).order_by("named_at", "id"):
        namings[naming.plan_id].append(naming)
    return namings


def group_plans(organisation) -> dict[int, int]:
    """The plan each group follows (its own, else its curriculum version's), by group pk."""
    plans = MeasurementPlan.objects.filter(organisation=organisation).values_list("pk", "group_id", "curriculum_id")
    by_group = {group: pk for pk, group, _ in plans if group}
    by_curriculum = {curriculum: pk for pk, _, curriculum in plans if curriculum}
    found = {}
    for pk, curriculum in SupportGroup.objects.filter(organisation=organisation).values_list("pk", "curriculum_id"):
        plan = by_group.get(pk) or by_curriculum.get(curriculum)
        if plan:
            found[pk] = plan
    return found


def describe(naming: PrimaryOutcome, earlier: list[PrimaryOutcome]) -> str:
    """How a primary outcome was named, for the report: when, and whether it was a change or came late."""
    text = f"named {naming.named_at:%Y-%m-%d %H:%M} UTC"
    if naming.after_follow_up_opened:
        text += ", after a follow-up had opened"
    if earlier:
        was = "; ".join(f"{n.instrument_code} {n.scale} at {n.time_point} ({n.named_at:%Y-%m-%d})" for n in earlier)
        text += f"; changed from {was}"
    if naming.reason:
        text += f": {naming.reason}"
    return text


def label_changes(organisation, cohorts: dict, changes: list[dict]) -> None:
    """Add ``outcome_role``, ``primary_note``, ``p_holm`` and ``same_people_as`` to each change row (in place).
    ``cohorts``: pk → an object with ``pk``, ``dimension``, ``value`` and ``label`` (the summary's)."""
    populated = _populated(organisation)
    groups_of = _groups_of(cohorts)
    same = same_people_as(organisation, cohorts, populated=populated, groups_of=groups_of)
    by_key = {(c.dimension, c.value): c for c in cohorts.values()}

    plans = group_plans(organisation)
    namings = plan_namings(organisation)
    primary_of: dict[int, tuple[tuple[str, str, str] | None, str]] = {}
    for cohort in cohorts.values():
        members = sorted(groups_of.get(cohort.pk, set()) & populated)
        current = [namings[plans[g]][-1] if namings.get(plans.get(g)) else None for g in members]
        keys = {_key(n) if n else None for n in current}
        if len(keys) == 1 and None not in keys:
            naming = next(n for n in current if n)
            primary_of[cohort.pk] = (_key(naming), describe(naming, namings[naming.plan_id][:-1]))
        elif not members or keys == {None}:
            primary_of[cohort.pk] = (None, "no primary outcome named")
        else:
            primary_of[cohort.pk] = (None, "its groups' plans name different primary outcomes, or some none")

    family = []
    for row in changes:
        cohort = by_key.get((row["cohort_dimension"], row["cohort_value"]))
        repeat = cohorts.get(same.get(cohort.pk)) if cohort else None
        primary, note = primary_of.get(cohort.pk, (None, "")) if cohort else (None, "")
        is_primary = (
            primary is not None
            and row["from_time_point"] == TimePoint.BASELINE
            and primary == (row["instrument"], row["scale"], row["to_time_point"])
        )
        row["outcome_role"] = ROLE_PRIMARY if is_primary else ROLE_SECONDARY
        row["primary_note"] = note if is_primary or primary is None else ""
        row["same_people_as"] = repeat.label if repeat else None
        row["same_people_as_key"] = f"{repeat.dimension}:{repeat.value}" if repeat else None  # the page's link
        row["p_holm"] = None
        tested = all(_shown_number(row.get(name)) for name in ("p", "g_av", "g_av_ci_low", "g_av_ci_high"))
        if not is_primary and repeat is None and tested:
            family.append(row)
    for row, adjusted in zip(family, multiplicity.holm([row["p"] for row in family]), strict=True):
        row["p_holm"] = adjusted


def _populated(organisation) -> set[int]:
    """The organisation's groups that have anyone in them (people, not groups, make two cohorts the same)."""
    # One row per group, not per membership: this runs on every read of the tables (page, exports, report).
    memberships = Membership.objects.filter(group__organisation=organisation)
    return set(memberships.values_list("group_id", flat=True).distinct().order_by())


def _groups_of(cohorts: dict) -> dict[int, set[int]]:
    """Each cohort's pk → the pks of its groups (two queries, whatever the number of cohorts)."""
    states = list(CohortState.objects.filter(pk__in=list(cohorts)))
    return dict(zip((s.pk for s in states), cohorts_groups(states), strict=True)) if states else {}


def same_people_as(
    organisation, cohorts: dict, *, populated: set[int] | None = None, groups_of: dict[int, set[int]] | None = None
) -> dict[int, int | None]:
    """Each cohort's pk → the pk of the cohort shown before it with exactly the same people, or None."""
    populated = _populated(organisation) if populated is None else populated
    groups_of = _groups_of(cohorts) if groups_of is None else groups_of
    order = {dimension: i for i, dimension in enumerate(DISPLAY_ORDER)}
    shown = sorted(cohorts.values(), key=lambda c: (order.get(c.dimension, len(order)), c.label, c.pk))
    return multiplicity.same_people([(c.pk, groups_of.get(c.pk, set()) & populated) for c in shown])


def history(organisation) -> list[dict]:
    """Every plan's primary outcome with its changes, for the report."""
    plans = {p.pk: p for p in MeasurementPlan.objects.filter(organisation=organisation)}
    rows = []
    for plan_id, named in sorted(plan_namings(organisation).items()):
        current = named[-1]
        rows.append(
            {
                "plan": plans[plan_id].name,
                "instrument": current.instrument_code,
                "instrument_version": current.instrument_version,
                "scale": current.scale,
                "from": TimePoint.BASELINE,
                "to": current.time_point,
                "named_at": current.named_at.isoformat(),
                "after_follow_up_opened": current.after_follow_up_opened,
                "changed": len(named) > 1,
                "namings": [
                    {
                        "instrument": n.instrument_code,
                        "scale": n.scale,
                        "to": n.time_point,
                        "named_at": n.named_at.isoformat(),
                        "after_follow_up_opened": n.after_follow_up_opened,
                        "reason": n.reason,
                    }
                    for n in named
                ],
            }
        )
    return rows

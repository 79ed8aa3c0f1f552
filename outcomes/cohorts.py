"""Cohorts: the sets of groups whose outcomes are computed together.

A response belongs to the cohorts of its group: the organisation, the group,
its curriculum (all versions), curriculum kind, format, delivery mode and audience,
and every period cohort a lead has asked for whose quarters hold the group's start
(see :mod:`outcomes.periods`).
"""

from __future__ import annotations

from django.db.models import Q

from groups.models import SupportGroup

from .models import CohortDimension
from .periods import Period, periods_of, starting_in

CohortKey = tuple[str, str]  # (dimension, value)


def cohort_keys(group: SupportGroup, *, with_periods: bool = True) -> list[CohortKey]:
    """Every cohort the group's answers count in. One query (for the existing period cohorts), none without."""
    keys = [
        (CohortDimension.ORGANISATION, ""),
        (CohortDimension.GROUP, str(group.pk)),
        (CohortDimension.FORMAT, group.format),
        (CohortDimension.DELIVERY, group.delivery),
        (CohortDimension.AUDIENCE, group.audience),
    ]
    if group.curriculum_id:
        keys.append((CohortDimension.CURRICULUM, str(group.curriculum.family)))
        keys.append((CohortDimension.CURRICULUM_KIND, group.curriculum.kind))
    if with_periods:
        keys.extend((CohortDimension.PERIOD, value) for value in periods_of(group))
    return keys


def cohort_label(dimension: str, value: str, *, group: SupportGroup | None = None) -> str:
    if dimension == CohortDimension.ORGANISATION:
        return "All groups"
    if dimension == CohortDimension.GROUP and group is not None:
        return group.name
    if dimension == CohortDimension.CURRICULUM and group is not None and group.curriculum_id:
        return group.curriculum.title
    if dimension == CohortDimension.PERIOD:
        period = Period.parse(value)
        return period.label if period else value
    return value.replace("_", " ").capitalize()


def groups_filter(dimension: str, value: str) -> Q:
    """The groups of a cohort, within its organisation. A period value that does not parse holds no groups."""
    if dimension == CohortDimension.PERIOD:
        period = Period.parse(value)
        return starting_in(period) if period else Q(pk__in=[])
    return {
        CohortDimension.ORGANISATION: Q(),
        CohortDimension.GROUP: Q(pk=int(value) if value.isdigit() else -1),
        CohortDimension.FORMAT: Q(format=value),
        CohortDimension.DELIVERY: Q(delivery=value),
        CohortDimension.AUDIENCE: Q(audience=value),
        CohortDimension.CURRICULUM: Q(curriculum__family=value),
        CohortDimension.CURRICULUM_KIND: Q(curriculum__kind=value),
    }[dimension]

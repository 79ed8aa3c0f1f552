"""Figures other apps add to the groups' reads, so that ``groups`` imports none of them.

The groups pages show each group's next session and attendance, which the
``sessions`` app holds. Rather than import it, the groups selectors apply the
annotators registered here; ``sessions`` registers its own in
``GroupSessionsConfig.ready()``. Without such an app the figures are simply absent
and the templates say "none planned" or "not recorded yet".
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet

from .models import Membership, SupportGroup

GroupAnnotator = Callable[[QuerySet[SupportGroup]], QuerySet[SupportGroup]]
MembershipAnnotator = Callable[[QuerySet[Membership]], QuerySet[Membership]]

_group_annotators: list[GroupAnnotator] = []
_membership_annotators: list[MembershipAnnotator] = []


def add_group_figures(annotator: GroupAnnotator) -> None:
    """Register ``annotator``: it receives a queryset of groups and returns it annotated (subqueries only)."""
    if annotator not in _group_annotators:
        _group_annotators.append(annotator)


def add_membership_figures(annotator: MembershipAnnotator) -> None:
    """Register ``annotator`` for querysets of memberships (rosters and a member's own groups)."""
    if annotator not in _membership_annotators:
        _membership_annotators.append(annotator)


def annotate_groups(groups: QuerySet[SupportGroup]) -> QuerySet[SupportGroup]:
    for annotator in _group_annotators:
        groups = annotator(groups)
    return groups


def annotate_memberships(memberships: QuerySet[Membership]) -> QuerySet[Membership]:
    for annotator in _membership_annotators:
        memberships = annotator(memberships)
    return memberships

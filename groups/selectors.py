"""Reads for curricula, groups and membership.

Counts are subqueries on the group row, so a list or a roster takes a fixed
number of queries whatever its size. Figures other apps hold (the next session
and attendance, from ``sessions``) are added the same way through ``hooks``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from peersupport.models import Organisation, RoleKind, User

from . import hooks
from .models import (
    Curriculum,
    CurriculumUnit,
    GroupStatus,
    Membership,
    MembershipEvent,
    MembershipStatus,
    SupportGroup,
    normalise_code,
)
from .permissions import groups_managed_by

CURRENT_STATUSES = (MembershipStatus.ACTIVE, MembershipStatus.WAITLISTED, MembershipStatus.REQUESTED)
OPEN_STATUSES = (GroupStatus.RECRUITING, GroupStatus.RUNNING)


def subquery_count(queryset: QuerySet, by: str) -> Coalesce:
    """COUNT(*) of ``queryset`` per ``by`` as a scalar subquery (0 when there are none)."""
    rows = queryset.order_by().values(by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows[:1], output_field=IntegerField()), Value(0))


def with_figures(groups: QuerySet[SupportGroup]) -> QuerySet[SupportGroup]:
    """Annotate each group with ``active_count``, ``waitlist_count``, ``request_count`` and what other apps
    add through ``hooks`` (with ``sessions``: ``next_session_at`` and ``attendance_rate``, see
    ``sessions.selectors.groups_with_session_figures``).
    """
    memberships = Membership.objects.filter(group=OuterRef("pk"))
    return hooks.annotate_groups(
        groups.annotate(
            active_count=subquery_count(memberships.filter(status=MembershipStatus.ACTIVE), "group"),
            waitlist_count=subquery_count(memberships.filter(status=MembershipStatus.WAITLISTED), "group"),
            request_count=subquery_count(memberships.filter(status=MembershipStatus.REQUESTED), "group"),
        )
    )


def groups_overview(user: User, organisation: Organisation) -> QuerySet[SupportGroup]:
    """The groups a user manages in an organisation (a lead: all; a facilitator: their own), with figures."""
    return (
        with_figures(groups_managed_by(user, organisation))
        .select_related("curriculum")
        .prefetch_related("facilitators")
        .order_by("name", "pk")
    )


def group_with_figures(group: SupportGroup) -> SupportGroup:
    """The same group, re-read with the figures of ``with_figures``."""
    return with_figures(SupportGroup.objects.filter(pk=group.pk)).select_related("organisation", "curriculum").get()


@dataclass
class Roster:
    active: list[Membership] = field(default_factory=list)
    waitlisted: list[Membership] = field(default_factory=list)
    requested: list[Membership] = field(default_factory=list)
    invited: list[Membership] = field(default_factory=list)
    completed: list[Membership] = field(default_factory=list)
    withdrawn: list[Membership] = field(default_factory=list)


def roster(group: SupportGroup) -> Roster:
    """Everyone who has been in the group, by status, in one query.

    Each membership carries ``last_via`` (how its latest status change happened, e.g. ``request_declined``)
    and what other apps add through ``hooks`` (with ``sessions``: ``sessions_present`` and
    ``sessions_recorded``). Waiting lists are in promotion order.
    """
    last_via = MembershipEvent.objects.filter(membership=OuterRef("pk")).order_by("-at", "-id").values("via")[:1]
    rows = hooks.annotate_memberships(
        group.memberships.select_related("user").annotate(last_via=Subquery(last_via))
    ).order_by("waitlisted_at", "created_at", "pk")
    result = Roster()
    for membership in rows:
        getattr(result, membership.status).append(membership)
    result.active.sort(key=lambda m: (m.user.name.lower(), m.pk))
    result.completed.sort(key=lambda m: (m.user.name.lower(), m.pk))
    result.withdrawn.sort(key=lambda m: m.left_at or m.created_at, reverse=True)
    return result


def active_memberships(group: SupportGroup) -> QuerySet[Membership]:
    """The group's active members (for registers and reminders), by name."""
    return (
        group.memberships.filter(status=MembershipStatus.ACTIVE)
        .select_related("user")
        .order_by("user__display_name", "user__email")
    )


def member_groups(user: User, organisation: Organisation) -> QuerySet[Membership]:
    """The user's current memberships in the organisation (active, waiting or asked), with the group,
    ``waitlist_position`` (1 = next to be offered a place) and what other apps add through ``hooks`` (with
    ``sessions``: the group's ``next_session_at``).
    """
    ahead = Membership.objects.filter(
        group=OuterRef("group"), status=MembershipStatus.WAITLISTED, waitlisted_at__lte=OuterRef("waitlisted_at")
    ).filter(Q(waitlisted_at__lt=OuterRef("waitlisted_at")) | Q(pk__lte=OuterRef("pk")))
    return hooks.annotate_memberships(
        Membership.objects.filter(user=user, group__organisation=organisation, status__in=CURRENT_STATUSES)
        .select_related("group", "group__organisation")
        .annotate(waitlist_position=subquery_count(ahead, "group"))
    ).order_by("group__name", "pk")


def member_past_groups(user: User, organisation: Organisation) -> QuerySet[Membership]:
    """Groups the user completed or left, most recent first."""
    return (
        Membership.objects.filter(
            user=user,
            group__organisation=organisation,
            status__in=(MembershipStatus.COMPLETED, MembershipStatus.WITHDRAWN),
        )
        .select_related("group")
        .order_by("-left_at", "-pk")
    )


def member_membership(user: User, organisation: Organisation, group_id: int) -> Membership | None:
    """The user's own membership of a group of the organisation, or None."""
    return (
        Membership.objects.filter(user=user, group_id=group_id, group__organisation=organisation)
        .select_related("group", "group__organisation", "user")
        .first()
    )


def open_groups_for(user: User, organisation: Organisation) -> QuerySet[SupportGroup]:
    """Groups of the organisation a member may ask to join: open to requests, recruiting or running,
    and not ones they are already in or have completed. Annotated as ``with_figures``.
    """
    taken = Membership.objects.filter(user=user, status__in=(*CURRENT_STATUSES, MembershipStatus.COMPLETED)).values(
        "group_id"
    )
    groups = SupportGroup.objects.filter(
        organisation=organisation, open_to_requests=True, status__in=OPEN_STATUSES
    ).exclude(pk__in=taken)
    return with_figures(groups).select_related("curriculum").order_by("name", "pk")


def curricula_of(organisation: Organisation) -> QuerySet[Curriculum]:
    """Every version of every curriculum, newest version first within a title, with unit and group counts."""
    return (
        Curriculum.objects.filter(organisation=organisation)
        .annotate(
            unit_count=subquery_count(CurriculumUnit.objects.filter(curriculum=OuterRef("pk")), "curriculum"),
            group_count=subquery_count(SupportGroup.objects.filter(curriculum=OuterRef("pk")), "curriculum"),
        )
        .select_related("created_by")
        .order_by("title", "family", "-version", "pk")
    )


def latest_version(curriculum: Curriculum) -> Curriculum:
    return Curriculum.objects.filter(family=curriculum.family).order_by("-version").first()


def facilitator_choices(organisation: Organisation) -> QuerySet[User]:
    """People who may facilitate in the organisation."""
    return (
        User.objects.filter(roles__organisation=organisation, roles__kind=RoleKind.FACILITATOR, is_active=True)
        .distinct()
        .order_by("display_name", "email")
    )


# --- The public page -------------------------------------------------------------------------------


def public_organisation(slug: str) -> Organisation | None:
    """The organisation at ``slug`` if it has opted in to a public page; None otherwise (the view answers 404)."""
    return Organisation.objects.filter(slug=slug, public_page=True).first()


def public_groups(organisation: Organisation) -> QuerySet[SupportGroup]:
    """The groups the organisation lists on its public page: listed, recruiting or running. Annotated as
    ``with_figures`` (places and the next session), with ``named_facilitators``: only those who chose to be
    named there (``User.name_on_public_pages``), by display name. Members are never named."""
    groups = SupportGroup.objects.filter(organisation=organisation, listed_publicly=True, status__in=OPEN_STATUSES)
    named = User.objects.filter(name_on_public_pages=True, is_active=True).exclude(display_name="")
    return (
        with_figures(groups)
        .annotate(free_places=F("capacity") - F("active_count"))
        .prefetch_related(
            Prefetch("facilitators", queryset=named.order_by("display_name"), to_attr="named_facilitators")
        )
        .order_by("name", "pk")
    )


def group_by_code(code: str) -> SupportGroup | None:
    """The group whose enrolment code this is (any organisation), or None."""
    code = normalise_code(code)
    if not code:
        return None
    return SupportGroup.objects.select_related("organisation").filter(enrolment_code=code).first()

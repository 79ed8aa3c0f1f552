"""Reads for people, organisations, roles and consent."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone

from .models import ConsentDecision, ConsentVersion, Invitation, Organisation, Role, RoleKind, User


@dataclass(frozen=True)
class Membership:
    organisation: Organisation
    kinds: tuple[str, ...]


def organisations_of(user: User) -> list[Membership]:
    """The organisations the user has any role in, with the roles, in one query."""
    if not user.is_authenticated:
        return []
    by_org: dict[int, tuple[Organisation, list[str]]] = {}
    order = [RoleKind.LEAD, RoleKind.FACILITATOR, RoleKind.MEMBER]
    for role in Role.objects.filter(user=user).select_related("organisation").order_by("organisation__name"):
        by_org.setdefault(role.organisation_id, (role.organisation, []))[1].append(role.kind)
    return [Membership(org, tuple(sorted(kinds, key=order.index))) for org, kinds in by_org.values()]


def consent_current_version(organisation: Organisation) -> ConsentVersion | None:
    """The newest version in effect today."""
    return organisation.consent_versions.filter(effective_date__lte=timezone.localdate()).order_by("-version").first()


def consent_latest_decision(*, user: User, organisation: Organisation) -> ConsentDecision | None:
    return (
        ConsentDecision.objects.filter(user=user, consent_version__organisation=organisation)
        .select_related("consent_version")
        .order_by("-at", "-id")
        .first()
    )


def consent_active_user_ids(organisation: Organisation) -> set[int]:
    """The ids of everyone whose consent is active in ``organisation`` (``consent_is_active`` for all at once, in
    two queries: for imports that check thousands of people)."""
    current = consent_current_version(organisation)
    if current is None:
        return set()
    latest: dict[int, ConsentDecision] = {}
    decisions = ConsentDecision.objects.filter(consent_version__organisation=organisation).order_by(
        "user_id", "-at", "-id"
    )
    for decision in decisions.only("user_id", "action", "consent_version_id", "at"):
        latest.setdefault(decision.user_id, decision)
    return {
        user_id
        for user_id, decision in latest.items()
        if decision.action == ConsentDecision.Action.GIVEN and decision.consent_version_id == current.pk
    }


def consent_is_active(*, user: User, organisation: Organisation) -> bool:
    """True when the user's latest decision accepts the version in effect now.

    False after a withdrawal, before any acceptance, and when a newer version
    has taken effect since: data collection checks this before it collects.
    """
    current = consent_current_version(organisation)
    if current is None:
        return False
    latest = consent_latest_decision(user=user, organisation=organisation)
    return (
        latest is not None and latest.action == ConsentDecision.Action.GIVEN and latest.consent_version_id == current.pk
    )


def people_in(organisation: Organisation) -> QuerySet[Role]:
    return Role.objects.filter(organisation=organisation).select_related("user").order_by("kind", "user__email", "pk")


def role_counts(organisation: Organisation) -> dict[str, int]:
    rows = Role.objects.filter(organisation=organisation).values("kind").annotate(n=Count("id"))
    counts = {kind: 0 for kind in RoleKind.values}
    counts.update({row["kind"]: row["n"] for row in rows})
    return counts


def consented_member_count(organisation: Organisation) -> int:
    """Members whose latest consent decision in the organisation accepts the current version.

    Counted by the database (each member's latest decision by a subquery on the ``(user, -at)`` index): a
    dashboard costs the same at 20 members and 10,000.
    """
    current = consent_current_version(organisation)
    if current is None:
        return 0
    latest = ConsentDecision.objects.filter(
        user=OuterRef("user_id"), consent_version__organisation=organisation
    ).order_by("-at", "-id")
    latest_ids = (
        Role.objects.filter(organisation=organisation, kind=RoleKind.MEMBER)
        .annotate(latest_id=Subquery(latest.values("pk")[:1]))
        .values("latest_id")
    )
    return ConsentDecision.objects.filter(
        pk__in=latest_ids, action=ConsentDecision.Action.GIVEN, consent_version=current
    ).count()


def pending_invitations(organisation: Organisation) -> QuerySet[Invitation]:
    return organisation.invitations.filter(used_at__isnull=True, expires_at__gt=timezone.now()).order_by(
        "-created_at", "-pk"
    )

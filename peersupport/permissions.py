"""The one place that answers "may this user do X in this organisation?".

Every view asks through ``can`` or ``organisation_for``. A user who may not act
in an organisation gets 404, not 403: we do not confirm that it exists.
"""

from __future__ import annotations

from enum import StrEnum

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from .models import Organisation, Role, RoleKind


class Perm(StrEnum):
    MEMBER_AREA = "member_area"  # see own groups and questionnaires (after consent)
    FACILITATE = "facilitate"  # run own groups, registers and logs
    MANAGE_ORGANISATION = "manage_organisation"  # invitations, roles, consent versions, curricula
    VIEW_EVALUATION = "view_evaluation"  # aggregated outcome figures
    EXPORT_DATA = "export_data"  # de-identified exports


GRANTS: dict[str, frozenset[Perm]] = {
    RoleKind.MEMBER: frozenset({Perm.MEMBER_AREA}),
    RoleKind.FACILITATOR: frozenset({Perm.FACILITATE}),
    RoleKind.LEAD: frozenset({Perm.MANAGE_ORGANISATION, Perm.VIEW_EVALUATION, Perm.EXPORT_DATA}),
}


def role_kinds(user, organisation: Organisation) -> frozenset[str]:
    """The kinds of role the user holds in the organisation, cached on the user object."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cache = user.__dict__.setdefault("_role_cache", None)
    if cache is None:
        cache = {}
        for org_id, kind in Role.objects.filter(user=user).values_list("organisation_id", "kind"):
            cache.setdefault(org_id, set()).add(kind)
        user.__dict__["_role_cache"] = cache
    return frozenset(cache.get(organisation.pk, ()))


def forget_roles(user) -> None:
    """Drop the cached roles after a role was granted or removed."""
    user.__dict__.pop("_role_cache", None)


def perms(user, organisation: Organisation) -> frozenset[Perm]:
    granted: set[Perm] = set()
    for kind in role_kinds(user, organisation):
        granted |= GRANTS.get(kind, frozenset())
    return frozenset(granted)


def can(user, organisation: Organisation, perm: Perm) -> bool:
    return perm in perms(user, organisation)


def organisation_for(request: HttpRequest, slug: str, perm: Perm) -> Organisation:
    """The organisation named in the URL, or 404 when the user may not do ``perm`` there."""
    organisation = get_object_or_404(Organisation, slug=slug)
    if not can(request.user, organisation, perm):
        raise Http404("No such organisation.")
    return organisation

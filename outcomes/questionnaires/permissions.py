"""Who may see what in outcomes, on top of peersupport.permissions."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from groups.models import SupportGroup
from peersupport.models import Organisation
from peersupport.permissions import Perm, can


def organisation_for_staff(request: HttpRequest, slug: str) -> Organisation:
    """The organisation when the user facilitates or leads in it; 404 otherwise (members included)."""
    organisation = get_object_or_404(Organisation, slug=slug)
    user = request.user
    if not (can(user, organisation, Perm.FACILITATE) or can(user, organisation, Perm.MANAGE_ORGANISATION)):
        raise Http404("No such organisation.")
    return organisation


def groups_overseen(user, organisation: Organisation):
    """All groups for a lead; a facilitator's own groups otherwise."""
    groups = SupportGroup.objects.filter(organisation=organisation)
    if can(user, organisation, Perm.MANAGE_ORGANISATION):
        return groups
    return groups.filter(facilitations__user=user)

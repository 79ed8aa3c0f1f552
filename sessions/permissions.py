"""Who may manage a group's sessions, registers, logs and contacts.

The rule is the group's own (``groups.permissions.can_manage_group``): a lead of
the organisation, or a facilitator of the group who still holds the facilitator
role there. Anyone else gets 404, so a group's or session's existence is not confirmed.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest

from groups.models import SupportGroup
from groups.permissions import can_manage_group, manageable_group, staff_organisation
from peersupport.models import Organisation
from peersupport.permissions import Perm, organisation_for

from .models import GroupSession

__all__ = ["can_manage_sessions", "lead_organisation", "manageable_group", "manageable_session"]


def can_manage_sessions(user, group: SupportGroup) -> bool:
    return can_manage_group(user, group)


def manageable_session(request: HttpRequest, slug: str, session_id: int) -> GroupSession:
    """The session named in the URL, or 404 unless the user may manage its group."""
    organisation = staff_organisation(request, slug)
    session = (
        GroupSession.objects.select_related("group__organisation", "group__curriculum", "unit")
        .filter(pk=session_id, group__organisation=organisation)
        .first()
    )
    if session is None or not can_manage_group(request.user, session.group):
        raise Http404("No such session.")
    return session


def lead_organisation(request: HttpRequest, slug: str) -> Organisation:
    return organisation_for(request, slug, Perm.MANAGE_ORGANISATION)

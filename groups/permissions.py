"""Group-level rules on top of ``peersupport.permissions``.

A lead manages every group of the organisation; a facilitator (who still holds
the facilitator role there) manages only the groups they facilitate. Anyone else
gets 404, so a group's existence is not confirmed.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from peersupport.models import Organisation
from peersupport.permissions import Perm, can

from .models import Curriculum, GroupFacilitator, SupportGroup


def is_lead(user, organisation: Organisation) -> bool:
    return can(user, organisation, Perm.MANAGE_ORGANISATION)


def is_staff_in(user, organisation: Organisation) -> bool:
    """Facilitator or lead in the organisation."""
    return can(user, organisation, Perm.FACILITATE) or is_lead(user, organisation)


def can_manage_group(user, group: SupportGroup) -> bool:
    """A lead of the group's organisation, or one of its facilitators who still holds the role."""
    organisation = group.organisation
    if is_lead(user, organisation):
        return True
    if not can(user, organisation, Perm.FACILITATE):
        return False
    return GroupFacilitator.objects.filter(group=group, user=user).exists()


def staff_organisation(request: HttpRequest, slug: str) -> Organisation:
    """The organisation named in the URL when the user facilitates or leads there; 404 otherwise."""
    organisation = get_object_or_404(Organisation, slug=slug)
    if not is_staff_in(request.user, organisation):
        raise Http404("No such organisation.")
    return organisation


def groups_managed_by(user, organisation: Organisation) -> QuerySet[SupportGroup]:
    """All groups of the organisation for a lead; a facilitator's own groups otherwise; none for anyone else."""
    groups = SupportGroup.objects.filter(organisation=organisation)
    if is_lead(user, organisation):
        return groups
    if not can(user, organisation, Perm.FACILITATE):
        return groups.none()
    return groups.filter(pk__in=GroupFacilitator.objects.filter(user=user).values("group_id"))


def manageable_group(request: HttpRequest, slug: str, group_id: int) -> SupportGroup:
    """The group named in the URL, or 404 unless the user may manage it."""
    organisation = staff_organisation(request, slug)
    group = (
        SupportGroup.objects.select_related("organisation", "curriculum", "created_by")
        .filter(pk=group_id, organisation=organisation)
        .first()
    )
    if group is None or not can_manage_group(request.user, group):
        raise Http404("No such group.")
    return group


def visible_curriculum(request: HttpRequest, slug: str, curriculum_id: int) -> Curriculum:
    """A curriculum of the organisation: leads manage them, facilitators may read them (they deliver them)."""
    organisation = staff_organisation(request, slug)
    return get_object_or_404(
        Curriculum.objects.select_related("organisation"), pk=curriculum_id, organisation=organisation
    )

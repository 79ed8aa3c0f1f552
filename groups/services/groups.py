"""Support groups: creating and changing them, their facilitators, status and enrolment code.

Rules one row can check are in ``SupportGroup.clean()`` (and the database); the
facilitator rules that need other rows are in ``validate_facilitators``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from peersupport import audit
from peersupport.models import Organisation, Role, RoleKind, User

from ..models import (
    MAX_FACILITATORS,
    Facilitation,
    GroupFacilitator,
    GroupStatus,
    SupportGroup,
    new_enrolment_code,
)
from . import Action
from .membership import active_count, fill_places, lock_group

STATUS_TRANSITIONS: dict[str, tuple[str, ...]] = {
    GroupStatus.DRAFT: (GroupStatus.RECRUITING, GroupStatus.CANCELLED),
    GroupStatus.RECRUITING: (GroupStatus.RUNNING, GroupStatus.CANCELLED),
    GroupStatus.RUNNING: (GroupStatus.COMPLETED, GroupStatus.CANCELLED),
    GroupStatus.COMPLETED: (),
    GroupStatus.CANCELLED: (),
}
GROUP_FIELDS = frozenset(
    {
        "name",
        "description",
        "curriculum",
        "format",
        "facilitation",
        "delivery",
        "audience",
        "capacity",
        "time_zone",
        "location",
        "online_url",
        "phone_details",
        "open_to_requests",
        "listed_publicly",
    }
)
# Changing these once a group runs would change what members signed up for (and the sessions already planned).
FIXED_ONCE_RUNNING = frozenset({"curriculum", "format"})


def validate_facilitators(*, organisation: Organisation, facilitation: str, facilitators: Sequence[User]) -> None:
    """A peer-to-peer group has none; a peer-led group 1 to 3, each a facilitator of the organisation."""
    people = list({user.pk: user for user in facilitators}.values())
    if facilitation == Facilitation.PEER_TO_PEER:
        if people:
            raise ValidationError(
                {"facilitators": _("A peer-to-peer group has no facilitator: remove them, or make the group peer-led.")}
            )
        return
    if not 1 <= len(people) <= MAX_FACILITATORS:
        raise ValidationError(
            {"facilitators": _("A peer-led group has 1 to %(max)s facilitators.") % {"max": MAX_FACILITATORS}}
        )
    holders = set(
        Role.objects.filter(
            organisation=organisation, kind=RoleKind.FACILITATOR, user__in=[u.pk for u in people]
        ).values_list("user_id", flat=True)
    )
    missing = [user for user in people if user.pk not in holders]
    if missing:
        raise ValidationError(
            {
                "facilitators": _("%(names)s do not hold the facilitator role in this organisation.")
                % {"names": ", ".join(str(u) for u in missing)}
            }
        )


def _set_facilitators(group: SupportGroup, facilitators: Sequence[User]) -> bool:
    wanted = {user.pk for user in facilitators}
    current = set(group.facilitations.values_list("user_id", flat=True))
    if wanted == current:
        return False
    group.facilitations.filter(user_id__in=current - wanted).delete()
    GroupFacilitator.objects.bulk_create(GroupFacilitator(group=group, user_id=pk) for pk in sorted(wanted - current))
    return True


def _check_fields(fields: Mapping) -> None:
    unknown = set(fields) - GROUP_FIELDS
    if unknown:
        raise TypeError(f"Unknown group fields: {', '.join(sorted(unknown))}")


@transaction.atomic
def group_create(
    *,
    organisation: Organisation,
    by: User | None,
    facilitators: Sequence[User] = (),
    request: HttpRequest | None = None,
    **fields,
) -> SupportGroup:
    """Create a group in draft, with its facilitators. Every rule is checked before anything is saved."""
    _check_fields(fields)
    group = SupportGroup(organisation=organisation, created_by=by, status=GroupStatus.DRAFT, **fields)
    group.full_clean(exclude=["created_by"])  # nullable: set to None when its author is deleted
    validate_facilitators(organisation=organisation, facilitation=group.facilitation, facilitators=facilitators)
    group.save()
    _set_facilitators(group, facilitators)
    audit.record(
        Action.GROUP_CREATED,
        actor=by,
        organisation=organisation,
        obj=group,
        request=request,
        name=group.name,
        facilitators=sorted(u.pk for u in facilitators),
    )
    return group


@transaction.atomic
def group_update(
    *,
    group: SupportGroup,
    by: User | None,
    facilitators: Sequence[User] | None = None,
    request: HttpRequest | None = None,
    **fields,
) -> SupportGroup:
    """Change a group's details and (optionally) its facilitators.

    More places promote people from the waiting list; fewer places than active
    members are refused, since nobody is removed to make room.
    """
    _check_fields(fields)
    group = lock_group(group)
    if group.status not in (GroupStatus.DRAFT, GroupStatus.RECRUITING):
        for name in FIXED_ONCE_RUNNING & set(fields):
            value = fields[name]
            current = group.curriculum_id if name == "curriculum" else getattr(group, name)
            new = value.pk if name == "curriculum" and value is not None else value
            if new != current:
                raise ValidationError(
                    {name: _("This cannot change once a group is running. Start a new group instead.")}
                )
    for name, value in fields.items():
        setattr(group, name, value)
    group.full_clean(exclude=["created_by"])  # nullable: set to None when its author is deleted
    active = active_count(group)
    if group.capacity < active:
        raise ValidationError(
            {
                "capacity": ngettext(
                    "%(n)s member is active, so the group needs at least %(n)s place. Nobody is removed to make room.",
                    "%(n)s members are active, so the group needs at least %(n)s places. "
                    "Nobody is removed to make room.",
                    active,
                )
                % {"n": active}
            }
        )
    people = list(facilitators) if facilitators is not None else list(group.facilitators.all())
    validate_facilitators(organisation=group.organisation, facilitation=group.facilitation, facilitators=people)
    group.save()
    facilitators_changed = _set_facilitators(group, people)
    promoted = fill_places(group, by=by, request=request)
    audit.record(
        Action.GROUP_UPDATED,
        actor=by,
        organisation=group.organisation,
        obj=group,
        request=request,
        fields=sorted(fields),
        facilitators_changed=facilitators_changed,
        promoted=len(promoted),
    )
    return group


def next_statuses(group: SupportGroup) -> tuple[str, ...]:
    return STATUS_TRANSITIONS.get(group.status, ())


@transaction.atomic
def group_set_status(
    *, group: SupportGroup, status: str, by: User | None, request: HttpRequest | None = None
) -> SupportGroup:
    """Move a group along draft → recruiting → running → completed, or cancel it (before it completes)."""
    group = lock_group(group)
    if status not in next_statuses(group):
        raise ValidationError(
            {
                "status": _("A %(current)s group cannot become %(new)s.")
                % {
                    "current": group.get_status_display().lower(),
                    "new": str(dict(GroupStatus.choices).get(status, status)).lower(),
                }
            }
        )
    previous = group.status
    group.status = status
    group.save(update_fields=["status"])
    promoted = fill_places(group, by=by, request=request)
    audit.record(
        Action.GROUP_STATUS_CHANGED,
        actor=by,
        organisation=group.organisation,
        obj=group,
        request=request,
        from_status=previous,
        to_status=status,
        promoted=len(promoted),
    )
    return group


@transaction.atomic
def group_renew_code(*, group: SupportGroup, by: User | None, request: HttpRequest | None = None) -> SupportGroup:
    """A new enrolment code. The old code and every invitation link made before stop working."""
    group = lock_group(group)
    group.enrolment_code = new_enrolment_code()
    group.save(update_fields=["enrolment_code"])
    audit.record(Action.GROUP_CODE_RENEWED, actor=by, organisation=group.organisation, obj=group, request=request)
    return group

"""Writes for curricula, support groups, facilitation and membership.

Each public function is one thing a person does. It runs in a transaction,
writes an audit row and queues e-mail to go after commit, so a rolled-back
write sends nothing.

Every service that changes how many members a group has locks the group row
first (``_lock``), always before any membership row, so two people leaving or
joining at the same moment are handled one after the other: a group never has
more active members than places, and the waiting list is promoted in order.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from peersupport import audit
from peersupport.mail import queue_email
from peersupport.models import Organisation, Role, RoleKind, User
from peersupport.permissions import Perm, can
from peersupport.selectors import consent_is_active

from .models import (
    MAX_FACILITATORS,
    YOUTH_MAX_AGE,
    YOUTH_MIN_AGE,
    Audience,
    Curriculum,
    CurriculumKind,
    CurriculumUnit,
    Facilitation,
    GroupFacilitator,
    GroupStatus,
    Membership,
    MembershipEvent,
    MembershipStatus,
    SupportGroup,
    WithdrawalReason,
    new_enrolment_code,
)


class Action:
    """Audit actions of this app (AuditEvent.action is free text; these are its values for groups)."""

    CURRICULUM_CREATED = "curriculum_created"
    CURRICULUM_VERSION_PUBLISHED = "curriculum_version_published"
    GROUP_CREATED = "group_created"
    GROUP_UPDATED = "group_updated"
    GROUP_STATUS_CHANGED = "group_status_changed"
    GROUP_CODE_RENEWED = "group_code_renewed"
    MEMBERSHIP_CHANGED = "membership_changed"


class EnrolmentError(Exception):
    """A join, request or withdrawal that cannot happen; the message tells the person why and what to do."""


GROUP_LINK_SALT = "groups.invitation"
STARTER_FILE = Path(__file__).with_name("starter_curricula.json")
# Starter curricula get a family id derived from (organisation, key), which is what makes loading them idempotent.
STARTER_NAMESPACE = uuid.UUID("6f0f5a3e-2c1b-4d8e-9a57-3b1f2d9c7e41")

JOINABLE_STATUSES = (GroupStatus.RECRUITING, GroupStatus.RUNNING)
IN_GROUP_STATUSES = (MembershipStatus.ACTIVE, MembershipStatus.WAITLISTED, MembershipStatus.REQUESTED)
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
    }
)
# Changing these once a group runs would change what members signed up for (and the sessions already planned).
FIXED_ONCE_RUNNING = frozenset({"curriculum", "format"})
MIN_UNIT_MINUTES = 5
MAX_UNIT_MINUTES = 480
MAX_NOTE_LENGTH = 2000


def no_such_code_message() -> str:
    # The same words for a wrong code and another organisation's code: a code never confirms a group exists.
    return _("There is no group with that code. Check the code with your facilitator and try again.")


# --- Curricula -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitSpec:
    title: str
    topics: str = ""
    duration_minutes: int = 90


def _units(units: Iterable[UnitSpec | Mapping]) -> list[UnitSpec]:
    specs = []
    for unit in units:
        spec = unit if isinstance(unit, UnitSpec) else UnitSpec(**unit)
        spec = UnitSpec(spec.title.strip(), (spec.topics or "").strip(), int(spec.duration_minutes))
        if not spec.title:
            raise ValidationError({"units": _("Every unit needs a title.")})
        if not MIN_UNIT_MINUTES <= spec.duration_minutes <= MAX_UNIT_MINUTES:
            raise ValidationError(
                {
                    "units": _("A unit lasts between %(min)s and %(max)s minutes.")
                    % {"min": MIN_UNIT_MINUTES, "max": MAX_UNIT_MINUTES}
                }
            )
        specs.append(spec)
    if not specs:
        raise ValidationError({"units": _("A curriculum needs at least one unit.")})
    return specs


def _create_units(curriculum: Curriculum, specs: Sequence[UnitSpec]) -> None:
    CurriculumUnit.objects.bulk_create(
        CurriculumUnit(
            curriculum=curriculum,
            position=position,
            title=spec.title,
            topics=spec.topics,
            duration_minutes=spec.duration_minutes,
        )
        for position, spec in enumerate(specs, start=1)
    )


@transaction.atomic
def curriculum_create(
    *,
    organisation: Organisation,
    kind: str,
    title: str,
    units: Iterable[UnitSpec | Mapping],
    by: User | None,
    description: str = "",
    family: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> Curriculum:
    """Create version 1 of a curriculum with its units, in the order given."""
    specs = _units(units)
    curriculum = Curriculum(
        organisation=organisation,
        kind=kind,
        title=(title or "").strip(),
        description=(description or "").strip(),
        created_by=by,
        version=1,
        family=family or uuid.uuid4(),
    )
    curriculum.full_clean(exclude=["created_by"])  # nullable: set to None when its author is deleted
    curriculum.save()
    _create_units(curriculum, specs)
    audit.record(
        Action.CURRICULUM_CREATED,
        actor=by,
        organisation=organisation,
        obj=curriculum,
        request=request,
        title=curriculum.title,
        units=len(specs),
    )
    return curriculum


@transaction.atomic
def curriculum_new_version(
    *,
    curriculum: Curriculum,
    by: User | None,
    title: str | None = None,
    kind: str | None = None,
    description: str | None = None,
    units: Iterable[UnitSpec | Mapping] | None = None,
    request: HttpRequest | None = None,
) -> Curriculum:
    """Publish a new version in the same family: a new row with its own units.

    Groups keep pointing at the version they run, so nothing a group already
    follows changes. Units not given are copied from ``curriculum``.
    """
    # Lock the organisation row so two leads publishing at once get different numbers.
    Organisation.objects.select_for_update().filter(pk=curriculum.organisation_id).first()
    if units is None:
        units = [UnitSpec(u.title, u.topics, u.duration_minutes) for u in curriculum.units.order_by("position")]
    specs = _units(units)
    latest = Curriculum.objects.filter(family=curriculum.family).order_by("-version").values_list("version", flat=True)
    new = Curriculum(
        organisation_id=curriculum.organisation_id,
        family=curriculum.family,
        version=(latest.first() or 0) + 1,
        kind=kind if kind is not None else curriculum.kind,
        title=(title if title is not None else curriculum.title).strip(),
        description=(description if description is not None else curriculum.description).strip(),
        created_by=by,
    )
    new.full_clean(exclude=["created_by"])  # nullable: set to None when its author is deleted
    new.save()
    _create_units(new, specs)
    audit.record(
        Action.CURRICULUM_VERSION_PUBLISHED,
        actor=by,
        organisation=curriculum.organisation,
        obj=new,
        request=request,
        family=str(new.family),
        version=new.version,
        units=len(specs),
    )
    return new


@functools.cache
def starter_curricula() -> tuple[dict, ...]:
    """The starter curricula shipped in ``starter_curricula.json``, checked once."""
    data = json.loads(STARTER_FILE.read_text(encoding="utf-8"))
    entries = tuple(data["curricula"])
    keys = [entry["key"] for entry in entries]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{STARTER_FILE.name}: duplicate keys")
    for entry in entries:
        if entry["kind"] not in CurriculumKind.values:
            raise ValueError(f"{STARTER_FILE.name}: {entry['key']} has unknown kind {entry['kind']!r}")
        _units(entry["units"])
    return entries


def starter_family(organisation: Organisation, key: str) -> uuid.UUID:
    return uuid.uuid5(STARTER_NAMESPACE, f"{organisation.pk}/{key}")


@transaction.atomic
def starter_curricula_load(
    *, organisation: Organisation, by: User | None = None, request: HttpRequest | None = None
) -> list[Curriculum]:
    """Add the starter curricula to the organisation; returns the ones created (none the second time).

    A starter curriculum the organisation already has (in any version) is left alone.
    """
    # Two clicks at once: the second waits here, then finds the families.
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
    created = []
    for entry in starter_curricula():
        family = starter_family(organisation, entry["key"])
        if Curriculum.objects.filter(family=family).exists():
            continue
        created.append(
            curriculum_create(
                organisation=organisation,
                kind=entry["kind"],
                title=entry["title"],
                description=entry.get("description", ""),
                units=entry["units"],
                family=family,
                by=by,
                request=request,
            )
        )
    return created


# --- Groups -----------------------------------------------------------------------------------


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


def _lock(group: SupportGroup) -> SupportGroup:
    """The group row, locked until the transaction ends. Always taken before membership rows."""
    return SupportGroup.objects.select_for_update().select_related("organisation").get(pk=group.pk)


def _active_count(group: SupportGroup) -> int:
    return group.memberships.filter(status=MembershipStatus.ACTIVE).count()


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
    group = _lock(group)
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
    active = _active_count(group)
    if group.capacity < active:
        raise ValidationError(
            {
                "capacity": _(
                    "%(n)s members are active, so the group needs at least %(n)s places. "
                    "Nobody is removed to make room."
                )
                % {"n": active}
            }
        )
    people = list(facilitators) if facilitators is not None else list(group.facilitators.all())
    validate_facilitators(organisation=group.organisation, facilitation=group.facilitation, facilitators=people)
    group.save()
    facilitators_changed = _set_facilitators(group, people)
    promoted = _fill_places(group, by=by, request=request)
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
    group = _lock(group)
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
    promoted = _fill_places(group, by=by, request=request)
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
    group = _lock(group)
    group.enrolment_code = new_enrolment_code()
    group.save(update_fields=["enrolment_code"])
    audit.record(Action.GROUP_CODE_RENEWED, actor=by, organisation=group.organisation, obj=group, request=request)
    return group


# --- Invitation links ---------------------------------------------------------------------------


def group_invitation_token(group: SupportGroup) -> str:
    # The code goes into the token, so renewing the code retires the links too.
    return signing.dumps({"g": group.pk, "c": group.enrolment_code}, salt=GROUP_LINK_SALT, compress=True)


def group_invitation_url(group: SupportGroup) -> str:
    return settings.SITE_URL + reverse("groups:join_link", args=[group_invitation_token(group)])


def group_from_token(token: str) -> SupportGroup:
    """The group an invitation link names, or EnrolmentError saying why the link cannot be used."""
    max_age = dt.timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
    try:
        data = signing.loads(token, salt=GROUP_LINK_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise EnrolmentError(_("This link has expired. Ask your facilitator for a new one.")) from exc
    except signing.BadSignature as exc:
        raise EnrolmentError(_("This link is not valid. Check that you copied the whole link.")) from exc
    group = SupportGroup.objects.select_related("organisation").filter(pk=data.get("g")).first()
    if group is None:
        raise EnrolmentError(_("This link is not valid. Check that you copied the whole link."))
    if group.enrolment_code != data.get("c"):
        raise EnrolmentError(_("This link has been replaced by a new one. Ask your facilitator for it."))
    return group


# --- Membership -------------------------------------------------------------------------------


def age_this_year(user: User, *, today: dt.date | None = None) -> int | None:
    if user.year_of_birth is None:
        return None
    return (today or timezone.localdate()).year - user.year_of_birth


def check_eligible(group: SupportGroup, user: User) -> None:
    """Raise EnrolmentError unless ``user`` may join ``group`` now (role, consent, status, age range)."""
    organisation = group.organisation
    if not can(user, organisation, Perm.MEMBER_AREA):
        raise EnrolmentError(
            _("Only members of %(organisation)s can join its groups.") % {"organisation": organisation.name}
        )
    if not consent_is_active(user=user, organisation=organisation):
        raise EnrolmentError(
            _("Please give your consent to %(organisation)s first, then join the group.")
            % {"organisation": organisation.name}
        )
    if group.status == GroupStatus.DRAFT:
        raise EnrolmentError(_("%(group)s is not taking members yet. Try again later.") % {"group": group.name})
    if group.status not in JOINABLE_STATUSES:
        raise EnrolmentError(_("%(group)s has ended and is not taking members.") % {"group": group.name})
    if group.audience == Audience.YOUTH:
        age = age_this_year(user)
        if age is None:
            raise EnrolmentError(
                _(
                    "%(group)s is for young people aged %(min)s to %(max)s. Add your year of birth in your "
                    "profile, then try again."
                )
                % {"group": group.name, "min": YOUTH_MIN_AGE, "max": YOUTH_MAX_AGE}
            )
        if not YOUTH_MIN_AGE <= age <= YOUTH_MAX_AGE:
            raise EnrolmentError(
                _(
                    "%(group)s is for young people aged %(min)s to %(max)s this year, and going by your year of "
                    "birth you are %(age)s. Ask your facilitator about a group for you."
                )
                % {"group": group.name, "min": YOUTH_MIN_AGE, "max": YOUTH_MAX_AGE, "age": age}
            )


def _transition(
    membership: Membership,
    to_status: str,
    *,
    by: User | None,
    via: str,
    reason: str = "",
    note: str = "",
    request: HttpRequest | None = None,
) -> Membership:
    """Change a membership's status and append the event. Callers hold the group lock."""
    now = timezone.now()
    from_status = "" if membership._state.adding else membership.status
    membership.status = to_status
    if to_status == MembershipStatus.ACTIVE:
        membership.joined_at = membership.joined_at or now
    if to_status == MembershipStatus.WAITLISTED:
        membership.waitlisted_at = now
    if to_status == MembershipStatus.WITHDRAWN:
        membership.left_at = now
        membership.withdrawal_reason = reason
        membership.withdrawal_note = note
    elif to_status != MembershipStatus.COMPLETED:
        membership.left_at = None
        membership.withdrawal_reason = ""
        membership.withdrawal_note = ""
    membership.save()
    MembershipEvent.objects.create(
        membership=membership,
        from_status=from_status,
        to_status=to_status,
        at=now,
        by=by if getattr(by, "is_authenticated", False) else None,
        via=via,
        reason=reason,
        note=note,
    )
    audit.record(
        Action.MEMBERSHIP_CHANGED,
        actor=by,
        organisation=membership.group.organisation,
        obj=membership,
        request=request,
        group_id=membership.group_id,
        user_id=membership.user_id,
        from_status=from_status,
        to_status=to_status,
        via=via,
    )
    return membership


def _member_email(membership: Membership, *, template: str, subject) -> None:
    user = membership.user
    group = membership.group
    with translation.override(user.preferred_language):
        context = {
            "user": user,
            "membership": membership,
            "group": group,
            "organisation": group.organisation,
            "url": settings.SITE_URL + reverse("member_dashboard", args=[group.organisation.slug]),
        }
        body = render_to_string(template, context)
        text = str(subject) % {"group": group.name}
    queue_email(subject=text, body=body, to=[user.email])


# Lazy, so each is translated in the recipient's language inside _member_email.
SUBJECT_PLACE = gettext_lazy("You have a place in %(group)s")
SUBJECT_REQUEST = gettext_lazy("Your request to join %(group)s")


def _fill_places(group: SupportGroup, *, by: User | None, request: HttpRequest | None = None) -> list[Membership]:
    """Promote from the waiting list, first come first served, while places are free. Callers hold the lock."""
    if group.status not in JOINABLE_STATUSES:
        return []
    free = group.capacity - _active_count(group)
    if free <= 0:
        return []
    waiting = list(
        group.memberships.filter(status=MembershipStatus.WAITLISTED)
        .select_related("user")
        .order_by("waitlisted_at", "id")[:free]
    )
    for membership in waiting:
        membership.group = group
        _transition(membership, MembershipStatus.ACTIVE, by=by, via="promotion", request=request)
        _member_email(membership, template="groups/email/place_offered.txt", subject=SUBJECT_PLACE)
    return waiting


def _place(
    group: SupportGroup,
    membership: Membership,
    *,
    by: User | None,
    via: str,
    request: HttpRequest | None,
) -> Membership:
    """Active when a place is free, otherwise on the waiting list. Callers hold the lock."""
    _fill_places(group, by=by, request=request)  # nobody waits while a place is free, so the newcomer queues fairly
    status = MembershipStatus.ACTIVE if _active_count(group) < group.capacity else MembershipStatus.WAITLISTED
    return _transition(membership, status, by=by, via=via, request=request)


def _existing(group: SupportGroup, user: User) -> Membership:
    membership = Membership.objects.filter(group=group, user=user).first()
    if membership is None:
        return Membership(group=group, user=user)
    membership.group = group
    if membership.status == MembershipStatus.COMPLETED:
        raise EnrolmentError(_("You have already completed %(group)s.") % {"group": group.name})
    return membership


@transaction.atomic
def enrol_member(
    group: SupportGroup, user: User, *, by: User | None, via: str, request: HttpRequest | None = None
) -> Membership:
    """Put ``user`` in ``group``: active when a place is free, otherwise on the waiting list.

    Already active or waiting: nothing changes (a double click is harmless). A pending
    request is superseded. Someone who left may join again; their history is kept.
    """
    group = _lock(group)
    check_eligible(group, user)
    membership = _existing(group, user)
    if membership.pk and membership.status in (MembershipStatus.ACTIVE, MembershipStatus.WAITLISTED):
        return membership
    return _place(group, membership, by=by, via=via, request=request)


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


@transaction.atomic
def enrol_by_code(
    *, organisation: Organisation, code: str, user: User, request: HttpRequest | None = None
) -> Membership:
    """Join the organisation's group with this enrolment code (any case; spaces and dashes ignored)."""
    group = SupportGroup.objects.filter(organisation=organisation, enrolment_code=normalise_code(code)).first()
    if group is None or not can(user, organisation, Perm.MEMBER_AREA):
        raise EnrolmentError(no_such_code_message())
    return enrol_member(group, user, by=user, via="code", request=request)


@transaction.atomic
def enrol_by_link(*, token: str, user: User, request: HttpRequest | None = None) -> Membership:
    """Join the group an invitation link names."""
    group = group_from_token(token)
    if not can(user, group.organisation, Perm.MEMBER_AREA):
        raise EnrolmentError(_("This link is not valid. Check that you copied the whole link."))
    return enrol_member(group, user, by=user, via="invitation", request=request)


def _staff_of(group: SupportGroup) -> list[User]:
    """Who answers requests: the group's facilitators, or the organisation's leads for a peer-to-peer group."""
    people = list(group.facilitators.filter(is_active=True))
    if not people:
        people = list(
            User.objects.filter(
                is_active=True, roles__organisation=group.organisation, roles__kind=RoleKind.LEAD
            ).distinct()
        )
    return people


@transaction.atomic
def request_to_join(*, group: SupportGroup, user: User, request: HttpRequest | None = None) -> Membership:
    """Ask to join an open group. A facilitator (or, for a peer-to-peer group, a lead) says yes or no."""
    group = _lock(group)
    check_eligible(group, user)
    if not group.open_to_requests:
        raise EnrolmentError(
            _("%(group)s does not take requests. Ask its facilitator for the enrolment code.") % {"group": group.name}
        )
    membership = _existing(group, user)
    if membership.pk and membership.status in IN_GROUP_STATUSES:
        return membership
    membership = _transition(membership, MembershipStatus.REQUESTED, by=user, via="request", request=request)
    url = settings.SITE_URL + reverse("groups:detail", args=[group.organisation.slug, group.pk])
    for person in _staff_of(group):
        with translation.override(person.preferred_language):
            body = render_to_string(
                "groups/email/join_requested.txt", {"person": person, "member": user, "group": group, "url": url}
            )
            subject = _("%(member)s asked to join %(group)s") % {"member": user.name, "group": group.name}
        queue_email(subject=subject, body=body, to=[person.email])
    return membership


def _locked_membership(membership: Membership) -> tuple[SupportGroup, Membership]:
    group = _lock(membership.group)
    fresh = Membership.objects.select_related("user").get(pk=membership.pk)
    fresh.group = group
    return group, fresh


@transaction.atomic
def request_approve(*, membership: Membership, by: User | None, request: HttpRequest | None = None) -> Membership:
    """Say yes to a request: the member gets a place, or a place on the waiting list when the group is full."""
    group, membership = _locked_membership(membership)
    if membership.status != MembershipStatus.REQUESTED:
        raise EnrolmentError(_("This request has already been answered."))
    try:
        check_eligible(group, membership.user)
    except EnrolmentError as exc:
        raise EnrolmentError(
            _("%(member)s cannot join now: %(why)s") % {"member": membership.user.name, "why": exc}
        ) from exc
    membership = _place(group, membership, by=by, via="request_approved", request=request)
    if membership.status == MembershipStatus.ACTIVE:
        _member_email(membership, template="groups/email/place_offered.txt", subject=SUBJECT_PLACE)
    else:
        _member_email(membership, template="groups/email/waitlisted.txt", subject=SUBJECT_REQUEST)
    return membership


@transaction.atomic
def request_decline(
    *, membership: Membership, by: User | None, note: str = "", request: HttpRequest | None = None
) -> Membership:
    """Say no to a request. The row is kept (as not joined), with the reason in its history."""
    group, membership = _locked_membership(membership)
    if membership.status != MembershipStatus.REQUESTED:
        raise EnrolmentError(_("This request has already been answered."))
    note = (note or "").strip()[:MAX_NOTE_LENGTH]
    membership = _transition(
        membership, MembershipStatus.WITHDRAWN, by=by, via="request_declined", note=note, request=request
    )
    _member_email(membership, template="groups/email/request_declined.txt", subject=SUBJECT_REQUEST)
    return membership


@transaction.atomic
def membership_withdraw(
    *,
    membership: Membership,
    by: User | None,
    reason: str = "",
    note: str = "",
    request: HttpRequest | None = None,
) -> Membership:
    """Leave a group (or its waiting list, or withdraw a request), with an optional reason.

    The row stays, with ``left_at`` and the reason; a freed place goes to the
    first person waiting, who is told by e-mail.
    """
    if reason not in ("", *WithdrawalReason.values):
        raise ValidationError({"reason": _("Choose one of the reasons in the list, or none.")})
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise ValidationError({"note": _("Please keep the note under %(n)s characters.") % {"n": MAX_NOTE_LENGTH}})
    group, membership = _locked_membership(membership)
    if membership.status == MembershipStatus.WITHDRAWN:
        raise EnrolmentError(_("You have already left %(group)s.") % {"group": group.name})
    if membership.status == MembershipStatus.COMPLETED:
        raise EnrolmentError(_("%(group)s is already completed.") % {"group": group.name})
    was_active = membership.status == MembershipStatus.ACTIVE
    via = "self" if by is not None and by.pk == membership.user_id else "staff"
    membership = _transition(
        membership, MembershipStatus.WITHDRAWN, by=by, via=via, reason=reason, note=note, request=request
    )
    if was_active:
        _fill_places(group, by=by, request=request)
    return membership


@transaction.atomic
def membership_complete(*, membership: Membership, by: User | None, request: HttpRequest | None = None) -> Membership:
    """Mark an active member as having completed the group.

    The place is not offered to the waiting list: finishing a course does not
    open a place in it.
    """
    group, membership = _locked_membership(membership)
    if membership.status != MembershipStatus.ACTIVE:
        raise EnrolmentError(_("Only active members can be marked as completed."))
    return _transition(membership, MembershipStatus.COMPLETED, by=by, via="facilitator", request=request)

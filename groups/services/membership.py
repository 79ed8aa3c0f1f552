"""Membership: joining a group (by enrolment code, invitation link or an answered request), the waiting
list, leaving and completing. ``enrol_member`` is the one way in.

Every change of a membership's status appends a ``MembershipEvent``; callers
hold the group's lock (``lock_group``), taken before any membership row.
"""

from __future__ import annotations

import datetime as dt

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
from peersupport.models import Organisation, RoleKind, User
from peersupport.permissions import Perm, can
from peersupport.selectors import consent_is_active

from ..models import (
    YOUTH_MAX_AGE,
    YOUTH_MIN_AGE,
    Audience,
    GroupStatus,
    Membership,
    MembershipEvent,
    MembershipStatus,
    SupportGroup,
    WithdrawalReason,
    normalise_code,
)
from . import Action, EnrolmentError

GROUP_LINK_SALT = "groups.invitation"
JOINABLE_STATUSES = (GroupStatus.RECRUITING, GroupStatus.RUNNING)
IN_GROUP_STATUSES = (MembershipStatus.ACTIVE, MembershipStatus.WAITLISTED, MembershipStatus.REQUESTED)
MAX_NOTE_LENGTH = 2000


def no_such_code_message() -> str:
    # The same words for a wrong code and another organisation's code: a code never confirms a group exists.
    return _("There is no group with that code. Check the code with your facilitator and try again.")


def lock_group(group: SupportGroup) -> SupportGroup:
    """The group row, locked until the transaction ends. Always taken before membership rows."""
    return SupportGroup.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=group.pk)


def active_count(group: SupportGroup) -> int:
    return group.memberships.filter(status=MembershipStatus.ACTIVE).count()


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


# --- Joining and leaving ------------------------------------------------------------------------


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
    check_open_to(group, user)


def check_open_to(group: SupportGroup, user: User) -> None:
    """Raise EnrolmentError unless ``group`` takes members now and ``user`` is in its age range (youth groups).

    The part of ``check_eligible`` that does not depend on a role or consent: the front door asks it before it
    grants either."""
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
                    "%(group)s is for young people aged %(min)s to %(max)s. Going by the year of birth in your "
                    "profile you are %(age)s this year, so you cannot join it, and nothing has changed. "
                    "%(organisation)s may run another group that suits you: see its other groups, or ask the "
                    "service. If your year of birth is wrong, correct it in your profile."
                )
                % {
                    "group": group.name,
                    "min": YOUTH_MIN_AGE,
                    "max": YOUTH_MAX_AGE,
                    "age": age,
                    "organisation": group.organisation.name,
                }
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


def fill_places(group: SupportGroup, *, by: User | None, request: HttpRequest | None = None) -> list[Membership]:
    """Promote from the waiting list, first come first served, while places are free. Callers hold the lock."""
    if group.status not in JOINABLE_STATUSES:
        return []
    free = group.capacity - active_count(group)
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
    fill_places(group, by=by, request=request)  # nobody waits while a place is free, so the newcomer queues fairly
    status = MembershipStatus.ACTIVE if active_count(group) < group.capacity else MembershipStatus.WAITLISTED
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
    group = lock_group(group)
    check_eligible(group, user)
    membership = _existing(group, user)
    if membership.pk and membership.status in (MembershipStatus.ACTIVE, MembershipStatus.WAITLISTED):
        return membership
    return _place(group, membership, by=by, via=via, request=request)


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
    group = lock_group(group)
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
    group = lock_group(membership.group)
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
        fill_places(group, by=by, request=request)
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


@transaction.atomic
def membership_record_past(
    *,
    group: SupportGroup,
    user: User,
    status: str,
    joined_on: dt.date,
    left_on: dt.date | None = None,
    reason: str = "",
    by: User | None,
    request: HttpRequest | None = None,
) -> Membership:
    """Record a membership kept on paper or in another system (a roster import): active from ``joined_on``,
    then completed or withdrawn (with its reason) on ``left_on``. Its events carry those days and
    ``via="roster_import"``; nobody is e-mailed, and neither places nor the group's status apply (its past was
    what it was). Someone already in the group: EnrolmentError (their history is changed on the group page)."""
    if status not in (MembershipStatus.ACTIVE, MembershipStatus.COMPLETED, MembershipStatus.WITHDRAWN):
        raise ValidationError({"status": _("A past membership is active, completed or withdrawn.")})
    if reason not in ("", *WithdrawalReason.values) or (reason and status != MembershipStatus.WITHDRAWN):
        raise ValidationError({"reason": _("Only a withdrawal has a reason, one of the list.")})
    if (status == MembershipStatus.ACTIVE) != (left_on is None) or (left_on is not None and left_on < joined_on):
        raise ValidationError({"left_on": _("A member who left has a leaving day, on or after the joining day.")})
    group = lock_group(group)
    if Membership.objects.filter(group=group, user=user).exists():
        raise EnrolmentError(_("%(user)s is already in %(group)s.") % {"user": user.email, "group": group.name})
    by = by if getattr(by, "is_authenticated", False) else None
    noon = dt.time(12)
    joined_at = dt.datetime.combine(joined_on, noon, tzinfo=dt.UTC)
    left_at = dt.datetime.combine(left_on, noon, tzinfo=dt.UTC) if left_on else None
    membership = Membership.objects.create(
        group=group,
        user=user,
        status=status,
        joined_at=joined_at,
        left_at=left_at,
        withdrawal_reason=reason,
    )
    steps = [("", MembershipStatus.ACTIVE, joined_at, "")]
    if status != MembershipStatus.ACTIVE:
        steps.append((MembershipStatus.ACTIVE, status, left_at, reason))
    for from_status, to_status, at, why in steps:
        MembershipEvent.objects.create(
            membership=membership,
            from_status=from_status,
            to_status=to_status,
            at=at,
            by=by,
            via="roster_import",
            reason=why,
        )
    audit.record(
        Action.MEMBERSHIP_CHANGED,
        actor=by,
        organisation=group.organisation,
        obj=membership,
        request=request,
        group_id=group.pk,
        user_id=user.pk,
        from_status="",
        to_status=status,
        via="roster_import",
        joined_on=joined_on.isoformat(),
        left_on=left_on.isoformat() if left_on else None,
    )
    return membership

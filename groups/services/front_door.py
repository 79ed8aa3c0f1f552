"""The front door: someone who heard of a group joins it, or asks to, without a lead's invitation.

A group's enrolment code (or an open group on its organisation's public page) names the organisation. In one
transaction the person accepts that organisation's current consent, gets the member role there and joins the
group (or its waiting list), or asks to join it. Any rule that says no (a group not taking members, a youth
group's age range, a consent text changed while they read it) raises ``EnrolmentError`` and nothing is kept:
no role, no consent, no year of birth. Each step is audited by the service it calls.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from peersupport import services as people
from peersupport.models import ConsentVersion, RoleKind, User
from peersupport.permissions import Perm, can
from peersupport.selectors import consent_current_version, consent_is_active

from ..models import YOUTH_MAX_AGE, YOUTH_MIN_AGE, Audience, Membership, SupportGroup
from . import EnrolmentError
from .membership import check_open_to, enrol_member, request_to_join


def needs_consent(group: SupportGroup, user: User) -> bool:
    """True unless ``user`` has accepted the consent in effect now at the group's organisation."""
    return not consent_is_active(user=user, organisation=group.organisation)


def needs_year_of_birth(group: SupportGroup, user: User) -> bool:
    """A youth group checks the age range: a person with no year of birth is asked for it on the same page."""
    return group.audience == Audience.YOUTH and user.year_of_birth is None


def consent_to_accept(group: SupportGroup) -> ConsentVersion:
    """The consent version a newcomer reads, or EnrolmentError when the organisation has none in effect."""
    version = consent_current_version(group.organisation)
    if version is None:
        raise EnrolmentError(
            _("%(organisation)s is not taking new members online yet. Please contact the service.")
            % {"organisation": group.organisation.name}
        )
    return version


def join(
    *,
    group: SupportGroup,
    user: User,
    accepted_consent: int | None,
    year_of_birth: int | None = None,
    ask: bool = False,
    request: HttpRequest | None = None,
) -> Membership:
    """Accept the organisation's consent (``accepted_consent``: the version's id the person was shown), take
    the member role, and join ``group`` (``ask``: ask to join it instead). All of it, or nothing."""
    before = user.year_of_birth
    try:
        return _join(
            group=group,
            user=user,
            accepted_consent=accepted_consent,
            year_of_birth=year_of_birth,
            ask=ask,
            request=request,
        )
    except Exception:
        user.year_of_birth = before  # the row was rolled back; the object the caller holds follows it
        raise


@transaction.atomic
def _join(
    *,
    group: SupportGroup,
    user: User,
    accepted_consent: int | None,
    year_of_birth: int | None = None,
    ask: bool = False,
    request: HttpRequest | None,
) -> Membership:
    version = consent_to_accept(group)
    consent_needed = needs_consent(group, user)
    if consent_needed and accepted_consent != version.pk:
        raise EnrolmentError(
            _("Please read %(organisation)s's consent and tick the box to agree before you join.")
            % {"organisation": group.organisation.name}
            if accepted_consent is None
            else _("%(organisation)s's consent text has just changed. Please read the new text and agree again.")
            % {"organisation": group.organisation.name}
        )
    if year_of_birth is not None and user.year_of_birth is None:
        user.year_of_birth = year_of_birth
        try:
            user.full_clean(validate_unique=False, exclude=["password"])
        except ValidationError as exc:
            raise EnrolmentError(_("Enter your year of birth as four digits, for example 2008.")) from exc
        user.save(update_fields=["year_of_birth"])
    if needs_year_of_birth(group, user):
        raise EnrolmentError(
            _("%(group)s is for young people aged %(min)s to %(max)s: enter your year of birth to join it.")
            % {"group": group.name, "min": YOUTH_MIN_AGE, "max": YOUTH_MAX_AGE}
        )
    check_open_to(group, user)
    if ask and not group.open_to_requests:
        raise EnrolmentError(
            _("%(group)s does not take requests. Ask the service for its enrolment code.") % {"group": group.name}
        )
    if not can(user, group.organisation, Perm.MEMBER_AREA):
        people.role_grant(user=user, organisation=group.organisation, kind=RoleKind.MEMBER, by=user, request=request)
    if consent_needed:
        people.consent_give(user=user, version=version, request=request)
    if ask:
        return request_to_join(group=group, user=user, request=request)
    return enrol_member(group, user, by=user, via="code", request=request)

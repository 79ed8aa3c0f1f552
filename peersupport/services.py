"""Writes for people, organisations, roles, invitations and consent.

Each function is one thing a person does: it runs in a transaction, writes an
audit row, and queues side effects (e-mail) to run after commit.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit
from .mail import queue_email
from .models import AuditEvent, ConsentDecision, ConsentVersion, Invitation, Organisation, Role, RoleKind, User
from .permissions import forget_roles
from .selectors import consent_current_version, consent_latest_decision
from .signals import organisation_settings_changed

INVITATION_SALT = "peersupport.invitation"


# --- Roles ---------------------------------------------------------------------


@transaction.atomic
def role_grant(
    *, user: User, organisation: Organisation, kind: str, by=None, request: HttpRequest | None = None
) -> Role:
    """Give ``user`` the role ``kind`` in ``organisation``; granting it twice is a no-op."""
    if kind not in RoleKind.values:
        raise ValidationError(_("Unknown role."))
    role = Role.objects.filter(user=user, organisation=organisation, kind=kind).first()
    if role is not None:
        return role
    try:
        with transaction.atomic():
            role = Role.objects.create(user=user, organisation=organisation, kind=kind)
    except IntegrityError:  # a concurrent grant won
        return Role.objects.get(user=user, organisation=organisation, kind=kind)
    audit.record(
        AuditEvent.Action.ROLE_GRANTED,
        actor=by,
        organisation=organisation,
        obj=role,
        request=request,
        user_id=user.pk,
        kind=kind,
    )
    _adopt_time_zone(user, organisation)
    forget_roles(user)
    return role


def _adopt_time_zone(user: User, organisation: Organisation) -> None:
    """Someone joining their first organisation, still on the default zone, takes the organisation's: their
    sessions and questionnaires then read in local time from the start. They can change it in their profile."""
    default = User._meta.get_field("time_zone").default
    if user.time_zone != default or organisation.time_zone == default:
        return
    if Role.objects.filter(user=user).exclude(organisation=organisation).exists():
        return
    user.time_zone = organisation.time_zone
    User.objects.filter(pk=user.pk, time_zone=default).update(time_zone=organisation.time_zone)


@transaction.atomic
def role_remove(*, role: Role, by, request: HttpRequest | None = None) -> None:
    audit.record(
        AuditEvent.Action.ROLE_REMOVED,
        actor=by,
        organisation=role.organisation,
        obj=role,
        request=request,
        user_id=role.user_id,
        kind=role.kind,
    )
    role.delete()
    forget_roles(role.user)


# --- Invitations -----------------------------------------------------------------


class InvitationError(Exception):
    """An invitation link that cannot be used; the message tells the person why."""


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk}, salt=INVITATION_SALT, compress=True)


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("invitation_accept", args=[invitation_token(invitation)])


@transaction.atomic
def invitation_create(
    *, organisation: Organisation, email: str, kind: str, by: User, request: HttpRequest | None = None
) -> Invitation:
    """Create an invitation and e-mail its link after commit."""
    if kind not in RoleKind.values:
        raise ValidationError(_("Unknown role."))
    invitation = Invitation.objects.create(
        organisation=organisation,
        email=User.objects.normalize_email(email),
        kind=kind,
        created_by=by,
        expires_at=timezone.now() + dt.timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
    )
    audit.record(
        AuditEvent.Action.INVITATION_SENT,
        actor=by,
        organisation=organisation,
        obj=invitation,
        request=request,
        kind=kind,
    )
    context = {"invitation": invitation, "url": invitation_url(invitation), "inviter": by}
    queue_email(
        subject=_("You are invited to %(organisation)s") % {"organisation": organisation.name},
        body=render_to_string("peersupport/email/invitation.txt", context),
        to=[invitation.email],
    )
    return invitation


def invitation_from_token(token: str) -> Invitation:
    """The invitation a link names, or InvitationError saying why it cannot be used."""
    max_age = dt.timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise InvitationError(_("This invitation has expired. Ask the person who invited you for a new one.")) from exc
    except signing.BadSignature as exc:
        raise InvitationError(_("This invitation link is not valid. Check that you copied the whole link.")) from exc
    invitation = Invitation.objects.select_related("organisation").filter(pk=data.get("i")).first()
    if invitation is None:
        raise InvitationError(_("This invitation link is not valid. Check that you copied the whole link."))
    if invitation.is_used:
        raise InvitationError(_("This invitation has already been used. Each link works once."))
    if invitation.is_expired:
        raise InvitationError(_("This invitation has expired. Ask the person who invited you for a new one."))
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User, request: HttpRequest | None = None) -> Role:
    """Use an invitation: grant its role to ``user``, once."""
    invitation = invitation_from_token(token)
    # Lock the row so two tabs (or two people) cannot both use one link.
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.is_used:
        raise InvitationError(_("This invitation has already been used. Each link works once."))
    if invitation.email.lower() != user.email.lower():
        raise InvitationError(
            _("This invitation was sent to another e-mail address. Sign in with the address it was sent to.")
        )
    invitation.used_at = timezone.now()
    invitation.used_by = user
    invitation.save(update_fields=["used_at", "used_by"])
    audit.record(
        AuditEvent.Action.INVITATION_USED,
        actor=user,
        organisation=invitation.organisation,
        obj=invitation,
        request=request,
        kind=invitation.kind,
    )
    return role_grant(
        user=user, organisation=invitation.organisation, kind=invitation.kind, by=invitation.created_by, request=request
    )


# --- Consent -----------------------------------------------------------------------


@transaction.atomic
def consent_version_publish(
    *, organisation: Organisation, text: str, effective_date: dt.date, by: User, request: HttpRequest | None = None
) -> ConsentVersion:
    """Publish a new consent version. Members are asked again once it takes effect."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": _("Write the consent text members will read.")})
    # Lock the organisation row so two leads publishing at once get different numbers.
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
    latest = organisation.consent_versions.order_by("-version").values_list("version", flat=True).first() or 0
    version = ConsentVersion.objects.create(
        organisation=organisation, version=latest + 1, effective_date=effective_date, text=text
    )
    audit.record(
        AuditEvent.Action.CONSENT_VERSION_PUBLISHED,
        actor=by,
        organisation=organisation,
        obj=version,
        request=request,
        version=version.version,
    )
    return version


def _consent_record(
    *, user: User, version: ConsentVersion, action: str, request: HttpRequest | None
) -> ConsentDecision:
    decision = ConsentDecision.objects.create(user=user, consent_version=version, action=action)
    audit.record(
        AuditEvent.Action.CONSENT_GIVEN
        if action == ConsentDecision.Action.GIVEN
        else AuditEvent.Action.CONSENT_WITHDRAWN,
        actor=user,
        organisation=version.organisation,
        obj=decision,
        request=request,
        version=version.version,
    )
    return decision


@transaction.atomic
def consent_give(*, user: User, version: ConsentVersion, request: HttpRequest | None = None) -> ConsentDecision:
    return _consent_record(user=user, version=version, action=ConsentDecision.Action.GIVEN, request=request)


@transaction.atomic
def consent_record_paper(
    *, user: User, version: ConsentVersion, on: dt.date, by: User | None, request: HttpRequest | None = None
) -> tuple[ConsentDecision, bool]:
    """Record a consent the person gave on a paper form (entered later by ``by``, None from the command line),
    dated the day they signed it. Recording the same paper consent again changes nothing: returns the decision
    and whether it is new."""
    at = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)
    existing = ConsentDecision.objects.filter(
        user=user,
        consent_version=version,
        action=ConsentDecision.Action.GIVEN,
        source=ConsentDecision.Source.PAPER,
        at=at,
    ).first()
    if existing is not None:
        return existing, False
    decision = ConsentDecision.objects.create(
        user=user,
        consent_version=version,
        action=ConsentDecision.Action.GIVEN,
        at=at,
        source=ConsentDecision.Source.PAPER,
        entered_by=by if getattr(by, "is_authenticated", False) else None,
    )
    audit.record(
        AuditEvent.Action.CONSENT_GIVEN,
        actor=by,
        organisation=version.organisation,
        obj=decision,
        request=request,
        version=version.version,
        source=ConsentDecision.Source.PAPER,
        signed_on=on.isoformat(),
        user_id=user.pk,
    )
    return decision, True


@transaction.atomic
def consent_withdraw(*, user: User, organisation: Organisation, request: HttpRequest | None = None) -> ConsentDecision:
    """Withdraw consent in ``organisation``. No new data is collected from the member after this."""
    latest = consent_latest_decision(user=user, organisation=organisation)
    version = latest.consent_version if latest is not None else consent_current_version(organisation)
    if version is None:
        raise ValidationError(_("This organisation has no consent text yet."))
    return _consent_record(user=user, version=version, action=ConsentDecision.Action.WITHDRAWN, request=request)


# --- Organisation settings --------------------------------------------------------


@transaction.atomic
def organisation_settings_update(
    *, organisation: Organisation, changes: dict, by: User, request: HttpRequest | None = None
) -> list[str]:
    """Save a lead's changes to the organisation's settings; one audit row names each changed field with its
    old and new value. Returns the changed fields (none: nothing saved, nothing audited)."""
    locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
    changed = {}
    for field, value in changes.items():
        old = getattr(locked, field)
        if old != value:
            changed[field] = [old, value]
            setattr(locked, field, value)
    if not changed:
        return []
    locked.full_clean()
    locked.save(update_fields=sorted(changed))
    audit.record(
        AuditEvent.Action.ORGANISATION_SETTINGS_CHANGED,
        actor=by,
        organisation=locked,
        obj=locked,
        request=request,
        changed=changed,
    )
    for field in changed:
        setattr(organisation, field, getattr(locked, field))
    organisation_settings_changed.send(sender=Organisation, organisation=locked, changed=changed)
    return sorted(changed)

"""Audit receivers for sign-in and failed sign-in, and the signal a change of an organisation's settings sends."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import Signal, receiver

from . import audit
from .models import AuditEvent

#: Sent by ``services.organisation_settings_update`` inside its transaction, after the save, with
#: ``organisation`` and ``changed`` (field → [old, new]): feature apps react without peersupport importing them
#: (``outcomes`` recomputes the figures when the suppression threshold changed).
organisation_settings_changed = Signal()


@receiver(user_logged_in)
def audit_sign_in(sender, request, user, **kwargs) -> None:
    audit.record(AuditEvent.Action.SIGN_IN, actor=user, obj=user, request=request)


@receiver(user_login_failed)
def audit_failed_sign_in(sender, credentials, request=None, **kwargs) -> None:
    # The attempted address is kept (passwords never are: Django strips them).
    attempted = str(credentials.get("email") or credentials.get("username") or "")[:254]
    audit.record(AuditEvent.Action.SIGN_IN_FAILED, request=request, attempted=attempted)

"""Writing the audit trail. The only code that creates AuditEvent rows."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from .clients import client_address
from .models import AuditEvent, Organisation


def record(
    action: str,
    *,
    actor=None,
    organisation: Organisation | None = None,
    obj: models.Model | None = None,
    request: HttpRequest | None = None,
    **detail: Any,
) -> AuditEvent:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        organisation=organisation,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail,
        ip_address=client_address(request),
    )

"""The audit actions of the sessions app."""

from __future__ import annotations

import logging

from peersupport.models import AuditEvent

logger = logging.getLogger(__name__)


class Action:
    """Audit actions of this app: its members of ``AuditEvent.Action``, the one list of action names."""

    SCHEDULE_GENERATED = AuditEvent.Action.SESSION_SCHEDULE_GENERATED
    SESSION_CHANGED = AuditEvent.Action.SESSION_CHANGED
    SESSION_CANCELLED = AuditEvent.Action.SESSION_CANCELLED
    ATTENDANCE_RECORDED = AuditEvent.Action.SESSION_ATTENDANCE_RECORDED
    LOG_SAVED = AuditEvent.Action.SESSION_LOG_SAVED
    CONTACT_RECORDED = AuditEvent.Action.ONE_TO_ONE_CONTACT_RECORDED
    FIDELITY_ITEMS_CHANGED = AuditEvent.Action.FIDELITY_ITEMS_CHANGED
    CALENDAR_TOKEN_CREATED = AuditEvent.Action.CALENDAR_TOKEN_CREATED
    CALENDAR_TOKEN_REVOKED = AuditEvent.Action.CALENDAR_TOKEN_REVOKED
    APOLOGIES_SENT = AuditEvent.Action.SESSION_APOLOGIES_SENT
    APOLOGIES_TAKEN_BACK = AuditEvent.Action.SESSION_APOLOGIES_TAKEN_BACK

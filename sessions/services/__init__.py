"""Writes for sessions: schedules, changes, cancellations, registers, logs, contacts, preferences, reminders.

Each function is one thing a person (or the reminder job) does: it runs in a
transaction, writes an audit row, and queues e-mail to go after commit. One module per
kind of work; callers import from here.
"""

from .actions import Action
from .attendance import apologies_send, apologies_take_back, attendance_record
from .logs import (
    DEFAULT_FIDELITY_ITEMS,
    MAX_CONTACT_MINUTES,
    MIN_CONTACT_MINUTES,
    contact_record,
    fidelity_items_for,
    fidelity_items_save,
    session_log_save,
)
from .members import calendar_token_create, calendar_token_revoke, reminders_send, reminders_set
from .schedules import OverlapWarning, schedule_generate, session_cancel, session_change

__all__ = [
    "DEFAULT_FIDELITY_ITEMS",
    "MAX_CONTACT_MINUTES",
    "MIN_CONTACT_MINUTES",
    "Action",
    "OverlapWarning",
    "apologies_send",
    "apologies_take_back",
    "attendance_record",
    "calendar_token_create",
    "calendar_token_revoke",
    "contact_record",
    "fidelity_items_for",
    "fidelity_items_save",
    "reminders_send",
    "reminders_set",
    "schedule_generate",
    "session_cancel",
    "session_change",
    "session_log_save",
]

"""Signals other apps may listen to (sessions depends on no app that would need them)."""

from django.dispatch import Signal

#: Sent after a session's register is saved (in the saving transaction); ``session`` is the GroupSession.
register_saved = Signal()

#: Sent after sessions are created in bulk (in the creating transaction); ``group`` is their SupportGroup.
sessions_scheduled = Signal()

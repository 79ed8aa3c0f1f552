"""Writes for curricula, support groups, facilitation and membership: one module each.

``curricula``: curricula and their versions, the starter curricula.
``groups``: creating and changing groups, their facilitators, status and enrolment code.
``membership``: joining (by code, link or request), the waiting list, leaving and completing.

Each public function is one thing a person does. It runs in a transaction,
writes an audit row and queues e-mail to go after commit, so a rolled-back
write sends nothing.

Every service that changes how many members a group has locks the group row
first (``membership.lock_group``), always before any membership row, so two people
leaving or joining at the same moment are handled one after the other: a group
never has more active members than places, and the waiting list is promoted in order.
"""

from __future__ import annotations

from peersupport.models import AuditEvent


class Action:
    """Audit actions of this app: its members of ``AuditEvent.Action``, the one list of action names."""

    CURRICULUM_CREATED = AuditEvent.Action.CURRICULUM_CREATED
    CURRICULUM_VERSION_PUBLISHED = AuditEvent.Action.CURRICULUM_VERSION_PUBLISHED
    GROUP_CREATED = AuditEvent.Action.GROUP_CREATED
    GROUP_UPDATED = AuditEvent.Action.GROUP_UPDATED
    GROUP_STATUS_CHANGED = AuditEvent.Action.GROUP_STATUS_CHANGED
    GROUP_CODE_RENEWED = AuditEvent.Action.GROUP_CODE_RENEWED
    MEMBERSHIP_CHANGED = AuditEvent.Action.MEMBERSHIP_CHANGED


class EnrolmentError(Exception):
    """A join, request or withdrawal that cannot happen; the message tells the person why and what to do."""

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

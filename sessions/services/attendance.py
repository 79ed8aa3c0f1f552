"""The register, and a member's apologies for one session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from groups.models import Membership, MembershipStatus
from peersupport import audit
from peersupport.models import User
from peersupport.selectors import consent_is_active

from .. import selectors
from ..models import (
    Attendance,
    AttendanceStatus,
    GroupSession,
    SessionStatus,
)
from ..signals import register_saved
from .actions import Action

# --- Attendance -------------------------------------------------------------------------------


@transaction.atomic
def attendance_record(
    *, session: GroupSession, statuses: Mapping[int, str], by: User | None, request: HttpRequest | None = None
) -> int:
    """Save the register in one go: {membership id: present|absent|apologies}. Returns how many were saved.

    Only the group's active members whose consent is active can be recorded (the
    consent text covers attendance); anything else is refused and nothing is saved.
    A fixed number of queries whatever the group size.
    """
    if session.status == SessionStatus.CANCELLED:
        raise ValidationError(_("This session is cancelled: there is no register to take."))
    rows = {row.membership.pk: row for row in selectors.register_rows(session)}
    problems = []
    for membership_id, status in statuses.items():
        if status not in AttendanceStatus.values:
            problems.append(_("“%(status)s” is not an attendance status.") % {"status": status})
        elif membership_id not in rows:
            problems.append(_("Someone in this register is not an active member of the group. Reload the page."))
        elif not rows[membership_id].consenting:
            problems.append(
                _("%(name)s has not given current consent, so their attendance is not recorded.")
                % {"name": rows[membership_id].membership.user.name}
            )
    if problems:
        raise ValidationError(sorted(set(problems)))
    if not statuses:
        return 0
    Attendance.objects.bulk_create(
        [
            Attendance(session=session, membership_id=mid, status=status, recorded_by=by)
            for mid, status in statuses.items()
        ],
        update_conflicts=True,
        unique_fields=["session", "membership"],
        update_fields=["status", "recorded_by", "recorded_at"],
    )
    register_saved.send(sender=GroupSession, session=session)
    audit.record(
        Action.ATTENDANCE_RECORDED,
        actor=by,
        organisation=session.group.organisation,
        obj=session,
        request=request,
        count=len(statuses),
    )
    return len(statuses)


# --- A member's apologies -------------------------------------------------------------------------


def _member_attendance(*, session: GroupSession, user: User, now: dt.datetime) -> tuple[GroupSession, Membership]:
    """The session (locked) and the user's active membership of its group, if apologies may change now."""
    session = (
        GroupSession.objects.select_for_update(of=("self",)).select_related("group__organisation").get(pk=session.pk)
    )
    membership = Membership.objects.filter(group=session.group, user=user, status=MembershipStatus.ACTIVE).first()
    if membership is None:
        raise ValidationError(_("Only active members of the group can send apologies for its sessions."))
    if not consent_is_active(user=user, organisation=session.group.organisation):
        raise ValidationError(_("Your consent is needed before your attendance can be recorded."))
    if session.status == SessionStatus.CANCELLED:
        raise ValidationError(_("This session is cancelled: nobody is expected."))
    if session.starts_at <= now:
        raise ValidationError(_("This session has started: apologies can be sent only before the start."))
    return session, membership


@transaction.atomic
def apologies_send(
    *, session: GroupSession, user: User, now: dt.datetime | None = None, request: HttpRequest | None = None
) -> Attendance:
    """A member says, before it starts, that they cannot come to one session of their group.

    Recorded as their attendance, "apologies" (so the register shows it, and figures count it as an
    apology, not an absence); the facilitator can still mark them present if they come after all.
    No reminder goes to them for that session. Sending twice keeps the first time sent.
    """
    now = now or timezone.now()
    session, membership = _member_attendance(session=session, user=user, now=now)
    attendance = Attendance.objects.filter(session=session, membership=membership).first()
    if attendance is not None and attendance.status == AttendanceStatus.APOLOGIES and attendance.apology_sent_at:
        return attendance
    attendance, _created = Attendance.objects.update_or_create(
        session=session,
        membership=membership,
        defaults={"status": AttendanceStatus.APOLOGIES, "recorded_by": user, "apology_sent_at": now},
    )
    audit.record(
        Action.APOLOGIES_SENT, actor=user, organisation=session.group.organisation, obj=session, request=request
    )
    return attendance


@transaction.atomic
def apologies_take_back(
    *, session: GroupSession, user: User, now: dt.datetime | None = None, request: HttpRequest | None = None
) -> None:
    """The member can come after all (before the start): their apologies are removed. A no-op without any."""
    now = now or timezone.now()
    session, membership = _member_attendance(session=session, user=user, now=now)
    attendance = Attendance.objects.filter(
        session=session, membership=membership, apology_sent_at__isnull=False
    ).first()
    if attendance is None:
        return
    if attendance.status == AttendanceStatus.APOLOGIES:
        attendance.delete()
    else:  # the facilitator recorded something else meanwhile: that stays
        attendance.apology_sent_at = None
        attendance.save(update_fields=["apology_sent_at", "recorded_at"])
    audit.record(
        Action.APOLOGIES_TAKEN_BACK, actor=user, organisation=session.group.organisation, obj=session, request=request
    )

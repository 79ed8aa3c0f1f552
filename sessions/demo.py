"""Demo sessions for the demo groups: past sessions with registers and logs, and upcoming ones.

``seed_demo`` calls ``seed(organisations)`` after the groups are seeded. Idempotent:
a group that already has sessions is left alone, so a second run adds nothing and
the dates chosen on the first run (relative to that day) stay as they are. Without
demo groups (groups not seeded yet) it does nothing. On the first seeding one group (``MEETS_SOON``) meets a
few hours later, so a demo started with ``make run`` sends its reminders within its first minute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from groups import demo as groups_demo
from groups.models import GroupStatus, MembershipStatus, SupportGroup
from peersupport.models import Organisation

from . import recurrence, selectors, services
from .display import in_zone
from .models import AttendanceStatus, ContactMode, GroupSession, OneToOneContact, SessionLog

# Sessions started this many weeks before the first seeding, so there is history and a future.
WEEKS_OF_HISTORY = 4
# This group's weekly session falls a few hours after the first seeding, inside the reminder window: under
# ``make run`` the in-process scheduler's first reminder run e-mails its members within seconds of the start.
MEETS_SOON = "Walk and talk peer group"
SOON_AFTER = dt.timedelta(hours=2)
DAYTIME = (dt.time(9, 30), dt.time(20, 0))  # the soon session starts between these, local time
SESSIONS_WITHOUT_CURRICULUM = 12
DEMO_NOTES = [
    "Warm start; two members shared what helped them this week.",
    "Quieter session. We agreed to keep the check-in shorter next time.",
    "Good discussion of early warning signs; everyone took part.",
    "One member was upset; the facilitator offered a call afterwards.",
]


def soon_slot(now: dt.datetime, time_zone: str) -> dt.datetime:
    """A start, local to ``time_zone``, at least SOON_AFTER after ``now``, on the half hour, in the daytime and
    less than REMINDER_AHEAD away (the next morning's 09:30 when the evening is too late)."""
    local = in_zone(now + SOON_AFTER, time_zone)
    local = (local + dt.timedelta(minutes=29, seconds=59)).replace(second=0, microsecond=0)
    local = local.replace(minute=0 if local.minute < 30 else 30)
    earliest, latest = DAYTIME
    if local.time() < earliest:
        local = local.replace(hour=earliest.hour, minute=earliest.minute)
    elif local.time() > latest:
        local = (local + dt.timedelta(days=1)).replace(hour=earliest.hour, minute=earliest.minute)
    return local


def _rule(group: SupportGroup, today: dt.date, now: dt.datetime) -> recurrence.Rule:
    count = SESSIONS_WITHOUT_CURRICULUM
    if group.curriculum_id:
        count = group.curriculum.units.count() or count
    # Spread the demo groups over the week and the evening so facilitators rarely clash.
    # A group that is running (or has finished) has history; one still recruiting starts next week.
    has_history = group.status in (GroupStatus.RUNNING, GroupStatus.COMPLETED)
    start = today - dt.timedelta(weeks=WEEKS_OF_HISTORY) if has_history else today + dt.timedelta(days=7)
    if groups_demo.is_past_course(group):
        start = today - dt.timedelta(weeks=groups_demo.PAST_COURSE_ENDED_WEEKS_AGO + count)
    weekday, local_time = group.pk % 5, dt.time(17 + group.pk % 3, 30)
    if group.name == MEETS_SOON and has_history:
        soon = soon_slot(now, group.time_zone)
        weekday, local_time = soon.weekday(), soon.time().replace(tzinfo=None)
        start = soon.date() - dt.timedelta(weeks=WEEKS_OF_HISTORY)
    return recurrence.Rule(
        start_date=start,
        weekdays=frozenset({weekday}),
        local_time=local_time,
        time_zone=group.time_zone,
        duration_minutes=90,
        count=count,
    )


def _attendance_status(membership_id: int, sequence: int) -> str:
    # A fixed pattern: mostly present, some apologies, a few absences (so dose and attrition have something to show).
    n = (membership_id * 7 + sequence * 3) % 10
    if n < 7:
        return AttendanceStatus.PRESENT
    return AttendanceStatus.APOLOGIES if n < 9 else AttendanceStatus.ABSENT


def _history(group: SupportGroup, sessions: list[GroupSession], now: dt.datetime) -> None:
    facilitators = [f.user for f in group.facilitations.select_related("user").order_by("added_at", "pk")]
    if not facilitators:  # peer-to-peer: nobody keeps a register or a log
        return
    lead_facilitator = facilitators[0]
    items = services.fidelity_items_for(group.organisation)
    past = [s for s in sessions if s.ends_at < now]
    for session in past:
        rows = [row for row in selectors.register_rows(session) if row.consenting]
        if rows:
            services.attendance_record(
                session=session,
                statuses={row.membership.pk: _attendance_status(row.membership.pk, session.sequence) for row in rows},
                by=lead_facilitator,
            )
        services.session_log_save(
            session=session,
            facilitator=lead_facilitator,
            notes=DEMO_NOTES[session.sequence % len(DEMO_NOTES)],
            fidelity={item.key: (session.sequence + i) % 5 != 0 for i, item in enumerate(items)},
        )
    first_member = selectors.active_memberships(group).first()
    if past and first_member is not None and selectors.consenting_user_ids(group.organisation, [first_member.user_id]):
        services.contact_record(
            membership=first_member,
            facilitator=lead_facilitator,
            date=timezone.localdate(past[0].starts_at),
            mode=ContactMode.TELEPHONE,
            minutes=25,
        )


@transaction.atomic
def seed(organisations: Sequence[Organisation]) -> dict[str, int]:
    """Sessions for each group of the organisations that has none yet. Returns counts for the printout."""
    now = timezone.now()
    today = timezone.localdate(now)
    for organisation in organisations:
        services.fidelity_items_for(organisation)
        groups = (
            SupportGroup.objects.filter(organisation=organisation)
            .exclude(status__in=[GroupStatus.DRAFT, GroupStatus.CANCELLED])
            .select_related("organisation", "curriculum")
            .order_by("pk")
        )
        for group in groups:
            if group.sessions.exists():
                continue
            sessions = services.schedule_generate(
                group=group, rule=_rule(group, today, now), by=None, confirm_overlap=True
            )
            if group.memberships.filter(status=MembershipStatus.ACTIVE).exists():
                _history(group, sessions, now)
    return {
        "sessions": GroupSession.objects.count(),
        "session logs": SessionLog.objects.count(),
        "one-to-one contacts": OneToOneContact.objects.count(),
    }

"""Reads for sessions: schedules, registers, members' upcoming sessions, feeds and reminders.

Each page's reads take a fixed number of queries whatever the group size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, F, FloatField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, NullIf
from django.utils import timezone

from groups.models import GroupFacilitator, Membership, MembershipStatus, SupportGroup
from groups.selectors import subquery_count
from peersupport.models import ConsentDecision, Organisation, User
from peersupport.selectors import consent_current_version

from .models import (
    Attendance,
    AttendanceStatus,
    GroupSession,
    MemberPreferences,
    OneToOneContact,
    SessionLog,
    SessionStatus,
)

# The online link is shown on the member's page from this long before the start until the end.
LINK_OPENS_BEFORE = dt.timedelta(minutes=30)
# How far ahead the reminder looks: "the day before".
REMINDER_AHEAD = dt.timedelta(hours=24)
# The calendar feed shows sessions that ended up to this long ago, and all later ones.
FEED_PAST = dt.timedelta(days=60)


def online_url(session: GroupSession) -> str:
    """The session's own link, or else its group's. Callers decide whether the viewer may see it."""
    return session.online_url or session.group.online_url


def location(session: GroupSession) -> str:
    return session.location or session.group.location


def link_is_open(session: GroupSession, *, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return session.starts_at - LINK_OPENS_BEFORE <= now <= session.ends_at


# --- Figures on the groups' pages (registered with groups.hooks in apps.py) ------------------------


def _next_start(group_ref: str) -> Subquery:
    return Subquery(
        GroupSession.objects.filter(
            group=OuterRef(group_ref), status=SessionStatus.SCHEDULED, starts_at__gte=timezone.now()
        )
        .order_by("starts_at")
        .values("starts_at")[:1]
    )


def _held(attendance: QuerySet[Attendance]) -> QuerySet[Attendance]:
    """Attendance at sessions that were held: not cancelled, and started."""
    return attendance.filter(session__status=SessionStatus.SCHEDULED, session__starts_at__lte=timezone.now())


def groups_with_session_figures(groups: QuerySet[SupportGroup]) -> QuerySet[SupportGroup]:
    """Annotate groups with ``next_session_at`` (the next scheduled start, UTC), ``attendance_recorded``,
    ``attendance_present``, ``attendance_apologies`` and ``attendance_rate`` (per cent of recorded attendance
    marked present, unrounded; None before any is recorded), as subqueries. Attendance counts at sessions
    that have started: apologies sent for a later one count once it has.
    """
    attendance = _held(Attendance.objects.filter(session__group=OuterRef("pk")))
    return groups.annotate(
        attendance_recorded=subquery_count(attendance, "session__group"),
        attendance_present=subquery_count(attendance.filter(status=AttendanceStatus.PRESENT), "session__group"),
        attendance_apologies=subquery_count(attendance.filter(status=AttendanceStatus.APOLOGIES), "session__group"),
        next_session_at=_next_start("pk"),
    ).annotate(
        attendance_rate=Cast(F("attendance_present"), FloatField())
        * 100.0
        / NullIf(Cast(F("attendance_recorded"), FloatField()), Value(0.0)),
    )


def memberships_with_session_figures(memberships: QuerySet[Membership]) -> QuerySet[Membership]:
    """Annotate memberships with ``sessions_recorded``, ``sessions_present`` and ``sessions_apologies`` (their
    own attendance at scheduled sessions that have started) and their group's ``next_session_at``, as subqueries.
    """
    attendance = _held(Attendance.objects.filter(membership=OuterRef("pk")))
    return memberships.annotate(
        sessions_recorded=subquery_count(attendance, "membership"),
        sessions_present=subquery_count(attendance.filter(status=AttendanceStatus.PRESENT), "membership"),
        sessions_apologies=subquery_count(attendance.filter(status=AttendanceStatus.APOLOGIES), "membership"),
        next_session_at=_next_start("group"),
    )


# --- Consent, in bulk ----------------------------------------------------------------


def consenting_user_ids(organisation: Organisation, user_ids: Iterable[int]) -> set[int]:
    """Of ``user_ids``, those whose consent is active in ``organisation``, in two queries.

    Same rule as ``peersupport.selectors.consent_is_active``: the latest decision
    gives consent to the version in effect today.
    """
    user_ids = list(user_ids)
    current = consent_current_version(organisation)
    if current is None or not user_ids:
        return set()
    latest: dict[int, tuple[str, int]] = {}
    for user_id, action, version_id in (
        ConsentDecision.objects.filter(consent_version__organisation=organisation, user_id__in=user_ids)
        .order_by("user_id", "at", "id")
        .values_list("user_id", "action", "consent_version_id")
    ):
        latest[user_id] = (action, version_id)
    return {
        user_id
        for user_id, (action, version_id) in latest.items()
        if action == ConsentDecision.Action.GIVEN and version_id == current.pk
    }


# --- Facilitators and leads ------------------------------------------------------------


def schedule_of(group: SupportGroup) -> QuerySet[GroupSession]:
    """The group's sessions in order, with how many were present, how many sent apologies and whether a log exists."""
    return (
        GroupSession.objects.filter(group=group)
        .select_related("unit")
        .annotate(
            present_count=Count("attendance", filter=Q(attendance__status=AttendanceStatus.PRESENT)),
            apologies_count=Count("attendance", filter=Q(attendance__status=AttendanceStatus.APOLOGIES)),
            has_log=Exists(SessionLog.objects.filter(session=OuterRef("pk"))),
        )
        .order_by("starts_at", "sequence", "pk")
    )


def schedule_position_of_now(group: SupportGroup, *, now: dt.datetime | None = None) -> int:
    """How many of the group's sessions, in schedule order, ended before ``now``: the next one's position."""
    return GroupSession.objects.filter(group=group, ends_at__lte=now or timezone.now()).count()


def active_memberships(group: SupportGroup) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(group=group, status=MembershipStatus.ACTIVE)
        .select_related("user")
        .order_by("user__display_name", "user__email")
    )


@dataclass(frozen=True)
class RegisterRow:
    membership: Membership
    status: str  # "" when not recorded yet
    consenting: bool
    apology_sent_at: dt.datetime | None = None  # when the member sent apologies themselves, if they did


def register_rows(session: GroupSession) -> list[RegisterRow]:
    """One row per active member of the session's group, in three queries whatever the size."""
    memberships = list(active_memberships(session.group))
    recorded = {
        membership_id: (status, sent_at)
        for membership_id, status, sent_at in Attendance.objects.filter(session=session).values_list(
            "membership_id", "status", "apology_sent_at"
        )
    }
    consenting = consenting_user_ids(session.group.organisation, [m.user_id for m in memberships])
    rows = []
    for m in memberships:
        status, sent_at = recorded.get(m.pk, ("", None))
        rows.append(RegisterRow(m, status, m.user_id in consenting, sent_at))
    return rows


def overlapping_sessions(
    *,
    facilitator_ids: Iterable[int],
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    exclude_ids: Iterable[int] = (),
) -> list[GroupSession]:
    """Scheduled sessions of any group these facilitators run that overlap [starts_at, ends_at)."""
    facilitator_ids = list(facilitator_ids)
    if not facilitator_ids:
        return []
    return list(
        GroupSession.objects.filter(
            group__facilitations__user_id__in=facilitator_ids,
            status=SessionStatus.SCHEDULED,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        )
        .exclude(pk__in=list(exclude_ids))
        .select_related("group")
        .distinct()
        .order_by("starts_at")
    )


def facilitator_ids(group: SupportGroup) -> list[int]:
    return list(GroupFacilitator.objects.filter(group=group).values_list("user_id", flat=True))


def log_of(session: GroupSession, facilitator: User) -> SessionLog | None:
    return SessionLog.objects.filter(session=session, facilitator=facilitator).first()


def other_logs(session: GroupSession, facilitator: User) -> QuerySet[SessionLog]:
    return SessionLog.objects.filter(session=session).exclude(facilitator=facilitator).select_related("facilitator")


def contacts_of(group: SupportGroup) -> QuerySet[OneToOneContact]:
    return (
        OneToOneContact.objects.filter(membership__group=group)
        .select_related("membership__user", "facilitator")
        .order_by("-date", "-pk")
    )


def contactable_memberships(group: SupportGroup) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(group=group, status__in=[MembershipStatus.ACTIVE, MembershipStatus.COMPLETED])
        .select_related("user")
        .order_by("user__display_name", "user__email")
    )


@dataclass(frozen=True)
class FacilitatedGroup:
    group: SupportGroup
    next_session: GroupSession | None
    last_session: GroupSession | None  # the latest that has started: the one to take a register for


def groups_facilitated_by(user: User, organisation: Organisation) -> QuerySet[SupportGroup]:
    """The groups ``user`` facilitates in ``organisation``, by name (a list that grows: page it)."""
    return (
        SupportGroup.objects.filter(organisation=organisation, facilitations__user=user)
        .select_related("organisation")
        .order_by("name", "pk")
    )


def facilitated_groups(
    user: User, organisation: Organisation, *, groups=None, now: dt.datetime | None = None
) -> list[FacilitatedGroup]:
    """The groups ``user`` facilitates in ``organisation`` (or only ``groups``, e.g. one page of
    ``groups_facilitated_by``), with the next and the latest started session.

    Three queries whatever the number of groups and sessions.
    """
    now = now or timezone.now()
    groups = list(groups_facilitated_by(user, organisation) if groups is None else groups)
    ids = [g.pk for g in groups]
    upcoming = (
        GroupSession.objects.filter(group_id__in=ids, starts_at__gt=now, status=SessionStatus.SCHEDULED)
        .order_by("group_id", "starts_at")
        .select_related("unit")
    )
    started = (
        GroupSession.objects.filter(group_id__in=ids, starts_at__lte=now, status=SessionStatus.SCHEDULED)
        .order_by("group_id", "-starts_at")
        .select_related("unit")
    )
    # One row per group: PostgreSQL could DISTINCT ON, SQLite cannot, so we keep the first in Python.
    # Bounded: only sessions of the user's own groups.
    first_upcoming: dict[int, GroupSession] = {}
    for session in upcoming:
        first_upcoming.setdefault(session.group_id, session)
    last_started: dict[int, GroupSession] = {}
    for session in started:
        last_started.setdefault(session.group_id, session)
    return [FacilitatedGroup(g, first_upcoming.get(g.pk), last_started.get(g.pk)) for g in groups]


def upcoming_of_group(group: SupportGroup, *, now: dt.datetime | None = None, limit: int = 5) -> list[GroupSession]:
    now = now or timezone.now()
    return list(GroupSession.objects.filter(group=group, ends_at__gt=now).select_related("unit")[:limit])


# --- Members ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberSession:
    session: GroupSession
    online_url: str  # "" unless the member may see it now
    location: str
    apologies: bool = False  # the member's attendance is "apologies" (sent by them or recorded so)
    apologies_open: bool = False  # scheduled and not started: apologies may be sent or taken back

    @property
    def cancelled(self) -> bool:
        return self.session.status == SessionStatus.CANCELLED


def upcoming_for_member(
    user: User, organisation: Organisation | None = None, *, now: dt.datetime | None = None, limit: int = 10
) -> list[MemberSession]:
    """The next sessions (not yet ended) of the groups where ``user`` is an ACTIVE member.

    The online link is filled in only while it is open (from LINK_OPENS_BEFORE before the start to the end).
    Only active memberships count, so a waitlisted, withdrawn or requesting member never gets a link.
    """
    now = now or timezone.now()
    qs = GroupSession.objects.filter(
        ends_at__gt=now,
        group__memberships__user=user,
        group__memberships__status=MembershipStatus.ACTIVE,
    )
    if organisation is not None:
        qs = qs.filter(group__organisation=organisation)
    qs = qs.annotate(
        apologies=Exists(
            Attendance.objects.filter(session=OuterRef("pk"), membership__user=user, status=AttendanceStatus.APOLOGIES)
        )
    )
    rows = []
    for session in qs.select_related("group", "unit").order_by("starts_at")[:limit]:
        scheduled = session.status == SessionStatus.SCHEDULED
        show_link = scheduled and link_is_open(session, now=now)
        rows.append(
            MemberSession(
                session,
                online_url(session) if show_link else "",
                location(session),
                apologies=session.apologies,
                apologies_open=scheduled and session.starts_at > now,
            )
        )
    return rows


def member_session(user: User, organisation: Organisation, session_id: int) -> GroupSession | None:
    """The session, if it belongs to a group of ``organisation`` where ``user`` is an active member."""
    return (
        GroupSession.objects.filter(
            pk=session_id,
            group__organisation=organisation,
            group__memberships__user=user,
            group__memberships__status=MembershipStatus.ACTIVE,
        )
        .select_related("group__organisation")
        .first()
    )


def feed_sessions(user: User, *, now: dt.datetime | None = None) -> QuerySet[GroupSession]:
    """Sessions for a member's calendar feed: only groups where the member is ACTIVE."""
    now = now or timezone.now()
    return (
        GroupSession.objects.filter(
            ends_at__gte=now - FEED_PAST,
            group__memberships__user=user,
            group__memberships__status=MembershipStatus.ACTIVE,
        )
        .select_related("group__organisation", "unit")
        .order_by("starts_at")
    )


def preferences_of(user: User) -> MemberPreferences | None:
    return MemberPreferences.objects.filter(user=user).first()


def feed_owner(token: str) -> User | None:
    """The member whose calendar token this is, or None (revoked, never issued, or inactive account)."""
    if not token:
        return None
    prefs = MemberPreferences.objects.filter(calendar_token=token, user__is_active=True).select_related("user").first()
    return prefs.user if prefs else None


def sessions_due_a_reminder(*, now: dt.datetime | None = None) -> QuerySet[GroupSession]:
    """Scheduled sessions starting within the next REMINDER_AHEAD (the state now, not when they were saved)."""
    now = now or timezone.now()
    return (
        GroupSession.objects.filter(
            status=SessionStatus.SCHEDULED, starts_at__gt=now, starts_at__lte=now + REMINDER_AHEAD
        )
        .select_related("group__organisation", "unit")
        .prefetch_related(
            Prefetch(
                "group__memberships",
                queryset=Membership.objects.filter(status=MembershipStatus.ACTIVE).select_related("user"),
                to_attr="active_memberships",
            )
        )
        .order_by("starts_at")
    )

"""This app's part of a member's download and erasure (``peersupport.datarights``): attendance and apologies,
one-to-one contacts, reminders and session preferences. Registered by ``GroupSessionsConfig.ready``."""

from __future__ import annotations

from django.db.models import Max

from peersupport.datarights import Erasure, Part, Rows, register, when
from peersupport.models import User

from .models import Attendance, AttendanceStatus, MemberPreferences, OneToOneContact, SessionReminder


def last_activity(user: User):
    present = Attendance.objects.filter(membership__user=user, status=AttendanceStatus.PRESENT)
    return present.aggregate(at=Max("session__starts_at"))["at"]


def export(user: User) -> dict[str, Rows]:
    attendance = (
        Attendance.objects.filter(membership__user=user)
        .select_related("session__group")
        .order_by("session__starts_at", "id")
    )
    contacts = OneToOneContact.objects.filter(membership__user=user).select_related("membership__group")
    preferences = MemberPreferences.objects.filter(user=user).first()
    return {
        "attendance": [
            {
                "group": a.session.group.name,
                "session_starts_at": when(a.session.starts_at),
                "status": a.get_status_display(),
                "apologies_sent_at": when(a.apology_sent_at),
                "recorded_at": when(a.recorded_at),
            }
            for a in attendance
        ],
        "one_to_one_contacts": [
            {"group": c.membership.group.name, "date": when(c.date), "mode": c.get_mode_display(), "minutes": c.minutes}
            for c in contacts.order_by("date", "id")
        ],
        "session_reminders": [
            {"group": r.session.group.name, "session_starts_at": when(r.session.starts_at), "sent_at": when(r.sent_at)}
            for r in SessionReminder.objects.filter(user=user).select_related("session__group").order_by("id")
        ],
        "session_preferences": (
            [
                {
                    "email_reminders": preferences.email_reminders,
                    "calendar_feed": "on" if preferences.calendar_token else "off",
                }
            ]
            if preferences
            else []
        ),
    }


def erase(erasure: Erasure) -> None:
    user = erasure.user
    erasure.count("session_reminders", SessionReminder.objects.filter(user=user).delete()[0])
    erasure.count("session_preferences", MemberPreferences.objects.filter(user=user).delete()[0])
    for attendance in Attendance.objects.filter(membership__user=user).select_related("session__group"):
        if not erasure.keeps(attendance.session.group.organisation_id):
            attendance.delete()
            erasure.count("attendance", 1)
    for contact in OneToOneContact.objects.filter(membership__user=user).select_related("membership__group"):
        if not erasure.keeps(contact.membership.group.organisation_id):
            contact.delete()
            erasure.count("one_to_one_contacts", 1)


register(
    Part(
        name="sessions",
        export=export,
        erase=erase,
        order=20,
        last_activity=last_activity,
        covers={
            "group_sessions.Attendance.membership": "rule: kept (keep_records) or deleted (remove_all)",
            "group_sessions.OneToOneContact.membership": "rule: kept (keep_records) or deleted (remove_all)",
            "group_sessions.SessionReminder.user": "deleted",
            "group_sessions.MemberPreferences.user": "deleted (the calendar feed stops)",
        },
    )
)

"""This app's part of a member's download and erasure (``peersupport.datarights``): memberships, their events, and
the groups a person facilitates. Registered by ``GroupsConfig.ready``."""

from __future__ import annotations

from django.db.models import Max

from peersupport.datarights import Erasure, Part, Rows, register, when
from peersupport.models import User

from .models import GroupFacilitator, Membership, MembershipEvent
from .services.membership import IN_GROUP_STATUSES, membership_withdraw


def last_activity(user: User):
    return MembershipEvent.objects.filter(membership__user=user).aggregate(at=Max("at"))["at"]


def export(user: User) -> dict[str, Rows]:
    memberships = (
        Membership.objects.filter(user=user).select_related("group__organisation").order_by("created_at", "id")
    )
    events = (
        MembershipEvent.objects.filter(membership__user=user).select_related("membership__group").order_by("at", "id")
    )
    return {
        "memberships": [
            {
                "organisation": m.group.organisation.name,
                "group": m.group.name,
                "status": m.get_status_display(),
                "joined_at": when(m.joined_at),
                "left_at": when(m.left_at),
                "waitlisted_at": when(m.waitlisted_at),
                "withdrawal_reason": m.get_withdrawal_reason_display() if m.withdrawal_reason else "",
                "withdrawal_note": m.withdrawal_note,
                "created_at": when(m.created_at),
            }
            for m in memberships
        ],
        "membership_events": [
            {
                "group": e.membership.group.name,
                "from": e.get_from_status_display() if e.from_status else "",
                "to": e.get_to_status_display(),
                "at": when(e.at),
                "how": e.via,
                "reason": e.get_reason_display() if e.reason else "",
                "note": e.note,
            }
            for e in events
        ],
        "groups_you_facilitate": [
            {"group": f.group.name, "organisation": f.group.organisation.name, "since": when(f.added_at)}
            for f in GroupFacilitator.objects.filter(user=user).select_related("group__organisation").order_by("id")
        ],
    }


def erase(erasure: Erasure) -> None:
    """Leave every group (a freed place goes to the first person waiting); then, where the organisation keeps
    records, blank the notes that could name the member; where it does not, remove the memberships."""
    memberships = Membership.objects.filter(user=erasure.user).select_related("group")
    for membership in memberships.filter(status__in=IN_GROUP_STATUSES):
        membership_withdraw(membership=membership, by=erasure.by)
    for membership in memberships:
        if erasure.keeps(membership.group.organisation_id):
            if membership.withdrawal_note:
                membership.withdrawal_note = ""
                membership.save(update_fields=["withdrawal_note"])
            for event in membership.events.exclude(note=""):
                event.note = ""
                event.save(update_fields=["note"])
            erasure.count("memberships_kept_without_name", 1)
        else:
            membership.delete()  # with its events (and anything the parts before left)
            erasure.count("memberships", 1)


register(
    Part(
        name="groups",
        export=export,
        erase=erase,
        order=30,  # after the answers and the attendance that hang from memberships
        last_activity=last_activity,
        covers={
            "groups.Membership.user": "rule: withdrawn, then kept without notes (keep_records) or deleted (remove_all)",
            "groups.MembershipEvent.membership": "rule: kept without notes (keep_records) or deleted (remove_all)",
            "groups.GroupFacilitator.user": "kept: the group's record of who ran it, now naming no one",
        },
    )
)

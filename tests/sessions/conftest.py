"""Shared set-up for the sessions tests: a facilitated group with members in every status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from groups.models import Membership, MembershipStatus, SupportGroup
from peersupport.models import User
from tests.factories import (
    GroupSessionFactory,
    OrganisationFactory,
    active_member,
    consenting_member,
    facilitated_group,
)

LINK = "https://meet.example.org/room-42"


@dataclass
class World:
    group: SupportGroup
    facilitator: User
    active: list[User]
    # Members who must never see the group's online link.
    outsiders: dict[str, User]
    other_group: SupportGroup
    other_facilitator: User


def membership(group: SupportGroup, status: str, **kwargs) -> Membership:
    user = consenting_member(group.organisation, **kwargs)
    return Membership.objects.create(group=group, user=user, status=status)


@pytest.fixture
def world(db) -> World:
    group, facilitator = facilitated_group(online_url=LINK, time_zone="Europe/London")
    active = [active_member(group).user for _ in range(2)]
    other_group, other_facilitator = facilitated_group(group.organisation, online_url="https://meet.example.org/other")
    other_org_group, _ = facilitated_group(OrganisationFactory(), online_url="https://meet.example.org/elsewhere")
    outsiders = {
        "waitlisted": membership(group, MembershipStatus.WAITLISTED).user,
        "withdrawn": membership(group, MembershipStatus.WITHDRAWN).user,
        "requested": membership(group, MembershipStatus.REQUESTED).user,
        "invited": membership(group, MembershipStatus.INVITED).user,
        "other group's member": active_member(other_group).user,
        "other organisation's member": active_member(other_org_group).user,
    }
    return World(group, facilitator, active, outsiders, other_group, other_facilitator)


def session_in(group: SupportGroup, *, starts_in: dt.timedelta, minutes: int = 90, **kwargs):
    starts_at = timezone.now().replace(microsecond=0) + starts_in
    return GroupSessionFactory(
        group=group, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=minutes), **kwargs
    )

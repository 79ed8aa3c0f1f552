"""Two members leave a full group at the same moment: the group row lock keeps the waiting list in order.

PostgreSQL only (SQLite has no row locks and allows one writer at a time).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from groups.models import MembershipEvent, MembershipStatus
from groups.services import membership as membership_services
from tests.factories import facilitated_group, membership_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_two_members_leaving_at_once_promote_the_two_waiting_in_order(real_stack, monkeypatch):
    group, _ = facilitated_group(capacity=2)
    leavers = [membership_in(group), membership_in(group)]
    first = membership_in(group, MembershipStatus.WAITLISTED)
    second = membership_in(group, MembershipStatus.WAITLISTED)

    # Widen the window between counting and promoting, so that without the lock both
    # threads would count one free place and promote the same person.
    count = membership_services.active_count

    def slow_count(g):
        n = count(g)
        time.sleep(0.2)
        return n

    monkeypatch.setattr(membership_services, "active_count", slow_count)

    barrier = threading.Barrier(len(leavers))
    errors: list[BaseException] = []

    def leave(membership):
        try:
            barrier.wait(timeout=10)
            membership_services.membership_withdraw(membership=membership, by=membership.user)
        except BaseException as exc:  # noqa: BLE001 (re-raised in the test thread)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=leave, args=(m,)) for m in leavers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors

    active = set(group.memberships.filter(status=MembershipStatus.ACTIVE).values_list("pk", flat=True))
    assert active == {first.pk, second.pk}

    promotions = list(
        MembershipEvent.objects.filter(membership__group=group, via="promotion")
        .order_by("at", "id")
        .values_list("membership_id", flat=True)
    )
    assert promotions == [first.pk, second.pk]

    # Replaying the whole history, the group never had more active members than places.
    current: dict[int, str] = {}
    most = 0
    for event in MembershipEvent.objects.filter(membership__group=group).order_by("at", "id"):
        current[event.membership_id] = event.to_status
        most = max(most, sum(1 for s in current.values() if s == MembershipStatus.ACTIVE))
    assert most <= group.capacity

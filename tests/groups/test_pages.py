"""Group pages: accessible markup under the CSP, figures on the lists, and a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from groups.models import GroupStatus, MembershipStatus, WithdrawalReason
from groups.services import membership as membership_services
from peersupport.models import RoleKind
from sessions.models import Attendance, AttendanceStatus, GroupSession
from tests.factories import facilitated_group, membership_in, person

pytestmark = pytest.mark.django_db

# Measured on SQLite and PostgreSQL; the same at 10 and at 200 members.
MAX_QUERIES = 12


def assert_clean_page(response, name):
    assert response.status_code == 200, name
    html = response.content.decode()
    assert '<html lang="en">' in html, name
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script on {name}"
    assert not re.search(r"<style", html), f"inline style on {name}"
    assert not re.search(r'\sstyle="', html), f"style attribute on {name}"
    assert not re.search(r'(src|href)="(https?:)?//', html), f"external asset on {name}"
    # Headings in order: never skip a level going down.
    levels = [int(n) for n in re.findall(r"<h([1-6])", html)]
    assert levels and levels[0] == 1, name
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, f"heading h{before} then h{after} on {name}"
    # Every visible input, select and textarea has a label.
    for field_id in re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html):
        assert f'for="{field_id}"' in html, f"no label for #{field_id} on {name}"


def populated_group(members: int):
    group, facilitator = facilitated_group(capacity=members, status=GroupStatus.RUNNING)
    memberships = [membership_in(group) for _ in range(members)]
    left = membership_in(group)  # one over capacity until they leave, so nobody is promoted below
    for _ in range(3):
        membership_in(group, MembershipStatus.WAITLISTED)
    membership_in(group, MembershipStatus.REQUESTED)
    membership_services.membership_withdraw(membership=left, by=left.user, reason=WithdrawalReason.HEALTH)
    membership_in(group, MembershipStatus.COMPLETED)
    now = timezone.now()
    past = GroupSession.objects.create(
        group=group, sequence=1, starts_at=now - dt.timedelta(days=7), ends_at=now - dt.timedelta(days=7, hours=-1)
    )
    GroupSession.objects.create(
        group=group, sequence=2, starts_at=now + dt.timedelta(days=1), ends_at=now + dt.timedelta(days=1, hours=1)
    )
    Attendance.objects.bulk_create(
        Attendance(
            session=past,
            membership=m,
            status=AttendanceStatus.PRESENT if i % 4 else AttendanceStatus.ABSENT,
            recorded_by=facilitator,
        )
        for i, m in enumerate(memberships)
    )
    return group, facilitator


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("view", ["groups:detail", "groups:list"])
def test_group_pages_take_the_same_number_of_queries_at_10_and_200_members(client, view, django_assert_max_num_queries):
    counts = {}
    for size in (10, 200):
        group, facilitator = populated_group(size)
        client.force_login(facilitator)
        args = [group.organisation.slug, group.pk] if view == "groups:detail" else [group.organisation.slug]
        url = reverse(view, args=args)
        counts[size] = count_queries(client, url)
        with django_assert_max_num_queries(MAX_QUERIES):
            client.get(url)
    assert counts[10] == counts[200], counts
    print(f"{view}: {counts}")  # noqa: T201 (reported with -s)


def test_dashboards_take_the_same_number_of_queries_whatever_the_group_size(client):
    counts = {}
    for size in (10, 200):
        group, facilitator = populated_group(size)
        lead = person(group.organisation, RoleKind.LEAD)
        member = group.memberships.filter(status=MembershipStatus.ACTIVE).first().user
        slug = group.organisation.slug
        client.force_login(member)
        member_count = count_queries(client, reverse("member_dashboard", args=[slug]))
        client.force_login(facilitator)
        facilitator_count = count_queries(client, reverse("facilitator_dashboard", args=[slug]))
        client.force_login(lead)
        lead_count = count_queries(client, reverse("lead_dashboard", args=[slug]))
        counts[size] = (member_count, facilitator_count, lead_count)
    assert counts[10] == counts[200], counts
    print(f"dashboards (member, facilitator, lead): {counts}")  # noqa: T201


def test_the_group_list_shows_size_waiting_list_next_session_and_attendance(client):
    group, facilitator = populated_group(8)
    client.force_login(facilitator)
    html = client.get(reverse("groups:list", args=[group.organisation.slug])).content.decode()
    figures = re.sub(r"\s+", " ", html)
    assert f'Members / places</dt><dd class="mb-0">8 / {group.capacity}</dd>' in figures
    assert 'Waiting</dt><dd class="mb-0">3</dd>' in figures
    # 8 recorded, every 4th absent (i = 0, 4): 6 of 8 present = 75%.
    assert "75% present" in figures
    assert "1 request" in html
    # The next session (tomorrow) comes from the sessions app through groups.hooks.
    assert 'Next session</dt><dd class="mb-0">none planned' not in figures
    next_start = group.sessions.get(sequence=2).starts_at.astimezone(ZoneInfo(group.time_zone))
    assert f'Next session</dt><dd class="mb-0">{next_start:%a %-d %b, %H:%M}</dd>' in figures


def test_the_roster_shows_active_waiting_left_with_reasons_and_completed(client):
    group, facilitator = populated_group(3)
    client.force_login(facilitator)
    response = client.get(reverse("groups:detail", args=[group.organisation.slug, group.pk]))
    html = response.content.decode()
    roster = response.context["roster"]
    assert (len(roster.active), len(roster.waitlisted), len(roster.requested)) == (3, 3, 1)
    assert (len(roster.withdrawn), len(roster.completed)) == (1, 1)
    assert "My health got in the way" in html
    assert group.enrolment_code in html
    assert "/groups/join/" in html  # the invitation link
    waiting = [m.waitlisted_at for m in roster.waitlisted]
    assert waiting == sorted(waiting)


def test_every_group_page_is_accessible_and_has_no_inline_code(client):
    group, facilitator = populated_group(3)
    org = group.organisation
    slug = org.slug
    lead = person(org, RoleKind.LEAD)
    member_membership = group.memberships.filter(status=MembershipStatus.ACTIVE).first()
    pages = {
        "list": (facilitator, reverse("groups:list", args=[slug])),
        "create": (facilitator, reverse("groups:create", args=[slug])),
        "detail": (facilitator, reverse("groups:detail", args=[slug, group.pk])),
        "edit": (facilitator, reverse("groups:edit", args=[slug, group.pk])),
        "curricula": (lead, reverse("groups:curricula", args=[slug])),
        "curriculum": (lead, reverse("groups:curriculum_detail", args=[slug, group.curriculum_id])),
        "curriculum_create": (lead, reverse("groups:curriculum_create", args=[slug])),
        "curriculum_version": (lead, reverse("groups:curriculum_new_version", args=[slug, group.curriculum_id])),
        "lead_dashboard": (lead, reverse("lead_dashboard", args=[slug])),
        "facilitator_dashboard": (facilitator, reverse("facilitator_dashboard", args=[slug])),
        "member_dashboard": (member_membership.user, reverse("member_dashboard", args=[slug])),
        "join_code": (member_membership.user, reverse("groups:join_code", args=[slug])),
        "open": (member_membership.user, reverse("groups:open", args=[slug])),
        "leave": (member_membership.user, reverse("groups:leave", args=[slug, group.pk])),
        "join_link": (
            member_membership.user,
            reverse("groups:join_link", args=[membership_services.group_invitation_token(group)]),
        ),
    }
    for name, (user, url) in pages.items():
        client.force_login(user)
        assert_clean_page(client.get(url), name)

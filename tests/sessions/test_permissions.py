"""A facilitator of group A cannot see or change group B; members cannot open facilitator pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from groups.models import Membership
from peersupport.models import RoleKind
from sessions.models import Attendance, GroupSession, OneToOneContact, SessionLog, SessionStatus
from tests.factories import OrganisationFactory, facilitated_group, person

from .conftest import session_in

pytestmark = pytest.mark.django_db


def pages(group, session):
    slug = group.organisation.slug
    return [
        reverse("sessions:schedule", args=[slug, group.pk]),
        reverse("sessions:generate", args=[slug, group.pk]),
        reverse("sessions:contacts", args=[slug, group.pk]),
        reverse("sessions:edit", args=[slug, session.pk]),
        reverse("sessions:cancel", args=[slug, session.pk]),
        reverse("sessions:register", args=[slug, session.pk]),
        reverse("sessions:log", args=[slug, session.pk]),
    ]


def test_a_facilitator_of_group_a_gets_404_on_every_page_of_group_b_and_changes_nothing(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(hours=-1))
    membership = Membership.objects.get(group=world.group, user=world.active[0])
    client.force_login(world.other_facilitator)
    for url in pages(world.group, session):
        assert client.get(url).status_code == 404, url
        payload = {
            f"m{membership.pk}": "present",
            "notes": "x",
            "membership": membership.pk,
            "date": "2020-01-01",
            "mode": "telephone",
            "minutes": "30",
        }
        assert client.post(url, payload).status_code in (404, 405), url  # 405: the schedule page is GET only
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED
    assert not Attendance.objects.exists()
    assert not SessionLog.objects.exists()
    assert not OneToOneContact.objects.exists()
    assert GroupSession.objects.count() == 1


def test_a_member_cannot_open_the_register_or_any_facilitator_page(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(hours=-1))
    client.force_login(world.active[0])
    for url in pages(world.group, session):
        assert client.get(url).status_code == 404, url


def test_a_facilitator_who_lost_the_facilitator_role_can_no_longer_manage_the_group(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(hours=-1))
    world.facilitator.roles.filter(kind=RoleKind.FACILITATOR).delete()
    client.force_login(world.facilitator)
    assert client.get(reverse("sessions:register", args=[world.group.organisation.slug, session.pk])).status_code == 404


def test_a_lead_of_the_organisation_may_manage_every_group_and_a_lead_elsewhere_may_not(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(hours=-1))
    client.force_login(person(world.group.organisation, RoleKind.LEAD))
    for url in pages(world.group, session):
        assert client.get(url).status_code == 200, url
    client.force_login(person(OrganisationFactory(), RoleKind.LEAD))
    for url in pages(world.group, session):
        assert client.get(url).status_code == 404, url


def test_a_group_of_another_organisation_is_404_even_under_ones_own_organisation_slug(client):
    group_a, facilitator_a = facilitated_group()
    group_b, _ = facilitated_group(OrganisationFactory())
    session_b = session_in(group_b, starts_in=dt.timedelta(days=1))
    client.force_login(facilitator_a)
    slug = group_a.organisation.slug
    assert client.get(reverse("sessions:schedule", args=[slug, group_b.pk])).status_code == 404
    assert client.get(reverse("sessions:register", args=[slug, session_b.pk])).status_code == 404


def test_only_leads_can_edit_the_fidelity_checklist(client, world):
    url = reverse("sessions:fidelity_items", args=[world.group.organisation.slug])
    client.force_login(world.facilitator)
    assert client.get(url).status_code == 404
    client.force_login(world.active[0])
    assert client.get(url).status_code == 404
